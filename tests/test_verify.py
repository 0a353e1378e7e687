"""`ecrules verify`: the example policies are proved, the corpus of violations is refuted with
witnesses the evaluator confirms, their compliant twins are proved, and the CLI's exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import ecrules
from ecrules import nodes as n
from ecrules.cli import main
from ecrules.testing import ConstraintViolation, assert_constraints
from ecrules.verify import verify_policy
from ecrules.interpreter import Interpreter
from ecrules.verify.justify import Facts
from ecrules.verify.protect import Protection, ProtectSpec, diff_paths, facts_differ

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "policies").glob("*.ecp"))
VIOLATING_DIR = ROOT / "tests" / "verify" / "violating"
COMPLIANT_DIR = ROOT / "tests" / "verify" / "compliant"
VIOLATING = sorted(VIOLATING_DIR.glob("*.ecp"))
COMPLIANT = sorted(COMPLIANT_DIR.glob("*.ecp"))


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


@pytest.mark.parametrize("path", EXAMPLES, ids=_ids(EXAMPLES))
def test_example_policies_are_proved(path: Path) -> None:
    policy = ecrules.load(path)
    # every example states non-discrimination, and it must be proved like every other constraint
    assert any(c.name == "nondiscrimination" and isinstance(c.body, n.Protect) for c in policy.checked.constraints)
    report = verify_policy(policy, str(path), warnings=False)
    assert report.verdicts, "every example policy declares constraints"
    for v in report.verdicts:
        assert v.status == "proved", (v.constraint, v.status, v.reason, v.rules)


def test_corpus_has_twins() -> None:
    assert _ids(VIOLATING) == _ids(COMPLIANT)
    assert len(VIOLATING) >= 10
    # issue 9: each way around the old proof has its pair
    assert {"made_up_instrument", "borrowed_set_basis", "item_regime_basis"} <= set(_ids(VIOLATING))


def _confirm(policy: ecrules.Policy, verdict: Any) -> None:
    """Re-check a witness with the evaluator, independently of the verifier's own confirmation."""
    c = policy.checked
    con = next(x for x in c.constraints if x.name == verdict.constraint)
    if isinstance(con.body, n.Protect):
        spec = ProtectSpec.of(con.body)
        prot = Protection(c, spec)
        facts = Facts(c, spec.unless)
        interp = Interpreter(c)
        bad = [r for r in verdict.rules if r["status"] == "violated"]
        assert bad
        for r in bad:
            a, b = r["witness"]
            da, db = policy.evaluate(a), policy.evaluate(b)
            assert not da.is_error and not db.is_error
            if c.combine == "deny_overrides":
                assert (r["rule"] in da.fired) != (r["rule"] in db.fired)
            for p in diff_paths(a, b):
                parts = tuple(x for x in p.replace("]", "").replace("[", ".").split(".") if not x.isdigit())
                assert prot.covers(parts), p
            # the pair agrees on every justified fact: the difference is one no instrument justifies
            assert facts_differ(c, prot, facts, interp.validate(a), interp.validate(b)) is None
    else:
        d = policy.evaluate(verdict.witness)
        assert not d.is_error
        if con.body.quantifier == "never":
            assert d.outcome == con.body.outcome
        else:
            assert d.outcome != con.body.outcome
        assert verdict.decision["outcome"] == d.outcome


@pytest.mark.parametrize("path", VIOLATING, ids=_ids(VIOLATING))
def test_violating_policies_are_refuted(path: Path) -> None:
    policy = ecrules.load(path)
    report = verify_policy(policy, str(path))
    statuses = [v.status for v in report.verdicts]
    assert "violated" in statuses, statuses
    for v in report.verdicts:
        if v.status == "violated":
            _confirm(policy, v)


@pytest.mark.parametrize("path", COMPLIANT, ids=_ids(COMPLIANT))
def test_compliant_twins_are_proved(path: Path) -> None:
    report = verify_policy(ecrules.load(path), str(path))
    assert [v.status for v in report.verdicts] == ["proved"] * len(report.verdicts)


def test_unknown_instrument_is_a_diagnostic(tmp_path: Path) -> None:
    """A made-up instrument id does not load (issue 9): it cannot slip into a proof."""
    text = (COMPLIANT_DIR / "made_up_instrument.ecp").read_text().replace(
        'basis UNSCR_1718 "para. 8(a)"\n  when destination == "KP"', 'basis UNSCR_9999 "para. 1"\n  when destination == "KP"')
    assert "UNSCR_9999" in text
    path = tmp_path / "made_up_id.ecp"
    path.write_text(text)
    res = CliRunner().invoke(main, ["verify", str(path)])
    assert res.exit_code == 1
    assert "UNSCR_9999" in res.output and "Traceback" not in res.output


