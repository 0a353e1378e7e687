"""One registry of the language's operators, functions and quantifiers: each is defined once.

For every construct the registry says how it is written (token, precedence, associativity: the
formatter reads them), how it is typed (a type rule the checker dispatches on), what it computes
(`run`: the interpreter, constant folding and verify's folding of known values call it), and how
each back-end renders it: Python source for the row compiler, SQL for DuckDB and Spark, a z3
term for verify. A back-end that cannot render a construct exactly has an explicit `Refused`
entry (it raises `Unsupported` with the construct's span), never a silent fall-through.

A rendering is one of:
- a function of the rendered operands (`Args`), giving the back-end's text or term;
- `NATIVE`: the back-end renders it in its own method, because it needs state the registry does
  not hold (compiled `like` patterns, set tables, screening lists, quantifier loops);
- `Refused(reason)`: the back-end cannot express it exactly.

Adding an operator (`%` was added so: grammar, this file, docs, tests, the editors' pattern):
1. spell it in grammar/ecp.lark in the rule of its precedence level (`mul_op`, `comp_op`, ...);
2. add an `Operator` here: token, node, precedence, type rule, `run` (exact, from `values`), and a
   rendering or a `Refused` for Python, SQL and z3 (`limits` for uses an engine still refuses); a
   helper the Python rendering calls goes in `PY_HELPERS` (the compiler's globals, which the
   generated-source audit accepts);
3. document it in docs/language.md and run `python tools/gen_reference.py` (the support table);
   a symbol operator also goes in the editors' TextMate pattern (tests/test_editors.py checks);
4. test it against its definition and across engines; tests/test_semantics_coverage.py builds a
   sample from its node kind and holds every engine to what the entry says.
Adding a function is the same with a `Function` (the grammar needs nothing: calls are generic).
"""

from __future__ import annotations

import operator
from decimal import Decimal
from typing import Any, Callable, Mapping, Union

import attrs

from .. import types as t
from .. import values as v

#: the back-ends every construct must be rendered by, or refused by
ROW, INTERPRETER, DUCKDB, SPARK, Z3 = "row", "interpreter", "duckdb", "spark", "z3"
BACKENDS = (ROW, INTERPRETER, DUCKDB, SPARK, Z3)
SQL_DIALECTS = (DUCKDB, SPARK)

#: precedence, loosest first (LANGUAGE.md, "Fine points"); the formatter's levels
OR, AND, NOT, COMPARE, ADD, MUL, NEG, POSTFIX = 1, 2, 3, 4, 5, 6, 7, 8


class Unsupported(Exception):
    """A construct a back-end cannot express exactly: the columnar engine leaves the policy to
    the row engine, verify answers `unknown`. The one class every back-end raises.

    `where` is the construct's span (or its text); `engine` names the back-end in the message
    when the back-end's entry point sets it (`the columnar engine cannot express ...`).
    """

    def __init__(self, construct: str, where: object = None, engine: str | None = None):
        super().__init__(construct)
        self.construct = construct
        self.where = str(where) if where is not None else None
        self.engine = engine

    def at(self, where: object) -> Unsupported:
        """This refusal, placed at `where` unless it already names a place."""
        if self.where is None and where is not None:
            self.where = str(where)
        return self

    def __str__(self) -> str:
        at = f" at {self.where}" if self.where else ""
        if self.engine:
            return f"the {self.engine} engine cannot express {self.construct}{at}"
        return f"{self.construct}{at}"


@attrs.frozen
class Refused:
    """A back-end that cannot render the construct exactly; `reason` becomes its `Unsupported`."""

    reason: str

    def error(self, where: object = None) -> Unsupported:
        return Unsupported(self.reason, where)


@attrs.frozen
class _Native:
    """The back-end renders the construct in its own method (it needs state the registry lacks)."""

    def __repr__(self) -> str:
        return "NATIVE"


NATIVE = _Native()

#: what a back-end is given to render one construct
NOT_KNOWN: Any = type("NotKnown", (), {"__repr__": lambda self: "NOT_KNOWN"})()


