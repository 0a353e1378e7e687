"""Hover, go-to-definition, completion and formatting, as pure functions of a document.

Positions are 1-based lines and columns counted in characters, as the AST's spans are; the
server converts the editor's positions. Nothing here knows about LSP messages, so each answer
can be tested on a policy without a server.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Literal

import attrs

from .. import nodes as n
from .. import types as t
from ..checked import (
    COMBINING, FUNCTIONS, INSTRUMENT_KINDS, LEGACY_KINDS, OUTCOMES, QUANTIFIERS, SCOPE_CATEGORIES, BasisInfo,
    SetInfo, Value,
)
from ..diagnostics import PolicyError
from ..semantics import operators
from ..source import Span
from .analysis import Analysis, keywords
from .symbols import Occurrence, Symbols

#: one line per built-in, from the registry (`semantics.operators`): how it is written, what it gives
BUILTINS: dict[str, str] = {
    **{f.name: f"`{f.signature}`: {f.doc}" for f in operators.FUNCTIONS},
    **{q.name: f"`{q.signature}`: {q.doc}" for q in operators.QUANTIFIERS},
}
assert set(BUILTINS) == set(FUNCTIONS) | set(QUANTIFIERS), "a built-in without a description"

MAX_MEMBERS = 30  # members a set's hover lists before it says how many more


@lru_cache(maxsize=8)
def symbols_of(analysis: Analysis) -> Symbols:
    """The names of a document, found once per analysis (hovers come in bursts as the mouse moves)."""
    return Symbols(analysis)


# ---- hover -----------------------------------------------------------------------------------


def hover(analysis: Analysis, line: int, column: int, symbols: Symbols | None = None) -> tuple[str, Span] | None:
    """Markdown describing the name under the cursor, and the span it describes."""
    symbols = symbols or symbols_of(analysis)
    occ = symbols.at(line, column)
    if occ is None:
        return None
    text = _describe(symbols, occ)
    return (text, occ.span) if text else None


def _describe(sy: Symbols, occ: Occurrence) -> str | None:
    ck = sy.checker
    if occ.kind == "field":
        return _field(sy, occ)
    if occ.kind == "set":
        info = ck.sets.get(occ.name) if ck is not None else None
        return _set(info) if info is not None else f"**set** `{occ.name}`"
    if occ.kind == "instrument":
        inst = sy.instruments.get(occ.name)
        return _instrument(inst) if inst is not None else None
    if occ.kind == "rule":
        rule = sy.rules.get(occ.name)
        return _rule(rule) if rule is not None else None
    if occ.kind == "const":
        c = ck.consts.get(occ.name) if ck is not None else None
        return f"**const** `{occ.name}`" + (f": `{c.type}` = `{show(c.value)}`" if c is not None else "")
    if occ.kind == "let":
        let = ck.lets.get(occ.name) if ck is not None else None
        return f"**let** `{occ.name}`" + (f": `{let.type}`" if let is not None else "")
    if occ.kind == "type":
        decl = sy.types.get(occ.name)
        if decl is None:
            return f"**type** `{occ.name}` (built-in)" if occ.name in t.PRIMITIVES else None
        return _struct(decl)
    if occ.kind == "var":
        return _var(sy, occ)
    if occ.kind == "function":
        return BUILTINS.get(occ.name)
    if occ.kind in ("import", "file"):
        what = "import" if occ.kind == "import" else "file"
        exists = "" if occ.file is not None and occ.file.is_file() else " (does not exist)"
        return f"**{what}** `{occ.name}`: `{occ.file}`{exists}"
    if occ.kind == "screening":
        d = sy.screenings.get(occ.name)
        if d is None:
            return None
        extra = "".join(f", {k} `{v}`" for k, v in (("format", d.format), ("threshold", d.threshold)) if v is not None)
        return f"**screening list** `{d.name}`: file `{d.source.path}`{extra}"
    if occ.kind == "basis_kind":
        return f"**basis kind** `{occ.name}` (a free-text basis; declare an `instrument` to cite it by id)"
    return None


def _field(sy: Symbols, occ: Occurrence) -> str | None:
    struct = _struct_type(sy, occ.owner)
    f = struct.fields.get(occ.name) if struct is not None else None
    where = f" of `{occ.owner}`" if occ.owner else ""
    if f is None:
        decl = sy.types.get(occ.owner) if occ.owner else None
        fd = next((x for x in decl.fields if x.name == occ.name), None) if decl is not None else None
        return f"**field** `{occ.name}`{where}" + (f": `{_type_expr(fd.type)}`" if fd is not None else "")
    out = f"**field** `{occ.name}`{where}: `{_field_type(f)}`"
    inner = f.type
    while isinstance(inner, (t.ListT, t.SetT)):
        inner = inner.elem
    if isinstance(inner, t.StructT) and inner.name in sy.types:
        out += "\n\n" + _struct(sy.types[inner.name])
    return out


def _struct_type(sy: Symbols, name: str | None) -> t.StructT | None:
    ck = sy.checker
    if ck is None or name is None:
        return None
    if ck.record is not None and ck.record.name == name:
        return ck.record
    return ck.structs.get(name)


def _field_type(f: t.Field) -> str:
    return f"{f.type}{'?' if f.optional else ''}"


def _type_expr(te: n.TypeExpr) -> str:
    b = te.base
    if isinstance(b, n.NamedType):
        s = b.name
    elif isinstance(b, n.EnumType):
        s = "enum { " + ", ".join(b.members) + " }"
    else:
        s = f"{'list' if isinstance(b, n.ListType) else 'set'}<{_type_expr(b.elem)}>"
    return s + ("?" if te.optional else "")


def _struct(decl: n.RecordDecl | n.TypeDecl) -> str:
    kw = "record" if isinstance(decl, n.RecordDecl) else "type"
    body = "".join(f"  {f.name}: {_type_expr(f.type)}\n" for f in decl.fields)
    return f"```ecp\n{kw} {decl.name} {{\n{body}}}\n```"


def _set(info: SetInfo) -> str:
    count = len(info.values)
    out = [f"**set** `{info.name}`: `{info.elem}`, {count} member{'' if count == 1 else 's'}"]
    if info.bases:
        out.append("Basis: " + "; ".join(_basis(b) for b in info.bases))
    if info.dated:
        out.append("Membership changes on " + ", ".join(d.isoformat() for d in info.timeline[0]))
    if info.member_bases:
        members = sorted(info.values, key=show)
        lines = [f"- `{show(v)}`: " + "; ".join(_basis(b) for b in info.member_bases[v])
                 for v in members if v in info.member_bases][:MAX_MEMBERS]
        out.append("Bases per member:\n" + "\n".join(lines))
    elif count:
        shown = sorted(info.values, key=show)[:MAX_MEMBERS]
        more = f" and {count - len(shown)} more" if count > len(shown) else ""
        out.append("Members: " + ", ".join(f"`{show(v)}`" for v in shown) + more)
    return "\n\n".join(out)


def _basis(b: BasisInfo) -> str:
    head = f"`{b.instrument.id}` {b.citation}" if b.instrument is not None else f"{b.kind} \"{b.citation}\""
    pin = f" {b.pinpoint}" if b.pinpoint and b.instrument is not None else ""
    dates = (f" from {b.valid_from}" if b.valid_from else "") + (f" until {b.until}" if b.until else "")
    return head + pin + dates


def _instrument(d: n.Instrument) -> str:
    got = {f.key: f.value for f in reversed(d.fields)}
    kind = got.get("kind", "?")
    out = [f"**instrument** `{d.id}` ({kind}): {got.get('citation', '')}".rstrip(": ")]
    if "title" in got:
        out.append(str(got["title"]))
    dates = [f"{k.replace('_', ' ')} {v}" for k in ("adopted", "in_force", "lapses") if (v := got.get(k)) is not None]
    if dates:
        out.append(", ".join(dates))
    for k in ("url", "source"):
        if k in got:
            out.append(f"{k}: {got[k]}")
    if d.scopes:
        out.append("Scope: " + "; ".join(s.category + (" " + ", ".join(s.values) if s.values else "") for s in d.scopes))
    return "\n\n".join(out)


def _rule(r: n.Rule) -> str:
    out = [f"**rule** `{r.id}` → **{r.outcome}**"]
    for c in r.clauses:
        if c.kind == "title":
            out.append(str(c.value))
    dates = [f"{c.kind} {c.value}" for c in r.clauses if c.kind in ("effective", "expires")]
    if dates:
        out.append(", ".join(dates))
    bases = [c.value for c in r.clauses if isinstance(c.value, n.Basis)]
    if bases:
        out.append("Basis: " + "; ".join(b.name + (f" {b.text}" if b.text else "") for b in bases))
    requires = [str(c.value) for c in r.clauses if c.kind == "require"]
    if requires:
        out.append("Requires: " + "; ".join(requires))
    return "\n\n".join(out)


def _var(sy: Symbols, occ: Occurrence) -> str:
    q = occ.quant
    ck = sy.checker
    typ = ck.types.get(id(q.source)) if ck is not None and q is not None else None
    elem = typ.elem if isinstance(typ, (t.ListT, t.SetT)) else None
    return f"**variable** `{occ.name}` of `{q.kind if q else '?'}`" + (f": `{elem}`" if elem is not None else "")


def show(v: Value) -> str:
    """A constant's value as it would be written in a policy."""
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (datetime.date, int, Decimal)):
        return v.isoformat() if isinstance(v, datetime.date) else str(v)
    if isinstance(v, (frozenset, set)):
        return "{" + ", ".join(sorted(show(x) for x in v)) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(show(x) for x in v) + "]"
    return str(v)


