"""Law as data: instruments, bases per member, membership on the `as_of` date, what decisions
cite, and the `hold` outcome (issue 9, docs/language.md "Instruments and bases")."""

from __future__ import annotations

from pathlib import Path

import pytest

import ecrules
from ecrules.diagnostics import PolicyError
from ecrules.interpreter import Interpreter

INSTRUMENTS = """
instrument UNSCR_1718 {
  kind UNSC
  citation "S/RES/1718 (2006)"
  title "Non-proliferation/Democratic People's Republic of Korea"
  adopted 2006-10-14
  source "shared/DOMAIN.md"
  scope destination "KP"
}
instrument UNSCR_1970 {
  kind UNSC
  citation "S/RES/1970 (2011)"
  adopted 2011-02-26
  scope destination "LY"
}
instrument UNSCR_2428 {
  kind UNSC
  citation "S/RES/2428 (2018)"
  adopted 2018-07-13
  lapses 2026-05-31
  scope destination "SS"
}
instrument NSG_PART1 {
  kind REGIME
  citation "INFCIRC/254/Part 1"
  adopted 1978-01-01
  scope item
}
"""

SCHEMA = """
schema {
  record transaction {
    id: string
    date: date
    destination: country
    end_user: party
    items: list<item>
  }
  type party {
    country: country
    nationality: country?
  }
  type item {
    code: string
  }
}
"""

EMBARGO = """
set embargo: set<country> = {
  "KP" basis UNSCR_1718 "para. 8(a)",
  "LY" basis UNSCR_1970 "para. 9" from 2011-02-26,
  "SS" basis UNSCR_2428 "para. 4",
}
"""


def load(body: str, header: str = 'policy "law" version "1"\nas_of date\n', path: Path | None = None) -> ecrules.Policy:
    text = header + INSTRUMENTS + SCHEMA + body
    if path is not None:
        path.write_text(text)
        return ecrules.load(path)
    return ecrules.loads(text)


def rec(destination: str = "LY", date: str = "2026-03-01", codes: tuple[str, ...] = ("X",),
        end_user_country: str = "TH") -> dict:
    return {"id": "t1", "date": date, "destination": destination,
            "end_user": {"country": end_user_country}, "items": [{"code": c} for c in codes]}


def both(p: ecrules.Policy, record: dict) -> dict:
    """The compiled decision, after checking the interpreter gives the same one."""
    compiled = p.evaluate(record).to_dict()
    assert Interpreter(p.checked).decide(record).to_dict() == compiled
    return compiled


# ---- membership on the as_of date --------------------------------------------------------------


def test_a_member_whose_bases_lapsed_is_not_a_member() -> None:
    p = load(EMBARGO + "rule EMB deny { when destination in embargo }")
    assert both(p, rec("SS", "2026-05-30"))["outcome"] == "deny"
    assert both(p, rec("SS", "2026-05-31"))["outcome"] == "allow"  # `lapses` is exclusive
    assert both(p, rec("KP", "2030-01-01"))["outcome"] == "deny"  # no lapse: still a member


def test_a_member_is_not_a_member_before_its_basis_takes_effect() -> None:
    p = load(EMBARGO + "rule EMB deny { when destination in embargo }")
    assert both(p, rec("LY", "2011-02-25"))["outcome"] == "allow"
    assert both(p, rec("LY", "2011-02-26"))["outcome"] == "deny"
    assert both(p, rec("KP", "2006-10-13"))["outcome"] == "allow"  # the instrument is not yet adopted


def test_any_basis_in_force_keeps_a_member() -> None:
    p = load("""
set s: country = { "SO" basis UNSCR_2428 basis UNSCR_1718 from 2027-01-01 }
rule R deny { when destination in s }
""")
    assert both(p, rec("SO", "2026-01-01"))["outcome"] == "deny"  # via UNSCR_2428
    assert both(p, rec("SO", "2026-07-01"))["outcome"] == "allow"  # 2428 lapsed, 1718 not yet from
    assert both(p, rec("SO", "2027-01-01"))["outcome"] == "deny"


