"""Hypothesis strategies generated from a policy's schema, for fuzzing policies and engines.

`records(policy)` draws records of the policy's record type, biased toward the values its
conditions test: literals and constants with their neighbours, set members and non-members,
codes that match and nearly match each `like` pattern, and dates around validity bounds. Records
that break a `total == sum(...)` invariant are repaired, elements of a list that break the schema or
an invariant are dropped, and a draw is retried until valid, so most draws reach the rules.

Needs `hypothesis` (a test dependency, not a run-time one).
"""

from __future__ import annotations

import datetime
import random
import string
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from . import nodes as n
from . import types as t
from .checker import Checked, FieldRef
from .countries import COUNTRIES
from .interpreter import Interpreter
from .policy import Policy
from .records import RecordError

_COUNTRY_LIST = sorted(COUNTRIES)
_CHARS = string.ascii_letters + string.digits + " -"


class _Pools:
    """The constants a policy mentions, by kind, with near neighbours."""

    def __init__(self, c: Checked):
        self.strings: set[str] = set()
        self.near: set[str] = set()
        self.numbers: set[Decimal] = set()
        self.ints: set[int] = set()
        self.dates: set[datetime.date] = set()
        self.countries: set[str] = set()
        exprs: list[n.Expr] = [r.when for r in c.rules] + [i.expr for i in c.invariants]
        exprs += [let.expr for let in c.lets.values()]
        for rule in c.rules:
            for d in (rule.effective, rule.expires):
                if d:
                    self._date(d)
            for b in rule.all_bases:
                for d in (b.valid_from, b.until):
                    if d:
                        self._date(d)
        for s in c.sets.values():
            members = sorted(s.values, key=str)
            rnd = random.Random(len(members))
            for value in members if len(members) <= 40 else rnd.sample(members, 40):
                self._value(value)
                if isinstance(value, str):
                    self.near.add(value.upper())
        for k in c.consts.values():
            self._value(k.value)
        for e in exprs:
            for sub in n.walk(e):
                if isinstance(sub, n.Literal):
                    self._value(sub.value)
        for pattern in c.patterns.values():
            for p in (pattern,) if isinstance(pattern, str) else pattern:
                hits, misses = pattern_examples(p)
                self.strings.update(hits)
                self.near.update(misses)

    def _date(self, d: datetime.date) -> None:
        self.dates.update(d + datetime.timedelta(days=k) for k in (-1, 0, 1))

    def _value(self, v: Any) -> None:
        if isinstance(v, bool):
            return
        if isinstance(v, int):
            self.ints.update((v - 1, v, v + 1))
            self.numbers.update(Decimal(v) + d for d in (Decimal("-0.01"), Decimal(0), Decimal("0.01")))
        elif isinstance(v, Decimal):
            self.numbers.update(v + d for d in (Decimal("-0.01"), Decimal(0), Decimal("0.01")))
        elif isinstance(v, datetime.date):
            self._date(v)
        elif isinstance(v, str):
            self.strings.add(v)
            if v in COUNTRIES:
                self.countries.add(v)


def pattern_examples(pattern: str) -> tuple[list[str], list[str]]:
    """Strings that match a `like` pattern, and near misses (one character off, one too many)."""
    hits: list[str] = []
    for star in ("", "1", "X9"):
        text = []
        i = 0
        while i < len(pattern):
            ch = pattern[i]
            if ch == "*":
                text.append(star)
            elif ch == "\\" and i + 1 < len(pattern):
                i += 1
                text.append(pattern[i])
            elif ch == "[":
                j = pattern.index("]", i + 1) if "]" in pattern[i + 1 :] else len(pattern)
                body = pattern[i + 1 : j]
                text.append("~" if body.startswith("!") else body[:1])
                i = j
            else:
                text.append(ch)
            i += 1
        hits.append("".join(text))
    misses = [m for h in hits for m in (h + "0", h[:-1], "Z" + h[1:]) if m and m not in hits]
    return [h for h in dict.fromkeys(hits) if h], misses


