"""A guarded fast path in front of the compiled `decide`: the common record, decided cheaply.

`compiler.py` generates the general `decide`, which validates every value into its exact run-time
form (a `Decimal` per float amount), runs each rule in its own `try`, and reports every fault and
record error. Most records are valid, their amounts are floats with a few decimals, and no rule
faults on them. For a policy within the subset below, a second function, `decide_fast`, is
generated that assumes exactly that and hands the record to `decide` the moment an assumption
fails (a value of an unexpected type, an invalid value, a broken invariant, any exception), so
every decision it returns is the one `decide` would return, and every error comes from `decide`.

What it does differently:

- numbers are exact integers scaled by `10**places` (`places` covers every decimal constant of
  the policy, at least 2): a float `f` becomes `n = round(f * S)` when `n / S == f` and
  `|n| < 10**15`, which proves `repr(f)`, the decimal the language takes a float as, equals
  `n / S` (two decimals of at most 15 significant digits never round to the same double).
  Sums, differences, products by an integer and comparisons of such integers are exact and
  order the same way the decimals do. Any other float (NaN, infinities, more decimals, huge)
  goes to `decide`;
- a list of structs read only by quantifiers is validated and quantified in one loop, element
  fields in locals, no tuple built; every quantifier over it is computed in that loop;
- the rules run in one `try` (any fault: to `decide`, which names the rule).

A policy outside the subset (number division, number `let`s, numbers in sets or functions,
screening, a fused list read outside a quantifier) gets no fast path: `Refuse` is raised while
emitting, and `decide` alone is used.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

from . import nodes as n
from . import types as t
from . import values as v
from .checked import Checked, ConstInfo, FieldRef, LetInfo, SetInfo, VarRef, var_of
from .compiler import _Emitter, _top_quants
from .literals import MAX_EXPONENT, decimal_in_range
from .pysource import comment, ident, lit
from .semantics import operators as ops
from .semantics.combining import stops_at_match

MIN_PLACES = 2
MAX_PLACES = 6
_BOUND = 10**15  # at most 15 significant digits: the decimal is the float's `repr`
_BAIL = "return decide(rec, pos)"
_ORDER = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class Refuse(Exception):
    """The policy is outside the fast path's subset: `decide` alone is used."""


def scaled(value: Any, places: int) -> int:
    """A `Decimal` (or anything else that is not a float or int) as an exact integer scaled by
    `10**places`; raises when it is not one (the fast path then hands the record to `decide`)."""
    if value.__class__ is not Decimal or not value.is_finite() or not decimal_in_range(value):
        raise Refuse("not a decimal in range")
    s = value.scaleb(places, v.EXACT)
    i = int(s)
    if s != i:
        raise Refuse("more places than the fast path keeps")
    return i


class Memo(dict[str, Any]):
    """A pure function of one string, by its argument: the same codes recur record after record,
    and a dict hit is cheaper than a regex or a prefix search. Bounded (short strings only,
    emptied when full): memory stays flat whatever the stream."""

    __slots__ = ("_fn",)
    MAX_ENTRIES = 4096
    MAX_SUBJECT = 256

    def __init__(self, fn: Callable[[str], Any]):
        super().__init__()
        self._fn = fn

    def __missing__(self, subject: str) -> Any:
        value = self._fn(subject)
        if len(subject) <= self.MAX_SUBJECT:
            if len(self) >= self.MAX_ENTRIES:
                self.clear()
            self[subject] = value
        return value


class LikeMemo(Memo):
    """`subject like pattern`, by subject."""

    __slots__ = ()

    def __init__(self, matcher: v.GlobMatcher):
        match = matcher.fullmatch
        super().__init__(lambda subject: match(subject) is not None)


#: functions an element test remembered per value may call (pure functions of text)
_PURE = frozenset({"starts_with", "lower", "upper", "normalize", "len"})


