"""Compile a checked policy to one SQL query: per record, validity, each rule's match, basis dates.

One generator (`SqlGen`) walks the checked AST; everything that differs between SQL engines sits
in a `Dialect` (identifier and string quoting, lambdas and list functions, regular expressions,
date differences, user functions), as sqlglot separates its dialects. `DUCKDB` is the default,
`SPARK` runs the same query on Spark SQL.
Spark runs no Python UDF inside a lambda, so on Spark the text functions inside quantifiers are
computed outside the lambda (`SqlGen._hoisted_udf`, docs/spark.md).

What the query computes, per input row (the canonical table of `canon.py`):

- `__ok`: the record passes the domain checks that the canonical column types do not already
  guarantee (required fields present, list elements not null, country codes and enum members
  valid) and every invariant holds. A row that is not ok is decided by the row engine, which
  gives the exact `error` decision.
- `__m0, __m1, ...`: bit masks of the matching rules (62 rules a column), validity windows
  included.
- `__b0, ...`: bit masks of the distinct basis `from`/`until` windows in force on `as_of`.

Outcome, fired rules, obligations and basis follow from those masks alone, through the shared
`Combiner` (engine.py), once per distinct combination.

What the SQL engines cannot express exactly raises `Unsupported` when the query is built (at
load), naming the construct and where it is.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import attrs

from .. import nodes as n
from .. import types as t
from ..checked import Site
from ..checker import Checked, ConstInfo, FieldRef, LetInfo, SetInfo, VarRef
from ..countries import COUNTRIES
from ..values import parse_pattern

#: Input numbers are held as DECIMAL(38, NUMBER_SCALE): up to 9 places after the point and 29
#: before it. A record value outside that range is decided by the row engine.
NUMBER_SCALE = 9
NUMBER_SQL = f"DECIMAL(38, {NUMBER_SCALE})"
#: Named sets with more entries than this are not written into the query text: they become a
#: registered table (a semi-join) or, inside a list lambda, a vectorised membership function.
INLINE_SET_LIMIT = 1000
#: A quantifier over a constant set is unrolled when its variable is a `like` pattern.
UNROLL_LIMIT = 256
#: Quantifiers nested deeper than this are left to the row engine: DuckDB binds nested list
#: lambdas in memory that doubles every level or so (16 levels took 870 MB, 20 over 4 GB)
QUANT_NESTING_LIMIT = 10
MASK_BITS = 62
#: the text functions that run as UDFs (`ecr_NAME`; `ecr_NAME_each` maps a list of texts)
TEXT_UDFS = ("normalize", "lower", "upper")


class Unsupported(Exception):
    """The policy uses a construct that the columnar compiler cannot express exactly."""

    def __init__(self, construct: str, where: object = None):
        self.construct = construct
        self.where = str(where) if where is not None else None
        at = f" at {self.where}" if self.where else ""
        super().__init__(f"the columnar engine cannot express {construct}{at}")


# ---- dialects --------------------------------------------------------------------------------


class Dialect:
    name = "abstract"
    #: the engine runs the text UDFs (`ecr_normalize`, ...) inside a list lambda; Spark does not
    #: (Python UDFs in a higher-order function): those calls are hoisted out of the lambda
    udf_in_lambda = True

    def ident(self, name: str) -> str:
        raise NotImplementedError

    def string(self, s: str) -> str:
        raise NotImplementedError

    def lam(self, var: str, body: str) -> str:
        raise NotImplementedError

    def list_filter(self, src: str, var: str, cond: str, index: str | None = None) -> str:
        raise NotImplementedError

    def list_transform(self, src: str, var: str, body: str, index: str | None = None) -> str:
        raise NotImplementedError

    def list_item(self, src: str, index: str) -> str:
        raise NotImplementedError

    def list_len(self, src: str) -> str:
        raise NotImplementedError

    def list_sum(self, src: str, zero: str) -> str:
        raise NotImplementedError

    def list_contains(self, src: str, x: str) -> str:
        raise NotImplementedError

    def list_distinct(self, src: str) -> str:
        raise NotImplementedError

    def list_literal(self, elems: list[str]) -> str:
        raise NotImplementedError

    def field(self, obj: str, name: str) -> str:
        return f"{obj}.{self.ident(name)}"

    def full_match(self, x: str, regex: str) -> str:
        raise NotImplementedError

    def days_between(self, a: str, b: str) -> str:
        raise NotImplementedError

    def starts_with(self, s: str, prefix: str) -> str:
        raise NotImplementedError

    def text_len(self, s: str) -> str:
        return f"length({s})"

    def date(self, d: datetime.date) -> str:
        return f"DATE '{d.isoformat()}'"

    def decimal(self, d: Decimal) -> str:
        sign, digits, exp = d.as_tuple()
        assert isinstance(exp, int)
        scale = max(0, -exp)
        prec = max(len(digits) + max(exp, 0), scale + 1)
        if prec > 38:
            raise Unsupported(f"the number {d} (more than 38 digits)")
        return f"CAST({self.string(str(d))} AS DECIMAL({prec}, {scale}))"

    def big_set_lambda(self, x: str, set_name: str) -> str:
        raise Unsupported(f"a set of more than {INLINE_SET_LIMIT} entries inside a quantifier on {self.name}")

    def big_set(self, x: str, set_name: str) -> str:
        raise Unsupported(f"a set of more than {INLINE_SET_LIMIT} entries on {self.name}")


class DuckDB(Dialect):
    name = "duckdb"

    def ident(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def string(self, s: str) -> str:
        return "'" + s.replace("'", "''") + "'"

    def lam(self, var: str, body: str) -> str:
        return f"lambda {var}: {body}"

    def list_filter(self, src: str, var: str, cond: str, index: str | None = None) -> str:
        assert index is None
        return f"list_filter({src}, {self.lam(var, cond)})"

    def list_transform(self, src: str, var: str, body: str, index: str | None = None) -> str:
        assert index is None
        return f"list_transform({src}, {self.lam(var, body)})"

    def list_len(self, src: str) -> str:
        return f"len({src})"

    def list_sum(self, src: str, zero: str) -> str:
        return f"coalesce(list_sum({src}), {zero})"

    def list_contains(self, src: str, x: str) -> str:
        return f"list_contains({src}, {x})"

    def list_distinct(self, src: str) -> str:
        return f"list_distinct({src})"

    def list_literal(self, elems: list[str]) -> str:
        return "[" + ", ".join(elems) + "]"

    def full_match(self, x: str, regex: str) -> str:
        return f"regexp_full_match({x}, {self.string('(?s)' + regex)})"

    def days_between(self, a: str, b: str) -> str:
        return f"date_diff('day', {a}, {b})"

    def starts_with(self, s: str, prefix: str) -> str:
        return f"starts_with({s}, {prefix})"

    def big_set(self, x: str, set_name: str) -> str:
        return f"({x} IN (SELECT v FROM {self.ident(set_name)}))"

    def big_set_lambda(self, x: str, set_name: str) -> str:
        return f"{set_name}_in({x})"


class Spark(Dialect):
    name = "spark"
    udf_in_lambda = False

    def ident(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def string(self, s: str) -> str:
        # Spark SQL string literals know backslash escapes: write every character plainly
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def lam(self, var: str, body: str, index: str | None = None) -> str:
        return f"({var}, {index}) -> {body}" if index else f"{var} -> {body}"

    def list_filter(self, src: str, var: str, cond: str, index: str | None = None) -> str:
        return f"filter({src}, {self.lam(var, cond, index)})"

    def list_transform(self, src: str, var: str, body: str, index: str | None = None) -> str:
        return f"transform({src}, {self.lam(var, body, index)})"

    def list_item(self, src: str, index: str) -> str:
        # `index` is a 0-based lambda index into an array of the same length: never out of bounds
        return f"({src})[{index}]"

    def list_len(self, src: str) -> str:
        return f"size({src})"

    def list_sum(self, src: str, zero: str) -> str:
        return f"aggregate({src}, {zero}, (acc, x) -> acc + x)"

    def list_contains(self, src: str, x: str) -> str:
        return f"array_contains({src}, {x})"

    def list_distinct(self, src: str) -> str:
        return f"array_distinct({src})"

    def list_literal(self, elems: list[str]) -> str:
        return "array(" + ", ".join(elems) + ")"

    def full_match(self, x: str, regex: str) -> str:
        # RLIKE searches: anchor with \A and \z (Java's `$` would also match before a final newline)
        anchored = self.string("(?s)\\A(?:" + regex + ")\\z")
        return f"({x} RLIKE {anchored})"

    def days_between(self, a: str, b: str) -> str:
        return f"datediff({b}, {a})"

    def starts_with(self, s: str, prefix: str) -> str:
        return f"startswith({s}, {prefix})"

    def text_len(self, s: str) -> str:
        return f"char_length({s})"


DUCKDB = DuckDB()
SPARK = Spark()
DIALECTS: dict[str, Dialect] = {"duckdb": DUCKDB, "spark": SPARK}


# ---- `like` globs as RE2 / Java regular expressions ----------------------------------------------


def _lit(ch: str) -> str:
    if ch.isalnum() and ch.isascii():
        return ch
    return f"\\x{{{ord(ch):X}}}"


def glob_regex(pattern: str) -> str:
    """A `like` glob as a regex for RE2 (DuckDB) and Java (Spark), to be matched in full.

    Parsed by `values.parse_pattern`, as every back-end does; every character other than ASCII
    letters and digits is written as `\\x{HEX}`, which both engines read the same way. A negated
    class also matches a line break (RE2's would not; Python's does).
    """
    out: list[str] = []
    for g in parse_pattern(pattern):
        if g.kind == "any":
            out.append(".*")
        elif g.kind == "char":
            out.append(_lit(g.char))
        else:
            members = "".join(_lit(lo) if lo == hi else f"{_lit(lo)}-{_lit(hi)}" for lo, hi in g.ranges)
            cls = ("[^" if g.negate else "[") + members + "]"
            if g.negate and not any(lo <= "\n" <= hi for lo, hi in g.ranges):
                cls = f"(?:{cls}|\\x{{A}})"
            out.append(cls)
    return "".join(out)


# ---- the generator ---------------------------------------------------------------------------

Env = dict[int, tuple[str, Any]]  # id(quant) -> ("var", sql name) | ("const", value)


@attrs.frozen
class BigSet:
    name: str  # table / function name in the query
    set_name: str
    values: tuple[Any, ...]
    elem: t.Type


@attrs.frozen
class Query:
    """The compiled query and what it needs registered next to the input table."""

    sql: str
    mask_columns: tuple[str, ...]
    basis_windows: tuple[tuple[datetime.date | None, datetime.date | None], ...]
    basis_columns: tuple[str, ...]
    big_sets: tuple[BigSet, ...]
    udfs: tuple[str, ...]
    dialect: str
    #: columns the caller adds to the input table: (column, function, field path), e.g.
    #: ("__n0", "normalize", ("end_user", "name")): `normalize` of that field, computed in Arrow
    derived: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    #: what each membership test that a decision cites holds in the row: (rule index, set name,
    #: column of a list of values), in the rule's site order (`RuleInfo.sites`)
    site_columns: tuple[tuple[int, str, str], ...] = ()
    #: rules with a citing test the query cannot list (nested quantifiers): the row engine decides
    #: the rows where they count
    row_cites: frozenset[int] = frozenset()


class SqlGen:
    def __init__(self, checked: Checked, dialect: Dialect = DUCKDB, inline_limit: int = INLINE_SET_LIMIT,
                 validate: bool = True, derive: bool = False):
        if checked.record is None:
            raise Unsupported("a policy without a record")
        self.c = checked
        self.d = dialect
        self.inline_limit = inline_limit
        #: check required fields, list elements, country codes and enum members in SQL (the DuckDB
        #: engine checks them in Arrow while it builds the canonical table: `canon.py`)
        self.validate = validate
        #: compute `normalize(FIELD.PATH)` outside SQL, as an added column
        self.derive = derive
        self.derived: dict[tuple[str, tuple[str, ...]], str] = {}
        self.big_sets: dict[str, BigSet] = {}
        self.udfs: set[str] = set()
        self._vars = 0
        #: list lambdas around the expression being compiled
        self._depth = 0
        #: compiling a hoisted expression (it may not hoist again)
        self._hoisting = False
        #: where the dialect runs no UDF inside a lambda (Spark): UDF calls taken out of lambdas,
        #: computed as columns of a subquery, one layer each (SQL text -> column name)
        self.hoisted: dict[str, str] = {}
        #: id(quantifier) -> (index variable, source SQL when it reads no lambda variable, else None)
        self._quants: dict[int, tuple[str, str | None]] = {}
        #: quantifiers whose lambdas need their index variable
        self._need_index: set[int] = set()

    # -- leaves
    def literal(self, v: Any) -> str:
        d = self.d
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        if isinstance(v, int):
            return f"CAST({v} AS BIGINT)" if -(2**63) <= v < 2**63 else d.decimal(Decimal(v))
        if isinstance(v, Decimal):
            return d.decimal(v)
        if isinstance(v, datetime.date):
            return d.date(v)
        if isinstance(v, str):
            return d.string(v)
        raise Unsupported(f"the constant {v!r}")

    def set_values(self, info: SetInfo, members: frozenset[Any] | None = None) -> list[str]:
        return [self.literal(v) for v in sorted(info.values if members is None else members, key=_sort_key)]

    def members(self, info: SetInfo) -> frozenset[Any] | None:
        """A set's members when they do not depend on the date; None when they do (see `dated_in`)."""
        if self.c.as_of is None or not info.has_bases:
            return info.values
        if not info.dated:
            return info.on(datetime.date.min)
        return None

    def dated_list(self, info: SetInfo) -> str:
        """A set whose members change with the date, as a list value: one branch per period."""
        assert self.c.as_of is not None
        as_of = self.d.ident(self.c.as_of)
        dates, sets = info.timeline

        def value(members: frozenset[Any]) -> str:
            if members:
                return self.d.list_literal(self.set_values(info, members))
            # an empty list of the element type: a one-element list, filtered empty
            one = self.d.list_literal(self.set_values(info)[:1])
            return self.d.list_filter(one, "__none", "FALSE")

        branches = " ".join(f"WHEN {as_of} < {self.literal(day)} THEN {value(m)}" for day, m in zip(dates, sets))
        return f"(CASE {branches} ELSE {value(sets[-1])} END)"

    def dated_in(self, left: str, info: SetInfo) -> str:
        """`left IN SET` for a set whose members change with the date: one branch per period."""
        assert self.c.as_of is not None
        as_of = self.d.ident(self.c.as_of)
        dates, sets = info.timeline
        if len(info.values) > self.inline_limit:
            raise Unsupported(f"set `{info.name}` of {len(info.values)} entries with dated members", info.span)

        def test(members: frozenset[Any]) -> str:
            return f"({left} IN ({', '.join(self.set_values(info, members))}))" if members else "FALSE"

        branches = " ".join(f"WHEN {as_of} < {self.literal(day)} THEN {test(m)}" for day, m in zip(dates, sets))
        return f"(CASE {branches} ELSE {test(sets[-1])} END)"

    # -- expressions
    def expr(self, e: n.Expr, env: Env) -> str:
        c, d = self.c, self.d
        if isinstance(e, n.Literal):
            return self.literal(e.value)
        if isinstance(e, n.Name):
            b = c.bindings[id(e)]
            if isinstance(b, VarRef):
                kind, value = env[id(b.quant)]
                return str(value) if kind == "var" else self.literal(value)
            if isinstance(b, FieldRef):
                return d.ident(b.field.name) if not isinstance(b.field.type, t.SetT) else d.list_distinct(d.ident(b.field.name))
            if isinstance(b, LetInfo):
                return f"({self.expr(b.expr, {})})"
            if isinstance(b, ConstInfo):
                return self.literal(b.value)
            if isinstance(b, SetInfo):
                if len(b.values) > self.inline_limit:
                    raise Unsupported(f"set `{b.name}` of {len(b.values)} entries used as a value", e.span)
                members = self.members(b)
                if members is None:
                    return self.dated_list(b)
                return d.list_literal(self.set_values(b, members))
            raise AssertionError(b)
        if isinstance(e, n.Attr):
            obj = self.expr(e.obj, env)
            ft = c.type_of(e)
            out = d.field(f"({obj})", e.name)
            return d.list_distinct(out) if isinstance(ft, t.SetT) else out
        if isinstance(e, n.Has):
            return self.has(e.path, env)
        if isinstance(e, n.Not):
            return f"(NOT {self.expr(e.operand, env)})"
        if isinstance(e, n.BoolOp):
            op = " AND " if e.op == "and" else " OR "
            return "(" + op.join(self.expr(o, env) for o in e.operands) + ")"
        if isinstance(e, n.Compare):
            return self.compare(e, env)
        if isinstance(e, n.Arith):
            if e.op == "/":
                raise Unsupported("`/` (division rounds to 18 places, half to even, and faults on zero)", e.span)
            return f"({self.expr(e.left, env)} {e.op} {self.expr(e.right, env)})"
        if isinstance(e, n.Neg):
            return f"(- {self.expr(e.operand, env)})"
        if isinstance(e, n.Call) and e.func in ("screen", "matches"):
            # a vectorised UDF: each distinct (name, type, country, date) is screened once, in Python
            if self._depth and not d.udf_in_lambda:
                raise Unsupported(f"`{e.func}` inside a quantifier on {d.name}", e.span)
            info = c.screen_calls[id(e)]
            args = [self.expr(a, env) if k != 1 else "" for k, a in enumerate(e.args)]
            args += ["NULL"] * (4 - len(args))
            as_of = f"CAST({d.ident(c.as_of)} AS VARCHAR)" if c.as_of else "NULL"
            udf = f"{e.func}__{info.name}"
            self.udfs.add(udf)
            cast = [f"CAST({a} AS VARCHAR)" for a in (args[0], args[2], args[3])]
            return f"ecr_{udf}({cast[0]}, {cast[1]}, {cast[2]}, {as_of})"
        if isinstance(e, n.Call):
            if e.func == "normalize" and self.derive:
                path = _field_path(e.args[0], self.c)
                if path is not None:
                    key = (e.func, path)
                    if key not in self.derived:
                        self.derived[key] = f"__n{len(self.derived)}"
                    return d.ident(self.derived[key])
            if e.func in TEXT_UDFS and self._depth and not d.udf_in_lambda:
                return self._hoisted_udf(e, env)
            args = [self.expr(a, env) for a in e.args]
            if e.func in TEXT_UDFS:
                self.udfs.add(e.func)
                return f"ecr_{e.func}({args[0]})"
            if e.func == "starts_with":
                return d.starts_with(args[0], args[1])
            if e.func == "days_between":
                return d.days_between(args[0], args[1])
            if e.func == "len":
                at = c.type_of(e.args[0])
                return d.list_len(args[0]) if isinstance(at, (t.ListT, t.SetT)) else d.text_len(args[0])
            raise Unsupported(f"the function `{e.func}`", e.span)
        if isinstance(e, n.Quant):
            return self.quant(e, env)
        if isinstance(e, (n.SetLit, n.ListLit)):
            elems = [self.expr(x, env) for x in e.elements]
            if not elems:
                raise Unsupported("an empty list or set literal used as a value", e.span)
            lit = d.list_literal(elems)
            return d.list_distinct(lit) if isinstance(e, n.SetLit) else lit
        raise Unsupported(f"the expression `{type(e).__name__}`", getattr(e, "span", None))

    def _free_quants(self, e: n.Expr, env: Env) -> list[n.Quant]:
        """The quantifiers bound outside `e` whose lambda variables `e` reads."""
        inside = n.walk(e)
        bound = {id(x) for x in inside if isinstance(x, n.Quant)}
        out: dict[int, n.Quant] = {}
        for x in inside:
            if isinstance(x, n.Name):
                b = self.c.bindings.get(id(x))
                if isinstance(b, VarRef) and id(b.quant) not in bound and env.get(id(b.quant), ("", ""))[0] == "var":
                    out[id(b.quant)] = b.quant
        return list(out.values())

    def _hoist(self, sql: str) -> str:
        col = self.hoisted.get(sql)
        if col is None:
            col = self.hoisted[sql] = f"__p{len(self.hoisted)}"
        return self.d.ident(col)

    def _hoisted_udf(self, e: n.Call, env: Env) -> str:
        """`normalize`/`lower`/`upper` inside a lambda, for a dialect that cannot call UDFs there.

        An argument that reads no lambda variable is computed per record outside the lambda. An
        argument that reads only the variable of a quantifier over a record-level list (for
        example `normalize(p.name)` in `any(p in parties: ...)`) is computed for every element of
        that list at once (`ecr_normalize_each(transform(parties, x -> x.name))`), outside the
        lambda, and the lambda reads the element at its index. Anything else is `Unsupported`.
        """
        d = self.d
        arg = e.args[0]
        what = f"`{e.func}` inside a quantifier on {d.name} (Python UDFs cannot run in a lambda)"
        if self._hoisting:
            raise Unsupported(f"{what}: nested inside another such call", e.span)
        free = self._free_quants(arg, env)
        depth = self._depth
        self._hoisting = True
        try:
            if not free:
                self._depth = 0
                self.udfs.add(e.func)
                return self._hoist(f"ecr_{e.func}({self.expr(arg, env)})")
            if len(free) > 1:
                raise Unsupported(f"{what}: its argument reads more than one quantifier variable", e.span)
            q = free[0]
            index, src = self._quants[id(q)]
            if src is None:
                raise Unsupported(f"{what}: the list of `{q.var}` is not a field of the record", e.span)
            var = f"__h{self._vars}"
            self._vars += 1
            inner = dict(env)
            inner[id(q)] = ("var", var)
            self._depth = 1
            each = d.list_transform(src, var, self.expr(arg, inner))
            self.udfs.add(f"{e.func}_each")
            self._need_index.add(id(q))
            return d.list_item(self._hoist(f"ecr_{e.func}_each({each})"), index)
        finally:
            self._hoisting = False
            self._depth = depth

    def has(self, path: n.Expr, env: Env) -> str:
        checks = [f"({self.expr(p, env)} IS NOT NULL)" for p in self.c.optional_reads(path)]
        return "(" + " AND ".join(checks) + ")" if checks else "TRUE"

    def compare(self, e: n.Compare, env: Env) -> str:
        left = self.expr(e.left, env)
        if e.op in ("like", "not like"):
            pattern = self.c.patterns[id(e)]
            if not isinstance(pattern, str):
                # a quantifier variable over constant patterns: unrolled, so it is a constant here
                assert isinstance(e.right, n.Name)
                b = self.c.bindings[id(e.right)]
                assert isinstance(b, VarRef)
                kind, value = env[id(b.quant)]
                if kind != "const":
                    raise Unsupported("`like` with a pattern that is not constant here", e.span)
                pattern = str(value)
            test = self.glob(left, pattern)
            return test if e.op == "like" else f"(NOT {test})"
        lt, rt = self.c.type_of(e.left), self.c.type_of(e.right)
        if e.op in ("in", "not in"):
            test = self.membership(left, e.right, env, e)
            return test if e.op == "in" else f"(NOT {test})"
        if isinstance(lt, (t.ListT, t.SetT)) or isinstance(rt, (t.ListT, t.SetT)):
            raise Unsupported(f"`{e.op}` between lists or sets", e.span)
        op = {"==": "=", "!=": "<>"}.get(e.op, e.op)
        return f"({left} {op} {self.expr(e.right, env)})"

    def glob(self, x: str, pattern: str) -> str:
        """`x like pattern`: a plain comparison when the glob is a literal text or a prefix, else a regex."""
        parts = parse_pattern(pattern)
        star = bool(parts) and parts[-1].kind == "any"
        body = parts[:-1] if star else parts
        if all(g.kind == "char" for g in body):
            text = self.d.string("".join(g.char for g in body))
            if not star:
                return f"({x} = {text})"
            if body:
                return f"coalesce({self.d.starts_with(x, text)}, FALSE)"
            return f"({x} IS NOT NULL)"
        return self.d.full_match(x, glob_regex(pattern))

    def membership(self, left: str, right: n.Expr, env: Env, e: n.Compare) -> str:
        d = self.d
        if isinstance(right, n.Name):
            b = self.c.bindings[id(right)]
            if isinstance(b, SetInfo):
                members = self.members(b)
                if members is None:
                    return self.dated_in(left, b)
                if not members:
                    return "FALSE"
                if len(b.values) <= self.inline_limit:
                    return f"({left} IN ({', '.join(self.set_values(b, members))}))"
                big = self._big_set(b)
                if env:
                    return d.big_set_lambda(left, big.name)
                return d.big_set(left, big.name)
        if isinstance(right, (n.SetLit, n.ListLit)):
            if not right.elements:
                return "FALSE"
            return f"({left} IN ({', '.join(self.expr(x, env) for x in right.elements)}))"
        return f"coalesce({d.list_contains(self.expr(right, env), left)}, FALSE)"

    def _big_set(self, info: SetInfo) -> BigSet:
        big = self.big_sets.get(info.name)
        if big is None:
            members = self.members(info)
            assert members is not None
            big = BigSet(f"__set_{len(self.big_sets)}", info.name, tuple(sorted(members, key=_sort_key)), info.elem)
            self.big_sets[info.name] = big
        return big

    def _constant_source(self, src: n.Expr) -> tuple[Any, ...] | None:
        """The values of a quantifier source known at load time (a named set, a constant literal)."""
        if isinstance(src, n.Name):
            b = self.c.bindings.get(id(src))
            if isinstance(b, SetInfo):
                members = self.members(b)
                if members is None:
                    return None  # read as a list value on the record's date (`dated_list`)
                return tuple(sorted(members, key=_sort_key))
            return None
        if isinstance(src, (n.SetLit, n.ListLit)):
            vals = []
            for x in src.elements:
                if isinstance(x, n.Literal):
                    vals.append(x.value)
                elif isinstance(x, n.Name) and isinstance(self.c.bindings.get(id(x)), ConstInfo):
                    vals.append(self.c.bindings[id(x)].value)  # type: ignore[union-attr]
                else:
                    return None
            if isinstance(src, n.SetLit):
                return tuple(sorted(frozenset(vals), key=_sort_key))
            return tuple(vals)
        return None

    def quant(self, e: n.Quant, env: Env) -> str:
        d = self.d
        const = self._constant_source(e.source)
        inside = [x for part in (e.body, e.where) if part is not None for x in n.walk(part)]
        uses_pattern = any(
            isinstance(x, n.Compare) and x.op in ("like", "not like") and not isinstance(self.c.patterns.get(id(x)), str)
            and isinstance(x.right, n.Name) and isinstance(self.c.bindings.get(id(x.right)), VarRef)
            and self.c.bindings[id(x.right)].quant is e  # type: ignore[union-attr]
            for x in inside
        )
        if const is not None and uses_pattern:
            if len(const) > UNROLL_LIMIT:
                raise Unsupported(f"a quantifier over {len(const)} `like` patterns (at most {UNROLL_LIMIT})", e.span)
            return self._unrolled(e, const, env)
        if sum(1 for kind, _ in env.values() if kind == "var") >= QUANT_NESTING_LIMIT:
            raise Unsupported(f"quantifiers nested more than {QUANT_NESTING_LIMIT} deep", e.span)
        var = f"__v{self._vars}"
        self._vars += 1
        inner = dict(env)
        inner[id(e)] = ("var", var)
        src = self.expr(e.source, env)
        self._quants[id(e)] = (f"__i{var[3:]}", None if self._free_quants(e.source, env) else src)
        self._depth += 1
        try:
            where = self.expr(e.where, inner) if e.where is not None else None
            body = self.expr(e.body, inner) if e.body is not None else None
        finally:
            self._depth -= 1
        index = self._quants[id(e)][0] if id(e) in self._need_index else None
        if e.kind == "any":
            cond = f"{where} AND {body}" if where else body
            return f"({d.list_len(d.list_filter(src, var, f'coalesce({cond}, FALSE)', index))} > 0)"
        if e.kind == "all":
            cond = f"{where} AND NOT {body}" if where else f"NOT {body}"
            return f"({d.list_len(d.list_filter(src, var, f'coalesce({cond}, FALSE)', index))} = 0)"
        if e.kind == "count":
            parts = [x for x in (where, body) if x]
            if not parts:
                return d.list_len(src)
            return d.list_len(d.list_filter(src, var, f"coalesce({' AND '.join(parts)}, FALSE)", index))
        assert body is not None and e.body is not None
        zero = "CAST(0 AS BIGINT)" if self.c.type_of(e.body) == t.INT else f"CAST(0 AS {NUMBER_SQL})"
        if index is not None:
            # the index reads hoisted columns aligned with `src`: no filter before the transform
            term = f"CASE WHEN coalesce({where}, FALSE) THEN {body} ELSE {zero} END" if where else body
            return d.list_sum(d.list_transform(src, var, term, index), zero)
        filtered = d.list_filter(src, var, f"coalesce({where}, FALSE)") if where else src
        return d.list_sum(d.list_transform(filtered, var, body), zero)

    def _unrolled(self, e: n.Quant, values: tuple[Any, ...], env: Env) -> str:
        parts_where: list[str | None] = []
        parts_body: list[str | None] = []
        for v in values:
            inner = dict(env)
            inner[id(e)] = ("const", v)
            parts_where.append(self.expr(e.where, inner) if e.where is not None else None)
            parts_body.append(self.expr(e.body, inner) if e.body is not None else None)
        if e.kind == "any":
            terms = [f"({w} AND {b})" if w else str(b) for w, b in zip(parts_where, parts_body)]
            return "(" + " OR ".join(f"coalesce({x}, FALSE)" for x in terms) + ")" if terms else "FALSE"
        if e.kind == "all":
            terms = [f"({w} AND NOT {b})" if w else f"(NOT {b})" for w, b in zip(parts_where, parts_body)]
            return "(NOT (" + " OR ".join(f"coalesce({x}, FALSE)" for x in terms) + "))" if terms else "TRUE"
        if e.kind == "count":
            terms = [" AND ".join(x for x in (w, b) if x) or "TRUE" for w, b in zip(parts_where, parts_body)]
            return "(CAST(0 AS BIGINT) + " + " + ".join(f"(CASE WHEN {x} THEN 1 ELSE 0 END)" for x in terms) + ")"
        zero = "CAST(0 AS BIGINT)" if self.c.type_of(e.body) == t.INT else f"CAST(0 AS {NUMBER_SQL})"  # type: ignore[arg-type]
        terms = [f"(CASE WHEN {w} THEN {b} ELSE {zero} END)" if w else str(b) for w, b in zip(parts_where, parts_body)]
        return "(" + " + ".join([zero] + terms) + ")"

    # -- record checks
    def valid(self, value: str, typ: t.Type, depth: int = 0) -> list[str]:
        """Conditions, true for a non-null `value` of the canonical column type that fits `typ`."""
        d = self.d
        if typ == t.COUNTRY:
            return [f"{value} IN ({', '.join(d.string(c) for c in sorted(COUNTRIES))})"]
        if isinstance(typ, t.EnumT):
            return [f"{value} IN ({', '.join(d.string(m) for m in typ.members)})"]
        if isinstance(typ, t.StructT):
            out: list[str] = []
            for f in typ.fields.values():
                fv = d.field(f"({value})", f.name)
                checks = self.valid(fv, f.type, depth + 1)
                if f.optional:
                    if checks:
                        out.append(f"({fv} IS NULL OR ({' AND '.join(checks)}))")
                else:
                    out.append(f"{fv} IS NOT NULL")
                    out.extend(checks)
            return out
        if isinstance(typ, (t.ListT, t.SetT)):
            var = f"__e{depth}"
            checks = [f"{var} IS NOT NULL"] + self.valid(var, typ.elem, depth + 1)
            cond = " AND ".join(checks)
            return [f"{d.list_len(d.list_filter(value, var, f'NOT coalesce({cond}, FALSE)'))} = 0"]
        return []

    def record_ok(self) -> str:
        c, d = self.c, self.d
        assert c.record is not None
        checks: list[str] = []
        for f in c.record.fields.values() if self.validate else ():
            col = d.ident(f.name)
            sub = self.valid(col, f.type)
            if f.optional:
                if sub:
                    checks.append(f"({col} IS NULL OR ({' AND '.join(sub)}))")
            else:
                checks.append(f"{col} IS NOT NULL")
                checks.extend(sub)
        for inv in c.invariants:
            checks.append(f"coalesce({self.expr(inv.expr, {})}, FALSE)")
        return " AND ".join(f"({x})" for x in checks) if checks else "TRUE"

    # -- rules, basis windows, the query
    def rule_match(self, rule: Any) -> str:
        c = self.c
        parts = []
        if c.as_of is not None:
            as_of = self.d.ident(c.as_of)
            if rule.effective:
                parts.append(f"({self.literal(rule.effective)} <= {as_of})")
            if rule.expires:
                parts.append(f"({as_of} < {self.literal(rule.expires)})")
        parts.append(f"coalesce({self.expr(rule.when, {})}, FALSE)")
        return " AND ".join(parts)

    def query(self, table: str = "__chunk", row_column: str = "__row") -> Query:
        c, d = self.c, self.d
        cols = [f"{d.ident(row_column)} AS __row", f"coalesce({self.record_ok()}, FALSE) AS __ok"]
        rules = list(c.rules)
        masks = []
        for g in range(0, max(len(rules), 1), MASK_BITS):
            terms = [f"(CASE WHEN {self.rule_match(r)} THEN CAST({1 << (r.index - g)} AS BIGINT) ELSE CAST(0 AS BIGINT) END)"
                     for r in rules[g:g + MASK_BITS]]
            name = f"__m{g // MASK_BITS}"
            cols.append(f"({' + '.join(terms) if terms else 'CAST(0 AS BIGINT)'}) AS {name}")
            masks.append(name)
        windows: list[tuple[datetime.date | None, datetime.date | None]] = []
        if c.as_of is not None:
            for r in rules:
                for b in r.bases:
                    if (b.valid_from or b.until) and (b.valid_from, b.until) not in windows:
                        windows.append((b.valid_from, b.until))
        basis_cols = []
        as_of = d.ident(c.as_of) if c.as_of else None
        for g in range(0, len(windows), MASK_BITS):
            terms = []
            for k, (f, u) in enumerate(windows[g:g + MASK_BITS]):
                conds = []
                if f:
                    conds.append(f"{self.literal(f)} <= {as_of}")
                if u:
                    conds.append(f"{as_of} < {self.literal(u)}")
                terms.append(f"(CASE WHEN {' AND '.join(conds)} THEN CAST({1 << k} AS BIGINT) ELSE CAST(0 AS BIGINT) END)")
            name = f"__b{g // MASK_BITS}"
            cols.append(f"({' + '.join(terms)}) AS {name}")
            basis_cols.append(name)
        site_columns: list[tuple[int, str, str]] = []
        row_cites: set[int] = set()
        for r in rules:
            for site in r.sites:
                values = self.site_values(site)
                if values is None:
                    row_cites.add(r.index)
                    continue
                name = f"__c{len(site_columns)}"
                cols.append(f"{values} AS {name}")
                site_columns.append((r.index, site.set, name))
        source = d.ident(table)
        for k, (expr, col) in enumerate(self.hoisted.items()):
            # one layer a hoisted column: a later one may read an earlier one
            source = f"(SELECT *, {expr} AS {d.ident(col)} FROM {source}) AS __layer{k}"
        sql = "SELECT\n  " + ",\n  ".join(cols) + f"\nFROM {source}"
        derived = tuple((col, key[0], key[1]) for key, col in self.derived.items())
        return Query(sql, tuple(masks), tuple(windows), tuple(basis_cols), tuple(self.big_sets.values()),
                     tuple(sorted(self.udfs)), d.name, derived, tuple(site_columns), frozenset(row_cites))

    def site_values(self, site: Site) -> str | None:
        """A list of what a citing membership test reads in the row (`Interpreter.cite`), or None."""
        if not site.quants:
            return self.d.list_literal([self.expr(site.compare.left, {})])
        if len(site.quants) > 1:
            return None
        q = site.quants[0]
        var = f"__s{self._vars}"
        self._vars += 1
        inner: Env = {id(q): ("var", var)}
        try:
            src = self.expr(q.source, {})
            left = self.expr(site.compare.left, inner)
            where = self.expr(q.where, inner) if q.where is not None else None
        except Unsupported:
            return None
        if self._quants.get(id(q)) is not None and id(q) in self._need_index:
            return None  # reads hoisted columns aligned with the source: keep to the row engine
        if where is not None:
            src = self.d.list_filter(src, var, f"coalesce({where}, FALSE)")
        return self.d.list_transform(src, var, left)


