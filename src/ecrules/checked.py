"""What the checker produces: a checked policy and the facts it resolved, for every back-end.

Kept apart from the checker so that back-ends (compiler, interpreter, verifier, columnar engine)
depend on these small classes, not on the checking machinery.
"""

from __future__ import annotations

import bisect
import datetime
from functools import cached_property
from typing import Any, Mapping, Protocol, Union

import attrs

from . import nodes as n
from . import types as t
from .decision import Decision
from .frozen import readonly
from .semantics import operators
from .semantics.combining import ALGORITHMS, ORDER, in_force
from .source import Span

OUTCOMES = ORDER  # defined once, in semantics.combining
COMBINING = ALGORITHMS
QUANTIFIERS = tuple(q.name for q in operators.QUANTIFIERS)
OPERATOR_WORDS = frozenset({"and", "or", "not", "in", "has", "like", "where", "true", "false"})
FUNCTIONS = tuple(f.name for f in operators.FUNCTIONS)

Value = Any  # a constant's run-time value


#: instrument kinds of the catalogue; `protect ... unless basis` names kinds or instrument ids
INSTRUMENT_KINDS = ("UNSC", "TREATY", "REGIME", "LAW", "REGULATION", "ANNOUNCEMENT")
#: kind names a legacy free-text basis (`basis UNSC "S/RES/1718 (2006)"`) was written with
LEGACY_KINDS = INSTRUMENT_KINDS + ("ECL", "NPT", "BWC", "CWC", "NSG", "AG", "MTCR", "WA", "EU", "EAR")
SCOPE_CATEGORIES = ("destination", "nationality", "party", "item", "end_use")


# ---- what the checker produces ---------------------------------------------------------------


@attrs.frozen
class ScopeInfo:
    """What an instrument singles out: a category, and the country codes when it lists them."""

    category: str
    values: tuple[str, ...]


@attrs.frozen
class InstrumentInfo:
    id: str
    kind: str
    citation: str
    title: str | None
    adopted: datetime.date | None
    #: when it took effect (`in_force`, else `adopted`) and when it lapses (exclusive)
    in_force: datetime.date | None
    lapses: datetime.date | None
    url: str | None
    source: str | None
    scopes: tuple[ScopeInfo, ...]
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class BasisInfo:
    """A resolved basis: an instrument with a pinpoint, or (legacy) a kind and free text.

    `valid_from`/`until` are the window in which it applies: the dates written on the basis
    narrowed by the instrument's own (`in_force`, `lapses`).
    """

    instrument: InstrumentInfo | None
    kind: str
    citation: str
    pinpoint: str | None
    valid_from: datetime.date | None
    until: datetime.date | None
    span: Span = attrs.field(eq=False, repr=False)

    @property
    def legacy(self) -> bool:
        return self.instrument is None

    @property
    def instrument_id(self) -> str | None:
        return self.instrument.id if self.instrument is not None else None

    def in_force(self, as_of: datetime.date | None) -> bool:
        return in_force(self.valid_from, self.until, as_of)


@attrs.frozen
class SetInfo:
    """A named set. `values` is every member it ever has; `on(date)` the members on a date.

    A member carries its own bases (`member_bases`) and the set-level ones (`bases`). A member
    whose bases are all instrument bases, none in force on the date, is not a member then; a
    member with no basis, or with a legacy one, always is.
    """

    name: str
    elem: t.Type
    values: frozenset[Value]
    bases: tuple[BasisInfo, ...]
    span: Span
    member_bases: Mapping[Value, tuple[BasisInfo, ...]] = attrs.field(factory=dict, converter=readonly, eq=False,
                                                                  repr=False)

    def bases_of(self, value: Value) -> tuple[BasisInfo, ...]:
        """A member's own bases, then the set-level ones (every member has those)."""
        return self.member_bases.get(value, ()) + self.bases

    def is_member(self, value: Value, as_of: datetime.date | None) -> bool:
        if value not in self.values:
            return False
        bs = self.bases_of(value)
        return not bs or any(b.legacy or b.in_force(as_of) for b in bs)

    @property
    def has_bases(self) -> bool:
        return bool(self.bases) or bool(self.member_bases)

    @cached_property
    def timeline(self) -> tuple[tuple[datetime.date, ...], tuple[frozenset[Value], ...]]:
        """Dates where membership changes, and the members before, between and after them:
        the members on `d` are `sets[bisect_right(dates, d)]`."""
        dates = sorted({d for v in self.values for b in self.bases_of(v) if not b.legacy
                        for d in (b.valid_from, b.until) if d is not None})
        starts: list[datetime.date | None] = [None, *dates]
        sets = tuple(frozenset(v for v in self.values if self.is_member(v, day if day is not None else _DAWN))
                     for day in starts)
        return tuple(dates), sets

    @property
    def dated(self) -> bool:
        """Whether membership depends on the date."""
        return len(set(self.timeline[1])) > 1

    def on(self, as_of: datetime.date | None) -> frozenset[Value]:
        if as_of is None:
            return self.values
        dates, sets = self.timeline
        return sets[bisect.bisect_right(dates, as_of)]


