"""Explain a decision: for each rule, matched, or the first false sub-condition and its values.

Runs the tree-walking interpreter, so what it shows is computed independently of the compiled
evaluator, and combines its matches by `semantics.combining` (the evaluator's definition): its
`outcome` and `fired` equal the decision's (tests/test_explain.py holds it on generated records).
"""

from __future__ import annotations

from typing import Any

import attrs

from . import nodes as n
from .checked import ConstInfo, FieldRef, LetInfo, RuleInfo, SetInfo, VarRef, var_of
from .decision import BasisRef, Decision
from .interpreter import Env, Interpreter, render
from .checked import Program
from .records import RecordError
from .semantics import combining as sem
from .values import Fault


@attrs.frozen
class RuleReport:
    """One rule, as `explain` found it: matched (and which matching rules waive it), or why not."""

    rule: str
    outcome: str
    matched: bool
    reason: str
    values: tuple[tuple[str, str], ...] = ()
    waived_by: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule, "outcome": self.outcome, "matched": self.matched, "reason": self.reason,
            "values": dict(self.values), "waived_by": list(self.waived_by),
        }


@attrs.frozen
class Explanation:
    """What `Policy.explain` returns: the decision, each rule's report (in source order; under
    `first_match` none after the deciding rule, and none after a fault), a one-line summary, and
    the outcome and fired rules `explain` itself reached from its reports (equal to the decision's)."""

    decision: Decision
    rules: tuple[RuleReport, ...]
    summary: str
    outcome: str = "error"
    fired: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision.to_dict(), "rules": [r.to_dict() for r in self.rules], "summary": self.summary}

    def render(self) -> str:
        lines = []
        for r in self.rules:
            mark = "matched " if r.matched else "no match"
            lines.append(f"{mark}  {r.rule} ({r.outcome}): {r.reason}")
            for name, value in r.values:
                lines.append(f"            {name} = {value}")
            if r.waived_by:
                lines.append(f"            waived by {', '.join(r.waived_by)}: does not count toward the outcome")
            for b in self.decision.basis:
                if b.rule == r.rule:
                    lines.append("            " + basis_line(b))
        for m in self.decision.matches:
            lines.append("")
            lines += render_match(m)
        lines.append("")
        lines.append(f"outcome: {self.decision.outcome}")
        lines.append(self.summary)
        return "\n".join(lines)


def basis_line(b: BasisRef) -> str:
    """`basis UNSCR_1970 "S/RES/1970 (2011)", para. 9, for member "LY"`: what a decision cites."""
    text = f"basis {b.instrument or b.kind} {render(b.citation)}"
    if b.pinpoint:
        text += f", {b.pinpoint}"
    if b.instrument is None:
        text += " (free text)"
    if b.member is not None:
        text += f", for member {render(b.member)}"
    return text


def render_match(m: dict[str, Any]) -> list[str]:
    """A screening hit (or a cleared one) as `explain` prints it."""
    kind = m["name_kind"].replace("_", " ") + (f", {m['quality']}" if m.get("quality") else "")
    basis = m["basis"]
    cites = basis["citation"] if basis.get("instrument") else "no instrument mapped for this regime"
    head = ("cleared " if m.get("cleared") else "screening") + \
        f" {m['rule'] or '(a let)'}: `{m['screened']}` ~ {m['ref']} `{m['listed_name']}` ({kind}) on `{m['list']}`"
    lines = [head,
             f"            score {m['score']:.4f} (threshold {m['threshold']}); {m['type']} listed under "
             f"{basis['regime']} ({cites}) from {basis['from']}"]
    for step in m["steps"]:
        lines.append(f"            - {step}")
    if m.get("cleared"):
        c = m["cleared"]
        lines.append(f"            cleared by {c['cleared_by']} on {c['cleared_on']} until {c['expires']}: {c['reason']}")
    return lines


def explain(policy: Program, record: Any) -> Explanation:
    decision = policy.evaluate(record)
    c = policy.checked
    interp = Interpreter(c)
    try:
        values = interp.validate(record)
    except RecordError as exc:
        return Explanation(decision, (), f"the record is invalid: `{exc.field}` {exc.message}" if exc.field
                           else f"the record is invalid: {exc.message}")
    env = Env(values)
    as_of = values.get(c.as_of) if c.as_of else None
    reports: list[RuleReport] = []
    matched: list[RuleInfo] = []
    for rule in c.rules:
        if not sem.in_force(rule.effective, rule.expires, as_of):
            window = " ".join(x for x in (
                f"effective {rule.effective}" if rule.effective else "",
                f"expires {rule.expires}" if rule.expires else "") if x)
            reports.append(RuleReport(rule.id, rule.outcome, False, f"not in force on {as_of} ({window})"))
            continue
        try:
            hit = interp.matches(rule, env)
        except Fault as exc:  # the evaluator stops at the first fault: an error, nothing fired
            reports.append(RuleReport(rule.id, rule.outcome, False, f"fault: {exc}"))
            return Explanation(decision, tuple(reports), _summary(c.combine, c.default, decision, matched, []))
        if hit:
            matched.append(rule)
            reports.append(RuleReport(rule.id, rule.outcome, True, rule.title or "its condition holds"))
            if sem.stops_at_match(c.combine):
                break
        else:
            text, vals = _why_false(interp, rule.when, env)
            reports.append(RuleReport(rule.id, rule.outcome, False, f"`{text}` is false", tuple(vals)))
    by = sem.waived_by([r.id for r in c.rules], [r.waives for r in c.rules])
    indexes = [r.index for r in matched]
    waivers = {r.id: tuple(c.rules[j].id for j in by[r.index] if j in indexes) for r in matched}
    reports = [attrs.evolve(rep, waived_by=waivers.get(rep.rule, ())) if rep.matched else rep for rep in reports]
    counting = sem.counted(c.combine, indexes, by)
    outcome = sem.outcome(c.default, (c.rules[k].outcome for k in counting))
    fired = tuple(r.id for r in sem.fired(c.combine, matched))
    summary = _summary(c.combine, c.default, decision, matched, [c.rules[k] for k in counting])
    return Explanation(decision, tuple(reports), summary, outcome, fired)


