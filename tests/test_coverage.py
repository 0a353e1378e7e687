"""`ecrules test --coverage`, `--format json|junit`, `--fail-under`, and `Policy.run_tests`."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import ecrules
from ecrules.cli import main

HEAD = """\
policy "cov"
schema {
  record shipment {
    destination: country
    value: number
    military: bool
    parties: list<string>
  }
}
"""


def write(tmp_path: Path, body: str, name: str = "p.ecp") -> Path:
    path = tmp_path / name
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def record(destination: str = "FR", value: int = 10, military: bool = False, parties: str = "[]") -> str:
    return (f'given {{ destination: "{destination}", value: {value}, military: {str(military).lower()}, '
            f"parties: {parties} }}")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def uncovered(path: Path) -> list[tuple[str, int, int, str]]:
    cov = ecrules.load(path).run_tests(coverage=True).coverage
    assert cov is not None
    return [(i.kind, i.span.line, i.span.column, i.span.text) for i in cov.uncovered]


def line_of(path: Path, text: str) -> int:
    return next(k for k, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# ---- rules and --fail-under ---------------------------------------------------------------------

MISSED_RULE = """\
rule KP deny {
  when destination == "KP"
}
rule BIG license {
  when value > 1000
}
test "kp" {
  %s
  expect deny fired KP
}
""" % record("KP")


def test_a_policy_whose_tests_miss_a_rule_fails_fail_under_100(tmp_path: Path) -> None:
    path = write(tmp_path, MISSED_RULE)
    code, out, err = run("test", "--fail-under", "100", str(path))
    assert code == 1
    assert "1 passed, 0 failed" in out  # the tests pass: the coverage fails the run
    assert err.strip().splitlines()[-1] == "error: coverage 50.0% is under --fail-under 100%"
    assert f"{path}:{line_of(path, 'rule BIG')}:1: rule `BIG`: never fired" in out
    assert "  rules         50.0%  (1 of 2)" in out
    # under the threshold it passes; and once a test fires BIG, 100 passes too
    assert run("test", "--fail-under", "50", str(path))[0] == 0
    covered = write(tmp_path, MISSED_RULE + 'test "big" {\n  %s\n  expect license fired BIG\n}\n' % record(value=5000))
    code, out, err = run("test", "--fail-under", "100", str(covered))
    assert code == 0 and err == "" and "coverage of" in out and "100.0% (2 of 2)" in out


def test_fail_under_pools_every_file(tmp_path: Path) -> None:
    a = write(tmp_path, MISSED_RULE, "a.ecp")  # 1 of 2
    b = write(tmp_path, MISSED_RULE.replace('"kp"', '"kp2"') + 'test "big" {\n  %s\n  expect license fired BIG\n}\n'
              % record(value=5000), "b.ecp")  # 2 of 2
    code, out, err = run("test", "--fail-under", "75", str(a), str(b))
    assert code == 0 and "total coverage: 75.0% (3 of 4)" in out
    code, _, err = run("test", "--fail-under", "75.1", str(a), str(b))
    assert code == 1 and "coverage 75.0% is under --fail-under 75.1%" in err


def test_without_coverage_nothing_is_measured(tmp_path: Path) -> None:
    path = write(tmp_path, MISSED_RULE)
    code, out, _ = run("test", str(path))
    assert code == 0 and out == "1 passed, 0 failed\n"
    assert ecrules.load(path).run_tests().coverage is None


# ---- branches -----------------------------------------------------------------------------------

BRANCHES = """\
rule R deny {
  when destination == "KP" or (military and value > 100)
}
test "kp" {
  %s
  expect deny fired R
}
test "military but small" {
  %s
  expect allow fired
}
""" % (record("KP"), record(military=True, value=5))


def test_an_or_operand_is_covered_when_it_is_the_true_one_and_an_and_operand_when_the_false_one(tmp_path: Path) -> None:
    path = write(tmp_path, BRANCHES)
    line = line_of(path, "when destination")
    got = uncovered(path)
    # `destination == "KP"` decided the `or` (test "kp"); `value > 100` decided the `and` (false,
    # `military` true before it); nothing made `military` false first, nor the `and` the true operand
    assert got == [
        ("branch", line, 32, "military and value > 100"),
        ("branch", line, 32, "military"),
    ]
    more = write(tmp_path, BRANCHES + 'test "big military" {\n  %s\n  expect deny fired R\n}\n'
                 'test "civil" {\n  %s\n  expect allow fired\n}\n' % (record(military=True, value=500), record()),
                 "more.ecp")
    assert uncovered(more) == []


def test_branches_in_a_let_count_once_the_rules_read_it(tmp_path: Path) -> None:
    path = write(tmp_path, """\
