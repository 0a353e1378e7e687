"""Issue 7, items 7 and 8, and issue 8's list-file drift: one reading of numbers and dates in
data, bounded exponents, and a `normalize` cache bounded by size."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from records_helpers import ENGINES, POLICY, cli, evaluate, outcomes, write_policy

import ecrules
from ecrules import values

LIST_POLICY = """\
policy "lists" version "1"
combine deny_overrides
default allow

schema {
  record order {
    value: number
    day: date
  }
}

set amounts: number = file "amounts.txt"
set days: date = file "days.txt"

rule A deny { when value in amounts }
rule D license { when day in days }
"""


def _folder(tmp_path: Path, amounts: str, days: str = "2026-01-01\n") -> Path:
    (tmp_path / "amounts.txt").write_text(amounts, encoding="utf-8")
    (tmp_path / "days.txt").write_text(days, encoding="utf-8")
    return write_policy(tmp_path, LIST_POLICY)


@pytest.mark.parametrize("entry", ["Infinity", "-Infinity", "inf", "NaN", "sNaN", "-nan", "1e5000", "1e-1001"])
def test_a_number_list_file_refuses_non_finite_and_out_of_range_entries(tmp_path: Path, entry: str) -> None:
    policy = _folder(tmp_path, f"# amounts\n1.5\n{entry}\n2\n")
    records = tmp_path / "r.jsonl"
    records.write_text('{"value":1.5,"day":"2026-01-01"}\n', encoding="utf-8")
    code, _, err = cli("check", str(policy))
    assert code == 1 and f"amounts.txt:3:1: error: `{entry}` is not a `number`" in err
    for engine in ENGINES:
        code, out, err = cli("eval", str(policy), str(records), "--engine", engine)
        assert code == 1 and out == "" and "amounts.txt:3:1" in err


@pytest.mark.parametrize("entry", ["20260101", "2026-W01-4", "2026-001", "2026-01-01T00:00", "２０２６-01-01"])
def test_a_date_list_file_reads_dates_as_records_do(tmp_path: Path, entry: str) -> None:
    """Issue 8's drift: `date.fromisoformat` took `20260101` in list files, records did not."""
    policy = _folder(tmp_path, "1\n", f"2026-01-02\n{entry}\n")
    code, _, err = cli("check", str(policy))
    assert code == 1 and f"days.txt:2:1: error: `{entry}` is not a `date`" in err
    fixed = _folder(tmp_path, "1\n", "2026-01-02\n")
    records = tmp_path / "r.jsonl"
    records.write_text(f'{{"value":1,"day":"{entry}"}}\n{{"value":2,"day":"2026-01-02"}}\n', encoding="utf-8")
    for engine in ENGINES:
        ds = evaluate(fixed, records, engine)
        assert outcomes(ds) == ["error", "license"] and ds[0]["error"]["field"] == "day"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("line,field", [
    ('{"destination":"FR","value":1e999999999}', "value"),
    ('{"destination":"FR","value":-1E+1001}', "value"),
    ('{"destination":"FR","value":1e-999999999}', "value"),
    ('{"destination":"FR","value":0e-999999999}', "value"),
    ('{"destination":"FR","items":[{"code":"a","value":1},{"code":"b","value":1e999999999}]}', "items[1].value"),
], ids=["huge", "just-over", "tiny", "zero-tiny-exponent", "summed"])
def test_a_number_beyond_the_exponent_range_is_a_record_error_before_any_arithmetic(
        tmp_path: Path, engine: str, line: str, field: str) -> None:
    records = tmp_path / "r.jsonl"
    records.write_text(line + '\n{"destination":"FR","value":1e1000}\n', encoding="utf-8")
    ds = evaluate(write_policy(tmp_path), records, engine)
    assert outcomes(ds) == ["error", "license"]  # 1e1000 is in range, and large
    assert ds[0]["error"]["field"] == field and "out of range" in ds[0]["error"]["message"]


def test_the_exponent_range_holds_for_records_given_as_python_values() -> None:
    policy = ecrules.loads(POLICY)
    d = policy.evaluate({"destination": "FR", "items": [{"code": "a", "value": Decimal("1e999999999999999999")}]})
    assert d.outcome == "error" and d.error is not None and d.error.field == "items[0].value"
    assert policy.evaluate({"destination": "FR", "value": Decimal("-1e1000")}).outcome == "allow"


def test_the_normalize_cache_is_bounded_by_size_not_count() -> None:
    cache = values._NORMALIZE_CACHE
    for k in range(300):  # 300 distinct names of 100 KB: none is kept
        assert values.normalize(f"{k} " + "Ａ" * 100_000) == f"{k} " + "a" * 100_000
    for k in range(5000):  # many small ones: kept, within the bound
        values.normalize(f"Name {k}" * 100)
    held = sum(len(a) + len(b) for a, b in cache.data.items())
    assert held == cache.chars <= cache.max_chars
    assert all(len(a) + len(b) <= cache.max_entry for a, b in cache.data.items())
    assert values.normalize("  Ｋｏｒｙｏ   BANK ") == "koryo bank"
