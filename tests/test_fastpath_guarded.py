"""The guarded fast path (fastpath.py) changes no decision: against the interpreter, on float,
int and decimal amounts (0.1 + 0.2 style, huge, NaN, infinities, more places than it keeps),
prefix sets, class-prefix `like` patterns, memoized `like` patterns, broken records.

Each policy here is inside the fast path's subset (a test checks `decide_fast` is generated), so
every record goes through it first; the ones it cannot decide fall back to the general `decide`.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ecrules
from ecrules import values as v
from ecrules.compiler import _class_prefixes
from ecrules.fastpath import LikeMemo, Refuse, scaled
from ecrules.interpreter import Interpreter

SCHEMA = r'''
schema {
  record shipment {
    id: string
    date: date
    code: string
    destination: country
    total: number
    fee: number?
    party: party
    items: list<item>
    tags: list<string>
  }
  type party {
    name: string
    credit: number
    kind: enum { gov, firm }
  }
  type item {
    code: string
    kind: enum { goods, technology }
    value: number
    quantity: int
    note: string?
  }
}
'''

RULES = r'''
const limit = 1500.125
const small = 3
set embargoed: country = { "KP", "LY" }
  basis UNSC "S/RES/1718 (2006)"
set prefixes: string = { "ML", "3A", "" }

rule P1 license { when any(i in items: i.code like "3[A-E]*") }
rule P2 license { when count(i in items where i.code like "[0-9][A-E][0-9]*") >= 2 }
rule P3 deny { when sum(i in items where i.kind == "goods": i.value) > limit }
rule P4 license { when total - party.credit >= 100 and destination in embargoed }
rule P5 allow { when all(i in items: i.quantity * 2 <= 100) and -total < 0.5 }
rule P6 license { when sum(i in items: i.value * i.quantity) > 10000 }
rule P7 deny { when has fee and fee > total + small }
rule P8 license { when len(items) >= 3 and any(t in tags: t like "X*") }
rule P9 license { when code like "[!0-9]*" or any(p in prefixes: starts_with(code, p)) and total > 10 }
rule P10 license { when any(i in items: has i.note and i.note like "*re-export*KP*") }
rule P11 deny { when count(i in items) > small and party.kind == "firm" and date >= 2026-01-01 }
rule P12 allow { when sum(i in items: i.quantity) >= 150 and 2 * total <= party.credit }
let goods_value = sum(i in items where i.kind == "goods": i.value)
let margin = goods_value - party.credit
rule P13 license { when goods_value > limit - 1 and margin * 2 >= total }
set controlled: string = { "ML1", "3A001", "" }
rule P14 license {
  when any(i in items: i.code in controlled or any(p in prefixes: starts_with(i.code, p)) and i.quantity > 50)
}
rule P15 deny { when count(i in items where lower(i.code) like "ml*" and not starts_with(i.code, "3")) >= 2 }

invariant on total "must be the sum of the item values" {
  total == sum(i in items: i.value)
}
invariant on items.quantity "must not be negative" {
  all(i in items: i.quantity >= 0)
}
'''

HEAD = 'policy "guarded" version "1"\ncombine {combine}\ndefault allow\nas_of date\n'
DENY = ecrules.loads(HEAD.format(combine="deny_overrides") + SCHEMA + RULES)
FIRST = ecrules.loads(HEAD.format(combine="first_match") + SCHEMA + RULES)
ENGINES = [(DENY, Interpreter(DENY.checked)), (FIRST, Interpreter(FIRST.checked))]

CODES = st.one_of(st.sampled_from(["ML1", "3A001", "3F", "5A002", "9E", "UNCONTROLLED", "", "X1", "3", "q"]),
                  st.text(alphabet="3AEFM0L9X*", max_size=5))
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(places=2, min_value=-10**6, max_value=10**6, allow_nan=False).map(float),
    st.decimals(places=3, min_value=-10**4, max_value=10**4, allow_nan=False).map(float),
    st.sampled_from([0.1, 0.2, 0.1 + 0.2, 0.30000000000000004, 1500.125, 1500.1251, 1e-7, 5000.0, -0.0,
                     1e12, 9.99999999999e11, 1e15, 1e22, 2.5e-7, 1e308, 5e-324, 0.001, 1500.12500000001]),
)
NUMBERS = st.one_of(FLOATS, st.integers(-10**6, 10**6), st.integers(-10**30, 10**30),
                    st.decimals(places=4, min_value=-10**5, max_value=10**5, allow_nan=False),
                    st.sampled_from([Decimal("1E+999"), Decimal("1E-999"), Decimal("0.0001"), Decimal("-0"),
                                     Decimal("1E+1001"), Decimal("1E-1001"), Decimal("NaN"), Decimal("sNaN"),
                                     Decimal("-Infinity"), Decimal("12.50"), Decimal("1.5E+3")]))
MONEY = st.one_of(st.decimals(places=2, min_value=-10**4, max_value=10**5, allow_nan=False).map(float),
                  st.decimals(places=3, min_value=0, max_value=2000, allow_nan=False).map(float),
                  st.integers(0, 2000))
#: mostly what the fast path keeps (it decides those itself), the rest what it hands on
AMOUNTS = st.integers(0, 19).flatmap(lambda k: NUMBERS if k == 0 else MONEY)
BROKEN = st.sampled_from([None, "1", [None], [{"code": "ML1"}], 2.5, True, {"a": 1}, float("nan"), ()])


def _exact(x: Any) -> Decimal | None:
    if isinstance(x, float):
        return Decimal(repr(x)) if math.isfinite(x) else None
    if isinstance(x, bool) or not isinstance(x, (int, Decimal)) or isinstance(x, Decimal) and not x.is_finite():
        return None
    return Decimal(x)


@st.composite
def shipments(draw: st.DrawFn) -> dict[str, Any]:
    items = draw(st.lists(st.fixed_dictionaries(
        {"code": CODES, "kind": st.sampled_from(["goods", "technology"]), "value": AMOUNTS,
         "quantity": st.integers(-2, 60)},
        optional={"note": st.sampled_from(["a re-export to KP", "KP re-export", None, "x"])}), max_size=5))
    values = [_exact(i["value"]) for i in items]
    total: Any
    if draw(st.integers(0, 3)) and None not in values:  # mostly consistent with the invariant
        exact = sum(values, Decimal(0))  # type: ignore[arg-type]
        total = draw(st.sampled_from([float(exact), exact, float(exact) + 0.0]))
    else:
        total = draw(AMOUNTS)
    record: dict[str, Any] = {
        "id": "s", "date": draw(st.sampled_from(["2025-12-31", "2026-01-01", "2027-02-03"])),
        "code": draw(CODES), "destination": draw(st.sampled_from(["KP", "LY", "DE", "FR"])),
        "total": total, "party": {"name": "n", "credit": draw(AMOUNTS), "kind": draw(st.sampled_from(["gov", "firm"]))},
        "items": items, "tags": draw(st.lists(st.sampled_from(["X1", "Y", "x"]), max_size=3)),
    }
    if draw(st.booleans()):
        record["fee"] = draw(st.one_of(st.none(), AMOUNTS))
    if draw(st.integers(0, 7)) == 0:  # a broken field, item or nested value
        where = draw(st.sampled_from(["items", "total", "code", "party", "date", "fee", "tags"]))
        record[where] = draw(BROKEN)
    if draw(st.integers(0, 11)) == 0:  # a missing field, of the record or of the party
        if draw(st.booleans()):
            del record[draw(st.sampled_from(["id", "date", "total", "party", "items", "tags"]))]
        elif isinstance(record.get("party"), dict):
            del record["party"][draw(st.sampled_from(["name", "credit", "kind"]))]
    if draw(st.integers(0, 9)) == 0 and items:
        items[0][draw(st.sampled_from(["code", "kind", "value", "quantity", "note"]))] = draw(BROKEN)
    return record


def test_these_policies_get_the_fast_path() -> None:
    for policy, _ in ENGINES:
        src = policy.generated_source
        assert "def decide_fast(rec, pos):" in src
        assert "round(" in src and " * 1000)" in src  # floats as integers scaled by 10**3 (limit has 3 places)
        assert ".startswith(C" in src  # `3[A-E]*` as a prefix tuple
        assert re.search(r"LM\d+\[", src)  # `[!0-9]*` by its memo
        assert re.search(r"B\d+ = PM\d+\[", src)  # the tests of an item's code, once per distinct code


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shipments())
def test_fast_path_decides_as_the_interpreter(record: dict[str, Any]) -> None:
    for policy, interp in ENGINES:
        assert policy.evaluate(record) == interp.decide(record)


def test_float_corners_decide_as_their_decimals() -> None:
    base = {"id": "f", "date": "2026-02-02", "code": "Q", "destination": "DE",
            "party": {"name": "n", "credit": 0.3, "kind": "gov"}, "tags": []}
    items = [{"code": "3A1", "kind": "goods", "value": 0.1, "quantity": 1},
             {"code": "3B1", "kind": "goods", "value": 0.2, "quantity": 1}]
    for total, ok in ((0.3, True), (0.1 + 0.2, False), (float("nan"), False), (float("inf"), False),
                      (Decimal("0.3"), True), (Decimal("0.30"), True), ("0.3", False), (True, False)):
        record = {**base, "items": items, "total": total}
        for policy, interp in ENGINES:
            d = policy.evaluate(record)
            assert d == interp.decide(record)
            assert (d.outcome != "error") == ok, (total, d)
            if not ok:
                assert d.error is not None and d.error.field == "total"
    # the threshold exactly, just above it in the fourth place (beyond the kept places: decided
    # by the general path), and a sum that is above it only exactly
    for value, count, fires in ((1500.125, 1, False), (1500.1251, 1, True), (1500.126, 1, True),
                                (500.042, 3, True), (500.041, 3, False), (0.1, 15001, False)):
        total = Decimal(repr(value)) * count
        record = {**base, "total": float(total), "party": {**base["party"], "credit": 10**9},
                  "items": [{"code": "Q", "kind": "goods", "value": value, "quantity": 1}] * count}
        for policy, interp in ENGINES:
            d = policy.evaluate(record)
            assert d == interp.decide(record)
            assert d.outcome != "error" and (("P3" in d.fired) == fires or policy is FIRST), (value, d)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                 st.decimals(places=2, min_value=-10**14, max_value=10**14, allow_nan=False).map(float),
                 st.decimals(places=6, min_value=-10**9, max_value=10**9, allow_nan=False).map(float)),
       st.integers(2, 6))
def test_the_float_check_proves_the_decimal(f: float, places: int) -> None:
    """What the generated float conversion does: when `round(f * S) / S == f` and the result has
    at most 15 digits, it is exactly `repr(f)` (the decimal the language reads) times S."""
    s = 10**places
    if not math.isfinite(f * s):  # `round` raises: the generated code hands the record to `decide`
        with pytest.raises(OverflowError):
            round(f * s)
        return
    n = round(f * s)
    if n / s == f and -10**15 < n < 10**15:
        assert Decimal(repr(f)).scaleb(places) == n
    elif abs(f) < 10**(15 - places) / 2:  # within range, refused only when repr has more places
        assert Decimal(repr(f)).as_tuple().exponent < -places  # type: ignore[operator]


def test_scaled_refuses_what_it_cannot_keep_exact() -> None:
    assert scaled(Decimal("1.25"), 2) == 125
    assert scaled(Decimal("-0"), 2) == 0
    for bad in (Decimal("1.255"), Decimal("NaN"), Decimal("Infinity"), Decimal("1E+1001"), 1.5, "1", True):
        with pytest.raises(Refuse):
            scaled(bad, 2)


PATTERN = st.lists(st.one_of(st.sampled_from(["A", "3", "*", "\\*", "\\[", "-", "é"]),
                             st.sampled_from(["[A-E]", "[0-9]", "[!0-9]", "[AC]", "[a-z]", "[é-ë]"])),
                   min_size=1, max_size=5).map("".join)


@settings(max_examples=600, deadline=None)
@given(PATTERN, st.text(alphabet="A3BEé*[-a0zë", max_size=6))
def test_class_prefix_patterns_match_as_like(pattern: str, subject: str) -> None:
    prefixes = _class_prefixes(pattern)
    if prefixes is not None:
        assert subject.startswith(prefixes) == v.like(subject, pattern)


def test_class_prefix_patterns_are_found_and_bounded() -> None:
    assert _class_prefixes("3[A-E]*") == ("3A", "3B", "3C", "3D", "3E")
    assert len(_class_prefixes("[0-9][A-E]*") or ()) == 50
    assert _class_prefixes("[0-9][A-E][0-9]*") is None  # 500 prefixes: a memo instead
    assert _class_prefixes("[!0-9]*") is None and _class_prefixes("3[A-E]") is None
    assert _class_prefixes("ML*") is None  # a plain prefix: `startswith('ML')` already


def test_like_memo_agrees_and_stays_bounded() -> None:
    pattern = "[0-9][A-E][0-9][0-9][0-9]*"
    memo = LikeMemo(v.compile_pattern(pattern))
    for k in range(3 * LikeMemo.MAX_ENTRIES):
        subject = f"{k % 10}{'ABCDEF'[k % 6]}{k:05d}"
        assert memo[subject] == v.like(subject, pattern)
        assert len(memo) <= LikeMemo.MAX_ENTRIES
    long = "1A234" + "x" * 10_000
    assert memo[long] is True and long not in memo  # a long subject is matched, never kept


def test_outside_the_subset_no_fast_path_and_same_decisions() -> None:
    text = HEAD.format(combine="deny_overrides") + SCHEMA + RULES.replace(
        "rule P12", "rule DIV license { when party.credit != 0 and total / party.credit > 2 }\nrule P12")
    policy = ecrules.loads(text)
    assert "decide_fast" not in policy.generated_source
    record = {"id": "d", "date": "2026-02-02", "code": "Q", "destination": "DE", "total": 5.0,
              "party": {"name": "n", "credit": 2, "kind": "gov"}, "tags": [],
              "items": [{"code": "Q", "kind": "goods", "value": 5.0, "quantity": 1}]}
    assert policy.evaluate(record) == Interpreter(policy.checked).decide(record)
    assert "DIV" in policy.evaluate(record).fired


ROOT = Path(__file__).resolve().parent.parent


def _gen() -> Any:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gen  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    return gen


def test_generated_and_reference_policies_decide_as_the_interpreter() -> None:
    """The benchmark's reference policy and generated policies (number lets, many rules) on the
    benchmark's own float records: every one decided by the fast path as the interpreter decides."""
    gen = _gen()
    records = gen.json_records(300) + gen.records(100) + gen.invalid_records(60) + gen.edge_records()
    policies = [ecrules.load(ROOT / "benchmarks" / "reference" / "policy.ecp")]
    policies += [ecrules.loads(gen.generated_policy(60, seed), ROOT / "benchmarks" / "reference" / f"gen{seed}.ecp")
                 for seed in (1, 2)]
    for policy in policies:
        assert "def decide_fast(rec, pos):" in policy.generated_source
        interp = Interpreter(policy.checked)
        for position, record in enumerate(records, 1):
            assert policy.evaluate(record, position=position) == interp.decide(record, position)


