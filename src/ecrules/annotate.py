"""The checker's last step: rebuild every checked expression with its facts on it (the IR).

While it checks, the checker notes what it learns in tables keyed by the parsed nodes (it must
type a node before it knows its parent's facts). This pass copies each expression bottom-up with
`type`, `binding`, `pattern`, `screening` and `binds` filled in, so the back-ends read the facts
off the nodes, and the tables go away with the checker.
"""

from __future__ import annotations

from typing import Any

import attrs

from . import nodes as n
from . import types as t
from .checked import Binding, LetInfo, VarRef


class Annotator:
    """Rebuilds expressions from the checker's tables; lets first, in the order they were checked
    (a let's dependencies before it), so that a name bound to a let carries the annotated one."""

    def __init__(self, types: dict[int, t.Type], bindings: dict[int, Binding],
                 patterns: dict[int, str | tuple[str, ...]], screen_calls: dict[int, Any],
                 binders: dict[int, VarRef]):
        self.types = types
        self.bindings = bindings
        self.patterns = patterns
        self.screen_calls = screen_calls
        self.binders = binders
        #: the annotated lets, by name
        self.lets: dict[str, LetInfo] = {}

    def let(self, info: LetInfo) -> LetInfo:
        out = attrs.evolve(info, expr=self.expr(info.expr))
        self.lets[info.name] = out
        return out

    def expr(self, e: n.Expr) -> n.Expr:
        typ = self.types.get(id(e))
        if isinstance(e, n.Literal):
            return n.Literal(e.value, e.span, type=typ)
        if isinstance(e, n.Name):
            b = self.bindings.get(id(e))
            if isinstance(b, LetInfo):
                b = self.lets[b.name]
            return n.Name(e.name, e.span, type=typ, binding=b)
        if isinstance(e, n.Attr):
            return n.Attr(self.expr(e.obj), e.name, e.span, type=typ)
        if isinstance(e, n.Compare):
            return n.Compare(e.op, self.expr(e.left), self.expr(e.right), e.span, type=typ,
                             pattern=self.patterns.get(id(e)))
        if isinstance(e, n.BoolOp):
            return n.BoolOp(e.op, tuple(self.expr(o) for o in e.operands), e.span, type=typ)
        if isinstance(e, n.Not):
            return n.Not(self.expr(e.operand), e.span, type=typ)
        if isinstance(e, n.Has):
            return n.Has(self.expr(e.path), e.span, type=typ)
        if isinstance(e, n.Arith):
            return n.Arith(e.op, self.expr(e.left), self.expr(e.right), e.span, type=typ)
        if isinstance(e, n.Neg):
            return n.Neg(self.expr(e.operand), e.span, type=typ)
        if isinstance(e, n.Call):
            return n.Call(e.func, tuple(self.expr(a) for a in e.args), e.span, type=typ,
                          screening=self.screen_calls.get(id(e)))
        if isinstance(e, n.Quant):
            return n.Quant(e.kind, e.var, self.expr(e.source), None if e.where is None else self.expr(e.where),
                           None if e.body is None else self.expr(e.body), e.span, e.var_span, type=typ,
                           binds=self.binders.get(id(e)))
        if isinstance(e, n.SetLit):
            return n.SetLit(tuple(self.expr(x) for x in e.elements), e.span, e.bases, type=typ)
        if isinstance(e, n.ListLit):
            return n.ListLit(tuple(self.expr(x) for x in e.elements), e.span, type=typ)
        if isinstance(e, n.RecordLit):
            fields = tuple(n.FieldInit(f.name, self.expr(f.value), f.span) for f in e.fields)
            return n.RecordLit(fields, e.span, type=typ)
        raise AssertionError(f"unknown node {e!r}")
