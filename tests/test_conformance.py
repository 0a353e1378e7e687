"""The shared conformance suites: every case gets its expected decision, by API and by CLI.

The suites are vendored under tests/conformance so a clean checkout runs them; when the shared
folder sits beside the repository (as in CI), the vendored copy must equal it.
"""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import ecrules
from ecrules.cli import main

HERE = Path(__file__).resolve().parent / "conformance"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "conformance"
SUITES = sorted(p for p in HERE.iterdir() if p.is_dir())


def _cases(suite: Path) -> list[dict]:
    return [json.loads(line) for line in (suite / "cases.jsonl").read_text().splitlines() if line.strip()]


def _check(decision: dict, expected: dict) -> None:
    assert decision["outcome"] == expected["outcome"], decision
    if expected["outcome"] == "error":
        assert decision["error"]["field"] == expected["field"]
    else:
        assert sorted(decision["fired"]) == sorted(expected.get("fired", []))


@pytest.mark.parametrize("suite", SUITES, ids=[s.name for s in SUITES])
def test_api(suite: Path) -> None:
    policy = ecrules.load(suite / "policy.ecp")
    cases = _cases(suite)
    assert cases
    for case in cases:
        _check(policy.evaluate(case["record"]).to_dict(), case["expected"])


@pytest.mark.parametrize("suite", SUITES, ids=[s.name for s in SUITES])
def test_cli_eval(suite: Path, tmp_path: Path) -> None:
    cases = _cases(suite)
    records = tmp_path / "records.jsonl"
    records.write_text("".join(json.dumps(c["record"]) + "\n" for c in cases))
    result = CliRunner().invoke(main, ["eval", str(suite / "policy.ecp"), str(records)])
    assert result.exit_code == 0, result.output
    decisions = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(decisions) == len(cases)
    for decision, case in zip(decisions, cases):
        _check(decision, case["expected"])


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared folder is not beside this checkout")
def test_vendored_copy_is_current() -> None:
    shared = {p.name for p in SHARED.iterdir() if p.is_dir()}
    assert shared <= {s.name for s in SUITES}, "new shared suites: copy them into tests/conformance"
    for name in shared:
        for f in ("policy.ecp", "cases.jsonl"):
            assert filecmp.cmp(SHARED / name / f, HERE / name / f, shallow=False), f"{name}/{f} drifted"
