"""The bundled example policies load, pass their own tests, and decide the bundled examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import ecrules
from ecrules.cli import main
from ecrules.policytests import run_tests

ROOT = Path(__file__).resolve().parents[1]
POLICIES = sorted((ROOT / "policies").glob("*.ecp"))
LANGUAGE_EXAMPLE = ROOT / "tests" / "fixtures" / "language_example" / "policy.ecp"


@pytest.mark.parametrize("path", POLICIES + [LANGUAGE_EXAMPLE], ids=lambda p: p.name if p != LANGUAGE_EXAMPLE else "LANGUAGE.md")
def test_policy_passes_its_tests(path: Path) -> None:
    policy = ecrules.load(path)
    results = run_tests(policy)
    assert results, "every example policy carries its own tests"
    failures = [r.render() for r in results if not r.passed]
    assert not failures, "\n".join(failures)
    # legacy free-text bases load with a warning (issue 9); any other warning is a mistake.
    # The LANGUAGE.md example keeps its free-text bases: it is the shared language's own text.
    assert not [w for w in policy.warnings if "free-text basis" not in w.message], policy.warnings


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_every_restriction_cites_a_basis(path: Path) -> None:
    for rule in ecrules.load(path).rules:
        if rule.outcome in ("deny", "license"):
            assert rule.all_bases, f"{path.name}: rule {rule.id} restricts without a legal basis"


def test_language_example_via_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(LANGUAGE_EXAMPLE.parent)
    runner = CliRunner()
    assert runner.invoke(main, ["check", "policy.ecp"]).exit_code == 0
    result = runner.invoke(main, ["test", "policy.ecp"])
    assert result.exit_code == 0 and "1 passed, 0 failed" in result.stdout


def test_quick_start_decides_every_example_line() -> None:
    examples = ROOT / "examples" / "transactions.jsonl"
    lines = [line for line in examples.read_text().splitlines() if line.strip()]
    result = CliRunner().invoke(main, ["eval", str(ROOT / "policies" / "export_control.ecp"), str(examples)])
    assert result.exit_code == 0
    decisions = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(decisions) == len(lines)
    outcomes = {d["outcome"] for d in decisions}
    assert outcomes == {"allow", "license", "deny", "error"}
    for d in decisions:
        if d["outcome"] in ("deny", "license"):
            assert d["basis"], d
        if d["outcome"] == "error":
            assert d["error"]["message"]
