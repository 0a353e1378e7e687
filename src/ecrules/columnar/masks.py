"""The public form of a policy's SQL (`Policy.to_sql`) and the way back from its rule masks to decisions.

A SQL engine that is not DuckDB (Spark, docs/spark.md) runs `PolicyQuery.sql` over its own table
and gets, per record, a row of bit masks; `PolicyQuery.decide` turns such a row into the
record's decision with the same `Combiner` the row and DuckDB engines use, so the three agree.
Nothing here exposes the checked program.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import attrs
import pyarrow as pa

from ..checked import Checked
from ..combine import Combiner
from ..decision import Decision
from ..literals import parse_date
from . import canon
from .sqlgen import Query, Unsupported, cited_members, compile_query, matched_rules


@attrs.frozen(eq=False)
class PolicyQuery:
    """A policy as one SQL query, and how to read its result.

    The query reads the table (or view) `input_view`: one row a record, its columns those of
    `input_schema` (the canonical types: docs/columnar.md) plus a BIGINT `row_column` numbering
    the rows. It returns, per row, `row_column`, `ok_column` (true when the record fits the schema
    and its invariants) and the `key_columns` its decision depends on; rows with equal key columns
    (and as-of date) have equal decisions. Text functions are UDFs named in `udfs` (on Spark:
    `ecrules.columnar.register_spark_udfs`).
    """

    sql: str
    dialect: str
    key_columns: tuple[str, ...]
    udfs: tuple[str, ...]
    #: the record field `decide` needs as `as_of` (the policy's `as_of`), or None
    as_of_field: str | None
    input_view: str = "__chunk"
    row_column: str = "__row"
    ok_column: str = "__ok"
    _query: Query | None = attrs.field(default=None, repr=False, alias="_query")
    _checked: Checked | None = attrs.field(default=None, repr=False, alias="_checked")
    _combiner: Combiner | None = attrs.field(default=None, repr=False, alias="_combiner")

    @property
    def input_schema(self) -> pa.Schema:
        """The Arrow schema of the input table (without `row_column`)."""
        assert self._checked is not None and self._checked.record is not None
        return canon.record_schema(self._checked.record)

    def decide(self, row: Mapping[str, Any], as_of: datetime.date | str | None = None,
               record_id: Any = None) -> Decision | None:
        """The decision of the record whose result row is `row` (a mapping from column name to
        value), with id `record_id`; `as_of` is the record's `as_of_field` value (a date, or its
        `YYYY-MM-DD` text as a JSON record holds it). None when the row engine must decide the
        record, `policy.evaluate(record)`: the record does not fit the schema or an invariant (its
        decision names the field), or a rule that counts cites set members the query cannot list.
        Raises ValueError when the policy has an `as_of_field` and `as_of` is not a date: the
        bases in force depend on it (a wrong one would cite the wrong instruments, silently)."""
        q, combiner = self._query, self._combiner
        assert q is not None and combiner is not None
        if not row[self.ok_column]:
            return None
        day = parse_date(as_of) if isinstance(as_of, str) else as_of
        if self.as_of_field is None:
            day = None
        elif type(day) is not datetime.date:
            raise ValueError(f"`as_of` must be the record's `{self.as_of_field}` (a date), not `{as_of!r}`")
        matched = matched_rules(row[column] for column in q.mask_columns)
        if any(k in q.row_cites for k in matched):
            return None
        return combiner.decide(matched, record_id, day, cited_members(q, matched, row.__getitem__))


def policy_query(checked: Checked, dialect: str) -> PolicyQuery:
    """`Policy.to_sql(dialect)`: raises `ecrules.columnar.Unsupported` for what the dialect cannot express."""
    q = compile_query(checked, dialect, validate=True, derive=False)
    screening = [u for u in q.udfs if u.startswith(("screen__", "matches__"))]
    if q.big_sets or screening:
        what = f"set `{q.big_sets[0].set_name}` over the inline limit" if q.big_sets else "screening"
        raise Unsupported(f"{what} in a query for another engine: run the policy with `evaluate_table`")
    keys = (*q.mask_columns, *q.basis_columns, *(column for _, _, column in q.site_columns))
    return PolicyQuery(q.sql, q.dialect, keys, tuple(sorted(q.udfs)), checked.as_of,
                       _query=q, _checked=checked, _combiner=Combiner(checked))


__all__ = ["PolicyQuery", "policy_query"]
