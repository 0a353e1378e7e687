"""`ecrules verify`: prove or refute a policy's constraints with z3, witnesses confirmed by the evaluator.

`verify_policy(policy)` checks every `constraint` of a loaded policy and returns a `PolicyReport`:
each constraint `proved` (with the list bound it holds for), `violated` (with a witness the real
evaluator confirmed) or `unknown` (with why), plus warnings (dead, redundant, order-dependent rules).
See docs/constraints.md.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any, Callable

from .. import nodes as n
from ..checked import Program
from .deadline import Deadline, DeadlineExceeded
from .bounds import Bounds
from .symbolic import Unsupported
from .outcome import check_outcome, merge_bounds
from .parallel import run_all
from .protect import Pairs, ProtectSpec, RuleResult, check_rule
from .report import PolicyReport, Verdict, Warning_, dumps


def _rule_dict(r: RuleResult) -> dict[str, object]:
    out: dict[str, object] = {"rule": r.rule, "status": r.status, "detail": r.detail}
    if r.fields:
        out["fields"] = list(r.fields)
    if r.reason:
        out["reason"] = r.reason
    if r.bound is not None:
        out["bound"] = r.bound.describe()
    if r.witness is not None:
        out["witness"] = list(r.witness)
        out["matches"] = list(r.matches or ())
    return out


def _per_check(run: Deadline, timeout: float) -> Deadline:
    return run.sub(timeout, f"deadline: the {timeout:g} s limit per check ran out")


def check_constraint(policy: Program, con: n.Constraint, timeout: float = 10.0,
                     run: Deadline | None = None) -> Verdict:
    """One constraint's verdict; each solver check (per rule for `protect`) gets `timeout`
    seconds of wall time, terms included, and none outlasts `run`."""
    run = run if run is not None else Deadline.never()
    body = con.body
    line = con.span.line
    if isinstance(body, n.Protect):
        spec = ProtectSpec.of(body)
        pairs = Pairs(policy, spec)
        results = []
        for r in policy.checked.rules:
            try:
                results.append(check_rule(policy, r, spec, _per_check(run, timeout), pairs=pairs))
            except DeadlineExceeded as exc:
                results.append(RuleResult(r.id, "unknown", "undecided", reason=exc.what))
        bound = merge_bounds([r.bound for r in results if r.bound is not None and r.status == "proved"])
        if any(r.status == "violated" for r in results):
            status = "violated"
        elif any(r.status == "unknown" for r in results):
            status = "unknown"
        else:
            status = "proved"
        reason = None
        if status == "unknown":
            reason = "; ".join(f"rule {r.rule}: {r.reason}" for r in results if r.status == "unknown")
        return Verdict(con.name, "protect", status, line, bound, reason, [_rule_dict(r) for r in results])
    try:
        res = check_outcome(policy, body, _per_check(run, timeout))
    except DeadlineExceeded as exc:
        return Verdict(con.name, body.quantifier, "unknown", line, None, exc.what)
    return Verdict(con.name, body.quantifier, res.status, line, res.bound, res.reason,
                   witness=res.witness, decision=res.decision)


def verify_policy(policy: Program, file: str = "<policy>", timeout: float = 10.0, warnings: bool = True,
                  deadline: float | None = None, run: Deadline | None = None) -> PolicyReport:
    """Check every constraint of `policy` (and, with `warnings`, the dead/redundant/order checks).

    `timeout`: seconds of wall time per check; `deadline`: seconds for the whole call (None: no
    limit). Both include building terms; what does not finish is `unknown` with a `deadline`
    reason, so the call returns within the limits (plus a fraction of a second)."""
    start = time.perf_counter()
    if run is None:
        run = Deadline(deadline, f"deadline: the run's {deadline:g} s deadline passed" if deadline is not None else "")
    elif deadline is not None:
        run = run.sub(deadline, f"deadline: the run's {deadline:g} s deadline passed")
    report = PolicyReport(file, policy.name)
    jobs: list[Callable[[], Any]] = [partial(check_constraint, policy, con, timeout, run)
                                     for con in policy.checked.constraints]
    if warnings:
        from .checks import rule_checks

        jobs.append(partial(rule_checks, policy, timeout, run=run))
    results = run_all(jobs)  # on every core: the jobs are independent
    report.verdicts.extend(results[: len(policy.checked.constraints)])
    for found in results[len(policy.checked.constraints):]:
        report.warnings.extend(found)
    report.seconds = time.perf_counter() - start
    return report


__all__ = ["PolicyReport", "Unsupported", "Verdict", "Warning_", "dumps", "verify_policy"]  # check_constraint takes the IR
