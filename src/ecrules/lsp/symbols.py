"""Where each name is written in a document, and what it denotes.

The AST keeps the span of whole declarations; this module finds the span of the name itself
(`set NAME`, `obj.NAME`, `NAME(...)`) and tags it with what it refers to, using the checker's
bindings where it ran and the declarations by name where it did not. Hover and go-to-definition
are then a lookup of the occurrence under the cursor.
"""

from __future__ import annotations

import bisect
import re
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Iterator, Literal, cast

import attrs

from .. import nodes as n
from .. import types as t
from ..checked import ConstInfo, FieldRef, LetInfo, SetInfo, VarRef
from ..source import Source, Span
from .analysis import Analysis

Kind = Literal["field", "set", "const", "let", "rule", "instrument", "type", "screening", "function",
               "var", "import", "file", "basis_kind"]

#: kinds of global names declared once, by `(kind, name)` (fields are keyed by struct and name)
DECLARED = ("set", "const", "let", "rule", "instrument", "type", "screening")


@attrs.frozen(eq=False)
class Occurrence:
    """A name as written: `span` covers the name only."""

    span: Span
    kind: Kind
    name: str
    #: a field: the struct that declares it; a variable: its quantifier; a file: its path
    owner: str | None = None
    quant: n.Quant | None = None
    file: Path | None = None
    declaration: bool = False

    def contains(self, line: int, column: int) -> bool:
        s = self.span
        return s.line == line and s.column <= column <= s.end_column


@lru_cache(maxsize=32)
def _offsets(source: Source) -> list[int]:
    """Offsets of each line's start (lines split on `\\n`, as Lark counts them)."""
    return [0] + [m.end() for m in re.finditer("\n", source.text)]


def _span_at(source: Source, starts: list[int], offset: int, length: int) -> Span:
    line = bisect.bisect_right(starts, offset) - 1
    column = offset - starts[line] + 1
    return Span(source, line + 1, column, line + 1, column + length)


def _name_span(whole: Span, name: str) -> Span:
    """The span of `name` in the declaration `whole`, which may start at its keyword or not."""
    source = whole.source
    starts = _offsets(source)
    begin = starts[whole.line - 1] + whole.column - 1 if whole.line - 1 < len(starts) else 0
    word = rf"(?<![\w.])(?P<name>{re.escape(name)})(?!\w)"
    m = re.compile(rf"(?:(?:set|const|let|type|record|screening|as_of)\s+)?{word}").match(source.text, begin)
    m = m or re.compile(word).search(source.text, begin)
    if m is None:
        return Span(source, whole.line, whole.column, whole.line, whole.column + len(name))
    return _span_at(source, starts, m.start("name"), len(name))


def _head(span: Span, name: str) -> Span:
    """`name` written at the start of `span` (a call, a field declaration, a field in a literal)."""
    return Span(span.source, span.line, span.column, span.line, span.column + len(name))


def _tail(span: Span, name: str) -> Span:
    """`name` written at the end of `span` (`obj.name`)."""
    return Span(span.source, span.end_line, span.end_column - len(name), span.end_line, span.end_column)


def _resolve(source: Source, relative: str) -> Path:
    return (Path(source.name).resolve().parent / relative).resolve()