# ---- definition ------------------------------------------------------------------------------


@attrs.frozen
class Target:
    """Where a name is declared: a file, and the span in it (None: the file's start)."""

    path: Path | None
    span: Span | None


def definition(analysis: Analysis, line: int, column: int, symbols: Symbols | None = None) -> Target | None:
    symbols = symbols or symbols_of(analysis)
    occ = symbols.at(line, column)
    if occ is None:
        return None
    if occ.kind in ("import", "file"):
        return Target(occ.file, None) if occ.file is not None and occ.file.is_file() else None
    span = symbols.declaration_of(occ)
    if span is None:
        return None
    same = span.source is analysis.source or span.source.name == analysis.source.name
    return Target(analysis.path if same else Path(span.source.name).resolve(), span)


# ---- completion ------------------------------------------------------------------------------

ItemKind = Literal["field", "set", "instrument", "function", "keyword", "const", "let", "type", "rule",
                   "screening", "variable"]


@attrs.frozen
class Item:
    label: str
    kind: ItemKind
    detail: str | None = None


_PATH = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\.(\w*)$")
_BASIS = re.compile(r"\b(?:basis|unless\s+basis(?:\s+\w+\s*,)*)\s+\w*$")
_RULE_REFS = re.compile(r"\b(?:waives|fired)\s+(?:\w+\s*,\s*)*\w*$")
#: a word after which only a few words may follow: `default ` an outcome, `combine ` an algorithm, ...
_AFTER = re.compile(r"(?:^|[\s{])(default|expect|never|always|combine|kind|scope|format|as_of|rule\s+\w+)\s+\w*$")


