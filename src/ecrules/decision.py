"""Decisions: what a policy says about one record, and why.

These are NamedTuples rather than attrs classes on purpose: one is made for every record on the
evaluator's hot path, and a tuple is the cheapest immutable object Python can build.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple


class BasisRef(NamedTuple):
    """A legal basis cited by a decision: the rule that carries it, its kind and its citation."""

    rule: str
    kind: str
    citation: str

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "kind": self.kind, "citation": self.citation}


class DecisionError(NamedTuple):
    """Why a decision is `error`: a record error names `field`, a fault names `rule`."""

    message: str
    field: str | None = None
    rule: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.rule is not None:
            out = {"rule": self.rule, "message": self.message}
        return out


class Decision(NamedTuple):
    id: Any
    outcome: str
    fired: tuple[str, ...]
    obligations: tuple[str, ...]
    basis: tuple[BasisRef, ...]
    policy: str
    version: str | None
    error: DecisionError | None = None
    #: screening hits that decided it, and clearances that suppressed one (docs/screening.md)
    matches: tuple[dict[str, Any], ...] = ()
    # policy_hash, ecrules, record_hash, timestamp: set by `evaluate(..., provenance=True)`
    provenance: Mapping[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of LANGUAGE.md, key order included."""
        out: dict[str, Any] = {
            "id": self.id,
            "outcome": self.outcome,
            "fired": list(self.fired),
            "obligations": list(self.obligations),
            "basis": [b.to_dict() for b in self.basis],
            "policy": self.policy,
            "version": self.version,
        }
        if self.error is not None:
            out["error"] = self.error.to_dict()
        if self.matches:
            out["matches"] = list(self.matches)
        if self.provenance is not None:
            out["provenance"] = dict(self.provenance)
        return out

    @property
    def is_error(self) -> bool:
        return self.outcome == "error"
