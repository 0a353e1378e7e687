"""Semantics that used to be written twice now have one definition, and the readers agree.

- Dates: the grammar's date literals, list files, CSV cells and records all read through
  `literals.parse_date` (`YYYY-MM-DD` only). List files once used `date.fromisoformat`, which
  takes `20260101` and `2026-W01-4` (tests/hostile/test_records_numbers.py holds that one).
- float -> Decimal: `values.to_decimal` (the decimal a float prints as); the columnar canon's
  value-by-value path calls it, and its vectorised path must give the same decimals.
- `DECIMAL(38, 9)`: one precision and one scale for the columnar engine's numbers.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ecrules
from ecrules import records as r
from ecrules import types as t
from ecrules.columnar import canon
from ecrules.diagnostics import PolicyError
from ecrules.inputs import _cell
from ecrules.literals import parse_date
from ecrules.values import to_decimal

POLICY = 'policy "p" version "1"\nschema {\n  record r {\n    d: date\n  }\n}\nrule A deny { when d == %s }\n'
ODD_DATES = ["20260101", "2026-W01-4", "2026-001", "2026-01-01T00:00", "２０２６-01-01", "2026-02-30", "0000-01-01"]


def _grammar_reads(text: str, expected: datetime.date | None) -> bool:
    """The policy with `d == TEXT` loads exactly when TEXT is a date, and then means that day."""
    try:
        policy = ecrules.loads(POLICY % text)
    except PolicyError:
        return expected is None
    if expected is None:
        return False
    day_after = expected + datetime.timedelta(days=1) if expected.year < 9999 else expected - datetime.timedelta(days=1)
    return policy.evaluate({"d": expected.isoformat()}).outcome == "deny" and \
        policy.evaluate({"d": day_after.isoformat()}).outcome == "allow"


@pytest.mark.parametrize("text", ODD_DATES + ["2026-01-01", "2024-02-29"])
def test_every_reader_reads_a_date_as_records_do(text: str) -> None:
    expected = parse_date(text)
    try:
        from_record: datetime.date | None = r.date(text)
    except r.RecordError:
        from_record = None
    assert from_record == expected
    if all(ch.isdigit() or ch == "-" for ch in text) and len(text) == 10:  # what the grammar tokenises as a date
        assert _grammar_reads(text, expected)
    cell = _cell(text, t.DATE)  # a CSV cell stays text; the record validation reads it as above
    assert cell == text


@settings(max_examples=30, deadline=None)
@given(st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True) | st.from_regex(r"\d{4}-\d{2}-\d{2}", fullmatch=True))
def test_the_grammar_and_records_agree_on_date_shaped_text(text: str) -> None:
    expected = parse_date(text)
    try:
        from_record: datetime.date | None = r.date(text)
    except r.RecordError:
        from_record = None
    assert from_record == expected
    assert _grammar_reads(text, expected)


def test_a_csv_int_cell_is_read_by_the_one_integer_parser() -> None:
    assert _cell("12", t.INT) == 12 and _cell(" -1_000 ", t.INT) == -1000
    assert _cell("1.5", t.INT) == "1.5" and _cell("twelve", t.INT) == "twelve"


FLOATS = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e20, max_value=1e20) | st.sampled_from(
    [0.1, 0.2, 0.30000000000000004, 1e-9, 1.5e-10, 123456789.123456789, 2.5, -0.0, 1e19, 9.999999999e18])


@settings(max_examples=200, deadline=None)
@given(st.lists(FLOATS, min_size=1, max_size=8))
def test_columnar_floats_are_the_row_engines_decimals(xs: list[float]) -> None:
    """Both columnar paths give `values.to_decimal`'s decimal, or flag the value for the row engine."""
    column, bad = canon._float_column(pa.array(xs, type=pa.float64()), t.NUMBER)
    for x, got, flagged in zip(xs, column.to_pylist(), bad):
        exact = to_decimal(x)
        fits = exact.as_tuple().exponent >= -canon.NUMBER_SCALE and (exact == 0 or exact.adjusted() < 29)  # type: ignore[operator]
        if flagged:
            assert not fits
            continue
        assert fits and got == exact
        assert canon.py_value(x, t.NUMBER) == exact == r.number(x)


