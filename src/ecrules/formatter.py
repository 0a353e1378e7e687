"""`ecrules fmt`: the canonical layout of a policy, comments kept.

One generator walks the AST and lays every construct out as lines (`_Frag`): headers first in
their written order, 2-space indentation inside blocks, one clause a line, expressions on one
line when they fit in 100 columns and otherwise broken at `and` / `or` (then inside quantifiers
and collection literals), with the fewest parentheses the precedence table allows, except
that `and` inside `or` and a comparison under `not` are always parenthesized, for the reader.

While laying out, every construct that came from the source leaves an *anchor*: its source
extent and the output lines it landed on. Comments (collected by the lexer, see
`parser.parse_with_comments`) are then placed by those anchors, never dropped:

- a comment on its own line goes on its own line before the construct that follows it in the
  source, when that construct starts an output line (a declaration, a clause, a field, an
  operand of a broken condition, a closing brace);
- a comment after code stays at the end of the output line that holds the construct that ended
  just before it;
- anything else (a comment in the middle of a condition now on one line, a second comment that
  would land on an occupied line) goes on its own line before the innermost enclosing construct
  that starts a line — before the clause, at worst before the declaration.

Blank lines between declarations, clauses and fields are kept (several collapse into one).
"""

from __future__ import annotations

import bisect
import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable, Sequence

from . import nodes as n
from .depth import check_depth
from .diagnostics import PolicyError
from .parser import parse_with_comments
from .source import Source, Span, strip_bom
from .semantics import operators

WIDTH = 100
# `f(x in xs ...)` reads as a quantifier: a first call argument that starts so is parenthesized
_QUANT_LIKE = re.compile(r"[A-Za-z_][A-Za-z0-9_]* in\b")
INDENT = 2

Pos = tuple[int, int]  # (line, column), 1-based as Lark reports them

_HEADERS = (n.PolicyHeader, n.Combine, n.Default, n.AsOf)

# precedence, loosest first (LANGUAGE.md, "Fine points")
_OR, _AND, _NOT, _CMP, _ADD, _MUL, _NEG, _POSTFIX = 1, 2, 3, 4, 5, 6, 7, 8
_PREC_OF_OP = {token: op.precedence for token, op in operators.ARITH_OPS.items()}  # the registry's


def format_source(text: str, name: str = "<string>") -> str:
    """The canonical layout of the policy `text`; raises `PolicyError` when it does not parse.

    A leading byte-order mark is dropped: the layout is UTF-8 without one, so `fmt` removes it.
    """
    text = strip_bom(text)
    source = Source(name, text)
    module, diags, comments = parse_with_comments(source)
    if module is None or any(d.severity == "error" for d in diags):
        raise PolicyError(diags)
    too_deep = check_depth([module])  # the layout recurses: refuse what the checker refuses
    if too_deep:
        raise PolicyError(too_deep)
    out = format_module(module, comments, text)
    _check_round_trip(module, comments, out, name)
    # where comments move (a second comment for an occupied line end), one more pass may settle
    # the layout further: repeat to the fixed point, so that formatting twice changes nothing
    for _ in range(3):
        again_module, _, again_comments = parse_with_comments(Source(name, out))
        assert again_module is not None
        again = format_module(again_module, again_comments, out)
        if again == out:
            break
        _check_round_trip(module, comments, again, name)
        out = again
    return out


class FormatterBug(Exception):
    """The layout would change the policy's meaning or lose a comment: nothing is written."""


def hoist_headers(module: n.Module) -> n.Module:
    """`module` with its headers first, in their written order: the formatter's declaration order."""
    headers: list[n.Decl] = [d for d in module.decls if isinstance(d, _HEADERS)]
    rest: list[n.Decl] = [d for d in module.decls if not isinstance(d, _HEADERS)]
    return n.Module(tuple(headers + rest), module.span)


def _check_round_trip(module: n.Module, comments: Sequence[tuple[int, int, str]], out: str, name: str) -> None:
    """The formatted text must parse to the same tree (spans aside) and keep every comment."""
    again, diags, kept = parse_with_comments(Source(name, out))
    if again is None or any(d.severity == "error" for d in diags) or again != hoist_headers(module):
        raise FormatterBug(f"{name}: the formatted text would not mean the same; left unchanged")
    if sorted(c[2].rstrip() for c in comments) != sorted(c[2].rstrip() for c in kept):
        raise FormatterBug(f"{name}: the formatted text would lose a comment; left unchanged")