def _summary(combine: str, default: str, d: Decision, matched: list[RuleInfo], counted: list[RuleInfo]) -> str:
    if d.outcome == "error" and d.error is not None:
        return f"error: {d.error.message}"
    if not matched:
        return f"no rule matched: the policy's default `{default}` applies"
    if sem.stops_at_match(combine):
        return f"{combine}: `{matched[0].id}` is the first matching rule and decides `{d.outcome}`"
    if not counted:
        return f"every matching rule is waived: the default `{default}` applies"
    deciding = [r.id for r in counted if r.outcome == d.outcome]
    return f"deny_overrides: the strongest outcome among rules that count is `{d.outcome}`, from {', '.join(deciding)}"


def _why_false(interp: Interpreter, e: n.Expr, env: Env) -> tuple[str, list[tuple[str, str]]]:
    """The first false sub-condition of a false condition, with the values that made it false."""
    if isinstance(e, n.BoolOp) and e.op == "and":
        for operand in e.operands:
            if not interp.eval(operand, env):
                return _why_false(interp, operand, env)
    if isinstance(e, n.Quant) and e.kind in ("any", "all") and e.body is not None:
        source = _text(e.source)
        items = list(interp.eval(e.source, env))
        if not items:
            return _text(e), [(source, "empty")]
        if e.kind == "any":
            # no element satisfies the body: show what the body read, element by element
            vals: list[tuple[str, str]] = []
            var = var_of(e)
            for k, item in enumerate(items):
                env.vars[var] = item
                for name, value in _values(interp, e.where or e.body, env) + _values(interp, e.body, env):
                    label = _element_label(name, e.var, f"{source}[{k}]")
                    if (label, value) not in vals:
                        vals.append((label, value))
            return _text(e), vals
        var = var_of(e)
        for k, item in enumerate(items):
            env.vars[var] = item
            if e.where is not None and not interp.eval(e.where, env):
                continue
            if not interp.eval(e.body, env):
                text, inner = _why_false(interp, e.body, env)
                element = f"{source}[{k}]"
                return _text(e), [(f"{element} fails", f"`{text}`")] + [
                    (_element_label(name, e.var, element), value) for name, value in inner
                ]
    return _text(e), _values(interp, e, env)


def _element_label(name: str, var: str, element: str) -> str:
    """`i.code` read for the element `items[1]` is shown as `items[1].code`."""
    if name == var:
        return element
    if name.startswith(var + "."):
        return element + name[len(var):]
    return name


def _values(interp: Interpreter, e: n.Expr, env: Env) -> list[tuple[str, str]]:
    """The value of every field, variable, `let` and call an expression reads (not inside quantifiers)."""
    out: dict[str, str] = {}
    stack: list[n.Expr] = [e]
    while stack:
        sub = stack.pop()
        if isinstance(sub, (n.Name, n.Attr, n.Call)):
            binding = sub.binding if isinstance(sub, n.Name) else None
            if isinstance(binding, SetInfo):
                size = len(binding.values)
                text = f"a set of {size} {'entry' if size == 1 else 'entries'}"
                if interp.c.as_of is not None and binding.dated:
                    day = env.record.get(interp.c.as_of)
                    now = binding.on(day)
                    lapsed = sorted(render(x) for x in binding.values - now)
                    text = f"a set of {len(now)} of its {size} entries on {render(day)}"
                    if lapsed and len(lapsed) <= 10:
                        text += f" (not members then: {', '.join(lapsed)})"
                out.setdefault(sub.name, text)  # type: ignore[union-attr]
                continue
            if isinstance(sub, n.Name) and not isinstance(binding, (FieldRef, VarRef, LetInfo, ConstInfo)):
                continue
            try:
                out.setdefault(_text(sub), render(interp.eval(sub, env)))
            except (KeyError, Fault, TypeError):
                pass
            continue
        if isinstance(sub, n.Quant):
            stack.append(sub.source)
            continue
        stack.extend(n.children(sub))
    return sorted(out.items())


def _text(e: n.Expr) -> str:
    span = e.span
    if span.line == span.end_line:
        return span.text
    lines = span.source.text.splitlines()[span.line - 1 : span.end_line]
    lines[-1] = lines[-1][: span.end_column - 1]
    lines[0] = lines[0][span.column - 1 :]
    return " ".join(x.strip() for x in lines)