@attrs.frozen
class Args:
    """The rendered operands of one construct, for a rendering function.

    `code` holds the operands as the back-end renders them (Python or SQL text, z3 terms or
    plain values); `types` their checked types; `known` their values when the policy loads
    (`NOT_KNOWN` otherwise); `site` the construct's span as text (fault messages name it);
    `dialect` the SQL dialect, `ops` the z3 encoder's primitives.
    """

    code: tuple[Any, ...]
    types: tuple[t.Type, ...] = ()
    known: tuple[Any, ...] = ()
    site: str = ""
    dialect: Any = None
    ops: Any = None

    def value(self, k: int) -> Any:
        return self.known[k] if k < len(self.known) else NOT_KNOWN

    @property
    def ints(self) -> bool:
        """Every operand is an `int` (exact Python integer arithmetic applies)."""
        return bool(self.types) and all(x == t.INT for x in self.types)


Render = Union[Callable[[Args], Any], _Native, Refused]


@attrs.frozen
class Operator:
    """An operator: `node` is the AST class that carries it (`Compare`, `Arith`, ...)."""

    token: str
    node: str
    precedence: int
    #: "left" (binary, left-associative), "none" (binary, never chained), "prefix", "n-ary"
    assoc: str
    #: the type rule the checker applies: "equality", "order", "membership", "pattern",
    #: "arith", "bool", "not", "neg"
    rule: str
    doc: str
    #: the meaning, on run-time values; faulting ones take the site as a third argument
    run: Callable[..., Any]
    python: Render
    sql: Render
    z3: Render
    #: SQL renderings that differ by dialect (the rest use `sql`)
    sql_dialects: Mapping[str, Render] = attrs.field(factory=dict)
    #: arithmetic: whether `int OP int` is an `int` (not for `/`)
    int_closed: bool = True
    #: `run` may fault (division by zero) and takes the site as a third argument for its message
    faults: bool = False
    #: `not in`, `not like`: the operator this one negates
    negates: str | None = None
    #: per back-end, the uses it refuses although it renders the construct (docs print them)
    limits: Mapping[str, str] = attrs.field(factory=dict)

    def rendering(self, backend: str) -> Render:
        return _rendering(self, backend)


@attrs.frozen
class Function:
    """A built-in function. `params` are parameter kinds ("text", "date", "collection"); a
    function whose arguments the checker reads apart (`screen`, `matches`) has `params=None`."""

    name: str
    params: tuple[str, ...] | None
    result: t.Type
    doc: str
    run: Callable[..., Any] | None
    python: Render
    sql: Render
    z3: Render
    sql_dialects: Mapping[str, Render] = attrs.field(factory=dict)
    #: computed while the policy loads when every argument is a constant
    folds: bool = False
    #: SQL engines call `run` as a Python UDF `ecr_NAME` (and `ecr_NAME_each` over a list)
    udf: bool = False
    #: how a call is written, for hovers and completions: `starts_with(s, prefix)`
    signature: str = ""
    #: per back-end, the uses it refuses although it renders the construct (docs print them)
    limits: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def summary(self) -> str:
        """One line for docs: `doc`, else the first line of the run-time function's docstring."""
        if self.doc:
            return self.doc
        doc = (self.run.__doc__ or "").strip() if self.run is not None else ""
        return doc.splitlines()[0] if doc else ""

    def rendering(self, backend: str) -> Render:
        return _rendering(self, backend)


@attrs.frozen
class Quantifier:
    """`NAME(x in SOURCE [where FILTER]: BODY)`: every back-end renders it as a loop of its own."""

    name: str
    doc: str
    #: whether the body may be left out (`count(x in xs)`)
    body_optional: bool = False
    signature: str = ""
    limits: Mapping[str, str] = attrs.field(factory=dict)

    def rendering(self, backend: str) -> Render:
        return NATIVE


def _rendering(c: Operator | Function, backend: str) -> Render:
    if backend == INTERPRETER:
        return NATIVE if c.run is None else (lambda a: c.run(*a.code))  # type: ignore[misc]
    if backend == ROW:
        return c.python
    if backend in SQL_DIALECTS:
        return c.sql_dialects.get(backend, c.sql)
    if backend == Z3:
        return c.z3
    raise KeyError(backend)


def refuse(c: Operator | Function, backend: str, where: object = None) -> None:
    """Raise `Unsupported` (at `where`) when `backend` refuses `c`: a back-end asks before it
    renders the operands, so the refusal it reports is the construct's own."""
    r = c.rendering(backend)
    if isinstance(r, Refused):
        raise r.error(where)


