"""The typed IR: the checker's facts are on the nodes the back-ends read, not in side tables.

Every expression a `Checked` holds (rule conditions, lets, invariants, constraints, tests, the
membership sites a decision cites) is an annotated copy of the parsed one: equal to it, with a
type on every node, a binding on every name, the pattern on every `like`, the list on every
`screen`, and a variable on every quantifier that the names it binds point to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import attrs
import pytest

import ecrules
from ecrules import nodes as n
from ecrules.checked import Checked, ConstInfo, FieldRef, LetInfo, SetInfo, VarRef

ROOT = Path(__file__).resolve().parents[1]
POLICIES = sorted((ROOT / "policies").glob("*.ecp")) + [ROOT / "tests" / "fixtures" / "language_example" / "policy.ecp"] \
    + sorted((ROOT / "tests" / "conformance").glob("*/policy.ecp"))


def _exprs(c: Checked) -> Iterator[tuple[str, n.Expr]]:
    for r in c.rules:
        yield f"rule {r.id}", r.when
    for let in c.lets.values():
        yield f"let {let.name}", let.expr
    for k, inv in enumerate(c.invariants):
        yield f"invariant {k}", inv.expr
    for con in c.constraints:
        if isinstance(con.body, n.OutcomeWhen):
            yield f"constraint {con.name}", con.body.expr


def _scoped(e: n.Expr, scope: tuple[VarRef, ...]) -> Iterator[tuple[n.Expr, tuple[VarRef, ...]]]:
    """Each node with the variables in scope there."""
    yield e, scope
    if isinstance(e, n.Quant):
        yield from _scoped(e.source, scope)
        assert e.binds is not None
        for part in (e.where, e.body):
            if part is not None:
                yield from _scoped(part, scope + (e.binds,))
        return
    for child in n.children(e):
        yield from _scoped(child, scope)


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.parent.name if p.name == "policy.ecp" else p.name)
def test_every_checked_expression_carries_its_facts(path: Path) -> None:
    c = ecrules.load(path).checked
    seen = 0
    for owner, expr in _exprs(c):
        # `screen(name, LIST)`: LIST names a screening list (the call carries it), not a value
        lists = {id(x.args[1]) for x in n.walk(expr) if isinstance(x, n.Call) and x.screening is not None}
        for e, scope in _scoped(expr, ()):
            seen += 1
            assert e.type is not None, (owner, e)
            if isinstance(e, n.Name) and id(e) not in lists:
                b = e.binding
                assert isinstance(b, (FieldRef, VarRef, LetInfo, ConstInfo, SetInfo)), (owner, e)
                if isinstance(b, VarRef):  # the variable of a quantifier around it, by identity
                    assert any(b is v for v in scope) and b.name == e.name, (owner, e)
                if isinstance(b, LetInfo):  # the checked let itself, whose expression is annotated too
                    assert b is c.lets[b.name], (owner, e)
                if isinstance(b, ConstInfo):
                    assert b is c.consts[b.name]
                if isinstance(b, SetInfo):
                    assert b is c.sets[b.name]
            if isinstance(e, n.Compare):
                assert (e.pattern is not None) == (e.op in ("like", "not like")), (owner, e)
            if isinstance(e, n.Call):
                assert (e.screening is not None) == (e.func in ("screen", "matches")), (owner, e)
    assert seen > 0


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.parent.name if p.name == "policy.ecp" else p.name)
def test_the_ir_is_the_parsed_text_with_facts_added(path: Path) -> None:
    """Annotating changes no syntax (the copy equals the parsed node, span for span), and leaves
    the parsed tree itself untouched."""
    c = ecrules.load(path).checked
    parsed = {d.id: d for d in c.module.decls if isinstance(d, n.Rule)}
    for r in c.rules:
        when = next(cl.value for cl in parsed[r.id].clauses if cl.kind == "when")
        assert not isinstance(when, (str, tuple, n.Basis)) and when is not None
        assert when == r.when and when is not r.when
        for raw, ann in zip(n.walk(when), n.walk(r.when)):
            assert type(raw) is type(ann) and raw.span is ann.span
            assert raw.type is None and ann.type is not None
            syntax = [a.name for a in attrs.fields(type(raw)) if a.eq]
            assert all(getattr(raw, f) == getattr(ann, f) for f in syntax)


def test_sites_point_into_the_rule_condition() -> None:
    """What a decision cites is read off the very nodes the rule runs."""
    c = ecrules.load(ROOT / "policies" / "un_arms_embargo.ecp").checked
    sites = [(r, s) for r in c.rules for s in r.sites]
    assert sites, "this policy cites set members"
    for rule, site in sites:
        reachable = {id(x) for x in n.walk(rule.when)}
        for let in c.lets.values():
            reachable |= {id(x) for x in n.walk(let.expr)}
        assert id(site.compare) in reachable
        assert all(id(q) in reachable and q.binds is not None for q in site.quants)


def test_checked_holds_no_side_tables() -> None:
    """No table keyed by node identity: the facts live on the nodes."""
    names = {a.name for a in attrs.fields(Checked)}
    assert not names & {"types", "bindings", "patterns", "screen_calls"}
    c = ecrules.load(ROOT / "policies" / "screening.ecp").checked
    for a in attrs.fields(Checked):
        value = getattr(c, a.name)
        if hasattr(value, "keys"):
            assert not any(isinstance(k, int) for k in value.keys()), a.name


def test_two_quantifiers_over_one_name_are_two_variables() -> None:
    policy = ecrules.loads("""
policy "twovars"
schema {
  record tx { items: list<item> }
  type item { code: string }
}
rule r deny {
  when any(i in items: i.code == "A") and any(i in items: i.code == "B")
}
test "both" {
  given { items: [ { code: "A" }, { code: "B" } ] }
  expect deny
}
test "one" {
  given { items: [ { code: "A" } ] }
  expect allow
}
""")

    quants = [q for q in n.walk(policy.checked.rules[0].when) if isinstance(q, n.Quant)]
    assert len(quants) == 2 and quants[0].binds is not quants[1].binds
    reads = [x for q in quants for x in n.walk(q.body) if isinstance(x, n.Name) and x.name == "i"]  # type: ignore[arg-type]
    assert [x.binding for x in reads] == [quants[0].binds, quants[1].binds]
    assert [r.passed for r in policy.run_tests().results] == [True, True]
