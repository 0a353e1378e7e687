"""The screening construct: declarations and their diagnostics, decisions that carry the match,
cleared parties, the interpreter and the compiled engine agreeing, the columnar engine giving the
same scores, and verify treating `screen` as an uninterpreted function refined by the matcher."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ecrules
from ecrules.decision import BasisRef
from ecrules.diagnostics import PolicyError
from ecrules.interpreter import Interpreter
from ecrules.screening.runtime import CLEARED_HEADER

ROOT = Path(__file__).resolve().parent.parent
UN_XML = ROOT / "policies" / "lists" / "un_sc_consolidated_list_2020-11-30.xml"

POLICY = """policy "s" version "1"
combine deny_overrides
default allow
as_of date

schema {
  record transaction {
    id: string
    date: date
    end_user: string
    kind: string
    country: country
    parties: list<string>?
  }
}

instrument UNSCR_1718 {
  kind UNSC
  citation "S/RES/1718 (2006)"
  scope party
}
instrument UNSCR_1533 {
  kind UNSC
  citation "S/RES/1533 (2004)"
  scope party
}

screening un = file "lists/un.xml" format un_xml
  threshold 0.86
  cleared file "lists/cleared.csv"
  regime "DPRK" basis UNSCR_1718
  regime "DRC" basis UNSCR_1533 "para. 15"

