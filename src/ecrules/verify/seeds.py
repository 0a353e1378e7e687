"""Cheap evidence before the solver: records the policy already carries (its `test` blocks) and
records the solver produced, run through the real evaluator.

A real valid record on which rule A matches and rule B does not settles "is A redundant with B?"
without a query; a record that matches a rule settles "is it dead?"; and a record that matches a
rule is where a search for a non-discrimination counterexample starts (`protect.sample_pair`).
"""

from __future__ import annotations

from typing import Any

from ..interpreter import Interpreter
from ..checked import Env, Program
from ..nodes import given_record
from ..records import RecordError


def test_records(policy: Program) -> list[dict[str, Any]]:
    """The `given` record of every test block that is a valid record."""
    interp = Interpreter(policy.checked)
    out: list[dict[str, Any]] = []
    for test in policy.checked.tests:
        try:
            rec = given_record(test.given)
            interp.validate(rec)
        except (ValueError, RecordError, TypeError):
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out


def match_vector(policy: Program, interp: Interpreter, record: dict[str, Any]) -> tuple[bool, ...] | None:
    """Which rules match `record` (validity dates included), by the interpreter; None if invalid."""
    try:
        values = interp.validate(record)
    except RecordError:
        return None
    return tuple(bool(interp.matches(r, Env(values))) for r in policy.checked.rules)
