"""Property tests: the compiled evaluator agrees with the tree-walking interpreter.

The interpreter (`interpreter.py`) walks the AST with its own record validator; the compiled
evaluator runs generated Python. On every generated record, valid or broken, their decisions
must be identical, to the error message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ecrules
from ecrules.interpreter import Interpreter
from ecrules.testing import records

ROOT = Path(__file__).resolve().parents[1]
POLICIES = sorted(
    [p / "policy.ecp" for p in (ROOT / "tests" / "conformance").iterdir() if p.is_dir()]
    + [ROOT / "tests" / "fixtures" / "language_example" / "policy.ecp"]
    + list((ROOT / "policies").glob("*.ecp"))
)

BROKEN_VALUES = st.sampled_from([None, "", "XX9", 2.5, -1, True, [], {}, "2026-02-30", [None]])


def _broken(record: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """The record with one top-level field deleted or replaced by a value of the wrong shape."""
    if not record:
        return record
    key = data.draw(st.sampled_from(sorted(record)))
    out = dict(record)
    if data.draw(st.booleans()):
        del out[key]
    else:
        out[key] = data.draw(BROKEN_VALUES)
    return out


@pytest.mark.parametrize("path", POLICIES, ids=[str(p.relative_to(ROOT)) for p in POLICIES])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_compiled_agrees_with_interpreter(path: Path, data: st.DataObject) -> None:
    policy = _load(path)
    record = data.draw(records(policy))
    if data.draw(st.integers(0, 4)) == 0:
        record = _broken(record, data)
    compiled = policy.evaluate(record)
    interpreted = Interpreter(policy.checked).decide(record)
    assert compiled == interpreted


_CACHE: dict[Path, ecrules.Policy] = {}


def _load(path: Path) -> ecrules.Policy:
    if path not in _CACHE:
        _CACHE[path] = ecrules.load(path)
    return _CACHE[path]


@pytest.mark.parametrize("path", POLICIES[:4], ids=[str(p.relative_to(ROOT)) for p in POLICIES[:4]])
def test_generated_records_reach_the_rules(path: Path) -> None:
    """The strategy is worth something only if most records are valid and some rules fire."""
    policy = _load(path)
    seen: list[ecrules.Decision] = []

    @settings(max_examples=200, deadline=None, database=None)
    @given(records(policy))
    def collect(record: dict[str, Any]) -> None:
        seen.append(policy.evaluate(record))

    collect()
    valid = [d for d in seen if d.outcome != "error"]
    assert len(valid) > len(seen) // 3
    assert any(d.fired for d in valid)
