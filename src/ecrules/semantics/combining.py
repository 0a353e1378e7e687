"""How the rules that matched a record become its decision, stated once for every back-end.

- Outcomes rank `deny` > `hold` > `license` > `allow` (`ORDER`, strongest first).
- `first_match`: the first rule (in source order) that matches decides; it alone has fired.
- `deny_overrides`: every matching rule has fired; a fired rule that another fired rule `waives`
  does not count; the strongest outcome among the rules that count wins. The obligations are
  those of the counting rules with that outcome, in rule order, each once.
- When no rule counts, the policy's default outcome applies.
- A rule, a basis or a dated set member applies on the record's date when the date lies in its
  half-open window `[from, until)` (`in_force`); without a date everything applies. A decision
  cites the bases in force of the rules that count.
- A fault (division by zero) while deciding a rule makes the decision an `error` with nothing
  fired: rules are decided in order, and the first fault stops (the row engines' `_fault`).

The definition is written over a `Logic`, so the same functions give the concrete answer (with
`BOOLS`, Python's booleans, in `combine.Combiner` and `explain`) and the z3 formula the verifier
solves (with z3's connectives, in `verify`). Nothing here imports a back-end.
"""

from __future__ import annotations

import builtins
import datetime
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

#: the outcomes of a rule, strongest first
ORDER: tuple[str, ...] = ("deny", "hold", "license", "allow")
#: an outcome's rank: higher is stronger
STRENGTH: dict[str, int] = {o: len(ORDER) - k for k, o in enumerate(ORDER)}
#: the combining algorithms a policy may name (`combine ...`)
ALGORITHMS: tuple[str, ...] = ("deny_overrides", "first_match")

B = TypeVar("B")
T = TypeVar("T")


def in_force(valid_from: datetime.date | None, until: datetime.date | None, as_of: datetime.date | None) -> bool:
    """Half-open `[valid_from, until)`; with no date to ask about, everything is in force."""
    if as_of is None:
        return True
    return (valid_from is None or valid_from <= as_of) and (until is None or as_of < until)


def in_force_term(valid_from: datetime.date | None, until: datetime.date | None, as_of: Any,
                  day: Callable[[datetime.date], Any], logic: Logic[B]) -> B:
    """`in_force` for an `as_of` held in another form (a solver's integer): `day` maps a bound to
    that form, and the window is the same half-open `[valid_from, until)`."""
    if as_of is None:
        return logic.const(True)
    parts = []
    if valid_from is not None:
        parts.append(day(valid_from) <= as_of)
    if until is not None:
        parts.append(as_of < day(until))
    return logic.all(parts)


def stronger(outcome: str) -> tuple[str, ...]:
    """The outcomes that override `outcome` under `deny_overrides`."""
    return ORDER[: ORDER.index(outcome)]


class Logic(Protocol[B]):
    """The connectives the definition is written with: Python's, or a solver's."""

    def all(self, xs: Iterable[B]) -> B: ...

    def any(self, xs: Iterable[B]) -> B: ...

    def not_(self, x: B) -> B: ...

    def const(self, value: bool) -> B: ...


class _Bools:
    """`Logic` over Python's booleans: the definition evaluated on one record."""

    def all(self, xs: Iterable[bool]) -> bool:
        return builtins.all(xs)

    def any(self, xs: Iterable[bool]) -> bool:
        return builtins.any(xs)

    def not_(self, x: bool) -> bool:
        return not x

    def const(self, value: bool) -> bool:
        return value


BOOLS: Logic[bool] = _Bools()


def waived_by(ids: Sequence[str], waives: Sequence[Iterable[str]]) -> tuple[tuple[int, ...], ...]:
    """For each rule (by index), the indexes of the rules that waive it. `ids[k]` is rule k's id,
    `waives[k]` the ids it waives (an unknown id waives nothing)."""
    index = {rule: k for k, rule in enumerate(ids)}
    out: list[list[int]] = [[] for _ in ids]
    for k, names in enumerate(waives):
        for name in names:
            if name in index:
                out[index[name]].append(k)
    return tuple(tuple(x) for x in out)


def counts(algorithm: str, k: int, match: Callable[[int], B], waivers: Sequence[Sequence[int]], logic: Logic[B]) -> B:
    """Rule k counts toward the outcome: it matches, and (first_match) no earlier rule matches, or
    (deny_overrides) no rule that waives it matches. `match(j)`: rule j matches."""
    if algorithm == "first_match":
        return logic.all([match(k), logic.not_(logic.any(match(j) for j in range(k)))])
    return logic.all([match(k), logic.not_(logic.any(match(j) for j in waivers[k]))])


def outcome_is(outcome: str, default: str, counting: Sequence[tuple[str, B]], logic: Logic[B]) -> B:
    """The decision's outcome is `outcome`, given each rule's (outcome, counts): a rule of that
    outcome counts and no rule of a stronger one does, or no rule counts and it is the default."""

    def some(o: str) -> B:
        return logic.any(b for ro, b in counting if ro == o)

    nothing = logic.not_(logic.any(b for _, b in counting))
    return logic.all([*(logic.not_(some(s)) for s in stronger(outcome)),
                      logic.any([some(outcome), logic.all([nothing, logic.const(default == outcome)])])])


# ---- the concrete decision, from the indexes of the rules that matched ------------------------


def fired(algorithm: str, matched: Sequence[T]) -> tuple[T, ...]:
    """The rules a decision names as fired, from those that matched (in rule order)."""
    return tuple(matched[:1]) if algorithm == "first_match" else tuple(matched)


def stops_at_match(algorithm: str) -> bool:
    """Whether deciding stops at the first matching rule (the rules after it cannot count)."""
    return algorithm == "first_match"


def counted(algorithm: str, matched: Sequence[int], waivers: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """The matched rules (indexes, in rule order) that count toward the outcome."""
    hit = frozenset(matched).__contains__
    return tuple(k for k in matched if counts(algorithm, k, hit, waivers, BOOLS))


def outcome(default: str, outcomes: Iterable[str]) -> str:
    """The outcome decided when rules of `outcomes` count: the one `outcome_is` holds for."""
    counting = [(o, True) for o in outcomes]
    return next(o for o in ORDER if outcome_is(o, default, counting, BOOLS))


def obligations(decided: str, counting: Iterable[tuple[str, Sequence[str]]]) -> tuple[str, ...]:
    """The obligations of the counting rules (outcome, requires) whose outcome was decided."""
    out: list[str] = []
    for o, requires in counting:
        if o == decided:
            out.extend(x for x in requires if x not in out)
    return tuple(out)


def bases_in_force(bases: Iterable[tuple[T, datetime.date | None, datetime.date | None]],
                   as_of: datetime.date | None) -> list[T]:
    """The bases (each with its window `[from, until)`) in force on `as_of`, in order."""
    return [b for b, since, until in bases if in_force(since, until, as_of)]


__all__ = ["ALGORITHMS", "BOOLS", "ORDER", "STRENGTH", "Logic", "bases_in_force", "counted", "counts", "fired",
           "in_force", "in_force_term", "obligations", "outcome", "outcome_is", "stops_at_match", "stronger",
           "waived_by"]
