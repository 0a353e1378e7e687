"""Every kind of expression node x every expression back-end: a visit method, or an explicit refusal.

The back-ends (row compiler, interpreter and constant folding, DuckDB/Spark SQL, z3) are
`nodes.ExprVisitor`s: one `visit_<Kind>` method per node kind, or the kind listed in `refuses`
with the reason. The kinds are read off the `nodes.Expr` union, so a node class added there
fails `test_every_backend_visits_or_refuses_every_node_kind` until each back-end handles it or
refuses it; visiting a kind a back-end does not handle raises `Unsupported` naming the kind and
its span, never an `AssertionError` or a fall-through. (Which operators and functions each
back-end renders is tests/test_semantics_coverage.py's business.)
"""

from __future__ import annotations

import typing
from typing import Any, Callable

import attrs
import pytest

import ecrules
from ecrules import nodes as n
from ecrules.checked import Checked, Env
from ecrules.columnar.sqlexpr import ExprGen
from ecrules.columnar.sqlgen import SqlGen
from ecrules.compiler import _Emitter
from ecrules.fastpath import FastEmitter
from ecrules.coverage import _Watching
from ecrules.interpreter import Evaluator, Interpreter, _Constants
from ecrules.semantics.operators import Unsupported
from ecrules.source import Source, Span
from ecrules.verify.bounds import Bounds
from ecrules.verify.encode import Encoder

KINDS: tuple[type, ...] = typing.get_args(n.Expr)

#: every expression back-end, with how to make one and call its entry point on a node
BACKENDS: dict[type[n.ExprVisitor], Callable[[Checked], Callable[[Any], Any]]] = {
    Evaluator: lambda c: lambda e: Evaluator().eval(e, Env({})),
    Interpreter: lambda c: lambda e: Interpreter(c).eval(e, Env({})),
    _Constants: lambda c: lambda e: _Constants(lambda name: None).eval(e, Env({})),
    _Watching: lambda c: lambda e: _Watching(c).eval(e, Env({})),
    _Emitter: lambda c: _Emitter(c).expr,
    FastEmitter: lambda c: FastEmitter(c, _Emitter(c)).expr,
    ExprGen: lambda c: lambda e: ExprGen(c).expr(e, {}),
    SqlGen: lambda c: lambda e: SqlGen(c).expr(e, {}),
    Encoder: lambda c: lambda e: Encoder(c, Bounds()).expr(e, Env(None)),
}

POLICY = """policy "visitors"
default allow

schema {
  record order {
    id: string
  }
}

rule R deny {
  when id == "x"
}
"""

SPAN = Span(Source("visitors.ecp", "x\n"), 7, 3, 7, 9)


@attrs.frozen
class Lookup:
    """A node kind no back-end knows (a stand-in for one added to `nodes.Expr` tomorrow)."""

    key: str
    span: Span = attrs.field(eq=False)


@pytest.fixture(scope="module")
def checked() -> Checked:
    return ecrules.loads(POLICY).checked


def test_the_kinds_are_the_union_and_every_backend_is_listed() -> None:
    assert n.EXPR_KINDS == KINDS
    found: set[type] = set()
    todo = [n.ExprVisitor]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub)
            todo.append(sub)
    assert found == set(BACKENDS), "a new ExprVisitor: list it in BACKENDS"


@pytest.mark.parametrize("backend", list(BACKENDS), ids=lambda b: b.__name__)
def test_every_backend_visits_or_refuses_every_node_kind(backend: type[n.ExprVisitor]) -> None:
    assert backend.undeclared(KINDS) == [], \
        f"{backend.__name__}: give it a visit_<Kind> method, or list the kind in its `refuses` with the reason"
    assert set(backend.visits) == set(KINDS)
    for kind in KINDS:
        handled = backend.visits[kind] is not n.ExprVisitor.refuse
        assert handled != (kind in backend.refuses), f"{backend.__name__} both visits and refuses {kind.__name__}"
    # a method named for no kind is a typo: its kind would silently be refused
    names = {f"visit_{k.__name__}" for k in KINDS}
    assert {m for m in dir(backend) if m.startswith("visit_")} <= names


@pytest.mark.parametrize("backend", list(BACKENDS), ids=lambda b: b.__name__)
def test_a_kind_without_a_visit_method_fails_the_check(backend: type[n.ExprVisitor]) -> None:
    assert backend.undeclared(KINDS + (Lookup,)) == [Lookup]


@pytest.mark.parametrize("backend", list(BACKENDS), ids=lambda b: b.__name__)
def test_an_unknown_kind_is_refused_with_its_name_and_span(backend: type[n.ExprVisitor], checked: Checked) -> None:
    visit = BACKENDS[backend](checked)
    with pytest.raises(Unsupported) as info:
        visit(Lookup("k", SPAN))
    assert "`Lookup`" in str(info.value) and "visitors.ecp:7:3" in str(info.value)


@pytest.mark.parametrize("backend", list(BACKENDS), ids=lambda b: b.__name__)
def test_a_refused_kind_raises_unsupported_with_the_reason_and_span(backend: type[n.ExprVisitor],
                                                                    checked: Checked) -> None:
    assert backend.refuses, "every back-end refuses record literals today"
    samples: dict[type, Any] = {n.RecordLit: n.RecordLit((n.FieldInit("id", n.Literal("x", SPAN), SPAN),), SPAN)}
    visit = BACKENDS[backend](checked)
    for kind, why in backend.refuses.items():
        with pytest.raises(Unsupported) as info:
            visit(samples[kind])
        assert f"`{kind.__name__}`" in str(info.value) and why in str(info.value)
        assert "visitors.ecp:7:3" in str(info.value)


@pytest.mark.parametrize("backend", list(BACKENDS), ids=lambda b: b.__name__)
def test_a_visited_kind_reaches_its_method(backend: type[n.ExprVisitor], checked: Checked) -> None:
    """The table calls the method for the node's class: a literal comes back as each back-end writes it."""
    out = BACKENDS[backend](checked)(n.Literal(True, SPAN))
    assert out in (True, "True", "TRUE", "true")