class Symbols:
    """The occurrences of one document, and the declarations of it and of its imports."""

    def __init__(self, analysis: Analysis):
        self.analysis = analysis
        self.checker = analysis.checker
        self.module = analysis.module
        self.occurrences: list[Occurrence] = []
        #: `(kind, name)` -> the declaration's name span, first declaration wins
        self.declarations: dict[tuple[str, str], Span] = {}
        #: `(struct, field)` -> the field declaration's name span
        self.field_spans: dict[tuple[str, str], Span] = {}
        self.rules: dict[str, n.Rule] = {}
        self.instruments: dict[str, n.Instrument] = {}
        self.types: dict[str, n.RecordDecl | n.TypeDecl] = {}
        self.screenings: dict[str, n.ScreeningDecl] = {}
        self.record: str | None = None
        if self.module is None:
            return
        for module in (*analysis.imports, self.module):
            self._declare(module, own=module is self.module)
        for decl in self.module.decls:
            self._decl(decl)

    # -- declarations (this file and its imports)
    def _declare(self, module: n.Module, own: bool) -> None:
        for d in module.decls:
            if isinstance(d, n.SetDecl):
                self._add_decl("set", d.name, _name_span(d.span, d.name))
            elif isinstance(d, n.ConstDecl):
                self._add_decl("const", d.name, _name_span(d.span, d.name))
            elif isinstance(d, n.LetDecl):
                self._add_decl("let", d.name, _name_span(d.span, d.name))
            elif isinstance(d, n.ScreeningDecl):
                self._add_decl("screening", d.name, _name_span(d.span, d.name))
                self.screenings.setdefault(d.name, d)
            elif isinstance(d, n.Rule) and own:
                self._add_decl("rule", d.id, d.id_span)
                self.rules.setdefault(d.id, d)
            elif isinstance(d, n.Instrument):
                self._add_decl("instrument", d.id, d.id_span)
                self.instruments.setdefault(d.id, d)
            elif isinstance(d, n.Schema):
                for s in d.decls:
                    if isinstance(s, n.RecordDecl) and not own:
                        continue  # an import brings types, not its record
                    if isinstance(s, n.RecordDecl) and self.record is None:
                        self.record = s.name
                    self._add_decl("type", s.name, _name_span(s.span, s.name))
                    self.types.setdefault(s.name, s)
                    for f in s.fields:
                        self.field_spans.setdefault((s.name, f.name), _head(f.span, f.name))

    def _add_decl(self, kind: str, name: str, span: Span) -> None:
        self.declarations.setdefault((kind, name), span)

    # -- occurrences in this file
    def _add(self, span: Span, kind: Kind, name: str, owner: str | None = None, quant: n.Quant | None = None,
             file: Path | None = None, declaration: bool = False) -> None:
        self.occurrences.append(Occurrence(span, kind, name, owner, quant, file, declaration))

    def _decl(self, d: n.Decl) -> None:
        if isinstance(d, n.Import):
            self._add(d.span, "import", d.path, file=_resolve(d.span.source, d.path))
        elif isinstance(d, n.AsOf):
            self._add(_name_span(d.span, d.field), "field", d.field, owner=self.record)
        elif isinstance(d, n.Instrument):
            self._add(d.id_span, "instrument", d.id, declaration=True)
        elif isinstance(d, n.Schema):
            for s in d.decls:
                self._add(_name_span(s.span, s.name), "type", s.name, declaration=True)
                for f in s.fields:
                    self._add(_head(f.span, f.name), "field", f.name, owner=s.name, declaration=True)
                    self._type_expr(f.type)
        elif isinstance(d, n.SetDecl):
            self._add(_name_span(d.span, d.name), "set", d.name, declaration=True)
            self._type_expr(d.elem_type)
            if isinstance(d.source, n.FileRef):
                self._file(d.source)
            else:
                self._expr(d.source)
                if isinstance(d.source, n.SetLit):
                    for bases in d.source.bases:
                        for b in bases:
                            self._basis(b)
            for b in d.bases:
                self._basis(b)
        elif isinstance(d, n.ScreeningDecl):
            self._add(_name_span(d.span, d.name), "screening", d.name, declaration=True)
            self._file(d.source)
            if d.cleared is not None:
                self._file(d.cleared)
        elif isinstance(d, (n.ConstDecl, n.LetDecl)):
            self._add(_name_span(d.span, d.name), "const" if isinstance(d, n.ConstDecl) else "let", d.name,
                      declaration=True)
            self._expr(d.value)
        elif isinstance(d, n.Rule):
            self._add(d.id_span, "rule", d.id, declaration=True)
            for c in d.clauses:
                if isinstance(c.value, n.Basis):
                    self._basis(c.value)
                elif c.kind == "waives" and isinstance(c.value, tuple):
                    for ref in c.value:
                        self._add(ref.span, "rule", ref.name)
                elif c.kind == "when":
                    self._expr(cast(n.Expr, c.value))
        elif isinstance(d, n.Invariant):
            if d.on is not None:
                self._path(d.on)
            self._expr(d.expr)
        elif isinstance(d, n.Constraint):
            body = d.body
            if isinstance(body, n.Protect):
                for p in body.paths:
                    self._path(p)
                for ref in body.types:
                    self._add(ref.span, "type", ref.name)
                for ref in body.unless:
                    self._add(ref.span, "instrument" if ref.name in self.instruments else "basis_kind", ref.name)
            else:
                self._expr(body.expr)
        elif isinstance(d, n.Test):
            if isinstance(d.given, n.RecordLit) and self.record is not None:
                self._record_lit(d.given, self.record)
            else:
                self._expr(d.given)
            for ref in d.fired or ():
                self._add(ref.span, "rule", ref.name)

    def _file(self, ref: n.FileRef) -> None:
        self._add(ref.span, "file", ref.path, file=_resolve(ref.span.source, ref.path))

    def _basis(self, b: n.Basis) -> None:
        span = b.name_span or _name_span(b.span, b.name)
        self._add(span, "instrument" if b.name in self.instruments else "basis_kind", b.name)

    def _type_expr(self, te: n.TypeExpr) -> None:
        base = te.base
        if isinstance(base, n.NamedType):
            if base.name not in t.PRIMITIVES:
                self._add(base.span, "type", base.name)
        elif isinstance(base, (n.ListType, n.SetType)):
            self._type_expr(base.elem)

    def _path(self, p: n.Path) -> None:
        """`a.b.c` written in a declaration: each part is a field of the one before."""
        struct = self.record
        column = p.span.column
        for part in p.parts:
            span = Span(p.span.source, p.span.line, column, p.span.line, column + len(part))
            column += len(part) + 1
            self._add(span, "field", part, owner=struct)
            struct = self._field_struct(struct, part)

    def _field_struct(self, struct: str | None, field: str) -> str | None:
        """The struct a field holds (through lists and sets), by the declarations."""
        decl = self.types.get(struct) if struct is not None else None
        if decl is None:
            return None
        for f in decl.fields:
            if f.name == field:
                te = f.type
                while isinstance(te.base, (n.ListType, n.SetType)):
                    te = te.base.elem
                return te.base.name if isinstance(te.base, n.NamedType) and te.base.name in self.types else None
        return None

    def _record_lit(self, lit: n.RecordLit, struct: str | None) -> None:
        """A test's `given { ... }`: its field names are fields of the record, nested ones of their types."""
        for fi in lit.fields:
            self._add(_head(fi.span, fi.name), "field", fi.name, owner=struct)
            inner = self._field_struct(struct, fi.name)
            values = fi.value.elements if isinstance(fi.value, n.ListLit) else (fi.value,)
            for v in values:
                if isinstance(v, n.RecordLit):
                    self._record_lit(v, inner)
                else:
                    self._expr(v)

    def _expr(self, expr: n.Expr) -> None:
        for e in n.walk(expr):
            if isinstance(e, n.Name):
                self._name(e)
            elif isinstance(e, n.Attr):
                owner = self._struct_of(e.obj)
                self._add(_tail(e.span, e.name), "field", e.name, owner=owner)
            elif isinstance(e, n.Call):
                self._add(_head(e.span, e.func), "function", e.func)
            elif isinstance(e, n.Quant):
                self._add(_head(e.span, e.kind), "function", e.kind)
                self._add(e.var_span, "var", e.var, quant=e, declaration=True)

    def _name(self, e: n.Name) -> None:
        b = self.checker.bindings.get(id(e)) if self.checker is not None else None
        if isinstance(b, FieldRef):
            self._add(e.span, "field", e.name, owner=self.record)
        elif isinstance(b, VarRef):
            self._add(e.span, "var", e.name, quant=self.checker.quant_of.get(b) if self.checker is not None else None)
        elif isinstance(b, LetInfo):
            self._add(e.span, "let", e.name)
        elif isinstance(b, ConstInfo):
            self._add(e.span, "const", e.name)
        elif isinstance(b, SetInfo):
            self._add(e.span, "set", e.name)
        else:  # unresolved (the checker did not run, or found an error here): go by the name
            for kind in ("let", "const", "set", "screening"):
                if (kind, e.name) in self.declarations:
                    self._add(e.span, kind, e.name)
                    return
            if self.record is not None and (self.record, e.name) in self.field_spans:
                self._add(e.span, "field", e.name, owner=self.record)

    def _struct_of(self, e: n.Expr) -> str | None:
        if self.checker is None:
            return None
        typ = self.checker.types.get(id(e))
        while isinstance(typ, (t.ListT, t.SetT)):
            typ = typ.elem
        return typ.name if isinstance(typ, t.StructT) else None

    # -- queries
    def at(self, line: int, column: int) -> Occurrence | None:
        """The occurrence under a 1-based position; the narrowest when several contain it."""
        hits = [o for o in self.occurrences if o.contains(line, column)]
        return min(hits, key=lambda o: o.span.end_column - o.span.column) if hits else None

    def declaration_of(self, occ: Occurrence) -> Span | None:
        if occ.kind == "field":
            return self.field_spans.get((occ.owner, occ.name)) if occ.owner is not None else None
        if occ.kind == "var":
            return occ.quant.var_span if occ.quant is not None else None
        return self.declarations.get((occ.kind, occ.name))

    @cached_property
    def quantifiers(self) -> list[n.Quant]:
        return [o.quant for o in self.occurrences if o.kind == "var" and o.declaration and o.quant is not None]

    def __iter__(self) -> Iterator[Occurrence]:
        return iter(self.occurrences)