def _strategy(typ: t.Type, pools: _Pools, name: str) -> st.SearchStrategy[Any]:
    if isinstance(typ, t.EnumT):
        return st.sampled_from(typ.members)
    if typ == t.STRING:
        text = st.text(_CHARS, max_size=8)
        options = [st.sampled_from(sorted(pools.strings))] * 4 if pools.strings else []
        options += [st.sampled_from(sorted(pools.near))] if pools.near else []
        return st.one_of(*options, text)
    if typ == t.COUNTRY:
        some = st.sampled_from(_COUNTRY_LIST)
        return st.one_of(st.sampled_from(sorted(pools.countries)), some) if pools.countries else some
    if typ == t.INT:
        ints = st.integers(min_value=-3, max_value=50)
        return st.one_of(st.sampled_from(sorted(pools.ints)), ints) if pools.ints else ints
    if typ == t.NUMBER:
        decimals = st.decimals(min_value=-10, max_value=100_000, places=2, allow_nan=False, allow_infinity=False)
        return st.one_of(st.sampled_from(sorted(pools.numbers)), decimals) if pools.numbers else decimals
    if typ == t.BOOL:
        return st.booleans()
    if typ == t.DATE:
        any_date = st.dates(min_value=datetime.date(1990, 1, 1), max_value=datetime.date(2035, 12, 31))
        dates = st.one_of(st.sampled_from(sorted(pools.dates)), any_date) if pools.dates else any_date
        return dates.map(datetime.date.isoformat)
    if isinstance(typ, t.ListT):
        nonempty = st.lists(_strategy(typ.elem, pools, name), min_size=1, max_size=4)
        return st.one_of(nonempty, nonempty, nonempty, st.just([]))
    if isinstance(typ, t.SetT):
        return st.lists(_strategy(typ.elem, pools, name), max_size=3)
    if isinstance(typ, t.StructT):
        required = {f.name: _strategy(f.type, pools, f.name) for f in typ.fields.values() if not f.optional}
        optional = {f.name: st.one_of(st.none(), _strategy(f.type, pools, f.name))
                    for f in typ.fields.values() if f.optional}
        return st.fixed_dictionaries(required, optional=optional)
    return st.nothing()


def _sum_repairs(c: Checked) -> list[tuple[str, str, str]]:
    """Invariants `X == sum(v in L: v.f)` (maybe behind `not has X or`): (X, L, f) to recompute."""
    out = []
    for inv in c.invariants:
        e: n.Expr = inv.expr
        if isinstance(e, n.BoolOp) and e.op == "or" and len(e.operands) == 2 and isinstance(e.operands[0], n.Not):
            e = e.operands[1]
        if not (isinstance(e, n.Compare) and e.op == "=="):
            continue
        left, right = e.left, e.right
        if (isinstance(left, n.Name) and isinstance(c.bindings.get(id(left)), FieldRef)
                and isinstance(right, n.Quant) and right.kind == "sum" and right.where is None
                and isinstance(right.source, n.Name) and isinstance(right.body, n.Attr)
                and isinstance(right.body.obj, n.Name) and right.body.obj.name == right.var):
            out.append((left.name, right.source.name, right.body.name))
    return out


def _repair(record: dict[str, Any], repairs: list[tuple[str, str, str]]) -> dict[str, Any]:
    for total, items, value in repairs:
        elems = record.get(items)
        if isinstance(elems, list) and all(isinstance(x, dict) and isinstance(x.get(value), (int, Decimal)) for x in elems):
            record[total] = sum((x[value] for x in elems), Decimal(0))
    return record


def records(policy: Policy, attempts: int = 20) -> st.SearchStrategy[dict[str, Any]]:
    """Records of `policy`'s schema, biased toward what its conditions test.

    Most draws are valid (schema and invariants hold): up to `attempts` candidates are drawn and
    the first valid one kept. The rest exercise record errors.
    """
    c = policy.checked
    assert c.record is not None, "the policy has no record"
    pools = _Pools(c)
    base = _strategy(c.record, pools, c.record.name)
    repairs = _sum_repairs(c)
    check = Interpreter(c)

    @st.composite
    def draw_record(draw: st.DrawFn) -> dict[str, Any]:
        candidate: dict[str, Any] = {}
        for _ in range(attempts):
            candidate = _repair(draw(base), repairs)
            for _ in range(6):
                try:
                    check.validate(candidate)
                    return candidate
                except RecordError as exc:
                    # an element of a top-level list breaks the schema or an invariant: drop it
                    parts = exc.parts
                    if len(parts) < 2 or not isinstance(parts[0], str) or not isinstance(parts[1], int):
                        break
                    field, index = parts[0], parts[1]
                    if not isinstance(candidate.get(field), list):
                        break
                    elems = list(candidate[field])
                    del elems[index]
                    candidate = _repair({**candidate, field: elems}, repairs)
        return candidate

    return draw_record()


__all__ = ["records", "pattern_examples"]
