"""The checked AST as z3 formulas: records as symbolic values of the schema.

The encoding is an *over-approximation* that is exact wherever it can be:

- `string` fields are z3 strings (sequence theory): `==`, `in` a constant set, `like` (as a
  regular expression), `starts_with` and `len` are exact. `normalize`, `lower` and `upper` are
  uninterpreted functions (every real text function is one of their interpretations), with a few
  facts that hold of the real ones; a model that relies on a wrong interpretation is caught when
  its witness is run through the evaluator, and refined (`solve.refinements`).
- `enum` and `country` values are finite domains (an index into the members), so every text
  function and every pattern on them is computed exactly, member by member.
- `number` is a z3 real (a superset of the finite decimals), `int` a z3 integer, `date` an
  integer day number; `+ - *` are exact. Division is not encoded (`Unsupported`).
- A list is a length and a bounded number of element slots; see `Bounds` for the bound.
- Lets are inlined (once per record), constants and sets are Python values, `has` reads presence
  booleans, rule validity dates and basis dates compare the `as_of` field.

So unsat is a proof (for lists up to the bound), and sat is a *candidate*: `witness.record_of`
turns the model into a record, and callers confirm it with the real evaluator before
showing it (`solve.py`). Symbolic values are in `symbolic.py`, list bounds in `bounds.py`.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator

import z3  # type: ignore[import-untyped]

from .. import nodes as n
from .. import types as t
from .. import values as v
from ..checked import Checked, ConstInfo, Env, FieldRef, LetInfo, RuleInfo, SetInfo, VarRef, var_of
from ..semantics import operators as ops
from . import combining
from .bounds import Bounds
from .deadline import Deadline
from .symbolic import (
    COUNTRY_LIST, FD, MAX_DAY, MIN_DAY, TEXT_FUNCS, App, DatedSet, SetApp, SList, SStruct, Unsupported, fd_where,
    is_z3, lift_num, lift_str, zand, zbool, zite, znot, znot_z, zor,
)

#: add facts about the text functions' results (no upper case, no double space) as constraints;
#: sound either way, but measured to slow z3's string solver tenfold, so left to refinement
FACTS = False
#: string sets larger than this are encoded as one uninterpreted predicate, made exact lazily
LARGE_SET = 32


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


# ---- the encoder -------------------------------------------------------------------------------



class Encoder(n.ExprVisitor):
    """Builds symbolic records and encodes expressions, rules and decisions over them."""

    refuses = {n.RecordLit: "a record literal is a test's `given`, never encoded"}

    def __init__(self, checked: Checked, bounds: Bounds, deadline: Deadline | None = None):
        self.c = checked
        self.bounds = bounds
        self.deadline = deadline if deadline is not None else Deadline.never()
        self.set_apps: list[SetApp] = []
        self._set_preds: dict[frozenset[Any], tuple[Any, tuple[str, ...], frozenset[str]]] = {}
        self._set_app_cache: dict[tuple[int, int], SetApp] = {}
        self.exact: set[tuple[int, int]] = set()  # (set, argument) pairs made exact (`solve.refinements`)
        self.domain: list[Any] = []  # constraints every symbolic record must meet (its schema)
        self.apps: list[App] = []
        self._app_cache: dict[tuple[str, int], App] = {}
        self._screen_funcs: dict[str, Any] = {}
        self.screen_apps: list[tuple[Any, str, list[Any], Any]] = []
        self._funcs = {name: z3.Function(f"{name}_", z3.StringSort(), z3.StringSort()) for name in ops.UDFS}
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
        return combining.in_force(valid_from, until, as_of)

    def match(self, rule: RuleInfo, env: Env) -> Any:
        return zand(self.in_force(rule.effective, rule.expires, self.as_of(env.record)),
                    zbool(self.expr(rule.when, env)))

    def outcome_is(self, env: Env, outcome: str) -> Any:
        """The decision's outcome on a valid record equals `outcome`: `semantics.combining`
        (algorithm, waivers, outcome order) encoded over the rules' match terms."""
        matches = [self.match(r, env) for r in self.c.rules]
        return combining.outcome_is(self.c, matches.__getitem__, outcome)

    # -- expressions: one method per node kind (`nodes.ExprVisitor`)
    def expr(self, e: n.Expr, env: Env) -> Any:
        self.deadline.check()
        return self.visits[e.__class__](self, e, env)

    def visit_Literal(self, e: n.Literal, env: Env) -> Any:
        return e.value

    def visit_Name(self, e: n.Name, env: Env) -> Any:
        b = e.binding
        if isinstance(b, VarRef):
            return env.vars[b]
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

    def visit_Attr(self, e: n.Attr, env: Env) -> Any:
        obj = self.expr(e.obj, env)
        if isinstance(obj, SStruct):
            return obj.fields[e.name]
        if isinstance(obj, dict):
            return obj[e.name]
        raise Unsupported(f"cannot encode `.{e.name}` here")

    def visit_Has(self, e: n.Has, env: Env) -> Any:
        return self._has(e.path, env)

    def visit_Not(self, e: n.Not, env: Env) -> Any:
        return self.render(ops.NOT_OP, e, (e.operand,), env)

    def visit_BoolOp(self, e: n.BoolOp, env: Env) -> Any:
        return self.render(ops.BOOL_OPS[e.op], e, e.operands, env)

    def visit_Compare(self, e: n.Compare, env: Env) -> Any:
        return self.render(ops.COMPARE_OPS[e.op], e, (e.left, e.right), env)

    def visit_Arith(self, e: n.Arith, env: Env) -> Any:
        return self.render(ops.ARITH_OPS[e.op], e, (e.left, e.right), env)

    def visit_Neg(self, e: n.Neg, env: Env) -> Any:
        return self.render(ops.NEG_OP, e, (e.operand,), env)

    def visit_Call(self, e: n.Call, env: Env) -> Any:
        fn = ops.FUNCTIONS_BY_NAME[e.func]
        if fn.z3 is ops.NATIVE:  # `screen`, `matches`
            return self._screen_fn(e, env)
        return self.render(fn, e, e.args, env)

    def visit_SetLit(self, e: n.SetLit, env: Env) -> Any:
        xs = [self.expr(x, env) for x in e.elements]
        if any(is_z3(x) or isinstance(x, (FD, SStruct, SList)) for x in xs):
            return tuple(xs)
        return frozenset(xs)

    def visit_ListLit(self, e: n.ListLit, env: Env) -> Any:
        return tuple(self.expr(x, env) for x in e.elements)

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
            b = path.binding
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

    def render(self, c: ops.Operator | ops.Function, e: n.Expr, operands: tuple[n.Expr, ...], env: Env) -> Any:
        """`e` as the registry encodes `c`. Operands that are all plain values (known when the
        policy loads) are computed with the registry's run-time function, the one meaning;
        `and`/`or`/`not`, equality and membership have encodings that take plain values too."""
        args = tuple(self.expr(x, env) for x in operands)
        if c.run is not None and getattr(c, "rule", None) not in _NO_FOLD and all(_plain(x) for x in args):
            try:
                return c.run(*args)
            except v.Fault as exc:  # `5 % (1 - 1)`: an error decision wherever it is reached
                raise Unsupported(f"a constant that faults ({exc}); the rule's decisions are `error`", e.span) from None
        return ops.render(c, ops.Z3, ops.Args(args, tuple(self.c.type_of(x) for x in operands),
                                              site=str(e.span), ops=self), e.span)

    # the primitives the registry's z3 encodings call (`semantics.operators`, `Args.ops`)
    num = staticmethod(lift_num)
    and_ = staticmethod(zand)
    or_ = staticmethod(zor)
    not_ = staticmethod(znot)

    def text_fn(self, func: str, s: Any) -> Any:
        return self._text_fn(func, s)

    def like(self, s: Any, pattern: Any) -> Any:
        if not isinstance(pattern, str):
            raise Unsupported("a `like` pattern not known at load time")
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
        info = e.screening
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

    def starts_with(self, s: Any, p: Any) -> Any:
        if isinstance(s, str) and isinstance(p, str):
            return s.startswith(p)
        if isinstance(s, FD) and isinstance(p, str):
            return fd_where(s, lambda x: x.startswith(p))
        return z3.PrefixOf(lift_str(p), lift_str(s))

    def length(self, x: Any) -> Any:
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

    def visit_Quant(self, e: n.Quant, env: Env) -> Any:
        src = self.expr(e.source, env)
        if isinstance(src, tuple) and e.kind in ("count", "sum"):
            # a list literal may repeat values; a set literal with symbolic elements may not
            st = e.source.type
            if isinstance(st, t.SetT):
                raise Unsupported("count/sum over a set literal with values read from the record")
        parts: list[Any] = []
        for guard, el in self._elements(src):
            env.vars[var_of(e)] = el
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
        env.vars.pop(var_of(e), None)
        if e.kind == "any":
            return zor(*parts)
        if e.kind == "all":
            return zand(*parts)
        if not parts:
            return 0
        if all(not is_z3(p) for p in parts):
            return v.dsum(parts)
        zs = [lift_num(p) for p in parts]
        if e.kind == "sum" and e.type == t.NUMBER:
            zs = [z3.ToReal(p) if p.sort() == z3.IntSort() else p for p in zs]
        return z3.Sum(*zs) if len(zs) > 1 else zs[0]


#: type rules whose z3 encodings take plain values as they are (no folding with `run`)
_NO_FOLD = frozenset({"bool", "not", "equality", "membership"})


def _plain(x: Any) -> bool:
    """A value known when the policy loads: no z3 term or symbolic value anywhere in it."""
    if isinstance(x, (bool, int, Decimal, str, datetime.date)):
        return True
    return isinstance(x, (frozenset, tuple)) and all(_plain(y) for y in x)


def all_exprs(c: Checked) -> Iterable[n.Expr]:
    yield from (r.when for r in c.rules)
    yield from (i.expr for i in c.invariants)
    yield from (let.expr for let in c.lets.values())
