"""ecrules: export-control policy as code.

    policy = ecrules.load("policies/export_control.ecp")
    decision = policy.evaluate(record)          # -> Decision
    decision.outcome, decision.fired, decision.to_dict()
    for d in policy.evaluate_many(records): ...
    table = policy.evaluate_table("orders.parquet")   # columnar engine (DuckDB): a pyarrow.Table
    run = policy.run_tests(coverage=True)              # the policy's own `test` blocks, and coverage

A policy that does not load raises `PolicyError`, whose `diagnostics` list every problem found.

Modules for tools:

- `ecrules.testing`: Hypothesis strategies for a policy's records (`records`, `protected_pairs`)
  and `assert_constraints`, to test a policy's constraints from pytest.
- `ecrules.columnar`: the columnar engine behind `evaluate_table` (DuckDB, Spark).
- `ecrules.verify`: the z3 verifier behind `ecrules verify`.

Docs: README.md, docs/cli.md (the command line and this API), docs/language.md.
"""

from .decision import BasisRef, Decision, DecisionError
from .diagnostics import Diagnostic, PolicyError
from .policy import Policy, load, loads
from .impact import diff, impact

from .version import __version__

__all__ = [
    "BasisRef",
    "Decision",
    "DecisionError",
    "Diagnostic",
    "Policy",
    "PolicyError",
    "__version__",
    "diff",
    "impact",
    "load",
    "loads",
]
