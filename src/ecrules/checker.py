"""Check a parsed policy: resolve every name, type every expression, report all problems at once.

This module checks declarations (schema, sets, constants, lets, rules, invariants, constraints,
tests); `typecheck.py` types the expressions inside them; `checked.py` holds the result.

The checker never stops at the first problem: it records a diagnostic and carries on with a
placeholder type, so one run shows the author everything to fix. While it checks, what it learns
(the type of each expression, what each name denotes, the patterns of `like`) goes into tables
keyed by the parsed nodes (the language server reads them, even for a policy with errors); a
policy that checks is then rebuilt with those facts on its nodes (`annotate.py`): that typed
tree is the IR the back-ends read, and they never resolve a name again.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path as FsPath
from typing import Any, Iterable, Protocol

import attrs

from . import files
from . import nodes as n
from . import types as t
from .checked import (
    BasisInfo, COMBINING, OPERATOR_WORDS, Binding, Checked, ConstInfo, InstrumentInfo, InvariantInfo, LetInfo,
    RuleInfo, SetInfo, Value, VarRef,
)
from .countries import COUNTRIES, country_help
from .literals import decimal_in_range, parse_date, parse_decimal, parse_int
from .depth import check_depth
from .diagnostics import Diagnostic, error, warning
from .files import printable
from .annotate import Annotator
from .interpreter import NotConstant, const_eval
from .source import Source, Span, display_path
from .law import LawChecker
from .typecheck import _NO_GUARDS, ExprChecker, _plain_path, _suggest

__all__ = ["Checker", "Reader", "check"]  # what it produces, the IR, is `checked.py`


class Reader(Protocol):
    """The file access the checker needs (list files, screening lists), supplied by the loader:
    the checker itself never touches the file system (`loader.DiskReader` is the real one)."""

    def real(self, path: FsPath) -> FsPath:
        """`path` made absolute, symlinks resolved."""

    def inside(self, root: FsPath, path: FsPath) -> bool:
        """Whether `path` lies in the folder `root` or below it."""

    def text(self, path: FsPath, limit: int) -> tuple[str, str | None]:
        """A list file's text, or why not (`read_text`'s problems)."""

    def data(self, path: FsPath, limit: int) -> tuple[bytes, str | None]:
        """A list file's bytes, or why not; noted, so the policy's content hash covers it."""


class Checker(LawChecker, ExprChecker):
    def __init__(self, module: n.Module, imports: Iterable[n.Module], root: FsPath | None, reader: Reader):
        self.module = module
        self.imports = tuple(imports)
        self.root = root
        self.reader = reader
        self.diags: list[Diagnostic] = []
        self.types: dict[int, t.Type] = {}
        self.bindings: dict[int, Binding] = {}
        self.patterns: dict[int, str | tuple[str, ...]] = {}
        self.structs: dict[str, t.StructT] = {}
        self.record: t.StructT | None = None
        self.sets: dict[str, SetInfo] = {}
        self.instruments: dict[str, InstrumentInfo] = {}
        self.consts: dict[str, ConstInfo] = {}
        self.lets: dict[str, LetInfo] = {}
        self.globals: dict[str, Span] = {}
        self._let_decls: dict[str, n.LetDecl] = {}
        self._let_stack: list[str] = []
        self._const_decls: dict[str, n.ConstDecl] = {}
        self._const_stack: list[str] = []
        self._failed: set[str] = set()  # consts and lets already reported as broken
        self._type_spans: dict[str, Span] = {}
        self._as_of_span: Span | None = None
        self._rule_ids: set[str] = set()
        self.screenings: dict[str, Any] = {}
        self.screen_calls: dict[int, Any] = {}
        self.binders: dict[int, VarRef] = {}
        self.quant_of: dict[VarRef, n.Quant] = {}
        self.failed_screenings: set[str] = set()   # reported once, at the declaration

    def _errors(self) -> int:
        return sum(1 for d in self.diags if d.severity == "error")

    def err(self, message: str, span: Span | None, help: str | None = None) -> None:
        self.diags.append(error(message, span, help))

    def warn(self, message: str, span: Span | None, help: str | None = None) -> None:
        self.diags.append(warning(message, span, help))

    # -- driver
    def run(self) -> Checked | None:
        own = self.module.decls
        name, version, combine, default, as_of = self._headers(own)
        imported = [d for m in self.imports for d in m.decls]
        self._schema([d for d in imported if isinstance(d, n.Schema)], own_record=False)
        self._schema([d for d in own if isinstance(d, n.Schema)], own_record=True)
        if as_of is not None and self.record is not None:
            self._check_as_of(as_of)
        if self.record is not None:
            for fname in self.record.fields:
                if fname in OPERATOR_WORDS:
                    span = self._field_span(self.record.name, fname)
                    self.err(f"top-level field `{fname}` is named after an operator word", span,
                             "rename it: bare names in conditions cannot be operator words")
        self._instruments(d for d in imported + list(own) if isinstance(d, n.Instrument))
        decl_lists: list[n.SetDecl | n.ConstDecl | n.LetDecl] = [
            d for d in imported + list(own) if isinstance(d, (n.SetDecl, n.ConstDecl))
        ]
        decl_lists += [d for d in own if isinstance(d, n.LetDecl)]
        decl_lists = self._declare_globals(decl_lists)
        for d in decl_lists:
            if isinstance(d, n.ConstDecl):
                self._const_decls[d.name] = d
            elif isinstance(d, n.LetDecl):
                self._let_decls[d.name] = d
        for d in decl_lists:
            if isinstance(d, n.ConstDecl):
                self._const(d.name)
        for d in decl_lists:
            if isinstance(d, n.SetDecl):
                self._set(d)
        for sd in imported + list(own):
            if isinstance(sd, n.ScreeningDecl):
                self._screening(sd)
        for d in decl_lists:
            if isinstance(d, n.LetDecl):
                self._let(d.name)
        rules = self._rules([d for d in own if isinstance(d, n.Rule)], combine, as_of)
        invariants = tuple(self._invariant(d) for d in own if isinstance(d, n.Invariant))
        constraints = tuple(d for d in own if isinstance(d, n.Constraint))
        for c in constraints:
            self._constraint(c, rules)
        tests = tuple(d for d in own if isinstance(d, n.Test))
        self._tests(tests, rules)
        needs_record = rules or invariants or self.lets or tests
        if needs_record and self.record is None:
            self.err("this policy has no `record` in its schema", self.module.span,
                     "declare the transaction's shape: `schema { record transaction { ... } }`")
        if any(d.severity == "error" for d in self.diags):
            return None
        # the IR: every expression rebuilt with its facts on it; the declarations point into it
        ann = Annotator(self.types, self.bindings, self.patterns, self.screen_calls, self.binders)
        lets = {name: ann.let(info) for name, info in self.lets.items()}  # in the order checked
        rules = tuple(attrs.evolve(r, when=(w := ann.expr(r.when)), sites=self.sites(w)) for r in rules)
        invariants = tuple(attrs.evolve(i, expr=ann.expr(i.expr)) for i in invariants)
        constraints = tuple(attrs.evolve(c, body=attrs.evolve(c.body, expr=ann.expr(c.body.expr)))
                            if isinstance(c.body, n.OutcomeWhen) else c for c in constraints)
        tests = tuple(attrs.evolve(x, given=ann.expr(x.given)) for x in tests)
        return Checked(
            name=name, version=version, combine=combine, default=default, as_of=as_of,
            record=self.record, structs=self.structs, sets=self.sets, consts=self.consts,
            instruments=self.instruments, lets=lets, rules=rules, invariants=invariants, constraints=constraints,
            tests=tests, module=self.module, imports=self.imports, screenings=self.screenings,
        )

    # -- headers
    def _headers(self, decls: Iterable[n.Decl]) -> tuple[str, str | None, str, str, str | None]:
        seen: dict[type, Span] = {}
        name = FsPath(self.module.span.source.name).stem or "policy"
        version: str | None = None
        combine, default, as_of = "deny_overrides", "allow", None
        for d in decls:
            if not isinstance(d, (n.PolicyHeader, n.Combine, n.Default, n.AsOf)):
                continue
            if type(d) in seen:
                word = {n.PolicyHeader: "policy", n.Combine: "combine", n.Default: "default", n.AsOf: "as_of"}[type(d)]
                self.err(f"`{word}` is declared twice", d.span, f"the first is at {seen[type(d)]}")
                continue
            seen[type(d)] = d.span
            if isinstance(d, n.PolicyHeader):
                name, version = d.name, d.version
            elif isinstance(d, n.Combine):
                if d.algorithm not in COMBINING:
                    self.err(f"unknown combining algorithm `{d.algorithm}`", d.span,
                             _suggest(d.algorithm, COMBINING) or "use `deny_overrides` or `first_match`")
                else:
                    combine = d.algorithm
            elif isinstance(d, n.Default):
                default = d.outcome
            elif isinstance(d, n.AsOf):
                as_of = d.field
                self._as_of_span = d.span
        return name, version, combine, default, as_of

    def _check_as_of(self, as_of: str) -> None:
        assert self.record is not None
        span = self._as_of_span
        f = self.record.fields.get(as_of)
        if f is None:
            self.err(f"`as_of` names unknown field `{as_of}`", span, _suggest(as_of, self.record.fields))
        elif f.type != t.DATE:
            self.err(f"`as_of` must name a `date` field; `{as_of}` is a `{f.type}`", span)
        elif f.optional:
            self.err(f"`as_of` must name a required field; `{as_of}` is optional", span,
                     f"declare it `{as_of}: date`: rule validity needs a date on every record")

    # -- schema
    def _schema(self, blocks: list[n.Schema], own_record: bool) -> None:
        decls = [d for b in blocks for d in b.decls]
        pending: list[tuple[t.StructT, dict[str, t.Field], n.RecordDecl | n.TypeDecl]] = []
        for d in decls:
            if isinstance(d, n.RecordDecl) and not own_record:
                continue  # an import brings types, not the record
            if d.name in t.PRIMITIVES:
                self.err(f"type `{d.name}` is a built-in type", d.span, "pick another name")
                continue
            if d.name in self.structs:
                self.err(f"type `{d.name}` is declared twice", d.span,
                         f"the first is at {self._type_spans[d.name]}" if d.name in self._type_spans else None)
                continue
            self._type_spans[d.name] = d.span
            fields: dict[str, t.Field] = {}
            struct = t.StructT(d.name, fields)
            if isinstance(d, n.RecordDecl):
                if self.record is not None:
                    self.err(f"a second record `{d.name}`: a policy has one record", d.span)
                    continue
                self.record = struct
            else:
                self.structs[d.name] = struct
            pending.append((struct, fields, d))
        for struct, fields, d in pending:
            for f in d.fields:
                if f.name in struct.fields:
                    first = next(x.span for x in d.fields if x.name == f.name)
                    self.err(f"field `{f.name}` is declared twice in `{d.name}`", f.span, f"the first is at {first}")
                    continue
                fields[f.name] = t.Field(f.name, self._type(f.type), f.type.optional)
        self._field_spans = {(d.name, f.name): f.span for _, _, d in pending for f in d.fields}
        self._check_recursion([(s, d) for s, _, d in pending])

    def _field_span(self, struct: str, fname: str) -> Span | None:
        return getattr(self, "_field_spans", {}).get((struct, fname))

    def _check_recursion(self, pending: list[tuple[t.StructT, n.RecordDecl | n.TypeDecl]]) -> None:
        def reaches(start: t.StructT, target: t.StructT, seen: set[int]) -> bool:
            for f in start.fields.values():
                ft = f.type
                while isinstance(ft, (t.ListT, t.SetT)):
                    ft = ft.elem
                if isinstance(ft, t.StructT) and not f.optional and not isinstance(f.type, (t.ListT, t.SetT)):
                    if ft is target:
                        return True
                    if id(ft) not in seen:
                        seen.add(id(ft))
                        if reaches(ft, target, seen):
                            return True
            return False

        for struct, d in pending:
            if reaches(struct, struct, set()):
                self.err(f"type `{struct.name}` contains itself through required fields", d.span,
                         "no finite record could have this shape; make one field optional or a list")

    def _type(self, te: n.TypeExpr) -> t.Type:
        base = te.base
        if isinstance(base, n.NamedType):
            if base.name in t.PRIMITIVES:
                return t.Prim(base.name)
            if base.name in self.structs:
                return self.structs[base.name]
            self.err(f"unknown type `{base.name}`", base.span,
                     _suggest(base.name, list(t.PRIMITIVES) + list(self.structs)))
            return t.ANY
        if isinstance(base, n.EnumType):
            seen: set[str] = set()
            for m, sp in zip(base.members, base.member_spans):
                if m in seen:
                    self.err(f"enum member `{m}` is listed twice", sp)
                seen.add(m)
            return t.EnumT(tuple(dict.fromkeys(base.members)))
        elem = self._type(base.elem)
        if base.elem.optional:
            self.err("list and set elements cannot be optional", base.elem.span)
        return t.ListT(elem) if isinstance(base, n.ListType) else t.SetT(elem)

    # -- global names
    def _declare_globals(self, decls: list[n.SetDecl | n.ConstDecl | n.LetDecl]) -> list[n.SetDecl | n.ConstDecl | n.LetDecl]:
        """Register global names; a rejected duplicate is dropped so that the first one is used."""
        fields = self.record.fields if self.record else {}
        kept: list[n.SetDecl | n.ConstDecl | n.LetDecl] = []
        for d in decls:
            if d.name in self.globals:
                self.err(f"`{d.name}` is declared twice", d.span, f"the first is at {self.globals[d.name]}")
            elif d.name in fields:
                self.err(f"`{d.name}` is already a field of the record", d.span, "pick another name")
            else:
                self.globals[d.name] = d.span
                kept.append(d)
        return kept

    # -- constants
    def _const(self, name: str) -> ConstInfo | None:
        if name in self.consts:
            return self.consts[name]
        if name in self._failed:
            return None
        d = self._const_decls[name]
        if name in self._const_stack:
            self.err(f"constant `{name}` is defined in terms of itself", d.span)
            self._failed.update(self._const_stack)
            return None
        self._const_stack.append(name)
        before = self._errors()
        try:
            typ = self.expr(d.value, {}, _NO_GUARDS, const_only=True)
            value = self._const_value(d.value) if self._errors() == before else _INVALID
        finally:
            self._const_stack.pop()
        if value is _INVALID or name in self._failed:
            if self._errors() == before:
                self.err("`const` takes a literal or a constant expression", d.value.span,
                         "use `let` for a value computed from the record")
            self._failed.add(name)
            return None
        info = ConstInfo(name, typ, value, d.span)
        self.consts[name] = info
        return info

    def _const_value(self, e: n.Expr) -> Value:
        try:
            return const_eval(e, lambda x: self.bindings.get(id(x)))
        except NotConstant:
            return _INVALID
        except Exception as exc:  # division by zero in a constant, and the like
            self.err(f"cannot compute this constant: {exc}", e.span)
            return _INVALID

    # -- sets
    def _set(self, d: n.SetDecl) -> None:
        elem_type = d.elem_type
        if isinstance(elem_type.base, n.SetType) and not elem_type.optional:
            elem_type = elem_type.base.elem  # `set X: set<country>` says the same as `set X: country`
        elem = self._type(elem_type)
        if elem_type.optional:
            self.err("set members cannot be optional", elem_type.span)
        if not isinstance(elem, (t.Prim, t.EnumT, t.AnyT)) or elem == t.BOOL:
            self.err(f"a set holds strings, numbers, dates or countries, not `{elem}`", elem_type.span)
        values: list[Value] = []
        member_bases: dict[Value, tuple[BasisInfo, ...]] = {}
        if isinstance(d.source, n.FileRef):
            values, member_bases = self._set_file(d, d.source, elem)
        elif isinstance(d.source, n.SetLit):
            keep: list[int] = []
            for k, e in enumerate(d.source.elements):
                before = self._errors()
                et = self.expr(e, {}, _NO_GUARDS, const_only=True)
                if self._errors() != before:
                    continue
                v = self._const_value(e)
                if v is _INVALID:
                    self.err("set members must be constants", e.span)
                    continue
                if not t.comparable(et, elem) or (elem == t.INT and et == t.NUMBER):
                    self.err(f"`{_show(v)}` is not {_a(elem)}", e.span)
                    continue
                self._check_member(v, elem, e.span)
                values.append(v)
                keep.append(k)
            member_bases = self._member_bases(d.source, values, keep)
        else:
            self.err("a set is `{ ... }` or `file \"PATH\"`", d.source.span)
        bases = self._bases(d.bases)
        self.sets[d.name] = SetInfo(d.name, elem, frozenset(values), bases, d.span, member_bases)

    def _inside_tree(self, ref: n.FileRef, what: str) -> FsPath | None:
        """The file a declaration names, if it sits in the policy's folder or below it."""
        shown = printable(ref.path)
        if "\x00" in ref.path:
            self.err(f"{what} path `{shown}` holds a NUL character", ref.span)
            return None
        here = self.reader.real(FsPath(ref.span.source.name)).parent
        path = self.reader.real(here / ref.path)
        if not self.reader.inside(self.root or here, path):
            self.err(f"{what} `{shown}` is outside the policy's folder", ref.span,
                     "list files must sit in the policy's folder or below it")
            return None
        return path

    def _screening(self, d: n.ScreeningDecl) -> None:
        """Load a screening list (and its cleared parties) and build its index."""
        before = self._errors()
        self._screening_load(d)
        if self._errors() != before:
            self.failed_screenings.add(d.name)

    def _screening_load(self, d: n.ScreeningDecl) -> None:
        from .screening.loaders import FORMATS
        from .screening.model import ListError
        from .screening.runtime import ScreeningInfo, load_cleared, load_screening

        if d.name in self.screenings or d.name in self.globals:
            self.err(f"`{d.name}` is declared twice", d.span)
            return
        if d.format is not None and d.format not in FORMATS:
            self.err(f"unknown list format `{d.format}`", d.span, _suggest(d.format, FORMATS) or
                     "formats: " + ", ".join(f"`{f}`" for f in FORMATS))
            return
        threshold = float(d.threshold) if d.threshold is not None else None
        if threshold is not None and not 0.5 <= threshold <= 1.0:
            self.err(f"a screening threshold is between 0.5 and 1, not `{d.threshold}`", d.span)
            return
        path = self._inside_tree(d.source, "screening list")
        if path is None:
            return
        from .screening.matcher import DEFAULT_THRESHOLD
        try:
            lst, matcher = load_screening(path, display_path(path), self._list_bytes(path), d.format,
                                          threshold or DEFAULT_THRESHOLD)
            cleared: tuple[Any, ...] = ()
            cleared_path = None
            if d.cleared is not None:
                cpath = self._inside_tree(d.cleared, "cleared-parties file")
                if cpath is None:
                    return
                cleared_path = display_path(cpath)
                cleared = load_cleared(cleared_path, self._list_bytes(cpath))
                unknown = [c for c in cleared if c.ref not in lst.by_ref]
                for c in unknown:
                    self.err(f"{cleared_path}:{c.line}: cleared entry `{c.ref}` is not on `{d.name}`", d.cleared.span)
        except ListError as exc:
            where = f"{exc.file}:{exc.where}" if exc.where else exc.file
            self.err(f"screening list `{d.name}`: {where}: {exc.message}", d.span)
            return
        except OSError as exc:
            self.err(f"screening list `{d.source.path}` cannot be read: {exc.strerror}", d.source.span)
            return
        # a match names the list file relative to the policy's tree, so that a decision does not
        # depend on where the tree sits (a replay from a bundle gives the same decision)
        root = self.reader.real(self.root or self.reader.real(FsPath(d.source.span.source.name)).parent)
        try:
            named = path.relative_to(root).as_posix()
        except ValueError:
            named = display_path(path)
        self.screenings[d.name] = ScreeningInfo(d.name, named, lst.format, matcher.threshold,
                                                lst, matcher, cleared, cleared_path, self._regimes(d, lst))

    def _list_bytes(self, path: FsPath) -> bytes:
        data, problem = self.reader.data(path, files.MAX_LIST_BYTES)
        if problem is not None:
            from .screening.model import ListError

            raise ListError(display_path(path), None, problem)
        return data

    def _regimes(self, d: n.ScreeningDecl, lst: Any) -> dict[str, BasisInfo]:
        """`regime "R" basis ID` clauses: the instrument a hit on an entry of regime R cites."""
        listed = sorted({e.regime for e in lst.entries if e.regime})
        out: dict[str, BasisInfo] = {}
        for r in d.regimes:
            if r.name in out:
                self.err(f"regime `{r.name}` is mapped twice on `{d.name}`", r.span)
                continue
            if r.name not in listed:
                self.warn(f"no entry of `{d.name}` is listed under regime `{r.name}`", r.span,
                          _suggest(r.name, listed) or
                          ("regimes on the list: " + ", ".join(f"`{x}`" for x in listed) if listed else None))
            got = self._bases([r.basis])
            if got:
                out[r.name] = got[0]
        return out

    def _set_file(self, d: n.SetDecl, ref: n.FileRef, elem: t.Type) -> tuple[list[Value], dict[Value, tuple[BasisInfo, ...]]]:
        """A list file: one value a line (`.txt`), or a table of values with bases (`.csv`, `.jsonl`)."""
        path = self._inside_tree(ref, "set file")
        if path is None:
            return [], {}
        text, problem = self.reader.text(path, files.MAX_LIST_BYTES)
        if problem is not None:
            self.err(f"set file `{printable(ref.path)}` {problem}", ref.span,
                     f"looked for `{display_path(path)}`" if problem == "does not exist" else None)
            return [], {}
        src = Source(display_path(path), text)
        lines = text.splitlines()
        suffix = path.suffix.lower()
        if suffix in (".csv", ".jsonl"):
            rows, bad = self.table_rows(text, suffix)
            if bad is not None:
                self.err(f"set file `{ref.path}` {bad}", ref.span,
                         "a table has columns value, instrument, pinpoint, from, until")
                return [], {}
            entries = [(lineno, row.get("value", ""), row) for lineno, row in rows]
        else:
            entries = [(lineno, raw.strip(), {}) for lineno, raw in enumerate(lines, 1)]
        values: list[Value] = []
        member_bases: dict[Value, tuple[BasisInfo, ...]] = {}
        for lineno, entry, row in entries:
            if not entry or (not row and entry.startswith("#")):
                continue
            raw = lines[lineno - 1] if 0 < lineno <= len(lines) else entry
            span = Span(src, lineno, 1, lineno, len(raw) + 1)
            v = _parse_entry(entry, elem)
            if v is _INVALID:
                self.err(f"`{entry}` is not {_a(elem)}", span, f"every entry of `{d.name}` must be {_a(elem)}")
                continue
            self._check_member(v, elem, span)
            values.append(v)
            basis = self.row_basis(row, span) if row else None
            if basis is not None:
                member_bases[v] = member_bases.get(v, ()) + self._bases([basis])
        return values, member_bases

    def _check_member(self, v: Value, elem: t.Type, span: Span) -> None:
        if elem == t.COUNTRY and v not in COUNTRIES:
            self.err(f"`{v}` is not a country code", span, country_help(str(v)))
        elif isinstance(elem, t.EnumT) and v not in elem.members:
            self.err(f"`{v}` is not a member of `{elem}`", span, _suggest(str(v), elem.members))

    # -- lets
    def _let(self, name: str) -> LetInfo | None:
        if name in self.lets:
            return self.lets[name]
        if name in self._failed:
            return None
        d = self._let_decls[name]
        if name in self._let_stack:
            self.err(f"`let {name}` is defined in terms of itself", d.span)
            self._failed.update(self._let_stack)
            return None
        self._let_stack.append(name)
        try:
            typ = self.expr(d.value, {}, _NO_GUARDS)
        finally:
            self._let_stack.pop()
        if name in self._failed:
            return None
        info = LetInfo(name, typ, d.value, len(self.lets), d.span)
        self.lets[name] = info
        return info

    # -- rules
    def _rules(self, decls: list[n.Rule], combine: str, as_of: str | None) -> tuple[RuleInfo, ...]:
        seen: dict[str, Span] = {}
        out: list[RuleInfo] = []
        for r in decls:
            if r.id in seen:
                self.err(f"rule `{r.id}` is declared twice", r.id_span, f"the first is at {seen[r.id]}")
                self._rule(r, -1, as_of)  # still check its body: report everything in one run
                continue
            seen[r.id] = r.id_span
            info = self._rule(r, len(out), as_of)
            if info is not None:
                out.append(info)
        self._rule_ids = set(seen)
        for decl in decls:
            for c in decl.clauses:
                if c.kind != "waives":
                    continue
                if combine == "first_match":
                    self.err("`waives` needs `combine deny_overrides`", c.span,
                             "under `first_match`, put the exception before the rule it overrides")
                assert isinstance(c.value, tuple)
                for ref in c.value:
                    if ref.name not in seen:
                        self.err(f"rule `{decl.id}` waives unknown rule `{ref.name}`", ref.span, _suggest(ref.name, seen))
        self._waiver_cycles(out, decls)
        return tuple(out)

    def _rule(self, r: n.Rule, index: int, as_of: str | None) -> RuleInfo | None:
        single: dict[str, n.Clause] = {}
        bases: list[n.Basis] = []
        requires: list[str] = []
        waives: list[str] = []
        for c in r.clauses:
            if c.kind in ("title", "effective", "expires", "when"):
                if c.kind in single:
                    self.err(f"rule `{r.id}` has two `{c.kind}` clauses", c.span)
                    continue
                single[c.kind] = c
            elif c.kind == "basis":
                assert isinstance(c.value, n.Basis)
                bases.append(c.value)
            elif c.kind == "require":
                assert isinstance(c.value, str)
                requires.append(c.value)
            elif c.kind == "waives":
                assert isinstance(c.value, tuple)
                waives.extend(ref.name for ref in c.value)
        resolved = self._bases(bases)
        if "when" not in single:
            self.err(f"rule `{r.id}` has no `when` condition", r.id_span, "add `when CONDITION`")
            return None
        when = single["when"].value
        assert not isinstance(when, (str, datetime.date, tuple, n.Basis))
        wt = self.expr(when, {}, _NO_GUARDS)
        if wt != t.BOOL and not isinstance(wt, t.AnyT):
            self.err(f"a `when` condition must be true or false, not `{wt}`", when.span)
        eff = single["effective"].value if "effective" in single else None
        exp = single["expires"].value if "expires" in single else None
        assert eff is None or isinstance(eff, datetime.date)
        assert exp is None or isinstance(exp, datetime.date)
        if (eff or exp) and as_of is None:
            c = single.get("effective") or single["expires"]
            self.err(f"rule `{r.id}` has validity dates but the policy has no `as_of`", c.span,
                     "add `as_of FIELD` naming the record's date field")
        if eff and exp and exp <= eff:
            self.err(f"rule `{r.id}` expires on or before it takes effect", single["expires"].span)
        title = single["title"].value if "title" in single else None
        assert title is None or isinstance(title, str)
        inherited = self._inherited_bases(when, set(resolved))
        return RuleInfo(
            index=index, id=r.id, outcome=r.outcome, title=title, bases=resolved,
            inherited=inherited, requires=tuple(requires), effective=eff, expires=exp,
            waives=tuple(waives), when=when, span=r.span,
        )

    def _inherited_bases(self, e: n.Expr, own: set[BasisInfo]) -> tuple[BasisInfo, ...]:
        out: list[BasisInfo] = []
        for s in self.sets_used(e):
            for b in self.sets[s].bases:
                if b not in own and b not in out:
                    out.append(b)
        return tuple(out)

    def sets_used(self, e: n.Expr, _seen: set[str] | None = None) -> list[str]:
        """Sets an expression reads, directly or through `let`s, in order of first use."""
        seen = _seen if _seen is not None else set()
        out: list[str] = []
        for sub in n.walk(e):
            if isinstance(sub, n.Name):
                b = self.bindings.get(id(sub))
                if isinstance(b, SetInfo) and b.name not in out:
                    out.append(b.name)
                elif isinstance(b, LetInfo) and b.name not in seen:
                    seen.add(b.name)
                    out.extend(s for s in self.sets_used(b.expr, seen) if s not in out)
        return out

    def _waiver_cycles(self, rules: list[RuleInfo], decls: list[n.Rule]) -> None:
        graph = {r.id: r.waives for r in rules}
        state: dict[str, int] = {}

        def visit(node: str, path: list[str]) -> None:
            state[node] = 1
            for nxt in graph.get(node, ()):
                if state.get(nxt) == 1:
                    cycle = path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
                    decl = next(d for d in decls if d.id == node)
                    span = next((c.span for c in decl.clauses if c.kind == "waives"), decl.id_span)
                    self.err("rules waive each other in a cycle: " + " -> ".join(f"`{x}`" for x in cycle), span,
                             "a waiver is an exception to another rule; break the cycle")
                elif nxt in graph and state.get(nxt) is None:
                    visit(nxt, path + [nxt])
            state[node] = 2

        for r in rules:
            if state.get(r.id) is None:
                visit(r.id, [r.id])

    # -- invariants
    def _invariant(self, d: n.Invariant) -> InvariantInfo:
        on: tuple[str, ...] | None = None
        if d.on is not None:
            self._resolve_path(d.on)
            on = d.on.parts
        et = self.expr(d.expr, {}, _NO_GUARDS)
        if et != t.BOOL and not isinstance(et, t.AnyT):
            self.err(f"an invariant must be true or false, not `{et}`", d.expr.span)
        index_after = None
        e = d.expr
        if on and isinstance(e, n.Quant) and e.kind == "all":
            src = _plain_path(e.source)
            if src and on[: len(src)] == src and isinstance(self.types.get(id(e.source)), t.ListT):
                index_after = len(src)
        return InvariantInfo(on, d.message, d.expr, index_after, d.span)

    def _resolve_path(self, p: n.Path) -> t.Type | None:
        """A declared path: fields of the record, through lists (`items.code`)."""
        if self.record is None:
            return None
        cur: t.Type = self.record
        for part in p.parts:
            while isinstance(cur, (t.ListT, t.SetT)):
                cur = cur.elem
            if not isinstance(cur, t.StructT) or part not in cur.fields:
                fields = cur.fields if isinstance(cur, t.StructT) else {}
                self.err(f"unknown field `{part}` in path `{p}`", p.span, _suggest(part, fields))
                return None
            cur = cur.fields[part].type
        return cur

    # -- constraints
    def _constraint(self, c: n.Constraint, rules: tuple[RuleInfo, ...]) -> None:
        body = c.body
        if isinstance(body, n.Protect):
            for p in body.paths:
                self._resolve_path(p)
            for ref in body.types:
                if ref.name not in t.PRIMITIVES and ref.name not in self.structs:
                    self.err(f"unknown type `{ref.name}` in `protect`", ref.span,
                             _suggest(ref.name, list(t.PRIMITIVES) + list(self.structs)))
            return
        et = self.expr(body.expr, {}, _NO_GUARDS)
        if et != t.BOOL and not isinstance(et, t.AnyT):
            self.err(f"a constraint's condition must be true or false, not `{et}`", body.expr.span)

    # -- tests
    def _tests(self, tests: tuple[n.Test, ...], rules: tuple[RuleInfo, ...]) -> None:
        ids = self._rule_ids
        names: dict[str, Span] = {}
        for test in tests:
            if test.name in names:
                self.err(f"test `{test.name}` is declared twice", test.span, f"the first is at {names[test.name]}")
            names[test.name] = test.span
            if not isinstance(test.given, n.RecordLit):
                self.err("`given` takes a record literal `{ field: value, ... }`", test.given.span)
            elif self.record is not None:
                self._given(test.given, self.record)
            for ref in test.fired or ():
                if ref.name not in ids:
                    self.err(f"test expects unknown rule `{ref.name}` to fire", ref.span, _suggest(ref.name, ids))

    def _given(self, lit: n.RecordLit, struct: t.StructT) -> None:
        for f in lit.fields:
            for sub in n.walk(f.value):
                if not isinstance(sub, (n.Literal, n.ListLit, n.SetLit, n.RecordLit)):
                    self.err("values after `given` must be literals", sub.span,
                             "write the value itself: a string, number, date, list or `{ ... }`")
                    break
            if f.name not in struct.fields:
                self.warn(f"`{f.name}` is not a field of `{struct.name}`: it is ignored", f.span,
                          _suggest(f.name, struct.fields))
                continue
            ft = struct.fields[f.name].type
            value = f.value
            if isinstance(ft, t.StructT) and isinstance(value, n.RecordLit):
                self._given(value, ft)
            elif isinstance(ft, t.ListT) and isinstance(ft.elem, t.StructT) and isinstance(value, n.ListLit):
                for el in value.elements:
                    if isinstance(el, n.RecordLit):
                        self._given(el, ft.elem)


