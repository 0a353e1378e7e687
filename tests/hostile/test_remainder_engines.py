"""Hostile tests of `%` (issue 8): where the engines could disagree on the remainder.

DuckDB computes `DECIMAL % DECIMAL` exactly only while both operands fit one DECIMAL(38, s);
otherwise it falls back to floating point (`fmod`) without a word (duckdb/duckdb#11506): a
column DECIMAL(38, 9) by `0.0000000003` (scale 10) came back as a DOUBLE, and the columnar
engine then disagreed with the row engine. A constant `%` or `/` by zero inside a rule crashed
`ecrules verify` with a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ecrules
from ecrules.semantics import operators as ops

from hostile_util import ecrules as run_cli

HEADER = """policy "rem"
combine deny_overrides
default allow

schema {
  record order {
    id: string
    n: number
    i: int
  }
}
"""


def _columnar(p: ecrules.Policy, rows: list[dict[str, object]]) -> list[tuple[str, tuple[str, ...]]] | None:
    """The columnar engine's decisions, or None when it refuses the policy (the row engine decides)."""
    from ecrules.columnar.engine import ColumnarEngine

    try:
        ColumnarEngine(p)
    except ops.Unsupported as exc:
        assert "floating point" in str(exc)
        return None
    got = [c.decisions[k] for c in ColumnarEngine(p).run_rows(json.loads(json.dumps(rows))) for k in c.index]
    return [(d.outcome, d.fired) for d in got]


@pytest.mark.parametrize("divisor", ["0.0000000003", "-0.0000000003", "1000000000000000000000000000000"])
def test_duckdb_never_computes_a_remainder_in_floating_point(divisor: str) -> None:
    """A divisor whose DECIMAL type does not fit with the column's: the SQL refuses it (the row
    engine decides) instead of returning DuckDB's `fmod` result."""
    pytest.importorskip("duckdb")
    p = ecrules.loads(HEADER + f"rule A deny {{\n  when n % {divisor} == 0.0000000002\n}}\n"
                      f"rule B deny {{\n  when n % {divisor} > 0.0000000001\n}}\n"
                      f"rule C deny {{\n  when n % {divisor} > n - 0.000000001\n}}\n")
    rows = [{"id": "a", "n": 1.000000001, "i": 1}, {"id": "b", "n": 12345678901234567891, "i": 1},
            {"id": "c", "n": -7.000000001, "i": 1}]
    want = [(d.outcome, d.fired) for d in (p.evaluate(r) for r in json.loads(json.dumps(rows)))]
    got = _columnar(p, rows)
    assert got is None or got == want


def test_a_small_divisor_is_refused_in_sql_with_its_span() -> None:
    from ecrules.columnar.sqlgen import compile_query

    p = ecrules.loads(HEADER + "rule A deny {\n  when n % 0.0000000003 == 0\n}\n")
    with pytest.raises(ops.Unsupported, match="`%` by `0.0000000003` .*floating point") as exc:
        compile_query(p.checked, "duckdb")
    assert exc.value.where == "<string>:13:8"
    # a divisor of up to 9 places stays in SQL, exact
    assert "%" in compile_query(ecrules.loads(HEADER + "rule A deny {\n  when n % 0.000000003 == 0\n}\n").checked,
                                "duckdb").sql


@pytest.mark.parametrize("expr", ["5 % (1 - 1)", "5 / (2 - 2)", "-(7 % (3 - 3))"])
def test_verify_answers_unknown_on_a_constant_division_by_zero(tmp_path: Path, expr: str) -> None:
    """The encoder folds constants with the registry's run-time function; a fault there (every
    record's decision is `error`) is a verdict of `unknown` with the span, not a traceback."""
    pytest.importorskip("z3")
    path = tmp_path / "p.ecp"
    path.write_text(HEADER + f"rule R deny {{\n  when i > {expr}\n}}\n\nconstraint C {{\n  never deny when i < 0\n}}\n",
                    encoding="utf-8")
    report = ecrules.verify_policy(ecrules.load(path), warnings=False)
    [verdict] = report.verdicts
    assert verdict.status == "unknown"
    assert verdict.reason is not None and "division by zero" in verdict.reason and "p.ecp:13:" in verdict.reason
    res = run_cli("verify", str(path))
    assert "Traceback" not in res.text and "division by zero" in res.text, res.text


def test_a_verify_report_with_a_decimal_witness_is_json(tmp_path: Path) -> None:
    """cli.md: the report is what `verify --format json` prints; a witness's numbers are exact
    decimals, which `json.dumps(report.to_dict())` refuses: `to_json()` writes them exactly."""
    pytest.importorskip("z3")
    path = tmp_path / "p.ecp"
    path.write_text(HEADER + "rule R deny {\n  when n != -(n % 2)\n}\n\nconstraint C {\n  never deny when n > -1 and n < 0\n}\n",
                    encoding="utf-8")
    report = ecrules.verify_policy(ecrules.load(path), warnings=False)
    assert report.violated
    data = json.loads(report.to_json())
    [verdict] = data["constraints"]
    n = verdict["witness"]["n"]
    assert -1 < n < 0 and ecrules.load(path).evaluate({**verdict["witness"], "id": "w"}).outcome == "deny"
    [printed] = json.loads(run_cli("verify", "--format", "json", str(path)).out)["files"]
    assert printed["constraints"] == data["constraints"]


def test_duckdb_remainder_of_an_int_sum_stays_exact() -> None:
    """DuckDB sums a list of BIGINT to a HUGEINT, a DECIMAL(38, 0): `% 0.7` then needs 39 digits
    and DuckDB computed it in floating point; the row engine said 1000000000000000004 % 0.7 is 0.1."""
    pytest.importorskip("duckdb")
    p = ecrules.loads('policy "s"\n\nschema {\n  record r {\n    id: string\n    xs: list<int>\n  }\n}\n\n'
                      "rule R deny {\n  when sum(x in xs: x) % 0.7 == 0.1\n}\n"
                      "rule S deny {\n  when (sum(x in xs: x) + 0.5) % 0.25 == 0\n}\n")
    rows = [{"id": "a", "xs": [1000000000000000001, 3]}, {"id": "b", "xs": [8, 3, 4]},
            {"id": "c", "xs": [2**62, 2**62, 2**62]}]
    want = [(d.outcome, d.fired) for d in (p.evaluate(r) for r in rows)]
    assert want[0] == ("deny", ("R", "S")) and want[1] == ("deny", ("S",))
    assert _columnar(p, rows) == want
