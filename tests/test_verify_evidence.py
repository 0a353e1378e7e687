"""`verify --evidence`: the ledger of what the rules single out and what justifies it, checked
against golden files (tests/verify/evidence/NAME.txt and NAME.json; regenerate with
`ECRULES_REGEN=1 pytest tests/test_verify_evidence.py` and review the diff)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import ecrules
from ecrules.cli import main
from ecrules.verify.evidence import ledger, render

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "verify" / "evidence"
CASES = {
    "borrowed_set_basis": ROOT / "tests" / "verify" / "violating" / "borrowed_set_basis.ecp",
    "lapsed_basis": ROOT / "tests" / "verify" / "compliant" / "lapsed_basis.ecp",
    "item_regime_basis": ROOT / "tests" / "verify" / "violating" / "item_regime_basis.ecp",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_ledger_matches_golden(name: str) -> None:
    entries = ledger(ecrules.load(CASES[name]).checked)
    text = "\n".join(render(entries)) + "\n"
    data = json.dumps(entries, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("ECRULES_REGEN"):
        (GOLDEN / f"{name}.txt").write_text(text)
        (GOLDEN / f"{name}.json").write_text(data)
    assert text == (GOLDEN / f"{name}.txt").read_text()
    assert data == (GOLDEN / f"{name}.json").read_text()


def test_borrowed_value_is_flagged_and_members_cite_their_own_resolution() -> None:
    entries = {(e["category"], e["value"]): e for e in ledger(ecrules.load(CASES["borrowed_set_basis"]).checked)}
    assert entries[("destination", "JP")]["justified_by"] == []
    ly = entries[("destination", "LY")]["justified_by"]
    assert [j["instrument"] for j in ly] == ["UNSCR_1970"]  # Libya: S/RES/1970 only, nothing about the DPRK
    assert ly[0]["pinpoint"] == "para. 9"


def test_cli_evidence_human_and_json() -> None:
    runner = CliRunner()
    path = str(CASES["lapsed_basis"])
    human = runner.invoke(main, ["verify", "--evidence", path])
    assert human.exit_code == 0, human.output
    assert "evidence:" in human.output and "UNSCR_2127" in human.output
    js = runner.invoke(main, ["verify", "--evidence", "--format", "json", path])
    assert js.exit_code == 0
    data = json.loads(js.stdout)
    ev = data["files"][0]["evidence"]
    assert ev[0]["value"] == "CF" and ev[0]["justified_by"][0]["until"] == "2024-07-30"
    # without the flag, no ledger
    assert "evidence" not in json.loads(runner.invoke(main, ["verify", "--format", "json", path]).stdout)["files"][0]
