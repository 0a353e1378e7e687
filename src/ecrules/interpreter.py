"""A plain tree-walking interpreter of the checked AST.

It is the reference the compiled evaluator is tested against (property tests), it powers
`ecrules explain`, and it computes constants while the checker runs. It favours being obviously
right over being fast: one `eval` case per node, straight from LANGUAGE.md.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any, Callable, Mapping

from . import nodes as n
from . import values as v
from .checked import Binding, Checked, ConstInfo, Env, FieldRef, LetInfo, SetInfo, Site, VarRef, var_of
from .combine import Combiner
from .semantics.combining import in_force, stops_at_match
from .decision import Decision
from .records import RecordError, render_path, validate
from .semantics import operators as ops

_UNSET = object()


#: the run-time functions of the built-ins that compute a value (the registry's)


class Evaluator(n.ExprVisitor):
    """The value of an expression in an `Env`: one case per node kind, straight from LANGUAGE.md.

    Apart from `Interpreter` (which adds records, rules and decisions) so that constant folding
    is this same code run with no record (`const_eval`).
    """

    refuses = {n.RecordLit: "a record literal is a test's `given`, never evaluated"}

    def binding(self, e: n.Name) -> Binding:
        """What a name denotes: the checker put it on the node."""
        assert e.binding is not None, f"unresolved name {e!r}"
        return e.binding

    def as_of(self, env: Env) -> datetime.date | None:
        return None

    def site(self, e: n.Expr) -> str:
        """Where a fault happened, for its message."""
        return str(e.span)

    # -- evaluation of one expression: one method per node kind (`nodes.ExprVisitor`)
    def eval(self, e: n.Expr, env: Env) -> Any:
        return self.visits[e.__class__](self, e, env)

    def visit_Literal(self, e: n.Literal, env: Env) -> Any:
        return e.value

    def visit_Name(self, e: n.Name, env: Env) -> Any:
        b = self.binding(e)
        if isinstance(b, VarRef):
            return env.vars[b]
        if isinstance(b, FieldRef):
            return env.record[e.name]
        if isinstance(b, LetInfo):
            if e.name not in env.lets:
                env.lets[e.name] = self.eval(b.expr, Env(env.record, env.lets))
            return env.lets[e.name]
        if isinstance(b, ConstInfo):
            return b.value
        if isinstance(b, SetInfo):
            return b.on(self.as_of(env)) if b.has_bases else b.values
        raise AssertionError(b)

    def visit_Attr(self, e: n.Attr, env: Env) -> Any:
        return self.eval(e.obj, env)[e.name]

    def visit_Has(self, e: n.Has, env: Env) -> bool:
        return self._has(e.path, env)

    def visit_Not(self, e: n.Not, env: Env) -> Any:
        return ops.NOT_OP.run(self.eval(e.operand, env))

    def visit_Arith(self, e: n.Arith, env: Env) -> Any:
        a, b = self.eval(e.left, env), self.eval(e.right, env)
        op = ops.ARITH_OPS[e.op]
        return op.run(a, b, self.site(e)) if op.faults else op.run(a, b)

    def visit_Neg(self, e: n.Neg, env: Env) -> Any:
        return ops.NEG_OP.run(self.eval(e.operand, env))

    def visit_Call(self, e: n.Call, env: Env) -> Any:
        fn = ops.FUNCTIONS_BY_NAME[e.func].run
        if fn is None:  # `screen`, `matches`: they read a screening list
            return self._screen(e, env)
        return fn(*(self.eval(a, env) for a in e.args))

    def visit_SetLit(self, e: n.SetLit, env: Env) -> Any:
        return frozenset(self.eval(x, env) for x in e.elements)

    def visit_ListLit(self, e: n.ListLit, env: Env) -> Any:
        return tuple(self.eval(x, env) for x in e.elements)

    def visit_BoolOp(self, e: n.BoolOp, env: Env) -> bool:
        """`and` stops at its first false operand, `or` at its first true one: that operand decides."""
        stop = e.op == "or"
        for k, operand in enumerate(e.operands):
            if bool(self.eval(operand, env)) == stop:
                self.decided(e, k)
                return stop
        return not stop

    # hooks for coverage (`ecrules test --coverage`, coverage.py); the reference run ignores them
    def decided(self, e: n.BoolOp, k: int) -> None:
        """Operand `k` of `e` decided it: false for `and`, true for `or`, those before it not."""

    def found(self, source: n.Expr, value: Any) -> None:
        """`value` of `source` (a set) was found: `value in source`, or `any(x in source: ...)` held on it."""

    def _has(self, path: n.Expr, env: Env) -> bool:
        if isinstance(path, n.Attr):
            if not self._has(path.obj, env):
                return False
            return self.eval(path.obj, env)[path.name] is not None
        return self.eval(path, env) is not None

    def visit_Compare(self, e: n.Compare, env: Env) -> bool:
        left = self.eval(e.left, env)
        op = ops.COMPARE_OPS[e.op]
        right = self.eval(e.right, env)
        if op.rule != "membership":
            return bool(op.run(left, right))
        found = left in right  # a hit is reported to the coverage hook, for `in` and `not in` alike
        if found:
            self.found(e.right, left)
        return found if op.negates is None else not found

    def visit_Quant(self, e: n.Quant, env: Env) -> Any:
        results: list[Any] = []
        var = var_of(e)
        for item in self.eval(e.source, env):
            env.vars[var] = item
            if e.where is not None and not self.eval(e.where, env):
                continue
            if e.kind == "any":
                if self.eval(e.body, env):  # type: ignore[arg-type]
                    self.found(e.source, item)
                    return True
            elif e.kind == "all":
                if not self.eval(e.body, env):  # type: ignore[arg-type]
                    return False
            elif e.kind == "count":
                if e.body is None or self.eval(e.body, env):
                    self.found(e.source, item)
                    results.append(1)
            else:
                results.append(self.eval(e.body, env))  # type: ignore[arg-type]
        if e.kind == "any":
            return False
        if e.kind == "all":
            return True
        if e.kind == "count":
            return len(results)
        return v.dsum(results)

    def _screen(self, e: n.Call, env: Env) -> Any:
        raise AssertionError("`screen` reads a screening list: only an `Interpreter` has one")


class Interpreter(Evaluator):
    """The reference evaluator of a checked policy: records in, decisions out."""

    def __init__(self, checked: Checked):
        self.c = checked
        self.combiner = Combiner(checked)
        self._rule: str | None = None     # the rule being evaluated (screening hits name it)
        if checked.screenings:
            from .screening.runtime import with_matches
            self.decide = with_matches(self._decide, checked)  # type: ignore[method-assign,assignment]

    def decide(self, record: Any, position: int = 1) -> Decision:
        return self._decide(record, position)

    def as_of(self, env: Env) -> datetime.date | None:
        return env.record.get(self.c.as_of) if self.c.as_of else None

    # -- a whole decision
    def validate(self, record: Any) -> dict[str, Any]:
        """The record's run-time form; raises `RecordError` on the first schema or invariant error."""
        assert self.c.record is not None
        if not isinstance(record, Mapping):
            raise RecordError("the record must be an object")
        values: dict[str, Any] = validate(record, self.c.record)
        env = Env(values)
        for inv in self.c.invariants:
            try:
                self._invariant(inv, env)
            except v.Fault as exc:
                raise RecordError(f"{inv.message} ({exc})", *(inv.on or ())) from None
        return values

    def _invariant(self, inv: Any, env: Env) -> None:
        e = inv.expr
        if inv.index_after is not None:
            assert isinstance(e, n.Quant) and e.body is not None
            var = var_of(e)
            for k, item in enumerate(self.eval(e.source, env)):
                env.vars[var] = item
                if e.where is not None and not self.eval(e.where, env):
                    continue
                if not self.eval(e.body, env):
                    on = list(inv.on)
                    raise RecordError(inv.message, *on[: inv.index_after], k, *on[inv.index_after :])
            return
        if not self.eval(e, env):
            raise RecordError(inv.message, *(inv.on or ()))

    def _screen(self, e: n.Call, env: Env) -> Any:
        from .screening import runtime

        args = [self.eval(a, env) if k != 1 else None for k, a in enumerate(e.args)]
        args += [None] * (4 - len(args))
        as_of = env.record.get(self.c.as_of) if self.c.as_of else None
        fn = runtime.score if e.func == "screen" else runtime.matches
        return fn(e.screening, args[0], args[2], args[3], as_of, self._rule)

    def matches(self, rule: Any, env: Env) -> bool:
        as_of = env.record.get(self.c.as_of) if self.c.as_of else None
        if not in_force(rule.effective, rule.expires, as_of):
            return False
        self._rule = rule.id
        try:
            return bool(self.eval(rule.when, env))
        finally:
            self._rule = None

    def cite(self, sites: tuple[Site, ...], env: Env) -> list[tuple[str, Any]]:
        """What the rule's membership tests hold in this record: (set, value) for each binding of
        the quantifiers around each test. A test whose lookup faults cites nothing."""
        out: list[tuple[str, Any]] = []
        for site in sites:
            try:
                out.extend((site.set, self.eval(site.compare.left, env)) for _ in self._bind(site.quants, 0, env))
            except Exception:
                continue
        return out

    def _bind(self, quants: tuple[n.Quant, ...], i: int, env: Env) -> Any:
        if i == len(quants):
            yield None
            return
        q = quants[i]
        var = var_of(q)
        for item in list(self.eval(q.source, env)):
            env.vars[var] = item
            if q.where is not None and not self.eval(q.where, env):
                continue
            yield from self._bind(quants, i + 1, env)

    def _decide(self, record: Any, position: int = 1) -> Decision:
        c = self.c
        has_id = c.record is not None and "id" in c.record.fields
        try:
            values = self.validate(record)
        except RecordError as exc:
            return self.combiner.record_error(record, position, exc.message, exc.field, has_id)
        rid = values["id"] if has_id and values["id"] is not None else position
        env = Env(values)
        matched: list[int] = []
        cites: dict[int, list[tuple[str, Any]]] = {}
        for rule in c.rules:
            try:
                hit = self.matches(rule, env)
            except v.Fault as exc:
                return self.combiner.fault(rid, rule.id, exc)
            if hit:
                matched.append(rule.index)
                if rule.sites:
                    cites[rule.index] = self.cite(rule.sites, env)
                if stops_at_match(c.combine):
                    break
        as_of = values.get(c.as_of) if c.as_of else None
        return self.combiner.decide(tuple(matched), rid, as_of, cites)