let risky = destination == "KP" or military
let unused = value > 1 or value < 0
rule R deny {
  when risky
}
test "kp" {
  %s
  expect deny fired R
}
""" % record("KP"))
    cov = ecrules.load(path).run_tests(coverage=True).coverage
    assert cov is not None
    branches = [(i.what, i.covered) for i in cov.items if i.kind == "branch"]
    assert branches == [('`destination == "KP"` in let `risky`', True), ("`military` in let `risky`", False)]


# ---- set members --------------------------------------------------------------------------------

MEMBERS = """\
set embargoed: country = { "KP", "IR", "SY" }
set watched: string = { "ACME", "GLOBEX" }
rule E deny {
  when destination in embargoed
}
rule W hold {
  when any(p in watched: p in parties)
}
test "kp" {
  %s
  expect deny fired E
}
test "fr" {
  %s
  expect hold fired W
}
""" % (record("KP"), record(parties='["GLOBEX"]'))


def test_set_members_never_found_are_listed_with_their_spans(tmp_path: Path) -> None:
    path = write(tmp_path, MEMBERS)
    line = line_of(path, "set embargoed")
    wline = line_of(path, "set watched")
    assert uncovered(path) == [
        ("member", line, 34, '"IR"'),
        ("member", line, 40, '"SY"'),
        ("member", wline, 25, '"ACME"'),
    ]
    cov = ecrules.load(path).run_tests(coverage=True).coverage
    assert cov is not None and (cov.ratio("member").covered, cov.ratio("member").total) == (2, 5)


def test_a_set_read_from_a_file_is_not_counted(tmp_path: Path) -> None:
    (tmp_path / "names.txt").write_text("ACME\nGLOBEX\n", encoding="utf-8")
    path = write(tmp_path, """\