rule LISTED deny {
  when matches(end_user, un, kind, country)
}
rule PARTY deny {
  when has parties and any(p in parties: matches(p, un))
}
rule CLOSE license {
  require "review"
  when screen(end_user, un, kind, country) >= 0.75
}
"""

CLEARED = ",".join(CLEARED_HEADER) + "\nCDi.007,Thomas Lubnaga,A. Officer,2025-01-01,2026-01-01,different person (DOB checked)\n"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("screening")
    (root / "lists").mkdir()
    shutil.copy(UN_XML, root / "lists" / "un.xml")
    (root / "lists" / "cleared.csv").write_text(CLEARED, encoding="utf-8")
    (root / "p.ecp").write_text(POLICY, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def policy(tree: Path) -> ecrules.Policy:
    return ecrules.load(tree / "p.ecp")


def rec(name: str, date: str = "2024-06-01", kind: str = "entity", country: str = "CN", **more: Any) -> dict[str, Any]:
    return {"id": name, "date": date, "end_user": name, "kind": kind, "country": country, **more}


def diagnostics(tree: Path, text: str) -> str:
    (tree / "bad.ecp").write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as exc:
        ecrules.load(tree / "bad.ecp")
    return str(exc.value)


# --- declarations -----------------------------------------------------------------------------

def test_a_list_outside_the_policy_tree_is_refused(tree: Path) -> None:
    sub = tree / "sub"
    sub.mkdir(exist_ok=True)
    (sub / "p.ecp").write_text(POLICY.replace('"lists/un.xml"', '"../lists/un.xml"').replace(
        '"lists/cleared.csv"', '"../lists/cleared.csv"'), encoding="utf-8")
    with pytest.raises(PolicyError, match="screening list `../lists/un.xml` is outside the policy's folder"):
        ecrules.load(sub / "p.ecp")


def test_a_malformed_list_names_file_and_line(tree: Path) -> None:
    (tree / "lists" / "broken.jsonl").write_text('{"ref": "A", "type": "entity", "names": ["Acme"]}\n{"ref": "B"}\n', encoding="utf-8")
    text = diagnostics(tree, POLICY.replace('"lists/un.xml" format un_xml', '"lists/broken.jsonl" format jsonl'))
    assert "bad.ecp:28:11: error: screening list `un`:" in text and "1 error" in text and "broken.jsonl:2: field `type`" in text


@pytest.mark.parametrize(("old", "new", "message"), [
    ("format un_xml", "format un_csv", "unknown list format `un_csv`"),
    ("threshold 0.86", "threshold 0.2", "a screening threshold is between 0.5 and 1, not `0.2`"),
    ("matches(end_user, un, kind, country)", "matches(end_user, uno)", "the second argument of `matches` must name a `screening` list"),
    ("matches(end_user, un, kind, country)", "matches(end_user)", "`matches` takes a name, a screening list"),
    ("screen(end_user, un, kind, country) >= 0.75", "screen(date, un) >= 0.75", "`screen` needs text for the name, not `date`"),
    ('regime "DPRK" basis UNSCR_1718', 'regime "DPRK" basis UNSCR_1781', "unknown instrument `UNSCR_1781`"),
    ('regime "DPRK" basis UNSCR_1718', 'regime "DPRK" basis UNSCR_1781', "did you mean `UNSCR_1718`?"),
    ('regime "DPRK" basis UNSCR_1718', 'regime "DPRK" basis UNSCR_1718\n  regime "DPRK" basis UNSCR_1533',
     "regime `DPRK` is mapped twice on `un`"),
])
def test_declaration_and_call_errors(tree: Path, old: str, new: str, message: str) -> None:
    assert message in diagnostics(tree, POLICY.replace(old, new))


def test_cleared_file_errors(tree: Path) -> None:
    (tree / "lists" / "c2.csv").write_text("ref,name\nX,Y\n", encoding="utf-8")
    assert "the header must be `ref,name,cleared_by,cleared_on,expires,reason`" in \
        diagnostics(tree, POLICY.replace("lists/cleared.csv", "lists/c2.csv"))
    (tree / "lists" / "c3.csv").write_text(",".join(CLEARED_HEADER) + "\nZZi.999,Nobody,me,,2030-01-01,x\n", encoding="utf-8")
    assert "c3.csv:2: cleared entry `ZZi.999` is not on `un`" in diagnostics(tree, POLICY.replace("lists/cleared.csv", "lists/c3.csv"))
    (tree / "lists" / "c4.csv").write_text(",".join(CLEARED_HEADER) + "\nCDi.007,T,,,2030-01-01,x\n", encoding="utf-8")
    assert "column `cleared_by` is empty" in diagnostics(tree, POLICY.replace("lists/cleared.csv", "lists/c4.csv"))


def test_the_declaration_formats_canonically() -> None:
    from ecrules.formatter import format_source
    out = format_source(POLICY.replace("  threshold 0.86\n  cleared", " threshold 0.86 cleared"))
    assert 'screening un = file "lists/un.xml" format un_xml\n  threshold 0.86\n  cleared file "lists/cleared.csv"\n' \
        '  regime "DPRK" basis UNSCR_1718\n  regime "DRC" basis UNSCR_1533 "para. 15"\n' in out


def test_a_regime_not_on_the_list_is_a_warning_with_a_suggestion(tree: Path) -> None:
    (tree / "w.ecp").write_text(POLICY.replace('regime "DPRK"', 'regime "DPKR"'), encoding="utf-8")
    warnings = [str(w) for w in ecrules.load(tree / "w.ecp").warnings]
    assert any("no entry of `un` is listed under regime `DPKR`" in w and "`DPRK`" in w for w in warnings)


# --- decisions ------------------------------------------------------------------------------------

def test_a_hit_is_carried_on_the_decision_with_its_basis(policy: ecrules.Policy) -> None:
    d = policy.evaluate(rec("Korea Ryonbong General Corp.", country="KP"))
    assert d.outcome == "deny" and d.fired == ("LISTED", "CLOSE")
    (m,) = d.matches
    assert m["rule"] == "LISTED" and m["ref"] == "KPe.002" and m["listed_name"] == "KOREA RYONBONG GENERAL CORPORATION"
    assert m["screened"] == "Korea Ryonbong General Corp." and m["score"] >= 0.86 and m["cleared"] is None
    assert "legal form `corp` = `corporation`" in m["steps"]
    assert m["basis"] == {"regime": "DPRK", "instrument": "UNSCR_1718", "kind": "UNSC", "citation": "S/RES/1718 (2006)",
                          "pinpoint": None, "from": "2009-04-24", "until": None}
    assert d.to_dict()["matches"][0]["ref"] == "KPe.002"
    assert m["file"] == "lists/un.xml"      # relative to the policy's tree: the same wherever it sits
    # the decision cites the instrument, naming the entry as the member, for each rule the hit decided
    assert d.basis == (BasisRef("LISTED", "UNSCR_1718", "UNSC", "S/RES/1718 (2006)", None, "KPe.002"),
                       BasisRef("CLOSE", "UNSCR_1718", "UNSC", "S/RES/1718 (2006)", None, "KPe.002"))


def test_a_hit_cites_the_mapped_pinpoint_only_from_the_listing_date(policy: ecrules.Policy) -> None:
    d = policy.evaluate(rec("Thomas Lubanga", date="2024-06-01", kind="individual", country="CD"))
    assert d.matches[0]["basis"]["pinpoint"] == "para. 15"
    assert BasisRef("LISTED", "UNSCR_1533", "UNSC", "S/RES/1533 (2004)", "para. 15", "CDi.007") in d.basis
    # before the entry was listed (2005-11-01) the name still matches, but no instrument applies
    early = policy.evaluate(rec("Thomas Lubanga", date="2005-10-31", kind="individual", country="CD"))
    assert early.outcome == "deny" and early.matches[0]["basis"]["from"] == "2005-11-01" and early.basis == ()


def test_an_unmapped_regime_is_cited_by_name_and_justifies_nothing(policy: ecrules.Policy) -> None:
    d = policy.evaluate(rec("Mujahidin Al-Shabaab Movement", kind="entity", country="SO"))
    assert d.outcome == "deny"
    m = d.matches[0]
    assert m["basis"]["regime"] == "Somalia" and m["basis"]["citation"] == "Somalia" and m["basis"]["instrument"] is None
    assert d.basis == ()


def test_no_hit_no_matches(policy: ecrules.Policy) -> None:
    d = policy.evaluate(rec("Hartmann Logistics GmbH", country="DE"))
    assert d.outcome == "allow" and d.matches == () and "matches" not in d.to_dict()


def test_a_party_in_a_list_is_screened(policy: ecrules.Policy) -> None:
    d = policy.evaluate(rec("Example Plantation Bhd", country="MY", parties=["Acme", "Koryo Credit Development Bank"]))
    assert d.outcome == "deny" and d.fired == ("PARTY",)
    assert [m["ref"] for m in d.matches] == ["KPe.049"] and d.matches[0]["rule"] == "PARTY"


def test_a_clearance_suppresses_the_hit_and_is_cited_until_it_expires(policy: ecrules.Policy) -> None:
    cleared = policy.evaluate(rec("Thomas Lubnaga", date="2025-06-01", kind="individual", country="CD"))
    assert cleared.outcome == "allow"
    (m,) = cleared.matches
    assert m["ref"] == "CDi.007" and m["cleared"]["cleared_by"] == "A. Officer" and m["cleared"]["expires"] == "2026-01-01"
    expired = policy.evaluate(rec("Thomas Lubnaga", date="2026-01-01", kind="individual", country="CD"))
    assert expired.outcome == "deny" and expired.matches[0]["cleared"] is None
    before = policy.evaluate(rec("Thomas Lubnaga", date="2024-12-31", kind="individual", country="CD"))
    assert before.outcome == "deny"
    other_name = policy.evaluate(rec("Thomas Lubanga", date="2025-06-01", kind="individual", country="CD"))
    assert other_name.outcome == "deny"      # a clearance covers the name that was checked, no other


def test_explain_shows_the_match(policy: ecrules.Policy) -> None:
    from ecrules.explain import explain
    text = explain(policy, rec("THOMAS LUBNAGA", kind="individual", country="CD")).render()
    assert "screening LISTED: `THOMAS LUBNAGA` ~ CDi.007 `THOMAS LUBANGA` (primary) on `un`" in text
    assert "listed under DRC (S/RES/1533 (2004)) from 2005-11-01" in text and "- typo: `lubnaga` ~ `lubanga`" in text
    assert 'basis UNSCR_1533 "S/RES/1533 (2004)", para. 15, for member "CDi.007"' in text


# --- engines agree ----------------------------------------------------------------------------------

def test_interpreter_and_compiled_engine_agree(policy: ecrules.Policy) -> None:
    interp = Interpreter(policy.checked)
    names = ["Korea Ryonbong General Corp.", "THOMAS LUBNAGA", "Thomas Lubnaga", "Hartmann Logistics",
             "عبد الروف ذاکر", "华信船务(香港)有限公司", "Mohamed Mahri", "Korea Samil Shipping Company"]
    for date in ("2024-06-01", "2025-06-01"):
        for name in names:
            r = rec(name, date=date, kind="individual" if " " in name and name.istitle() else "entity")
            assert interp.decide(r) == policy.evaluate(r)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_names_near_list_entries_decide_alike_on_both_engines(policy: ecrules.Policy, data: st.DataObject) -> None:
    from ecrules.testing import near_listed_names
    lst = policy.checked.screenings["un"].screening_list
    names = data.draw(st.lists(near_listed_names(lst), min_size=3, max_size=8))
    records = [rec(n, kind=data.draw(st.sampled_from(["entity", "individual"]))) | {"id": f"r{k}"}
               for k, n in enumerate(names)]
    from ecrules.columnar.engine import ColumnarEngine
    expected = list(policy.evaluate_many(records))
    got = [d for chunk in ColumnarEngine(policy, batch_size=4).run_rows(records) for d in chunk]
    assert got == expected          # outcomes, rules, and the matches with their scores and steps
    table = policy.evaluate_table(_arrow(records))
    assert [(c["outcome"], list(c["fired"])) for c in table.to_pylist()] == [(d.outcome, list(d.fired)) for d in expected]


def test_columnar_scores_equal_row_scores(policy: ecrules.Policy) -> None:
    from ecrules.columnar.udfs import _screen_udf
    import pyarrow as pa
    from ecrules.screening import runtime
    info = policy.checked.screenings["un"]
    names = ["Korea Ryonbong General Corp.", "THOMAS LUBNAGA", "Hartmann", "Korea Ryonbong General Corp.", None]
    udf = _screen_udf(info, "screen")
    got = udf(pa.array(names), pa.array(["entity"] * 5), pa.array(["KP"] * 5), pa.array(["2024-06-01"] * 5)).to_pylist()
    import datetime as dt
    want = [float(runtime.score(info, n, "entity", "KP", dt.date(2024, 6, 1))) for n in names]
    assert got == want and got[0] > 0.86 and got[2] == 0.0 and got[4] == 0.0


def test_a_name_screened_again_in_a_later_chunk_carries_its_match_again(policy: ecrules.Policy) -> None:
    """The columnar engine remembers a name's score across chunks: a listed name seen in one
    chunk and again in the next (and the one after) still has its row decided with the match."""
    from ecrules.columnar.engine import ColumnarEngine
    names = ["Korea Ryonbong General Corp.", "Acme Widgets", "Korea Ryonbong General Corp.",
             "Thomas Lubnaga", "Korea Ryonbong General Corp.", "Acme Widgets", "Thomas Lubnaga"]
    records = [rec(n, country="KP") | {"id": f"r{k}"} for k, n in enumerate(names)]
    expected = list(policy.evaluate_many(records))
    got = [d for chunk in ColumnarEngine(policy, batch_size=2).run_rows(records) for d in chunk]
    assert got == expected
    assert all(d.matches for d, n in zip(got, names) if n.startswith("Korea"))


_cells = st.one_of(st.none(), st.sampled_from(["a", "b", "Ä", ""]))


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(_cells, _cells, _cells), max_size=30))
def test_distinct_rows_of_columns_index_every_row(rows: list[tuple[str | None, ...]]) -> None:
    """The columnar screening UDF screens each distinct (name, type, country, date) once: the
    distinct rows are the rows' set, in order of first occurrence, and each row points at its own."""
    import pyarrow as pa
    from ecrules.columnar.udfs import _distinct_rows
    cols = tuple(pa.array([r[k] for r in rows], type=pa.string()) for k in range(3))
    keys, inverse = _distinct_rows(cols)
    assert keys == list(dict.fromkeys(rows))
    assert [keys[i] for i in inverse.tolist()] == rows