def completion(analysis: Analysis, before: str) -> list[Item]:
    """What may be written at the cursor; `before` is the line's text up to the cursor.

    `analysis` may be an earlier state of the document (the last one that checked): while a
    path is being typed the text does not parse, and the schema it completes has not changed.
    """
    sy = symbols_of(analysis)
    path = _PATH.search(before)
    if path is not None:
        return _path_items(sy, path.group(1).split("."))
    if _BASIS.search(before):
        return _instrument_items(sy) + [Item(k, "keyword", "free-text basis kind") for k in LEGACY_KINDS]
    if _RULE_REFS.search(before):
        return [Item(r, "rule", sy.rules[r].outcome) for r in sy.rules]
    after = _AFTER.search(before)
    if after is not None:
        return _after_word(sy, after.group(1).split()[0])
    items: list[Item] = [Item(k, "keyword") for k in keywords()]
    ck = sy.checker
    if ck is not None and ck.record is not None:
        items += [Item(f.name, "field", _field_type(f)) for f in ck.record.fields.values()]
    for kind, name in sy.declarations:
        if kind in ("set", "const", "let", "screening", "type"):
            items.append(Item(name, kind, _detail(sy, kind, name)))  # type: ignore[arg-type]
    items += _instrument_items(sy)
    items += [Item(f, "function", BUILTINS[f].split(":")[0].strip("`")) for f in (*FUNCTIONS, *QUANTIFIERS)]
    items += [Item(p, "type", "built-in type") for p in t.PRIMITIVES]
    items += [Item(r, "rule", sy.rules[r].outcome) for r in sy.rules]
    return _unique(items)


