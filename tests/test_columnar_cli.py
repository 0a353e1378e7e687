"""The columnar engine end to end: `ecrules eval --engine`, formats, errors, `Policy.evaluate_table`."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("duckdb")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from click.testing import CliRunner  # noqa: E402

import ecrules  # noqa: E402
from ecrules.cli import main  # noqa: E402
from ecrules.columnar import Unsupported, unsupported  # noqa: E402
from ecrules.columnar import run as columnar_run  # noqa: E402
from ecrules.columnar.engine import DECISION_SCHEMA, ColumnarEngine  # noqa: E402
from ecrules.columnar.udfs import normalize_arrow  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "export_control.ecp"
EXAMPLES = ROOT / "examples" / "transactions.jsonl"

DIVIDES = '''
policy "ratio" version "1"
schema {
  record tx {
    id: string
    value: number
    quantity: int
  }
}
rule R license { when value / quantity > 100 }
'''


def _eval(*args: str) -> Any:
    return CliRunner().invoke(main, ["eval", *args])


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _example_records() -> list[dict[str, Any]]:
    out = []
    for line in EXAMPLES.read_text(encoding="utf-8").splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def test_columnar_output_is_byte_identical_to_row_output() -> None:
    row = _eval(str(POLICY), str(EXAMPLES), "--engine", "row", "-q")
    col = _eval(str(POLICY), str(EXAMPLES), "--engine", "columnar", "-q", "--batch-size", "5")
    assert row.exit_code == 0 and col.exit_code == 0, col.output
    assert col.stdout == row.stdout
    assert len(_lines(col.stdout)) == sum(1 for line in EXAMPLES.read_text().splitlines() if line.strip())


def test_malformed_lines_keep_count_in_equal_count_out(tmp_path: Path) -> None:
    good = [line for line in EXAMPLES.read_text().splitlines() if line.strip()]
    lines = []
    for k in range(300):
        lines.append(good[k % len(good)])
        if k % 37 == 0:
            lines.append('{"id": "broken", ')          # not JSON
        if k % 53 == 0:
            lines.append("[1, 2, 3]")                   # not an object
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    row = _eval(str(POLICY), str(path), "--engine", "row", "-q")
    col = _eval(str(POLICY), str(path), "--engine", "columnar", "-q", "--batch-size", "64")
    assert col.stdout == row.stdout
    out = _lines(col.stdout)
    assert len(out) == len(lines)
    bad = [d for d in out if d["outcome"] == "error" and d["error"]["message"].startswith("line ")]

    def malformed(line: str) -> bool:
        try:
            return not isinstance(json.loads(line), dict)
        except ValueError:
            return True

    assert len(bad) == sum(1 for line in lines if malformed(line)) >= 14


def test_unsupported_construct_fails_columnar_and_auto_falls_back(tmp_path: Path) -> None:
    policy_file = tmp_path / "ratio.ecp"
    policy_file.write_text(DIVIDES, encoding="utf-8")
    records = tmp_path / "in.jsonl"
    records.write_text('{"id": "a", "value": 500, "quantity": 2}\n{"id": "b", "value": 1, "quantity": 0}\n', encoding="utf-8")
    policy = ecrules.load(policy_file)
    why = unsupported(policy.checked)
    assert why is not None and "`/`" in str(why) and "ratio.ecp:10" in str(why)
    with pytest.raises(Unsupported, match="division"):
        ColumnarEngine(policy)
    with pytest.raises(Unsupported):
        policy.evaluate_table(pa.table({"id": ["a"], "value": [1], "quantity": [1]}))

    col = _eval(str(policy_file), str(records), "--engine", "columnar")
    assert col.exit_code == 1
    assert "cannot express `/`" in col.stderr and "ratio.ecp:10" in col.stderr

    # auto on a small file: the row engine, silently; above the size: the row engine, saying so
    auto = _eval(str(policy_file), str(records), "--engine", "auto", "-q")
    assert auto.exit_code == 0 and auto.stderr == ""
    chosen, note = columnar_run.choose(policy, "auto", str(records), 100)
    assert chosen is None and note is None
    old = columnar_run.AUTO_MIN_BYTES
    columnar_run.AUTO_MIN_BYTES = 1
    try:
        auto = _eval(str(policy_file), str(records), "--engine", "auto", "-q")
        chosen, note = columnar_run.choose(ecrules.load(POLICY), "auto", str(records), 100)
    finally:
        columnar_run.AUTO_MIN_BYTES = old
    assert auto.exit_code == 0
    assert "cannot express `/`" in auto.stderr and "using the row engine" in auto.stderr
    out = _lines(auto.stdout)
    assert [d["outcome"] for d in out] == ["license", "error"]
    assert isinstance(chosen, ColumnarEngine) and note is None


def test_parquet_in_and_out_round_trip(tmp_path: Path) -> None:
    records = _example_records()[:20]
    recs: list[dict[str, Any]] = []
    for r in records:
        try:
            pa.Table.from_pylist([r])
            recs.append(r)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    table = pa.Table.from_pylist(recs * 10)
    src = tmp_path / "in.parquet"
    pq.write_table(table, src)
    out_row, out_col = tmp_path / "row.parquet", tmp_path / "col.parquet"
    assert _eval(str(POLICY), str(src), "--engine", "row", "-o", str(out_row), "-q").exit_code == 0
    res = _eval(str(POLICY), str(src), "--engine", "columnar", "-o", str(out_col), "-q", "--batch-size", "7")
    assert res.exit_code == 0, res.output
    a, b = pq.read_table(out_row), pq.read_table(out_col)
    assert b.schema.equals(DECISION_SCHEMA)
    assert a.num_rows == b.num_rows == table.num_rows
    assert a.to_pylist() == b.to_pylist()
    # and back: the Parquet decisions read as the JSON Lines ones
    jl = _lines(_eval(str(POLICY), str(src), "--engine", "columnar", "-q").stdout)
    assert [d["outcome"] for d in jl] == b.column("outcome").to_pylist()
    assert [d["id"] for d in jl] == b.column("id").to_pylist()


def test_csv(tmp_path: Path) -> None:
    text = '''
policy "flat" version "1"
as_of date
schema {
  record tx {
    id: string
    date: date
    destination: country
    value: number
    quantity: int
    urgent: bool
    note: string?
  }
}
rule EMB deny { basis UNSC "x" from 2026-01-01 when destination in { "KP", "IR" } }
rule BIG license { require "licence" when value * quantity > 10000.50 and not urgent }
rule NOTE allow { waives BIG when has note and note like "*exempt*" }
'''
    policy_file = tmp_path / "flat.ecp"
    policy_file.write_text(text, encoding="utf-8")
    rows = ["id,date,destination,value,quantity,urgent,note"]
    for k in range(500):
        dest = ["KP", "FR", "XX", "IR", "DE"][k % 5]
        date = ["2025-12-31", "2026-01-01", "2026-13-01"][k % 3]
        value = ["100.25", "5000.5", "abc", "10000.50", "0.0000000001"][k % 5 if k % 7 else 2]
        qty = ["1", "3", "2.0", ""][k % 4]
        urgent = ["true", "false", "maybe"][k % 3 if k % 11 else 2]
        note = ["", "exempt order", "x"][(k // 2) % 3]
        rows.append(f"T{k},{date},{dest},{value},{qty},{urgent},{note}")
    src = tmp_path / "in.csv"
    src.write_text("\n".join(rows) + "\n", encoding="utf-8")
    row = _eval(str(policy_file), str(src), "--engine", "row", "-q")
    col = _eval(str(policy_file), str(src), "--engine", "columnar", "-q", "--batch-size", "100")
    assert row.exit_code == col.exit_code == 0
    assert col.stdout == row.stdout
    assert len(_lines(col.stdout)) == 500
    assert {d["outcome"] for d in _lines(col.stdout)} >= {"deny", "license", "allow", "error"}


def test_evaluate_table_inputs(tmp_path: Path) -> None:
    policy = ecrules.load(POLICY)
    records = _example_records()
    ok = []
    for r in records:
        try:
            json.dumps(r)
            pa.Table.from_pylist([r])
            ok.append(r)
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
            pass
    table = pa.Table.from_pylist(ok)
    result = policy.evaluate_table(table)
    assert isinstance(result, pa.Table) and result.schema.equals(DECISION_SCHEMA)
    from ecrules.inputs import _arrow_value

    expected = list(policy.evaluate_many([{k: _arrow_value(v) for k, v in row.items()} for row in table.to_pylist()]))
    assert result.column("outcome").to_pylist() == [d.outcome for d in expected]
    assert result.column("id").to_pylist() == [str(d.id) for d in expected]
    assert result.column("fired").to_pylist() == [list(d.fired) for d in expected]
    # a path, a record batch, plain dicts
    path = tmp_path / "in.parquet"
    pq.write_table(table, path)
    assert policy.evaluate_table(path).equals(result)
    assert policy.evaluate_table(str(path)).equals(result)
    assert policy.evaluate_table(table.to_batches()[0]).equals(result)
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in ok), encoding="utf-8")
    from_json = policy.evaluate_table(jsonl)
    assert from_json.column("outcome").to_pylist() == [d.outcome for d in policy.evaluate_many(ok)]
    assert from_json.column("error_message").to_pylist() == [
        d.error.message if d.error else None for d in policy.evaluate_many(ok)]
    assert policy.evaluate_table(pa.table({"id": pa.array([], pa.string())})).num_rows == 0


def test_evaluate_table_pandas_and_polars() -> None:
    policy = ecrules.load(POLICY)
    records = _example_records()[:5]
    expected = [d.outcome for d in policy.evaluate_many(records)]
    tried = 0
    try:
        import pandas as pd
    except ImportError:
        pd = None
    if pd is not None:
        tried += 1
        assert policy.evaluate_table(pd.DataFrame(records)).column("outcome").to_pylist() == expected
    try:
        import polars as pl
    except ImportError:
        pl = None
    if pl is not None:
        tried += 1
        df = pl.from_arrow(pa.Table.from_pylist(records))
        assert policy.evaluate_table(df).column("outcome").to_pylist() == expected
    if not tried:
        pytest.skip("neither pandas nor polars is installed")


def test_normalize_arrow_matches_normalize() -> None:
    import random

    from ecrules.values import normalize

    chars = [chr(i) for i in range(128)] + ["é", "ﬁ", "\u00a0", "\u3000", "Ｆ", "ß", "İ", "\x85", "\u2028"]
    rng = random.Random(7)
    strs: list[str | None] = ["".join(rng.choice(chars) for _ in range(rng.randint(0, 9))) for _ in range(20_000)]
    strs += ["", None, "  Acme   Trading ", "ACME\tTRADING"]
    got = normalize_arrow(pa.array(strs)).to_pylist()
    assert got == [normalize(s) if s is not None else None for s in strs]
    # values with no white space to fold (the fold is then skipped), alone and beside one that has
    for batch in (["Acme Trading", " Lead", "Tail ", None, "ÉCOLE Nº 5"], ["Acme Trading", "a  b", "c\td"]):
        assert normalize_arrow(pa.array(batch)).to_pylist() == [normalize(s) if s is not None else None for s in batch]


def test_batch_size_bounds_chunks() -> None:
    policy = ecrules.load(POLICY)
    engine = ColumnarEngine(policy, batch_size=4)
    records = _example_records()
    sizes = [len(c) for c in engine.run_rows(records)]
    assert max(sizes) <= 4 and sum(sizes) == len(records)


def test_decimal_column_types() -> None:
    text = '''
policy "money" version "1"
schema {
  record tx {
    id: int
    amount: number
  }
}
rule R license { when amount >= 5000.01 }
'''
    policy = ecrules.loads(text)
    table = pa.table({"id": pa.array([1, 2, 3, 4], pa.int32()),
                      "amount": pa.array([Decimal("5000.01"), Decimal("5000.00"), None, Decimal("1E-12")],
                                         pa.decimal128(30, 12))})
    from ecrules.inputs import _arrow_value

    expected = list(policy.evaluate_many([{k: _arrow_value(v) for k, v in r.items()} for r in table.to_pylist()]))
    got = [d for chunk in ColumnarEngine(policy).run_arrow([table]) for d in chunk]
    assert got == expected
    floats = pa.table({"id": [1, 2, 3], "amount": [5000.01, 5000.0, float("nan")]})
    expected = list(policy.evaluate_many(floats.to_pylist()))
    got = [d for chunk in ColumnarEngine(policy).run_arrow([floats]) for d in chunk]
    assert got == expected


def test_like_globs_match_the_row_engine() -> None:
    import duckdb

    from ecrules.columnar.dialects import DUCKDB
    from ecrules.columnar.globs import like_sql
    from ecrules.values import like

    patterns = ["ML*", "*", "", "a?b", "[!a-c]x", "[a\\-z]", "X\\*Y", "*.a*", "[0-9][A-E]*", "é*", "[!é]",
                "a*b*c", "\\\\*", "[*]", "ｆ*", "[]-a]"]
    texts = ["", "ML", "ML4", "ml4", "a?b", "ab", "dx", "\nx", "-", "X*Y", "XY", "5A002.a", "3A001", "é1",
             "e", "\u00e9", "a\nb\nc", "\\", "\\x", "*", "ｆｏｏ", "]", "]-a"]
    con = duckdb.connect()
    for p in patterns:
        try:
            like("", p)
        except ValueError:
            continue
        for s in texts:
            got = con.execute(f"SELECT {like_sql(DUCKDB, DUCKDB.string(s), p)}").fetchone()
            assert got is not None and got[0] == like(s, p), (p, s)


def test_duckdb_draws_no_progress_bar_of_its_own() -> None:
    """DuckDB's own bar goes to standard error for any query over 2 s, into pipes and logs too
    (and into the docs' expected outputs on a slow machine): the engine turns it off."""
    con = ColumnarEngine(ecrules.load(ROOT / "policies" / "wmd_catch_all.ecp")).connect()
    assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0] is False
