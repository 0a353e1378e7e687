"""How many element slots the encoding gives each record list, and whether that bound is complete
(a small-model theorem: docs/constraints.md, "The bound")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from .. import nodes as n
from .. import types as t
from ..checked import Checked, ConstInfo, FieldRef, LetInfo, VarRef, var_of

DEFAULT_CAP = 12
#: witness needs saturate here (far above any cap): nested quantifiers multiply them, and 40
#: levels made integers of astronomic size that no deadline check interrupted
SATURATE = 1 << 32


@attrs.define
class Bounds:
    """How many element slots each list gets, and whether that bound is complete.

    Complete means: if any record (or pair) satisfies the query, one whose lists are no longer
    than the bound does too (docs/constraints.md, "The bound"). Each list path gets the sum of
    its *witness needs*: 1 for each `any`/`all`/`in` occurrence that may have to keep an element
    (an `any` that must stay true, an `all` that must stay false), `c + 1` for `len(L)` or
    `count(...)` compared with a constant `c`. A `sum`, or a `len`/`count` compared with something
    else, leaves the bound incomplete: it is then a stated bound, not a small-model theorem.
    """

    sizes: dict[tuple[str, ...], int] = attrs.field(factory=dict)
    incomplete: set[tuple[str, ...]] = attrs.field(factory=set)
    cap: int = DEFAULT_CAP

    def size(self, path: tuple[str, ...]) -> int:
        return self.sizes.get(path, 0)

    @property
    def complete(self) -> bool:
        return not self.incomplete

    @property
    def max(self) -> int:
        return max(self.sizes.values(), default=0)

    def describe(self) -> str:
        if not self.sizes or self.max == 0:
            return "exact (no list is read)"
        parts = ", ".join(f"{'.'.join(p)} <= {k}" for p, k in sorted(self.sizes.items()) if k)
        if self.complete:
            return f"complete: a witness needs at most {parts} elements"
        lists = ", ".join(".".join(p) for p in sorted(self.incomplete))
        return f"for lists of up to {parts} elements (sum or count over {lists}: no small-model theorem)"

    def to_dict(self) -> dict[str, Any]:
        return {"lists": {".".join(p): k for p, k in sorted(self.sizes.items())},
                "complete": self.complete, "incomplete": [".".join(p) for p in sorted(self.incomplete)]}


class BoundCounter:
    """Counts witness needs per list path over a set of expressions (see `Bounds`)."""

    def __init__(self, c: Checked):
        self.c = c
        self.need: dict[tuple[str, ...], int] = {}
        self.incomplete: set[tuple[str, ...]] = set()
        self._lets_seen: set[tuple[int, str]] = set()

    def add(self, e: n.Expr, polarity: int, copy: int = 0, factor: int = 1) -> None:
        """`polarity`: +1 asserted true, -1 asserted false, 0 both (mixed)."""
        self._walk(e, polarity, copy, factor, {})

    def _list_path(self, e: n.Expr, scope: dict[VarRef, tuple[str, ...]]) -> tuple[str, ...] | None:
        if isinstance(e, n.Name):
            b = e.binding
            if isinstance(b, FieldRef) and isinstance(b.field.type, (t.ListT, t.SetT)):
                return (e.name,)
            return None
        if isinstance(e, n.Attr):
            head = self._elem_path(e.obj, scope)
            if head is not None and isinstance(e.type, (t.ListT, t.SetT)):
                return head + (e.name,)
        return None

    def _elem_path(self, e: n.Expr, scope: dict[VarRef, tuple[str, ...]]) -> tuple[str, ...] | None:
        if isinstance(e, n.Name):
            b = e.binding
            if isinstance(b, VarRef):
                return scope.get(b)
            if isinstance(b, FieldRef):
                return (e.name,)
            return None
        if isinstance(e, n.Attr):
            head = self._elem_path(e.obj, scope)
            return head + (e.name,) if head is not None else None
        return None

    def _bump(self, path: tuple[str, ...], k: int) -> None:
        self.need[path] = min(SATURATE, self.need.get(path, 0) + k)

    def _const_int(self, e: n.Expr) -> int | None:
        if isinstance(e, n.Literal) and isinstance(e.value, int) and not isinstance(e.value, bool):
            return e.value
        if isinstance(e, n.Literal) and isinstance(e.value, Decimal):
            return int(e.value) + 1
        if isinstance(e, n.Name):
            b = e.binding
            if isinstance(b, ConstInfo) and isinstance(b.value, (int, Decimal)) and not isinstance(b.value, bool):
                return int(b.value) + 1
        return None

    def _size_term(self, e: n.Expr, scope: dict[VarRef, tuple[str, ...]]) -> tuple[tuple[str, ...], n.Quant | None] | None:
        """`len(L)` or `count(x in L ...)` over a record list."""
        if isinstance(e, n.Call) and e.func == "len" and len(e.args) == 1:
            p = self._list_path(e.args[0], scope)
            return (p, None) if p is not None else None
        if isinstance(e, n.Quant) and e.kind == "count":
            p = self._list_path(e.source, scope)
            return (p, e) if p is not None else None
        if isinstance(e, n.Name):
            b = e.binding
            if isinstance(b, LetInfo):
                return self._size_term(b.expr, {})
        return None

    def _walk(self, e: n.Expr, pol: int, copy: int, factor: int, scope: dict[VarRef, tuple[str, ...]]) -> None:
        if isinstance(e, n.Not):
            self._walk(e.operand, -pol, copy, factor, scope)
            return
        if isinstance(e, n.BoolOp):
            for o in e.operands:
                self._walk(o, pol, copy, factor, scope)
            return
        if isinstance(e, n.Name):
            b = e.binding
            if isinstance(b, LetInfo):
                key = (copy, b.name)
                if key in self._lets_seen:
                    return
                self._lets_seen.add(key)
                self._walk(b.expr, 0, copy, 1, {})  # a let is computed once per record
            return
        if isinstance(e, n.Compare) and e.op in ("<", "<=", ">", ">=", "==", "!="):
            for side, other in ((e.left, e.right), (e.right, e.left)):
                st = self._size_term(side, scope)
                c = self._const_int(other)
                if st is not None and c is not None:
                    path, quant = st
                    self._bump(path, factor * (abs(c) + 1))
                    if quant is not None:
                        inner = {**scope, var_of(quant): path}
                        sub_factor = min(SATURATE, factor * (abs(c) + 1))
                        for x in (quant.where, quant.body):
                            if x is not None:
                                self._walk(x, 0, copy, sub_factor, inner)
                    elif isinstance(side, n.Name):
                        pass
                    self._walk(other, 0, copy, factor, scope)
                    return
        if isinstance(e, n.Compare) and e.op in ("in", "not in"):
            p = self._list_path(e.right, scope)
            if p is not None:
                self._bump(p, factor)
            for x in (e.left, e.right):
                self._walk(x, 0, copy, factor, scope)
            return
        if isinstance(e, n.Call) and e.func == "len":
            p = self._list_path(e.args[0], scope) if e.args else None
            if p is not None:
                self.incomplete.add(p)
                self._bump(p, factor)
            return
        if isinstance(e, n.Quant):
            p = self._list_path(e.source, scope)
            self._walk(e.source, 0, copy, factor, scope)
            inner = dict(scope)
            sub_factor = factor
            if p is not None:
                inner[var_of(e)] = p
                if e.kind in ("sum", "count"):
                    self.incomplete.add(p)
                    self._bump(p, factor)
                elif e.kind == "any" and pol != -1 or e.kind == "all" and pol != 1:
                    self._bump(p, factor)
                sub_factor = min(SATURATE, factor * max(1, self.need.get(p, 1)))
            body_pol = pol if e.kind in ("any", "all") else 0
            if e.where is not None:
                self._walk(e.where, body_pol if e.kind == "any" else -body_pol, copy, sub_factor, inner)
            if e.body is not None:
                self._walk(e.body, body_pol, copy, sub_factor, inner)
            return
        if isinstance(e, n.Compare) and e.op in ("==", "!="):
            for x in (e.left, e.right):
                self._walk(x, 0, copy, factor, scope)
            return
        for x in n.children(e):
            self._walk(x, pol if isinstance(e, n.BoolOp) else 0, copy, factor, scope)

    def bounds(self, cap: int = DEFAULT_CAP, minimum: dict[tuple[str, ...], int] | None = None) -> Bounds:
        sizes: dict[tuple[str, ...], int] = {}
        incomplete = set(self.incomplete)
        for p, k in self.need.items():
            if k > cap:
                incomplete.add(p)
                k = cap
            sizes[p] = k
        for p in incomplete:
            sizes[p] = min(cap, sizes.get(p, 0) + 1)
        for p, k in (minimum or {}).items():
            sizes[p] = max(sizes.get(p, 0), k)
        return Bounds(sizes, incomplete, cap)