class FastEmitter(_Emitter):
    def __init__(self, checked: Checked, slow: _Emitter):
        super().__init__(checked)
        # one module: the slow emitter's globals, hoisted constants and validator functions
        self.globals = slow.globals
        self._hoisted = slow._hoisted
        self._struct_fns = slow._struct_fns
        self._locals = slow._locals + 1000  # H locals of our own
        self.places = _places(checked)
        self.scale: int = 10**self.places
        self._temps = 0
        self._numbers: set[int] = set()                     # record fields held as scaled integers
        self._lists: dict[int, dict[str, str]] = {}          # fused list field -> element field -> local
        self._loop_vars: dict[VarRef, dict[str, str]] = {}   # a fused quantifier's variable -> its locals
        self._results: int = 0
        self._quant_result: dict[VarRef, str] = {}
        self._memos: dict[str, str] = {}  # a `like` pattern -> its memo's name
        self._atom_code: dict[int, str] = {}  # id of an element test -> where the loop finds it
        self._memo_count = 0

    # -- numbers as scaled integers
    def expr(self, e: n.Expr) -> str:
        atom = self._atom_code.get(id(e))
        if atom is not None:  # an element test read from its memo (`memo_tests`)
            return atom
        if getattr(e, "type", None) == t.NUMBER:
            raise Refuse("a number outside a comparison or sum")
        return super().expr(e)

    def num(self, e: n.Expr) -> str:
        """`e` (of type number or int) as an exact integer scaled by `self.scale`."""
        typ = self.c.type_of(e)
        if typ == t.INT:
            return f"({self.expr(e)} * {self.scale})"
        if typ != t.NUMBER:
            raise Refuse("not a number")
        if isinstance(e, n.Literal):
            return lit(self.const_scaled(e.value))
        if isinstance(e, n.Name):
            b = e.binding
            if isinstance(b, ConstInfo):
                return lit(self.const_scaled(b.value))
            if isinstance(b, FieldRef) and b.index in self._numbers:
                return f"F{b.index}"
            if isinstance(b, LetInfo):  # computed scaled, once, when first read (let_value)
                self._uses_lets.add(b.name)
                return f"(L{b.index} if L{b.index} is not _U else _l{b.index}())"
            raise Refuse("a number read from something other than a field or constant")
        if isinstance(e, n.Attr):
            return self.attr(e)
        if isinstance(e, n.Arith) and e.op in ("+", "-"):
            return f"({self.num(e.left)} {e.op} {self.num(e.right)})"
        if isinstance(e, n.Arith) and e.op == "*":
            if self.c.type_of(e.left) == t.INT:
                return f"({self.expr(e.left)} * {self.num(e.right)})"
            if self.c.type_of(e.right) == t.INT:
                return f"({self.num(e.left)} * {self.expr(e.right)})"
        if isinstance(e, n.Neg):
            return f"(-{self.num(e.operand)})"
        if isinstance(e, n.Quant) and e.kind == "sum" and var_of(e) in self._quant_result:
            return self._quant_result[var_of(e)]
        raise Refuse("a number expression the fast path does not keep exact")

    def const_scaled(self, value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value) * self.scale
        if not isinstance(value, Decimal):
            raise Refuse("not a number constant")
        return scaled(value, self.places)

    def field_check(self, obj: str, f: t.Field, var: str) -> list[str]:
        """As the compiler's, without the tests for a missing or null required field: a missing
        key raises, every conversion refuses `None` by itself (a class test), and here any
        refusal just means `decide`."""
        conv = self.convert(var, f.type, (f.name,)) if not f.optional else []
        if not conv:
            return super().field_check(obj, f, var)
        return [f"{var} = {obj}[{lit(f.name)}]"] + conv  # a missing key raises: `decide` names it

    def let_value(self, e: n.Expr) -> str:
        return self.num(e) if self.c.type_of(e) == t.NUMBER else self.expr(e)

    def convert(self, var: str, typ: t.Type, path: tuple[str | int, ...]) -> list[str]:
        if typ != t.NUMBER:
            return super().convert(var, typ, path)
        tmp = f"T{self._temps}"
        self._temps += 1
        s = self.scale
        # NaN and infinities raise in `round`; a float the check refuses raises in `_scaled`
        return [f"if {var}.__class__ is float:",
                f"    {tmp} = round({var} * {s})",
                f"    if {tmp} / {s} != {var} or not {-_BOUND} < {tmp} < {_BOUND}: {tmp} = _scaled({var}, {self.places})",
                f"    {var} = {tmp}",
                f"elif {var}.__class__ is int: {var} = {var} * {s}",
                # a decimal within the exponent range, of at most `places` places: exactly a fraction
                # whose denominator divides S (NaN and infinities raise in `as_integer_ratio`)
                f"elif {var}.__class__ is _Dec and {var}.adjusted() <= {MAX_EXPONENT}:",
                f"    {tmp}, U{tmp[1:]} = {var}.as_integer_ratio()",
                f"    {var} = {tmp} * ({s} // U{tmp[1:]}) if {s} % U{tmp[1:]} == 0 else _scaled({var}, {self.places})",
                f"else: {var} = _scaled({var}, {self.places})"]

    def element_fn(self, typ: t.Type) -> str:
        """As the compiler's, under names of its own (the general `decide`'s convert to decimals)."""
        name = ident("_fe", len(self.preamble))
        body = [f"def {name}(x):"] + ["    " + line for line in self.convert("x", typ, ())] + ["    return x", ""]
        self.preamble.extend(body)
        return name

    def like_test(self, subject: str, pattern: str) -> str:
        memo = self._memos.get(pattern)
        if memo is None:
            memo = self._memos[pattern] = self.hoist("LM", LikeMemo(v.compile_pattern(pattern)))
        return f"{memo}[{subject}]"

    # -- reads
    def visit_Name(self, e: n.Name) -> str:
        b = e.binding
        if isinstance(b, FieldRef) and b.index in self._lists:
            raise Refuse("a fused list read outside a quantifier")
        if isinstance(b, VarRef) and b in self._loop_vars:
            raise Refuse("a fused element read whole")
        return super().visit_Name(e)

    def visit_Call(self, e: n.Call) -> str:
        arg = e.args[0] if e.args else None
        if e.func == "normalize" and isinstance(arg, (n.Name, n.Attr)):
            # the cache `values.normalize` reads, read here without the call ("" is looked up again)
            text = self.expr(arg)
            return f"(_normalized.get({text}) or _normalize({text}))"
        if e.func == "len" and isinstance(arg, n.Name) and isinstance(arg.binding, FieldRef) \
                and arg.binding.index in self._lists:
            return f"len(F{arg.binding.index})"  # the record's own list: as long as its validated tuple
        return super().visit_Call(e)

    def visit_Attr(self, e: n.Attr) -> str:
        return self.attr(e)

    def attr(self, e: n.Attr) -> str:
        obj = e.obj
        if isinstance(obj, n.Name) and isinstance(obj.binding, VarRef) and obj.binding in self._loop_vars:
            return self._loop_vars[obj.binding][e.name]
        if self.c.type_of(e) == t.NUMBER:
            # a field of an inline struct of the record is validated here (scaled); anything deeper
            # (a struct validated by a shared function, an element of another list) is not
            if not (isinstance(obj, n.Name) and isinstance(obj.binding, FieldRef)
                    and isinstance(obj.binding.field.type, t.StructT)):
                raise Refuse("a number inside a value the fast path does not validate")
        return super().visit_Attr(e)

    def has(self, path: n.Expr) -> str:
        reads = [(self.num(p) if self.c.type_of(p) == t.NUMBER else self.expr(p)) for p in self.c.optional_reads(path)]
        return "(" + " and ".join(f"{r} is not None" for r in reads) + ")" if reads else "True"

    def visit_Compare(self, e: n.Compare) -> str:
        if t.NUMBER in (self.c.type_of(e.left), self.c.type_of(e.right)):
            if e.op not in _ORDER:
                raise Refuse("a number in a membership test")
            return f"({self.num(e.left)} {_ORDER[e.op]} {self.num(e.right)})"
        return super().visit_Compare(e)

    def visit_Quant(self, e: n.Quant) -> str:
        res = self._quant_result.get(var_of(e))
        if res is not None:
            return res
        if isinstance(e.source, n.Name) and isinstance(e.source.binding, FieldRef) \
                and e.source.binding.index in self._lists:
            raise Refuse("a quantifier over a fused list inside another")
        return super().visit_Quant(e)

    # -- the fused lists
    def plan(self) -> dict[int, list[n.Quant]]:
        """The list fields to fuse, with every quantifier over each."""
        c = self.c
        assert c.record is not None
        exprs = [rule.when for rule in c.rules] + [let.expr for let in c.lets.values()]
        quants: list[n.Quant] = []
        for inv in c.invariants:
            if inv.index_after is not None:
                if not isinstance(inv.expr, n.Quant) or inv.expr.kind != "all":
                    raise Refuse("an element invariant that is not `all`")
                quants.append(inv.expr)
            else:
                exprs.append(inv.expr)
        for e in exprs:
            quants += _top_quants(e)
        groups: dict[int, list[n.Quant]] = {}
        for q in quants:
            b = q.source.binding if isinstance(q.source, n.Name) else None
            if isinstance(b, FieldRef) and _fusable(b.field):
                groups.setdefault(b.index, []).append(q)
        for rule in c.rules:
            for site in rule.sites:
                for q in site.quants:
                    b = q.source.binding if isinstance(q.source, n.Name) else None
                    if isinstance(b, FieldRef) and b.index in groups:
                        raise Refuse("a membership test citing the elements of a fused list")
        return groups

    def fused_loop(self, index: int, field: t.Field, quants: list[n.Quant]) -> list[str]:
        typ = field.type
        assert isinstance(typ, t.ListT) and isinstance(typ.elem, t.StructT)
        var = f"F{index}"
        locals_ = {name: f"Y{index}{k:02d}" for k, name in enumerate(typ.elem.fields)}
        for q in quants:
            self._loop_vars[var_of(q)] = locals_
        lines = [f"{var} = rec.get({lit(field.name)})",
                 f"if {var}.__class__ is not list: {_BAIL}"]
        body = ["if x.__class__ is not dict: " + _BAIL]
        for name, f in typ.elem.fields.items():
            body += self.field_check("x", f, locals_[name])
        body += self.memo_tests(quants, typ.elem, locals_)
        init: list[str] = []
        update: list[str] = []
        seen: dict[tuple[str, str | None, str | None], str] = {}
        for q in quants:
            where = self.expr(q.where) if q.where is not None else None
            number = q.kind == "sum" and q.body is not None and self.c.type_of(q.body) == t.NUMBER
            test = (self.num(q.body) if number else self.expr(q.body)) if q.body is not None else None
            key = (q.kind, where, test)
            if key in seen:
                self._quant_result[var_of(q)] = seen[key]
                continue
            res = seen[key] = f"Q{self._results}"
            self._results += 1
            self._quant_result[var_of(q)] = res
            if q.kind == "any":
                init.append(f"{res} = False")
                cond = " and ".join(x for x in (where, test) if x)
                update.append(f"if not {res} and {cond}: {res} = True")
            elif q.kind == "all":
                init.append(f"{res} = True")
                update.append(f"if {res} and {where + ' and ' if where else ''}not {test}: {res} = False")
            elif q.kind == "count":
                init.append(f"{res} = 0")
                cond = " and ".join(x for x in (where, test) if x)
                update.append(f"if {cond}: {res} += 1" if cond else f"{res} += 1")
            else:
                assert test is not None
                init.append(f"{res} = 0")
                update.append(f"if {where}: {res} += {test}" if where else f"{res} += {test}")
        self._atom_code.clear()
        return lines + init + [f"for x in {var}:"] + ["    " + x for x in body + update]

    def memo_tests(self, quants: list[n.Quant], elem: t.StructT, locals_: dict[str, str]) -> list[str]:
        """The tests of one text field of the element (`like`, `in` a set, `starts_with`) made in
        the loop's quantifiers, computed together once per distinct value (`Memo`): one dict
        lookup an element, and each test then reads its place in the tuple."""
        loop_vars = {var_of(q) for q in quants}
        by_field: dict[str, list[n.Expr]] = {}
        for q in quants:
            for part in (q.where, q.body):
                for e in _outside_quants(part):
                    name = self._memo_field(e, loop_vars, elem)
                    if name is not None:
                        by_field.setdefault(name, []).append(e)
        lines: list[str] = []
        for name, atoms in by_field.items():
            saved = locals_[name]
            locals_[name] = "y0"
            rendered = [self.expr(a) for a in atoms]
            locals_[name] = saved
            places: dict[str, int] = {}
            for text in rendered:
                places.setdefault(text, len(places))
            if len(places) < 2:
                continue
            k = self._memo_count
            self._memo_count += 1
            self.preamble += [f"def _pb{k}(y0):", f"    return ({', '.join(places)},)", f"PM{k} = _Memo(_pb{k})", ""]
            lines.append(f"B{k} = PM{k}[{saved}]")
            for atom, text in zip(atoms, rendered):
                self._atom_code[id(atom)] = f"B{k}[{places[text]}]"
        return lines

    def _memo_field(self, e: n.Expr, loop_vars: set[VarRef], elem: t.StructT) -> str | None:
        """The one required text field of the element that `e` tests, when `e` is a pure test of
        it and constants worth remembering per value (`==` and `!=` cost less than a lookup)."""
        if getattr(e, "type", None) != t.BOOL:
            return None
        if not (isinstance(e, n.Compare) and e.op in ("like", "not like", "in", "not in")
                or isinstance(e, n.Call) and e.func == "starts_with"):
            return None
        fields: set[str] = set()
        reads = 0
        for x in n.walk(e):
            if isinstance(x, n.Quant) or isinstance(x, n.Call) and x.func not in _PURE:
                return None
            if isinstance(x, n.Attr) and isinstance(x.obj, n.Name) and x.obj.binding in loop_vars:
                fields.add(x.name)
                reads += 1
            elif isinstance(x, n.Name):
                b = x.binding
                if isinstance(b, VarRef):
                    reads -= b in loop_vars  # read through its field (counted above), or not at all
                    if b not in loop_vars:
                        return None
                elif isinstance(b, SetInfo):
                    if self.c.as_of is not None and b.has_bases:
                        return None  # members by date
                elif not isinstance(b, ConstInfo):
                    return None
        if reads != 0 or len(fields) != 1:
            return None
        (name,) = fields
        f = elem.fields[name]
        return name if not f.optional and f.type in (t.STRING, t.COUNTRY) else None

    # -- the function
    def emit_fast(self) -> str:
        c = self.c
        assert c.record is not None
        if c.screenings:
            raise Refuse("screening records its hits as it runs")
        fields = list(c.record.fields.values())
        if "id" in c.record.fields and c.record.fields["id"].type == t.NUMBER:
            raise Refuse("a number id")
        groups = self.plan()
        for index in groups:
            self._lists[index] = {}
        for k, f in enumerate(fields):
            if f.type == t.NUMBER:
                self._numbers.add(k)
        self.preamble = []
        as_of = f"F{[f.name for f in fields].index(c.as_of)}" if c.as_of else "None"
        self.as_of_var = as_of
        validate: list[str] = []
        for k, f in enumerate(fields):
            if k not in groups:
                validate += self.field_check("rec", f, f"F{k}")
        for k, quants in groups.items():
            validate += self.fused_loop(k, fields[k], quants)
        checks: list[str] = []
        for k, inv in enumerate(c.invariants):
            checks.append(comment("invariant", k, inv.span.line, inv.span.column))
            cond = self.visit_Quant(inv.expr) if isinstance(inv.expr, n.Quant) and inv.index_after is not None \
                else self.expr(inv.expr)
            checks.append(f"if not {cond}: {_BAIL}")
        rules = self.fast_rules(as_of)
        lets = self.lets()
        rid = [x.strip() for x in self.rid_lines()]
        head = ["def decide_fast(rec, pos):",
                "    try:",
                f"        if rec.__class__ is not dict: {_BAIL}"]
        body = validate + lets + checks + rid + rules
        return "\n".join(self.preamble + head + ["        " + x for x in body]
                         + ["    except Exception:", f"        {_BAIL}", ""])

    def fast_rules(self, as_of: str) -> list[str]:
        c = self.c
        first = stops_at_match(c.combine)
        cites = any(rule.sites for rule in c.rules)
        lines = [] if first else ["M = 0"]
        if cites and not first:
            lines.append("C = None")
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
            lines += [comment("rule", rule.index, rule.span.line, rule.span.column), f"if {full}: {hit}"]
        self._rule = None
        if first:
            lines.append(f"return _combine((), rid, {as_of})")
        else:
            # a decision built before for these matches (no date in its bases, no member cited):
            # the shared fields after the id, read here without a call
            if cites:
                lines.append("if C is None:")
            pad = "    " if cites else ""
            lines += [f"{pad}R = _masks.get(M)",
                      f"{pad}if R.__class__ is dict: R = R.get({as_of})",
                      f"{pad}if R.__class__ is tuple: return _tuple_new(_Decision, (rid,) + R)"]
            lines.append(f"return _combine_mask(M, rid, {as_of}{', C' if cites else ''})")
        return lines


