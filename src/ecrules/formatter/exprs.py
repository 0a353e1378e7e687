"""Expressions, laid out: on one line when they fit (`flat`), else broken at `and` / `or`, then
inside quantifiers, calls and collection literals (`lay`), with the fewest parentheses the
registry's precedences allow (`semantics.operators`), except that `and` inside `or` and a
comparison under `not` are always parenthesized, for the reader."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Iterable

from .. import nodes as n
from ..semantics import operators as ops
from .layout import INDENT, WIDTH, Anchor, Frag, extent
from .stream import Stream

# `f(x in xs ...)` reads as a quantifier: a first call argument that starts so is parenthesized
_QUANT_LIKE = re.compile(r"[A-Za-z_][A-Za-z0-9_]* in\b")
_POSTFIX = ops.POSTFIX
#: what an operand of `and` / `or` needs: `and` inside `or` is parenthesized (for the reader: it
#: binds tighter, but nobody should have to recall that)
_BOOL_OPERAND = ops.AND + 1
#: what the operand of `not` needs: a comparison under `not` is parenthesized (`not (x in s)`)
_NOT_OPERAND = ops.COMPARE + 1


def _string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def _is_ident(text: str) -> bool:
    return bool(text) and (text[0].isascii() and (text[0].isalpha() or text[0] == "_")) and all(
        ch.isascii() and (ch.isalnum() or ch == "_") for ch in text)


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value.copy_abs() if value.is_zero() else value, "f")  # `-0.0` reads as 0.0
    if isinstance(value, datetime.date):
        return value.isoformat()
    assert isinstance(value, str)
    return _string(value)


def _prec(e: n.Expr) -> int:
    """How tightly `e` binds: the registry's precedence of its operator (`_POSTFIX` for the rest)."""
    if isinstance(e, (n.BoolOp, n.Compare, n.Arith)):
        return ops.precedence(type(e).__name__, e.op)  # an operator the registry lacks is a KeyError
    if isinstance(e, n.Not):
        return ops.NOT_OP.precedence
    if isinstance(e, n.Neg):
        return ops.NEG_OP.precedence
    if isinstance(e, n.Literal) and isinstance(e.value, (int, Decimal)) and not isinstance(e.value, bool) \
            and _literal(e.value).startswith("-"):
        return ops.NEG_OP.precedence
    return _POSTFIX


def _operand_needs(e: n.Compare | n.Arith) -> tuple[int, int]:
    """The precedence the left and right operands of a binary operator need to go without
    parentheses, from the registry: a left-associative operator chains on its left only, a
    comparison never chains."""
    op = ops.operator_of(type(e).__name__, e.op)
    if op.assoc == "left":
        return op.precedence, op.precedence + 1
    return op.precedence + 1, op.precedence + 1


