"""The abstract syntax tree of a .ecp file: small frozen classes, each with its source span.

The parser produces the tree with names unresolved and nothing typed. The checker
(`checker.py`) then rebuilds each expression it checked with its facts filled in: `type` on
every expression, `binding` on a name, `pattern` on a `like`, `screening` on `screen`/`matches`,
`binds` on a quantifier. That annotated tree is the IR the back-ends read (`checked.py`); the
facts take no part in equality, so a node still equals the text it was parsed from.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, NoReturn, Union, get_args

import attrs

from .semantics.operators import Unsupported
from .source import Span

if TYPE_CHECKING:
    from .checked import Binding, VarRef
    from .types import Type


def _fact() -> Any:
    """A fact the checker fills in (None in the parser's tree); not part of a node's equality."""
    return attrs.field(default=None, eq=False, repr=False)


# ---- expressions ---------------------------------------------------------------------------


@attrs.frozen
class Literal:
    """`"text"`, `5000`, `0.25`, `true`, `2026-03-01`."""

    value: str | int | Decimal | bool | datetime.date
    span: Span = attrs.field(eq=False, repr=False)
    type: Type | None = _fact()


@attrs.frozen
class Name:
    name: str
    span: Span = attrs.field(eq=False, repr=False)
    type: Type | None = _fact()
    binding: Binding | None = _fact()


@attrs.frozen
class Attr:
    """`obj.name`: a field of a nested type."""

    obj: Expr
    name: str
    span: Span = attrs.field(eq=False, repr=False)
    type: Type | None = _fact()


@attrs.frozen
class Has:
    """`has a.b`: true when every optional field along the path is present."""

    path: Expr
    span: Span = attrs.field(eq=False, repr=False)
    type: Type | None = _fact()


@attrs.frozen
class Not:
    operand: Expr
    span: Span = attrs.field(eq=False, repr=False)
    type: Type | None = _fact()


@attrs.frozen
class BoolOp:
    """An `and` or `or` chain, kept n-ary: guards and explanations read it left to right."""

    op: str
    operands: tuple[Expr, ...]
    span: Span = attrs.field(eq=False, repr=False)
    type: Type | None = _fact()


@attrs.frozen
class Compare:
    """`== != < <= > >= in not-in like not-like`: never chained."""

    op: str
    left: Expr
    right: Expr
    span: Span = attrs.field(eq=False, repr=False)
    type: Type | None = _fact()
    #: for `like`: the constant pattern, or the patterns a quantifier variable ranges over
    pattern: str | tuple[str, ...] | None = _fact()


@attrs.frozen
class Arith:
    op: str
    left: Expr
    right: Expr
    span: Span = attrs.field(eq=False, repr=False)
    type: Type | None = _fact()


@attrs.frozen
class Neg:
    operand: Expr
    span: Span = attrs.field(eq=False, repr=False)
    type: Type | None = _fact()


@attrs.frozen
class Call:
    func: str
    args: tuple[Expr, ...]
    span: Span = attrs.field(eq=False, repr=False)
    type: Type | None = _fact()
    #: for `screen`/`matches`: the screening list read (`screening.runtime.ScreeningInfo`)
    screening: Any = _fact()


@attrs.frozen
class Quant:
    """`any | all | count | sum (var in source where filter: body)`."""

    kind: str
    var: str
    source: Expr
    where: Expr | None
    body: Expr | None
    span: Span = attrs.field(eq=False, repr=False)
    var_span: Span = attrs.field(eq=False, repr=False)
    type: Type | None = _fact()
    #: the variable this quantifier binds: what a `Name`'s `binding` is when it reads it
    binds: VarRef | None = _fact()


@attrs.frozen
class SetLit:
    """`{a, b}`; in a `set` declaration each member may carry bases: `{"LY" basis UNSCR_1970}`."""

    elements: tuple[Expr, ...]
    span: Span = attrs.field(eq=False, repr=False)
    #: per element, the bases written after it (empty for most); same length as `elements`
    bases: tuple[tuple[Basis, ...], ...] = attrs.field(default=(), repr=False)
    type: Type | None = _fact()

    def bases_of(self, k: int) -> tuple[Basis, ...]:
        return self.bases[k] if k < len(self.bases) else ()


@attrs.frozen
class ListLit:
    elements: tuple[Expr, ...]
    span: Span = attrs.field(eq=False, repr=False)
    type: Type | None = _fact()


@attrs.frozen
class FieldInit:
    name: str
    value: Expr
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class RecordLit:
    fields: tuple[FieldInit, ...]
    span: Span = attrs.field(eq=False, repr=False)
    type: Type | None = _fact()


Expr = Union[Literal, Name, Attr, Has, Not, BoolOp, Compare, Arith, Neg, Call, Quant, SetLit, ListLit, RecordLit]

#: every kind of expression node, read off `Expr`: a class added there is a kind each back-end
#: must visit or refuse (tests/test_semantics_coverage.py)
EXPR_KINDS: tuple[type, ...] = get_args(Expr)


class _Visits(dict[type, Callable[..., Any]]):
    """A visitor's dispatch table: a class it was not built for (a subclass of a node, a node kind
    added later) is refused, never a `KeyError` or a fall-through."""

    def __missing__(self, cls: type) -> Callable[..., Any]:
        return ExprVisitor.refuse


class ExprVisitor:
    """The base of every expression back-end: one `visit_<Kind>` method per kind of `Expr`.

    `visit(e, *args)` calls the method for `e`'s class, looked up in a table built once per
    visitor class (no `isinstance` ladder, no name building per node). A kind the subclass has no
    method for must be listed in `refuses` with the reason; visiting it (or a class the table does
    not know) raises `Unsupported` naming the kind and its span.
    """

    #: node kind -> why this back-end cannot handle it (an explicit `Unsupported`)
    refuses: ClassVar[Mapping[type, str]] = {}
    #: node class -> the unbound method that handles it (`refuse` for the others)
    visits: ClassVar[dict[type, Callable[..., Any]]] = _Visits()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = _Visits()
        for kind in EXPR_KINDS:
            table[kind] = getattr(cls, f"visit_{kind.__name__}", ExprVisitor.refuse)
        cls.visits = table

    @classmethod
    def undeclared(cls, kinds: tuple[type, ...] = EXPR_KINDS) -> list[type]:
        """The kinds of `kinds` this visitor neither visits nor refuses explicitly."""
        return [k for k in kinds if not hasattr(cls, f"visit_{k.__name__}") and k not in cls.refuses]

    def visit(self, e: Expr, *args: Any) -> Any:
        return self.visits[e.__class__](self, e, *args)

    def refuse(self, e: Expr, *args: Any) -> NoReturn:
        kind = type(e).__name__
        why = self.refuses.get(type(e), "no visit method for it")
        raise Unsupported(f"the node kind `{kind}` ({why})", getattr(e, "span", None))


# ---- types ---------------------------------------------------------------------------------


@attrs.frozen
class NamedType:
    """`string`, `date`, `country`, ... or a declared type such as `party`."""

    name: str
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class ListType:
    elem: TypeExpr
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class SetType:
    elem: TypeExpr
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class EnumType:
    members: tuple[str, ...]
    span: Span = attrs.field(eq=False, repr=False)
    member_spans: tuple[Span, ...] = attrs.field(eq=False, repr=False)


@attrs.frozen
class TypeExpr:
    base: NamedType | ListType | SetType | EnumType
    optional: bool
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class FieldDecl:
    name: str
    type: TypeExpr
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class RecordDecl:
    name: str
    fields: tuple[FieldDecl, ...]
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class TypeDecl:
    name: str
    fields: tuple[FieldDecl, ...]
    span: Span = attrs.field(eq=False, repr=False)


# ---- declarations --------------------------------------------------------------------------


@attrs.frozen
class PolicyHeader:
    name: str
    version: str | None
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Combine:
    algorithm: str
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Default:
    outcome: str
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class AsOf:
    field: str
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Import:
    path: str
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Schema:
    decls: tuple[RecordDecl | TypeDecl, ...]
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Basis:
    """`basis ID ["pinpoint"] [from DATE] [until DATE]`: an instrument and when it applies.

    `name` is an instrument id, or (legacy) a kind such as `UNSC` followed by free text; which
    one is the checker's call, since only it knows the declared instruments.
    """

    name: str
    text: str | None
    valid_from: datetime.date | None
    until: datetime.date | None
    span: Span = attrs.field(eq=False, repr=False)
    name_span: Span | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class Scope:
    """`scope CATEGORY ["CC", ...]`: what an instrument singles out."""

    category: str
    values: tuple[str, ...]
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class InstrumentField:
    """One clause of an instrument: `kind NAME`, `citation "..."`, `adopted DATE`, ..."""

    key: str
    value: str | datetime.date
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Instrument:
    """`instrument ID { kind ... citation ... scope ... }`: a legal instrument, declared once."""

    id: str
    clauses: tuple[InstrumentField | Scope, ...]
    span: Span = attrs.field(eq=False, repr=False)
    id_span: Span = attrs.field(eq=False, repr=False)

    @property
    def fields(self) -> tuple[InstrumentField, ...]:
        return tuple(c for c in self.clauses if isinstance(c, InstrumentField))

    @property
    def scopes(self) -> tuple[Scope, ...]:
        return tuple(c for c in self.clauses if isinstance(c, Scope))


@attrs.frozen
class FileRef:
    path: str
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class SetDecl:
    name: str
    elem_type: TypeExpr
    source: Expr | FileRef
    bases: tuple[Basis, ...]
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class ScreeningRegime:
    """`regime "NAME" basis ID`: a hit on an entry listed under regime NAME cites instrument ID."""

    name: str
    basis: Basis
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class ScreeningDecl:
    """`screening NAME = file "PATH" [format F] [threshold T] [cleared file "PATH"] [regime "R" basis ID]*`."""

    name: str
    source: FileRef
    format: str | None
    threshold: Decimal | None
    cleared: FileRef | None
    span: Span = attrs.field(eq=False, repr=False)
    regimes: tuple[ScreeningRegime, ...] = ()


@attrs.frozen
class ConstDecl:
    name: str
    value: Expr
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class LetDecl:
    name: str
    value: Expr
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Ref:
    """A reference to a declared name (a rule id, a basis kind) where it is written."""

    name: str
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Clause:
    """One clause of a rule: `title`, `require`, `effective`, `expires`, `waives`, `when`, `basis`."""

    kind: str
    value: str | datetime.date | tuple[Ref, ...] | Expr | Basis
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Rule:
    id: str
    outcome: str
    clauses: tuple[Clause, ...]
    span: Span = attrs.field(eq=False, repr=False)
    id_span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Path:
    """A field path written in a declaration: `end_user.country`, `items.code`."""

    parts: tuple[str, ...]
    span: Span = attrs.field(eq=False, repr=False)

    def __str__(self) -> str:
        return ".".join(self.parts)


@attrs.frozen
class Invariant:
    on: Path | None
    message: str
    expr: Expr
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Protect:
    paths: tuple[Path, ...]
    types: tuple[Ref, ...]
    unless: tuple[Ref, ...]
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class OutcomeWhen:
    """`never OUTCOME when EXPR` or `always OUTCOME when EXPR`."""

    quantifier: str
    outcome: str
    expr: Expr
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Constraint:
    name: str
    body: Protect | OutcomeWhen
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Test:
    name: str
    given: Expr
    expect: str
    fired: tuple[Ref, ...] | None
    error_field: str | None
    span: Span = attrs.field(eq=False, repr=False)


Decl = Union[
    PolicyHeader, Combine, Default, AsOf, Import, Instrument, Schema, SetDecl, ScreeningDecl, ConstDecl, LetDecl, Rule,
    Invariant, Constraint, Test,
]


@attrs.frozen
class Module:
    """One parsed file."""

    decls: tuple[Decl, ...]
    span: Span = attrs.field(eq=False, repr=False)


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


def given_record(lit: Expr) -> Any:
    """A test's `given` literal as the record a caller would pass to `evaluate`."""
    if isinstance(lit, RecordLit):
        return {f.name: given_record(f.value) for f in lit.fields}
    if isinstance(lit, (ListLit, SetLit)):
        return [given_record(x) for x in lit.elements]
    if isinstance(lit, Literal):
        return lit.value
    raise ValueError(f"not a literal: {lit.span.text}")
