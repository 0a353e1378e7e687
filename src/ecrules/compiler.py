"""Compile a checked policy to Python source, as jinja2 compiles templates.

One function, `decide(record, position)`, is generated per policy: a validator specialised to
the schema (field reads and type tests inline, no schema walk), then each rule's condition as a
Python expression, then the combining step. Constants, sets and compiled `like` patterns are
hoisted into the module's globals. Every rule's code carries a comment with its source line, the
generated text is registered with `linecache`, and a fault inside a rule becomes an `error`
decision naming that rule.

Policy data never becomes code: it enters the source only through `pysource` (`repr` literals,
generated identifiers, comments of words and integers), and `pysource.audit` checks the result
before it is compiled (docs/security.md).
"""

from __future__ import annotations

import bisect
import datetime
import functools
import itertools
import linecache
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Callable

import attrs

from . import nodes as n
from . import records as r
from . import types as t
from . import values as v
from .checked import Checked, ConstInfo, FieldRef, LetInfo, RuleInfo, SetInfo, VarRef, var_of
from .combine import Combiner
from .countries import COUNTRIES
from .decision import Decision, DecisionError
from .pysource import audit, comment, ident, lit
from .semantics import operators as ops
from .semantics.combining import stops_at_match
from . import literals

Decide = Callable[[Any, int], Decision]

_counter = itertools.count()
_DATE_CACHE_LIMIT = 100_000


def _at(convert: Callable[[Any], Any], value: Any, *path: str | int) -> Any:
    """Slow path of a field check: convert, or raise the record error with the field's path."""
    try:
        return convert(value)
    except r.RecordError as exc:
        raise exc.within(*path) from None


def _missing(obj: Mapping[str, Any], name: str) -> r.RecordError:
    return r.RecordError(r.NULL if name in obj else r.MISSING, name)


def _object(value: Any) -> Mapping[str, Any]:
    if value is None:
        raise r.RecordError(r.NULL)
    if not isinstance(value, Mapping):
        raise r.RecordError(r.NOT_OBJECT)
    return value


def _elements(value: Any, convert: Callable[[Any], Any], *path: str | int) -> list[Any]:
    items = value if value.__class__ is list or value.__class__ is tuple else _at(r.sequence, value, *path)
    out = []
    k = 0
    try:
        for k, item in enumerate(items):
            if item is None:
                raise r.RecordError(r.NULL)
            out.append(convert(item))
    except r.RecordError as exc:
        raise exc.within(*path, k) from None
    return out


_DATES: dict[str, datetime.date] = {}


def _date(value: Any) -> datetime.date:
    d = r.date(value)
    if value.__class__ is str and len(_DATES) < _DATE_CACHE_LIMIT:
        _DATES[value] = d
    return d


