"""The abstract syntax tree of a .ecp file: small frozen classes, each with its source span.

The tree is what the parser produced and nothing more: names are unresolved and nothing is
typed. The checker (`checker.py`) reads it and records what it learns in side tables, so the
tree stays a faithful, immutable picture of the text.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Union

import attrs

from .source import Span, span_field

node = attrs.frozen

# ---- expressions ---------------------------------------------------------------------------


@node
class Literal:
    """`"text"`, `5000`, `0.25`, `true`, `2026-03-01`."""

    value: str | int | Decimal | bool | datetime.date
    span: Span = span_field()


@node
class Name:
    name: str
    span: Span = span_field()


@node
class Attr:
    """`obj.name`: a field of a nested type."""

    obj: Expr
    name: str
    span: Span = span_field()


@node
class Has:
    """`has a.b`: true when every optional field along the path is present."""

    path: Expr
    span: Span = span_field()


@node
class Not:
    operand: Expr
    span: Span = span_field()


@node
class BoolOp:
    """An `and` or `or` chain, kept n-ary: guards and explanations read it left to right."""

    op: str
    operands: tuple[Expr, ...]
    span: Span = span_field()


@node
class Compare:
    """`== != < <= > >= in not-in like not-like`: never chained."""

    op: str
    left: Expr
    right: Expr
    span: Span = span_field()


@node
class Arith:
    op: str
    left: Expr
    right: Expr
    span: Span = span_field()


@node
class Neg:
    operand: Expr
    span: Span = span_field()


@node
class Call:
    func: str
    args: tuple[Expr, ...]
    span: Span = span_field()


@node
class Quant:
    """`any | all | count | sum (var in source where filter: body)`."""

    kind: str
    var: str
    source: Expr
    where: Expr | None
    body: Expr | None
    span: Span = span_field()
    var_span: Span = span_field()


@node
class SetLit:
    elements: tuple[Expr, ...]
    span: Span = span_field()


@node
class ListLit:
    elements: tuple[Expr, ...]
    span: Span = span_field()


@node
class FieldInit:
    name: str
    value: Expr
    span: Span = span_field()


@node
class RecordLit:
    fields: tuple[FieldInit, ...]
    span: Span = span_field()


Expr = Union[Literal, Name, Attr, Has, Not, BoolOp, Compare, Arith, Neg, Call, Quant, SetLit, ListLit, RecordLit]

# ---- types ---------------------------------------------------------------------------------


@node
class NamedType:
    """`string`, `date`, `country`, ... or a declared type such as `party`."""

    name: str
    span: Span = span_field()


@node
class ListType:
    elem: TypeExpr
    span: Span = span_field()


@node
class SetType:
    elem: TypeExpr
    span: Span = span_field()


@node
class EnumType:
    members: tuple[str, ...]
    span: Span = span_field()
    member_spans: tuple[Span, ...] = span_field()


@node
class TypeExpr:
    base: NamedType | ListType | SetType | EnumType
    optional: bool
    span: Span = span_field()


@node
class FieldDecl:
    name: str
    type: TypeExpr
    span: Span = span_field()


@node
class RecordDecl:
    name: str
    fields: tuple[FieldDecl, ...]
    span: Span = span_field()


@node
class TypeDecl:
    name: str
    fields: tuple[FieldDecl, ...]
    span: Span = span_field()


# ---- declarations --------------------------------------------------------------------------


@node
class PolicyHeader:
    name: str
    version: str | None
    span: Span = span_field()


@node
class Combine:
    algorithm: str
    span: Span = span_field()


@node
class Default:
    outcome: str
    span: Span = span_field()


@node
class AsOf:
    field: str
    span: Span = span_field()


@node
class Import:
    path: str
    span: Span = span_field()


@node
class Schema:
    decls: tuple[RecordDecl | TypeDecl, ...]
    span: Span = span_field()


@node
class Basis:
    """`basis KIND "citation" [from DATE] [until DATE]`: a legal instrument and when it is in force."""

    kind: str
    citation: str
    valid_from: datetime.date | None
    until: datetime.date | None
    span: Span = span_field()


@node
class FileRef:
    path: str
    span: Span = span_field()


@node
class SetDecl:
    name: str
    elem_type: TypeExpr
    source: Expr | FileRef
    bases: tuple[Basis, ...]
    span: Span = span_field()


@node
class ConstDecl:
    name: str
    value: Expr
    span: Span = span_field()


@node
class LetDecl:
    name: str
    value: Expr
    span: Span = span_field()


@node
class Ref:
    """A reference to a declared name (a rule id, a basis kind) where it is written."""

    name: str
    span: Span = span_field()


@node
class Clause:
    """One clause of a rule: `title`, `require`, `effective`, `expires`, `waives`, `when`, `basis`."""

    kind: str
    value: str | datetime.date | tuple[Ref, ...] | Expr | Basis
    span: Span = span_field()


@node
class Rule:
    id: str
    outcome: str
    clauses: tuple[Clause, ...]
    span: Span = span_field()
    id_span: Span = span_field()


@node
class Path:
    """A field path written in a declaration: `end_user.country`, `items.code`."""

    parts: tuple[str, ...]
    span: Span = span_field()

    def __str__(self) -> str:
        return ".".join(self.parts)


@node
class Invariant:
    on: Path | None
    message: str
    expr: Expr
    span: Span = span_field()


@node
class Protect:
    paths: tuple[Path, ...]
    types: tuple[Ref, ...]
    unless: tuple[Ref, ...]
    span: Span = span_field()


@node
class OutcomeWhen:
    """`never OUTCOME when EXPR` or `always OUTCOME when EXPR`."""

    quantifier: str
    outcome: str
    expr: Expr
    span: Span = span_field()


@node
class Constraint:
    name: str
    body: Protect | OutcomeWhen
    span: Span = span_field()


@node
class Test:
    name: str
    given: Expr
    expect: str
    fired: tuple[Ref, ...] | None
    error_field: str | None
    span: Span = span_field()


Decl = Union[
    PolicyHeader, Combine, Default, AsOf, Import, Schema, SetDecl, ConstDecl, LetDecl, Rule,
    Invariant, Constraint, Test,
]


@node
class Module:
    """One parsed file."""

    decls: tuple[Decl, ...]
    span: Span = span_field()


def walk(expr: Expr) -> list[Expr]:
    """Every sub-expression of `expr`, itself first, in source order."""
    out: list[Expr] = []
    stack: list[Expr] = [expr]
    while stack:
        e = stack.pop()
        out.append(e)
        stack.extend(reversed(children(e)))
    return out


def children(e: Expr) -> tuple[Expr, ...]:
    if isinstance(e, (Attr,)):
        return (e.obj,)
    if isinstance(e, (Has,)):
        return (e.path,)
    if isinstance(e, (Not, Neg)):
        return (e.operand,)
    if isinstance(e, BoolOp):
        return e.operands
    if isinstance(e, (Compare, Arith)):
        return (e.left, e.right)
    if isinstance(e, Call):
        return e.args
    if isinstance(e, Quant):
        return tuple(x for x in (e.source, e.where, e.body) if x is not None)
    if isinstance(e, (SetLit, ListLit)):
        return e.elements
    if isinstance(e, RecordLit):
        return tuple(f.value for f in e.fields)
    return ()