def test_members_without_bases_or_with_legacy_bases_always_count() -> None:
    p = load("""
set s: country = { "SO", "SS" basis UNSC "free text" until 2020-01-01, "LY" basis UNSCR_2428 }
rule R deny { when destination in s }
""")
    assert both(p, rec("SO", "1990-01-01"))["outcome"] == "deny"
    assert both(p, rec("SS", "2030-01-01"))["outcome"] == "deny"
    assert both(p, rec("LY", "2030-01-01"))["outcome"] == "allow"
    assert p.warnings and "free-text basis" in p.warnings[0].message


def test_set_level_basis_dates_bound_membership() -> None:
    p = load("""
set s: country = { "KP", "LY" } basis UNSCR_2428 "para. 1"
rule R deny { when destination in s }
""")
    assert both(p, rec("KP", "2026-01-01"))["outcome"] == "deny"
    assert both(p, rec("KP", "2026-06-01"))["outcome"] == "allow"


def test_quantifier_over_a_dated_set_sees_the_members_on_the_date() -> None:
    p = load(EMBARGO + 'rule R deny { when count(c in embargo) == 3 }')
    assert both(p, rec(date="2026-01-01"))["outcome"] == "deny"
    assert both(p, rec(date="2026-06-01"))["outcome"] == "allow"


# ---- what a decision cites ---------------------------------------------------------------------


def test_a_libya_denial_cites_the_libya_resolution_only() -> None:
    p = load(EMBARGO + 'rule EMB deny {\n  basis UNSC "Charter, Chapter VII"\n  when destination in embargo\n}')
    d = both(p, rec("LY"))
    assert d["outcome"] == "deny"
    assert d["basis"] == [
        {"rule": "EMB", "instrument": None, "kind": "UNSC", "citation": "Charter, Chapter VII", "pinpoint": None,
         "member": None},
        {"rule": "EMB", "instrument": "UNSCR_1970", "kind": "UNSC", "citation": "S/RES/1970 (2011)",
         "pinpoint": "para. 9", "member": "LY"},
    ]
    assert "1718" not in str(d)


def test_a_set_used_only_through_or_cites_no_member_for_a_non_member() -> None:
    p = load(EMBARGO + 'rule R deny { when destination in embargo or destination == "JP" }')
    d = both(p, rec("JP"))
    assert d["outcome"] == "deny" and d["basis"] == []


def test_an_allow_through_not_in_cites_nothing_from_the_set() -> None:
    p = load(EMBARGO + 'rule OK allow { basis UNSCR_1718 when destination not in embargo }')
    d = both(p, rec("DE"))
    assert [b["member"] for b in d["basis"]] == [None]


def test_members_are_cited_through_quantifiers_lets_and_each_position() -> None:
    p = load(EMBARGO + """
set nsg: string = { "0B001" basis NSG_PART1 "1.1", "0C001" basis NSG_PART1 "2.1" }
let embargoed_user = end_user.country in embargo
rule R deny {
  when any(i in items: i.code in nsg) and (destination in embargo or embargoed_user)
}
""")
    d = both(p, rec("KP", codes=("0B001", "Z", "0C001"), end_user_country="LY"))
    assert [(b["instrument"], b["pinpoint"], b["member"]) for b in d["basis"]] == [
        ("NSG_PART1", "1.1", "0B001"), ("NSG_PART1", "2.1", "0C001"),
        ("UNSCR_1718", "para. 8(a)", "KP"), ("UNSCR_1970", "para. 9", "LY"),
    ]


def test_a_rule_basis_out_of_force_is_not_cited() -> None:
    p = load('rule R deny {\n  basis UNSCR_2428 "para. 4"\n  when destination == "SS"\n}')
    assert both(p, rec("SS", "2026-01-01"))["basis"][0]["instrument"] == "UNSCR_2428"
    assert both(p, rec("SS", "2026-06-01"))["basis"] == []


