"""`never OUTCOME when EXPR` and `always OUTCOME when EXPR`, over the whole decision.

One query each: a valid record on which EXPR holds and whose outcome (every rule's validity
dates, combining, waivers and the default included) is OUTCOME (`never`) or is not (`always`).
Unsat is a proof; a model is shown only once the real evaluator gives it that outcome.
"""

from __future__ import annotations

from typing import Any

import attrs

from .. import nodes as n
from ..interpreter import Env as IEnv
from ..interpreter import Interpreter
from ..policy import Policy
from ..records import RecordError
from .encode import BoundCounter, Bounds, Encoder, Env, Unsupported, solve, zbool, znot


@attrs.frozen
class OutcomeResult:
    status: str
    bound: Bounds | None = None
    witness: dict[str, Any] | None = None
    decision: dict[str, Any] | None = None
    reason: str | None = None


def decision_bounds(policy: Policy, extra: list[tuple[n.Expr, int]], copies: int = 1, cap: int = 12) -> Bounds:
    c = policy.checked
    counter = BoundCounter(c)
    for copy in range(copies):
        for r in c.rules:
            counter.add(r.when, 0, copy)
        for inv in c.invariants:
            counter.add(inv.expr, 1, copy)
        for e, pol in extra:
            counter.add(e, pol, copy)
    return counter.bounds(cap)


def check_outcome(policy: Policy, body: n.OutcomeWhen, timeout: float = 10.0, cap: int = 12) -> OutcomeResult:
    c = policy.checked
    bounds = decision_bounds(policy, [(body.expr, 1)], cap=cap)
    try:
        enc = Encoder(c, bounds)
        rec = enc.record("r")
        env = Env(rec)
        cond = enc.expr(body.expr, env)
        gets = enc.outcome_is(env, body.outcome)
        bad = gets if body.quantifier == "never" else znot(gets)
        assertions = [enc.valid(rec), zbool(cond), zbool(bad)]
    except Unsupported as exc:
        return OutcomeResult("unknown", bounds, reason=str(exc))
    interp = Interpreter(c)

    def confirm(record: dict[str, Any]) -> str | None:
        d = policy.evaluate(record)
        if d.is_error:
            return f"the witness is not a valid record: {d.error.message if d.error else '?'}"
        try:
            values = interp.validate(record)
        except RecordError as exc:
            return f"the witness is not a valid record: {exc.message}"
        if not interp.eval(body.expr, IEnv(values)):
            return "the condition does not hold on the witness"
        if (d.outcome == body.outcome) != (body.quantifier == "never"):
            return f"the evaluator decides {d.outcome}"
        return None

    out = solve(enc, assertions, lambda m: enc.witness(m, rec), confirm, timeout)
    if out.status == "violated":
        return OutcomeResult("violated", bounds, out.witness, policy.evaluate(out.witness).to_dict())
    return OutcomeResult(out.status, bounds, reason=out.reason)
