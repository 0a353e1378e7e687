"""The Python UDFs the Spark dialect's query calls (docs/spark.md); pyspark is not imported here.

`ecr_normalize`, `ecr_lower`, `ecr_upper` map one text (null stays null); `ecr_normalize_each`,
`ecr_lower_each`, `ecr_upper_each` map an array of texts element by element. The `_each` forms
are what the query calls for `normalize(p.name)` inside a quantifier `any(p in parties: ...)`:
Spark runs no Python UDF inside a lambda, so the generator computes the normalized names of all
parties outside the lambda and the lambda reads element i (sqlexpr.ExprGen._hoisted_udf).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..semantics.operators import UDFS

#: the text functions a Spark query calls as UDFs: the registry's run-time functions
TEXT_FUNCTIONS: dict[str, Callable[[str], str]] = dict(UDFS)


def _one(fn: Callable[[str], str]) -> Callable[[Any], Any]:
    def udf(s: Any) -> Any:
        return fn(s) if s is not None else None

    return udf


def _each(fn: Callable[[str], str]) -> Callable[[Any], Any]:
    def udf(xs: Any) -> Any:
        if xs is None:
            return None
        return [fn(s) if s is not None else None for s in xs]

    return udf


def register_udfs(spark: Any) -> None:
    """Register every text UDF a Spark query of `sqlgen.compile_query(..., "spark")` may call."""
    for name, fn in TEXT_FUNCTIONS.items():
        spark.udf.register(f"ecr_{name}", _one(fn), "string")
        spark.udf.register(f"ecr_{name}_each", _each(fn), "array<string>")


__all__ = ["TEXT_FUNCTIONS", "register_udfs"]