@pytest.mark.parametrize("name", ["dual_use_licensing", "un_arms_embargo", "wmd_catch_all"])
def test_bundled_policies_get_the_fast_path(name: str) -> None:
    policy = ecrules.load(ROOT / "policies" / f"{name}.ecp")
    assert "def decide_fast(rec, pos):" in policy.generated_source


def test_the_fast_path_is_compiled_when_the_policy_first_decides() -> None:
    """Loading alone (`ecrules check`) does not audit and compile the rules a second time."""
    record = {"id": "t", "date": "2026-02-02", "code": "Q", "destination": "DE", "total": 5.0,
              "party": {"name": "n", "credit": 2, "kind": "gov"}, "tags": [],
              "items": [{"code": "Q", "kind": "goods", "value": 5.0, "quantity": 1}]}
    for first in ("evaluate", "evaluate_many"):
        policy = ecrules.loads(HEAD.format(combine="deny_overrides") + SCHEMA + RULES)
        assert policy._decide.__class__.__name__ == "_Tiered"
        d = policy.evaluate(record) if first == "evaluate" else next(policy.evaluate_many([record]))
        assert getattr(policy._decide, "__name__", None) == "decide_fast"
        assert d == Interpreter(policy.checked).decide(record)


def test_valid_float_records_never_reach_the_general_path() -> None:
    """What the fast path is for: valid records as `json.loads` gives them are decided by it
    alone (a change that made it hand every record on would keep decisions equal, and lose it)."""
    gen = _gen()
    policy = ecrules.load(ROOT / "benchmarks" / "reference" / "policy.ecp")
    records = gen.json_records(300)
    policy.evaluate(records[0])
    namespace = policy._decide.__globals__  # type: ignore[attr-defined]
    general = namespace["decide"]
    handed: list[int] = []

    def counting(record: Any, position: int) -> Any:
        handed.append(position)
        return general(record, position)

    namespace["decide"] = counting
    try:
        decisions = list(policy.evaluate_many(records))
        broken = policy.evaluate({**records[0], "total_value": 0.1 + 0.2}, position=7)
    finally:
        namespace["decide"] = general
    assert handed == [7] and broken.outcome == "error"
    assert all(d.outcome != "error" for d in decisions) and len(decisions) == 300
