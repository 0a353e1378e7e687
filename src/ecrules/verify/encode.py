"""The checked AST as z3 formulas: records as symbolic values of the schema.

The encoding is an *over-approximation* that is exact wherever it can be:

- `string` fields are z3 strings (sequence theory): `==`, `in` a constant set, `like` (as a
  regular expression), `starts_with` and `len` are exact. `normalize`, `lower` and `upper` are
  uninterpreted functions (every real text function is one of their interpretations), with a few
  facts that hold of the real ones; a model that relies on a wrong interpretation is caught when
  its witness is run through the evaluator, and refined (`Refiner`).
- `enum` and `country` values are finite domains (an index into the members), so every text
  function and every pattern on them is computed exactly, member by member.
- `number` is a z3 real (a superset of the finite decimals), `int` a z3 integer, `date` an
  integer day number; `+ - *` are exact. Division is not encoded (`Unsupported`).
- A list is a length and a bounded number of element slots; see `Bounds` for the bound.
- Lets are inlined (once per record), constants and sets are Python values, `has` reads presence
  booleans, rule validity dates and basis dates compare the `as_of` field.

So unsat is a proof (for lists up to the bound), and sat is a *candidate*: `witness()` turns the
model into a record, and callers confirm it with the real evaluator before showing it.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable, Iterable, Iterator

import attrs
import z3  # type: ignore[import-untyped]

from .. import nodes as n
from .. import types as t
from .. import values as v
from ..checker import Checked, ConstInfo, FieldRef, LetInfo, RuleInfo, SetInfo, VarRef
from ..countries import COUNTRIES
from .deadline import Deadline

TEXT_FUNCS: dict[str, Callable[[str], str]] = {"normalize": v.normalize, "lower": v.lower, "upper": v.upper}
COUNTRY_LIST: tuple[str, ...] = tuple(sorted(COUNTRIES))
MIN_DAY = datetime.date(1, 1, 1).toordinal()
MAX_DAY = datetime.date(9999, 12, 31).toordinal()
DEFAULT_CAP = 12
#: witness needs saturate here (far above any cap): nested quantifiers multiply them, and 40
#: levels made integers of astronomic size that no deadline check interrupted
SATURATE = 1 << 32
#: add facts about the text functions' results (no upper case, no double space) as constraints;
#: sound either way, but measured to slow z3's string solver tenfold, so left to refinement
FACTS = False
#: string sets larger than this are encoded as one uninterpreted predicate, made exact lazily
LARGE_SET = 32


class Unsupported(Exception):
    """A construct the encoding cannot represent faithfully: the verdict becomes `unknown`."""


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


# ---- `like` as a z3 regular expression -----------------------------------------------------------


_PATTERNS: dict[str, Any] = {}


def pattern_re(pattern: str) -> Any:
    """A `like` glob as a z3 regex (parsed by `values.parse_pattern`, like every back-end);
    built once per pattern (a policy applies the same patterns in every rule and invariant)."""
    hit = _PATTERNS.get(pattern)
    if hit is None:
        hit = _pattern_re(pattern)
        if len(_PATTERNS) < 4096:
            _PATTERNS[pattern] = hit
    return hit


def _pattern_re(pattern: str) -> Any:
    anychar = z3.AllChar(z3.ReSort(z3.StringSort()))
    parts: list[Any] = []
    for g in v.parse_pattern(pattern):
        if g.kind == "any":
            parts.append(z3.Star(anychar))
        elif g.kind == "char":
            parts.append(z3.Re(z3.StringVal(g.char)))
        else:
            members = [z3.Re(z3.StringVal(lo)) if lo == hi else z3.Range(lo, hi) for lo, hi in g.ranges]
            cls = members[0] if len(members) == 1 else z3.Union(*members)
            parts.append(z3.Intersect(anychar, z3.Complement(cls)) if g.negate else cls)
    if not parts:
        return z3.Re(z3.StringVal(""))
    return parts[0] if len(parts) == 1 else z3.Concat(*parts)


# ---- list bounds ---------------------------------------------------------------------------------


@attrs.define
class Bounds:
    """How many element slots each list gets, and whether that bound is complete.

    Complete means: if any record (or pair) satisfies the query, one whose lists are no longer
    than the bound does too (docs/constraints.md, "The bound"). Each list path gets the sum of
    its *witness needs*: 1 for each `any`/`all`/`in` occurrence that may have to keep an element
    (an `any` that must stay true, an `all` that must stay false), `c + 1` for `len(L)` or
    `count(...)` compared with a constant `c`. A `sum`, or a `len`/`count` compared with something
    else, leaves the bound incomplete: it is then a stated bound, not a small-model theorem.
    """

    sizes: dict[tuple[str, ...], int] = attrs.field(factory=dict)
    incomplete: set[tuple[str, ...]] = attrs.field(factory=set)
    cap: int = DEFAULT_CAP

    def size(self, path: tuple[str, ...]) -> int:
        return self.sizes.get(path, 0)

    @property
    def complete(self) -> bool:
        return not self.incomplete

    @property
    def max(self) -> int:
        return max(self.sizes.values(), default=0)

    def describe(self) -> str:
        if not self.sizes or self.max == 0:
            return "exact (no list is read)"
        parts = ", ".join(f"{'.'.join(p)} <= {k}" for p, k in sorted(self.sizes.items()) if k)
        if self.complete:
            return f"complete: a witness needs at most {parts} elements"
        lists = ", ".join(".".join(p) for p in sorted(self.incomplete))
        return f"for lists of up to {parts} elements (sum or count over {lists}: no small-model theorem)"

    def to_dict(self) -> dict[str, Any]:
        return {"lists": {".".join(p): k for p, k in sorted(self.sizes.items())},
                "complete": self.complete, "incomplete": [".".join(p) for p in sorted(self.incomplete)]}


class BoundCounter:
    """Counts witness needs per list path over a set of expressions (see `Bounds`)."""

    def __init__(self, c: Checked):
        self.c = c
        self.need: dict[tuple[str, ...], int] = {}
        self.incomplete: set[tuple[str, ...]] = set()
        self._lets_seen: set[tuple[int, str]] = set()

    def add(self, e: n.Expr, polarity: int, copy: int = 0, factor: int = 1) -> None:
        """`polarity`: +1 asserted true, -1 asserted false, 0 both (mixed)."""
        self._walk(e, polarity, copy, factor, {})

    def _list_path(self, e: n.Expr, scope: dict[int, tuple[str, ...]]) -> tuple[str, ...] | None:
        if isinstance(e, n.Name):
            b = self.c.bindings.get(id(e))
            if isinstance(b, FieldRef) and isinstance(b.field.type, (t.ListT, t.SetT)):
                return (e.name,)
            return None
        if isinstance(e, n.Attr):
            head = self._elem_path(e.obj, scope)
            if head is not None and isinstance(self.c.types.get(id(e)), (t.ListT, t.SetT)):
                return head + (e.name,)
        return None

    def _elem_path(self, e: n.Expr, scope: dict[int, tuple[str, ...]]) -> tuple[str, ...] | None:
        if isinstance(e, n.Name):
            b = self.c.bindings.get(id(e))
            if isinstance(b, VarRef):
                return scope.get(id(b.quant))
            if isinstance(b, FieldRef):
                return (e.name,)
            return None
        if isinstance(e, n.Attr):
            head = self._elem_path(e.obj, scope)
            return head + (e.name,) if head is not None else None
        return None

    def _bump(self, path: tuple[str, ...], k: int) -> None:
        self.need[path] = min(SATURATE, self.need.get(path, 0) + k)

    def _const_int(self, e: n.Expr) -> int | None:
        if isinstance(e, n.Literal) and isinstance(e.value, int) and not isinstance(e.value, bool):
            return e.value
        if isinstance(e, n.Literal) and isinstance(e.value, Decimal):
            return int(e.value) + 1
        if isinstance(e, n.Name):
            b = self.c.bindings.get(id(e))
            if isinstance(b, ConstInfo) and isinstance(b.value, (int, Decimal)) and not isinstance(b.value, bool):
                return int(b.value) + 1
        return None

    def _size_term(self, e: n.Expr, scope: dict[int, tuple[str, ...]]) -> tuple[tuple[str, ...], n.Quant | None] | None:
        """`len(L)` or `count(x in L ...)` over a record list."""
        if isinstance(e, n.Call) and e.func == "len" and len(e.args) == 1:
            p = self._list_path(e.args[0], scope)
            return (p, None) if p is not None else None
        if isinstance(e, n.Quant) and e.kind == "count":
            p = self._list_path(e.source, scope)
            return (p, e) if p is not None else None
        if isinstance(e, n.Name):
            b = self.c.bindings.get(id(e))
            if isinstance(b, LetInfo):
                return self._size_term(b.expr, {})
        return None

    def _walk(self, e: n.Expr, pol: int, copy: int, factor: int, scope: dict[int, tuple[str, ...]]) -> None:
        if isinstance(e, n.Not):
            self._walk(e.operand, -pol, copy, factor, scope)
            return
        if isinstance(e, n.BoolOp):
            for o in e.operands:
                self._walk(o, pol, copy, factor, scope)
            return
        if isinstance(e, n.Name):
            b = self.c.bindings.get(id(e))
            if isinstance(b, LetInfo):
                key = (copy, b.name)
                if key in self._lets_seen:
                    return
                self._lets_seen.add(key)
                self._walk(b.expr, 0, copy, 1, {})  # a let is computed once per record
            return
        if isinstance(e, n.Compare) and e.op in ("<", "<=", ">", ">=", "==", "!="):
            for side, other in ((e.left, e.right), (e.right, e.left)):
                st = self._size_term(side, scope)
                c = self._const_int(other)
                if st is not None and c is not None:
                    path, quant = st
                    self._bump(path, factor * (abs(c) + 1))
                    if quant is not None:
                        inner = {**scope, id(quant): path}
                        sub_factor = min(SATURATE, factor * (abs(c) + 1))
                        for x in (quant.where, quant.body):
                            if x is not None:
                                self._walk(x, 0, copy, sub_factor, inner)
                    elif isinstance(side, n.Name):
                        pass
                    self._walk(other, 0, copy, factor, scope)
                    return
        if isinstance(e, n.Compare) and e.op in ("in", "not in"):
            p = self._list_path(e.right, scope)
            if p is not None:
                self._bump(p, factor)
            for x in (e.left, e.right):
                self._walk(x, 0, copy, factor, scope)
            return
        if isinstance(e, n.Call) and e.func == "len":
            p = self._list_path(e.args[0], scope) if e.args else None
            if p is not None:
                self.incomplete.add(p)
                self._bump(p, factor)
            return
        if isinstance(e, n.Quant):
            p = self._list_path(e.source, scope)
            self._walk(e.source, 0, copy, factor, scope)
            inner = dict(scope)
            sub_factor = factor
            if p is not None:
                inner[id(e)] = p
                if e.kind in ("sum", "count"):
                    self.incomplete.add(p)
                    self._bump(p, factor)
                elif e.kind == "any" and pol != -1 or e.kind == "all" and pol != 1:
                    self._bump(p, factor)
                sub_factor = min(SATURATE, factor * max(1, self.need.get(p, 1)))
            body_pol = pol if e.kind in ("any", "all") else 0
            if e.where is not None:
                self._walk(e.where, body_pol if e.kind == "any" else -body_pol, copy, sub_factor, inner)
            if e.body is not None:
                self._walk(e.body, body_pol, copy, sub_factor, inner)
            return
        if isinstance(e, n.Compare) and e.op in ("==", "!="):
            for x in (e.left, e.right):
                self._walk(x, 0, copy, factor, scope)
            return
        for x in n.children(e):
            self._walk(x, pol if isinstance(e, n.BoolOp) else 0, copy, factor, scope)

    def bounds(self, cap: int = DEFAULT_CAP, minimum: dict[tuple[str, ...], int] | None = None) -> Bounds:
        sizes: dict[tuple[str, ...], int] = {}
        incomplete = set(self.incomplete)
        for p, k in self.need.items():
            if k > cap:
                incomplete.add(p)
                k = cap
            sizes[p] = k
        for p in incomplete:
            sizes[p] = min(cap, sizes.get(p, 0) + 1)
        for p, k in (minimum or {}).items():
            sizes[p] = max(sizes.get(p, 0), k)
        return Bounds(sizes, incomplete, cap)


# ---- the encoder -------------------------------------------------------------------------------


class Env:
    def __init__(self, record: SStruct):
        self.record = record
        self.vars: dict[int, Any] = {}
        self.lets: dict[str, Any] = {}


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


class Encoder:
    """Builds symbolic records and encodes expressions, rules and decisions over them."""

    def __init__(self, checked: Checked, bounds: Bounds, deadline: Deadline | None = None):
        self.c = checked
        self.bounds = bounds
        self.deadline = deadline if deadline is not None else Deadline.never()
        self.set_apps: list[SetApp] = []
        self._set_preds: dict[frozenset[Any], tuple[Any, tuple[str, ...], frozenset[str]]] = {}
        self._set_app_cache: dict[tuple[int, int], SetApp] = {}
        self._exact: set[tuple[int, int]] = set()
        self.domain: list[Any] = []  # constraints every symbolic record must meet (its schema)
        self.apps: list[App] = []
        self._app_cache: dict[tuple[str, int], App] = {}
        self._screen_funcs: dict[str, Any] = {}
        self.screen_apps: list[tuple[Any, str, list[Any], Any]] = []
        self._funcs = {name: z3.Function(f"{name}_", z3.StringSort(), z3.StringSort())
                       for name in ("normalize", "lower", "upper")}
        self._counter = 0
        self.numbers: list[Any] = []  # real-valued leaves (a witness needs finite decimals)
        self.strings: list[Any] = []
        self.lengths: list[Any] = []
        self.dates: list[Any] = []

    # -- fresh symbolic values of a type
    def fresh(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}!{self._counter}"

    def make(self, typ: t.Type, name: str, path: tuple[str, ...],
             share: Any = None, protected: Callable[[tuple[str, ...], t.Type], bool] | None = None) -> Any:
        """A symbolic value of `typ`. With `share` (the same value in another record), only the
        parts `protected(path, type)` selects are fresh; the rest is `share` itself."""
        if share is not None and protected is not None and not protected(path, typ):
            if not isinstance(typ, (t.StructT, t.ListT, t.SetT)):
                return share
        if isinstance(typ, t.Prim):
            if typ.name == "country":
                idx = z3.Int(self.fresh(name))
                self.domain.append(z3.And(idx >= 0, idx < len(COUNTRY_LIST)))
                return FD(COUNTRY_LIST, idx)
            if typ.name == "string":
                s = z3.String(self.fresh(name))
                self.strings.append(s)
                return s
            if typ.name == "int":
                return z3.Int(self.fresh(name))
            if typ.name == "number":
                x = z3.Real(self.fresh(name))
                self.numbers.append(x)
                return x
            if typ.name == "bool":
                return z3.Bool(self.fresh(name))
            if typ.name == "date":
                d = z3.Int(self.fresh(name))
                self.domain.append(z3.And(d >= MIN_DAY, d <= MAX_DAY))
                self.dates.append(d)
                return d
        if isinstance(typ, t.EnumT):
            idx = z3.Int(self.fresh(name))
            self.domain.append(z3.And(idx >= 0, idx < len(typ.members)))
            return FD(typ.members, idx)
        if isinstance(typ, (t.ListT, t.SetT)):
            size = self.bounds.size(path)
            if share is not None:
                length = share.length
            else:
                length = z3.Int(self.fresh(name + "_len"))
                self.domain.append(z3.And(length >= 0, length <= size))
                self.lengths.append(length)
            elems = tuple(
                self.make(typ.elem, f"{name}_{k}", path, share.elems[k] if share is not None else None, protected)
                for k in range(size)
            )
            if isinstance(typ, t.SetT):
                for a in range(size):
                    for b in range(a + 1, size):
                        self.domain.append(z3.Implies(b < length, znot_z(self.eq(elems[a], elems[b]))))
            return SList(length, elems, path)
        if isinstance(typ, t.StructT):
            fields: dict[str, Any] = {}
            present: dict[str, Any] = {}
            for fname, f in typ.fields.items():
                sub = path + (fname,)
                fields[fname] = self.make(f.type, f"{name}.{fname}", sub,
                                          share.fields[fname] if share is not None else None, protected)
                if f.optional:
                    if share is not None and protected is not None and not protected(sub, f.type):
                        present[fname] = share.present[fname]
                    else:
                        present[fname] = z3.Bool(self.fresh(f"has_{name}.{fname}"))
            return SStruct(typ, fields, present)
        raise Unsupported(f"a field of type `{typ}` cannot be encoded")

    def record(self, name: str = "r", share: SStruct | None = None,
               protected: Callable[[tuple[str, ...], t.Type], bool] | None = None) -> SStruct:
        assert self.c.record is not None
        rec = self.make(self.c.record, name, (), share, protected)
        assert isinstance(rec, SStruct)
        return rec

    def valid(self, rec: SStruct) -> Any:
        """The record fits the schema (domain constraints are global) and every invariant holds."""
        env = Env(rec)
        return zand(*(zbool(self.expr(inv.expr, env)) for inv in self.c.invariants))

    # -- rules and decisions
    def as_of(self, rec: SStruct) -> Any:
        return rec.fields[self.c.as_of] if self.c.as_of else None

    def in_force(self, valid_from: datetime.date | None, until: datetime.date | None, as_of: Any) -> Any:
        if as_of is None:
            return True
        parts = []
        if valid_from is not None:
            parts.append(as_of >= valid_from.toordinal())
        if until is not None:
            parts.append(as_of < until.toordinal())
        return zand(*parts)

    def match(self, rule: RuleInfo, env: Env) -> Any:
        return zand(self.in_force(rule.effective, rule.expires, self.as_of(env.record)),
                    zbool(self.expr(rule.when, env)))

    def outcome_is(self, env: Env, outcome: str) -> Any:
        """The decision's outcome on a valid record equals `outcome` (combining and waivers)."""
        c = self.c
        matches = [self.match(r, env) for r in c.rules]
        if c.combine == "first_match":
            result: Any = c.default == outcome
            for r, m in reversed(list(zip(c.rules, matches))):
                result = zor(zand(m, r.outcome == outcome), zand(znot(m), result))
            return result
        index = {r.id: r.index for r in c.rules}
        waived_by: dict[int, list[int]] = {}
        for r in c.rules:
            for w in r.waives:
                if w in index:
                    waived_by.setdefault(index[w], []).append(r.index)
        counted = [zand(m, znot(zor(*(matches[j] for j in waived_by.get(k, []))))) for k, m in enumerate(matches)]

        def anyof(o: str) -> Any:
            return zor(*(counted[k] for k, r in enumerate(c.rules) if r.outcome == o))

        # strongest first: the outcome holds when a rule of it counts and no stronger one does
        order = ("deny", "hold", "license", "allow")
        fired = {o: anyof(o) for o in order}
        none = znot(zor(*fired.values()))
        stronger = [znot(fired[o]) for o in order[: order.index(outcome)]]
        return zand(*stronger, zor(fired[outcome], zand(none, c.default == outcome)))

    # -- expressions
    def expr(self, e: n.Expr, env: Env) -> Any:
        c = self.c
        self.deadline.check()
        if isinstance(e, n.Literal):
            return e.value
        if isinstance(e, n.Name):
            b = c.bindings[id(e)]
            if isinstance(b, VarRef):
                return env.vars[id(b.quant)]
            if isinstance(b, FieldRef):
                return env.record.fields[e.name]
            if isinstance(b, LetInfo):
                if e.name not in env.lets:
                    inner = Env(env.record)
                    inner.lets = env.lets
                    env.lets[e.name] = self.expr(b.expr, inner)
                return env.lets[e.name]
            if isinstance(b, ConstInfo):
                return b.value
            if isinstance(b, SetInfo):
                return self.set_value(b, env)
            raise Unsupported(f"cannot encode the name `{e.name}`")
        if isinstance(e, n.Attr):
            obj = self.expr(e.obj, env)
            if isinstance(obj, SStruct):
                return obj.fields[e.name]
            if isinstance(obj, dict):
                return obj[e.name]
            raise Unsupported(f"cannot encode `.{e.name}` here")
        if isinstance(e, n.Has):
            return self._has(e.path, env)
        if isinstance(e, n.Not):
            return znot(self.expr(e.operand, env))
        if isinstance(e, n.BoolOp):
            parts = [self.expr(o, env) for o in e.operands]
            return zand(*parts) if e.op == "and" else zor(*parts)
        if isinstance(e, n.Compare):
            return self._compare(e, env)
        if isinstance(e, n.Arith):
            a, b2 = self.expr(e.left, env), self.expr(e.right, env)
            if e.op == "/":
                if not is_z3(a) and not is_z3(b2):
                    return v.divide(a, b2)
                raise Unsupported("division by a value read from the record is not encoded (`/` rounds to 18 places)")
            if not is_z3(a) and not is_z3(b2):
                return {"+": v.add, "-": v.sub, "*": v.mul}[e.op](a, b2)
            za, zb = lift_num(a), lift_num(b2)
            return za + zb if e.op == "+" else za - zb if e.op == "-" else za * zb
        if isinstance(e, n.Neg):
            x = self.expr(e.operand, env)
            return -x if not is_z3(x) else -x
        if isinstance(e, n.Call):
            return self._call(e, env)
        if isinstance(e, n.Quant):
            return self._quant(e, env)
        if isinstance(e, n.SetLit):
            xs = [self.expr(x, env) for x in e.elements]
            if any(is_z3(x) or isinstance(x, (FD, SStruct, SList)) for x in xs):
                return tuple(xs)
            return frozenset(xs)
        if isinstance(e, n.ListLit):
            return tuple(self.expr(x, env) for x in e.elements)
        raise Unsupported(f"cannot encode `{type(e).__name__}`")

    def set_value(self, info: SetInfo, env: Env) -> Any:
        """A named set: its values, or, when membership depends on the date, a `DatedSet` (the
        evaluator looks members up on the record's `as_of` date)."""
        if self.c.as_of is None or not info.has_bases:
            return info.values
        dates, members = info.timeline
        if len(set(members)) <= 1:
            return members[0] if members else info.values
        return DatedSet(info.values, dates, members, self.as_of(env.record))

    def _has(self, path: n.Expr, env: Env) -> Any:
        if isinstance(path, n.Attr):
            head = self._has(path.obj, env)
            obj = self.expr(path.obj, env)
            if isinstance(obj, SStruct) and path.name in obj.present:
                return zand(head, obj.present[path.name])
            return head
        if isinstance(path, n.Name):
            b = self.c.bindings.get(id(path))
            if isinstance(b, FieldRef) and path.name in env.record.present:
                return env.record.present[path.name]
        return True

    # equality of any two values of comparable types
    def eq(self, a: Any, b: Any) -> Any:
        if isinstance(a, SStruct) or isinstance(b, SStruct) or isinstance(a, SList) or isinstance(b, SList):
            raise Unsupported("comparing whole records or lists is not encoded")
        if isinstance(a, FD) or isinstance(b, FD) or isinstance(a, str) or isinstance(b, str) \
                or (is_z3(a) and a.sort() == z3.StringSort()) or (is_z3(b) and b.sort() == z3.StringSort()):
            return self._text_eq(a, b)
        if not is_z3(a) and not is_z3(b):
            return bool(a == b)
        if isinstance(a, bool) or isinstance(b, bool) or (is_z3(a) and z3.is_bool(a)) or (is_z3(b) and z3.is_bool(b)):
            return zbool(a) == zbool(b)
        return lift_num(a) == lift_num(b)

    def _text_eq(self, a: Any, b: Any) -> Any:
        if isinstance(a, str) and isinstance(b, str):
            return a == b
        if isinstance(b, FD) and not isinstance(a, FD):
            a, b = b, a
        if isinstance(a, FD):
            if isinstance(b, str):
                return fd_where(a, lambda x: x == b)
            if isinstance(b, FD):
                pairs = [(i, j) for i, x in enumerate(a.values) for j, y in enumerate(b.values) if x == y]
                if a.values == b.values and len(set(a.values)) == len(a.values):
                    return a.idx == b.idx
                return zor(*(zand(a.idx == i, b.idx == j) for i, j in pairs))
            return zor(*(zand(a.idx == k, b == z3.StringVal(x)) for k, x in enumerate(a.values)))
        return lift_str(a) == lift_str(b)

    def member(self, x: Any, coll: Any) -> Any:
        if isinstance(coll, DatedSet):
            return zor(*(zand(self.in_force(lo, hi, coll.as_of), self.member(x, ms)) for lo, hi, ms in coll.windows()))
        if isinstance(coll, SList):
            return zor(*(zand(k < coll.length, self.eq(x, el)) for k, el in enumerate(coll.elems)))
        if isinstance(coll, (frozenset, set)):
            if isinstance(x, FD):
                return fd_where(x, lambda val: val in coll)
            if not is_z3(x):
                return x in coll
            if x.sort() == z3.StringSort():
                if len(coll) > LARGE_SET:
                    return self._large_member(x, frozenset(coll))
                # (a finite-language regex measured ten times slower than the disjunction)
                return zor(*(x == z3.StringVal(m) for m in sorted(coll) if isinstance(m, str)))
            return zor(*(self.eq(x, m) for m in sorted(coll, key=str)))
        if isinstance(coll, tuple):
            return zor(*(self.eq(x, m) for m in coll))
        raise Unsupported("membership in this collection is not encoded")

    def _large_member(self, x: Any, coll: frozenset[Any]) -> Any:
        """`x in coll` as one predicate application: no term per member (see `SetApp`)."""
        entry = self._set_preds.get(coll)
        if entry is None:
            members = tuple(sorted(m for m in coll if isinstance(m, str)))
            pred = z3.Function(self.fresh("in_set"), z3.StringSort(), z3.BoolSort())
            entry = (pred, members, frozenset(members))
            self._set_preds[coll] = entry
        pred, members, member_set = entry
        key = (pred.get_id(), x.get_id())
        app = self._set_app_cache.get(key)
        if app is None:
            app = SetApp(pred, members, member_set, x, pred(x))
            self._set_app_cache[key] = app
            self.set_apps.append(app)
        return app.term

    def _compare(self, e: n.Compare, env: Env) -> Any:
        left = self.expr(e.left, env)
        op = e.op
        if op in ("like", "not like"):
            right = self.expr(e.right, env)
            if not isinstance(right, str):
                raise Unsupported("a `like` pattern not known at load time")
            hit = self.like(left, right)
            return hit if op == "like" else znot(hit)
        right = self.expr(e.right, env)
        if op == "==":
            return self.eq(left, right)
        if op == "!=":
            return znot(self.eq(left, right))
        if op in ("in", "not in"):
            hit = self.member(left, right)
            return hit if op == "in" else znot(hit)
        if not is_z3(left) and not is_z3(right):
            return bool({"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op])
        a, b2 = lift_num(left), lift_num(right)
        return {"<": a < b2, "<=": a <= b2, ">": a > b2, ">=": a >= b2}[op]

    def like(self, s: Any, pattern: str) -> Any:
        if isinstance(s, str):
            return v.like(s, pattern)
        if isinstance(s, FD):
            return fd_where(s, lambda x: v.like(x, pattern))
        return z3.InRe(s, pattern_re(pattern))

    def _text_fn(self, func: str, s: Any) -> Any:
        real = TEXT_FUNCS[func]
        if isinstance(s, str):
            return real(s)
        if isinstance(s, FD):
            return FD(tuple(real(x) for x in s.values), s.idx)
        key = (func, s.get_id())
        if key in self._app_cache:
            return self._app_cache[key].term
        term = self._funcs[func](s)
        app = App(func, s, term)
        self._app_cache[key] = app
        self.apps.append(app)
        # facts true of the real functions (they keep the over-approximation sound)
        upper_ascii = z3.Range("A", "Z")
        lower_ascii = z3.Range("a", "z")
        anyc = z3.Star(z3.AllChar(z3.ReSort(z3.StringSort())))
        if FACTS and func in ("normalize", "lower"):
            self.domain.append(z3.Not(z3.InRe(term, z3.Concat(anyc, upper_ascii, anyc))))
        if FACTS and func == "upper":
            self.domain.append(z3.Not(z3.InRe(term, z3.Concat(anyc, lower_ascii, anyc))))
        if FACTS and func == "normalize":
            self.domain.append(z3.Not(z3.Contains(term, z3.StringVal("  "))))
            self.domain.append(z3.Not(z3.PrefixOf(z3.StringVal(" "), term)))
            self.domain.append(z3.Not(z3.SuffixOf(z3.StringVal(" "), term)))
            self.domain.append(z3.Implies(s == z3.StringVal(""), term == z3.StringVal("")))
        return term

    def _screen_fn(self, e: n.Call, env: Env) -> Any:
        """`screen`/`matches`: uninterpreted functions of (name, type), one per list
        (a score in [0, 1], a truth value), refined with the real matcher's value at each name a
        model proposes (`refinements`), so witnesses are ones the evaluator confirms."""
        info = self.c.screen_calls[id(e)]
        # the country only orders equally scored entries: the value is a function of name and type
        args = [lift_str(self.expr(e.args[k], env)) if k < len(e.args) else z3.StringVal("") for k in (0, 2)]
        key = f"{e.func}_{info.name}"
        fn = self._screen_funcs.get(key)
        if fn is None:
            out = z3.RealSort() if e.func == "screen" else z3.BoolSort()
            fn = self._screen_funcs[key] = z3.Function(key, z3.StringSort(), z3.StringSort(), out)
        term = fn(*args)
        if e.func == "screen":
            self.domain.append(z3.And(term >= 0, term <= 1))
        self.screen_apps.append((info, e.func, args, term))
        return term

    def _call(self, e: n.Call, env: Env) -> Any:
        if e.func in ("screen", "matches"):
            return self._screen_fn(e, env)
        args = [self.expr(a, env) for a in e.args]
        f = e.func
        if f in ("normalize", "lower", "upper"):
            return self._text_fn(f, args[0])
        if f == "starts_with":
            s, p = args
            if isinstance(s, str) and isinstance(p, str):
                return s.startswith(p)
            if isinstance(s, FD) and isinstance(p, str):
                return fd_where(s, lambda x: x.startswith(p))
            return z3.PrefixOf(lift_str(p), lift_str(s))
        if f == "len":
            x = args[0]
            if isinstance(x, SList):
                return x.length
            if isinstance(x, DatedSet):
                raise Unsupported("`len` of a set whose members depend on the date is not encoded")
            if isinstance(x, (str, frozenset, tuple)):
                return len(x)
            if isinstance(x, FD):
                out: Any = z3.IntVal(len(x.values[-1]))
                for k in range(len(x.values) - 2, -1, -1):
                    out = z3.If(x.idx == k, len(x.values[k]), out)
                return out
            return z3.Length(x)
        if f == "days_between":
            a, b2 = args
            if not is_z3(a) and not is_z3(b2):
                return v.days_between(a, b2)
            return lift_num(b2) - lift_num(a)
        raise Unsupported(f"the function `{f}` is not encoded")

    def _elements(self, src: Any) -> Iterator[tuple[Any, Any]]:
        """(guard, element) for each element a quantifier ranges over."""
        if isinstance(src, DatedSet):
            for el in sorted(src.values, key=lambda x: (str(type(x)), str(x))):
                yield zor(*(self.in_force(lo, hi, src.as_of) for lo, hi, ms in src.windows() if el in ms)), el
        elif isinstance(src, SList):
            for k, el in enumerate(src.elems):
                yield k < src.length, el
        elif isinstance(src, (frozenset, set)):
            for el in sorted(src, key=lambda x: (str(type(x)), str(x))):
                yield True, el
        elif isinstance(src, tuple):
            for el in src:
                yield True, el
        else:
            raise Unsupported("a quantifier over this source is not encoded")

    def _quant(self, e: n.Quant, env: Env) -> Any:
        src = self.expr(e.source, env)
        if isinstance(src, tuple) and e.kind in ("count", "sum"):
            # a list literal may repeat values; a set literal with symbolic elements may not
            st = self.c.types.get(id(e.source))
            if isinstance(st, t.SetT):
                raise Unsupported("count/sum over a set literal with values read from the record")
        parts: list[Any] = []
        for guard, el in self._elements(src):
            env.vars[id(e)] = el
            cond = zand(guard, self.expr(e.where, env)) if e.where is not None else guard
            if e.kind == "any":
                parts.append(zand(cond, self.expr(e.body, env)))  # type: ignore[arg-type]
            elif e.kind == "all":
                parts.append(zor(znot(cond), self.expr(e.body, env)))  # type: ignore[arg-type]
            elif e.kind == "count":
                hit = zand(cond, self.expr(e.body, env)) if e.body is not None else cond
                parts.append(zite(hit, 1, 0))
            else:
                parts.append(zite(cond, self.expr(e.body, env), 0))  # type: ignore[arg-type]
        env.vars.pop(id(e), None)
        if e.kind == "any":
            return zor(*parts)
        if e.kind == "all":
            return zand(*parts)
        if not parts:
            return 0
        if all(not is_z3(p) for p in parts):
            return v.dsum(parts)
        zs = [lift_num(p) for p in parts]
        if e.kind == "sum" and self.c.types.get(id(e)) == t.NUMBER:
            zs = [z3.ToReal(p) if p.sort() == z3.IntSort() else p for p in zs]
        return z3.Sum(*zs) if len(zs) > 1 else zs[0]

    # -- models to records
    def value(self, model: z3.ModelRef, sym: Any, typ: t.Type) -> Any:
        """The JSON-ready value of a symbolic leaf in `model` (`Unrepresentable` if none)."""
        if isinstance(sym, FD):
            return sym.values[model.eval(sym.idx, model_completion=True).as_long()]
        if isinstance(sym, SList):
            length = model.eval(sym.length, model_completion=True).as_long()
            assert isinstance(typ, (t.ListT, t.SetT))
            return [self.value(model, el, typ.elem) for el in sym.elems[:length]]
        if isinstance(sym, SStruct):
            out: dict[str, Any] = {}
            for fname, f in sym.type.fields.items():
                if f.optional and not z3.is_true(model.eval(sym.present[fname], model_completion=True)):
                    continue
                out[fname] = self.value(model, sym.fields[fname], f.type)
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

    def witness(self, model: z3.ModelRef, rec: SStruct) -> dict[str, Any]:
        assert self.c.record is not None
        out = self.value(model, rec, self.c.record)
        assert isinstance(out, dict)
        return out

    # -- preferences: extra constraints that make models easy to turn into real records
    def preferences(self, places: int = 4) -> list[Any]:
        prefs: list[Any] = []
        scale = 10**places
        for x in self.numbers:
            k = z3.Int(self.fresh("cents"))
            prefs.append(x * scale == z3.ToReal(k))
        safe_lower = z3.Star(z3.Union(z3.Range("a", "z"), z3.Range("0", "9"), z3.Re(z3.StringVal(" ")),
                                      z3.Re(z3.StringVal("-")), z3.Re(z3.StringVal("."))))
        safe_upper = z3.Star(z3.Union(z3.Range("A", "Z"), z3.Range("0", "9"), z3.Re(z3.StringVal(" ")),
                                      z3.Re(z3.StringVal("-")), z3.Re(z3.StringVal("."))))
        for app in self.apps:
            prefs.append(app.arg == app.term)
            prefs.append(z3.InRe(app.arg, safe_upper if app.func == "upper" else safe_lower))
        for info, _, args, _ in self.screen_apps:   # listed names make witnesses that hit
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
        for s in self.strings:
            prefs.append(z3.InRe(s, printable))
        return prefs

    def niceties(self) -> list[Any]:
        """Further preferences for witnesses a reader takes in at a glance."""
        lo, hi = datetime.date(2000, 1, 1).toordinal(), datetime.date(2035, 12, 31).toordinal()
        out: list[Any] = [z3.And(d >= lo, d <= hi) for d in self.dates]
        out += [length <= 1 for length in self.lengths]
        out += [x >= 0 for x in self.numbers]
        return out

    def member_guesses(self, model: z3.ModelRef, pick: int) -> list[Any]:
        """For each large-set membership the model claims but the real set denies, a guess that
        the argument is the set's member number `pick` (mod its size): a cheap way to a real
        member, where the exact disjunction is slow. Only ever used to find witnesses."""
        out: list[Any] = []
        for sa in self.set_apps:
            if not sa.members or not z3.is_true(model.eval(sa.term, model_completion=True)):
                continue
            arg = model.eval(sa.arg, model_completion=True)
            if z3.is_string_value(arg) and str(arg.as_string()) in sa.member_set:
                continue
            m = sa.members[(pick * (len(sa.members) // 3 + 1)) % len(sa.members)]
            out.append(sa.arg == z3.StringVal(m))
        return out

    def refinements(self, model: z3.ModelRef) -> list[Any]:
        """Facts about the real text functions and large sets at the arguments this model chose."""
        out: list[Any] = []
        for sa in self.set_apps:
            self.deadline.check()
            arg = model.eval(sa.arg, model_completion=True)
            if not z3.is_string_value(arg):
                continue
            text = str(arg.as_string())
            is_member = text in sa.member_set
            claimed = z3.is_true(model.eval(sa.term, model_completion=True))
            if claimed != is_member:
                out.append(sa.pred(z3.StringVal(text)) == z3.BoolVal(is_member))
                key = (sa.pred.get_id(), sa.arg.get_id())
                if claimed and key not in self._exact:
                    self._exact.add(key)
                    out.append(z3.Implies(sa.term, z3.Or(*(sa.arg == z3.StringVal(m) for m in sa.members))))
        real = TEXT_FUNCS
        for app in self.apps:
            arg = model.eval(app.arg, model_completion=True)
            if not z3.is_string_value(arg):
                continue
            text = str(arg.as_string())
            out.append(z3.Implies(app.arg == z3.StringVal(text), app.term == z3.StringVal(real[app.func](text))))
        if self.screen_apps:
            from ..screening import runtime
        for info, func, args, term in self.screen_apps:
            vals = [model.eval(a, model_completion=True) for a in args]
            if not all(z3.is_string_value(x) for x in vals):
                continue
            name, typ = (str(x.as_string()) for x in vals)
            got = (runtime.score if func == "screen" else runtime.matches)(info, name, typ or None)
            value = z3.RealVal(str(got)) if func == "screen" else z3.BoolVal(bool(got))
            same = z3.And(*(a == z3.StringVal(str(x.as_string())) for a, x in zip(args, vals)))
            out.append(z3.Implies(same, term == value))
        return out


def znot_z(x: Any) -> Any:
    r = znot(x)
    return z3.BoolVal(r) if isinstance(r, bool) else r


class Unrepresentable(Exception):
    pass


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


def all_exprs(c: Checked) -> Iterable[n.Expr]:
    yield from (r.when for r in c.rules)
    yield from (i.expr for i in c.invariants)
    yield from (let.expr for let in c.lets.values())


# ---- solving with confirmation ---------------------------------------------------------------------


@attrs.frozen
class Outcome:
    """What one query found: `proved`, `violated` (with the confirmed witness) or `unknown`."""

    status: str
    witness: Any = None
    reason: str | None = None


def solve(enc: Encoder, assertions: list[Any], build: Callable[[z3.ModelRef], Any],
          confirm: Callable[[Any], str | None], rounds: int = 6, quick: bool = False,
          deadline: Deadline | None = None, solver: Any = None) -> Outcome:
    """Unsat is `proved`; a model becomes a witness only if `confirm` (the real evaluator) returns
    None for it; otherwise the model is refined (facts about the real text functions and large
    sets at the values it chose, decimal-friendly preferences) and the search goes on, up to
    `rounds` times. Runs within `enc.deadline` (raises `DeadlineExceeded` when it passes).
    `quick`: try the plain model before asking for readable values (for seeds nobody reads);
    `deadline`: a shorter limit for this search than the encoder's; `solver`: an existing solver
    holding common assertions (incremental solving: this query is pushed on it and popped)."""
    if solver is None:
        return _solve(enc, z3.Solver(), assertions, build, confirm, rounds, quick, deadline)
    solver.push()
    try:
        return _solve(enc, solver, assertions, build, confirm, rounds, quick, deadline)
    finally:
        solver.pop()


def _solve(enc: Encoder, solver: Any, assertions: list[Any], build: Callable[[z3.ModelRef], Any],
           confirm: Callable[[Any], str | None], rounds: int, quick: bool, deadline: Deadline | None) -> Outcome:
    deadline = deadline if deadline is not None else enc.deadline
    solver.add(*[zbool(a) for a in assertions])
    solver.add(*enc.domain)
    why = ""
    for _ in range(rounds):
        res = deadline.solve(solver)
        if res == z3.unsat:
            return Outcome("proved")
        if res == z3.unknown:
            return Outcome("unknown", reason=f"the solver gave up ({solver.reason_unknown()})")
        model = solver.model()
        if quick:
            try:
                w = build(model)
                if confirm(w) is None:
                    return Outcome("violated", witness=w)
            except Unrepresentable:
                pass
        # first, the same query with preferences for readable, representable values (each try
        # gets a share of the time left, and is skipped when it does not finish)
        candidates = []
        for tier in ([*enc.preferences(), *enc.niceties()], enc.preferences()):
            solver.push()
            solver.add(*tier)
            if deadline.solve(solver, cap=max(0.05, deadline.remaining() / 4)) == z3.sat:
                candidates.append(solver.model())
            solver.pop()
        candidates.append(model)
        for pick in range(2):
            guesses = enc.member_guesses(model, pick)
            if not guesses:
                break
            solver.push()
            solver.add(*guesses, *enc.preferences())
            if deadline.solve(solver, cap=max(0.05, deadline.remaining() / 4)) == z3.sat:
                candidates.insert(0, solver.model())
            solver.pop()
        for m in candidates:
            deadline.check()
            try:
                w = build(m)
            except Unrepresentable as exc:
                why = str(exc)
                continue
            problem = confirm(w)
            if problem is None:
                return Outcome("violated", witness=w)
            why = problem
        refine = enc.refinements(model) + [r for m in candidates for r in enc.refinements(m)]
        if not refine:
            break
        solver.add(*refine)
    return Outcome("unknown", reason=f"the solver found a candidate the evaluator does not confirm ({why}): "
                                     "an encoding gap, reported rather than shown")