class _Emitter(n.ExprVisitor):
    refuses = {n.RecordLit: "a record literal is a test's `given`, never compiled"}

    def __init__(self, checked: Checked):
        self.c = checked
        self.lines: list[str] = []
        self.globals: dict[str, Any] = {
            "_Mapping": Mapping, "_Dec": Decimal, "_RE": r.RecordError, "_r": r, "_at": _at,
            "_missing": _missing, "_object": _object, "_elements": _elements, "_DATES": _DATES,
            "_date": _date, "_COUNTRIES": COUNTRIES, "_EXACT": v.EXACT, "_dsum": v.dsum,
            "_U": _UNSET, "_bisect": bisect.bisect_right, "_cite": _cite,
            "_repr": repr, "_seq": r.sequence, "_NULL": r.NULL,
            **ops.PY_HELPERS,  # what the registry's renderings of operators and functions call
        }
        self._fused: dict[VarRef, tuple[str, str]] = {}  # quantifier's variable -> (its result, its loop's flag)
        self._results = 0
        self._locals = 0
        self._inlining = 0
        if checked.screenings:
            from .screening import runtime
            self.globals["_screen_score"] = runtime.score
            self.globals["_screen_matches"] = runtime.matches
        self._hoisted: dict[tuple[str, Any], str] = {}
        self._var_names: dict[VarRef, str] = {}
        self._struct_fns: dict[int, str] = {}
        self._uses_lets: set[str] = set()
        self._rule: str | None = None      # the rule being compiled (screening hits name it)

    # -- names in the generated module
    def hoist(self, prefix: str, value: Any) -> str:
        key = (prefix, value if not isinstance(value, (list, dict)) else id(value))
        try:
            return self._hoisted[key]
        except (KeyError, TypeError):
            pass
        name = ident(prefix, len(self._hoisted))
        self.globals[name] = value
        try:
            self._hoisted[key] = name
        except TypeError:
            pass
        return name

    def const(self, value: Any) -> str:
        if value is None or value.__class__ in (bool, int, str):
            return lit(value)
        return self.hoist("K", value)

    # -- the validator
    def struct_fn(self, struct: t.StructT) -> str:
        if id(struct) in self._struct_fns:
            return self._struct_fns[id(struct)]
        name = ident("_s", len(self._struct_fns))
        self._struct_fns[id(struct)] = name
        body: list[str] = [f"def {name}(x):", "    if x.__class__ is not dict: x = _object(x)"]
        outs = []
        for k, f in enumerate(struct.fields.values()):
            var = f"f{k}"
            body += ["    " + line for line in self.field_check("x", f, var)]
            outs.append(var)
        body.append(f"    return ({', '.join(outs)}{',' if len(outs) == 1 else ''})")
        self.preamble.extend(body + [""])
        return name

    def field_check(self, obj: str, f: t.Field, var: str) -> list[str]:
        key = lit(f.name)
        lines = [f"{var} = {obj}.get({key})"]
        conv = self.convert(var, f.type, (f.name,))
        if f.optional:
            if conv:
                lines.append(f"if {var} is not None:")
                lines += ["    " + c for c in conv]
        else:
            lines.append(f"if {var} is None: raise _missing({obj}, {key})")
            lines += conv
        return lines

    def convert(self, var: str, typ: t.Type, path: tuple[str | int, ...]) -> list[str]:
        """Statements that check `var` against `typ` and leave its run-time form in `var`."""
        p = ", ".join(lit(x) for x in path)
        if isinstance(typ, t.Prim):
            if typ.name == "string":
                return [f"if {var}.__class__ is not str: {var} = _at(_r.string, {var}, {p})"]
            if typ.name == "int":
                return [f"if {var}.__class__ is not int: {var} = _at(_r.integer, {var}, {p})"]
            if typ.name == "number":
                # a finite float is the decimal it prints as (values.to_decimal), inline: `x - x` is 0.0
                # for a finite float (whose exponent is always in range); a decimal outside the exponent
                # range (literals.MAX_EXPONENT) goes to the slow path's error
                return [f"if {var}.__class__ is not int:",
                        f"    if {var}.__class__ is float and {var} - {var} == 0.0: {var} = _Dec(_repr({var}))",
                        f"    elif {var}.__class__ is not _Dec or not {var}.is_finite()"
                        f" or not {-literals.MAX_EXPONENT} <= {var}.adjusted() <= {literals.MAX_EXPONENT}: "
                        f"{var} = _at(_r.number, {var}, {p})"]
            if typ.name == "bool":
                return [f"if {var}.__class__ is not bool: {var} = _at(_r.boolean, {var}, {p})"]
            if typ.name == "date":
                return [f"{var} = (_DATES.get({var}) if {var}.__class__ is str else None) or _at(_date, {var}, {p})"]
            if typ.name == "country":
                return [f"if {var}.__class__ is not str or {var} not in _COUNTRIES: {var} = _at(_r.country, {var}, {p})"]
        if isinstance(typ, t.EnumT):
            members = self.hoist("E", frozenset(typ.members))
            check = self.hoist("EC", _enum_check(typ.members))
            return [f"if {var}.__class__ is not str or {var} not in {members}: {var} = _at({check}, {var}, {p})"]
        if isinstance(typ, (t.ListT, t.SetT)) and isinstance(typ.elem, t.StructT):
            fn = self.struct_list_fn(typ)
            return ["try:", f"    {var} = {fn}({var})", "except _RE as exc:", f"    raise exc.within({p}) from None"]
        if isinstance(typ, (t.ListT, t.SetT)):
            elem = self.element_fn(typ.elem)
            wrap = "tuple" if isinstance(typ, t.ListT) else "frozenset"
            return [f"{var} = {wrap}(_elements({var}, {elem}, {p}))"]
        if isinstance(typ, t.StructT) and self._inlining < 3:
            # a struct field read inline (no call): its fields in fresh locals, then the tuple
            self._inlining += 1
            lines = ["try:", f"    if {var}.__class__ is not dict: {var} = _object({var})"]
            outs = []
            for f in typ.fields.values():
                local = f"H{self._locals}"
                self._locals += 1
                lines += ["    " + line for line in self.field_check(var, f, local)]
                outs.append(local)
            self._inlining -= 1
            return lines + [f"    {var} = ({', '.join(outs)},)", "except _RE as exc:",
                            f"    raise exc.within({p}) from None"]
        if isinstance(typ, t.StructT):
            fn = self.struct_fn(typ)
            return [
                "try:",
                f"    {var} = {fn}({var})",
                "except _RE as exc:",
                f"    raise exc.within({p}) from None",
            ]
        return []

    def struct_list_fn(self, typ: t.ListT | t.SetT) -> str:
        """A list (or set) of structs checked in one loop, each struct's fields read inline."""
        key = id(typ)
        if key in self._struct_fns:
            return self._struct_fns[key]
        struct = typ.elem
        assert isinstance(struct, t.StructT)
        name = f"_L{len(self._struct_fns)}"
        self._struct_fns[key] = name
        wrap = "tuple" if isinstance(typ, t.ListT) else "frozenset"
        body = [f"def {name}(v):",
                "    if v.__class__ is not list and v.__class__ is not tuple: v = _seq(v)",
                "    s = []", "    k = 0", "    try:", "        for x in v:",
                "            if x.__class__ is not dict:",
                "                if x is None: raise _RE(_NULL)",
                "                x = _object(x)"]
        outs = []
        for k, f in enumerate(struct.fields.values()):
            var = f"f{k}"
            body += ["            " + line for line in self.field_check("x", f, var)]
            outs.append(var)
        body += [f"            s.append(({', '.join(outs)}{',' if len(outs) == 1 else ''}))",
                 "            k += 1",
                 "    except _RE as exc:", "        raise exc.within(k) from None",
                 f"    return {wrap}(s)", ""]
        self.preamble.extend(body)
        return name

    def element_fn(self, typ: t.Type) -> str:
        if isinstance(typ, t.StructT):
            return self.struct_fn(typ)
        name = ident("_el", len(self.preamble))
        body = [f"def {name}(x):"] + ["    " + line for line in self.convert("x", typ, ())] + ["    return x", ""]
        self.preamble.extend(body)
        return name

    # -- expressions: one method per node kind (`nodes.ExprVisitor`)
    def expr(self, e: n.Expr) -> str:
        return self.visits[e.__class__](self, e)  # type: ignore[no-any-return]

    def visit_Literal(self, e: n.Literal) -> str:
        return self.const(e.value)

    def visit_Name(self, e: n.Name) -> str:
        b = e.binding
        if isinstance(b, VarRef):
            return self._var_names[b]
        if isinstance(b, FieldRef):
            return f"F{b.index}"
        if isinstance(b, LetInfo):
            self._uses_lets.add(b.name)
            return f"(L{b.index} if L{b.index} is not _U else _l{b.index}())"
        if isinstance(b, ConstInfo):
            return self.const(b.value)
        if isinstance(b, SetInfo):
            return self.set_value(b)
        raise AssertionError(b)

    def visit_Attr(self, e: n.Attr) -> str:
        struct = self.c.type_of(e.obj)
        assert isinstance(struct, t.StructT)
        return f"{self.expr(e.obj)}[{list(struct.fields).index(e.name)}]"

    def visit_Has(self, e: n.Has) -> str:
        return self.has(e.path)

    def visit_Not(self, e: n.Not) -> str:
        return self.render(ops.NOT_OP, e, (e.operand,))

    def visit_BoolOp(self, e: n.BoolOp) -> str:
        return self.render(ops.BOOL_OPS[e.op], e, e.operands)

    def visit_Arith(self, e: n.Arith) -> str:
        return self.render(ops.ARITH_OPS[e.op], e, (e.left, e.right))

    def visit_Neg(self, e: n.Neg) -> str:
        return self.render(ops.NEG_OP, e, (e.operand,))

    def visit_Call(self, e: n.Call) -> str:
        c = self.c
        if ops.FUNCTIONS_BY_NAME[e.func].python is ops.NATIVE:  # `screen`, `matches`
            info = self.hoist("Z", e.screening)
            args = [self.expr(a) if k != 1 else info for k, a in enumerate(e.args)]
            args += ["None"] * (4 - len(args))
            assert c.record is not None
            as_of = f"F{list(c.record.fields).index(c.as_of)}" if c.as_of else "None"
            fn = "_screen_score" if e.func == "screen" else "_screen_matches"
            return f"{fn}({info}, {args[0]}, {args[2]}, {args[3]}, {as_of}, {lit(self._rule)})"
        return self.render(ops.FUNCTIONS_BY_NAME[e.func], e, e.args)

    def visit_SetLit(self, e: n.SetLit | n.ListLit) -> str:
        wrap = frozenset if isinstance(e, n.SetLit) else tuple
        if all(isinstance(x, n.Literal) or _is_const_name(x) for x in e.elements):
            values = [x.value if isinstance(x, n.Literal) else x.binding.value for x in e.elements]  # type: ignore[union-attr]
            return self.hoist("C", wrap(values))
        inner = ", ".join(self.expr(x) for x in e.elements)
        return f"{wrap.__name__}(({inner},))"

    visit_ListLit = visit_SetLit

    def render(self, c: ops.Operator | ops.Function, e: n.Expr, operands: tuple[n.Expr, ...]) -> str:
        """`e` as the registry renders `c` in Python, from its rendered operands."""
        args = ops.Args(tuple(self.expr(x) for x in operands), tuple(self.c.type_of(x) for x in operands),
                        site=lit(str(e.span)))
        return str(ops.render(c, ops.ROW, args, e.span))

    def set_value(self, b: SetInfo) -> str:
        """A set's members: fixed, or (bases per member) looked up on the record's `as_of` date."""
        if self.c.as_of is None or not b.has_bases:
            return self.hoist("S", b.values)
        if not b.dated:
            return self.hoist("S", b.on(datetime.date.min))
        dates, sets = b.timeline
        return f"{self.hoist('S', sets)}[_bisect({self.hoist('SD', dates)}, {self.as_of_var})]"

    def cite(self, rule: RuleInfo) -> str:
        """Code listing what the rule's membership tests hold in the record (see Interpreter.cite)."""
        thunks = []
        for site in rule.sites:
            loops = []
            for q in site.quants:
                var = f"V{len(self._var_names)}"
                self._var_names[var_of(q)] = var
                cond = f" if {self.expr(q.where)}" if q.where is not None else ""
                loops.append(f" for {var} in {self.expr(q.source)}{cond}")
            left = self.expr(site.compare.left)
            thunks.append(f"lambda: [({lit(site.set)}, {left}){''.join(loops)}]")
        return f"_cite({', '.join(thunks)})"

    def has(self, path: n.Expr) -> str:
        checks = [f"{self.expr(p)} is not None" for p in self.c.optional_reads(path)]
        return "(" + " and ".join(checks) + ")" if checks else "True"

    def visit_Compare(self, e: n.Compare) -> str:
        op = ops.COMPARE_OPS[e.op]
        if op.python is not ops.NATIVE:
            return self.render(op, e, (e.left, e.right))
        left = self.expr(e.left)
        if op.rule == "pattern":
            pattern = e.pattern
            assert pattern is not None, "the checker puts a pattern on every `like`"
            if isinstance(pattern, str):
                prefixes = _class_prefixes(pattern)
                test = _literal_like(left, pattern) or \
                    (f"{left}.startswith({self.hoist('C', prefixes)})" if prefixes else self.like_test(left, pattern))
            else:
                table = self.hoist("PT", {p: v.compile_pattern(p) for p in pattern})
                test = f"{table}[{self.expr(e.right)}].fullmatch({left}) is not None"
            return f"({test})" if op.negates is None else f"(not {test})"
        raise ops.Unsupported(f"`{e.op}` in the row engine", e.span)

    def like_test(self, subject: str, pattern: str) -> str:
        """`subject like pattern` by the pattern's matcher (the fast path memoizes it)."""
        return f"{self.hoist('P', v.compile_pattern(pattern))}.fullmatch({subject}) is not None"

    def visit_Quant(self, e: n.Quant) -> str:
        fused = self._fused.get(var_of(e))
        if fused is not None:  # decided in the fused loop; its own code only if that loop faulted
            self._fused.pop(var_of(e))
            original = self.visit_Quant(e)
            self._fused[var_of(e)] = fused
            return f"({fused[0]} if {fused[1]} else {original})"
        prefixes = self.prefix_set(e)
        if prefixes is not None:
            return prefixes
        var = ident("V", len(self._var_names))
        self._var_names[var_of(e)] = var
        src = self.expr(e.source)
        cond = f" if {self.expr(e.where)}" if e.where is not None else ""
        body = self.expr(e.body) if e.body is not None else None
        if e.kind == "any":
            return f"any({body} for {var} in {src}{cond})"
        if e.kind == "all":
            return f"all({body} for {var} in {src}{cond})"
        if e.kind == "count":
            if body is None and not cond:
                return f"len({src})"
            test = body if not cond else (f"{self.expr(e.where)} and {body}" if body else self.expr(e.where))  # type: ignore[arg-type]
            return f"sum(1 for {var} in {src} if {test})"
        assert body is not None
        if self.c.type_of(e.body) == t.INT:  # type: ignore[arg-type]
            return f"sum({body} for {var} in {src}{cond})"
        return f"_dsum({body} for {var} in {src}{cond})"

    def prefix_set(self, e: n.Quant) -> str | None:
        """`any(p in S: starts_with(x, p))` over a constant set: one `str.startswith(tuple)`."""
        body = e.body
        if e.kind != "any" or e.where is not None or not isinstance(body, n.Call) \
                or body.func != "starts_with" or not isinstance(body.args[1], n.Name):
            return None
        prefix = body.args[1]
        if not isinstance(prefix, n.Name) or prefix.binding is None or prefix.binding is not e.binds:
            return None
        src = e.source
        values: Any
        if isinstance(src, n.Name) and isinstance(src.binding, SetInfo):
            values = src.binding.values
        elif isinstance(src, n.SetLit) and all(isinstance(x, n.Literal) for x in src.elements):
            values = [x.value for x in src.elements]  # type: ignore[union-attr]
        else:
            return None
        if _mentions_var(body.args[0], e):
            return None
        self._var_names[var_of(e)] = "_U"  # binds nothing: the variable is not read any more
        return f"{self.expr(body.args[0])}.startswith({self.hoist('C', tuple(sorted(values)))})"

    def fuse(self) -> list[str]:
        """One loop per list field for the quantifiers of every rule and invariant over it.

        Each rule's `any`/`all`/`count`/`sum` over a required list field would otherwise run its
        own generator; here they share one pass and leave their results in locals `Qk`. The loop
        runs before the rules, so it evaluates quantifiers a rule might have short-circuited: if
        it raises (a division by zero, say), `Gk` is false and every rule computes its own
        quantifiers as before, so faults are still reported by the rule that meets them.
        """
        groups: dict[int, list[n.Quant]] = {}
        exprs = [inv.expr for inv in self.c.invariants if inv.index_after is None]
        exprs += [rule.when for rule in self.c.rules]
        for e in exprs:
            for q in _top_quants(e):
                b = q.source.binding if isinstance(q.source, n.Name) else None
                if not isinstance(b, FieldRef) or b.field.optional:
                    continue
                if q.kind == "count" and q.body is None and q.where is None:
                    continue
                if q.kind == "any" and self._is_prefix_set(q):
                    continue
                if any(isinstance(x, n.Call) and x.func in ("screen", "matches") for x in n.walk(q)):
                    continue  # a screening call records its hits for its rule: left where it is
                groups.setdefault(b.index, []).append(q)
        lines: list[str] = []
        for index, quants in groups.items():
            if len(quants) < 2:
                continue
            g = f"G{index}"
            loop = f"V{len(self._var_names)}"
            init, body = [], []
            seen: dict[tuple[str, str | None, str | None], str] = {}
            todo: list[tuple[n.Quant, str, str | None, str | None, str | None]] = []
            for q in quants:
                self._var_names[var_of(q)] = loop
                where = self.expr(q.where) if q.where is not None else None
                test = self.expr(q.body) if q.body is not None else None
                if (q.kind, where, test) in seen:  # the same quantifier in two rules: computed once
                    self._fused[var_of(q)] = (seen[q.kind, where, test], g)
                    continue
                res = seen[q.kind, where, test] = f"Q{self._results}"
                self._results += 1
                todo.append((q, res, where, test, self._lead(q, where)))
            # a `where` test that two counts or sums evaluate first on every element (two rules
            # counting and summing the same `like` matches): once per element, in a local `Wk`
            firsts = [lead for q, _, _, _, lead in todo if lead is not None and q.kind in ("count", "sum")]
            shared: dict[str, str] = {}
            for first in firsts:
                if firsts.count(first) > 1 and first not in shared:
                    shared[first] = f"W{self._results}"
                    self._results += 1
                    body.append(f"{shared[first]} = {first}")
            for q, res, where, test, lead in todo:
                if where is not None and lead in shared:
                    where = shared[lead] if lead == where else "(" + shared[lead] + where[1 + len(lead):]
                if q.kind == "any":
                    init.append(f"{res} = False")
                    cond = " and ".join(x for x in (where, test) if x)
                    body.append(f"if not {res} and {cond}: {res} = True")
                elif q.kind == "all":
                    init.append(f"{res} = True")
                    body.append(f"if {res} and {where + ' and ' if where else ''}not {test}: {res} = False")
                elif q.kind == "count":
                    init.append(f"{res} = 0")
                    cond = " and ".join(x for x in (where, test) if x)
                    body.append(f"if {cond}: {res} += 1")
                else:
                    assert q.body is not None and test is not None
                    init.append(f"{res} = 0")
                    add = f"{res} += {test}" if self.c.type_of(q.body) == t.INT else f"{res} = _EXACT.add({res}, {test})"
                    body.append(f"if {where}: {add}" if where else add)
                self._fused[var_of(q)] = (res, g)
            lines += ["try:"] + ["    " + x for x in init] + [f"    for {loop} in F{index}:"] \
                + ["        " + x for x in body] + [f"    {g} = True", "except Exception:", f"    {g} = False"]
        return lines

    def _lead(self, q: n.Quant, where: str | None) -> str | None:
        """What a quantifier's `where` tests first, as rendered: all of it, or its first `and`
        operand when the rendering begins with it (anything else: None, not shared)."""
        if q.where is None or where is None:
            return None
        if isinstance(q.where, n.BoolOp) and q.where.op == "and":
            first = self.expr(q.where.operands[0])
            return first if where.startswith("(" + first + " and ") else None
        return where

    def _is_prefix_set(self, q: n.Quant) -> bool:
        saved = dict(self._var_names)
        try:
            return self.prefix_set(q) is not None
        finally:
            self._var_names = saved

    # -- the decide function
    def emit(self) -> str:
        c = self.c
        assert c.record is not None
        self.preamble: list[str] = []
        fields = list(c.record.fields)
        as_of = f"F{fields.index(c.as_of)}" if c.as_of else "None"
        self.as_of_var = as_of
        # compile conditions first: that is how we learn which lets are read
        fused = ["        " + line for line in self.fuse()]
        invariants: list[str] = fused
        for k, inv in enumerate(c.invariants):
            invariants.append("        " + comment("invariant", k, inv.span.line, inv.span.column))
            invariants += ["        " + line for line in self.invariant(inv)]
        rules = self.rules(as_of)
        validate: list[str] = []
        for k, f in enumerate(c.record.fields.values()):
            validate += ["        " + line for line in self.field_check("rec", f, f"F{k}")]
        head = ["def decide(rec, pos):", "    try:",
                "        if rec.__class__ is not dict and not isinstance(rec, _Mapping):",
                "            raise _RE('the record must be an object')"]
        has_id = "id" in c.record.fields
        catch = ["    except _RE as exc:",
                 f"        return _record_error(rec, pos, exc.message, exc.field, {has_id})"]
        rid = self.rid_lines()
        return "\n".join(self.preamble + head + validate + ["        " + x for x in self.lets()]
                         + invariants + catch + rid + rules) + "\n"

    def rid_lines(self) -> list[str]:
        """`rid = ...`: the decision's id, from the validated `id` field or the position."""
        c = self.c
        assert c.record is not None
        if "id" not in c.record.fields:
            return ["    rid = pos"]
        var = f"F{list(c.record.fields).index('id')}"
        id_type = c.record.fields["id"].type
        if not isinstance(id_type, (t.Prim, t.EnumT)):  # a struct, list or set: its one printed form
            canon = self.hoist("ID", functools.partial(r.id_value, typ=id_type))
            value = f"{canon}(rec['id'])"
        else:
            value = var
        if c.record.fields["id"].optional:
            return [f"    rid = {value} if {var} is not None else pos"]
        return [f"    rid = {value}"]

    def lets(self) -> list[str]:
        """A lazily computed local and its closure for every `let` read (and the lets those read)."""
        lines: list[str] = []
        done: set[str] = set()
        while pending := sorted(self._uses_lets - done, key=lambda x: self.c.lets[x].index):
            for name in pending:
                done.add(name)
                k = self.c.lets[name].index
                body = self.let_value(self.c.lets[name].expr)  # may add lets to self._uses_lets
                lines += [f"L{k} = _U", f"def _l{k}():", f"    nonlocal L{k}", f"    L{k} = {body}", f"    return L{k}"]
        return lines

    def let_value(self, e: n.Expr) -> str:
        """A `let`'s value as its local holds it (the fast path holds numbers scaled)."""
        return self.expr(e)

    def rules(self, as_of: str) -> list[str]:
        c = self.c
        first = stops_at_match(c.combine)  # the generated code returns at the first match
        cites = any(rule.sites for rule in c.rules)
        # matches as a bit mask (bit k for rule k): no list, no tuple, a free hash (Combiner.decide_mask)
        lines = [] if first else ["    M = 0"]
        if cites and not first:
            lines.append("    C = None")
        for rule in c.rules:
            self._rule = rule.id
            window = []
            if rule.effective:
                window.append(f"{self.const(rule.effective)} <= {as_of}")
            if rule.expires:
                window.append(f"{as_of} < {self.const(rule.expires)}")
            full = " and ".join(window + [self.expr(rule.when)])
            bit = lit(1 << rule.index) if rule.index < 62 else self.hoist("B", 1 << rule.index)
            if not rule.sites:
                hit = f"return _combine(({rule.index},), rid, {as_of})" if first else f"M |= {bit}"
            elif first:
                hit = f"return _combine(({rule.index},), rid, {as_of}, {{{rule.index}: {self.cite(rule)}}})"
            else:
                hit = f"M |= {bit}; C = C or {{}}; C[{rule.index}] = {self.cite(rule)}"
            lines += ["    " + comment("rule", rule.index, rule.span.line, rule.span.column), "    try:",
                      f"        if {full}: {hit}",
                      "    except Exception as exc:", f"        return _fault(rid, {lit(rule.id)}, exc)"]
        self._rule = None
        if first:
            lines.append(f"    return _combine((), rid, {as_of})")
        else:
            lines.append(f"    return _combine_mask(M, rid, {as_of}{', C' if cites else ''})")
        return lines

    def invariant(self, inv: Any) -> list[str]:
        msg = lit(inv.message)
        on = tuple(inv.on or ())
        e = inv.expr
        if inv.index_after is not None:
            assert isinstance(e, n.Quant) and e.body is not None
            var = ident("V", len(self._var_names))
            self._var_names[var_of(e)] = var
            before, after = on[: inv.index_after], on[inv.index_after :]
            where = f"({self.expr(e.where)}) and " if e.where is not None else ""
            path = ", ".join(lit(x) for x in before) + ", k, " + ", ".join(lit(x) for x in after)
            lines = [f"for k, {var} in enumerate({self.expr(e.source)}):",
                     f"    if {where}not {self.expr(e.body)}: raise _RE({msg}, {path.strip(', ')})"]
        else:
            lines = [f"if not {self.expr(e)}: raise _RE({msg}{''.join(', ' + lit(x) for x in on)})"]
        return ["try:"] + ["    " + x for x in lines] + [
            "except _Fault as exc:",
            f"    raise _RE({msg} + ' (' + str(exc) + ')'{''.join(', ' + lit(x) for x in on)}) from None"]


