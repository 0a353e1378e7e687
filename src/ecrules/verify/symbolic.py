"""Symbolic values of the z3 encoding: finite domains, lists, records, and z3 helpers that fold
Python constants (a value known at load time stays a Python value, so most of a policy encodes
to constants and only what reads the record becomes a formula)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any, Callable, Iterator

import attrs
import z3  # type: ignore[import-untyped]

from .. import types as t
from .. import values as v
from ..countries import COUNTRIES
# a construct the encoding cannot represent faithfully (the verdict becomes `unknown`): the one
# class every back-end raises
from ..semantics.operators import UDFS
from ..semantics.operators import Unsupported as Unsupported

#: the text functions, uninterpreted in z3 and refined with their real values (the registry's)
TEXT_FUNCS: dict[str, Callable[[str], str]] = dict(UDFS)
COUNTRY_LIST: tuple[str, ...] = tuple(sorted(COUNTRIES))
MIN_DAY = datetime.date(1, 1, 1).toordinal()
MAX_DAY = datetime.date(9999, 12, 31).toordinal()




# ---- symbolic values ---------------------------------------------------------------------------


@attrs.frozen(eq=False)
class FD:
    """A value of a finite domain: `values[idx]` (enums, countries, and text functions of them)."""

    values: tuple[str, ...]
    idx: Any  # z3 Int


@attrs.frozen(eq=False)
class SList:
    """A record list: `length` elements out of the slots `elems`."""

    length: Any  # z3 Int
    elems: tuple[Any, ...]
    path: tuple[str, ...]


@attrs.frozen(eq=False)
class SStruct:
    type: t.StructT
    fields: dict[str, Any]
    present: dict[str, Any]  # optional field name -> z3 Bool


@attrs.frozen(eq=False)
class App:
    """An application of an uninterpreted text function, remembered for refinement."""

    func: str
    arg: Any  # z3 String
    term: Any  # z3 String


def is_z3(x: Any) -> bool:
    return isinstance(x, z3.ExprRef)


def _nary(mk: Any, xs: list[Any]) -> Any:
    """z3's n-ary and/or without the Python API's per-argument coercion (a measured hot spot)."""
    if all(isinstance(x, z3.BoolRef) for x in xs):
        ctx = xs[0].ctx
        arr = (z3.Ast * len(xs))(*[x.as_ast() for x in xs])
        return z3.BoolRef(mk(ctx.ref(), len(xs), arr), ctx)
    return (z3.And if mk is z3.Z3_mk_and else z3.Or)(*xs)


def zand(*xs: Any) -> Any:
    out = []
    for x in xs:
        if x is True:
            continue
        if x is False:
            return False
        out.append(x)
    if not out:
        return True
    return out[0] if len(out) == 1 else _nary(z3.Z3_mk_and, out)


def zor(*xs: Any) -> Any:
    out = []
    for x in xs:
        if x is False:
            continue
        if x is True:
            return True
        out.append(x)
    if not out:
        return False
    return out[0] if len(out) == 1 else _nary(z3.Z3_mk_or, out)


def znot(x: Any) -> Any:
    if isinstance(x, bool):
        return not x
    return z3.Not(x)


def zbool(x: Any) -> Any:
    """A Python bool or a z3 Bool, as a z3 Bool."""
    return z3.BoolVal(x) if isinstance(x, bool) else x


def zite(c: Any, a: Any, b: Any) -> Any:
    if c is True:
        return a
    if c is False:
        return b
    return z3.If(c, lift_num(a), lift_num(b))


def lift_num(x: Any) -> Any:
    if isinstance(x, bool):
        return z3.BoolVal(x)
    if isinstance(x, int):
        return z3.IntVal(x)
    if isinstance(x, Decimal):
        return z3.RealVal(str(x))
    if isinstance(x, datetime.date):
        return z3.IntVal(x.toordinal())
    return x


def lift_str(x: Any) -> Any:
    if isinstance(x, str):
        return z3.StringVal(x)
    if isinstance(x, FD):
        return fd_to_str(x)
    return x


def fd_to_str(x: FD) -> Any:
    out: Any = z3.StringVal(x.values[-1])
    for k in range(len(x.values) - 2, -1, -1):
        out = z3.If(x.idx == k, z3.StringVal(x.values[k]), out)
    return out


def fd_where(x: FD, pred: Callable[[str], bool]) -> Any:
    ks = [k for k, val in enumerate(x.values) if pred(val)]
    if len(ks) == len(x.values):
        return True
    return zor(*(x.idx == k for k in ks))


def znot_z(x: Any) -> Any:
    r = znot(x)
    return z3.BoolVal(r) if isinstance(r, bool) else r


@attrs.frozen(eq=False)
class DatedSet:
    """A set whose membership depends on the record's `as_of` date (member bases, issue 9):
    `members[i]` are its members from `dates[i-1]` (inclusive) to `dates[i]` (exclusive)."""

    values: frozenset[Any]
    dates: tuple[datetime.date, ...]
    members: tuple[frozenset[Any], ...]
    as_of: Any  # z3 Int (a day number) or None

    def windows(self) -> Iterator[tuple[datetime.date | None, datetime.date | None, frozenset[Any]]]:
        for i, ms in enumerate(self.members):
            yield (self.dates[i - 1] if i > 0 else None, self.dates[i] if i < len(self.dates) else None, ms)


@attrs.frozen(eq=False)
class SetApp:
    """`term in S` for a large constant string set `S`, as `pred(term)` with `pred` uninterpreted.

    Every real membership test is one interpretation of `pred`, so unsat stays a proof; a model
    that relies on a wrong value is refined (`Encoder.refinements`): first the real value at the
    model's argument, then, once the model claims a non-member is in, the exact disjunction."""

    pred: Any  # z3 FuncDecl String -> Bool
    members: tuple[str, ...]
    member_set: frozenset[str]
    arg: Any  # z3 String
    term: Any  # z3 Bool

