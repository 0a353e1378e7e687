"""The public API: `__all__` everywhere, and explain / verify / to_sql as values, with no IR in sight.

`Policy.to_sql(dialect)` plus `PolicyQuery.decide` is how another SQL engine (Spark) runs a
policy: here the query runs on DuckDB over the canonical table and every decision `decide` makes
from the result rows must equal `policy.evaluate`'s.
"""

from __future__ import annotations

import datetime
import importlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ecrules
from ecrules.testing import records

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ["ecrules", "ecrules.testing", "ecrules.columnar", "ecrules.verify", "ecrules.screening", "ecrules.impact"]


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_module_says_what_it_exports(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported == sorted(set(exported), key=exported.index)  # no name twice
    for attr in exported:
        assert getattr(module, attr) is not None, f"{name}.{attr}"


def test_the_testing_module_exports_strategies_and_helpers_only() -> None:
    import ecrules.testing as testing

    assert set(testing.__all__) == {"records", "protected_pairs", "near_listed_names", "pattern_examples",
                                    "assert_constraints", "ConstraintViolation"}


def test_the_top_level_exposes_no_ir() -> None:
    for name in ecrules.__all__:
        value = getattr(ecrules, name)
        module = getattr(value, "__module__", "") or ""
        assert not module.startswith(("ecrules.checked", "ecrules.checker", "ecrules.nodes", "ecrules.parser")), name


def test_explain_is_a_value() -> None:
    policy = ecrules.load(ROOT / "policies" / "un_arms_embargo.ecp")
    record = json.loads((ROOT / "examples" / "transactions.jsonl").read_text().splitlines()[0])
    ex = policy.explain(record)
    assert isinstance(ex, ecrules.Explanation)
    assert all(isinstance(r, ecrules.RuleReport) for r in ex.rules)
    assert ex.decision == policy.evaluate(record) and ex.outcome == ex.decision.outcome
    assert json.loads(json.dumps(ex.to_dict()))["decision"]["outcome"] == ex.outcome
    assert ex.render().splitlines()[-2] == f"outcome: {ex.outcome}"


VIOLATED = """
policy "v" version "1"
schema {
  record r {
    value: number
  }
}
rule BIG deny { when value > 10 }
constraint small_is_allowed {
  never deny when value < 100
}
"""


def test_verify_policy_returns_verdicts() -> None:
    report = ecrules.verify_policy(ecrules.loads(VIOLATED), timeout=10)
    assert isinstance(report, ecrules.PolicyReport) and report.violated
    (verdict,) = report.verdicts
    assert isinstance(verdict, ecrules.Verdict)
    assert verdict.constraint == "small_is_allowed" and verdict.status == "violated"
    assert verdict.witness is not None and 10 < verdict.witness["value"] < 100
    report = ecrules.verify_policy(ecrules.load(ROOT / "policies" / "un_arms_embargo.ecp"), timeout=20)
    assert report.verdicts and {v.status for v in report.verdicts} == {"proved"}
    assert report.file.endswith("un_arms_embargo.ecp")


SQL_POLICIES = [ROOT / "policies" / "un_arms_embargo.ecp", ROOT / "policies" / "dual_use_licensing.ecp",
                ROOT / "policies" / "wmd_catch_all.ecp", *sorted(ROOT.glob("tests/conformance/*/policy.ecp"))]


def _run_duckdb(policy: ecrules.Policy, recs: list[dict[str, Any]]) -> list[ecrules.Decision]:
    import duckdb

    from ecrules.columnar import canon, register_duckdb_udfs

    query = policy.to_sql("duckdb")
    table, bad = canon.canon_rows(recs, policy.checked.record, query.input_schema)  # the canonical columns
    table = table.append_column(query.row_column, pa.array(range(len(recs)), type=pa.int64()))
    con = duckdb.connect()
    register_duckdb_udfs(con)  # the public way to the text functions `query.udfs` names
    con.register(query.input_view, table)
    cursor = con.execute(query.sql)
    names = [column[0] for column in cursor.description]
    result = [dict(zip(names, row)) for row in cursor.fetchall()]  # as Spark's `Row.asDict()`
    by_row = {row[query.row_column]: row for row in result}
    out = []
    for k, rec in enumerate(recs):
        as_of = rec.get(query.as_of_field) if query.as_of_field else None
        day = datetime.date.fromisoformat(as_of) if isinstance(as_of, str) else None
        d = None if bad[k] else query.decide(by_row[k], day, rec.get("id"))
        out.append(d if d is not None else policy.evaluate(rec, position=k + 1))
    return out


@pytest.mark.parametrize("path", SQL_POLICIES, ids=[str(p.relative_to(ROOT)) for p in SQL_POLICIES])
@settings(max_examples=8, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_to_sql_masks_decide_as_evaluate(path: Path, data: st.DataObject) -> None:
    policy = _POLICIES.get(path) or _POLICIES.setdefault(path, ecrules.load(path))
    recs = data.draw(st.lists(records(policy), min_size=1, max_size=12))
    assert _run_duckdb(policy, recs) == [policy.evaluate(r, position=k + 1) for k, r in enumerate(recs)]


_POLICIES: dict[Path, ecrules.Policy] = {}


def test_to_sql_refuses_what_another_engine_cannot_run() -> None:
    from ecrules.columnar import Unsupported

    policy = ecrules.load(ROOT / "policies" / "screening.ecp")
    with pytest.raises(Unsupported, match="screening"):
        policy.to_sql("spark")
    query = ecrules.load(SQL_POLICIES[0]).to_sql("spark")
    assert query.dialect == "spark" and "`destination`" in query.sql and query.key_columns