def _field_path(e: n.Expr, c: Checked) -> tuple[str, ...] | None:
    """`a.b.c` when `e` reads a field path of the record (no quantifier variable, no optional step)."""
    parts: list[str] = []
    while isinstance(e, n.Attr):
        ot = c.type_of(e.obj)
        if not isinstance(ot, t.StructT) or ot.fields[e.name].optional:
            return None
        parts.append(e.name)
        e = e.obj
    if isinstance(e, n.Name):
        b = c.bindings.get(id(e))
        if isinstance(b, FieldRef) and not b.field.optional:
            parts.append(b.field.name)
            return tuple(reversed(parts))
    return None


def _sort_key(v: Any) -> tuple[str, str]:
    return (type(v).__name__, str(v))


def compile_query(checked: Checked, dialect: str | Dialect = "duckdb", inline_limit: int = INLINE_SET_LIMIT,
                  validate: bool = True, derive: bool = False) -> Query:
    """The query of a checked policy; raises `Unsupported` naming the first construct it cannot express.

    With `validate` false the query checks invariants only (the caller checks the schema, as
    `canon.py` does); with `derive` it reads `normalize(FIELD)` from added columns (`Query.derived`).
    """
    d = DIALECTS[dialect] if isinstance(dialect, str) else dialect
    return SqlGen(checked, d, inline_limit, validate, derive).query()


def unsupported(checked: Checked, dialect: str = "duckdb") -> Unsupported | None:
    """Why the policy cannot run on the columnar engine, or None when it can."""
    try:
        compile_query(checked, dialect)
    except Unsupported as exc:
        return exc
    return None


__all__ = ["Unsupported", "Query", "compile_query", "unsupported", "glob_regex", "DIALECTS",
                          "NUMBER_SCALE", "INLINE_SET_LIMIT"]
