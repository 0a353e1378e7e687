"""verify on the constructs of issue 9: membership on the `as_of` date (member bases), the `hold`
outcome, and justified facts with dates. Every verdict is checked against the evaluator."""

from __future__ import annotations

import ecrules
from ecrules.verify import verify_policy

POLICY = """
policy "law-verify" version "1"
as_of date
instrument UNSCR_1718 {
  kind UNSC
  citation "S/RES/1718 (2006)"
  adopted 2006-10-14
  scope destination "KP"
}
instrument UNSCR_2428 {
  kind UNSC
  citation "S/RES/2428 (2018)"
  adopted 2018-07-13
  lapses 2026-05-31
  scope destination "SS"
}
instrument ECL_12 {
  kind LAW
  citation "Export Control Law, art. 12"
  adopted 2020-10-17
  scope end_use
}
schema {
  record transaction { id: string  date: date  destination: country  end_use: enum { civilian, military, unknown }
                       items: list<item> }
  type item { code: string }
}
set embargo: set<country> = {
  "KP" basis UNSCR_1718 "para. 8(a)",
  "SS" basis UNSCR_2428 "para. 4",
}
rule EMB deny {
  when destination in embargo and any(i in items: i.code like "ML*")
}
rule REVIEW hold {
  basis ECL_12 "para. 3"
  require "a person clears the end use"
  when end_use == "unknown"
}
constraint nondiscrimination {
  protect destination
  unless basis UNSC
}
# South Sudan's embargo lapses on 2026-05-31 (S/RES/2428 as renewed): membership ends by itself
constraint ss_lapses {
  never deny when destination == "SS" and date >= 2026-05-31
}
constraint ss_before {
  always deny when destination == "SS" and date >= 2018-07-13 and date < 2026-05-31
    and any(i in items: i.code like "ML*")
}
constraint unknown_end_use_held {
  always hold when end_use == "unknown" and not (destination in embargo)
}
constraint never_held_when_civilian {
  never hold when end_use == "civilian"
}
constraint broken_hold {
  never hold when destination == "FR"
}
"""


def test_dated_membership_and_hold() -> None:
    policy = ecrules.loads(POLICY)
    report = verify_policy(policy, timeout=20)
    got = {v.constraint: v.status for v in report.verdicts}
    assert got == {"nondiscrimination": "proved", "ss_lapses": "proved", "ss_before": "proved",
                   "unknown_end_use_held": "proved", "never_held_when_civilian": "proved",
                   "broken_hold": "violated"}, {v.constraint: (v.status, v.reason) for v in report.verdicts}
    broken = next(v for v in report.verdicts if v.constraint == "broken_hold")
    assert broken.witness is not None
    d = policy.evaluate(broken.witness)
    assert d.outcome == "hold" and broken.witness["destination"] == "FR"


def test_a_rule_denying_a_lapsed_member_by_name_is_violated() -> None:
    """Naming "SS" in a rule is justified only while S/RES/2428 is in force; after it lapses,
    denying South Sudan singles it out without a basis (and the witness is dated after)."""
    policy = ecrules.loads(POLICY.replace(
        "rule REVIEW hold {", 'rule SS_FOREVER deny {\n  when destination == "SS"\n}\nrule REVIEW hold {'))
    report = verify_policy(policy, timeout=20, warnings=False)
    nd = next(v for v in report.verdicts if v.constraint == "nondiscrimination")
    assert nd.status == "violated"
    bad = next(r for r in nd.rules if r["rule"] == "SS_FOREVER")
    a, b = bad["witness"]
    day = str(a["date"])
    assert day >= "2026-05-31" or day < "2018-07-13", day
    assert ("SS_FOREVER" in policy.evaluate(a).fired) != ("SS_FOREVER" in policy.evaluate(b).fired)
