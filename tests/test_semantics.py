"""The meaning of the language, corner by corner (LANGUAGE.md, "Meaning" and "Fine points")."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

import ecrules

SCHEMA = """
schema {
  record transaction {
    id: string
    date: date
    destination: country
    end_user: party
    end_use: enum { civilian, military, wmd, "re-export" }
    items: list<item>
    total_value: number
    tags: set<string>?
    note: string?
  }
  type party {
    name: string
    country: country
    type: enum { government, commercial }
    nationality: country?
  }
  type item {
    code: string
    value: number
    quantity: int
    origin: country?
  }
}
"""


def policy(body: str, header: str = 'policy "p" version "1"\nas_of date\n') -> ecrules.Policy:
    return ecrules.loads(header + SCHEMA + body)


def record(**overrides: object) -> dict:
    base: dict = {
        "id": "t1",
        "date": "2026-03-01",
        "destination": "TH",
        "end_user": {"name": "Acme Trading", "country": "TH", "type": "commercial"},
        "end_use": "civilian",
        "items": [{"code": "3A001", "value": 100, "quantity": 1}],
        "total_value": 100,
    }
    base.update(overrides)
    return base


def outcome(p: ecrules.Policy, **overrides: object) -> str:
    return p.evaluate(record(**overrides)).outcome


# ---- numbers -------------------------------------------------------------------------------


def test_decimal_sums_are_exact_at_the_threshold() -> None:
    p = policy('rule R deny { when sum(i in items: i.value) == 5000 }')
    items = [{"code": "A", "value": v, "quantity": 1} for v in (4999.80, 0.10, 0.10)]
    assert outcome(p, items=items) == "deny"
    assert outcome(p, items=items[:2]) == "allow"


def test_a_float_is_the_decimal_it_prints_as() -> None:
    p = policy('rule R deny { when total_value == 0.3 }')
    assert outcome(p, total_value=0.3) == "deny"
    assert outcome(p, total_value=Decimal("0.30")) == "deny"
    assert outcome(p, total_value=0.1 + 0.2) == "allow"  # 0.30000000000000004


def test_division_rounds_to_18_places_half_even() -> None:
    p = policy('rule R deny { when total_value / 3 == 0.333333333333333333 }')
    assert outcome(p, total_value=1) == "deny"
    q = policy('rule R deny { when total_value / 4 == 0.25 }')
    assert outcome(q, total_value=1) == "deny"


def test_division_by_zero_is_an_error_naming_the_rule() -> None:
    p = policy('rule OK allow { when true }\nrule R deny { when total_value / len(items) > 1 }')
    d = p.evaluate(record(items=[]))
    assert d.outcome == "error"
    assert d.error is not None and d.error.rule == "R"
    assert "division by zero" in d.error.message and "<string>:" in d.error.message


def test_first_faulting_rule_in_source_order_is_named() -> None:
    p = policy('rule A deny { when 1 / len(items) > 0 }\nrule B deny { when 2 / len(items) > 0 }')
    assert p.evaluate(record(items=[])).error.rule == "A"  # type: ignore[union-attr]


def test_and_stops_early_so_the_unevaluated_side_cannot_fault() -> None:
    p = policy('rule R deny { when len(items) > 0 and total_value / len(items) > 50 }')
    assert outcome(p, items=[]) == "allow"


def test_int_fields_refuse_fractions_and_strings() -> None:
    p = policy("rule R deny { when false }")
    for bad in (2.0, "2", True):
        d = p.evaluate(record(items=[{"code": "A", "value": 1, "quantity": bad}]))
        assert d.outcome == "error" and d.error.field == "items[0].quantity", bad  # type: ignore[union-attr]


def test_a_string_is_never_a_number() -> None:
    d = policy("rule R deny { when false }").evaluate(record(total_value="100"))
    assert d.outcome == "error" and d.error.field == "total_value"  # type: ignore[union-attr]
    assert "string" in d.error.message  # type: ignore[union-attr]


# ---- text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("ML*", "ML4", True),
        ("ML*", "XML4", False),
        ("[0-9][A-E][0-9][0-9][0-9]", "3A001", True),
        ("[0-9][A-E][0-9][0-9][0-9]", "3A0011", False),
        ("[!0-9]*", "A1", True),
        ("[!0-9]*", "1A", False),
        ("ML?", "ML?", True),
        ("ML?", "ML1", False),
        (r"ML\\*", "ML*", True),
        (r"ML\\*", "ML1", False),
        (r"ML\*", "ML*", True),
    ],
)
def test_like(pattern: str, text: str, expected: bool) -> None:
    p = policy(f'rule R deny {{ when any(i in items: i.code like "{pattern}") }}')
    got = outcome(p, items=[{"code": text, "value": 1, "quantity": 1}])
    assert got == ("deny" if expected else "allow")


def test_like_over_a_constant_set_of_prefixes() -> None:
    p = policy('set prefixes: string = { "0A*", "1C35*" }\n'
               'rule R deny { when any(i in items: any(p in prefixes: i.code like p)) }')
    assert outcome(p, items=[{"code": "1C350", "value": 1, "quantity": 1}]) == "deny"
    assert outcome(p, items=[{"code": "1C360", "value": 1, "quantity": 1}]) == "allow"


def test_normalize_folds_case_width_and_whitespace() -> None:
    p = policy('set denied: string = { "korea ryonbong general corporation" }\n'
               'rule R deny { when normalize(end_user.name) in denied }')
    for name in ("KOREA  RYONBONG\nGeneral Corporation ", "ＫＯＲＥＡ Ryonbong General Corporation"):
        assert outcome(p, end_user={"name": name, "country": "KP", "type": "commercial"}) == "deny"


def test_upper_uses_full_case_mapping() -> None:
    p = policy('rule R deny { when upper(end_user.name) == "STRASSE" }')
    assert outcome(p, end_user={"name": "straße", "country": "DE", "type": "commercial"}) == "deny"


# ---- combining -----------------------------------------------------------------------------


WAIVERS = """
rule LIC license { require "end-user certificate" basis ECL "art. 12" when total_value > 1000 }
rule LVS allow { waives LIC basis EAR "15 CFR 740.3" when total_value <= 5000 }
rule EMB deny { basis UNSC "S/RES/1718 (2006)" when destination == "KP" }
"""


def test_a_waived_rule_fires_but_does_not_count() -> None:
    d = policy(WAIVERS).evaluate(record(total_value=2000, items=[{"code": "A", "value": 2000, "quantity": 1}]))
    assert d.outcome == "allow"
    assert d.fired == ("LIC", "LVS")
    assert d.obligations == ()
    assert [b.rule for b in d.basis] == ["LVS"]


def test_deny_overrides_and_obligations_come_from_the_outcome() -> None:
    d = policy(WAIVERS).evaluate(record(total_value=9000, destination="KP",
                                        items=[{"code": "A", "value": 9000, "quantity": 1}]))
    assert d.outcome == "deny"
    assert d.fired == ("LIC", "EMB")
    assert d.obligations == ()
    d2 = policy(WAIVERS).evaluate(record(total_value=9000, items=[{"code": "A", "value": 9000, "quantity": 1}]))
    assert d2.outcome == "license" and d2.obligations == ("end-user certificate",)


def test_a_waived_rules_own_waivers_still_apply() -> None:
    p = policy("""
      rule A deny { when true }
      rule B allow { waives A when true }
      rule C allow { waives B when true }
    """)
    d = p.evaluate(record())
    assert d.outcome == "allow" and d.fired == ("A", "B", "C")


def test_first_match_stops_at_the_first_matching_rule() -> None:
    p = ecrules.loads('policy "p" combine first_match default deny\n' + SCHEMA + """
      rule ALLOW_TH allow { when destination == "TH" }
      rule FAULTY deny { when total_value / 0 > 1 }
    """)
    assert p.evaluate(record()).fired == ("ALLOW_TH",)
    assert p.evaluate(record(destination="VN")).outcome == "error"


def test_default_applies_when_nothing_matches() -> None:
    p = ecrules.loads('policy "p" default license\n' + SCHEMA + 'rule R deny { when false }')
    d = p.evaluate(record())
    assert (d.outcome, d.fired) == ("license", ())


def test_validity_dates_bound_the_rule() -> None:
    p = policy('rule R deny { effective 2026-01-01 expires 2027-01-01 when true }')
    assert outcome(p, date="2025-12-31") == "allow"
    assert outcome(p, date="2026-01-01") == "deny"
    assert outcome(p, date="2026-12-31") == "deny"
    assert outcome(p, date="2027-01-01") == "allow"


def test_basis_lapses_on_its_until_date() -> None:
    p = policy('set emb: country = { "SO" } basis UNSC "S/RES/733 (1992)" until 2023-12-01\n'
               'rule R deny { basis ECL "art. 10" when destination in emb }')
    before = p.evaluate(record(destination="SO", date="2023-11-30"))
    after = p.evaluate(record(destination="SO", date="2023-12-01"))
    assert [b.kind for b in before.basis] == ["ECL", "UNSC"]
    assert [b.kind for b in after.basis] == ["ECL"]


def test_basis_inherited_through_a_let() -> None:
    p = policy('set emb: country = { "KP" } basis UNSC "S/RES/1718 (2006)"\n'
               'let embargoed = destination in emb\n'
               'rule R deny { when embargoed }')
    assert [(b.rule, b.kind) for b in p.evaluate(record(destination="KP")).basis] == [("R", "UNSC")]


def test_lets_are_computed_only_when_read() -> None:
    p = policy('let ratio = total_value / len(items)\n'
               'rule R deny { when len(items) > 0 and ratio > 10 }')
    assert outcome(p, items=[]) == "allow"
    assert outcome(p, total_value=100) == "deny"


# ---- optional fields, sets, quantifiers -----------------------------------------------------


def test_guarded_optional_fields() -> None:
    p = policy('rule R deny { when has note and note == "x" }\n'
               'rule S license { when not has end_user.nationality or end_user.nationality == "KP" }')
    assert outcome(p) == "license"
    assert outcome(p, note="x") == "deny"
    assert outcome(p, note=None) == "license"
    eu = {"name": "A", "country": "TH", "type": "commercial", "nationality": "TH"}
    assert outcome(p, end_user=eu) == "allow"


def test_has_through_a_list_variable() -> None:
    p = policy('rule R deny { when any(i in items: has i.origin and i.origin == destination) }')
    assert outcome(p, items=[{"code": "A", "value": 1, "quantity": 1}]) == "allow"
    assert outcome(p, items=[{"code": "A", "value": 1, "quantity": 1, "origin": "TH"}]) == "deny"


def test_set_fields_drop_duplicates() -> None:
    p = policy('rule R deny { when has tags and len(tags) == 2 }')
    assert outcome(p, tags=["a", "b", "a"]) == "deny"


def test_quantifiers() -> None:
    p = policy("""
      rule ANY deny { when any(i in items where i.value > 10: i.code == "B") }
      rule ALL license { when all(i in items: i.quantity >= 1) and count(i in items) == 3 }
      rule CNT license { when count(i in items where i.value > 10) == 2 }
      rule SUM license { when sum(i in items where i.code != "A": i.value) == 25 }
    """)
    items = [{"code": "A", "value": 5, "quantity": 1}, {"code": "B", "value": 11, "quantity": 1},
             {"code": "C", "value": 14, "quantity": 2}]
    assert p.evaluate(record(items=items)).fired == ("ANY", "ALL", "CNT", "SUM")
    assert p.evaluate(record(items=[])).fired == ()


def test_days_between() -> None:
    p = policy('rule R deny { when days_between(2026-01-01, date) == 59 }')
    assert outcome(p, date="2026-03-01") == "deny"


def test_enum_string_members() -> None:
    p = policy('rule R deny { when end_use == "re-export" }')
    assert outcome(p, end_use="re-export") == "deny"


# ---- records -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"destination": None}, "destination"),
        ({"destination": "XX9"}, "destination"),
        ({"destination": "kp"}, "destination"),
        ({"end_use": "wmd2"}, "end_use"),
        ({"date": "2026-02-30"}, "date"),
        ({"date": "01/03/2026"}, "date"),
        ({"items": "none"}, "items"),
        ({"items": [{"code": "A", "value": 1, "quantity": 1}, {"code": "A", "quantity": 1}]}, "items[1].value"),
        ({"items": [None]}, "items[0]"),
        ({"end_user": {"name": "A", "country": "TH"}}, "end_user.type"),
        ({"end_user": "Acme"}, "end_user"),
        ({"note": 5}, "note"),
    ],
)
def test_record_errors_name_the_field(change: dict, field: str) -> None:
    d = policy("rule R allow { when true }").evaluate(record(**change))
    assert d.outcome == "error"
    assert d.error is not None and d.error.field == field
    assert d.fired == ()


def test_a_missing_field_is_an_error() -> None:
    rec = record()
    del rec["end_use"]
    d = policy("rule R allow { when true }").evaluate(rec)
    assert d.outcome == "error" and d.error.field == "end_use"  # type: ignore[union-attr]


def test_only_the_first_error_in_schema_order_is_reported() -> None:
    d = policy("rule R allow { when true }").evaluate(record(destination="ZZ", end_use="bad"))
    assert d.error.field == "destination"  # type: ignore[union-attr]


def test_invariants_name_the_failing_element() -> None:
    p = policy("""
      invariant on total_value "must be the sum of the item values" { total_value == sum(i in items: i.value) }
      invariant on items.value "must not be negative" { all(i in items: i.value >= 0) }
      invariant "needs items" { len(items) > 0 }
      rule R allow { when true }
    """)
    assert p.evaluate(record(total_value=5)).error.field == "total_value"  # type: ignore[union-attr]
    items = [{"code": "A", "value": 1, "quantity": 1}, {"code": "B", "value": -1, "quantity": 1}]
    d = p.evaluate(record(items=items, total_value=0))
    assert (d.error.field, d.error.message) == ("items[1].value", "must not be negative")  # type: ignore[union-attr]
    d = p.evaluate(record(items=[], total_value=0))
    assert d.outcome == "error" and d.error.field is None  # type: ignore[union-attr]


def test_unknown_extra_fields_are_ignored() -> None:
    assert policy("rule R deny { when true }").evaluate(record(surprise={"x": 1})).outcome == "deny"


def test_id_is_the_position_when_the_schema_has_none() -> None:
    p = ecrules.loads('schema { record r { x: int } }\nrule R deny { when x > 1 }')
    ds = list(p.evaluate_many([{"x": 1}, {"x": 2}, {"x": "bad"}]))
    assert [d.id for d in ds] == [1, 2, 3]
    assert [d.outcome for d in ds] == ["allow", "deny", "error"]


def test_decision_json_shape() -> None:
    # basis lists every fired rule that counts (not only those sharing the outcome)
    d = policy(WAIVERS).evaluate(record(destination="KP"))
    assert d.to_dict() == {
        "id": "t1", "outcome": "deny", "fired": ["LVS", "EMB"], "obligations": [],
        "basis": [{"rule": "LVS", "instrument": None, "kind": "EAR", "citation": "15 CFR 740.3", "pinpoint": None,
                   "member": None},
                  {"rule": "EMB", "instrument": None, "kind": "UNSC", "citation": "S/RES/1718 (2006)",
                   "pinpoint": None, "member": None}],
        "policy": "p", "version": "1",
    }


def test_evaluate_many_equals_evaluate() -> None:
    p = policy(WAIVERS)
    recs = [record(id=f"t{k}", total_value=k * 700, destination=("KP" if k % 3 == 0 else "TH")) for k in range(20)]
    assert list(p.evaluate_many(recs)) == [p.evaluate(r, position=k) for k, r in enumerate(recs, 1)]


def test_a_policy_is_safe_to_share_between_threads() -> None:
    p = policy(WAIVERS + 'rule N deny { when normalize(end_user.name) == "acme trading" and total_value > 100 }')
    recs = [record(id=f"t{k}", total_value=k * 37, destination=("KP" if k % 5 == 0 else "TH")) for k in range(400)]
    expected = [p.evaluate(r) for r in recs]
    results: dict[int, list] = {}

    def work(n: int) -> None:
        results[n] = [p.evaluate(r) for r in recs]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(results[n] == expected for n in range(8))


def test_a_policy_is_immutable() -> None:
    p = policy("rule R deny { when true }")
    with pytest.raises(AttributeError):
        p.warnings = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        p._decide = None  # type: ignore[misc,assignment]


def test_policies_load_concurrently() -> None:
    texts = [f'policy "p{k}" version "1"\n' + SCHEMA + f"rule R{k} deny {{ when total_value > {k} }}" for k in range(12)]
    loaded: dict[int, ecrules.Policy] = {}

    def work(k: int) -> None:
        loaded[k] = ecrules.loads(texts[k])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert [loaded[k].name for k in range(12)] == [f"p{k}" for k in range(12)]
    assert [loaded[k].rules[0].id for k in range(12)] == [f"R{k}" for k in range(12)]


def test_an_invariant_may_read_a_let() -> None:
    p = ecrules.loads("schema { record r { items: list<int> total: int } }\n"
                      "let s = sum(x in items: x)\n"
                      'invariant on total "must be the sum" { total == s }\n'
                      "rule BIG deny { when s > 10 }")
    assert p.evaluate({"items": [1, 2], "total": 3}).outcome == "allow"
    assert p.evaluate({"items": [6, 7], "total": 13}).outcome == "deny"
    assert p.evaluate({"items": [1, 2], "total": 4}).error.field == "total"  # type: ignore[union-attr]


def test_like_over_a_constant_set_literal() -> None:
    p = policy('const prefixes = { "ML*", "1C35*" }\n'
               "rule R deny { when any(i in items: any(p in prefixes: i.code like p)) }")
    assert outcome(p, items=[{"code": "ML4", "value": 1, "quantity": 1}]) == "deny"
    assert outcome(p, items=[{"code": "3A001", "value": 1, "quantity": 1}]) == "allow"


def test_an_absent_optional_id_falls_back_to_the_position() -> None:
    p = ecrules.loads("schema { record r { id: string? x: int } }\nrule R deny { when x > 1 }")
    assert [d.id for d in p.evaluate_many([{"x": 2}, {"id": "b", "x": 2}])] == [1, "b"]


def test_sets_of_records_in_records() -> None:
    from ecrules.explain import explain

    p = ecrules.loads("schema { record r { id: string parts: set<part> } type part { code: string } }\n"
                      'rule R deny { when count(x in parts) == 1 and any(x in parts: x.code == "ML1") }')
    rec = {"id": "a", "parts": [{"code": "ML1"}, {"code": "ML1"}]}
    assert p.evaluate(rec).outcome == "deny"  # duplicates dropped
    assert explain(p, rec).decision.outcome == "deny"


def test_normalize_collapses_unicode_white_space_only() -> None:
    from ecrules.values import normalize

    assert normalize("\u3000Korea\u00a0 Mining\u2003\n") == "korea mining"
    assert normalize("a\x1fb") == "a\x1fb"  # U+001F is a separator, not White_Space


def test_a_boolean_is_not_a_number() -> None:
    d = policy("rule R deny { when false }").evaluate(record(total_value=True))
    assert d.error is not None and d.error.field == "total_value" and "true or false" in d.error.message
