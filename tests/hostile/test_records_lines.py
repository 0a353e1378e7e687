"""Issue 7, items 4 and 13: no bad line aborts a run, on either engine, nor `explain`.

Each hostile line gets its own `error` decision naming the problem, the lines around it are
decided as usual (count in = count out), and the output stays valid UTF-8 JSON.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from records_helpers import ENGINES, cli, evaluate, outcomes, write_policy

GOOD_BEFORE = b'{"destination":"KP"}\n'
GOOD_AFTER = b'{"destination":"FR","value":2000}\n'

# (name, the hostile line, words its error message holds, the field it names)
LINES = [
    ("non-utf8", b'{"destination":"FR","note":"caf\xe9"}', "not valid UTF-8", None),
    ("utf8-overlong", b'{"destination":"\xc0\xaf"}', "not valid UTF-8", None),
    ("deep-array", b"[" * 100_000 + b"]" * 100_000, "nest deeper than 100", None),
    ("deep-in-ignored-field", b'{"destination":"FR","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
     "nest deeper than 100", None),
    ("huge-int-ignored", b'{"destination":"FR","x":1' + b"0" * 5000 + b"}", "too many digits", None),
    ("huge-int-read", b'{"destination":"FR","value":1' + b"0" * 5000 + b"}", "too many digits", None),
    ("surrogate-read", b'{"destination":"FR","note":"\\ud800"}', "lone UTF-16 surrogate", "note"),
    ("surrogate-unread", b'{"destination":"FR","unread":"a\\udfffb"}', "lone UTF-16 surrogate", "unread"),
    ("surrogate-key", b'{"destination":"FR","\\ud83d":1}', "lone UTF-16 surrogate", None),
    ("surrogate-nested", b'{"destination":"FR","items":[{"code":"\\udc00","value":1}]}', "lone UTF-16 surrogate",
     "items[0].code"),
    ("huge-exponent", b'{"destination":"FR","value":1e999999999999999999999}', "exponent", None),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name,line,words,field", LINES, ids=[x[0] for x in LINES])
def test_a_hostile_json_line_is_one_error_and_the_batch_goes_on(
        tmp_path: Path, engine: str, name: str, line: bytes, words: str, field: str | None) -> None:
    records = tmp_path / "r.jsonl"
    records.write_bytes(GOOD_BEFORE + line + b"\n" + GOOD_AFTER)
    ds = evaluate(write_policy(tmp_path), records, engine)
    assert outcomes(ds) == ["deny", "error", "license"]
    assert [d["id"] for d in ds] == [1, 2, 3]
    assert words in ds[1]["error"]["message"] and "line 2" in ds[1]["error"]["message"]
    assert ds[1]["error"]["field"] == field


@pytest.mark.parametrize("engine", ENGINES)
def test_a_bare_cr_inside_a_json_line_does_not_split_the_record(tmp_path: Path, engine: str) -> None:
    records = tmp_path / "r.jsonl"
    # CR between tokens is JSON whitespace; CR inside a string is a control character: an error
    records.write_bytes(b'{"destination":\r"KP"}\n{"destination":"FR","note":"a\rb"}\n' + GOOD_AFTER)
    ds = evaluate(write_policy(tmp_path), records, engine)
    assert outcomes(ds) == ["deny", "error", "license"]
    assert "line 2 is not valid JSON" in ds[1]["error"]["message"]


@pytest.mark.parametrize("engine", ENGINES)
def test_line_separators_inside_strings_stay_in_their_line(tmp_path: Path, engine: str) -> None:
    records = tmp_path / "r.jsonl"
    records.write_bytes('{"destination":"FR","note":"a\u2028b\u0085c\u2029d"}\n'.encode() + GOOD_BEFORE)
    assert outcomes(evaluate(write_policy(tmp_path), records, engine)) == ["allow", "deny"]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_csv_cell_over_the_field_limit_is_one_error(tmp_path: Path, engine: str) -> None:
    records = tmp_path / "r.csv"
    records.write_text("destination,note\nKP,x\nFR," + "y" * 140_000 + "\nFR,z\n", encoding="utf-8")
    ds = evaluate(write_policy(tmp_path), records, engine)
    assert outcomes(ds) == ["deny", "error", "allow"]
    assert "field larger than field limit (131072)" in ds[1]["error"]["message"]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_csv_row_that_is_not_utf8_is_one_error(tmp_path: Path, engine: str) -> None:
    records = tmp_path / "r.csv"
    records.write_bytes(b"destination,note\nKP,x\nFR,caf\xe9\nFR,z\n")
    ds = evaluate(write_policy(tmp_path), records, engine)
    assert outcomes(ds) == ["deny", "error", "allow"]
    assert ds[1]["error"]["message"] == "line 3 is not valid UTF-8"


DATE_POLICY = """\
policy "dates" version "1"
combine deny_overrides
default allow

