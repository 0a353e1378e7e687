"""Warnings `verify` reports (exit status unaffected): dead rules, redundant rules, and, under
`first_match`, pairs of rules with different outcomes that can match the same record, where the
source order silently decides.

Dead and redundant are proofs (unsat, for lists up to the decision's bound); an order conflict is
reported only with a witness record on which the interpreter confirms both rules match.
"""

from __future__ import annotations

import time
from typing import Any

import z3  # type: ignore[import-untyped]

from ..interpreter import Env as IEnv
from ..interpreter import Interpreter
from ..policy import Policy
from ..records import RecordError
from .encode import Encoder, Env, Unrepresentable, Unsupported, zbool, znot
from .outcome import decision_bounds
from .report import Warning_


def rule_checks(policy: Policy, timeout: float = 10.0, budget: float = 5.0, cap: int = 4) -> list[Warning_]:
    c = policy.checked
    if not c.rules or c.record is None:
        return []
    start = time.perf_counter()
    bounds = decision_bounds(policy, [], cap=cap)
    try:
        enc = Encoder(c, bounds)
        rec = enc.record("r")
        env = Env(rec)
        valid = enc.valid(rec)
        matches = [zbool(enc.match(r, env)) for r in c.rules]
    except Unsupported:
        return []
    solver = z3.Solver()
    solver.set("timeout", max(1, int(min(timeout, 2.0) * 1000)))
    solver.add(zbool(valid), *enc.domain)
    interp = Interpreter(c)
    out: list[Warning_] = []
    bound_note = "" if bounds.complete else f" (for lists up to the bound: {bounds.describe()})"

    def over() -> bool:
        if time.perf_counter() - start > budget:
            if not any(w.check == "budget" for w in out):
                out.append(Warning_("budget", (), f"rule checks stopped after their {budget:g} s budget: "
                                    "some dead, redundant or order warnings may be missing"))
            return True
        return False

    def sat(*extra: Any) -> z3.CheckSatResult:
        solver.push()
        solver.add(*[zbool(x) for x in extra])
        res = solver.check()
        model = solver.model() if res == z3.sat else None
        solver.pop()
        sat.model = model  # type: ignore[attr-defined]
        return res

    dead: set[int] = set()
    for k, r in enumerate(c.rules):
        if over():
            return out
        if sat(matches[k]) == z3.unsat:
            dead.add(k)
            out.append(Warning_("dead", (r.id,), f"rule {r.id} can never match{bound_note}"))
    waived_by: dict[str, frozenset[str]] = {
        r.id: frozenset(w.id for w in c.rules if r.id in w.waives) for r in c.rules
    }
    for i, ri in enumerate(c.rules):
        if i in dead or ri.waives:
            continue
        for j, rj in enumerate(c.rules):
            if over():
                return out
            if i == j or j in dead or ri.outcome != rj.outcome or waived_by[ri.id] != waived_by[rj.id]:
                continue
            if c.combine == "first_match" and j > i:
                continue  # under first_match, an earlier rule shadows a later one, not the reverse
            if sat(matches[i], znot(matches[j])) == z3.unsat:
                extra = set(ri.requires) - set(rj.requires)
                note = f"; it only adds its obligations ({'; '.join(sorted(extra))})" if extra else ""
                out.append(Warning_("redundant", (ri.id, rj.id),
                                    f"rule {ri.id} matches only where rule {rj.id} (also {ri.outcome}) "
                                    f"matches{bound_note}{note}"))
                break
    if c.combine == "first_match":
        for i, ri in enumerate(c.rules):
            for j in range(i + 1, len(c.rules)):
                rj = c.rules[j]
                if over():
                    return out
                if ri.outcome == rj.outcome or i in dead or j in dead:
                    continue
                if sat(matches[i], matches[j]) != z3.sat:
                    continue
                try:
                    w = enc.witness(sat.model, rec)  # type: ignore[attr-defined]
                    values = interp.validate(w)
                    e = IEnv(values)
                    confirmed = interp.matches(ri, e) and interp.matches(rj, IEnv(values))
                except (Unrepresentable, RecordError):
                    confirmed = False
                out.append(Warning_("order", (ri.id, rj.id),
                                    f"rules {ri.id} ({ri.outcome}) and {rj.id} ({rj.outcome}) can match the same "
                                    f"record: under first_match the source order decides",
                                    w if confirmed else None))
    return out
