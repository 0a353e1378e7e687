"""`%`, the remainder: the operator added through the registry alone (grammar, registry, docs, tests).

`a % b` is the remainder of the division truncated toward zero: it has the sign of `a` (as in
DuckDB and Spark; Python's `%` on integers floors instead: `-7 % 2` is 1 there, -1 here). It is
exact on decimals, an `int` when both sides are, and a fault (an `error` decision naming the
rule) when `b` is zero, as `/` is.
"""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ecrules
from ecrules.diagnostics import PolicyError
from ecrules.interpreter import Interpreter
from ecrules.semantics import operators as ops
from ecrules.values import Fault

HEADER = """policy "rem"
combine deny_overrides
default allow

schema {
  record order {
    id: string
    n: number
    i: int
    j: int
  }
}
"""

RULES = """
rule NEG deny {
  when n % 2 < 0
}
rule HALF deny {
  when n % 2 == -1.5 or n % 2 == 1.5
}
rule INT_NEG deny {
  when i % 3 == -1
}
rule SMALL deny {
  when n % -0.7 == -0.5
}
"""

REMAINDER = ops.ARITH_OPS["%"].run


def reference(a: Fraction, b: Fraction) -> Fraction:
    """The remainder of truncated division, from its definition: a - b * trunc(a / b)."""
    q = a / b
    trunc = int(q)  # int() of a Fraction truncates toward zero
    return a - b * trunc


def policy(body: str = RULES) -> ecrules.Policy:
    return ecrules.loads(HEADER + body)


def record(n: object, i: int = 1, j: int = 1) -> dict[str, object]:
    return {"id": "o", "n": n, "i": i, "j": j}


def test_the_sign_is_the_dividends_not_pythons_floor() -> None:
    assert REMAINDER(-7, 2) == -1 and (-7) % 2 == 1  # Python floors: the language does not
    assert REMAINDER(7, -2) == 1
    assert REMAINDER(Decimal("-7.5"), 2) == Decimal("-1.5")
    assert REMAINDER(Decimal("7.5"), Decimal("-0.7")) == Decimal("0.5")
    assert type(REMAINDER(-7, 2)) is int


@settings(max_examples=200, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-10**6, max_value=10**6),
       st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-1000, max_value=1000))
def test_remainder_is_exact_truncated_division(a: Decimal, b: Decimal) -> None:
    if b == 0:
        with pytest.raises(Fault, match="division by zero"):
            REMAINDER(a, b)
        return
    r = REMAINDER(a, b)
    assert Fraction(r) == reference(Fraction(a), Fraction(b))
    assert r == 0 or (r < 0) == (a < 0)
    assert abs(r) < abs(b)


def test_type_rule_int_stays_int_and_text_is_refused() -> None:
    p = policy('rule R deny {\n  when days_between(2026-01-01, 2026-01-08) % 7 == 0\n}\n')
    assert p.evaluate(record(1)).outcome == "deny"
    with pytest.raises(PolicyError, match="`%` needs numbers"):
        policy('rule R deny {\n  when id % 2 == 0\n}\n')


def test_constants_fold_with_the_same_meaning() -> None:
    p = policy('const k = -7 % 2\nrule R deny {\n  when i == k\n}\n')
    assert p.evaluate(record(1, i=-1)).outcome == "deny"
    assert p.evaluate(record(1, i=1)).outcome == "allow"
    with pytest.raises(PolicyError, match="cannot compute this constant: division by zero"):
        policy('const k = 5 % 0\nrule R deny {\n  when i == k\n}\n')


def test_by_zero_is_an_error_naming_the_rule_as_division_is() -> None:
    p = policy('rule OK allow {\n  when true\n}\nrule R deny {\n  when i % j == 0\n}\n')
    d = p.evaluate(record(1, i=5, j=0))
    assert d.outcome == "error" and d.error is not None and d.error.rule == "R"
    assert "division by zero at <string>:" in d.error.message
    assert Interpreter(p.checked).decide(record(1, i=5, j=0)).error == d.error


RECORDS = [record(n, i) for n, i in ((-7.5, -7), (7.5, 7), (-1.5, -4), (3.2, 5), (0, 0), (-0.5, -10))]