_party = st.one_of(st.none(), st.fixed_dictionaries({"name": _cells, "tags": st.one_of(st.none(), st.lists(_cells, max_size=3))}))


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.one_of(st.none(), st.lists(_party, max_size=3)), max_size=12))
def test_rows_holding_a_name_in_a_list_of_parties(rows: list[Any]) -> None:
    """The rows the row engine decides again (their screened names hit) are found vectorised in
    lists of structs of lists: exactly the rows holding a name anywhere."""
    import pyarrow as pa
    from ecrules.columnar.udfs import _rows_holding
    typ = pa.list_(pa.struct([("name", pa.string()), ("tags", pa.list_(pa.string()))]))
    table = pa.table({"parties": pa.array(rows, type=typ)})
    names = {"a", "Ä"}

    def holds(v: Any) -> bool:
        if isinstance(v, str):
            return v in names
        if isinstance(v, dict):
            return any(holds(x) for x in v.values())
        return isinstance(v, list) and any(holds(x) for x in v)
    assert _rows_holding(table, names).tolist() == [holds(r) for r in rows]


def test_a_null_list_holds_nothing_even_when_it_spans_items() -> None:
    """Arrow lets a null list's offsets span child items (a writer's leftovers): they are not
    the row's, and a sliced column is read from its own offset."""
    import pyarrow as pa
    from ecrules.columnar.udfs import _rows_holding
    parties = pa.ListArray.from_arrays(pa.array([0, 2, 4, 5]), pa.array(["x", "b", "a", "d", "e"]),
                                       mask=pa.array([False, True, False]))
    assert _rows_holding(pa.table({"p": parties}), {"a", "b"}).tolist() == [True, False, False]
    assert _rows_holding(pa.table({"p": parties.slice(1)}), {"a", "e"}).tolist() == [False, True]


