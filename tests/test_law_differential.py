"""Generated policies with instruments, bases per member and `hold`: the compiled evaluator, the
interpreter and the columnar engine give the same decisions, citations included.

Hypothesis writes the policies (dated instruments, members with zero to two bases, set-level
bases, membership tests in quantifiers, lets, under `not`, all four outcomes, waivers or
`first_match`) and the records (`ecrules.testing.records`, which tries dates on and around every
day a membership changes).
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ecrules
from ecrules.interpreter import Interpreter
from ecrules.testing import records

pytest.importorskip("duckdb")
from ecrules.columnar.engine import ColumnarEngine  # noqa: E402

COUNTRIES = ("KP", "LY", "SS", "IR", "CN", "DE")
CODES = ("A1", "B2", "C3")
OUTCOMES = ("deny", "hold", "license", "allow")
CONDITIONS = (
    "destination in countries",
    "destination not in countries",
    "not (destination in countries)",
    "any(i in items: i.code in codes)",
    "any(i in items where i.origin in countries: i.code == \"A1\")",
    "all(i in items: i.code in codes) and len(items) > 0",
    "risky and destination != \"CN\"",
    "destination in countries or destination == \"DE\"",
    "has nationality and nationality in countries",
    "count(c in countries) >= 3",
    "count(i in items where i.code in codes) > 1",
    "date >= 2020-01-01",
)

_DAY = st.dates(datetime.date(2015, 1, 1), datetime.date(2030, 12, 31))


@st.composite
def _basis(draw: st.DrawFn, instruments: int) -> str:
    text = f"basis I{draw(st.integers(0, instruments - 1))}"
    if draw(st.booleans()):
        text += f' "para. {draw(st.integers(1, 9))}"'
    start = draw(st.none() | _DAY)
    if start is not None:
        text += f" from {start}"
    if draw(st.booleans()):
        end = draw(_DAY)
        if start is None or end > start:
            text += f" until {end}"
    return text


@st.composite
def _members(draw: st.DrawFn, values: tuple[str, ...], instruments: int) -> str:
    chosen = draw(st.lists(st.sampled_from(values), min_size=1, unique=True))
    parts = []
    for v in chosen:
        bases = draw(st.lists(_basis(instruments), max_size=2))
        parts.append(" ".join([f'"{v}"'] + bases))
    return "{\n  " + ",\n  ".join(parts) + "\n}"


@st.composite
def law_policies(draw: st.DrawFn) -> str:
    n_inst = draw(st.integers(1, 3))
    out = ['policy "gen" version "1"', "as_of date"]
    first = draw(st.booleans())
    if first:
        out.append("combine first_match")
    out.append(f"default {draw(st.sampled_from(OUTCOMES))}")
    for k in range(n_inst):
        adopted = draw(_DAY)
        lines = [f"instrument I{k} {{", "  kind UNSC", f'  citation "S/RES/{1000 + k} (2000)"', f"  adopted {adopted}"]
        lapses = draw(st.none() | _DAY)
        if lapses is not None and lapses > adopted:
            lines.append(f"  lapses {lapses}")
        out += lines + ["}"]
    out.append("""schema {
  record tx {
    id: string
    date: date
    destination: country
    nationality: country?
    items: list<item>
  }
  type item { code: string  origin: country }
}""")
    set_level = draw(st.lists(_basis(n_inst), max_size=1))
    out.append(f"set countries: country = {draw(_members(COUNTRIES, n_inst))}" + "".join("\n  " + b for b in set_level))
    out.append(f"set codes: string = {draw(_members(CODES, n_inst))}")
    out.append("let risky = destination in countries or any(i in items: i.origin in countries)")
    n_rules = draw(st.integers(1, 5))
    for k in range(n_rules):
        lines = [f"rule R{k} {draw(st.sampled_from(OUTCOMES))} {{"]
        lines += ["  " + b for b in draw(st.lists(_basis(n_inst), max_size=2))]
        if draw(st.booleans()):
            lines.append(f'  require "check {k}"')
        if not first and k and draw(st.integers(0, 3)) == 0:
            lines.append(f"  waives R{draw(st.integers(0, k - 1))}")
        lines.append(f"  when {draw(st.sampled_from(CONDITIONS))}")
        out += lines + ["}"]
    return "\n".join(out) + "\n"


def _load(text: str) -> ecrules.Policy:
    return ecrules.loads(text, "gen.ecp")


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_compiled_agrees_with_interpreter_on_law_policies(data: st.DataObject) -> None:
    policy = _load(data.draw(law_policies()))
    interp = Interpreter(policy.checked)
    for record in data.draw(st.lists(records(policy), min_size=1, max_size=10)):
        assert policy.evaluate(record) == interp.decide(record), (policy.generated_source, record)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_columnar_agrees_with_the_row_engine_on_law_policies(data: st.DataObject) -> None:
    policy = _load(data.draw(law_policies()))
    engine = ColumnarEngine(policy, batch_size=8)
    recs: list[dict[str, Any]] = data.draw(st.lists(records(policy), min_size=1, max_size=20))
    expected = list(policy.evaluate_many(recs))
    got = [d for chunk in engine.run_rows(recs) for d in chunk]
    assert got == expected
    table = engine.evaluate_table(recs)
    assert table.column("outcome").to_pylist() == [d.outcome for d in expected]
    assert table.column("basis").to_pylist() == [[b.to_dict() for b in d.basis] for d in expected]


def test_the_generator_exercises_members_that_lapse() -> None:
    """A sanity check on the generator: some generated policy has a set whose members change."""
    seen: list[bool] = []

    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(law_policies())
    def collect(text: str) -> None:
        seen.append(_load(text).checked.sets["countries"].dated)

    collect()
    assert any(seen) and not all(seen)