def render(c: Operator | Function, backend: str, args: Args, where: object = None) -> Any:
    """`c` rendered by `backend`; raises `Unsupported` (at `where`) when it is refused there.

    A rendering function may itself raise `Unsupported` for operands it cannot express (a list
    compared with `==` in SQL); the refusal is placed at `where`.
    """
    r = c.rendering(backend)
    if isinstance(r, Refused):
        raise r.error(where)
    if isinstance(r, _Native):
        raise AssertionError(f"{backend} renders `{getattr(c, 'token', getattr(c, 'name', c))}` natively")
    try:
        return r(args)
    except Unsupported as exc:
        raise exc.at(where) from None


# ---- run-time meaning ------------------------------------------------------------------------


def _div(a: int | Decimal, b: int | Decimal, site: str = "") -> Decimal:
    return v.divide(a, b, site)


def remainder(a: int | Decimal, b: int | Decimal, site: str = "") -> int | Decimal:
    """`a % b`: the remainder of the division truncated toward zero, so it has the sign of `a`
    (as DuckDB's and Spark's `%`; Python's `%` floors on integers). Exact; an `int` when both
    are; a fault when `b` is zero, as `/` is."""
    if not b:
        raise v.Fault(f"division by zero at {site}" if site else "division by zero")
    if type(a) is int and type(b) is int:
        r = abs(a) % abs(b)
        return -r if a < 0 else r
    return v.EXACT.remainder(a, b)  # a decimal remainder has the dividend's sign


def _sql_remainder(a: Args) -> str:
    """SQL's `%` truncates as the language does, but a zero divisor is a query error there, not
    one record's `error` decision: only a divisor known (and not zero) when the policy loads."""
    divisor = a.value(1)
    if divisor is NOT_KNOWN:
        raise Unsupported("`%` by a value read from the record (a zero divisor is an error decision)")
    if not divisor:
        raise Unsupported("`%` by zero (an error decision on every record)")
    # DuckDB computes `%` exactly only while both operands fit one DECIMAL(38, s); otherwise it
    # silently falls back to floating point (duckdb#11506). A record number is DECIMAL(38, 9), a
    # product of two DECIMAL(38, 18): a divisor of at most 9 places and 9 integer digits fits both.
    d = Decimal(divisor)
    if a.dialect is not None and a.dialect.name == DUCKDB:
        if -d.as_tuple().exponent > 9 or abs(d) >= 10**9:  # type: ignore[operator]
            raise Unsupported(f"`%` by `{d:f}` (more than 9 places or 9 integer digits: DuckDB computes it in floating point)")
    return f"({a.code[0]} % {a.code[1]})"


def _z3_remainder(a: Args) -> Any:
    """`x % k` for a known `k`: x - k * trunc(x / k), trunc from z3's floor (`ToInt`); exact."""
    import z3  # type: ignore[import-untyped]

    k = a.code[1]
    if not isinstance(k, (int, Decimal)) or isinstance(k, bool) or not k:
        raise Unsupported("`%` by a value read from the record is not encoded (a zero divisor is an error decision)")
    x = a.ops.num(a.code[0])
    real = z3.ToReal(x) if x.is_int() else x
    q = real / z3.RealVal(str(k))
    r = real - z3.RealVal(str(k)) * z3.ToReal(z3.If(q >= 0, z3.ToInt(q), -z3.ToInt(-q)))
    return z3.ToInt(r) if x.is_int() and type(k) is int else r


