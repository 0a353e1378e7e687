"""Run a policy's own `test` blocks (what `ecrules test` does)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from . import nodes as n
from .decision import Decision
from .nodes import given_record  # re-exported: tools and tests import it from here
from .checked import Program
from .source import Span

if TYPE_CHECKING:
    from .coverage import Coverage


@attrs.frozen
class TestResult:
    __test__ = False  # not a pytest test class
    name: str
    passed: bool
    message: str
    span: Span
    decision: Decision

    def to_dict(self) -> dict[str, Any]:
        s = self.span
        return {"name": self.name, "passed": self.passed, "message": self.message,
                "span": {"file": s.source.name, "line": s.line, "column": s.column,
                         "end_line": s.end_line, "end_column": s.end_column},
                "decision": self.decision.to_dict()}

    def render(self) -> str:
        status = "PASS" if self.passed else "FAIL"
        line = f"{status} {self.name}"
        if not self.passed:
            line += f"\n  {self.span}: {self.message}"
        return line


def run_tests(policy: Program) -> list[TestResult]:
    results = []
    for test in policy.checked.tests:
        decision = policy.evaluate(given_record(test.given))
        results.append(_judge(test, decision))
    return results


@attrs.frozen
class TestRun:
    """A policy's test results and, when asked for, what they exercised (`Policy.run_tests`)."""

    __test__ = False

    results: tuple[TestResult, ...]
    coverage: Coverage | None = None

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    def to_dict(self) -> dict[str, Any]:
        return {"tests": [r.to_dict() for r in self.results], "passed": self.passed, "failed": self.failed,
                "coverage": None if self.coverage is None else self.coverage.to_dict()}


def run_policy_tests(policy: Program, coverage: bool = False) -> TestRun:
    results = run_tests(policy)
    if not coverage:
        return TestRun(tuple(results))
    from .coverage import measure

    return TestRun(tuple(results), measure(policy, results))


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


__all__ = ["TestResult", "TestRun", "given_record", "run_policy_tests", "run_tests"]
