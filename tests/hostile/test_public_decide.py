"""`PolicyQuery.decide` given the record's `as_of` as a JSON record holds it (issue 8's public API).

cli.md says `as_of` is "the record's value of `query.as_of_field`"; in a JSON record that value is
the text `2026-02-09`. `decide` compared it with the bases' dates: a TypeError on some records,
and on others a decision citing no basis where `evaluate` cites one, silently. Without `as_of`
every basis counted as in force, lapsed ones included.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import ecrules

ROOT = Path(__file__).resolve().parents[2]


def _rows(policy: ecrules.Policy, recs: list[dict[str, Any]]) -> tuple[Any, dict[int, dict[str, Any]], list[bool]]:
    duckdb = pytest.importorskip("duckdb")
    from ecrules.columnar import canon, register_duckdb_udfs

    query = policy.to_sql("duckdb")
    table, bad = canon.canon_rows(recs, policy.checked.record, query.input_schema)
    table = table.append_column(query.row_column, pa.array(range(len(recs)), type=pa.int64()))
    con = duckdb.connect()
    register_duckdb_udfs(con)
    con.register(query.input_view, table)
    cursor = con.execute(query.sql)
    names = [c[0] for c in cursor.description]
    rows = {r[names.index(query.row_column)]: dict(zip(names, r)) for r in cursor.fetchall()}
    return query, rows, list(bad)


def _examples() -> list[dict[str, Any]]:
    lines = (ROOT / "examples" / "transactions.jsonl").read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # the file holds deliberately broken lines too
        if isinstance(rec, dict):
            out.append(rec)
    return out


def test_decide_takes_the_as_of_text_of_a_json_record() -> None:
    policy = ecrules.load(ROOT / "policies" / "un_arms_embargo.ecp")
    recs = _examples()
    query, rows, bad = _rows(policy, recs)
    assert query.as_of_field == "date"
    decided = 0
    for k, rec in enumerate(recs):
        if bad[k]:
            continue
        d = query.decide(rows[k], rec[query.as_of_field], rec.get("id"))
        if d is not None:
            decided += 1
            assert d == policy.evaluate(rec), rec.get("id")
    assert decided >= 10


@pytest.mark.parametrize("as_of", [None, "2026-13-01", "20260209", 20260209])
def test_decide_refuses_an_as_of_that_is_not_a_date(as_of: object) -> None:
    policy = ecrules.load(ROOT / "policies" / "un_arms_embargo.ecp")
    recs = _examples()[:3]
    query, rows, _ = _rows(policy, recs)
    with pytest.raises(ValueError, match="`as_of` must be the record's `date`"):
        query.decide(rows[0], as_of, recs[0].get("id"))  # type: ignore[arg-type]