def format_module(module: n.Module, comments: Sequence[tuple[int, int, str]] = (), text: str = "") -> str:
    """Lay out a parsed module. `comments` and `text` are the source's (for comments and blank
    lines); without them the layout depends on the tree alone."""
    gen = _Gen(text, comments)
    gen.module(module)
    return gen.render(list(comments))


# ---- lines and anchors -----------------------------------------------------------------------


@dataclass
class _Anchor:
    start: Pos
    end: Pos
    first: int  # output line where it starts (relative to its fragment until placed)
    last: int  # output line where it ends
    begins: bool  # its output starts its line (comments may go on their own line before it)
    item: bool = False  # a declaration, clause or field: keeps a blank line written before it
    closing: bool = False  # a closing brace: comments before it are indented one level deeper


@dataclass
class _Line:
    indent: int
    text: str
    trailing: str | None = None
    before: list[tuple[int, str, bool]] = field(default_factory=list)  # (indent, comment, blank before)
    blank: bool = False  # a blank line before it


class _Frag:
    """Lines under construction, with the anchors of what they hold."""

    def __init__(self, indent: int = 0, text: str = "") -> None:
        self.lines: list[_Line] = [_Line(indent, text)]
        self.anchors: list[_Anchor] = []

    @property
    def end_col(self) -> int:
        last = self.lines[-1]
        return last.indent + len(last.text)

    def add(self, text: str) -> _Frag:
        self.lines[-1].text += text
        return self

    def anchor(self, node: object, first: int = 0, last: int | None = None, begins: bool = False,
               item: bool = False) -> None:
        ext = _extent(node)
        if ext is not None:
            self.anchors.append(_Anchor(ext[0], ext[1], first, len(self.lines) - 1 if last is None else last,
                                        begins, item))

    def inline(self, other: _Frag, keep_begins: bool = False) -> _Frag:
        """Continue the last line with `other`'s first line; `other`'s next lines follow."""
        base = len(self.lines) - 1
        starts_line = self.lines[-1].text == ""
        self.lines[-1].text += other.lines[0].text
        if starts_line:
            self.lines[-1].indent = other.lines[0].indent
        for a in other.anchors:
            if a.first == 0 and not (keep_begins or starts_line):
                a.begins = False
            a.first += base
            a.last += base
            self.anchors.append(a)
        self.lines.extend(other.lines[1:])
        return self

    def below(self, other: _Frag) -> _Frag:
        """Append `other` as new lines."""
        if len(self.lines) == 1 and self.lines[0].text == "" and not self.anchors:
            self.lines = []
        base = len(self.lines)
        for a in other.anchors:
            a.first += base
            a.last += base
            self.anchors.append(a)
        self.lines.extend(other.lines)
        return self


def _extent(node: object) -> tuple[Pos, Pos] | None:
    span = getattr(node, "span", None)
    if not isinstance(span, Span) or not span.source.text:
        return None
    start: Pos = (span.line, span.column)
    end: Pos = (span.end_line, span.end_column)
    if isinstance(node, n.FieldInit):
        value = _extent(node.value)
        if value is not None:
            end = max(end, value[1])
    return start, end


# ---- literals --------------------------------------------------------------------------------


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
    if isinstance(e, n.BoolOp):
        return _OR if e.op == "or" else _AND
    if isinstance(e, n.Not):
        return _NOT
    if isinstance(e, n.Compare):
        return _CMP
    if isinstance(e, n.Arith):
        return _PREC_OF_OP.get(e.op, _ADD)
    if isinstance(e, n.Neg):
        return _NEG
    if isinstance(e, n.Literal) and isinstance(e.value, (int, Decimal)) and not isinstance(e.value, bool) \
            and _literal(e.value).startswith("-"):
        return _NEG
    return _POSTFIX


# ---- the generator ---------------------------------------------------------------------------