def test_legacy_basis_never_justifies() -> None:
    """A free-text basis of an admissible kind loads, with a warning, and justifies nothing."""
    policy = ecrules.load(VIOLATING_DIR / "made_up_instrument.ecp")
    assert any("legacy" in w.message or "free-text" in w.message or "free text" in w.message
               for w in policy.warnings), [w.message for w in policy.warnings]
    con = policy.checked.constraints[0]
    assert isinstance(con.body, n.Protect)
    assert Facts(policy.checked, ProtectSpec.of(con.body).unless).by_fact.get(("destination", "AU")) is None


def test_cli_exit_codes_and_json() -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["verify", str(COMPLIANT[0])])
    assert ok.exit_code == 0, ok.output
    assert "PROVED" in ok.output
    bad = runner.invoke(main, ["verify", str(VIOLATING[0]), "--format", "json"])
    assert bad.exit_code == 1, bad.output
    data = json.loads(bad.stdout)  # stderr holds the warnings on free-text bases
    assert data["files"][0]["constraints"][0]["status"] == "violated"


UNKNOWN_POLICY = """
policy "division" version "1"
schema { record r { id: string  a: number  b: number } }
rule R deny { when a / b > 2 }
constraint c { never deny when a < 0 }
"""


def test_unknown_is_a_gate_failure_unless_allowed(tmp_path: Path) -> None:
    """verify is a CI gate: unknown exits 2 by default, 0 only with --allow-unknown."""
    path = tmp_path / "div.ecp"
    path.write_text(UNKNOWN_POLICY)
    report = verify_policy(ecrules.load(path), str(path))
    assert report.verdicts[0].status == "unknown"
    assert "division" in (report.verdicts[0].reason or "")
    runner = CliRunner()
    assert runner.invoke(main, ["verify", str(path)]).exit_code == 2
    assert runner.invoke(main, ["verify", "--strict", str(path)]).exit_code == 2
    assert runner.invoke(main, ["verify", "--allow-unknown", str(path)]).exit_code == 0


TWO_WITNESSES = """
policy "two" version "1"
schema { record r { id: string  items: list<item> } type item { k: enum { p, q, s } } }
rule R deny { when any(i in items: i.k == "p") and any(i in items: i.k == "q") }
constraint c { never deny when all(i in items: i.k != "s") }
"""


def test_witness_needs_one_element_per_existential() -> None:
    """The small-model bound: two `any` occurrences need two elements; the bound says so."""
    from ecrules.verify.outcome import check_outcome

    policy = ecrules.loads(TWO_WITNESSES)
    con = policy.checked.constraints[0]
    assert isinstance(con.body, n.OutcomeWhen)
    res = check_outcome(policy, con.body)
    assert res.status == "violated"
    assert res.bound is not None and res.bound.complete and res.bound.size(("items",)) == 2
    assert res.witness is not None and len(res.witness["items"]) == 2
    # one slot fewer than the bound, and the violation is out of reach: the bound is tight here
    res1 = check_outcome(policy, con.body, cap=1)
    assert res1.status == "proved" and res1.bound is not None and not res1.bound.complete


@pytest.mark.parametrize("path", VIOLATING[:4], ids=_ids(VIOLATING[:4]))
def test_hypothesis_finds_the_corpus_violations(path: Path) -> None:
    policy = ecrules.load(path)
    with pytest.raises(ConstraintViolation):
        assert_constraints(policy, max_examples=300, derandomize=True, shrink=False)


@pytest.mark.parametrize("path", EXAMPLES, ids=_ids(EXAMPLES))
def test_hypothesis_agrees_on_examples(path: Path) -> None:
    assert_constraints(ecrules.load(path), max_examples=40, derandomize=True)


@pytest.mark.parametrize("path", EXAMPLES, ids=_ids(EXAMPLES))
def test_proofs_are_not_vacuous(path: Path) -> None:
    """Every rule of every example policy matches some valid record in the encoding, so `proved`
    never comes from an unsatisfiable schema or invariant encoding."""
    import z3  # type: ignore[import-untyped]

    from ecrules.checked import Env
    from ecrules.verify.encode import Encoder
    from ecrules.verify.outcome import decision_bounds
    from ecrules.verify.symbolic import zbool

    policy = ecrules.load(path)
    c = policy.checked
    enc = Encoder(c, decision_bounds(policy, [], cap=4))
    rec = enc.record("r")
    env = Env(rec)
    valid = zbool(enc.valid(rec))
    matches = [zbool(enc.match(r, env)) for r in c.rules]
    for rule, m in zip(c.rules, matches):
        solver = z3.Solver()
        solver.set("timeout", 120000)  # generous: CI machines are shared; `unknown` here says nothing about the policy
        solver.add(valid, m, *enc.domain)
        assert solver.check() == z3.sat, rule.id