def _after_word(sy: Symbols, word: str) -> list[Item]:
    """The closed set of words that may follow `word`."""
    if word in ("default", "never", "always", "rule"):
        return [Item(o, "keyword", "outcome") for o in OUTCOMES]
    if word == "expect":
        return [Item(o, "keyword", "outcome") for o in (*OUTCOMES, "error")]
    if word == "combine":
        return [Item(c, "keyword", "combining algorithm") for c in COMBINING]
    if word == "kind":
        return [Item(k, "keyword", "instrument kind") for k in INSTRUMENT_KINDS]
    if word == "scope":
        return [Item(c, "keyword", "scope category") for c in SCOPE_CATEGORIES]
    if word == "format":
        from ..screening.loaders import FORMATS

        return [Item(f, "keyword", "screening list format") for f in FORMATS]
    ck = sy.checker  # `as_of`: a date field of the record
    record = ck.record if ck is not None else None
    fields = record.fields.values() if record is not None else ()
    return [Item(f.name, "field", _field_type(f)) for f in fields if f.type == t.DATE]


def _instrument_items(sy: Symbols) -> list[Item]:
    out = []
    for name, d in sy.instruments.items():
        citation = next((str(f.value) for f in d.fields if f.key == "citation"), None)
        out.append(Item(name, "instrument", citation))
    return out


def _detail(sy: Symbols, kind: str, name: str) -> str | None:
    ck = sy.checker
    if ck is None:
        return None
    if kind == "set" and name in ck.sets:
        return f"set of {ck.sets[name].elem}, {len(ck.sets[name].values)} members"
    if kind == "const" and name in ck.consts:
        return str(ck.consts[name].type)
    if kind == "let" and name in ck.lets:
        return str(ck.lets[name].type)
    return None


def _path_items(sy: Symbols, parts: list[str]) -> list[Item]:
    """The fields after `a.b.`: the head is a record field, a `let` or a quantifier variable."""
    typ = _head_type(sy, parts[0])
    for part in parts[1:]:
        struct = _unwrap(typ)
        f = struct.fields.get(part) if isinstance(struct, t.StructT) else None
        if f is None:
            return []
        typ = f.type
    struct = _unwrap(typ)
    if not isinstance(struct, t.StructT):
        return []
    return [Item(f.name, "field", _field_type(f)) for f in struct.fields.values()]


def _unwrap(typ: t.Type | None) -> t.Type | None:
    while isinstance(typ, (t.ListT, t.SetT)):
        typ = typ.elem
    return typ


def _head_type(sy: Symbols, name: str) -> t.Type | None:
    ck = sy.checker
    if ck is None:
        return None
    if ck.record is not None and name in ck.record.fields:
        return ck.record.fields[name].type
    if name in ck.lets:
        return ck.lets[name].type
    for q in reversed(sy.quantifiers):  # a variable: the latest quantifier that binds the name
        if q.var == name:
            src = ck.types.get(id(q.source))
            if isinstance(src, (t.ListT, t.SetT)):
                return src.elem
    return None


def _unique(items: Iterable[Item]) -> list[Item]:
    seen: set[tuple[str, str]] = set()
    out = []
    for it in items:
        if (it.label, it.kind) not in seen:
            seen.add((it.label, it.kind))
            out.append(it)
    return out


# ---- formatting ------------------------------------------------------------------------------


def format_text(text: str, name: str) -> str | None:
    """The document laid out by `ecrules fmt`; None when it does not parse (nothing to apply)."""
    from ..formatter import FormatterBug, format_source

    try:
        return format_source(text, name)
    except (PolicyError, FormatterBug):
        return None