_DAWN = datetime.date.min


@attrs.frozen
class Site:
    """A membership test `LEFT in SET` that, when the rule matches, names the members it used.

    `quants` are the quantifiers around it, outermost first: their variables range over what
    the record holds when the members are looked up.
    """

    compare: n.Compare
    set: str
    quants: tuple[n.Quant, ...]


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


@attrs.frozen(eq=False)
class VarRef:
    """A quantifier variable: one object per quantifier (its `binds`), carried by every name that
    reads it. Compared by identity, so two quantifiers over the same name are two variables, and
    back-ends key what a variable holds by it (`Env.vars`)."""

    name: str
    type: t.Type


Binding = Union[FieldRef, VarRef, LetInfo, ConstInfo, SetInfo]


@attrs.frozen
class RuleInfo:
    index: int
    id: str
    outcome: str
    title: str | None
    bases: tuple[BasisInfo, ...]
    #: set-level bases of the sets the condition reads (what verify used to count as the rule's)
    inherited: tuple[BasisInfo, ...]
    requires: tuple[str, ...]
    effective: datetime.date | None
    expires: datetime.date | None
    waives: tuple[str, ...]
    when: n.Expr
    span: Span
    #: membership tests whose members a decision cites, in source order
    sites: tuple[Site, ...] = ()

    @property
    def all_bases(self) -> tuple[BasisInfo, ...]:
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
    structs: Mapping[str, t.StructT] = attrs.field(converter=readonly)
    sets: Mapping[str, SetInfo] = attrs.field(converter=readonly)
    instruments: Mapping[str, InstrumentInfo] = attrs.field(converter=readonly)
    consts: Mapping[str, ConstInfo] = attrs.field(converter=readonly)
    lets: Mapping[str, LetInfo] = attrs.field(converter=readonly)
    rules: tuple[RuleInfo, ...]
    invariants: tuple[InvariantInfo, ...]
    constraints: tuple[n.Constraint, ...]
    tests: tuple[n.Test, ...]
    #: the parsed files as written, for tools that report on declarations by their spans
    #: (coverage: set members, waivers); the expressions above are their annotated copies
    module: n.Module
    imports: tuple[n.Module, ...]
    #: `screening` declarations by name (values are `ecrules.screening.runtime.ScreeningInfo`)
    screenings: Mapping[str, Any] = attrs.field(factory=dict, converter=readonly)

    def type_of(self, e: n.Expr) -> t.Type:
        """An expression's type (the checker typed every expression the back-ends see)."""
        assert e.type is not None, f"untyped node {e!r}"
        return e.type

    def field_of(self, e: n.Expr) -> t.Field | None:
        """The schema field a path expression reads (`note`, `i.origin`), if it reads one."""
        return field_of(e)

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


def field_of(e: n.Expr) -> t.Field | None:
    """The schema field an annotated path expression reads, if it reads one."""
    if isinstance(e, n.Name):
        b = e.binding
        return b.field if isinstance(b, FieldRef) else None
    if isinstance(e, n.Attr):
        ot = e.obj.type
        return ot.fields.get(e.name) if isinstance(ot, t.StructT) else None
    return None


def var_of(q: n.Quant) -> VarRef:
    """The variable a checked quantifier binds."""
    assert q.binds is not None, f"unchecked quantifier {q!r}"
    return q.binds


class Env:
    """What a condition can see while a back-end walks it: the record (values for the interpreter,
    symbolic ones for verify), what each quantifier variable holds, the lets computed so far."""

    __slots__ = ("record", "vars", "lets")

    def __init__(self, record: Any, lets: dict[str, Any] | None = None):
        self.record = record
        self.vars: dict[VarRef, Any] = {}
        self.lets: dict[str, Any] = lets if lets is not None else {}


class Program(Protocol):
    """What a back-end may ask of a loaded policy (an `ecrules.Policy` is one): its checked form
    and the reference decision of a record. A protocol, so that back-ends need not import
    `policy.py`, which imports them."""

    @property
    def checked(self) -> Checked: ...

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str | None: ...

    def evaluate(self, record: Mapping[str, Any], *, position: int = 1, provenance: bool = False) -> Decision: ...