def test_one_decimal_type_for_columnar_numbers() -> None:
    from ecrules.columnar import engine

    assert canon.DECIMAL == pa.decimal128(canon.NUMBER_PRECISION, canon.NUMBER_SCALE)
    assert engine._sql_type(t.NUMBER) == f"DECIMAL({canon.NUMBER_PRECISION}, {canon.NUMBER_SCALE})"
    src = Path(ecrules.__file__).parent / "columnar"
    again = re.compile(r"pa\.decimal128\(\s*38|DECIMAL\(38, \{")  # in code, not in prose
    written = [p.name for p in src.rglob("*.py") if again.search(p.read_text())]
    assert written == [], f"the precision is written out again in {written}"


COMPACT = ["20260101", "2026-W01-4", "2026-001"]  # what `date.fromisoformat` also takes

LAW_POLICY = """policy "law" version "1"
as_of day
instrument UNSCR_2428 {
  kind UNSC
  citation "S/RES/2428 (2018)"
  title "South Sudan"
  adopted 2018-07-13
  source "shared/DOMAIN.md"
  scope destination "SS"
}
schema {
  record r {
    destination: country
    day: date
  }
}
set embargoed: country = file "list.csv"
rule EMB deny { when destination in embargoed }
"""


@pytest.mark.parametrize("until", COMPACT)
def test_a_list_file_basis_window_reads_dates_as_records_do(tmp_path: Path, until: str) -> None:
    """A list-file row's `from`/`until` went through `date.fromisoformat` too (law.py)."""
    (tmp_path / "p.ecp").write_text(LAW_POLICY, encoding="utf-8")
    (tmp_path / "list.csv").write_text(f"value,instrument,pinpoint,from,until\nSS,UNSCR_2428,para. 4,,{until}\n")
    with pytest.raises(PolicyError, match=f"`{until}` is not a valid date"):
        ecrules.load(tmp_path / "p.ecp")
    (tmp_path / "list.csv").write_text("value,instrument,pinpoint,from,until\nSS,UNSCR_2428,para. 4,,2026-01-01\n")
    policy = ecrules.load(tmp_path / "p.ecp")
    assert policy.evaluate({"destination": "SS", "day": "2025-12-31"}).basis[0].pinpoint == "para. 4"


@pytest.mark.parametrize("expires", COMPACT)
def test_a_clearance_file_reads_dates_as_records_do(tmp_path: Path, expires: str) -> None:
    from ecrules.screening import ListError
    from ecrules.screening.runtime import CLEARED_HEADER, load_cleared

    path = tmp_path / "cleared.csv"
    path.write_text(",".join(CLEARED_HEADER) + f"\nCDi.007,Thomas Lubnaga,A. Officer,2025-01-01,{expires},checked\n")
    with pytest.raises(ListError, match="is not a date"):
        load_cleared("cleared.csv", path.read_bytes())
    path.write_text(",".join(CLEARED_HEADER) + "\nCDi.007,Thomas Lubnaga,A. Officer,2025-01-01,2026-01-01,checked\n")
    (clearance,) = load_cleared("cleared.csv", path.read_bytes())
    assert clearance.expires == datetime.date(2026, 1, 1)


@pytest.mark.parametrize("listed", COMPACT)
def test_a_screening_list_reads_dates_as_records_do(tmp_path: Path, listed: str) -> None:
    from ecrules.screening import ListError, load_list

    path = tmp_path / "list.jsonl"
    path.write_text('{"ref": "X1", "type": "entity", "names": ["Example Trading"], "listed_on": "%s"}\n' % listed)
    with pytest.raises(ListError, match="is not a date"):
        load_list(path)
    path.write_text('{"ref": "X1", "type": "entity", "names": ["Example Trading"], "listed_on": "2026-01-02"}\n')
    assert load_list(path).entries[0].listed_on == datetime.date(2026, 1, 2)
