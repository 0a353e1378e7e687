"""The bundled example policies load, pass their own tests, cite instruments of the catalogue, and
decide the bundled examples as examples/README.md says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import ecrules
from ecrules.cli import main
from ecrules.policytests import run_tests

ROOT = Path(__file__).resolve().parents[1]
POLICIES = sorted((ROOT / "policies").glob("*.ecp"))
LIBRARIES = sorted((ROOT / "policies" / "common").glob("*.ecp")) + sorted((ROOT / "policies" / "instruments").glob("*.ecp"))
LANGUAGE_EXAMPLE = ROOT / "tests" / "fixtures" / "language_example" / "policy.ecp"
EXAMPLES = ROOT / "examples" / "transactions.jsonl"


@pytest.mark.parametrize("path", POLICIES + [LANGUAGE_EXAMPLE], ids=lambda p: p.name if p != LANGUAGE_EXAMPLE else "LANGUAGE.md")
def test_policy_passes_its_tests(path: Path) -> None:
    policy = ecrules.load(path)
    results = run_tests(policy)
    assert results, "every example policy carries its own tests"
    failures = [r.render() for r in results if not r.passed]
    assert not failures, "\n".join(failures)
    if path == LANGUAGE_EXAMPLE:   # LANGUAGE.md's own text keeps its free-text bases (issue 9)
        assert not [w for w in policy.warnings if "free-text basis" not in w.message], policy.warnings
    else:                          # every basis of a bundled policy is an instrument: no warning at all
        assert not policy.warnings


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_every_restriction_cites_a_basis(path: Path) -> None:
    """A restricting rule cites an instrument itself, or matches only through set members that do."""
    policy = ecrules.load(path)
    sets = policy.checked.sets
    for rule in policy.rules:
        if rule.outcome in ("deny", "hold", "license") and not rule.all_bases:
            assert rule.sites, f"{path.name}: rule {rule.id} restricts without a legal basis"
            for site in rule.sites:
                info = sets[site.set]
                bare = [v for v in info.values if not info.bases_of(v)]
                assert not bare, f"{path.name}: rule {rule.id} matches through {site.set} members without a basis: {bare}"


@pytest.mark.parametrize("path", POLICIES + LIBRARIES, ids=lambda p: str(p.relative_to(ROOT / "policies")))
def test_bundled_files_check_and_are_formatted(path: Path) -> None:
    runner = CliRunner()
    checked = runner.invoke(main, ["check", str(path)])
    assert checked.exit_code == 0, checked.output
    assert "warning" not in checked.output
    formatted = runner.invoke(main, ["fmt", "--check", str(path)])
    assert formatted.exit_code == 0, formatted.output


def test_catalogue_entries_name_their_source() -> None:
    """Every instrument of the catalogue says where its facts come from."""
    for path in sorted((ROOT / "policies" / "instruments").glob("*.ecp")):
        text = path.read_text(encoding="utf-8")
        blocks = text.split("\ninstrument ")[1:]
        assert blocks, path.name
        for block in blocks:
            body = block.split("\n}", 1)[0]
            name = body.split()[0]
            assert "\n  source " in body, f"{path.name}: instrument {name} has no source"
            assert "\n  kind " in body and "\n  citation " in body, f"{path.name}: {name}"


def test_language_example_via_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(LANGUAGE_EXAMPLE.parent)
    runner = CliRunner()
    assert runner.invoke(main, ["check", "policy.ecp"]).exit_code == 0
    result = runner.invoke(main, ["test", "policy.ecp"])
    assert result.exit_code == 0 and "1 passed, 0 failed" in result.stdout


def _decide_examples() -> dict[str, dict[str, Any]]:
    result = CliRunner().invoke(main, ["eval", str(ROOT / "policies" / "export_control.ecp"), str(EXAMPLES)])
    assert result.exit_code == 0
    decisions = [json.loads(line) for line in result.stdout.splitlines()]
    lines = [line for line in EXAMPLES.read_text().splitlines() if line.strip()]
    assert len(decisions) == len(lines)
    return {str(d["id"]): d for d in decisions}


# What examples/README.md promises, per line: the outcome and the rules that fire.
EXPECTED = {
    "TX-0001": ("allow", set()),
    "TX-0002": ("license", {"DU_NS"}),
    "TX-0003": ("license", {"DU_NS", "DU_NAT"}),
    "TX-0004": ("license", {"DU_NS"}),
    "TX-0005": ("license", {"DU_MT"}),
    "TX-0006": ("license", {"DU_NP", "NUC"}),
    "TX-0007": ("deny", {"DU_CB", "CWC_S2_BAR"}),
    "TX-0008": ("license", {"DU_CB", "CWC_S3_EUC"}),
    "TX-0009": ("license", {"MIL"}),
    "TX-0010": ("deny", {"UN_TERR", "KP_CATCH_ALL", "MIL"}),
    "TX-0011": ("deny", {"UN_TERR", "MIL"}),
    "TX-0012": ("license", {"UN_TERR", "UN_LY_GOV_APPROVED", "MIL"}),
    "TX-0013": ("license", {"UN_TERR", "UN_SS_UN", "MIL"}),
    "TX-0014": ("deny", {"UN_TERR", "MIL"}),
    "TX-0015": ("license", {"MIL"}),
    "TX-0016": ("license", {"MIL"}),
    "TX-0017": ("license", {"UN_NONSTATE", "UN_SO_REGIONAL", "UN_SO_REGIONAL_FGS", "MIL"}),
    "TX-0018": ("license", {"MIL"}),
    "TX-0019": ("deny", {"UN_NONSTATE", "MIL"}),
    "TX-0020": ("deny", {"UN_DARFUR", "UN_SD_EUD", "MIL"}),
    "TX-0021": ("license", {"UN_SD_EUD", "MIL"}),
    "TX-0022": ("license", {"MIL"}),
    "TX-0023": ("deny", {"KP_SECTORAL", "KP_CATCH_ALL"}),
    "TX-0024": ("deny", {"KP_LUXURY", "KP_CATCH_ALL"}),
    "TX-0025": ("deny", {"KP_TRAINING"}),
    "TX-0026": ("license", {"DEEMED"}),
    "TX-0027": ("hold", {"IR_SNAPBACK", "DU_NP"}),
    "TX-0028": ("hold", {"CA_SHOULD_KNOW"}),
    "TX-0029": ("deny", {"CA_WMD"}),
    "TX-0030": ("license", {"CA_NOTICE"}),
    "TX-0031": ("deny", {"DP_END_USER"}),
    "TX-0032": ("deny", {"DP_PARTY"}),
    "TX-0033": ("deny", {"DU_NS", "RETRANSFER"}),
    "TX-0034": ("allow", set()),
}


def test_quick_start_decides_every_example_line() -> None:
    decisions = _decide_examples()
    for tx, (outcome, fired) in EXPECTED.items():
        d = decisions[tx]
        assert (d["outcome"], set(d["fired"])) == (outcome, fired), tx
    errors = {k: d for k, d in decisions.items() if d["outcome"] == "error"}
    assert {d["error"]["field"] for d in errors.values()} == {"destination", "items[0].hs_code", None}
    assert len(errors) == len(decisions) - len(EXPECTED) == 4
    for d in decisions.values():
        if d["outcome"] in ("deny", "hold", "license"):
            assert d["basis"], d


def test_a_denial_cites_the_member_that_applied_and_nothing_else() -> None:
    decisions = _decide_examples()
    libya = [b for b in decisions["TX-0011"]["basis"] if b["rule"] == "UN_TERR"]
    assert libya == [{"rule": "UN_TERR", "instrument": "UNSCR_1970", "kind": "UNSC", "citation": "S/RES/1970 (2011)",
                      "pinpoint": "para. 9", "member": "LY"}]
    dprk = {b["instrument"] for b in decisions["TX-0010"]["basis"] if b["rule"] == "UN_TERR"}
    assert dprk == {"UNSCR_1718", "UNSCR_1874"}
    south_sudan = {(b["instrument"], b["member"]) for b in decisions["TX-0014"]["basis"] if b["rule"] == "UN_TERR"}
    assert south_sudan == {("UNSCR_2428", "SS"), ("UNSCR_2781", "SS")}


def test_a_hold_cites_both_views_of_a_disputed_measure() -> None:
    decisions = _decide_examples()
    iran = {b["instrument"] for b in decisions["TX-0027"]["basis"] if b["rule"] == "IR_SNAPBACK"}
    assert iran == {"UNSC_IRAN_SNAPBACK_2025", "UNSCR_2231", "CN_RU_IR_LETTER_2025"}
    assert decisions["TX-0027"]["obligations"], "a hold says what a person must resolve"


def _record(**changes: Any) -> dict[str, Any]:
    line = next(line for line in EXAMPLES.read_text().splitlines() if '"TX-0014"' in line)
    record: dict[str, Any] = json.loads(line)
    record.update(changes)
    return record


@pytest.mark.parametrize(("date", "outcome"), [("2018-07-12", "license"), ("2018-07-13", "deny"),
                                               ("2026-05-30", "deny"), ("2026-05-31", "license")])
def test_an_embargo_applies_within_its_members_bases_only(date: str, outcome: str) -> None:
    """South Sudan: from S/RES/2428 (2018-07-13) to the end of the term set by S/RES/2781, exclusive."""
    policy = ecrules.load(ROOT / "policies" / "export_control.ecp")
    decision = policy.evaluate(_record(date=date))
    assert decision.outcome == outcome
    assert ("UN_TERR" in decision.fired) == (outcome == "deny")
