"""Expressions to SQL: the checked AST's expressions, names, sets, quantifiers (as list lambdas) and
calls, written in one dialect. Spark runs no Python UDF inside a lambda, so on Spark the text
functions inside quantifiers are computed outside the lambda (`ExprGen._hoisted_udf`,
docs/spark.md). What SQL cannot express exactly raises `Unsupported`, naming the construct."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import attrs

from .. import nodes as n
from .. import types as t
from ..checked import Checked, ConstInfo, FieldRef, LetInfo, SetInfo, VarRef, var_of
from ..semantics import operators as ops
from .dialects import DUCKDB, INLINE_SET_LIMIT, NUMBER_SQL, Dialect, Unsupported
from .globs import like_sql

#: A quantifier over a constant set is unrolled when its variable is a `like` pattern.
UNROLL_LIMIT = 256
#: Quantifiers nested deeper than this are left to the row engine: DuckDB binds nested list
#: lambdas in memory that doubles every level or so (16 levels took 870 MB, 20 over 4 GB)
QUANT_NESTING_LIMIT = 10
#: the text functions that run as UDFs (`ecr_NAME`; `ecr_NAME_each` maps a list of texts)
TEXT_UDFS = tuple(ops.UDFS)

#: what each quantifier variable in scope is in SQL: ("var", lambda variable) | ("const", value)
Scope = dict[VarRef, tuple[str, Any]]


@attrs.frozen
class BigSet:
    name: str  # table / function name in the query
    set_name: str
    values: tuple[Any, ...]
    elem: t.Type


class ExprGen(n.ExprVisitor):
    """Compiles the checked AST's expressions to SQL of one dialect (`sqlgen.SqlGen` assembles the query)."""

    refuses = {n.RecordLit: "a record literal is a test's `given`, never a column"}

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
        #: quantifier's variable -> (index variable, source SQL when it reads no lambda variable, else None)
        self._quants: dict[VarRef, tuple[str, str | None]] = {}
        #: quantifiers (by variable) whose lambdas need their index variable
        self._need_index: set[VarRef] = set()

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

    # -- expressions: one method per node kind (`nodes.ExprVisitor`)
    def expr(self, e: n.Expr, env: Scope) -> str:
        return self.visits[e.__class__](self, e, env)  # type: ignore[no-any-return]

    def visit_Literal(self, e: n.Literal, env: Scope) -> str:
        return self.literal(e.value)

    def visit_Name(self, e: n.Name, env: Scope) -> str:
        d = self.d
        b = e.binding
        if isinstance(b, VarRef):
            kind, value = env[b]
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

    def visit_Attr(self, e: n.Attr, env: Scope) -> str:
        d = self.d
        obj = self.expr(e.obj, env)
        ft = self.c.type_of(e)
        out = d.field(f"({obj})", e.name)
        return d.list_distinct(out) if isinstance(ft, t.SetT) else out

    def visit_Has(self, e: n.Has, env: Scope) -> str:
        return self.has(e.path, env)

    def visit_Not(self, e: n.Not, env: Scope) -> str:
        return self.render(ops.NOT_OP, e, (e.operand,), env)

    def visit_BoolOp(self, e: n.BoolOp, env: Scope) -> str:
        return self.render(ops.BOOL_OPS[e.op], e, e.operands, env)

    def visit_Arith(self, e: n.Arith, env: Scope) -> str:
        return self.render(ops.ARITH_OPS[e.op], e, (e.left, e.right), env)

    def visit_Neg(self, e: n.Neg, env: Scope) -> str:
        return self.render(ops.NEG_OP, e, (e.operand,), env)

    def visit_Call(self, e: n.Call, env: Scope) -> str:
        c, d = self.c, self.d
        if (fn := ops.FUNCTIONS_BY_NAME[e.func]).rendering(d.name) is not ops.NATIVE:
            return self.render(fn, e, e.args, env)
        if not fn.udf:  # `screen`, `matches`
            # a vectorised UDF: each distinct (name, type, country, date) is screened once, in Python
            if self._depth and not d.udf_in_lambda:
                raise Unsupported(f"`{e.func}` inside a quantifier on {d.name}", e.span)
            info = e.screening
            args = [self.expr(a, env) if k != 1 else "" for k, a in enumerate(e.args)]
            args += ["NULL"] * (4 - len(args))
            as_of = f"CAST({d.ident(c.as_of)} AS VARCHAR)" if c.as_of else "NULL"
            udf = f"{e.func}__{info.name}"
            self.udfs.add(udf)
            cast = [f"CAST({a} AS VARCHAR)" for a in (args[0], args[2], args[3])]
            return f"ecr_{udf}({cast[0]}, {cast[1]}, {cast[2]}, {as_of})"
        if e.func == "normalize" and self.derive:
            path = _field_path(e.args[0], self.c)
            if path is not None:
                key = (e.func, path)
                if key not in self.derived:
                    self.derived[key] = f"__n{len(self.derived)}"
                return d.ident(self.derived[key])
        if self._depth and not d.udf_in_lambda:
            return self._hoisted_udf(e, env)
        self.udfs.add(e.func)
        return f"ecr_{e.func}({self.expr(e.args[0], env)})"

    def visit_SetLit(self, e: n.SetLit | n.ListLit, env: Scope) -> str:
        d = self.d
        elems = [self.expr(x, env) for x in e.elements]
        if not elems:
            raise Unsupported("an empty list or set literal used as a value", e.span)
        lit = d.list_literal(elems)
        return d.list_distinct(lit) if isinstance(e, n.SetLit) else lit

    visit_ListLit = visit_SetLit

    def render(self, c: ops.Operator | ops.Function, e: n.Expr, operands: tuple[n.Expr, ...], env: Scope) -> str:
        """`e` as the registry renders `c` in this dialect, from its rendered operands."""
        ops.refuse(c, self.d.name, e.span)
        args = ops.Args(tuple(self.expr(x, env) for x in operands), tuple(self.c.type_of(x) for x in operands),
                        tuple(self.known(x) for x in operands), str(e.span), dialect=self.d)
        return str(ops.render(c, self.d.name, args, e.span))

    def known(self, e: n.Expr) -> Any:
        """The value of `e` when the policy loads (a literal or a `const`), else `ops.NOT_KNOWN`."""
        if isinstance(e, n.Literal):
            return e.value
        b = e.binding if isinstance(e, n.Name) else None
        return b.value if isinstance(b, ConstInfo) else ops.NOT_KNOWN

    def _free_quants(self, e: n.Expr, env: Scope) -> list[VarRef]:
        """The variables of quantifiers bound outside `e` (lambda variables) that `e` reads."""
        inside = n.walk(e)
        bound = {x.binds for x in inside if isinstance(x, n.Quant)}
        out: dict[VarRef, None] = {}
        for x in inside:
            if isinstance(x, n.Name):
                b = x.binding
                if isinstance(b, VarRef) and b not in bound and env.get(b, ("", ""))[0] == "var":
                    out[b] = None
        return list(out)

    def _hoist(self, sql: str) -> str:
        col = self.hoisted.get(sql)
        if col is None:
            col = self.hoisted[sql] = f"__p{len(self.hoisted)}"
        return self.d.ident(col)

    def _hoisted_udf(self, e: n.Call, env: Scope) -> str:
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
            index, src = self._quants[q]
            if src is None:
                raise Unsupported(f"{what}: the list of `{q.name}` is not a field of the record", e.span)
            var = f"__h{self._vars}"
            self._vars += 1
            inner = dict(env)
            inner[q] = ("var", var)
            self._depth = 1
            each = d.list_transform(src, var, self.expr(arg, inner))
            self.udfs.add(f"{e.func}_each")
            self._need_index.add(q)
            return d.list_item(self._hoist(f"ecr_{e.func}_each({each})"), index)
        finally:
            self._hoisting = False
            self._depth = depth

    def has(self, path: n.Expr, env: Scope) -> str:
        checks = [f"({self.expr(p, env)} IS NOT NULL)" for p in self.c.optional_reads(path)]
        return "(" + " AND ".join(checks) + ")" if checks else "TRUE"

    def visit_Compare(self, e: n.Compare, env: Scope) -> str:
        op = ops.COMPARE_OPS[e.op]
        if op.rendering(self.d.name) is not ops.NATIVE:
            return self.render(op, e, (e.left, e.right), env)
        left = self.expr(e.left, env)
        if op.rule == "pattern":
            pattern = e.pattern
            if not isinstance(pattern, str):
                # a quantifier variable over constant patterns: unrolled, so it is a constant here
                assert isinstance(e.right, n.Name)
                b = e.right.binding
                assert isinstance(b, VarRef)
                kind, value = env[b]
                if kind != "const":
                    raise Unsupported("`like` with a pattern that is not constant here", e.span)
                pattern = str(value)
            test = like_sql(self.d, left, pattern)
            return test if op.negates is None else f"(NOT {test})"
        if op.rule == "membership":
            test = self.membership(left, e.right, env, e)
            return test if op.negates is None else f"(NOT {test})"
        raise Unsupported(f"`{e.op}` in SQL", e.span)

    def membership(self, left: str, right: n.Expr, env: Scope, e: n.Compare) -> str:
        d = self.d
        if isinstance(right, n.Name):
            b = right.binding
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
            b = src.binding
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
                elif isinstance(x, n.Name) and isinstance(x.binding, ConstInfo):
                    vals.append(x.binding.value)
                else:
                    return None
            if isinstance(src, n.SetLit):
                return tuple(sorted(frozenset(vals), key=_sort_key))
            return tuple(vals)
        return None

    def visit_Quant(self, e: n.Quant, env: Scope) -> str:
        d = self.d
        const = self._constant_source(e.source)
        inside = [x for part in (e.body, e.where) if part is not None for x in n.walk(part)]
        uses_pattern = any(
            isinstance(x, n.Compare) and x.op in ("like", "not like") and not isinstance(x.pattern, str)
            and isinstance(x.right, n.Name) and x.right.binding is not None and x.right.binding is e.binds
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
        inner[var_of(e)] = ("var", var)
        src = self.expr(e.source, env)
        self._quants[var_of(e)] = (f"__i{var[3:]}", None if self._free_quants(e.source, env) else src)
        self._depth += 1
        try:
            where = self.expr(e.where, inner) if e.where is not None else None
            body = self.expr(e.body, inner) if e.body is not None else None
        finally:
            self._depth -= 1
        index = self._quants[var_of(e)][0] if var_of(e) in self._need_index else None
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
        ints = self.c.type_of(e.body) == t.INT
        zero = "CAST(0 AS BIGINT)" if ints else f"CAST(0 AS {NUMBER_SQL})"
        if index is not None:
            # the index reads hoisted columns aligned with `src`: no filter before the transform
            term = f"CASE WHEN coalesce({where}, FALSE) THEN {body} ELSE {zero} END" if where else body
            total = d.list_sum(d.list_transform(src, var, term, index), zero)
        else:
            filtered = d.list_filter(src, var, f"coalesce({where}, FALSE)") if where else src
            total = d.list_sum(d.list_transform(filtered, var, body), zero)
        # DuckDB sums BIGINTs to a HUGEINT, a DECIMAL(38, 0) next to decimals: `% 0.7` on it needs 39
        # digits and runs in floating point. A BIGINT leaves room (past it: an error, the row engine decides)
        return f"CAST({total} AS BIGINT)" if ints else total

    def _unrolled(self, e: n.Quant, values: tuple[Any, ...], env: Scope) -> str:
        parts_where: list[str | None] = []
        parts_body: list[str | None] = []
        for v in values:
            inner = dict(env)
            inner[var_of(e)] = ("const", v)
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
        b = e.binding
        if isinstance(b, FieldRef) and not b.field.optional:
            parts.append(b.field.name)
            return tuple(reversed(parts))
    return None


def _sort_key(v: Any) -> tuple[str, str]:
    return (type(v).__name__, str(v))
