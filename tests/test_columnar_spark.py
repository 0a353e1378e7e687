"""The generated SQL on Spark (pyspark, local mode): same decisions as the row engine.

Runs when pyspark and a Java runtime are present (`pip install 'ecrules[spark]'`); skipped with
the reason otherwise. The Spark dialect checks the schema in SQL (`validate=True`) and calls
`normalize`, `lower` and `upper` as Python UDFs; docs/spark.md runs the same thing on a cluster.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("duckdb")
pa = pytest.importorskip("pyarrow")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

import ecrules  # noqa: E402
from ecrules import types as t  # noqa: E402
from ecrules.columnar import canon  # noqa: E402
from ecrules.columnar.engine import ColumnarEngine  # noqa: E402
from ecrules.columnar.sqlgen import NUMBER_SCALE, compile_query  # noqa: E402
from ecrules.testing import records  # noqa: E402
from ecrules.values import lower, normalize, upper  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(ROOT.glob("policies/*.ecp")) + sorted(ROOT.glob("tests/conformance/*/policy.ecp"))


def _why_not_spark() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'ecrules[spark]')"
    java = shutil.which("java")
    if java is None:
        return "no Java runtime (`java` is not on PATH)"
    try:
        subprocess.run([java, "-version"], capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"`java -version` does not work: {exc}"
    return None


REASON = _why_not_spark()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"Spark test skipped: {REASON}")


def spark_type(typ: t.Type) -> str:
    if isinstance(typ, t.Prim):
        return {"string": "STRING", "country": "STRING", "int": "BIGINT", "number": f"DECIMAL(38,{NUMBER_SCALE})",
                "bool": "BOOLEAN", "date": "DATE"}[typ.name]
    if isinstance(typ, t.EnumT):
        return "STRING"
    if isinstance(typ, (t.ListT, t.SetT)):
        return f"ARRAY<{spark_type(typ.elem)}>"
    if isinstance(typ, t.StructT):
        return "STRUCT<" + ", ".join(f"`{f.name}`: {spark_type(f.type)}" for f in typ.fields.values()) + ">"
    raise AssertionError(typ)


@pytest.fixture(scope="module")
def spark() -> Any:
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("ecrules-test")
               .config("spark.sql.decimalOperations.allowPrecisionLoss", "false")
               .config("spark.sql.ansi.enabled", "true")
               .config("spark.ui.enabled", "false").getOrCreate())
    for name, fn in (("ecr_normalize", normalize), ("ecr_lower", lower), ("ecr_upper", upper)):
        session.udf.register(name, lambda s, fn=fn: fn(s) if s is not None else None, "string")
    yield session
    session.stop()


def run_on_spark(spark: Any, policy: ecrules.Policy, recs: list[Any]) -> list[Any]:
    """Decide `recs` with the Spark SQL of `policy`; the row engine decides the rows canon flags."""
    c = policy.checked
    assert c.record is not None
    query = compile_query(c, "spark", validate=True, derive=False)
    engine = ColumnarEngine(policy)
    schema = canon.record_schema(c.record)
    table, bad = canon.canon_rows(recs, c.record, schema)
    rows = table.to_pylist()
    for k, row in enumerate(rows):
        row["__row"] = k
    ddl = ", ".join(f"`{f.name}` {spark_type(f.type)}" for f in c.record.fields.values()) + ", `__row` BIGINT"
    spark.createDataFrame(rows, schema=ddl).createOrReplaceTempView("__chunk")
    out = spark.sql(query.sql).collect()
    names = ["__row", "__ok", *query.mask_columns, *query.basis_columns]
    res = pa.table({name: [r[name] for r in out] for name in names})

    def fallback(k: int) -> Any:
        return policy.evaluate(recs[k], position=k + 1)

    def raw_ids() -> list[Any]:
        return [r.get("id") if isinstance(r, dict) else None for r in recs]

    chunk = engine.finish(query, table, res, bad, fallback, 0, raw_ids)
    return list(chunk)


@pytest.mark.parametrize("path", EXAMPLES, ids=[str(p.relative_to(ROOT)) for p in EXAMPLES])
def test_spark_matches_row_engine(spark: Any, path: Path) -> None:
    policy = ecrules.load(path)

    @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(records(policy), min_size=1, max_size=25))
    def check(recs: list[dict[str, Any]]) -> None:
        assert run_on_spark(spark, policy, recs) == list(policy.evaluate_many(recs))

    check()
