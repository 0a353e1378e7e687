"""Declarations, laid out: headers first in their written order, 2-space indentation inside blocks,
one clause a line, blank lines between declarations, clauses and fields kept (several become
one). Expressions are laid out by `exprs.py`."""

from __future__ import annotations

import datetime

from .. import nodes as n
from .exprs import Exprs, _is_ident, _string
from .layout import INDENT, WIDTH, Anchor, Frag, Pos, extent
from .stream import Stream

_HEADERS = (n.PolicyHeader, n.Combine, n.Default, n.AsOf)


def hoist_headers(module: n.Module) -> n.Module:
    """`module` with its headers first, in their written order: the formatter's declaration order."""
    headers: list[n.Decl] = [d for d in module.decls if isinstance(d, _HEADERS)]
    rest: list[n.Decl] = [d for d in module.decls if not isinstance(d, _HEADERS)]
    return n.Module(tuple(headers + rest), module.span)


class Printer(Exprs):
    """Walks the module and appends each construct's lines to `out`, anchored for comments."""

    def __init__(self, stream: Stream) -> None:
        super().__init__(stream)
        self.out = Frag()
        #: the output line where each declaration starts (comments keep their order within one)
        self.decl_lines: list[int] = []

    # -- source positions, from the token stream

    def _keyword_before(self, node: object, words: tuple[str, ...]) -> Pos | None:
        """Where the keyword written just before `node` starts (`set` before a set's name)."""
        ext = extent(node)
        return None if ext is None else self.stream.word_before(ext[0], words)

    def _next_char(self, after: Pos, text: str) -> Pos | None:
        """Where `text` is written, when it is the next token after `after` (comments skipped)."""
        return self.stream.next_is(after, text)

    # -- items

    def _item(self, frag: Frag, start: Pos | None, end: Pos | None, node: object | None = None) -> None:
        """Append a line-level construct (declaration, clause, field) to the output."""
        if node is not None and (start is None or end is None):
            ext = extent(node)
            if ext is not None:
                start = start or ext[0]
                end = end or ext[1]
        if start is not None and end is not None:
            frag.anchors.append(Anchor(start, end, 0, len(frag.lines) - 1, True, item=True))
            if self.stream.first_on_line(start) and self.stream.blank_before(start[0]):
                frag.lines[0].blank = True
        self.out.below(frag)

    def _closing(self, indent: int, text: str, at: Pos | None) -> None:
        frag = Frag(indent, text)
        if at is not None:
            frag.anchors.append(Anchor(at, (at[0], at[1] + 1), 0, 0, True, closing=True))
        self.out.below(frag)

    def _header(self, indent: int, text: str, start: Pos | None) -> None:
        """The opening line of a block: `rule X deny {`; comments after the `{` stay on it."""
        frag = Frag(indent, text)
        if start is not None:
            frag.anchors.append(Anchor(start, start, 0, 0, True, item=True))
            if self.stream.first_on_line(start) and self.stream.blank_before(start[0]):
                frag.lines[0].blank = True
        self.out.below(frag)

    def _end_of(self, node: object) -> Pos | None:
        ext = extent(node)
        return None if ext is None else ext[1]

    def _start_of(self, node: object) -> Pos | None:
        ext = extent(node)
        return None if ext is None else ext[0]

    def _brace_close(self, span_node: object) -> Pos | None:
        end = self._end_of(span_node)
        return None if end is None else (end[0], end[1] - 1)

    # -- module

    def module(self, module: n.Module) -> None:
        for decl in hoist_headers(module).decls:
            self.decl_lines.append(0 if self.out.empty else len(self.out.lines))
            self.decl(decl)

    def decl(self, d: n.Decl) -> None:
        if isinstance(d, n.PolicyHeader):
            text = f"policy {_string(d.name)}" + (f" version {_string(d.version)}" if d.version is not None else "")
            self._item(Frag(0, text), None, None, d)
        elif isinstance(d, n.Combine):
            self._item(Frag(0, f"combine {d.algorithm}"), None, None, d)
        elif isinstance(d, n.Default):
            self._item(Frag(0, f"default {d.outcome}"), None, None, d)
        elif isinstance(d, n.AsOf):
            self._item(Frag(0, f"as_of {d.field}"), None, None, d)
        elif isinstance(d, n.Import):
            self._item(Frag(0, f"import {_string(d.path)}"), None, None, d)
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
            frag = Frag(0, f"{word} {d.name} = ")
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
                self._item(Frag(INDENT, f"{word} {decl.name} {{}}"), start, close)
                continue
            self._header(INDENT, f"{word} {decl.name} {{", start)
            for f in decl.fields:
                frag = Frag(2 * INDENT, f"{f.name}: {self.type_expr(f.type)}")
                self._item(frag, self._start_of(f), self._type_end(f.type))
            self._closing(INDENT, "}", close)
        self._closing(0, "}", self._brace_close(s))

    def _type_end(self, t: n.TypeExpr) -> Pos | None:
        ext = extent(t)
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
        ext = extent(last)
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
            self._item(Frag(INDENT, text), None, None, c)
        self._closing(0, "}", self._brace_close(d))

    def set_decl(self, d: n.SetDecl) -> None:
        start = self._keyword_before(d, ("set",)) or self._start_of(d)
        frag = Frag(0, f"set {d.name}: {self.type_expr(d.elem_type)} = ")
        if isinstance(d.source, n.FileRef):
            frag.add(f"file {_string(d.source.path)}")
            end = self._end_of(d.source)
        else:
            frag.inline(self.lay(d.source, frag.end_col, 0, 0, top=True))
            end = self._end_of(d.source)
        self._item(frag, start, end)
        for b in d.bases:
            self._item(Frag(INDENT, self.basis_text(b)), None, None, b)

    def screening_decl(self, d: n.ScreeningDecl) -> None:
        start = self._keyword_before(d, ("screening",)) or self._start_of(d)
        frag = Frag(0, f"screening {d.name} = file {_string(d.source.path)}")
        if d.format is not None:
            frag.add(f" format {d.format}")
        self._item(frag, start, self._end_of(d.source))
        if d.threshold is not None:
            self._item(Frag(INDENT, f"threshold {d.threshold}"), None, None, None)
        if d.cleared is not None:
            self._item(Frag(INDENT, f"cleared file {_string(d.cleared.path)}"), None, None, d.cleared)
        for r in d.regimes:
            self._item(Frag(INDENT, f"regime {_string(r.name)} {self.basis_text(r.basis)}"), None, None, r)

    def rule(self, r: n.Rule) -> None:
        self._header(0, f"rule {r.id} {r.outcome} {{", self._start_of(r))
        for c in r.clauses:
            self._item(self.clause(c), None, None, c)
        self._closing(0, "}", self._brace_close(r))

    def clause(self, c: n.Clause) -> Frag:
        v = c.value
        if c.kind in ("title", "require"):
            assert isinstance(v, str)
            return Frag(INDENT, f"{c.kind} {_string(v)}")
        if c.kind in ("effective", "expires"):
            assert isinstance(v, datetime.date)
            return Frag(INDENT, f"{c.kind} {v.isoformat()}")
        if c.kind == "waives":
            assert isinstance(v, tuple)
            return Frag(INDENT, "waives " + ", ".join(ref.name for ref in v if isinstance(ref, n.Ref)))
        if c.kind == "basis":
            assert isinstance(v, n.Basis)
            return Frag(INDENT, self.basis_text(v))
        assert c.kind == "when"
        frag = Frag(INDENT, "when ")
        return frag.inline(self.lay(v, frag.end_col, 0, INDENT, top=True))  # type: ignore[arg-type]

    def invariant(self, d: n.Invariant) -> None:
        head = "invariant " + (f"on {d.on} " if d.on is not None else "") + f"{_string(d.message)} {{"
        self._block_expr(head, d.expr, d)

    def _block_expr(self, head: str, expr: n.Expr, node: object) -> None:
        """`HEAD { EXPR }`: on one line when it fits, else EXPR alone inside the braces."""
        flat = self.flat(expr, 0)
        if len(head) + len(flat) + 2 <= WIDTH:
            frag = Frag(0, head + " ")
            frag.inline(self.lay(expr, frag.end_col, 0, 0, top=True))
            frag.add(" }")
            self._item(frag, None, None, node)
            return
        self._header(0, head, self._start_of(node))
        frag = Frag(INDENT, "")
        frag.inline(self.lay(expr, INDENT, 0, INDENT, top=True), keep_begins=True)
        self._item(frag, None, None, expr)
        self._closing(0, "}", self._brace_close(node))

    def constraint(self, d: n.Constraint) -> None:
        self._header(0, f"constraint {d.name} {{", self._start_of(d))
        body = d.body
        if isinstance(body, n.Protect):
            targets = [str(p) for p in body.paths] + [f"type {t.name}" for t in body.types]
            ends = [e for e in map(self._end_of, (*body.paths, *body.types)) if e is not None]
            self._item(Frag(INDENT, "protect " + ", ".join(targets)), self._start_of(body), max(ends, default=None))
            if body.unless:
                frag = Frag(INDENT, "unless basis " + ", ".join(ref.name for ref in body.unless))
                self._item(frag, self._start_of(body.unless[0]), self._end_of(body))
        else:
            frag = Frag(INDENT, f"{body.quantifier} {body.outcome} when ")
            frag.inline(self.lay(body.expr, frag.end_col, 0, INDENT, top=True))
            self._item(frag, None, None, body)
        self._closing(0, "}", self._brace_close(d))

    def test(self, t: n.Test) -> None:
        self._header(0, f"test {_string(t.name)} {{", self._start_of(t))
        frag = Frag(INDENT, "given ")
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
        expect_start = self._next_char(given_end, "expect") if given_end is not None else None
        expect_end = None
        if expect_start is not None:
            expect_end = self._end_of(t.fired[-1]) if t.fired else None
            expect_end = expect_end or (expect_start[0], expect_start[1] + len("expect"))
        self._item(Frag(INDENT, text), expect_start, expect_end)
        self._closing(0, "}", self._brace_close(t))


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
