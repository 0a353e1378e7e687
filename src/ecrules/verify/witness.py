"""Models to records: the witness a z3 model describes, and the preferences that make a model
easy to turn into a real record (finite decimals, readable text)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import z3  # type: ignore[import-untyped]

from .. import types as t
from .. import values as v
from .encode import Encoder
from .symbolic import FD, SList, SStruct


class Unrepresentable(Exception):
    """A model value no record can hold (a real with no finite decimal form, ...)."""


def exact_decimal(q: Fraction) -> Decimal:
    """`q` as an exact decimal; `Unrepresentable` when its denominator has a factor besides 2 and 5."""
    den = q.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    if den != 1:
        raise Unrepresentable(f"{q} is not a finite decimal")
    places = 0
    while (q * 10**places).denominator != 1:
        places += 1
    return Decimal((q * 10**places).numerator).scaleb(-places, v.EXACT)


def value(model: z3.ModelRef, sym: Any, typ: t.Type) -> Any:
    """The JSON-ready value of a symbolic leaf in `model` (`Unrepresentable` if none)."""
    if isinstance(sym, FD):
        return sym.values[model.eval(sym.idx, model_completion=True).as_long()]
    if isinstance(sym, SList):
        length = model.eval(sym.length, model_completion=True).as_long()
        assert isinstance(typ, (t.ListT, t.SetT))
        return [value(model, el, typ.elem) for el in sym.elems[:length]]
    if isinstance(sym, SStruct):
        out: dict[str, Any] = {}
        for fname, f in sym.type.fields.items():
            if f.optional and not z3.is_true(model.eval(sym.present[fname], model_completion=True)):
                continue
            out[fname] = value(model, sym.fields[fname], f.type)
        return out
    val = model.eval(sym, model_completion=True)
    if typ == t.DATE:
        return datetime.date.fromordinal(val.as_long()).isoformat()
    if typ == t.INT:
        return val.as_long()
    if typ == t.BOOL:
        return z3.is_true(val)
    if typ == t.NUMBER:
        if not z3.is_rational_value(val):
            raise Unrepresentable("a number with no exact decimal form")
        return exact_decimal(Fraction(val.numerator_as_long(), val.denominator_as_long()))
    if typ == t.STRING:
        return str(val.as_string())
    raise Unrepresentable(f"cannot read a `{typ}` from the model")


def record_of(model: z3.ModelRef, rec: SStruct) -> dict[str, Any]:
    """The record `model` gives the symbolic record `rec` (built by `Encoder.record`)."""
    out = value(model, rec, rec.type)
    assert isinstance(out, dict)
    return out


def preferences(enc: Encoder, places: int = 4) -> list[Any]:
    """Extra constraints that make models easy to turn into real records."""
    prefs: list[Any] = []
    scale = 10**places
    for x in enc.numbers:
        k = z3.Int(enc.fresh("cents"))
        prefs.append(x * scale == z3.ToReal(k))
    safe_lower = z3.Star(z3.Union(z3.Range("a", "z"), z3.Range("0", "9"), z3.Re(z3.StringVal(" ")),
                                  z3.Re(z3.StringVal("-")), z3.Re(z3.StringVal("."))))
    safe_upper = z3.Star(z3.Union(z3.Range("A", "Z"), z3.Range("0", "9"), z3.Re(z3.StringVal(" ")),
                                  z3.Re(z3.StringVal("-")), z3.Re(z3.StringVal("."))))
    for app in enc.apps:
        prefs.append(app.arg == app.term)
        prefs.append(z3.InRe(app.arg, safe_upper if app.func == "upper" else safe_lower))
    for info, _, args, _ in enc.screen_apps:   # listed names make witnesses that hit
        entries = info.screening_list.entries
        listed = [e for kind in ("individual", "entity")
                  for e in [x for x in entries if x.type == kind and x.names[0].name.isascii()][:10]]
        individual = z3.StringVal("individual")
        free_type = not z3.is_string_value(args[1])

        def typed(e: Any) -> Any:
            if not free_type:
                return z3.BoolVal(True)
            return args[1] == individual if e.type == "individual" else args[1] != individual
        if listed:
            prefs.append(z3.Or(*(z3.And(args[0] == z3.StringVal(e.names[0].name), typed(e)) for e in listed)))
    printable = z3.Star(z3.Range(" ", "~"))
    for s in enc.strings:
        prefs.append(z3.InRe(s, printable))
    return prefs


def niceties(enc: Encoder) -> list[Any]:
    """Further preferences for witnesses a reader takes in at a glance."""
    lo, hi = datetime.date(2000, 1, 1).toordinal(), datetime.date(2035, 12, 31).toordinal()
    out: list[Any] = [z3.And(d >= lo, d <= hi) for d in enc.dates]
    out += [length <= 1 for length in enc.lengths]
    out += [x >= 0 for x in enc.numbers]
    return out


def member_guesses(enc: Encoder, model: z3.ModelRef, pick: int) -> list[Any]:
    """For each large-set membership the model claims but the real set denies, a guess that
    the argument is the set's member number `pick` (mod its size): a cheap way to a real
    member, where the exact disjunction is slow. Only ever used to find witnesses."""
    out: list[Any] = []
    for sa in enc.set_apps:
        if not sa.members or not z3.is_true(model.eval(sa.term, model_completion=True)):
            continue
        arg = model.eval(sa.arg, model_completion=True)
        if z3.is_string_value(arg) and str(arg.as_string()) in sa.member_set:
            continue
        m = sa.members[(pick * (len(sa.members) // 3 + 1)) % len(sa.members)]
        out.append(sa.arg == z3.StringVal(m))
    return out