schema {
  record order {
    id: string
    day: date
    destination: country
  }
}

rule KP deny { when destination == "KP" }
rule OLD license { when day < 2000-01-01 }
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_a_parquet_date_outside_years_1_to_9999_is_one_error(tmp_path: Path, engine: str) -> None:
    days = pa.array([0, -800_000, 3_000_000, 11_000], pa.int32()).cast(pa.date32())
    ignored = pa.array([-800_000, 0, 0, 3_000_000], pa.int32()).cast(pa.date32())  # an unread column: no matter
    records = tmp_path / "r.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c", "d"], "day": days, "destination": ["FR", "FR", "KP", "KP"],
                             "unread": ignored}), records)
    ds = evaluate(write_policy(tmp_path, DATE_POLICY), records, engine)
    assert outcomes(ds) == ["license", "error", "error", "deny"]
    assert [d["id"] for d in ds] == ["a", 2, 3, "d"]
    for d in ds[1:3]:
        assert d["error"]["field"] == "day" and "years 1 to 9999" in d["error"]["message"]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_utf8_bom_starts_json_lines_and_csv(tmp_path: Path, engine: str) -> None:
    policy = write_policy(tmp_path)
    jsonl = tmp_path / "bom.jsonl"
    jsonl.write_bytes(b"\xef\xbb\xbf" + GOOD_BEFORE + GOOD_AFTER)
    assert outcomes(evaluate(policy, jsonl, engine)) == ["deny", "license"]
    csv = tmp_path / "bom.csv"
    csv.write_bytes(b"\xef\xbb\xbfid,destination,value\r\nx1,KP,1\r\nx2,FR,2000\r\n")  # as Excel writes it
    ds = evaluate(policy, csv, engine)
    assert outcomes(ds) == ["deny", "license"] and [d["id"] for d in ds] == ["x1", "x2"]


EXPLAIN = [
    ("non-utf8", b'{"destination":"caf\xe9"}', "is not valid UTF-8"),
    ("deep", b"[" * 100_000 + b"]" * 100_000, "nest deeper than 100"),
    ("huge-int", b'{"destination":"FR","x":1' + b"0" * 5000 + b"}", "too many digits"),
    ("surrogate", b'{"destination":"FR","x":"\\ud800"}', "lone UTF-16 surrogate"),
    ("duplicate", b'{"destination":"FR","destination":"KP"}', "`destination` appears twice"),
]


@pytest.mark.parametrize("name,data,words", EXPLAIN, ids=[x[0] for x in EXPLAIN])
def test_explain_refuses_a_hostile_record_in_one_line(tmp_path: Path, name: str, data: bytes, words: str) -> None:
    record = tmp_path / "r.json"
    record.write_bytes(data)
    code, out, err = cli("explain", str(write_policy(tmp_path)), str(record))
    assert code == 2 and out == ""
    assert err.startswith("error: ") and words in err and err.count("\n") == 1


def test_explain_accepts_a_bom_and_reports_an_out_of_range_number_as_a_record_error(tmp_path: Path) -> None:
    record = tmp_path / "r.json"
    record.write_bytes(b'\xef\xbb\xbf{"destination":"FR","value":1e999999999}')
    code, out, err = cli("explain", str(write_policy(tmp_path)), str(record), "--format", "json")
    assert code == 0, err
    import json

    decision = json.loads(out)["decision"]
    assert decision["outcome"] == "error" and decision["error"]["field"] == "value"