def _arrow(records: list[dict[str, Any]]) -> Any:
    """Records as an Arrow table with every field any of them has (`from_pylist` takes the
    first record's keys only)."""
    import pyarrow as pa
    keys = list(dict.fromkeys(k for r in records for k in r))
    return pa.Table.from_pylist([{k: r.get(k) for k in keys} for r in records])


# --- verify -------------------------------------------------------------------------------------------

def test_verify_proves_and_refutes_with_confirmed_witnesses(tree: Path) -> None:
    from ecrules.verify import verify_policy
    text = POLICY + """
constraint listed_denied {
  always deny when matches(end_user, un, kind, country)
}
constraint nobody_listed {
  never deny when screen(end_user, un, kind, country) >= 0.9
}
"""
    (tree / "v.ecp").write_text(text, encoding="utf-8")
    report = verify_policy(ecrules.load(tree / "v.ecp"))
    status = {v.constraint: v.status for v in report.verdicts}
    assert status == {"listed_denied": "proved", "nobody_listed": "violated"}


# --- Arrow and Parquet output -------------------------------------------------------------------------

def test_parquet_decisions_carry_the_matches_alike_on_both_engines(tree: Path, tmp_path: Path) -> None:
    """`ecrules eval -o out.parquet` writes a `matches` column; the row and the columnar engine
    write equal files for hits (with their bases), a clearance, a near match and misses."""
    import json

    import pyarrow.parquet as pq
    from click.testing import CliRunner

    from ecrules.cli import main
    records = [rec("Korea Ryonbong General Corp.", country="KP"),
               rec("Thomas Lubnaga", date="2025-06-01", kind="individual", country="CD"),   # cleared
               rec("Thomas Lubanga", date="2024-06-01", kind="individual", country="CD"),
               rec("Hartmann Logistics GmbH", country="DE"),
               rec("Example Plantation Bhd", country="MY", parties=["Acme", "Koryo Credit Development Bank"]),
               rec("Mujahidin Al-Shabaab Movement", country="SO"),
               rec("Acme Widgets", country="FR") | {"id": "miss-2"}]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    tables = {}
    for engine in ("row", "columnar"):
        out = tmp_path / f"{engine}.parquet"
        res = CliRunner().invoke(main, ["eval", "-q", "--engine", engine, str(tree / "p.ecp"), str(src), "-o", str(out)])
        assert res.exit_code in (0, 1), res.output
        tables[engine] = pq.read_table(out)
    row, col = tables["row"], tables["columnar"]
    assert row.equals(col)
    got = {r["id"]: r for r in row.to_pylist()}
    want = {d.id: d for d in ecrules.load(tree / "p.ecp").evaluate_many(records)}
    for rid, d in want.items():
        assert got[rid]["matches"] == list(d.matches)      # the JSON form, field for field
    assert got["Korea Ryonbong General Corp."]["matches"][0]["basis"]["instrument"] == "UNSCR_1718"
    assert got["Thomas Lubnaga"]["matches"][0]["cleared"]["cleared_by"] == "A. Officer"
    assert got["Hartmann Logistics GmbH"]["matches"] == [] and got["miss-2"]["matches"] == []
    # and `Policy.evaluate_table` (the columnar engine in memory) gives the same column
    assert ecrules.load(tree / "p.ecp").evaluate_table(_arrow(records)).column("matches").to_pylist() == \
        row.column("matches").to_pylist()