def _binary(fn: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def run(a: Any, b: Any, site: str = "") -> Any:
        return fn(a, b)

    run.__doc__ = fn.__doc__
    return run


def _not_like(s: str, pattern: str) -> bool:
    return not v.like(s, pattern)


def _in(x: Any, coll: Any) -> bool:
    return x in coll


def _not_in(x: Any, coll: Any) -> bool:
    return x not in coll


# ---- renderings --------------------------------------------------------------------------------


def _infix(op: str) -> Callable[[Args], str]:
    """`(a OP b)`: how Python and SQL both spell most binary operators."""
    return lambda a: f"({a.code[0]} {op} {a.code[1]})"


def _py_exact(op: str, method: str) -> Callable[[Args], str]:
    """Integers with Python's operator (exact), anything else in the exact decimal context."""
    return lambda a: f"({a.code[0]} {op} {a.code[1]})" if a.ints else f"_EXACT.{method}({a.code[0]}, {a.code[1]})"


def _sql_scalar_compare(op: str) -> Callable[[Args], str]:
    def render(a: Args) -> str:
        if any(isinstance(x, (t.ListT, t.SetT)) for x in a.types):
            raise Unsupported(f"`{_TOKEN_OF_SQL.get(op, op)}` between lists or sets")
        return f"({a.code[0]} {op} {a.code[1]})"

    return render


_TOKEN_OF_SQL = {"=": "==", "<>": "!="}


def _z3_num(fn: Callable[[Any, Any], Any]) -> Callable[[Args], Any]:
    """A numeric operator on z3 terms (operands lifted to numbers); plain values are folded
    with `run` by the encoder before this is called."""
    return lambda a: fn(a.ops.num(a.code[0]), a.ops.num(a.code[1]))


def _joined(op: str) -> Callable[[Args], str]:
    """`(a OP b OP c)`: an n-ary `and`/`or`, in Python and SQL alike."""
    return lambda a: "(" + f" {op} ".join(a.code) + ")"


def _sql(limit: str) -> dict[str, str]:
    return {DUCKDB: limit, SPARK: limit}


_NO_WHOLE = {**_sql("not between lists or sets"), Z3: "not between whole records or lists"}
_UDF_IN_LAMBDA = {SPARK: "inside a quantifier, only of the record or of one variable over a list field "
                         "(Spark runs no UDF in a lambda)"}

_DIVISION_SQL = Refused("`/` (division rounds to 18 places, half to even, and faults on zero)")
_DIVISION_Z3 = Refused("division by a value read from the record is not encoded (`/` rounds to 18 places)")

OPERATORS: tuple[Operator, ...] = (
    # boolean
    Operator("or", "BoolOp", OR, "n-ary", "bool", "true when some operand is true (stops at the first)",
             lambda *xs: any(xs), _joined("or"), _joined("OR"), lambda a: a.ops.or_(*a.code)),
    Operator("and", "BoolOp", AND, "n-ary", "bool", "true when every operand is true (stops at the first false)",
             lambda *xs: all(xs), _joined("and"), _joined("AND"), lambda a: a.ops.and_(*a.code)),
    Operator("not", "Not", NOT, "prefix", "not", "negation", operator.not_,
             lambda a: f"(not {a.code[0]})", lambda a: f"(NOT {a.code[0]})", lambda a: a.ops.not_(a.code[0])),
    # comparisons (never chained)
    Operator("==", "Compare", COMPARE, "none", "equality", "equal", _binary(operator.eq),
             _infix("=="), _sql_scalar_compare("="), lambda a: a.ops.eq(a.code[0], a.code[1]), limits=_NO_WHOLE),
    Operator("!=", "Compare", COMPARE, "none", "equality", "not equal", _binary(operator.ne),
             _infix("!="), _sql_scalar_compare("<>"), lambda a: a.ops.not_(a.ops.eq(a.code[0], a.code[1])),
             limits=_NO_WHOLE),
    Operator("<", "Compare", COMPARE, "none", "order", "less than", _binary(operator.lt),
             _infix("<"), _sql_scalar_compare("<"), _z3_num(operator.lt)),
    Operator("<=", "Compare", COMPARE, "none", "order", "at most", _binary(operator.le),
             _infix("<="), _sql_scalar_compare("<="), _z3_num(operator.le)),
    Operator(">", "Compare", COMPARE, "none", "order", "greater than", _binary(operator.gt),
             _infix(">"), _sql_scalar_compare(">"), _z3_num(operator.gt)),
    Operator(">=", "Compare", COMPARE, "none", "order", "at least", _binary(operator.ge),
             _infix(">="), _sql_scalar_compare(">="), _z3_num(operator.ge)),
    Operator("in", "Compare", COMPARE, "none", "membership", "membership of a set or list", _in,
             _infix("in"), NATIVE, lambda a: a.ops.member(a.code[0], a.code[1])),
    Operator("not in", "Compare", COMPARE, "none", "membership", "not a member", _not_in,
             _infix("not in"), NATIVE, lambda a: a.ops.not_(a.ops.member(a.code[0], a.code[1])), negates="in"),
    Operator("like", "Compare", COMPARE, "none", "pattern", "matches a glob (`*`, `[a-z]`, `\\`)", v.like,
             NATIVE, NATIVE, lambda a: a.ops.like(a.code[0], a.code[1])),
    Operator("not like", "Compare", COMPARE, "none", "pattern", "does not match a glob", _not_like,
             NATIVE, NATIVE, lambda a: a.ops.not_(a.ops.like(a.code[0], a.code[1])), negates="like"),
    # arithmetic: exact on decimals (values.EXACT), `/` rounds to 18 places and faults on zero
    Operator("+", "Arith", ADD, "left", "arith", "exact sum", _binary(v.add),
             _py_exact("+", "add"), _infix("+"), _z3_num(operator.add)),
    Operator("-", "Arith", ADD, "left", "arith", "exact difference", _binary(v.sub),
             _py_exact("-", "subtract"), _infix("-"), _z3_num(operator.sub)),
    Operator("*", "Arith", MUL, "left", "arith", "exact product", _binary(v.mul),
             _py_exact("*", "multiply"), _infix("*"), _z3_num(operator.mul)),
    Operator("/", "Arith", MUL, "left", "arith", "quotient rounded to 18 places, half to even; faults on zero",
             _div, lambda a: f"_div({a.code[0]}, {a.code[1]}, {a.site})", _DIVISION_SQL, _DIVISION_Z3,
             int_closed=False, faults=True),
    Operator("%", "Arith", MUL, "left", "arith", "remainder of the division truncated toward zero (the sign of "
             "the dividend); faults on zero", remainder, lambda a: f"_rem({a.code[0]}, {a.code[1]}, {a.site})",
             _sql_remainder, _z3_remainder, faults=True,
             limits={**_sql("only by a literal or `const` divisor, not zero"),
                     DUCKDB: "only by a literal or `const` divisor, not zero, of at most 9 places and 9 integer digits",
                     Z3: "only by a known divisor, not zero"}),
    # unary minus
    Operator("-", "Neg", NEG, "prefix", "neg", "exact negation", v.neg,
             lambda a: f"(-{a.code[0]})" if a.ints else f"_EXACT.minus({a.code[0]})",
             lambda a: f"(- {a.code[0]})", lambda a: -a.code[0]),
)

#: operators by the AST class that carries them, then by token
BY_NODE: dict[str, dict[str, Operator]] = {}
for _op in OPERATORS:
    BY_NODE.setdefault(_op.node, {})[_op.token] = _op
COMPARE_OPS = BY_NODE["Compare"]
ARITH_OPS = BY_NODE["Arith"]
BOOL_OPS = BY_NODE["BoolOp"]
NOT_OP = BY_NODE["Not"]["not"]
NEG_OP = BY_NODE["Neg"]["-"]


# ---- functions ---------------------------------------------------------------------------------


def _py_call(helper: str) -> Callable[[Args], str]:
    return lambda a: f"{helper}({', '.join(a.code)})"


def _sql_len(a: Args) -> str:
    d = a.dialect
    return str(d.list_len(a.code[0]) if isinstance(a.types[0], (t.ListT, t.SetT)) else d.text_len(a.code[0]))


FUNCTIONS: tuple[Function, ...] = (
    # the text functions run as UDFs on SQL engines (theirs differ from Python's: `upper('ß')`)
    Function("normalize", ("text",), t.STRING, "text folded for comparison: NFKC, case-folded, white space "
             "collapsed and trimmed", v.normalize, _py_call("_normalize"), NATIVE,
             lambda a: a.ops.text_fn("normalize", a.code[0]), folds=True, udf=True, limits=_UDF_IN_LAMBDA,
             signature="normalize(s)"),
    Function("lower", ("text",), t.STRING, "full Unicode lower case", v.lower, _py_call("_lower"), NATIVE,
             lambda a: a.ops.text_fn("lower", a.code[0]), folds=True, udf=True, limits=_UDF_IN_LAMBDA,
             signature="lower(s)"),
    Function("upper", ("text",), t.STRING, "full Unicode upper case (`upper(\"ß\")` is `\"SS\"`)", v.upper,
             _py_call("_upper"), NATIVE,
             lambda a: a.ops.text_fn("upper", a.code[0]), folds=True, udf=True, limits=_UDF_IN_LAMBDA,
             signature="upper(s)"),
    Function("starts_with", ("text", "text"), t.BOOL, "case-sensitive prefix test", v.starts_with,
             _py_call("_starts_with"), lambda a: a.dialect.starts_with(a.code[0], a.code[1]),
             lambda a: a.ops.starts_with(a.code[0], a.code[1]), signature="starts_with(s, prefix)"),
    Function("len", ("collection",), t.INT, "the number of elements of a list or set, or of characters of a text",
             len, lambda a: f"len({a.code[0]})", _sql_len, lambda a: a.ops.length(a.code[0]),
             limits={Z3: "not of a set whose members depend on the date"}, signature="len(x)"),
    Function("days_between", ("date", "date"), t.INT,
             "`d2` minus `d1` in days, an `int` (negative when `d2` is earlier)",
             v.days_between,
             lambda a: f"({a.code[1]} - {a.code[0]}).days", lambda a: a.dialect.days_between(a.code[0], a.code[1]),
             lambda a: a.ops.num(a.code[1]) - a.ops.num(a.code[0]), signature="days_between(d1, d2)"),
    # screening: the list is read by each back-end's own machinery (vectorised UDFs, refinements)
    Function("screen", None, t.NUMBER, "the best score of `name` against the screening list, a `number` in [0, 1]",
             None, NATIVE, NATIVE, NATIVE, limits={SPARK: "not inside a quantifier"},
             signature="screen(name, LIST [, type [, country]])"),
    Function("matches", None, t.BOOL, "true when an entry of the screening list not cleared for `name` scores the "
             "list's threshold", None, NATIVE, NATIVE, NATIVE, limits={SPARK: "not inside a quantifier"},
             signature="matches(name, LIST [, type [, country]])"),
)
FUNCTIONS_BY_NAME: dict[str, Function] = {f.name: f for f in FUNCTIONS}

QUANTIFIERS: tuple[Quantifier, ...] = (
    Quantifier("any", "true when some element satisfies `cond`", signature="any(x in xs [where f]: cond)"),
    Quantifier("all", "true when every element satisfies `cond`", signature="all(x in xs [where f]: cond)"),
    Quantifier("count", "the number of elements (that pass `f`)", body_optional=True,
               signature="count(x in xs [where f])"),
    Quantifier("sum", "the total of `expr` over the elements", signature="sum(x in xs [where f]: expr)"),
)
QUANTIFIERS_BY_NAME: dict[str, Quantifier] = {q.name: q for q in QUANTIFIERS}
#: the functions SQL engines run as Python UDFs, with their run-time functions
UDFS: dict[str, Callable[[str], str]] = {f.name: f.run for f in FUNCTIONS if f.udf and f.run is not None}

#: the Python helpers the row compiler's renderings call, by the name they are called by
PY_HELPERS: dict[str, Any] = {
    "_EXACT": v.EXACT, "_div": v.divide, "_normalize": v.normalize, "_lower": v.lower, "_upper": v.upper,
    "_starts_with": v.starts_with, "_rem": remainder,
}


def operator_of(node: str, token: str) -> Operator:
    """The operator `token` carried by an AST node of class `node`; KeyError when it has none."""
    return BY_NODE[node][token]


def precedence(node: str, token: str) -> int:
    return BY_NODE[node][token].precedence


def constructs() -> list[Operator | Function | Quantifier]:
    """Every operator, function and quantifier, in the registry's order."""
    return [*OPERATORS, *FUNCTIONS, *QUANTIFIERS]


def label(c: Operator | Function | Quantifier) -> str:
    """How docs and messages name a construct: `+`, unary `-`, `normalize`."""
    if isinstance(c, Operator):
        return f"unary `{c.token}`" if c.node == "Neg" else f"`{c.token}`"
    return f"`{c.name}`"


__all__ = [
    "ARITH_OPS", "Args", "BACKENDS", "BOOL_OPS", "BY_NODE", "COMPARE_OPS", "DUCKDB", "FUNCTIONS", "FUNCTIONS_BY_NAME",
    "Function", "INTERPRETER", "NATIVE", "NEG_OP", "NOT_KNOWN", "NOT_OP", "OPERATORS", "Operator", "PY_HELPERS",
    "QUANTIFIERS", "QUANTIFIERS_BY_NAME", "Quantifier", "ROW", "Refused", "Render", "SPARK", "SQL_DIALECTS", "UDFS",
    "Unsupported",
    "Z3", "constructs", "label", "operator_of", "precedence", "refuse", "render",
]
