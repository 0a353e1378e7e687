"""What the checker produces: a checked policy and the facts it resolved, for every back-end.

Kept apart from the checker so that back-ends (compiler, interpreter, verifier, columnar engine)
depend on these small classes, not on the checking machinery.
"""

from __future__ import annotations

import datetime
from typing import Any, Union

import attrs

from . import nodes as n
from . import types as t
from .source import Span

OUTCOMES = ("deny", "license", "allow")
COMBINING = ("deny_overrides", "first_match")
QUANTIFIERS = ("any", "all", "count", "sum")
OPERATOR_WORDS = frozenset({"and", "or", "not", "in", "has", "like", "where", "true", "false"})
FUNCTIONS = ("normalize", "lower", "upper", "starts_with", "len", "days_between", "screen", "matches")

Value = Any  # a constant's run-time value


# ---- what the checker produces ---------------------------------------------------------------


@attrs.frozen
class SetInfo:
    name: str
    elem: t.Type
    values: frozenset[Value]
    bases: tuple[n.Basis, ...]
    span: Span


@attrs.frozen
class ConstInfo:
    name: str
    type: t.Type
    value: Value
    span: Span


@attrs.frozen
class LetInfo:
    name: str
    type: t.Type
    expr: n.Expr
    index: int
    span: Span


@attrs.frozen
class FieldRef:
    """A top-level record field read by its bare name."""

    field: t.Field
    index: int


@attrs.frozen
class VarRef:
    """A quantifier variable; `quant` is the quantifier that binds it."""

    quant: n.Quant
    type: t.Type


Binding = Union[FieldRef, VarRef, LetInfo, ConstInfo, SetInfo]


@attrs.frozen
class RuleInfo:
    index: int
    id: str
    outcome: str
    title: str | None
    bases: tuple[n.Basis, ...]
    inherited: tuple[n.Basis, ...]
    requires: tuple[str, ...]
    effective: datetime.date | None
    expires: datetime.date | None
    waives: tuple[str, ...]
    when: n.Expr
    span: Span

    @property
    def all_bases(self) -> tuple[n.Basis, ...]:
        return self.bases + self.inherited


@attrs.frozen
class InvariantInfo:
    on: tuple[str, ...] | None
    message: str
    expr: n.Expr
    #: when the invariant is `all(x in LIST: ...)` and `on` goes through LIST, how many parts of
    #: `on` name the list: the error inserts the failing element's index after them
    index_after: int | None
    span: Span


@attrs.frozen
class Checked:
    """A policy that passed the checker: everything the back-ends need, resolved."""

    name: str
    version: str | None
    combine: str
    default: str
    as_of: str | None
    record: t.StructT | None
    structs: dict[str, t.StructT]
    sets: dict[str, SetInfo]
    consts: dict[str, ConstInfo]
    lets: dict[str, LetInfo]
    rules: tuple[RuleInfo, ...]
    invariants: tuple[InvariantInfo, ...]
    constraints: tuple[n.Constraint, ...]
    tests: tuple[n.Test, ...]
    types: dict[int, t.Type]
    bindings: dict[int, Binding]
    #: for `like`: the constant pattern, or the tuple of patterns a quantifier variable ranges over
    patterns: dict[int, str | tuple[str, ...]]
    #: nodes kept alive so the id()-keyed tables above stay valid
    module: n.Module
    imports: tuple[n.Module, ...]
    #: `screening` declarations by name, and the list each `screen`/`matches` call reads
    #: (values are `ecrules.screening.runtime.ScreeningInfo`)
    screenings: dict[str, Any] = attrs.field(factory=dict)
    screen_calls: dict[int, Any] = attrs.field(factory=dict)

    def type_of(self, e: n.Expr) -> t.Type:
        return self.types[id(e)]

    def field_of(self, e: n.Expr) -> t.Field | None:
        """The schema field a path expression reads (`note`, `i.origin`), if it reads one."""
        return field_of(e, self.types, self.bindings)

    def optional_reads(self, path: n.Expr) -> list[n.Expr]:
        """What `has path` checks: each prefix of the path that reads an optional field."""
        return [p for p in path_prefixes(path) if (f := self.field_of(p)) is not None and f.optional]

    def rule(self, rule_id: str) -> RuleInfo:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


def path_prefixes(path: n.Expr) -> list[n.Expr]:
    """`a.b.c` as the reads `a`, `a.b`, `a.b.c`, outermost first."""
    chain: list[n.Expr] = []
    cur: n.Expr = path
    while isinstance(cur, n.Attr):
        chain.append(cur)
        cur = cur.obj
    chain.append(cur)
    return chain[::-1]


def field_of(e: n.Expr, types: dict[int, t.Type], bindings: dict[int, Binding]) -> t.Field | None:
    if isinstance(e, n.Name):
        b = bindings.get(id(e))
        return b.field if isinstance(b, FieldRef) else None
    if isinstance(e, n.Attr):
        ot = types.get(id(e.obj))
        return ot.fields.get(e.name) if isinstance(ot, t.StructT) else None
    return None