set listed: string = file "names.txt"
rule L deny {
  when any(p in parties: p in listed)
}
test "acme" {
  %s
  expect deny fired L
}
""" % record(parties='["ACME"]'))
    cov = ecrules.load(path).run_tests(coverage=True).coverage
    assert cov is not None and cov.ratio("member").total == 0 and cov.ratio().percent == 100.0


# ---- waivers and instruments --------------------------------------------------------------------

WAIVERS = """\
instrument ECL {
  kind LAW
  citation "Export Control Law of the People's Republic of China"
}
instrument DECREE {
  kind REGULATION
  citation "State Council Decree No. 792"
}
rule KP deny {
  when destination == "KP"
  basis ECL "art. 18"
}
rule BIG license {
  when value > 1000
  basis DECREE
}
rule SMALL_KP allow {
  when value < 10
  waives KP
}
rule TINY allow {
  when value < 2
  waives BIG, KP
}
test "small to kp" {
  %s
  expect allow fired KP, SMALL_KP
}
""" % record("KP", value=5)


def test_a_waiver_is_covered_when_a_test_fires_both_rules(tmp_path: Path) -> None:
    path = write(tmp_path, WAIVERS)
    cov = ecrules.load(path).run_tests(coverage=True).coverage
    assert cov is not None
    waivers = [(i.what, i.covered, i.span.text) for i in cov.items if i.kind == "waiver"]
    assert waivers == [("`SMALL_KP waives KP`", True, "KP"), ("`TINY waives BIG`", False, "BIG"),
                       ("`TINY waives KP`", False, "KP")]
    # KP fired but was waived: its basis is not cited; BIG never fired
    instruments = [(i.what, i.covered) for i in cov.items if i.kind == "instrument"]
    assert instruments == [("instrument `ECL`", False), ("instrument `DECREE`", False)]
    assert [i.what for i in cov.items if i.kind == "rule" and not i.covered] == ["rule `BIG`", "rule `TINY`"]


# ---- formats ------------------------------------------------------------------------------------

FAILING = MISSED_RULE + 'test "wrong" {\n  %s\n  expect allow fired\n}\n' % record(value=5000)


def test_json_format_counts_tests_and_lists_what_is_not_covered(tmp_path: Path) -> None:
    path = write(tmp_path, FAILING)
    code, out, _ = run("test", "--format", "json", "--coverage", str(path))
    assert code == 1
    doc = json.loads(out)
    assert (doc["passed"], doc["failed"], doc["errors"]) == (1, 1, 0)
    (f,) = doc["files"]
    assert f["file"] == str(path) and f["policy"] == "cov" and f["loaded"]
    assert [(t["name"], t["passed"]) for t in f["tests"]] == [("kp", True), ("wrong", False)]
    assert f["tests"][1]["message"] == "expected `allow`, got `license`; expected fired [], got [BIG]"
    assert f["tests"][1]["decision"]["fired"] == ["BIG"]
    assert f["coverage"]["categories"]["rules"] == {"covered": 2, "total": 2, "percent": 100.0}
    assert doc["coverage"] == {"covered": f["coverage"]["covered"], "total": f["coverage"]["total"],
                               "percent": f["coverage"]["percent"]}
    assert all(set(u) == {"kind", "what", "missed", "span"} for u in f["coverage"]["uncovered"])
    # without --coverage, no coverage
    assert json.loads(run("test", "--format", "json", str(path))[1])["coverage"] is None


def test_junit_is_xml_ci_reads_with_the_right_counts(tmp_path: Path) -> None:
    good = write(tmp_path, FAILING, "good.ecp")
    broken = tmp_path / "broken.ecp"
    broken.write_text('policy "x"\nrule R deny {\n  when nope == 1\n}\n', encoding="utf-8")
    code, out, _ = run("test", "--format", "junit", "--coverage", str(good), str(broken))
    assert code == 1
    root = ET.fromstring(out)
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "1")
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [str(good), str(broken)]
    cases = suites[0].findall("testcase")
    assert [c.get("name") for c in cases] == ["kp", "wrong"]
    assert (suites[0].get("tests"), suites[0].get("failures"), suites[0].get("errors")) == ("2", "1", "0")
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message", "").startswith("expected `allow`, got `license`")
    assert cases[1].get("line") == str(line_of(good, 'test "wrong"'))
    props = {p.get("name"): p.get("value") for p in suites[0].iter("property")}
    assert props["coverage.rules"] == "100.0%"
    error = suites[1].find("testcase/error")
    assert error is not None and "`nope`" in (error.text or "")
    assert suites[1].get("errors") == "1"


@pytest.mark.parametrize("fmt", ["json", "junit"])
def test_machine_formats_keep_standard_output_clean(tmp_path: Path, fmt: str) -> None:
    path = write(tmp_path, MISSED_RULE)
    code, out, err = run("test", "--format", fmt, "--fail-under", "100", str(path))
    assert code == 1 and "under --fail-under" in err and "under" not in out
    json.loads(out) if fmt == "json" else ET.fromstring(out)


# ---- the bundled policies -----------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", sorted((ROOT / "policies").glob("*.ecp")), ids=lambda p: p.name)
def test_bundled_policies_items_are_well_formed(path: Path) -> None:
    run_ = ecrules.load(path).run_tests(coverage=True)
    assert run_.failed == 0 and run_.coverage is not None
    cov = run_.coverage
    assert cov.ratio("rule").total == len(ecrules.load(path).rules)
    for item in cov.items:  # every item points into a policy file, at the text it names
        assert item.span.source.name.endswith(".ecp") and item.span.line >= 1
        assert all(t in {r.name for r in run_.results} for t in item.tests)


# ---- the invariant: an item is covered by a set of tests when one of them covers it -------------

_EXPORT = ecrules.load(ROOT / "policies" / "export_control.ecp")
_RESULTS = list(_EXPORT.run_tests().results)


def _covered(only: set[int]) -> set[tuple[str, str, str]]:
    from ecrules.coverage import measure

    cov = measure(_EXPORT, _RESULTS, only)
    return {(i.kind, i.what, str(i.span)) for i in cov.items if i.covered}


@settings(max_examples=10, deadline=None)
@given(st.sets(st.integers(0, len(_RESULTS) - 1), max_size=8), st.sets(st.integers(0, len(_RESULTS) - 1), max_size=8))
def test_coverage_of_a_union_of_tests_is_the_union_of_their_coverage(a: set[int], b: set[int]) -> None:
    assert _covered(a | b) == _covered(a) | _covered(b)
    assert not _covered(set())  # no test covers nothing
