"""ecrules: export-control policy as code.

    policy = ecrules.load("policies/export_control.ecp")
    decision = policy.evaluate(record)          # -> Decision
    decision.outcome, decision.fired, decision.to_dict()
    for d in policy.evaluate_many(records): ...
    table = policy.evaluate_table("orders.parquet")   # columnar engine (DuckDB): a pyarrow.Table
    why = policy.explain(record)                       # -> Explanation: per rule, matched or why not
    run = policy.run_tests(coverage=True)              # the policy's own `test` blocks, and coverage
    report = ecrules.verify_policy(policy)             # -> PolicyReport: each constraint's Verdict
    query = policy.to_sql("spark")                     # -> PolicyQuery: SQL, and masks -> decisions

A policy that does not load raises `PolicyError`, whose `diagnostics` list every problem found.
`ecrules.impact` and `ecrules.diff` measure a policy's effect on a population and a change's.

Modules for tools:

- `ecrules.testing`: Hypothesis strategies for a policy's records (`records`, `protected_pairs`,
  `near_listed_names`) and `assert_constraints`, to test a policy's constraints from pytest.
- `ecrules.columnar`: the columnar engine behind `evaluate_table` (DuckDB) and `to_sql` (Spark).
- `ecrules.verify`: the z3 verifier behind `ecrules verify` and `verify_policy` (the function is
  `ecrules.verify_policy`, not `ecrules.verify(...)`: `ecrules.verify` is this subpackage, and a
  function bound to that name would be replaced by the module as soon as anything imports it).
- `ecrules.screening`: denied-party lists and their loaders; `ecrules.impact`: impact and diff.

Docs: README.md, docs/cli.md (the command line and this API), docs/language.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .decision import BasisRef, Decision, DecisionError
from .diagnostics import Diagnostic, PolicyError
from .policy import Policy, load, loads
from .impact import diff, impact

from .version import __version__

if TYPE_CHECKING:
    from .columnar.masks import PolicyQuery
    from .explain import Explanation, RuleReport
    from .verify.report import PolicyReport, Verdict, Warning_


def verify_policy(policy: Policy, *, timeout: float = 10.0, deadline: float | None = None,
                  warnings: bool = True) -> PolicyReport:
    """Verify `policy`'s constraints with z3, as `ecrules verify` does, and return the verdicts as
    values: `report.verdicts` (each `proved`, `violated` with a witness the evaluator confirmed,
    or `unknown` with why), `report.warnings` (dead, redundant, order-dependent rules),
    `report.violated`, `report.unknown`, `report.to_dict()`. `timeout`: seconds per check;
    `deadline`: seconds for the whole call (None: no limit). Needs z3 (a dependency)."""
    from .verify import verify_policy as run

    file = policy.files.main if policy.files is not None else "<policy>"
    return run(policy, file, timeout, warnings, deadline)


_LAZY = {"Explanation": "explain", "RuleReport": "explain", "PolicyQuery": "columnar.masks",
         "PolicyReport": "verify.report", "Verdict": "verify.report", "Warning_": "verify.report"}


def __getattr__(name: str) -> object:
    """The result types of `explain`, `to_sql` and `verify_policy`, imported when first named."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'ecrules' has no attribute {name!r}")


__all__ = [
    "BasisRef",
    "Decision",
    "DecisionError",
    "Diagnostic",
    "Explanation",
    "Policy",
    "PolicyError",
    "PolicyQuery",
    "PolicyReport",
    "RuleReport",
    "Verdict",
    "Warning_",
    "__version__",
    "diff",
    "impact",
    "load",
    "loads",
    "verify_policy",
]
