"""Record errors and their messages, and a plain recursive validator for the interpreter.

The compiled evaluator generates its own specialised validator (`compiler.py`); this one walks
the schema at run time. Both raise `RecordError` with the messages below, so the two engines can
be compared decision for decision.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from . import types as t
from .countries import COUNTRIES
from .literals import NUMBER_RANGE, decimal_in_range, parse_date
from .values import to_decimal


class RecordError(Exception):
    """A record that does not fit the schema or breaks an invariant: names the field path."""

    def __init__(self, message: str, *path: str | int):
        super().__init__(message)
        self.message = message
        self.parts: list[str | int] = list(path)

    def within(self, *prefix: str | int) -> RecordError:
        self.parts[:0] = prefix
        return self

    @property
    def field(self) -> str | None:
        return render_path(self.parts) if self.parts else None


class Struct(dict):  # type: ignore[type-arg]
    """A validated nested value: a dict that can also be a member of a `set<T>` (hashable)."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self.items()))


def render_path(parts: list[str | int] | tuple[str | int, ...]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


# -- messages: one wording for every back-end
MISSING = "is required"
NULL = "is required and must not be null"
NOT_OBJECT = "must be an object"
NOT_LIST = "must be a list"
NOT_STRING = "must be a string"
NOT_BOOL = "must be true or false"
NOT_DATE = "must be a date written YYYY-MM-DD"


def not_int(v: object) -> str:
    return "must be an integer" + (", not a string" if isinstance(v, str) else "")


def not_number(v: object) -> str:
    if isinstance(v, Decimal) and v.is_finite():
        return f"`{v:.3E}` is out of range: {NUMBER_RANGE}"
    if isinstance(v, str):
        return "must be a number, not a string"
    if isinstance(v, bool):
        return "must be a number, not true or false"
    return "must be a finite number"


def not_country(v: object) -> str:
    return f"`{v}` is not a country code (ISO 3166-1 alpha-2)" if isinstance(v, str) else "must be a country code"


def not_member(v: object, members: tuple[str, ...]) -> str:
    return f"`{v}` is not one of " + ", ".join(members)


def number(v: Any) -> int | Decimal:
    """Check and convert a number; raises `RecordError` without a path (the caller adds it)."""
    tv = type(v)
    if tv is int or tv is Decimal and decimal_in_range(v):
        return v  # type: ignore[no-any-return]
    if tv is float and math.isfinite(v):
        return to_decimal(v)
    if isinstance(v, bool) or not isinstance(v, (int, Decimal, float)):
        raise RecordError(not_number(v))
    if isinstance(v, int):
        return int(v)
    if isinstance(v, Decimal) and decimal_in_range(v):
        return v
    raise RecordError(not_number(v))


def integer(v: Any) -> int:
    if type(v) is int:
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return int(v)
    raise RecordError(not_int(v))


def string(v: Any) -> str:
    if isinstance(v, str):
        return v
    raise RecordError(NOT_STRING)


def date(v: Any) -> datetime.date:
    if type(v) is datetime.date:
        return v
    d = parse_date(v) if isinstance(v, str) else None
    if d is None:
        raise RecordError(NOT_DATE)
    return d


def country(v: Any) -> str:
    if isinstance(v, str) and v in COUNTRIES:
        return v
    raise RecordError(not_country(v))


def boolean(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    raise RecordError(NOT_BOOL)


def enum(v: Any, members: tuple[str, ...]) -> str:
    if isinstance(v, str) and v in members:
        return v
    if not isinstance(v, str):
        raise RecordError(NOT_STRING)
    raise RecordError(not_member(v, members))


def sequence(v: Any) -> list[Any] | tuple[Any, ...]:
    if isinstance(v, (list, tuple)):
        return v
    if isinstance(v, (set, frozenset)):
        return list(v)
    raise RecordError(NOT_LIST)


def validate(value: Any, typ: t.Type) -> Any:
    """Convert one value to its run-time form: structs become dicts, lists tuples, sets frozensets."""
    if isinstance(typ, t.Prim):
        return _PRIM[typ.name](value)
    if isinstance(typ, t.EnumT):
        return enum(value, typ.members)
    if isinstance(typ, (t.ListT, t.SetT)):
        items = sequence(value)
        out = []
        for k, item in enumerate(items):
            if item is None:
                raise RecordError(NULL, k)
            try:
                out.append(validate(item, typ.elem))
            except RecordError as exc:
                raise exc.within(k)
        return tuple(out) if isinstance(typ, t.ListT) else frozenset(out)
    if isinstance(typ, t.StructT):
        if not isinstance(value, Mapping):
            raise RecordError(NOT_OBJECT)
        obj: dict[str, Any] = Struct()
        for name, f in typ.fields.items():
            raw = value.get(name)
            if raw is None:
                if f.optional:
                    obj[name] = None
                    continue
                raise RecordError(MISSING if name not in value else NULL, name)
            try:
                obj[name] = validate(raw, f.type)
            except RecordError as exc:
                raise exc.within(name)
        return obj
    return value


def id_value(raw: Any, typ: t.Type) -> Any:
    """A valid record's id in its one printed form (`decision.json_id`): a struct an object in
    schema order, a set a sorted list. Both engines call this, so their ids cannot differ."""
    from .decision import json_id

    return json_id(validate(raw, typ))


_PRIM = {
    "string": string,
    "int": integer,
    "number": number,
    "bool": boolean,
    "date": date,
    "country": country,
}