_UNSET = object()


def _cite(*thunks: Callable[[], list[tuple[str, Any]]]) -> list[tuple[str, Any]]:
    """Run each membership test's lookup; one that faults cites nothing (as in the interpreter)."""
    out: list[tuple[str, Any]] = []
    for thunk in thunks:
        try:
            out.extend(thunk())
        except Exception:
            continue
    return out


def _enum_check(members: tuple[str, ...]) -> Callable[[Any], str]:
    return lambda value: r.enum(value, members)


def _literal_like(subject: str, pattern: str) -> str | None:
    """A `like` pattern of literal characters and `*` at its ends only, as a string test."""
    globs = v.parse_pattern(pattern)
    lead = bool(globs) and globs[0].kind == "any"
    trail = len(globs) > int(lead) and globs[-1].kind == "any"
    middle = globs[int(lead): len(globs) - int(trail)]
    if any(g.kind != "char" for g in middle):
        return None
    text = lit("".join(g.char for g in middle))
    if lead and trail:
        return f"({text} in {subject})"
    if trail:
        return f"{subject}.startswith({text})"
    if lead:
        return f"{subject}.endswith({text})"
    return f"({subject} == {text})"


_MAX_PREFIXES = 64


def _class_prefixes(pattern: str) -> tuple[str, ...] | None:
    """The prefixes a pattern of characters and classes then one `*` stands for (`3[A-E]*`: `3A`
    to `3E`), when there are at most `_MAX_PREFIXES`: one `str.startswith(tuple)`, no regex."""
    globs = v.parse_pattern(pattern)
    if len(globs) < 2 or globs[-1].kind != "any" or not any(g.kind == "class" for g in globs):
        return None
    prefixes = [""]
    for g in globs[:-1]:
        if g.kind == "char":
            chars = [g.char]
        elif g.kind == "class" and not g.negate:
            if sum(ord(hi) - ord(lo) + 1 for lo, hi in g.ranges) > _MAX_PREFIXES:
                return None
            chars = sorted({chr(c) for lo, hi in g.ranges for c in range(ord(lo), ord(hi) + 1)})
        else:
            return None
        prefixes = [p + c for p in prefixes for c in chars]
        if len(prefixes) > _MAX_PREFIXES:
            return None
    return tuple(prefixes)


