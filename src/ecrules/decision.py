"""Decisions: what a policy says about one record, and why.

These are NamedTuples rather than attrs classes on purpose: one is made for every record on the
evaluator's hot path, and a tuple is the cheapest immutable object Python can build.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NamedTuple


def json_id(value: Any) -> Any:
    """A decision id in its one printed form, the same on every engine and every run.

    Strings, integers and booleans print as themselves, a number as its decimal text, a date as
    `YYYY-MM-DD`, a struct as an object in schema order, a list as a list and a set as a list
    sorted by each member's printed form (never `frozenset(...)` in hash order).
    """
    cls = value.__class__
    if cls is str or cls is int or cls is bool or value is None:
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_id(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((json_id(v) for v in value), key=_sort_key)
    if isinstance(value, (list, tuple)):
        return [json_id(v) for v in value]
    return str(value)


def _sort_key(v: Any) -> str:
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def id_text(value: Any) -> str:
    """A decision id as one string (the `id` column of Parquet and Arrow decisions)."""
    if value.__class__ is str:
        return str(value)
    v = json_id(value)
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, separators=(",", ":"))


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

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of LANGUAGE.md, key order included."""
        rid = self.id
        out: dict[str, Any] = {
            "id": rid if rid.__class__ is str or rid.__class__ is int else json_id(rid),
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
        return out

    @property
    def is_error(self) -> bool:
        return self.outcome == "error"
