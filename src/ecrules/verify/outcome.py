"""`never OUTCOME when EXPR` and `always OUTCOME when EXPR`, over the whole decision.

The question is whether a valid record on which EXPR holds gets OUTCOME (`never`) or another
outcome (`always`). It is split into *cases*, one per way a decision reaches an outcome: "rule k
counts and no stronger rule counts" (deny_overrides), "rule k is the first to match"
(first_match), or "nothing matches and the default applies". The cases are exhaustive and each
involves only a few rules, so each query is small, with list bounds counted for its own rules
(a violation needs one case; a proof needs all of them unsat). Before any solving, the policy's
own test records are run through the evaluator. A model is shown only once the real evaluator
gives it the outcome in question.
"""

from __future__ import annotations

from typing import Any

import attrs

from .. import nodes as n
from ..semantics.combining import STRENGTH, stops_at_match
from ..interpreter import Interpreter
from ..checked import Program
from ..records import RecordError
from .deadline import Deadline, DeadlineExceeded
from . import combining
from .bounds import BoundCounter, Bounds
from ..checked import Env
from .encode import Encoder
from .solve import solve
from .symbolic import Unsupported, zand, zbool, znot, zor
from .witness import record_of
from .seeds import test_records


@attrs.frozen
class OutcomeResult:
    status: str
    bound: Bounds | None = None
    witness: dict[str, Any] | None = None
    decision: dict[str, Any] | None = None
    reason: str | None = None


def decision_bounds(policy: Program, extra: list[tuple[n.Expr, int]], copies: int = 1, cap: int = 12,
                    rules: dict[int, int] | None = None) -> Bounds:
    """List bounds for a query over `extra` and the rules (all, with mixed polarity, or those
    indexed by `rules`, with the polarity each is asserted with: +1, -1 or 0 for both)."""
    c = policy.checked
    counter = BoundCounter(c)
    for copy in range(copies):
        for r in c.rules:
            if rules is None or r.index in rules:
                counter.add(r.when, 0 if rules is None else rules[r.index], copy)
        for inv in c.invariants:
            counter.add(inv.expr, 1, copy)
        for e, pol in extra:
            counter.add(e, pol, copy)
    return counter.bounds(cap)


def merge_bounds(bounds: list[Bounds]) -> Bounds | None:
    if not bounds:
        return None
    sizes: dict[tuple[str, ...], int] = {}
    incomplete: set[tuple[str, ...]] = set()
    for b in bounds:
        for p, k in b.sizes.items():
            sizes[p] = max(sizes.get(p, 0), k)
        incomplete |= b.incomplete
    return Bounds(sizes, incomplete, bounds[0].cap)


@attrs.frozen
class Case:
    """One way to an outcome: rule `rule` decides it (None: the default), given the rules `involved`."""

    outcome: str
    rule: int | None
    #: rule index -> the polarity the case asserts its match with (+1, -1, 0: both)
    involved: dict[int, int]
    #: instead: no rule with this outcome counts (implied by every case of a weaker outcome)
    none_of: bool = False


def _polarity(pos: set[int], neg: set[int]) -> dict[int, int]:
    return {k: (1 if k in pos else 0) - (1 if k in neg else 0) if not (k in pos and k in neg) else 0
            for k in pos | neg}


def cases(policy: Program, outcomes: list[str]) -> list[Case]:
    c = policy.checked
    everything = {r.index for r in c.rules}
    out: list[Case] = []
    if c.combine == "first_match":
        for o in outcomes:
            out += [Case(o, r.index, _polarity({r.index}, set(range(r.index)))) for r in c.rules if r.outcome == o]
            if c.default == o:
                out.append(Case(o, None, _polarity(set(), everything)))
        return out
    index = {r.id: r.index for r in c.rules}
    waivers: dict[int, set[int]] = {r.index: set() for r in c.rules}
    for r in c.rules:
        for w in r.waives:
            if w in index:
                waivers[index[w]].add(r.index)
    for o in outcomes:
        stronger = {r.index for r in c.rules if STRENGTH[r.outcome] > STRENGTH[o]}
        for r in c.rules:
            if r.outcome == o:
                pos, neg = {r.index}, set(waivers[r.index]) | stronger
                for k in stronger:
                    pos |= waivers[k]
                out.append(Case(o, r.index, _polarity(pos, neg)))
        if c.default == o:
            pos = set()
            for k in everything:
                pos |= waivers[k]
            out.append(Case(o, None, _polarity(pos, everything)))
    return out


