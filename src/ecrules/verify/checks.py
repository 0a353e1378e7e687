"""Warnings `verify` reports (exit status unaffected): dead rules, redundant rules, and, under
`first_match`, pairs of rules with different outcomes that can match the same record, where the
source order silently decides.

Dead and redundant are proofs (unsat, for lists up to the decision's bound); an order conflict is
reported only with a witness record on which the interpreter confirms both rules match.

Most pairs are settled without the solver: every record met along the way (the policy's test
records, each model the solver returns) gives a vector of which rules match it, and one vector
with A matching and B not shows A is neither dead nor redundant with B.
"""

from __future__ import annotations

from typing import Any

import z3  # type: ignore[import-untyped]

from ..interpreter import Interpreter
from ..checked import Program
from ..records import RecordError
from .deadline import Deadline, DeadlineExceeded
from ..checked import Env
from .encode import Encoder
from .outcome import decision_bounds
from .report import Warning_
from .seeds import match_vector, test_records
from .symbolic import Unsupported, zbool, znot
from .witness import Unrepresentable, record_of


def rule_checks(policy: Program, timeout: float = 10.0, budget: float = 2.5, cap: int = 4,
                run: Deadline | None = None) -> list[Warning_]:
    """Dead, redundant and order warnings, within `budget` seconds (terms included) and `run`."""
    c = policy.checked
    if not c.rules or c.record is None:
        return []
    run = run if run is not None else Deadline.never()
    dl = run.sub(budget, "budget")
    out: list[Warning_] = []
    try:
        undecided = _rule_checks(policy, dl, min(timeout, 0.5), cap, out)
        if undecided:
            out.append(Warning_("budget", (), f"{undecided} dead/redundant/order check"
                                f"{'s' if undecided != 1 else ''} undecided within 0.5 s each: "
                                "some warnings may be missing"))
    except DeadlineExceeded:
        out.append(Warning_("budget", (), f"rule checks stopped after their {budget:g} s budget "
                            "(or the run's deadline): some dead, redundant or order warnings may be missing"))
    return out


def _rule_checks(policy: Program, dl: Deadline, per_query: float, cap: int, out: list[Warning_]) -> int:
    """Append the warnings to `out`; return how many queries the solver left undecided."""
    c = policy.checked
    interp = Interpreter(c)
    vectors: list[tuple[bool, ...]] = []
    for given in test_records(policy):
        vec = match_vector(policy, interp, given)
        if vec is not None:
            vectors.append(vec)
    bounds = decision_bounds(policy, [], cap=cap)
    try:
        enc = Encoder(c, bounds, dl)
        rec = enc.record("r")
        env = Env(rec)
        valid = enc.valid(rec)
        matches = [zbool(enc.match(r, env)) for r in c.rules]
    except Unsupported:
        return 0
    solver = z3.Solver()
    solver.add(zbool(valid), *enc.domain)
    bound_note = "" if bounds.complete else f" (for lists up to the bound: {bounds.describe()})"
    model_box: list[Any] = [None]
    undecided = [0]

    def sat(*extra: Any) -> Any:
        solver.push()
        solver.add(*[zbool(x) for x in extra])
        res = dl.solve(solver, cap=per_query)
        model = solver.model() if res == z3.sat else None
        undecided[0] += res == z3.unknown
        solver.pop()
        model_box[0] = model
        if model is not None:
            # the encoding's own view of which rules this model matches
            vectors.append(tuple(z3.is_true(model.eval(m, model_completion=True)) for m in matches))
        return res

    dead: set[int] = set()
    for k, r in enumerate(c.rules):
        if any(vec[k] for vec in vectors):
            continue
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
            if i == j or j in dead or ri.outcome != rj.outcome or waived_by[ri.id] != waived_by[rj.id]:
                continue
            if c.combine == "first_match" and j > i:
                continue  # under first_match, an earlier rule shadows a later one, not the reverse
            if any(vec[i] and not vec[j] for vec in vectors):
                continue
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
                if ri.outcome == rj.outcome or i in dead or j in dead:
                    continue
                if sat(matches[i], matches[j]) != z3.sat:
                    continue
                try:
                    w = record_of(model_box[0], rec)
                    values = interp.validate(w)
                    confirmed = interp.matches(ri, Env(values)) and interp.matches(rj, Env(values))
                except (Unrepresentable, RecordError):
                    confirmed = False
                out.append(Warning_("order", (ri.id, rj.id),
                                    f"rules {ri.id} ({ri.outcome}) and {rj.id} ({rj.outcome}) can match the same "
                                    f"record: under first_match the source order decides",
                                    w if confirmed else None))
    return undecided[0]
