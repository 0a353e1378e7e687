"""`explain` reaches the evaluator's decision: its own outcome and fired rules equal `evaluate`'s.

`explain` walks the rules with the interpreter and combines its matches by
`semantics.combining`; the evaluator runs compiled code and `combine.Combiner`. On every
generated record of every bundled policy (and of small policies with faults, waivers and
`first_match`), `fired` and the outcome must be identical.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ecrules
from ecrules.testing import records

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted(ROOT.glob("policies/**/*.ecp"))

SMALL = {
    "faults": """
policy "faults" version "1"
schema {
  record r {
    id: string
    a: number
    b: number
  }
}
rule BIG deny { when a > 10 }
rule RATIO license { when a / b > 2 }
rule LATE hold { when b < 0 }
""",
    "first_match": """
policy "first" version "1"
combine first_match
default deny
as_of day
schema {
  record r {
    id: string
    dest: country
    value: number
    day: date
  }
}
rule OK allow {
  effective 2026-01-01
  expires 2026-07-01
  when value < 100
}
rule EU license { when dest in {"FR", "DE"} }
rule LOW hold { when value < 1000 }
""",
    "waivers": """
policy "waivers" version "1"
as_of day
schema {
  record r {
    id: string
    dest: country
    value: number
    day: date
  }
}
rule EMB deny { when dest in {"KP", "IR"} }
rule HUM allow {
  waives EMB
  expires 2026-06-01
  when value < 50
}
rule BIG license {
  require "licence"
  when value > 500
}
rule BIGGER license {
  require "report"
  waives BIG
  when value > 5000
}
rule SMALL allow {
  require "log"
  when value < 500
}
""",
}


def _policies() -> list[tuple[str, ecrules.Policy]]:
    out = [(str(p.relative_to(ROOT)), ecrules.load(p)) for p in BUNDLED]
    out += [(name, ecrules.loads(text)) for name, text in SMALL.items()]
    return [(name, p) for name, p in out if p.checked.record is not None]


POLICIES = _policies()


def test_the_bundled_policies_are_all_here() -> None:
    assert len(BUNDLED) >= 10
    assert {"policies/export_control.ecp", "faults", "first_match", "waivers"} <= {name for name, _ in POLICIES}


@pytest.mark.parametrize("policy", [p for _, p in POLICIES], ids=[name for name, _ in POLICIES])
@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_explain_fires_what_evaluate_fires(policy: ecrules.Policy, data: st.DataObject) -> None:
    record: dict[str, Any] = data.draw(records(policy))
    decision = policy.evaluate(record)
    explanation = policy.explain(record)
    assert explanation.decision == decision
    assert explanation.fired == decision.fired
    assert explanation.outcome == decision.outcome
    matched = tuple(r.rule for r in explanation.rules if r.matched)
    if decision.outcome != "error":
        assert matched == decision.fired  # the reports show exactly the rules that fired


def test_a_fault_stops_explain_as_it_stops_the_evaluator() -> None:
    policy = ecrules.loads(SMALL["faults"])
    record = {"id": "x", "a": 11, "b": 0}
    ex = policy.explain(record)
    assert ex.decision.outcome == "error" and ex.outcome == "error" and ex.fired == ()
    assert [r.rule for r in ex.rules] == ["BIG", "RATIO"]  # LATE is never decided
    assert ex.rules[0].matched and ex.rules[1].reason.startswith("fault: ")


def test_waivers_and_windows_in_explain() -> None:
    policy = ecrules.loads(SMALL["waivers"])
    ex = policy.explain({"id": "x", "dest": "KP", "value": 10, "day": "2026-05-31"})
    assert ex.outcome == "allow" and ex.fired == ("EMB", "HUM", "SMALL")
    assert dict((r.rule, r.waived_by) for r in ex.rules)["EMB"] == ("HUM",)
    ex = policy.explain({"id": "x", "dest": "KP", "value": 10, "day": "2026-06-01"})  # expires is exclusive
    assert ex.outcome == "deny" and ex.fired == ("EMB", "SMALL")
    ex = policy.explain({"id": "x", "dest": "FR", "value": 6000, "day": "2026-06-01"})
    assert ex.outcome == "license" and ex.decision.obligations == ("report",)
