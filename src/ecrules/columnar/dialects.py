"""SQL dialects: everything that differs between the SQL engines the columnar compiler writes
for (identifier and string quoting, lambdas and list functions, regular expressions, date
differences, user functions), as sqlglot separates its dialects. `DUCKDB` is the default,
`SPARK` runs the same query on Spark SQL."""

from __future__ import annotations

import datetime
from decimal import Decimal

# what the columnar compiler cannot express exactly: the one class every back-end raises
# (`compile_query` names the columnar engine in its message)
from ..semantics.operators import Unsupported as Unsupported

#: Input numbers are held as DECIMAL(38, NUMBER_SCALE): up to 9 places after the point and 29
#: before it. A record value outside that range is decided by the row engine.
NUMBER_PRECISION = 38  # the widest DECIMAL DuckDB, Spark and Arrow's decimal128 all hold
NUMBER_SCALE = 9
NUMBER_SQL = f"DECIMAL({NUMBER_PRECISION}, {NUMBER_SCALE})"
#: Named sets with more entries than this are not written into the query text: they become a
#: registered table (a semi-join) or, inside a list lambda, a vectorised membership function.
INLINE_SET_LIMIT = 1000




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