def test_a_waived_rule_cites_nothing() -> None:
    p = load(EMBARGO + """
rule EMB deny { when destination in embargo }
rule EXEMPT allow { waives EMB when destination == "LY" }
""")
    d = both(p, rec("LY"))
    assert d["outcome"] == "allow" and d["basis"] == []


def test_first_match_cites_the_member_of_the_deciding_rule() -> None:
    p = load(EMBARGO + "rule A deny { when destination in embargo }\nrule B allow { when true }",
             header='policy "law" version "1"\nas_of date\ncombine first_match\n')
    assert both(p, rec("KP"))["basis"][0]["member"] == "KP"
    assert both(p, rec("DE"))["basis"] == []


# ---- list files with bases ---------------------------------------------------------------------


@pytest.mark.parametrize("name,text", [
    ("list.csv", "value,instrument,pinpoint,from,until\nKP,UNSCR_1718,para. 8,,\nSS,UNSCR_2428,para. 4,,2026-01-01\nFR,,,,\n"),
    ("list.jsonl", '{"value": "KP", "instrument": "UNSCR_1718", "pinpoint": "para. 8"}\n'
                   '{"value": "SS", "instrument": "UNSCR_2428", "pinpoint": "para. 4", "until": "2026-01-01"}\n'
                   '{"value": "FR"}\n'),
])
def test_tabular_list_files_carry_bases(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    p = load(f'set s: country = file "{name}"\nrule R deny {{ when destination in s }}', path=tmp_path / "p.ecp")
    assert both(p, rec("SS", "2025-12-31"))["basis"][0]["pinpoint"] == "para. 4"
    assert both(p, rec("SS", "2026-01-01"))["outcome"] == "allow"
    assert both(p, rec("FR", "1900-01-01"))["outcome"] == "deny"
    assert both(p, rec("KP"))["basis"] == [
        {"rule": "R", "instrument": "UNSCR_1718", "kind": "UNSC", "citation": "S/RES/1718 (2006)",
         "pinpoint": "para. 8", "member": "KP"}]


def test_a_list_file_with_an_unknown_instrument_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text("value,instrument\nKP,UNSCR_1719\n")
    with pytest.raises(PolicyError) as exc:
        load('set s: country = file "l.csv"\nrule R deny { when destination in s }', path=tmp_path / "p.ecp")
    text = str(exc.value)
    assert "l.csv:2:1: error: unknown instrument `UNSCR_1719`" in text and "did you mean `UNSCR_1718`?" in text


# ---- hold ------------------------------------------------------------------------------------------


HOLD = """
rule D deny { when destination == "KP" }
rule H hold {
  require "clear the end user"
  when end_user.country != destination
}
rule L license { when destination != "FR" }
"""


def test_hold_is_stronger_than_license_and_weaker_than_deny() -> None:
    p = load(HOLD)
    assert both(p, rec("KP", end_user_country="CN"))["outcome"] == "deny"
    d = both(p, rec("LY", end_user_country="CN"))
    assert d["outcome"] == "hold" and d["obligations"] == ["clear the end user"]
    assert both(p, rec("LY", end_user_country="LY"))["outcome"] == "license"


def test_hold_as_default_in_tests_and_constraints() -> None:
    p = load("""
default hold
rule A allow { when destination == "FR" }
test "unknown destinations stop for review" { given { id: "a", date: 2026-01-01, destination: "DE", end_user: { country: "DE" }, items: [] } expect hold }
constraint no_hold_for_france { never hold when destination == "FR" }
""")
    assert both(p, rec("DE"))["outcome"] == "hold"
    from ecrules.policytests import run_tests

    results = run_tests(p)
    assert results and all(r.passed for r in results)
