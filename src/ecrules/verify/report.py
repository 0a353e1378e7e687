"""Verdicts and their rendering: for people (records as JSON) and `--format json` for machines."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import attrs

from .bounds import Bounds


def _default(value: Any) -> Any:
    return str(value)


_MARK = "\x01dec:"


def _plain(o: Any) -> Any:
    if isinstance(o, Decimal):
        return _MARK + str(o)
    if isinstance(o, dict):
        return {k: _plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_plain(v) for v in o]
    return o


_DEC = re.compile(r'"\\u0001dec:([-+0-9.Ee]+)"')


def dumps(value: Any, indent: int | None = None) -> str:
    """JSON with exact decimals written as JSON numbers (never through a float)."""
    text = json.dumps(_plain(value), ensure_ascii=False, indent=indent, default=_default)
    return _DEC.sub(r"\1", text)


@attrs.define
class Verdict:
    """One constraint's verdict: `proved` (with its bound), `violated` (with witnesses), `unknown`."""

    constraint: str
    kind: str  # protect | never | always
    status: str
    line: int
    bound: Bounds | None = None
    reason: str | None = None
    #: protect: one entry per rule checked; never/always: the witness record and its decision
    rules: list[dict[str, Any]] = attrs.field(factory=list)
    witness: dict[str, Any] | None = None
    decision: dict[str, Any] | None = None
    fuzz: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"constraint": self.constraint, "kind": self.kind, "status": self.status,
                               "line": self.line}
        if self.bound is not None:
            out["bound"] = {"text": self.bound.describe(), **self.bound.to_dict()}
        if self.reason:
            out["reason"] = self.reason
        if self.rules:
            out["rules"] = self.rules
        if self.witness is not None:
            out["witness"] = self.witness
            out["decision"] = self.decision
        if self.fuzz:
            out["fuzz"] = self.fuzz
        return out


@attrs.define
class Warning_:
    check: str  # dead | redundant | order
    rules: tuple[str, ...]
    message: str
    witness: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"check": self.check, "rules": list(self.rules), "message": self.message}
        if self.witness is not None:
            out["witness"] = self.witness
        return out


@attrs.define
class PolicyReport:
    file: str
    policy: str
    verdicts: list[Verdict] = attrs.field(factory=list)
    warnings: list[Warning_] = attrs.field(factory=list)
    seconds: float = 0.0
    #: `verify --evidence`: the ledger (evidence.ledger), or None when not asked for
    evidence: list[dict[str, Any]] | None = None

    @property
    def violated(self) -> bool:
        return any(v.status == "violated" for v in self.verdicts)

    @property
    def unknown(self) -> bool:
        return any(v.status == "unknown" for v in self.verdicts)

    def to_json(self, indent: int | None = None) -> str:
        """`to_dict()` as JSON text, a witness's decimals written exactly (`json.dumps` refuses
        them: they are `Decimal`s, never floats)."""
        return dumps(self.to_dict(), indent)

    def to_dict(self) -> dict[str, Any]:
        out = {"file": self.file, "policy": self.policy, "seconds": round(self.seconds, 3),
               "constraints": [v.to_dict() for v in self.verdicts],
               "warnings": [w.to_dict() for w in self.warnings]}
        if self.evidence is not None:
            out["evidence"] = self.evidence
        return out

    def render(self) -> str:
        lines = [f"{self.file}: policy \"{self.policy}\", {len(self.verdicts)} constraint"
                 f"{'s' if len(self.verdicts) != 1 else ''} ({self.seconds:.2f} s)"]
        if not self.verdicts:
            lines.append("  no constraints declared")
        for v in self.verdicts:
            head = f"  {v.status.upper():8} {v.kind} {v.constraint} (line {v.line})"
            lines.append(head)
            if v.status == "proved":
                lines.append("           bound: " + (v.bound.describe() if v.bound is not None
                                                     else "none needed (every rule settled without the solver)"))
            if v.reason:
                lines.append(f"           why: {v.reason}")
            for r in v.rules:
                if r["status"] in ("violated", "unknown"):
                    lines.append(f"    rule {r['rule']}: {r['status']}: {r.get('detail', '')}"
                                 + (f" ({r['reason']})" if r.get("reason") else ""))
                    if r.get("fields"):
                        lines.append(f"      protected fields that differ: {', '.join(r['fields'])}")
                    if r.get("witness"):
                        a, b = r["witness"]
                        ma, mb = r["matches"]
                        lines.append(f"      record A (rule {'matches' if ma else 'does not match'}):")
                        lines.append(_indent(dumps(a, 2), 8))
                        lines.append(f"      record B (rule {'matches' if mb else 'does not match'}):")
                        lines.append(_indent(dumps(b, 2), 8))
            if v.kind == "protect" and v.status == "proved":
                kinds: dict[str, int] = {}
                for r in v.rules:
                    kinds[r["status"]] = kinds.get(r["status"], 0) + 1
                lines.append("           rules: " + ", ".join(f"{k} {s}" for s, k in sorted(kinds.items())))
            if v.witness is not None:
                lines.append(f"    witness (decided {v.decision['outcome'] if v.decision else '?'}"
                             f", fired {', '.join(v.decision['fired']) if v.decision and v.decision['fired'] else 'nothing'}):")
                lines.append(_indent(dumps(v.witness, 2), 6))
            if v.fuzz:
                lines.append(f"           fuzz: {v.fuzz}")
        for w in self.warnings:
            lines.append(f"  warning: {w.check}: {w.message}")
            if w.witness is not None:
                lines.append(_indent(dumps(w.witness), 6))
        if self.evidence is not None:
            from .evidence import render

            lines += render(self.evidence)
        return "\n".join(lines)


def _indent(text: str, k: int) -> str:
    return "\n".join(" " * k + line for line in text.splitlines())