class _Gen:
    def __init__(self, text: str, comments: Sequence[tuple[int, int, str]] = ()) -> None:
        self.text = text
        self.src_lines = text.split("\n")
        self.out = _Frag()
        self.comment_cols = {line: col for line, col, _ in comments}
        self.comment_pos = sorted((line, col) for line, col, _ in comments)

    def _comment_between(self, a: object, b: object) -> bool:
        """Is a comment written between the end of `a` and the start of `b`?"""
        ea, eb = _extent(a), _extent(b)
        if ea is None or eb is None:
            return False
        i = bisect.bisect_right(self.comment_pos, ea[1])
        return i < len(self.comment_pos) and self.comment_pos[i] < eb[0]

    def _comment_inside(self, e: object) -> bool:
        """Is a comment written inside `e` (between its first and last token)?"""
        ext = _extent(e)
        if ext is None or not self.comment_pos:
            return False
        i = bisect.bisect_right(self.comment_pos, ext[0])
        return i < len(self.comment_pos) and self.comment_pos[i] < ext[1]

    def _comment_after(self, node: object, following: object | None) -> bool:
        """Is a comment written after `node` on its last line, with `following` not on that line?"""
        ext = _extent(node)
        if ext is None:
            return False
        line, col = ext[1]
        if self.comment_cols.get(line, 0) < col:
            return False
        nxt = _extent(following) if following is not None else None
        return nxt is None or nxt[0][0] != line

    # -- source helpers

    def _blank_before(self, line: int) -> bool:
        """Is source line `line - 1` blank (and `line` not the first)?"""
        return 2 <= line <= len(self.src_lines) and self.src_lines[line - 2].strip() == ""

    def _first_on_line(self, pos: Pos) -> bool:
        line, col = pos
        return 1 <= line <= len(self.src_lines) and self.src_lines[line - 1][: col - 1].strip() == ""

    def _offset(self, pos: Pos) -> int:
        line, col = pos
        return sum(len(s) + 1 for s in self.src_lines[: line - 1]) + col - 1

    def _pos(self, offset: int) -> Pos:
        before = self.text[:offset]
        line = before.count("\n") + 1
        return line, offset - (before.rfind("\n") + 1) + 1

    def _keyword_before(self, node: object, words: tuple[str, ...]) -> Pos | None:
        """Where the keyword written just before `node` starts (`set` before a set's name)."""
        ext = _extent(node)
        if ext is None:
            return None
        i = self._offset(ext[0])
        j = i
        while j > 0 and self.text[j - 1] in " \t\r\n":
            j -= 1
        k = j
        while k > 0 and (self.text[k - 1].isalnum() or self.text[k - 1] == "_"):
            k -= 1
        return self._pos(k) if self.text[k:j] in words else None

    def _next_char(self, after: Pos, ch: str) -> Pos | None:
        """The position of `ch` when it is the next thing after `after` (white space and comments skipped)."""
        return self._next_word(after, ch)

    def _skip_blank(self, i: int) -> int:
        """The offset of the first character at or after `i` that is not white space or a comment."""
        text = self.text
        while i < len(text):
            if text[i] in " \t\r\n":
                i += 1
            elif text[i] == "#":
                while i < len(text) and text[i] != "\n":
                    i += 1
            else:
                break
        return i

    # -- items

    def _item(self, frag: _Frag, start: Pos | None, end: Pos | None, node: object | None = None) -> None:
        """Append a line-level construct (declaration, clause, field) to the output."""
        if node is not None and (start is None or end is None):
            ext = _extent(node)
            if ext is not None:
                start = start or ext[0]
                end = end or ext[1]
        if start is not None and end is not None:
            frag.anchors.append(_Anchor(start, end, 0, len(frag.lines) - 1, True, item=True))
            if self._first_on_line(start) and self._blank_before(start[0]):
                frag.lines[0].blank = True
        self.out.below(frag)

    def _closing(self, indent: int, text: str, at: Pos | None) -> None:
        frag = _Frag(indent, text)
        if at is not None:
            frag.anchors.append(_Anchor(at, (at[0], at[1] + 1), 0, 0, True, closing=True))
        self.out.below(frag)

    def _header(self, indent: int, text: str, start: Pos | None) -> None:
        """The opening line of a block: `rule X deny {`; comments after the `{` stay on it."""
        frag = _Frag(indent, text)
        if start is not None:
            frag.anchors.append(_Anchor(start, start, 0, 0, True, item=True))
            if self._first_on_line(start) and self._blank_before(start[0]):
                frag.lines[0].blank = True
        self.out.below(frag)

    def _end_of(self, node: object) -> Pos | None:
        ext = _extent(node)
        return None if ext is None else ext[1]

    def _start_of(self, node: object) -> Pos | None:
        ext = _extent(node)
        return None if ext is None else ext[0]

    def _brace_close(self, span_node: object) -> Pos | None:
        end = self._end_of(span_node)
        return None if end is None else (end[0], end[1] - 1)

    # -- module

    def module(self, module: n.Module) -> None:
        for decl in hoist_headers(module).decls:
            self.decl(decl)

    def decl(self, d: n.Decl) -> None:
        if isinstance(d, n.PolicyHeader):
            text = f"policy {_string(d.name)}" + (f" version {_string(d.version)}" if d.version is not None else "")
            self._item(_Frag(0, text), None, None, d)
        elif isinstance(d, n.Combine):
            self._item(_Frag(0, f"combine {d.algorithm}"), None, None, d)
        elif isinstance(d, n.Default):
            self._item(_Frag(0, f"default {d.outcome}"), None, None, d)
        elif isinstance(d, n.AsOf):
            self._item(_Frag(0, f"as_of {d.field}"), None, None, d)
        elif isinstance(d, n.Import):
            self._item(_Frag(0, f"import {_string(d.path)}"), None, None, d)
        elif isinstance(d, n.Schema):
            self.schema(d)
        elif isinstance(d, n.Instrument):
            self.instrument(d)
        elif isinstance(d, n.SetDecl):
            self.set_decl(d)
        elif isinstance(d, n.ScreeningDecl):
            self.screening_decl(d)
        elif isinstance(d, (n.ConstDecl, n.LetDecl)):
            word = "const" if isinstance(d, n.ConstDecl) else "let"
            start = self._keyword_before(d, (word,)) or self._start_of(d)
            frag = _Frag(0, f"{word} {d.name} = ")
            frag.inline(self.lay(d.value, frag.end_col, 0, 0, top=True))
            self._item(frag, start, self._end_of(d.value))
        elif isinstance(d, n.Rule):
            self.rule(d)
        elif isinstance(d, n.Invariant):
            self.invariant(d)
        elif isinstance(d, n.Constraint):
            self.constraint(d)
        elif isinstance(d, n.Test):
            self.test(d)
        else:  # pragma: no cover - every declaration is handled above
            raise TypeError(f"cannot format {type(d).__name__}")

    # -- schema

    def schema(self, s: n.Schema) -> None:
        self._header(0, "schema {", self._start_of(s))
        for decl in s.decls:
            word = "record" if isinstance(decl, n.RecordDecl) else "type"
            start = self._keyword_before(decl, (word,)) or self._start_of(decl)
            close = self._shape_close(decl)
            if not decl.fields:
                self._item(_Frag(INDENT, f"{word} {decl.name} {{}}"), start, close)
                continue
            self._header(INDENT, f"{word} {decl.name} {{", start)
            for f in decl.fields:
                frag = _Frag(2 * INDENT, f"{f.name}: {self.type_expr(f.type)}")
                self._item(frag, self._start_of(f), self._type_end(f.type))
            self._closing(INDENT, "}", close)
        self._closing(0, "}", self._brace_close(s))

    def _type_end(self, t: n.TypeExpr) -> Pos | None:
        ext = _extent(t)
        if ext is None:
            return None
        end = ext[1]
        base = t.base
        if isinstance(base, n.EnumType) and base.member_spans:
            last = base.member_spans[-1]
            end = max(end, (last.end_line, last.end_column))
        return end

    def _shape_close(self, decl: n.RecordDecl | n.TypeDecl) -> Pos | None:
        """Where the `}` of a record or type is: after its last field's type, or after its `{`."""
        if not decl.fields:
            end = self._end_of(decl)
            brace = None if end is None else self._next_char(end, "{")
            return None if brace is None else self._next_char((brace[0], brace[1] + 1), "}")
        last = decl.fields[-1].type
        ext = _extent(last)
        if ext is None:
            return None
        pos: Pos | None = ext[1]
        for ch in _unclosed(last):  # what the type's span leaves out: `}` of an enum, `>` of a list
            assert pos is not None
            found = self._next_char(pos, ch)
            if found is None and ch == "}":  # a trailing comma in the enum
                comma = self._next_char(pos, ",")
                found = None if comma is None else self._next_char((comma[0], comma[1] + 1), ch)
            if found is None:
                return None
            pos = (found[0], found[1] + 1)
        assert pos is not None
        return self._next_char(pos, "}")

    def type_expr(self, t: n.TypeExpr) -> str:
        base = t.base
        if isinstance(base, n.NamedType):
            text = base.name
        elif isinstance(base, n.ListType):
            text = f"list<{self.type_expr(base.elem)}>"
        elif isinstance(base, n.SetType):
            text = f"set<{self.type_expr(base.elem)}>"
        else:
            members = ", ".join(m if _is_ident(m) else _string(m) for m in base.members)
            text = f"enum {{ {members} }}"
        return text + ("?" if t.optional else "")

    # -- declarations

    def instrument(self, d: n.Instrument) -> None:
        self._header(0, f"instrument {d.id} {{", self._start_of(d))
        for c in d.clauses:
            if isinstance(c, n.Scope):
                text = f"scope {c.category}" + (" " + ", ".join(_string(v) for v in c.values) if c.values else "")
            elif isinstance(c.value, datetime.date):
                text = f"{c.key} {c.value.isoformat()}"
            else:
                text = f"{c.key} {c.value if c.key == 'kind' else _string(c.value)}"
            self._item(_Frag(INDENT, text), None, None, c)
        self._closing(0, "}", self._brace_close(d))

    def basis_text(self, b: n.Basis) -> str:
        text = f"basis {b.name}" + (f" {_string(b.text)}" if b.text is not None else "")
        if b.valid_from is not None:
            text += f" from {b.valid_from.isoformat()}"
        if b.until is not None:
            text += f" until {b.until.isoformat()}"
        return text

    def set_decl(self, d: n.SetDecl) -> None:
        start = self._keyword_before(d, ("set",)) or self._start_of(d)
        frag = _Frag(0, f"set {d.name}: {self.type_expr(d.elem_type)} = ")
        if isinstance(d.source, n.FileRef):
            frag.add(f"file {_string(d.source.path)}")
            end = self._end_of(d.source)
        else:
            frag.inline(self.lay(d.source, frag.end_col, 0, 0, top=True))
            end = self._end_of(d.source)
        self._item(frag, start, end)
        for b in d.bases:
            self._item(_Frag(INDENT, self.basis_text(b)), None, None, b)

    def screening_decl(self, d: n.ScreeningDecl) -> None:
        start = self._keyword_before(d, ("screening",)) or self._start_of(d)
        frag = _Frag(0, f"screening {d.name} = file {_string(d.source.path)}")
        if d.format is not None:
            frag.add(f" format {d.format}")
        self._item(frag, start, self._end_of(d.source))
        if d.threshold is not None:
            self._item(_Frag(INDENT, f"threshold {d.threshold}"), None, None, None)
        if d.cleared is not None:
            self._item(_Frag(INDENT, f"cleared file {_string(d.cleared.path)}"), None, None, d.cleared)
        for r in d.regimes:
            self._item(_Frag(INDENT, f"regime {_string(r.name)} {self.basis_text(r.basis)}"), None, None, r)

    def rule(self, r: n.Rule) -> None:
        self._header(0, f"rule {r.id} {r.outcome} {{", self._start_of(r))
        for c in r.clauses:
            self._item(self.clause(c), None, None, c)
        self._closing(0, "}", self._brace_close(r))

    def clause(self, c: n.Clause) -> _Frag:
        v = c.value
        if c.kind in ("title", "require"):
            assert isinstance(v, str)
            return _Frag(INDENT, f"{c.kind} {_string(v)}")
        if c.kind in ("effective", "expires"):
            assert isinstance(v, datetime.date)
            return _Frag(INDENT, f"{c.kind} {v.isoformat()}")
        if c.kind == "waives":
            assert isinstance(v, tuple)
            return _Frag(INDENT, "waives " + ", ".join(ref.name for ref in v if isinstance(ref, n.Ref)))
        if c.kind == "basis":
            assert isinstance(v, n.Basis)
            return _Frag(INDENT, self.basis_text(v))
        assert c.kind == "when"
        frag = _Frag(INDENT, "when ")
        return frag.inline(self.lay(v, frag.end_col, 0, INDENT, top=True))  # type: ignore[arg-type]

    def invariant(self, d: n.Invariant) -> None:
        head = "invariant " + (f"on {d.on} " if d.on is not None else "") + f"{_string(d.message)} {{"
        self._block_expr(head, d.expr, d)

    def _block_expr(self, head: str, expr: n.Expr, node: object) -> None:
        """`HEAD { EXPR }`: on one line when it fits, else EXPR alone inside the braces."""
        flat = self.flat(expr, 0)
        if len(head) + len(flat) + 2 <= WIDTH:
            frag = _Frag(0, head + " ")
            frag.inline(self.lay(expr, frag.end_col, 0, 0, top=True))
            frag.add(" }")
            self._item(frag, None, None, node)
            return
        self._header(0, head, self._start_of(node))
        frag = _Frag(INDENT, "")
        frag.inline(self.lay(expr, INDENT, 0, INDENT, top=True), keep_begins=True)
        self._item(frag, None, None, expr)
        self._closing(0, "}", self._brace_close(node))

    def constraint(self, d: n.Constraint) -> None:
        self._header(0, f"constraint {d.name} {{", self._start_of(d))
        body = d.body
        if isinstance(body, n.Protect):
            targets = [str(p) for p in body.paths] + [f"type {t.name}" for t in body.types]
            ends = [e for e in map(self._end_of, (*body.paths, *body.types)) if e is not None]
            self._item(_Frag(INDENT, "protect " + ", ".join(targets)), self._start_of(body), max(ends, default=None))
            if body.unless:
                frag = _Frag(INDENT, "unless basis " + ", ".join(ref.name for ref in body.unless))
                self._item(frag, self._start_of(body.unless[0]), self._end_of(body))
        else:
            frag = _Frag(INDENT, f"{body.quantifier} {body.outcome} when ")
            frag.inline(self.lay(body.expr, frag.end_col, 0, INDENT, top=True))
            self._item(frag, None, None, body)
        self._closing(0, "}", self._brace_close(d))

    def test(self, t: n.Test) -> None:
        self._header(0, f"test {_string(t.name)} {{", self._start_of(t))
        frag = _Frag(INDENT, "given ")
        frag.inline(self.lay(t.given, frag.end_col, 0, INDENT))
        given_start = self._start_of(t.given)
        self._item(frag, self._keyword_before(t.given, ("given",)) or given_start, self._end_of(t.given))
        if t.expect == "error":
            text = "expect error" + (f" field {_string(t.error_field)}" if t.error_field is not None else "")
        else:
            text = f"expect {t.expect}"
            if t.fired is not None:
                text += " fired" + ("" if not t.fired else " " + ", ".join(ref.name for ref in t.fired))
        given_end = self._end_of(t.given)
        expect_start = self._next_word(given_end, "expect") if given_end is not None else None
        expect_end = None
        if expect_start is not None:
            expect_end = self._end_of(t.fired[-1]) if t.fired else None
            expect_end = expect_end or (expect_start[0], expect_start[1] + len("expect"))
        self._item(_Frag(INDENT, text), expect_start, expect_end)
        self._closing(0, "}", self._brace_close(t))

    def _next_word(self, after: Pos, word: str) -> Pos | None:
        """The position of `word` when it is the next thing after `after`."""
        i = self._skip_blank(self._offset(after))
        return self._pos(i) if self.text.startswith(word, i) else None

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
            return f"not {self.flat(e.operand, _CMP + 1)}"  # `not (x in s)`, not `not x in s`
        if isinstance(e, n.BoolOp):
            inner = _AND + 1 if e.op == "or" else _NOT  # `a or (b and c)`: the reader need not recall precedence
            return f" {e.op} ".join(self.flat(x, inner) for x in e.operands)
        if isinstance(e, n.Compare):
            return f"{self.flat(e.left, _ADD)} {e.op} {self.flat(e.right, _ADD)}"
        if isinstance(e, n.Arith):
            p = _PREC_OF_OP.get(e.op, _ADD)
            return f"{self.flat(e.left, p)} {e.op} {self.flat(e.right, p + 1)}"
        if isinstance(e, n.Neg):
            return f"-{self.flat(e.operand, _NEG)}"
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

    def lay(self, e: n.Expr, col: int, need: int, indent: int, top: bool = False) -> _Frag:
        """Lay `e` out starting at column `col` on a line indented `indent`; continuation lines of
        a top-level `and`/`or` chain are indented `indent + 2`."""
        text = self.flat(e, need)
        # a condition, quantifier or literal with comments inside keeps its lines for them;
        # a set whose members carry bases puts one member a line
        based = isinstance(e, n.SetLit) and any(e.bases)
        if col + len(text) <= WIDTH and not self._comment_inside(e) and not based:
            frag = _Frag(col, text)
            self._anchor_all(frag, e)
            return frag
        if _prec(e) < need:
            frag = _Frag(col, "(")
            frag.inline(self._lay_bare(e, col + 1, indent, cont=col + 1))
            frag.add(")")
            frag.anchor(e, begins=False)
            return frag
        frag = self._lay_bare(e, col, indent, cont=indent + INDENT if top else col)
        return frag

    def _anchor_all(self, frag: _Frag, e: n.Expr) -> None:
        """Anchor `e` (beginning the fragment) and everything inside it, all on line 0."""
        frag.anchor(e, begins=True)
        for sub in _subnodes(e):
            frag.anchor(sub)

    def _lay_bare(self, e: n.Expr, col: int, indent: int, cont: int) -> _Frag:
        """`e` without parentheses of its own, broken where it can be."""
        if isinstance(e, n.BoolOp):
            inner = _AND + 1 if e.op == "or" else _NOT  # `a or (b and c)`: the reader need not recall precedence
            frag = self.lay(e.operands[0], col, inner, indent)
            for x in e.operands[1:]:
                line = _Frag(cont, f"{e.op} ")
                line.inline(self.lay(x, cont + len(e.op) + 1, inner, cont))
                for a in line.anchors:
                    if a.first == 0 and a.start == (_extent(x) or ((0, 0), (0, 0)))[0]:
                        a.begins = True
                frag.below(line)
            frag.anchor(e, begins=True)
            return frag
        if isinstance(e, n.Not):
            frag = _Frag(col, "not ")
            frag.inline(self.lay(e.operand, col + 4, _CMP + 1, indent))
            frag.anchor(e, begins=True)
            return frag
        if isinstance(e, (n.Compare, n.Arith)):
            if isinstance(e, n.Compare):
                lp, rp = _ADD, _ADD
            else:
                lp = _PREC_OF_OP.get(e.op, _ADD)
                rp = lp + 1
            frag = self.lay(e.left, col, lp, indent)
            frag.add(f" {e.op} ")
            frag.inline(self.lay(e.right, frag.end_col, rp, indent))
            frag.anchor(e, begins=True)
            return frag
        if isinstance(e, n.Quant) and e.body is not None:
            head = f"{e.kind}({e.var} in {self.flat(e.source, 0)}"
            if e.where is not None:
                head += f" where {self.flat(e.where, 0)}"
            frag = _Frag(col, head + ":")
            for sub in [e.source] + ([e.where] if e.where is not None else []):
                frag.anchor(sub)
                for s in _subnodes(sub):
                    frag.anchor(s)
            body_col = col + len(e.kind) + 1
            body = _Frag(body_col, "")
            body.inline(self.lay(e.body, body_col, 0, body_col), keep_begins=True)
            frag.below(body)
            frag.add(")")
            frag.anchor(e, begins=True)
            return frag
        if isinstance(e, n.Call) and e.args:
            frag = _Frag(col, f"{e.func}(")
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
                _Frag(col, f"({self.flat(e.obj, 0)})")
            frag.add(f".{e.name}")
            frag.anchor(e, begins=True)
            return frag
        if isinstance(e, n.Neg):
            frag = _Frag(col, "-")
            frag.inline(self.lay(e.operand, col + 1, _NEG, indent))
            frag.anchor(e, begins=True)
            return frag
        frag = _Frag(col, self._flat(e))
        self._anchor_all(frag, e)
        return frag

    def _lay_collection(self, e: n.SetLit | n.ListLit | n.RecordLit, col: int, indent: int) -> _Frag:
        """`{` / `[`, then the elements packed on lines indented one level, then the closing bracket."""
        open_, close = ("[", "]") if isinstance(e, n.ListLit) else ("{", "}")
        inner = indent + INDENT
        parts: list[tuple[object, _Frag]] = []
        items: Iterable[object] = e.fields if isinstance(e, n.RecordLit) else e.elements
        for item in items:
            if isinstance(item, n.FieldInit):
                piece = _Frag(inner, f"{item.name}: ")
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
        frag = _Frag(col, open_)
        line: _Frag | None = None
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
                line = _Frag(inner, "")
                line.inline(piece, keep_begins=True)
            if not one_line or ends_line:
                frag.below(line)
                line = None
        if line is not None:
            frag.below(line)
        closing = _Frag(indent, close)
        end = _extent(e)
        if end is not None:
            at = (end[1][0], end[1][1] - 1)
            closing.anchors.append(_Anchor(at, (at[0], at[1] + 1), 0, 0, True, closing=True))
        frag.below(closing)
        frag.anchor(e, begins=True)
        return frag

    # -- output

    def render(self, comments: list[tuple[int, int, str]]) -> str:
        lines = self.out.lines
        if len(lines) == 1 and lines[0].text == "" and not self.out.anchors:
            lines = []
        anchors = self.out.anchors
        tail: list[tuple[str, bool]] = []
        # a line can end with one comment: when several want it, the last one written keeps it
        wanted: dict[int, int] = {}
        for k, (line_no, col, _) in enumerate(comments):
            best = self._trailing_slot(anchors, (line_no, col))
            if best is not None:
                wanted[best.last] = k
        for k, (line_no, col, raw) in enumerate(comments):
            text = raw.rstrip()
            pos = (line_no, col)
            own = self._first_on_line(pos)
            blank = self._blank_before(line_no)
            if not own:
                best = self._trailing_slot(anchors, pos)
                if best is not None and wanted.get(best.last) == k:
                    lines[best.last].trailing = text
                    continue
            else:
                after = [a for a in anchors if a.start > pos]
                if after:
                    first = min(a.start for a in after)
                    at_first = [a for a in after if a.start == first and a.begins]
                    if at_first:
                        target = min(at_first, key=lambda a: a.first)
                        line = lines[target.first]
                        indent = line.indent + (INDENT if target.closing else 0)
                        line.before.append((indent, text, blank))
                        continue
            # nothing better: before the innermost construct that holds it and starts a line
            holders = [a for a in anchors if a.begins and a.start <= pos <= a.end and not a.closing]
            if holders:
                target = max(holders, key=lambda a: (a.start, -a.first))
                line = lines[target.first]
                line.before.append((line.indent, text, blank and own))
                continue
            later = [a for a in anchors if a.begins and a.start > pos]
            if later:
                target = min(later, key=lambda a: (a.start, a.first))
                line = lines[target.first]
                indent = line.indent + (INDENT if target.closing else 0)
                line.before.append((indent, text, blank and own))
                continue
            tail.append((text, blank))
        return self._emit(lines, tail)

    def _trailing_slot(self, anchors: list[_Anchor], pos: Pos) -> _Anchor | None:
        """For a comment after code: the construct that ended just before it on its line."""
        if self._first_on_line(pos):
            return None
        cands = [a for a in anchors if a.end[0] == pos[0] and a.end <= pos]
        return max(cands, key=lambda a: (a.end, a.last)) if cands else None

    def _emit(self, lines: list[_Line], tail: list[tuple[str, bool]]) -> str:
        rows: list[tuple[int, str, str | None]] = []  # (indent, code, trailing comment); "" code = blank

        def blank() -> None:
            if rows and rows[-1][1] != "" and not rows[-1][1].endswith(("{", "[")):
                rows.append((0, "", None))

        for line in lines:
            for indent, text, was_blank in line.before:
                if was_blank:
                    blank()
                rows.append((indent, text, None))
            if line.blank:
                blank()
            rows.append((line.indent, line.text, line.trailing))
        for text, was_blank in tail:
            if was_blank:
                blank()
            rows.append((0, text, None))
        # a comment row's blank handling: a blank line before a declaration with leading comments
        # was kept before the comments (they carry their own flag)
        out: list[str] = []
        i = 0
        while i < len(rows):
            indent, code, trailing = rows[i]
            if trailing is None:
                out.append(" " * indent + code if code else "")
                i += 1
                continue
            # align the trailing comments of consecutive lines
            j = i
            while j < len(rows) and rows[j][2] is not None and rows[j][1]:
                j += 1
            j = max(j, i + 1)
            column = max(rows[k][0] + len(rows[k][1]) for k in range(i, j)) + 2
            for k in range(i, j):
                ind, c, t = rows[k]
                body = " " * ind + c
                out.append(body + " " * (column - len(body)) + (t or ""))
            i = j
        while out and out[-1] == "":
            out.pop()
        return "\n".join(out) + "\n" if out else ""


def _unclosed(t: n.TypeExpr) -> str:
    """The closing characters of a type that its span does not cover."""
    if t.optional:
        return ""
    base = t.base
    if isinstance(base, n.EnumType):
        return "}"
    if isinstance(base, (n.ListType, n.SetType)):
        return _unclosed(base.elem) + ">"
    return ""


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


__all__ = ["format_source", "format_module", "hoist_headers", "FormatterBug", "WIDTH"]