def _top_quants(e: n.Expr) -> list[n.Quant]:
    """The quantifiers of `e` that are not inside another quantifier, in source order."""
    out: list[n.Quant] = []
    stack: list[n.Expr] = [e]
    while stack:
        node = stack.pop()
        if isinstance(node, n.Quant):
            out.append(node)
            continue
        stack.extend(reversed(n.children(node)))
    return out


def _mentions_var(e: n.Expr, q: n.Quant) -> bool:
    return any(isinstance(x, n.Name) and x.binding is not None and x.binding is q.binds for x in n.walk(e))


def _is_const_name(e: n.Expr) -> bool:
    return isinstance(e, n.Name) and isinstance(e.binding, ConstInfo)


#: emits `decide_fast` in front of `decide` for a policy it can, or returns None (fastpath.emit)
FastPath = Callable[[Checked, "_Emitter"], "str | None"]


def compile_policy(checked: Checked, guard: FastPath | None = None) -> tuple[Decide, str, Callable[[], Decide] | None]:
    """The `decide(record, position)` function of a checked policy, and its generated source.

    With `guard`, the source also holds the guarded fast path it emits (`decide_fast`), and the
    third value audits, compiles and returns it: on first use, so that loading alone (`ecrules
    check`, a policy that is tested but never run) does not pay for compiling the rules twice."""
    if checked.record is None:
        return _no_record(checked), "# this file declares no record: it holds types, sets and constants\n", None
    emitter = _Emitter(checked)
    source = emitter.emit()
    fast = guard(checked, emitter) if guard is not None else None  # None: outside the fast path's subset
    combiner = Combiner(checked)
    namespace = dict(emitter.globals)
    namespace.update({
        "_combine": combiner.decide, "_combine_mask": combiner.decide_mask, "_fault": combiner.fault, "_record_error": combiner.record_error,
        "_masks": combiner.masks, "_Decision": Decision, "_tuple_new": tuple.__new__,
        "_Fault": v.Fault,
    })
    audit(source, namespace)
    # the file name is for tracebacks only, but written safe all the same (`repr`, one line)
    filename = f"<ecrules {checked.module.span.source.name!r} #{next(_counter)}>"
    code = compile(source, filename, "exec")
    full = source if fast is None else source + "\n" + fast
    linecache.cache[filename] = (len(full), None, full.splitlines(True), filename)
    exec(code, namespace)
    decide: Decide = namespace["decide"]
    if fast is None:
        return decide, full, None
    fast_source = fast

    def build() -> Decide:
        audit(fast_source, namespace)
        # blank lines first: its line numbers are those of the full source (tracebacks, linecache)
        exec(compile("\n" * (source.count("\n") + 1) + fast_source, filename, "exec"), namespace)
        fast_decide: Decide = namespace["decide_fast"]
        return fast_decide

    return decide, full, build


def _no_record(checked: Checked) -> Decide:
    """A library file (types, sets, constants) decides nothing: every record gets an `error`."""
    message = f"policy `{checked.name}` declares no record: it cannot decide records"

    def decide(record: Any, position: int) -> Decision:
        return Decision(position, "error", (), (), (), checked.name, checked.version, DecisionError(message))

    return decide
