"""`semantics.combining` is the one definition of combining, and each engine computes it.

The row and columnar engines (`combine.Combiner`) and the z3 encoding (`verify.combining`) call the
definition's functions; here they are compared on random rule sets (outcomes, waivers, both
algorithms) and random sets of matching rules, and the z3 window with the concrete one.
"""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from typing import Any

import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrules.combine import Combiner
from ecrules.semantics import combining as sem
from ecrules.verify import combining as zc


@st.composite
def rule_sets(draw: st.DrawFn) -> Any:
    n = draw(st.integers(1, 7))
    algorithm = draw(st.sampled_from(sem.ALGORITHMS))
    rules = []
    for k in range(n):
        # any waivers, cycles included: the definition does not rely on the checker refusing them
        waives = () if algorithm == "first_match" else tuple(
            f"R{j}" for j in draw(st.sets(st.integers(0, n - 1), max_size=2)) if j != k)
        rules.append(SimpleNamespace(id=f"R{k}", index=k, outcome=draw(st.sampled_from(sem.ORDER)), waives=waives,
                                     requires=tuple(draw(st.lists(st.sampled_from("abc"), max_size=2))), bases=(),
                                     sites=()))
    return SimpleNamespace(name="p", version="1", combine=algorithm, default=draw(st.sampled_from(sem.ORDER)),
                           rules=tuple(rules), sets={})


@settings(max_examples=300, deadline=None)
@given(c=rule_sets(), data=st.data())
def test_the_engines_and_the_z3_encoding_compute_one_definition(c: Any, data: st.DataObject) -> None:
    n = len(c.rules)
    hit = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    matched = tuple(k for k in range(n) if hit[k])
    # what the row engines hand the combiner: every match, or only the first under first_match
    seen = matched[:1] if sem.stops_at_match(c.combine) else matched
    d = Combiner(c).decide(seen, "x", None)
    by = sem.waived_by([r.id for r in c.rules], [r.waives for r in c.rules])
    counting = sem.counted(c.combine, matched, by)
    # the definition, spelled out in words: strongest counting outcome, else the default
    expected = min((c.rules[k].outcome for k in counting), key=sem.ORDER.index, default=c.default)
    assert d.outcome == expected
    assert d.fired == tuple(c.rules[k].id for k in sem.fired(c.combine, matched))
    if c.combine == "first_match":
        assert counting == matched[:1]
    else:
        assert counting == tuple(k for k in matched if not any(hit[j] for j in by[k]))
    for o in sem.ORDER:  # z3: exactly the decided outcome holds
        term = zc.outcome_is(c, lambda k: z3.BoolVal(hit[k]), o)
        assert z3.is_true(z3.simplify(z3.BoolVal(term) if isinstance(term, bool) else term)) == (o == d.outcome)


DATES = st.none() | st.dates(datetime.date(2020, 1, 1), datetime.date(2030, 12, 31))


@settings(max_examples=200, deadline=None)
@given(since=DATES, until=DATES, day=DATES)
def test_one_half_open_window_everywhere(since: Any, until: Any, day: Any) -> None:
    expected = sem.in_force(since, until, day)
    assert expected == ((since is None or day is None or since <= day) and (until is None or day is None or day < until))
    assert sem.in_force_term(since, until, day, lambda x: x, sem.BOOLS) == expected
    ordinal = z3.IntVal(day.toordinal()) if day is not None else None
    term = zc.in_force(since, until, ordinal)
    assert z3.is_true(z3.simplify(z3.BoolVal(term) if isinstance(term, bool) else term)) == expected


def test_the_outcome_order_is_stated_once() -> None:
    from ecrules import checked

    assert sem.ORDER == ("deny", "hold", "license", "allow") and checked.OUTCOMES is sem.ORDER
    assert [sem.STRENGTH[o] for o in sem.ORDER] == sorted(sem.STRENGTH.values(), reverse=True)
    assert sem.outcome("allow", ["license", "hold"]) == "hold" and sem.outcome("deny", []) == "deny"