class Exprs:
    """Lays expressions out; the source's token stream says where comments were written."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream

    def _comment_between(self, a: object, b: object) -> bool:
        """Is a comment written between the end of `a` and the start of `b`?"""
        ea, eb = extent(a), extent(b)
        return ea is not None and eb is not None and self.stream.comment_within(ea[1], eb[0])

    def _comment_inside(self, e: object) -> bool:
        """Is a comment written inside `e` (between its first and last token)?"""
        ext = extent(e)
        return ext is not None and self.stream.comment_within(ext[0], ext[1])

    def _comment_after(self, node: object, following: object | None) -> bool:
        """Is a comment written after `node` on its last line, with `following` not on that line?"""
        ext = extent(node)
        if ext is None or not self.stream.comment_after(ext[1]):
            return False
        nxt = extent(following) if following is not None else None
        return nxt is None or nxt[0][0] != ext[1][0]

    def basis_text(self, b: n.Basis) -> str:
        text = f"basis {b.name}" + (f" {_string(b.text)}" if b.text is not None else "")
        if b.valid_from is not None:
            text += f" from {b.valid_from.isoformat()}"
        if b.until is not None:
            text += f" until {b.until.isoformat()}"
        return text

    # -- expressions on one line

    def flat(self, e: n.Expr, need: int) -> str:
        text = self._flat(e)
        return f"({text})" if _prec(e) < need else text

    def _flat(self, e: n.Expr) -> str:
        if isinstance(e, n.Literal):
            return _literal(e.value)
        if isinstance(e, n.Name):
            return e.name
        if isinstance(e, n.Attr):
            obj = self.flat(e.obj, _POSTFIX)
            if isinstance(e.obj, n.Has):
                obj = f"({obj})"
            return f"{obj}.{e.name}"
        if isinstance(e, n.Has):
            return f"has {self._flat(e.path)}"
        if isinstance(e, n.Not):
            return f"not {self.flat(e.operand, _NOT_OPERAND)}"
        if isinstance(e, n.BoolOp):
            return f" {e.op} ".join(self.flat(x, _BOOL_OPERAND) for x in e.operands)
        if isinstance(e, (n.Compare, n.Arith)):
            lp, rp = _operand_needs(e)
            return f"{self.flat(e.left, lp)} {e.op} {self.flat(e.right, rp)}"
        if isinstance(e, n.Neg):
            return f"-{self.flat(e.operand, ops.NEG_OP.precedence)}"
        if isinstance(e, n.Call):
            return f"{e.func}({', '.join(self._arg(e, i) for i in range(len(e.args)))})"
        if isinstance(e, n.Quant):
            text = f"{e.kind}({e.var} in {self.flat(e.source, 0)}"
            if e.where is not None:
                text += f" where {self.flat(e.where, 0)}"
            if e.body is not None:
                text += f": {self.flat(e.body, 0)}"
            return text + ")"
        if isinstance(e, n.SetLit):
            return self._collection("{", "}", [self._member(e, k) for k in range(len(e.elements))])
        if isinstance(e, n.ListLit):
            return self._collection("[", "]", [self.flat(x, 0) for x in e.elements])
        if isinstance(e, n.RecordLit):
            return self._collection("{", "}", [f"{f.name}: {self.flat(f.value, 0)}" for f in e.fields])
        raise TypeError(f"cannot format {type(e).__name__}")  # pragma: no cover

    def _member(self, e: n.SetLit, k: int) -> str:
        return " ".join([self.flat(e.elements[k], 0)] + [self.basis_text(b) for b in e.bases_of(k)])

    def _arg(self, call: n.Call, i: int) -> str:
        text = self.flat(call.args[i], 0)
        return f"({text})" if i == 0 and _QUANT_LIKE.match(text) else text

    @staticmethod
    def _collection(open_: str, close: str, parts: list[str]) -> str:
        return f"{open_} {', '.join(parts)} {close}" if parts else open_ + close

    # -- expressions over lines

    def lay(self, e: n.Expr, col: int, need: int, indent: int, top: bool = False) -> Frag:
        """Lay `e` out starting at column `col` on a line indented `indent`; continuation lines of
        a top-level `and`/`or` chain are indented `indent + 2`."""
        text = self.flat(e, need)
        # a condition, quantifier or literal with comments inside keeps its lines for them;
        # a set whose members carry bases puts one member a line
        based = isinstance(e, n.SetLit) and any(e.bases)
        if col + len(text) <= WIDTH and not self._comment_inside(e) and not based:
            frag = Frag(col, text)
            self._anchor_all(frag, e)
            return frag
        if _prec(e) < need:
            frag = Frag(col, "(")
            frag.inline(self._lay_bare(e, col + 1, indent, cont=col + 1))
            frag.add(")")
            frag.anchor(e, begins=False)
            return frag
        frag = self._lay_bare(e, col, indent, cont=indent + INDENT if top else col)
        return frag

    def _anchor_all(self, frag: Frag, e: n.Expr) -> None:
        """Anchor `e` (beginning the fragment) and everything inside it, all on line 0."""
        frag.anchor(e, begins=True)
        for sub in _subnodes(e):
            frag.anchor(sub)

    def _lay_bare(self, e: n.Expr, col: int, indent: int, cont: int) -> Frag:
        """`e` without parentheses of its own, broken where it can be."""
        if isinstance(e, n.BoolOp):
            inner = _BOOL_OPERAND
            frag = self.lay(e.operands[0], col, inner, indent)
            for x in e.operands[1:]:
                line = Frag(cont, f"{e.op} ")
                line.inline(self.lay(x, cont + len(e.op) + 1, inner, cont))
                for a in line.anchors:
                    if a.first == 0 and a.start == (extent(x) or ((0, 0), (0, 0)))[0]:
                        a.begins = True
                frag.below(line)
            frag.anchor(e, begins=True)
            return frag
        if isinstance(e, n.Not):
            frag = Frag(col, "not ")
            frag.inline(self.lay(e.operand, col + 4, _NOT_OPERAND, indent))
            frag.anchor(e, begins=True)
            return frag
        if isinstance(e, (n.Compare, n.Arith)):
            lp, rp = _operand_needs(e)
            frag = self.lay(e.left, col, lp, indent)
            frag.add(f" {e.op} ")
            frag.inline(self.lay(e.right, frag.end_col, rp, indent))
            frag.anchor(e, begins=True)
            return frag
        if isinstance(e, n.Quant) and e.body is not None:
            head = f"{e.kind}({e.var} in {self.flat(e.source, 0)}"
            if e.where is not None:
                head += f" where {self.flat(e.where, 0)}"
            frag = Frag(col, head + ":")
            for sub in [e.source] + ([e.where] if e.where is not None else []):
                frag.anchor(sub)
                for s in _subnodes(sub):
                    frag.anchor(s)
            body_col = col + len(e.kind) + 1
            body = Frag(body_col, "")
            body.inline(self.lay(e.body, body_col, 0, body_col), keep_begins=True)
            frag.below(body)
            frag.add(")")
            frag.anchor(e, begins=True)
            return frag
        if isinstance(e, n.Call) and e.args:
            frag = Frag(col, f"{e.func}(")
            for i, arg in enumerate(e.args):
                if i:
                    frag.add(", ")
                if i == 0 and _QUANT_LIKE.match(self.flat(arg, 0)):
                    frag.inline(self.lay(arg, frag.end_col, _POSTFIX + 1, indent))
                else:
                    frag.inline(self.lay(arg, frag.end_col, 0, indent))
            frag.add(")")
            frag.anchor(e, begins=True)
            return frag
        if isinstance(e, (n.SetLit, n.ListLit, n.RecordLit)):
            return self._lay_collection(e, col, indent)
        if isinstance(e, n.Attr):
            frag = self.lay(e.obj, col, _POSTFIX, indent) if not isinstance(e.obj, n.Has) else \
                Frag(col, f"({self.flat(e.obj, 0)})")
            frag.add(f".{e.name}")
            frag.anchor(e, begins=True)
            return frag
        if isinstance(e, n.Neg):
            frag = Frag(col, "-")
            frag.inline(self.lay(e.operand, col + 1, ops.NEG_OP.precedence, indent))
            frag.anchor(e, begins=True)
            return frag
        frag = Frag(col, self._flat(e))
        self._anchor_all(frag, e)
        return frag

    def _lay_collection(self, e: n.SetLit | n.ListLit | n.RecordLit, col: int, indent: int) -> Frag:
        """`{` / `[`, then the elements packed on lines indented one level, then the closing bracket."""
        open_, close = ("[", "]") if isinstance(e, n.ListLit) else ("{", "}")
        inner = indent + INDENT
        parts: list[tuple[object, Frag]] = []
        items: Iterable[object] = e.fields if isinstance(e, n.RecordLit) else e.elements
        for item in items:
            if isinstance(item, n.FieldInit):
                piece = Frag(inner, f"{item.name}: ")
                piece.inline(self.lay(item.value, piece.end_col, 0, inner))
            else:
                assert not isinstance(item, n.FieldInit)
                piece = self.lay(item, inner, 0, inner)  # type: ignore[arg-type]
            piece.anchor(item, begins=True)
            if isinstance(e, n.SetLit):
                for b in e.bases_of(len(parts)):
                    piece.add(" " + self.basis_text(b))
                    piece.anchor(b)
            parts.append((item, piece))
        based = isinstance(e, n.SetLit) and any(e.bases)
        frag = Frag(col, open_)
        line: Frag | None = None
        for i, (item, piece) in enumerate(parts):
            last = i == len(parts) - 1
            if not last:
                piece.add(",")
            one_line = len(piece.lines) == 1
            width = len(piece.lines[0].text)
            # a comment written after an element ends that element's line
            ends_line = based or self._comment_after(item, None if last else parts[i + 1][0])
            fresh = i > 0 and self._comment_between(parts[i - 1][0], item)
            if line is not None and one_line and not fresh and line.end_col + 1 + width <= WIDTH:
                line.add(" ")
                line.inline(piece)
            else:
                if line is not None:
                    frag.below(line)
                line = Frag(inner, "")
                line.inline(piece, keep_begins=True)
            if not one_line or ends_line:
                frag.below(line)
                line = None
        if line is not None:
            frag.below(line)
        closing = Frag(indent, close)
        end = extent(e)
        if end is not None:
            at = (end[1][0], end[1][1] - 1)
            closing.anchors.append(Anchor(at, (at[0], at[1] + 1), 0, 0, True, closing=True))
        frag.below(closing)
        frag.anchor(e, begins=True)
        return frag


def _subnodes(e: n.Expr) -> list[object]:
    """Every node inside `e` (not `e` itself), record-literal fields included."""
    found: list[object] = []
    stack: list[object] = list(reversed(_kids(e)))
    while stack:
        x = stack.pop()
        found.append(x)
        stack.extend(reversed(_kids(x)))
    return found


def _kids(x: object) -> list[object]:
    if isinstance(x, n.RecordLit):
        return list(x.fields)
    if isinstance(x, n.FieldInit):
        return [x.value]
    if isinstance(x, n.Has):
        return []
    return list(n.children(x))  # type: ignore[arg-type]
