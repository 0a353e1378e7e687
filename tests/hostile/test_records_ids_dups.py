"""Issue 7, items 5 and 6: duplicate keys and columns are errors naming the field; one
definition of a decision's id, the same on both engines and on every run."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from records_helpers import ENGINES, cli, decisions, evaluate, outcomes, process, write_policy

import ecrules


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("line,field", [
    ('{"destination":"KP","destination":"FR"}', "destination"),
    ('{"destination":"FR","destination":"FR"}', "destination"),
    ('{"destination":"FR","items":[{"code":"a","value":1,"value":2000}]}', "items[0].value"),
    ('{"destination":"FR","unread":{"a":{"b":1,"b":2}}}', "unread.a.b"),
], ids=["top", "same-value", "nested", "unread-deep"])
def test_a_duplicate_json_key_at_any_depth_is_an_error_naming_it(tmp_path: Path, engine: str, line: str,
                                                                  field: str) -> None:
    records = tmp_path / "r.jsonl"
    records.write_text(line + '\n{"destination":"KP"}\n', encoding="utf-8")
    ds = evaluate(write_policy(tmp_path), records, engine)
    assert outcomes(ds) == ["error", "deny"]
    assert ds[0]["error"]["field"] == field and "appears twice" in ds[0]["error"]["message"]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_csv_header_naming_a_column_twice_makes_every_row_an_error(tmp_path: Path, engine: str) -> None:
    records = tmp_path / "r.csv"
    records.write_text("id,destination,destination\nx1,KP,FR\nx2,FR,KP\n\nx3,FR,FR\n", encoding="utf-8")
    ds = evaluate(write_policy(tmp_path), records, engine)
    assert outcomes(ds) == ["error"] * 3
    assert {d["error"]["field"] for d in ds} == {"destination"}
    assert [d["id"] for d in ds] == [1, 2, 3]


@pytest.mark.parametrize("engine", ENGINES)
def test_duplicate_parquet_columns_make_every_row_an_error(tmp_path: Path, engine: str) -> None:
    records = tmp_path / "r.parquet"
    pq.write_table(pa.table([pa.array(["KP", "FR"]), pa.array(["FR", "KP"])], names=["destination", "destination"]),
                   records)
    ds = evaluate(write_policy(tmp_path), records, engine)
    assert outcomes(ds) == ["error", "error"] and {d["error"]["field"] for d in ds} == {"destination"}


def test_evaluate_table_with_duplicate_arrow_columns_decides_every_row() -> None:
    policy = ecrules.loads(Path(__file__).with_name("records_helpers.py").read_text().split('POLICY = """\\\n')[1]
                           .split('"""')[0])
    table = pa.table([pa.array(["KP", "FR"]), pa.array(["FR", "KP"])], names=["destination", "destination"])
    out = policy.evaluate_table(table)
    assert out.column("outcome").to_pylist() == ["error", "error"]
    assert out.column("error_field").to_pylist() == ["destination", "destination"]


@pytest.mark.parametrize("engine", ENGINES)
def test_ids_are_positions_among_records_counting_bad_lines_not_blank_ones(tmp_path: Path, engine: str) -> None:
    records = tmp_path / "r.jsonl"
    records.write_text('{"destination":"KP"}\n\nnot json\n   \n{"id":"t9","destination":"FR"}\n'
                       '{"destination":"FR"}\n[1]\n', encoding="utf-8")
    ds = evaluate(write_policy(tmp_path), records, engine)
    assert [d["id"] for d in ds] == [1, 2, "t9", 4, 5]  # an absent optional id is the position
    assert outcomes(ds) == ["deny", "error", "allow", "allow", "error"]


STRUCT_ID = """\
policy "ids" version "1"
combine deny_overrides
default allow

schema {
  record order {
    id: ref
    tags: set<string>
    destination: country
  }
  type ref {
    system: string
    number: number
    codes: set<string>
  }
}

rule KP deny { when destination == "KP" }
"""

SET_ID = STRUCT_ID.replace("id: ref", "id: set<string>")


def test_struct_and_set_ids_print_canonically_and_the_same_on_both_engines(tmp_path: Path) -> None:
    members = ["zeta", "alpha", "mu", "beta", "omega", "kappa"]
    struct_rec = ('{"id":{"system":"erp","number":1.50,"codes":' + str(members).replace("'", '"') + '},'
                  '"tags":[],"destination":"KP"}\n')
    set_rec = '{"id":' + str(members).replace("'", '"') + ',"tags":["b","a"],"destination":"FR"}\n'
    for text, line, expected in [
        (STRUCT_ID, struct_rec, {"system": "erp", "number": "1.50", "codes": sorted(members)}),
        (SET_ID, set_rec, sorted(members)),
    ]:
        policy = write_policy(tmp_path, text)
        records = tmp_path / "r.jsonl"
        records.write_text(line, encoding="utf-8")
        got = [evaluate(policy, records, engine)[0]["id"] for engine in ENGINES]
        assert got == [expected, expected]
        parquet_ids = []
        for engine in ENGINES:
            out = tmp_path / f"{engine}.parquet"
            code, _, err = cli("eval", str(policy), str(records), "--engine", engine, "-o", str(out), "-q")
            assert code == 0, err
            parquet_ids.append(pq.read_table(out).column("id").to_pylist())
        assert parquet_ids[0] == parquet_ids[1] and "frozenset" not in parquet_ids[0][0]


def test_set_ids_are_stable_across_runs_whatever_the_hash_seed(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, SET_ID)
    records = tmp_path / "r.jsonl"
    records.write_text('{"id":["q","w","e","r","t","y","u","i"],"tags":[],"destination":"FR"}\n', encoding="utf-8")
    outs = set()
    for seed in ("1", "2", "3"):
        code, out, _ = process("eval", str(policy), str(records), "-q", env={"PYTHONHASHSEED": seed})
        assert code == 0
        outs.add(out)
    assert len(outs) == 1 and decisions(outs.pop())[0]["id"] == sorted("qwertyui")
