"""Constants are exact whatever the thread's decimal context (issue 8's drift, issue 7's suite).

`const b = -a` used to run `Decimal.__neg__`, which rounds to the thread context (28 digits by
default): `-1.000000000000000000000000000000001` loaded as `-1.000000000000000000000000000`
while the same `-a` inside a condition stayed exact. Every constant operation now runs in the
one exact context of `values.EXACT`, like the engines.
"""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest

import ecrules
from ecrules.explain import explain

A = "1.000000000000000000000000000000001"  # 34 significant digits: more than the default 28

POLICY = f"""policy "exact" version "1"
schema {{ record t {{ x: number }} }}
const a = {A}
const neg = -a
const negneg = -(-a)
const plus = a + a
const minus = a - 1
const minus_neg = 0 - a
const times = a * a
const mixed = -a * 3 + a
rule NEG deny {{ when x == neg }}
rule INLINE hold {{ when x == -a }}
"""

#: each constant and its value, computed by hand (no decimal context involved)
EXPECTED = {
    "a": Decimal(A),
    "neg": Decimal("-" + A),
    "negneg": Decimal(A),
    "plus": Decimal("2.000000000000000000000000000000002"),
    "minus": Decimal("0.000000000000000000000000000000001"),
    "minus_neg": Decimal("-" + A),
    "times": Decimal("1.000000000000000000000000000000002000000000000000000000000000000001"),
    "mixed": Decimal("-2.000000000000000000000000000000002"),
}


@pytest.mark.parametrize("prec", [28, 5])
def test_constant_arithmetic_is_exact_in_any_thread_context(prec: int) -> None:
    """Issue 8: `const b = -a` (and + - *) keep every digit, even with a 5-digit thread context."""
    with decimal.localcontext() as ctx:
        ctx.prec = prec
        policy = ecrules.loads(POLICY)
    consts = policy.checked.consts
    for name, value in EXPECTED.items():
        got = consts[name].value
        assert got == value and str(got) == str(value), (name, got)


def test_negated_constant_agrees_with_inline_negation_on_every_engine() -> None:
    """`x == neg` and `x == -a` fire on the same exact record, and not on the rounded one."""
    policy = ecrules.loads(POLICY)
    exact = {"x": Decimal("-" + A)}
    rounded = {"x": Decimal("-1.000000000000000000000000000")}
    assert policy.evaluate(exact).fired == ("NEG", "INLINE")
    assert policy.evaluate(rounded).fired == ()
    # the interpreter behind `explain` reads the same constants
    assert [(r.rule, r.matched) for r in explain(policy, exact).rules] == [("NEG", True), ("INLINE", True)]
    assert [(r.rule, r.matched) for r in explain(policy, rounded).rules] == [("NEG", False), ("INLINE", False)]