def test_row_engine_and_interpreter_agree_on_negative_operands() -> None:
    p = policy()
    ref = Interpreter(p.checked)
    for k, r in enumerate(RECORDS):
        a, b = p.evaluate(r), ref.decide(r, k + 1)
        assert (a.outcome, a.fired) == (b.outcome, b.fired)
    # -7.5 % 2 is -1.5 (Python's float % would give 0.5); -7 % 3 is -1 (Python's int % gives 2);
    # -7.5 % -0.7 is -0.5 (Python's float % gives -0.5 too, but only after rounding)
    assert p.evaluate(RECORDS[0]).fired == ("NEG", "HALF", "INT_NEG", "SMALL")
    assert p.evaluate(RECORDS[1]).fired == ("HALF",)
    assert p.evaluate(RECORDS[3]).fired == ()  # 3.2 % 2 is 1.2; 5 % 3 is 2; 3.2 % -0.7 is 0.4


def test_duckdb_agrees_on_negative_operands() -> None:
    pytest.importorskip("duckdb")
    from ecrules.columnar.engine import ColumnarEngine

    p = policy()
    engine = ColumnarEngine(p)
    got = [chunk.decisions[k] for chunk in engine.run_rows(json.loads(json.dumps(RECORDS))) for k in chunk.index]
    assert [(d.outcome, d.fired) for d in got] == [(p.evaluate(r).outcome, p.evaluate(r).fired) for r in RECORDS]


def test_sql_refuses_a_divisor_read_from_the_record_with_its_span() -> None:
    from ecrules.columnar.sqlgen import compile_query

    p = policy('rule R deny {\n  when i % j == 0\n}\n')
    for dialect in ("duckdb", "spark"):
        with pytest.raises(ops.Unsupported, match="`%` by a value read from the record") as exc:
            compile_query(p.checked, dialect)
        assert exc.value.where == "<string>:14:8"
    assert "% CAST(2 AS BIGINT))" in compile_query(policy().checked, "spark").sql


def _solve(p: ecrules.Policy, text: str) -> object:
    import z3

    from ecrules.verify.bounds import BoundCounter
    from ecrules.verify.encode import Encoder, Env
    from ecrules.verify.symbolic import zbool
    from ecrules.verify.witness import record_of

    extra = ecrules.loads(HEADER + f"rule Q deny {{\n  when {text}\n}}\n").checked
    enc = Encoder(extra, BoundCounter(extra).bounds())
    rec = enc.record("r")
    solver = z3.Solver()
    solver.add(zbool(enc.valid(rec)), zbool(enc.expr(extra.rules[0].when, Env(rec))), *enc.domain)
    if solver.check() != z3.sat:
        return None
    return record_of(solver.model(), rec)


def test_z3_encodes_a_constant_divisor_exactly() -> None:
    pytest.importorskip("z3")
    assert _solve(policy(), "n % 2 == 1.5 and n < 0") is None  # the sign is the dividend's
    assert _solve(policy(), "i % 3 == 2 and i < 0") is None
    w = _solve(policy(), "n % 2 == -1.5 and n > -10")
    assert isinstance(w, dict)
    assert REMAINDER(Decimal(str(w["n"])), 2) == Decimal("-1.5")
    w = _solve(policy(), "i % -3 == -2")
    assert isinstance(w, dict) and REMAINDER(int(w["i"]), -3) == -2


def test_z3_refuses_a_divisor_read_from_the_record_and_verify_says_why(tmp_path: Path) -> None:
    pytest.importorskip("z3")
    from ecrules.verify.bounds import BoundCounter
    from ecrules.verify.encode import Encoder, Env

    p = policy('rule R deny {\n  when i % j == 0\n}\n')
    enc = Encoder(p.checked, BoundCounter(p.checked).bounds())
    with pytest.raises(ops.Unsupported, match="`%` by a value read from the record") as exc:
        enc.expr(p.checked.rules[0].when, Env(enc.record("r")))
    assert exc.value.where == "<string>:14:8"
    # `ecrules verify` answers `unknown` with that reason, not a wrong verdict
    path = tmp_path / "p.ecp"
    path.write_text(HEADER + 'rule R deny {\n  when i % j == 0\n}\n\nconstraint C {\n  never deny when i > 5 and j == 0\n}\n',
                    encoding="utf-8")
    from ecrules.verify import verify_policy

    report = verify_policy(ecrules.load(path), warnings=False)
    [verdict] = report.verdicts
    assert verdict.constraint == "C" and verdict.status == "unknown"
    assert verdict.reason is not None
    assert "`%` by a value read from the record" in verdict.reason and "p.ecp:14:8" in verdict.reason


def test_the_formatter_knows_its_precedence() -> None:
    from ecrules.formatter import format_source

    src = HEADER + "rule R deny {\n  when (n + 1) % 2 * 3 == n % (2 % 3) and (n % 2) * 3 > 0\n}\n"
    out = format_source(src)
    assert "(n + 1) % 2 * 3 == n % (2 % 3) and n % 2 * 3 > 0" in out
    assert format_source(out) == out
