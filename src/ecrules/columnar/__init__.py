"""The columnar engine: a policy compiled to SQL and run on DuckDB in chunks (see docs/columnar.md).

`sqlgen` turns the checked AST into one query (DuckDB by default, Spark SQL as a second dialect:
`dialects`; expressions in `sqlexpr`, `like` globs in `globs`, domain checks in `validation`),
`canon` turns records into the canonical Arrow table the query reads, and `engine` runs chunks
and turns each row's rule masks into the same decisions as the row engine.
"""

from __future__ import annotations

from .sqlgen import Unsupported, compile_query, unsupported

#: `compile_query` (it takes the checked program) stays importable for tools; `Policy.to_sql` is its public form
__all__ = ["ColumnarEngine", "PolicyQuery", "Unsupported", "register_duckdb_udfs", "register_spark_udfs", "unsupported"]


def __getattr__(name: str) -> object:
    if name == "ColumnarEngine":
        from .engine import ColumnarEngine

        return ColumnarEngine
    if name == "PolicyQuery":  # `Policy.to_sql`'s result
        from .masks import PolicyQuery

        return PolicyQuery
    if name == "register_duckdb_udfs":  # the text functions a `to_sql("duckdb")` query calls
        from .udfs import register_duckdb_udfs

        return register_duckdb_udfs
    if name == "register_spark_udfs":  # the text functions a Spark query calls
        from .spark import register_udfs

        return register_udfs
    raise AttributeError(name)