# ---- constants, while the checker runs ---------------------------------------------------------


class NotConstant(Exception):
    """The expression reads something only a record has: it is no constant."""


#: what a constant may be made of; of the functions, those the registry says fold
_CONSTANT = (n.Literal, n.Name, n.Neg, n.Arith, n.SetLit, n.ListLit)
_CONSTANT_FUNCS = frozenset(f.name for f in ops.FUNCTIONS if f.folds)


class _Constants(Evaluator):
    def __init__(self, binding: Callable[[n.Name], Binding | None]):
        self._binding = binding

    def binding(self, e: n.Name) -> Binding:
        b = self._binding(e)
        if not isinstance(b, ConstInfo):
            raise NotConstant
        return b

    def site(self, e: n.Expr) -> str:
        return ""  # the checker's diagnostic carries the span


def const_eval(e: n.Expr, binding: Callable[[n.Name], Binding | None]) -> Any:
    """The value of a (type-checked) constant expression: the evaluator above, run with no record.

    `binding` resolves names (the checker passes its own, still being filled). Raises
    `NotConstant` for anything but literals, constants, arithmetic, `-`, set and list literals and
    the functions the registry folds, whatever it reads.
    """
    for x in n.walk(e):
        if not (isinstance(x, _CONSTANT) or (isinstance(x, n.Call) and x.func in _CONSTANT_FUNCS)):
            raise NotConstant
    return _Constants(binding).eval(e, Env({}))


def render(value: Any) -> str:
    """A value as a policy author would write it (for explanations)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(render(x) for x in value) + "]"
    if isinstance(value, frozenset):
        return "{" + ", ".join(sorted(render(x) for x in value)) + "}"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k}: {render(x)}" for k, x in value.items() if x is not None) + " }"
    if value is None:
        return "absent"
    return str(value)


__all__ = ["Env", "Evaluator", "Interpreter", "NotConstant", "const_eval", "render", "render_path"]
