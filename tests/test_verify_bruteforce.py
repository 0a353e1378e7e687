"""The solver's verdict agrees with brute-force enumeration on small generated policies.

The generated policies read a record through atoms whose constants come from small pools, so a
small finite domain holds a representative of every class of values the policy can tell apart
(ints -1..3 for constants 0..2; countries FR, KP, IR and one other; both item kinds; lists of up to
three items, which covers the small-model bound of these policies: at most two quantifier
occurrences per rule). Enumeration over that domain is then a complete decision procedure, and the
solver's proved / violated must match it exactly.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ecrules
from ecrules.interpreter import Env, Interpreter
from ecrules.verify import verify_policy

SCHEMA = """
schema {
  record r { id: string  a: enum { x, y, z }  dest: country  n: int  items: list<item> }
  type item { k: enum { p, q } }
}
"""
ATOMS = [
    'a == "x"', 'a != "y"', 'dest == "FR"', 'dest in {"KP", "IR"}', "n > 1", "n == 2", "n <= 0",
    'any(i in items: i.k == "p")', 'all(i in items: i.k == "q")', "len(items) >= 1",
]
SIMPLE_ATOMS = [a for a in ATOMS if "items" not in a]
COUNTRIES = ["FR", "KP", "IR", "DE"]
LISTS = [[{"k": k} for k in ks] for size in range(4) for ks in itertools.product("pq", repeat=size)]


def cond(atoms: list[str]) -> st.SearchStrategy[str]:
    atom = st.sampled_from(atoms)
    return st.recursive(atom, lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda xy: f"({xy[0]} and {xy[1]})"),
        st.tuples(inner, inner).map(lambda xy: f"({xy[0]} or {xy[1]})"),
        inner.map(lambda x: f"not ({x})"),
    ), max_leaves=3)


@st.composite
def policies(draw: st.DrawFn) -> str:
    combine = draw(st.sampled_from(["deny_overrides", "first_match"]))
    default = draw(st.sampled_from(["allow", "license", "deny"]))
    rules = []
    count = draw(st.integers(1, 3))
    for k in range(count):
        outcome = draw(st.sampled_from(["deny", "license", "allow"]))
        basis = draw(st.sampled_from(["", 'basis UNSC "S/RES/1"', 'basis ECL "art. 1"']))
        waives = ""
        if combine == "deny_overrides" and k > 0 and draw(st.booleans()):
            waives = f"waives R{draw(st.integers(0, k - 1))}"
        rules.append(f"rule R{k} {outcome} {{ {basis} {waives} when {draw(cond(ATOMS))} }}")
    kind = draw(st.sampled_from(["protect", "never", "always"]))
    if kind == "protect":
        constraint = "constraint c { protect dest unless basis UNSC }"
    else:
        constraint = f"constraint c {{ {kind} {draw(st.sampled_from(['deny', 'license', 'allow']))} " \
                     f"when {draw(cond(SIMPLE_ATOMS))} }}"
    return (f'policy "gen" version "1"\ncombine {combine}\ndefault {default}\n{SCHEMA}\n'
            + "\n".join(rules) + "\n" + constraint + "\n")


def records() -> list[dict[str, Any]]:
    return [{"id": "t", "a": a, "dest": d, "n": num, "items": items}
            for a in ("x", "y", "z") for d in COUNTRIES for num in range(-1, 4) for items in LISTS]


ALL = records()


def brute_force(policy: ecrules.Policy) -> bool:
    """True when the constraint holds on every record (or pair) of the small domain."""
    c = policy.checked
    con = c.constraints[0]
    interp = Interpreter(c)
    body = con.body
    if hasattr(body, "paths"):
        for rule in c.rules:  # a free-text (legacy) basis justifies nothing: every rule is checked
            for rec in ALL:
                if rec["dest"] != "FR":
                    continue
                base = interp.matches(rule, Env(interp.validate(rec)))
                for d in COUNTRIES[1:]:
                    if interp.matches(rule, Env(interp.validate({**rec, "dest": d}))) != base:
                        return False
        return True
    for rec in ALL:
        if not interp.eval(body.expr, Env(interp.validate(rec))):  # type: ignore[union-attr]
            continue
        outcome = policy.evaluate(rec).outcome
        if (outcome == body.outcome) == (body.quantifier == "never"):  # type: ignore[union-attr]
            return False
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(policies())
def test_solver_agrees_with_enumeration(text: str) -> None:
    policy = ecrules.loads(text)
    verdict = verify_policy(policy, warnings=False).verdicts[0]
    assert verdict.status in ("proved", "violated"), (verdict.status, verdict.reason, text)
    assert (verdict.status == "proved") == brute_force(policy), text
    SEEN.add(verdict.status)


SEEN: set[str] = set()


def test_both_verdicts_were_exercised() -> None:
    """The generator is not degenerate: the run above met both proved and violated policies."""
    if not SEEN:
        test_solver_agrees_with_enumeration()
    assert SEEN == {"proved", "violated"}
