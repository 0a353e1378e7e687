"""The z3 encoding of `semantics.combining`: the one definition of combining, over z3's connectives.

The verifier does not restate how outcomes combine: `outcome_is` and `counts` evaluate the
definition's own functions with `Z3`, so a change to the definition changes what is proved.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import Any

from ..checked import Checked
from ..semantics import combining as sem
from .symbolic import zand, znot, zor


class _Z3:
    """`semantics.combining.Logic` over z3 terms (Python booleans fold away)."""

    def all(self, xs: Iterable[Any]) -> Any:
        return zand(*xs)

    def any(self, xs: Iterable[Any]) -> Any:
        return zor(*xs)

    def not_(self, x: Any) -> Any:
        return znot(x)

    def const(self, value: bool) -> Any:
        return value


Z3: sem.Logic[Any] = _Z3()


def in_force(valid_from: datetime.date | None, until: datetime.date | None, as_of: Any) -> Any:
    """The half-open window `semantics.combining.in_force`, over a date held as a z3 ordinal."""
    return sem.in_force_term(valid_from, until, as_of, datetime.date.toordinal, Z3)


def waivers(c: Checked) -> tuple[tuple[int, ...], ...]:
    """For each rule (by index), the indexes of the rules that waive it."""
    return sem.waived_by([r.id for r in c.rules], [r.waives for r in c.rules])


def counts(c: Checked, k: int, match: Callable[[int], Any], waived_by: tuple[tuple[int, ...], ...]) -> Any:
    """Rule k counts toward the outcome; `match(j)` is the term "rule j matches"; `waived_by` is
    `waivers(c)`, computed once by the caller."""
    return sem.counts(c.combine, k, match, waived_by, Z3)


def outcome_is(c: Checked, match: Callable[[int], Any], outcome: str) -> Any:
    """The decision's outcome on a valid record is `outcome`."""
    w = waivers(c)
    counting = [(r.outcome, counts(c, r.index, match, w)) for r in c.rules]
    return sem.outcome_is(outcome, c.default, counting, Z3)


__all__ = ["Z3", "counts", "in_force", "outcome_is", "waivers"]
