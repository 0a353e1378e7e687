"""ecrules: export-control policy as code.

    policy = ecrules.load("policies/export_control.ecp")
    decision = policy.evaluate(record)          # -> Decision
    decision.outcome, decision.fired, decision.to_dict()
    for d in policy.evaluate_many(records): ...

A policy that does not load raises `PolicyError`, whose `diagnostics` list every problem found.
"""

from .decision import BasisRef, Decision, DecisionError
from .diagnostics import Diagnostic, PolicyError
from .policy import Policy, load, loads
from .impact import diff, impact

__version__ = "0.1.0"

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
