"""The command line: exit codes, streams, formats, and bad input that loses nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecrules import __version__
from ecrules.cli import main

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "tests" / "conformance" / "04-dual-use-value-threshold" / "policy.ecp"

RECORD = {
    "id": "V1", "date": "2025-06-02",
    "exporter": {"name": "Huaxia Precision", "country": "CN"},
    "destination": "TH",
    "end_user": {"name": "Consignee", "country": "TH", "type": "commercial"},
    "end_use": "civilian",
    "items": [{"code": "3A001", "value": 6000, "quantity": 1}],
    "total_value": 6000,
}


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=input)
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def test_version_and_help() -> None:
    code, out, _ = run("--version")
    assert code == 0 and __version__ in out
    code, out, _ = run("--help")
    assert code == 0
    for command in ("check", "eval", "test", "explain"):
        assert command in out
    code, out, _ = run("eval", "--help")
    assert code == 0 and "JSON Lines" in out


def test_check_ok() -> None:
    code, out, err = run("check", str(POLICY))
    assert code == 0 and "ok (3 rules" in out
    # the suite's free-text bases are legacy: a warning each, and nothing else on stderr
    heads = [line for line in err.splitlines() if ": warning: " in line or ": error: " in line]
    assert len(heads) == 3 and all("free-text basis" in line for line in heads), err


def test_check_bad_policy_exits_1_with_location(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ecp"
    bad.write_text('schema { record r { x: int } }\nrule R deny { when y > 1 }\n')
    code, out, err = run("check", str(bad))
    assert code == 1
    assert f"{bad}:2:20: error: unknown name `y`" in err


def test_check_json_diagnostics(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ecp"
    bad.write_text('schema { record r { x: int } }\nrule R deny { when x == "a" }\n')
    code, _, err = run("check", "--format", "json", str(bad))
    assert code == 1
    diag = json.loads(err.splitlines()[0])
    assert diag["span"]["line"] == 2 and diag["severity"] == "error" and "compare" in diag["message"]


def test_check_missing_file() -> None:
    code, _, err = run("check", "no/such/policy.ecp")
    assert code == 1 and "no/such/policy.ecp:1:1: error: policy file `no/such/policy.ecp` does not exist" in err


def test_eval_stdin_with_bad_lines_decides_every_line() -> None:
    lines = [
        json.dumps(RECORD),
        "{not json",
        json.dumps({**RECORD, "id": "V2", "destination": "XX9"}),
        "[1, 2]",
        json.dumps({**RECORD, "id": "V3", "items": [{"code": "3A001", "value": 10, "quantity": 1}], "total_value": 10}),
    ]
    code, out, err = run("eval", str(POLICY), "-", input="\n".join(lines) + "\n")
    assert code == 0
    decisions = [json.loads(x) for x in out.splitlines()]
    assert [d["outcome"] for d in decisions] == ["license", "error", "error", "error", "allow"]
    assert decisions[1]["id"] == 2 and "not valid JSON" in decisions[1]["error"]["message"]
    assert decisions[2]["error"]["field"] == "destination"
    assert decisions[3]["id"] == 4 and "not a JSON object" in decisions[3]["error"]["message"]
    assert "decided 5 records" in err


def test_eval_output_file(tmp_path: Path) -> None:
    records = tmp_path / "in.jsonl"
    records.write_text(json.dumps(RECORD) + "\n")
    out_file = tmp_path / "out.jsonl"
    code, out, _ = run("eval", str(POLICY), str(records), "-o", str(out_file), "--quiet")
    assert code == 0 and out == ""
    decision = json.loads(out_file.read_text())
    assert decision == {
        "id": "V1", "outcome": "license", "fired": ["DU1"], "obligations": [],
        "basis": [{"rule": "DU1", "instrument": None, "kind": "ECL",
                   "citation": "Export Control Law, art. 12(2) (illustrative value threshold)", "pinpoint": None,
                   "member": None}],
        "policy": "dual-use-value", "version": "1",
    }


def test_eval_csv_flat_schema(tmp_path: Path) -> None:
    policy = tmp_path / "flat.ecp"
    policy.write_text(
        'policy "flat" version "1"\n'
        "schema { record shipment { id: string  destination: country  value: number  qty: int  note: string? } }\n"
        'rule BIG license { when value > 1000 }\nrule KP deny { basis UNSC "S/RES/1718 (2006)" when destination == "KP" }\n'
    )
    data = tmp_path / "in.csv"
    with data.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "destination", "value", "qty", "note"])
        w.writerow(["s1", "TH", "1000.01", "2", ""])
        w.writerow(["s2", "KP", "5", "1", "x"])
        w.writerow(["s3", "TH", "lots", "1", ""])
    code, out, _ = run("eval", str(policy), str(data))
    assert code == 0
    got = [json.loads(x) for x in out.splitlines()]
    assert [(d["id"], d["outcome"]) for d in got] == [("s1", "license"), ("s2", "deny"), ("s3", "error")]
    assert got[2]["error"]["field"] == "value"


def test_eval_policy_that_does_not_load(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ecp"
    bad.write_text("rule R deny {")
    records = tmp_path / "in.jsonl"
    records.write_text("{}\n")
    code, out, err = run("eval", str(bad), str(records))
    assert code == 1 and out == "" and "error" in err


def test_eval_missing_records_file() -> None:
    code, _, err = run("eval", str(POLICY), "nope.jsonl")
    assert code == 2 and "cannot read" in err


def test_test_command_reports_failures(tmp_path: Path) -> None:
    p = tmp_path / "t.ecp"
    p.write_text(
        "schema { record r { x: int } }\n"
        "rule BIG deny { when x > 10 }\n"
        'test "big is denied" { given { x: 11 } expect deny fired BIG }\n'
        'test "wrong on purpose" { given { x: 1 } expect deny }\n'
        'test "bad records are errors" { given { x: "one" } expect error field "x" }\n'
    )
    code, out, _ = run("test", str(p))
    assert code == 1
    assert "FAIL wrong on purpose" in out and f"{p}:4:1" in out
    assert "expected `deny`, got `allow`" in out
    assert out.strip().endswith("2 passed, 1 failed")


def test_explain_names_the_first_false_condition(tmp_path: Path) -> None:
    rec = tmp_path / "r.json"
    rec.write_text(json.dumps({**RECORD, "items": [{"code": "3A001", "value": 4999.99, "quantity": 1}],
                               "total_value": 4999.99}))
    code, out, _ = run("explain", str(POLICY), str(rec))
    assert code == 0
    assert "no match  DU1 (license)" in out
    assert "> dual_use_threshold` is false" in out
    assert "4999.99" in out
    assert "outcome: allow" in out
    code, out, _ = run("explain", "--format", "json", str(POLICY), str(rec))
    data = json.loads(out)
    assert data["decision"]["outcome"] == "allow"
    assert [r["rule"] for r in data["rules"]] == ["DU1", "DU2", "DU3"]


def test_explain_invalid_record(tmp_path: Path) -> None:
    rec = tmp_path / "r.json"
    rec.write_text(json.dumps({**RECORD, "destination": "XX9"}))
    code, out, _ = run("explain", str(POLICY), str(rec))
    assert code == 0 and "`destination`" in out and "invalid" in out
    rec.write_text("{oops")
    code, _, err = run("explain", str(POLICY), str(rec))
    assert code == 2 and "not valid JSON" in err


@pytest.mark.parametrize("command", ["check", "test"])
def test_commands_take_several_files(command: str) -> None:
    files = [str(p) for p in sorted((ROOT / "tests" / "conformance").glob("*/policy.ecp"))]
    code, out, _ = run(command, *files)
    assert code == 0


def test_ids_stay_unique_with_blank_and_bad_lines(tmp_path: Path) -> None:
    policy = tmp_path / "p.ecp"
    policy.write_text('schema { record r { destination: country } }\nrule KP deny { basis UNSC "S/RES/1718 (2006)" when destination == "KP" }\n')
    code, out, _ = run("eval", str(policy), "-",
                       input='{"destination": "KP"}\n\n{"destination": "FR"}\nnope\n{"destination": "FR"}\n')
    ids = [json.loads(x)["id"] for x in out.splitlines()]
    assert code == 0 and ids == [1, 2, 3, 4]
    assert "line 4 is not valid JSON" in json.loads(out.splitlines()[2])["error"]["message"]


def test_explain_missing_record_file() -> None:
    code, _, err = run("explain", str(POLICY), "no/such/record.json")
    assert code == 2 and "cannot read" in err