def _outside_quants(e: n.Expr | None) -> list[n.Expr]:
    """`e` and its sub-expressions, not entering a nested quantifier."""
    out: list[n.Expr] = []
    stack = [e] if e is not None else []
    while stack:
        x = stack.pop()
        out.append(x)
        if not isinstance(x, n.Quant):
            stack.extend(n.children(x))
    return out


def _fusable(f: t.Field) -> bool:
    """A required list of flat structs (scalars and enums): validated and quantified in one loop."""
    typ = f.type
    return (not f.optional and isinstance(typ, t.ListT) and isinstance(typ.elem, t.StructT)
            and all(isinstance(x.type, (t.Prim, t.EnumT)) for x in typ.elem.fields.values()))


def _places(checked: Checked) -> int:
    """Decimal places that keep every number constant of the policy an exact scaled integer."""
    places = MIN_PLACES
    values: list[Any] = [c.value for c in checked.consts.values()]
    exprs = [r.when for r in checked.rules] + [x.expr for x in checked.lets.values()] \
        + [i.expr for i in checked.invariants]
    for e in exprs:
        values += [x.value for x in n.walk(e) if isinstance(x, n.Literal)]
    for value in values:
        if isinstance(value, Decimal) and value.is_finite():
            places = max(places, -int(value.as_tuple().exponent))
    if places > MAX_PLACES:
        raise Refuse("a constant with more places than the fast path keeps")
    return places


def emit(checked: Checked, slow: _Emitter) -> str | None:
    """The source of `decide_fast` for a policy within the subset, or None."""
    try:
        source = FastEmitter(checked, slow).emit_fast()
    except (Refuse, ops.Unsupported):
        return None
    slow.globals["_scaled"] = scaled
    slow.globals["_normalized"] = v._NORMALIZED
    slow.globals["_Memo"] = Memo
    return source