_INVALID = object()


def _show(v: Value) -> str:
    if isinstance(v, str):
        return f'"{v}"'
    return v.isoformat() if isinstance(v, datetime.date) else str(v)


def _a(typ: t.Type) -> str:
    """`an `int``, `a `string``: the article a type name takes in a message."""
    word = str(typ)
    return f"{'an' if word[:1] in 'aeiou' else 'a'} `{word}`"


def _parse_entry(entry: str, elem: t.Type) -> Value:
    """A list-file line as a value of the set's element type."""
    if elem == t.INT:
        i = parse_int(entry)
        return _INVALID if i is None else i
    if elem == t.NUMBER:  # Infinity, NaN, sNaN and exponents beyond the range are not numbers
        d = parse_decimal(entry)
        return d if d is not None and decimal_in_range(d) else _INVALID
    if elem == t.DATE:  # the records' reading: YYYY-MM-DD only
        date = parse_date(entry)
        return _INVALID if date is None else date
    if elem == t.BOOL:
        return _INVALID
    return entry


def check(module: n.Module, imports: Iterable[n.Module], root: FsPath | None, reader: Reader) -> tuple[Checked | None, list[Diagnostic]]:
    imports = list(imports)
    too_deep = check_depth([*imports, module])  # before anything below recurses into the tree
    if too_deep:
        return None, too_deep
    checker = Checker(module, imports, root, reader)
    result = checker.run()
    return result, checker.diags
