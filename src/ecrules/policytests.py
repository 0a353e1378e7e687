"""Run a policy's own `test` blocks (what `ecrules test` does)."""

from __future__ import annotations

from typing import Any

import attrs

from . import nodes as n
from .decision import Decision
from .policy import Policy
from .source import Span


@attrs.frozen
class TestResult:
    name: str
    passed: bool
    message: str
    span: Span
    decision: Decision

    def render(self) -> str:
        status = "PASS" if self.passed else "FAIL"
        line = f"{status} {self.name}"
        if not self.passed:
            line += f"\n  {self.span}: {self.message}"
        return line


def given_record(lit: n.Expr) -> Any:
    """A `given` literal as the record a caller would pass to `evaluate`."""
    if isinstance(lit, n.RecordLit):
        return {f.name: given_record(f.value) for f in lit.fields}
    if isinstance(lit, (n.ListLit, n.SetLit)):
        return [given_record(x) for x in lit.elements]
    if isinstance(lit, n.Literal):
        return lit.value
    raise ValueError(f"not a literal: {lit.span.text}")


def run_tests(policy: Policy) -> list[TestResult]:
    results = []
    for test in policy.checked.tests:
        decision = policy.evaluate(given_record(test.given))
        results.append(_judge(test, decision))
    return results


def _judge(test: n.Test, d: Decision) -> TestResult:
    problems: list[str] = []
    if d.outcome != test.expect:
        got = d.outcome
        if d.error is not None:
            got += f" ({_error_text(d)})"
        problems.append(f"expected `{test.expect}`, got `{got}`")
    if test.fired is not None:
        want = sorted(r.name for r in test.fired)
        if sorted(d.fired) != want:
            problems.append(f"expected fired [{', '.join(want)}], got [{', '.join(d.fired)}]")
    if test.expect == "error" and test.error_field is not None and d.error is not None:
        if d.error.field != test.error_field:
            problems.append(f"expected an error on `{test.error_field}`, got `{d.error.field}`")
    message = "; ".join(problems) if problems else "ok"
    return TestResult(test.name, not problems, message, test.span, d)


def _error_text(d: Decision) -> str:
    assert d.error is not None
    where = d.error.field or d.error.rule
    return f"{where}: {d.error.message}" if where else d.error.message


__all__ = ["TestResult", "given_record", "run_tests"]
