"""The solve loop: unsat is a proof; a model becomes a witness only once the real evaluator confirms
it, and a model that relies on a wrong interpretation of an uninterpreted function (text
functions, large sets, screening) is refined with the real values at its arguments."""

from __future__ import annotations

from typing import Any, Callable

import attrs
import z3  # type: ignore[import-untyped]

from .deadline import Deadline
from .encode import Encoder
from .symbolic import TEXT_FUNCS, zbool
from .witness import Unrepresentable, member_guesses, niceties, preferences


def refinements(enc: Encoder, model: z3.ModelRef) -> list[Any]:
    """Facts about the real text functions and large sets at the arguments this model chose."""
    out: list[Any] = []
    for sa in enc.set_apps:
        enc.deadline.check()
        arg = model.eval(sa.arg, model_completion=True)
        if not z3.is_string_value(arg):
            continue
        text = str(arg.as_string())
        is_member = text in sa.member_set
        claimed = z3.is_true(model.eval(sa.term, model_completion=True))
        if claimed != is_member:
            out.append(sa.pred(z3.StringVal(text)) == z3.BoolVal(is_member))
            key = (sa.pred.get_id(), sa.arg.get_id())
            if claimed and key not in enc.exact:
                enc.exact.add(key)
                out.append(z3.Implies(sa.term, z3.Or(*(sa.arg == z3.StringVal(m) for m in sa.members))))
    real = TEXT_FUNCS
    for app in enc.apps:
        arg = model.eval(app.arg, model_completion=True)
        if not z3.is_string_value(arg):
            continue
        text = str(arg.as_string())
        out.append(z3.Implies(app.arg == z3.StringVal(text), app.term == z3.StringVal(real[app.func](text))))
    if enc.screen_apps:
        from ..screening import runtime
    for info, func, args, term in enc.screen_apps:
        vals = [model.eval(a, model_completion=True) for a in args]
        if not all(z3.is_string_value(x) for x in vals):
            continue
        name, typ = (str(x.as_string()) for x in vals)
        got = (runtime.score if func == "screen" else runtime.matches)(info, name, typ or None)
        value = z3.RealVal(str(got)) if func == "screen" else z3.BoolVal(bool(got))
        same = z3.And(*(a == z3.StringVal(str(x.as_string())) for a, x in zip(args, vals)))
        out.append(z3.Implies(same, term == value))
    return out


@attrs.frozen
class Outcome:
    """What one query found: `proved`, `violated` (with the confirmed witness) or `unknown`."""

    status: str
    witness: Any = None
    reason: str | None = None


def solve(enc: Encoder, assertions: list[Any], build: Callable[[z3.ModelRef], Any],
          confirm: Callable[[Any], str | None], rounds: int = 6, quick: bool = False,
          deadline: Deadline | None = None, solver: Any = None) -> Outcome:
    """Unsat is `proved`; a model becomes a witness only if `confirm` (the real evaluator) returns
    None for it; otherwise the model is refined (facts about the real text functions and large
    sets at the values it chose, decimal-friendly preferences) and the search goes on, up to
    `rounds` times. Runs within `enc.deadline` (raises `DeadlineExceeded` when it passes).
    `quick`: try the plain model before asking for readable values (for seeds nobody reads);
    `deadline`: a shorter limit for this search than the encoder's; `solver`: an existing solver
    holding common assertions (incremental solving: this query is pushed on it and popped)."""
    if solver is None:
        return _solve(enc, z3.Solver(), assertions, build, confirm, rounds, quick, deadline)
    solver.push()
    try:
        return _solve(enc, solver, assertions, build, confirm, rounds, quick, deadline)
    finally:
        solver.pop()


def _solve(enc: Encoder, solver: Any, assertions: list[Any], build: Callable[[z3.ModelRef], Any],
           confirm: Callable[[Any], str | None], rounds: int, quick: bool, deadline: Deadline | None) -> Outcome:
    deadline = deadline if deadline is not None else enc.deadline
    solver.add(*[zbool(a) for a in assertions])
    solver.add(*enc.domain)
    why = ""
    for _ in range(rounds):
        res = deadline.solve(solver)
        if res == z3.unsat:
            return Outcome("proved")
        if res == z3.unknown:
            return Outcome("unknown", reason=f"the solver gave up ({solver.reason_unknown()})")
        model = solver.model()
        if quick:
            try:
                w = build(model)
                if confirm(w) is None:
                    return Outcome("violated", witness=w)
            except Unrepresentable:
                pass
        # first, the same query with preferences for readable, representable values (each try
        # gets a share of the time left, and is skipped when it does not finish)
        candidates = []
        for tier in ([*preferences(enc), *niceties(enc)], preferences(enc)):
            solver.push()
            solver.add(*tier)
            if deadline.solve(solver, cap=max(0.05, deadline.remaining() / 4)) == z3.sat:
                candidates.append(solver.model())
            solver.pop()
        candidates.append(model)
        for pick in range(2):
            guesses = member_guesses(enc, model, pick)
            if not guesses:
                break
            solver.push()
            solver.add(*guesses, *preferences(enc))
            if deadline.solve(solver, cap=max(0.05, deadline.remaining() / 4)) == z3.sat:
                candidates.insert(0, solver.model())
            solver.pop()
        for m in candidates:
            deadline.check()
            try:
                w = build(m)
            except Unrepresentable as exc:
                why = str(exc)
                continue
            problem = confirm(w)
            if problem is None:
                return Outcome("violated", witness=w)
            why = problem
        refine = refinements(enc, model) + [r for m in candidates for r in refinements(enc, m)]
        if not refine:
            break
        solver.add(*refine)
    return Outcome("unknown", reason=f"the solver found a candidate the evaluator does not confirm ({why}): "
                                     "an encoding gap, reported rather than shown")