def case_formula(enc: Encoder, env: Env, case: Case) -> Any:
    """The record's decision goes through `case` (exact on the rules it involves)."""
    c = enc.c
    rules = c.rules
    matches: dict[int, Any] = {}

    def m(k: int) -> Any:
        if k not in matches:
            matches[k] = enc.match(rules[k], env)
        return matches[k]

    waived_by = combining.waivers(c)

    def counted(k: int) -> Any:
        return combining.counts(c, k, m, waived_by)

    if stops_at_match(c.combine):
        if case.rule is None:
            return zand(*(znot(counted(k)) for k in range(len(rules))))
        return counted(case.rule)
    if case.none_of:
        return zand(*(znot(counted(r.index)) for r in rules if r.outcome == case.outcome))
    if case.rule is None:
        return zand(*(znot(counted(k)) for k in range(len(rules))))
    stronger = [r.index for r in rules if STRENGTH[r.outcome] > STRENGTH[case.outcome]]
    return zand(counted(case.rule), *(znot(counted(k)) for k in stronger))


def check_outcome(policy: Program, body: n.OutcomeWhen, deadline: Deadline | None = None,
                  cap: int = 12) -> OutcomeResult:
    c = policy.checked
    dl = deadline if deadline is not None else Deadline.never()
    interp = Interpreter(c)

    def confirm(record: dict[str, Any]) -> str | None:
        d = policy.evaluate(record)
        if d.is_error:
            return f"the witness is not a valid record: {d.error.message if d.error else '?'}"
        try:
            values = interp.validate(record)
        except RecordError as exc:
            return f"the witness is not a valid record: {exc.message}"
        if not interp.eval(body.expr, Env(values)):
            return "the condition does not hold on the witness"
        if (d.outcome == body.outcome) != (body.quantifier == "never"):
            return f"the evaluator decides {d.outcome}"
        return None

    def violated(record: dict[str, Any], bound: Bounds | None) -> OutcomeResult:
        return OutcomeResult("violated", bound, record, policy.evaluate(record).to_dict())

    for given in test_records(policy):  # the cheapest pass: records the policy already carries
        dl.check()
        if confirm(given) is None:
            return violated(given, None)
    bad = [body.outcome] if body.quantifier == "never" else [o for o in STRENGTH if o != body.outcome]
    todo = cases(policy, bad)
    proved: list[Bounds] = []
    reasons: list[str] = []
    if body.quantifier == "always" and c.combine != "first_match":
        # every way to a weaker outcome (and to any default but OUTCOME) has no OUTCOME rule
        # counting: one query that is unsat settles them all
        weaker = [k for k in todo if k.rule is None or STRENGTH[k.outcome] < STRENGTH[body.outcome]]
        mine = {r.index for r in c.rules if r.outcome == body.outcome}
        waivers = {r.index for r in c.rules if any(w in {c.rules[k].id for k in mine} for w in r.waives)}
        pre = Case(body.outcome, None, _polarity(waivers, mine), none_of=True)
        if len(weaker) > 1:
            try:
                bounds = decision_bounds(policy, [(body.expr, 1)], cap=cap, rules=pre.involved)
                enc = Encoder(c, bounds, dl.sub(dl.remaining() / 3, "share"))
                rec = enc.record("r")
                env = Env(rec)
                res = solve(enc, [enc.valid(rec), zbool(enc.expr(body.expr, env)), case_formula(enc, env, pre)],
                            lambda model: record_of(model, rec), lambda w: "a pre-check", rounds=1, quick=True)
                if res.status == "proved":
                    proved.append(bounds)
                    todo = [k for k in todo if k not in weaker]
            except (Unsupported, DeadlineExceeded):
                if dl.expired:
                    raise
    retry: list[Case] = []
    # first pass: each case gets a fair share of the time left; the hard ones get the rest after
    for rounds in (0, 1):
        queue, retry = (todo, []) if rounds == 0 else (retry, [])
        for k, case in enumerate(queue):
            share = dl.remaining() / (len(queue) - k) if rounds == 0 else None
            sub = dl.sub(share, "share") if share is not None else dl
            bounds = decision_bounds(policy, [(body.expr, 1)], cap=cap, rules=case.involved)
            try:
                enc = Encoder(c, bounds, sub)
                rec = enc.record("r")
                env = Env(rec)
                assertions = [enc.valid(rec), zbool(enc.expr(body.expr, env)), case_formula(enc, env, case)]
                out = solve(enc, assertions, lambda model: record_of(model, rec), confirm)
            except Unsupported as exc:
                reasons.append(str(exc))
                continue
            except DeadlineExceeded:
                if dl.expired:
                    raise
                retry.append(case)
                continue
            if out.status == "violated":
                return violated(out.witness, bounds)
            if out.status == "unknown":
                reasons.append(out.reason or "unknown")
            else:
                proved.append(bounds)
        if not retry:
            break
    if reasons or retry:
        why = reasons[0] if reasons else "deadline"
        return OutcomeResult("unknown", merge_bounds(proved), reason=why)
    return OutcomeResult("proved", merge_bounds(proved))
