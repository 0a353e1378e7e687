"""Justified facts: the only way a rule may tell protected values apart (issue 9, spec section 6).

A justified fact is "field F (of category c) equals v, on the `as_of` date": v is a member of a
set carrying, or v is listed in the scope of a rule's own basis citing, an **instrument** (never
a legacy free-text basis) whose kind (or id) the `protect ... unless basis` clause admits, in force
on that date, whose scope covers category c (and v, when the scope lists values). An item-control
regime (`scope item`) or a party list (`scope party`) justifies no difference between countries.

Categories: a protected field whose last path segment is `nationality` is `nationality`; every
other country-typed field is `destination`. A field of another type has no justified facts: a
rule may not tell its values apart at all.
"""

from __future__ import annotations

import datetime
from typing import Any, Iterable, Iterator

import attrs

from ..checked import Checked
from ..semantics.combining import in_force
from ..countries import COUNTRIES

COUNTRY_CATEGORIES = ("destination", "nationality")


@attrs.frozen
class Justification:
    """One basis that makes `value` a justified fact of `category`, and where it is written."""

    category: str
    value: str
    basis: Any  # checked.BasisInfo
    where: str  # "set NAME" or "rule ID"

    @property
    def valid_from(self) -> datetime.date | None:
        """The later of the basis's own `from` and the instrument's entry into force."""
        days = [d for d in (self.basis.valid_from, getattr(instrument_of(self.basis), "in_force", None)) if d]
        return max(days) if days else None

    @property
    def until(self) -> datetime.date | None:
        """The earlier of the basis's own `until` and the instrument's lapse."""
        days = [d for d in (self.basis.until, getattr(instrument_of(self.basis), "lapses", None)) if d]
        return min(days) if days else None


def instrument_of(basis: Any) -> Any:
    """The instrument a basis cites, or None for a legacy free-text basis (and the old model)."""
    return getattr(basis, "instrument", None)


def admissible(basis: Any, unless: frozenset[str]) -> bool:
    inst = instrument_of(basis)
    return inst is not None and (inst.kind in unless or inst.id in unless)


def category(path: tuple[str, ...]) -> str:
    return "nationality" if path and path[-1] == "nationality" else "destination"


def covers(inst: Any, cat: str, value: str, listed_only: bool) -> bool:
    """`inst`'s scope covers `value` in category `cat` (listed by value, or the whole category
    unless `listed_only`: a rule's own basis justifies only the values its scope lists)."""
    for sc in inst.scopes:
        if sc.category != cat:
            continue
        if sc.values:
            if value in sc.values:
                return True
        elif not listed_only:
            return True
    return False


class Facts:
    """Every justified fact of a policy under one `protect` clause, with its bases and windows."""

    def __init__(self, c: Checked, unless: frozenset[str]):
        self.c = c
        self.unless = unless
        self.by_fact: dict[tuple[str, str], list[Justification]] = {}
        self._holds: dict[tuple[str, str, datetime.date | None], bool] = {}
        for info in c.sets.values():
            bases_of = getattr(info, "bases_of", None)
            for value in sorted(info.values, key=str):
                if not isinstance(value, str) or value not in COUNTRIES:
                    continue
                bases = bases_of(value) if bases_of is not None else info.bases
                for b in bases:
                    self._add(b, value, f"set {info.name}", listed_only=False)
        for rule in c.rules:
            for b in rule.bases:
                inst = instrument_of(b)
                if inst is None:
                    continue
                for sc in inst.scopes:
                    for value in sc.values:
                        self._add(b, value, f"rule {rule.id}", listed_only=True)

    def _add(self, b: Any, value: str, where: str, listed_only: bool) -> None:
        if not admissible(b, self.unless):
            return
        inst = instrument_of(b)
        for cat in COUNTRY_CATEGORIES:
            if covers(inst, cat, value, listed_only):
                self.by_fact.setdefault((cat, value), []).append(Justification(cat, value, b, where))

    def values(self, cat: str) -> list[str]:
        return sorted(v for c, v in self.by_fact if c == cat)

    def windows(self, cat: str, value: str) -> list[tuple[datetime.date | None, datetime.date | None]]:
        return [(j.valid_from, j.until) for j in self.by_fact.get((cat, value), [])]

    def holds(self, cat: str, value: Any, day: datetime.date | None) -> bool:
        """`value` is a justified fact of `cat` on `day` (memoised: sampling asks it per leaf)."""
        key = (cat, str(value), day)
        known = self._holds.get(key)
        if known is None:
            known = self._holds[key] = any(in_force(f, u, day) for f, u in self.windows(cat, str(value)))
        return known

    def boundaries(self, values: set[str] | None = None) -> set[datetime.date]:
        """The days on which a justified fact (about one of `values`, or any) starts or stops
        holding, and the day before each: the dates worth trying for a counterexample."""
        out: set[datetime.date] = set()
        for (_, value), js in self.by_fact.items():
            if values is not None and value not in values:
                continue
            for j in js:
                if j.valid_from is not None:
                    out.add(j.valid_from)
                    out.add(j.valid_from - datetime.timedelta(days=1))
                if j.until is not None:
                    out.add(j.until)
                    out.add(j.until - datetime.timedelta(days=1))
        return out

    def justifications(self) -> Iterator[Justification]:
        for js in self.by_fact.values():
            yield from js


def pairs_of(js: Iterable[Justification]) -> list[tuple[str, str]]:
    return sorted({(j.category, j.value) for j in js})
