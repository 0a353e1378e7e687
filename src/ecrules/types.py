"""The types the checker assigns: primitives, enums, lists, sets and declared structs."""

from __future__ import annotations

from typing import Mapping, Union

import attrs

from .frozen import readonly

PRIMITIVES = ("string", "int", "number", "bool", "date", "country")


@attrs.frozen
class Prim:
    name: str

    def __str__(self) -> str:
        return self.name


@attrs.frozen
class EnumT:
    members: tuple[str, ...]

    def __str__(self) -> str:
        return "enum { " + ", ".join(self.members) + " }"


@attrs.frozen
class ListT:
    elem: Type

    def __str__(self) -> str:
        return f"list<{self.elem}>"


@attrs.frozen
class SetT:
    elem: Type

    def __str__(self) -> str:
        return f"set<{self.elem}>"


@attrs.frozen
class Field:
    name: str
    type: Type
    optional: bool


@attrs.frozen(eq=False)
class StructT:
    """A declared `type` or the `record`; compared by identity (nominal typing).

    `fields` is read-only; the checker fills the dict behind it after declaring every type, so
    that types may refer to each other."""

    name: str
    fields: Mapping[str, Field] = attrs.field(factory=dict, converter=readonly)

    def __str__(self) -> str:
        return self.name


@attrs.frozen
class AnyT:
    """The element type of an empty literal: compatible with everything."""

    def __str__(self) -> str:
        return "any"


Type = Union[Prim, EnumT, ListT, SetT, StructT, AnyT]

STRING = Prim("string")
INT = Prim("int")
NUMBER = Prim("number")
BOOL = Prim("bool")
DATE = Prim("date")
COUNTRY = Prim("country")
ANY = AnyT()


def is_numeric(t: Type) -> bool:
    return t in (INT, NUMBER) or isinstance(t, AnyT)


def is_textual(t: Type) -> bool:
    """Strings, country codes and enum members are all text at run time."""
    return t in (STRING, COUNTRY) or isinstance(t, (EnumT, AnyT))


def comparable(a: Type, b: Type) -> bool:
    """Whether `==` between values of these types is meaningful."""
    if isinstance(a, AnyT) or isinstance(b, AnyT):
        return True
    if is_numeric(a) and is_numeric(b):
        return True
    if is_textual(a) and is_textual(b):
        return True
    if isinstance(a, (ListT, SetT)) and type(a) is type(b):
        return comparable(a.elem, b.elem)
    return a == b


def join(a: Type, b: Type) -> Type | None:
    """The type of a literal holding values of both types, if there is one."""
    if isinstance(a, AnyT):
        return b
    if isinstance(b, AnyT):
        return a
    if a == b:
        return a
    if is_numeric(a) and is_numeric(b):
        return NUMBER
    if is_textual(a) and is_textual(b):
        return a if isinstance(a, EnumT) else b if isinstance(b, EnumT) else STRING
    return None
