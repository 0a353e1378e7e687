"""The columnar engine: a policy compiled to SQL and run on DuckDB in chunks (see docs/columnar.md).

`sqlgen` turns the checked AST into one query (DuckDB by default, Spark SQL as a second dialect:
`dialects`; expressions in `sqlexpr`, `like` globs in `globs`, domain checks in `validation`),
`canon` turns records into the canonical Arrow table the query reads, and `engine` runs chunks
and turns each row's rule masks into the same decisions as the row engine.
"""

from __future__ import annotations

from .sqlgen import Unsupported, compile_query, unsupported

__all__ = ["Unsupported", "compile_query", "unsupported", "ColumnarEngine"]


def __getattr__(name: str) -> object:
    if name == "ColumnarEngine":
        from .engine import ColumnarEngine

        return ColumnarEngine
    raise AttributeError(name)
