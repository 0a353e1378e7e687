"""Law as data, in the checker: instruments, the bases that cite them, and bases per set member.

A mixin of `Checker`. It declares every `instrument` (imported files first), resolves each
`basis NAME ...` to an instrument (or, for a legacy `basis KIND "text"`, to free text with a
warning), reads tabular list files (CSV, JSON Lines) whose lines carry bases, and finds in each
rule the membership tests (`x in SET`) whose members a decision cites.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
from typing import Any, Iterable

from . import nodes as n
from .literals import parse_date
from .checked import (
    LEGACY_KINDS, SCOPE_CATEGORIES, BasisInfo, Binding, InstrumentInfo, LetInfo, ScopeInfo, SetInfo, Site,
)
from .countries import COUNTRIES
from .diagnostics import Diagnostic
from .source import Span
from .typecheck import _suggest

_TEXT_KEYS = ("citation", "title", "url", "source")
_DATE_KEYS = ("adopted", "in_force", "lapses")
_COUNTRY_SCOPES = ("destination", "nationality")
#: a name that reads like a kind (letters only), not like an instrument id (`UNSCR_1718`)
_KIND_LIKE = re.compile(r"[A-Z]+")
TABLE_COLUMNS = ("value", "instrument", "pinpoint", "from", "until")


def is_legacy_kind(name: str) -> bool:
    return name in LEGACY_KINDS or _KIND_LIKE.fullmatch(name) is not None


class LawChecker:
    """Instruments and bases; `Checker` supplies the diagnostics and the sets."""

    diags: list[Diagnostic]
    bindings: dict[int, Binding]
    sets: dict[str, SetInfo]
    instruments: dict[str, InstrumentInfo]

    def err(self, message: str, span: Span | None, help: str | None = None) -> None:
        raise NotImplementedError

    def warn(self, message: str, span: Span | None, help: str | None = None) -> None:
        raise NotImplementedError

    # -- instruments
    def _instruments(self, decls: Iterable[n.Instrument]) -> None:
        spans: dict[str, Span] = {}
        for d in decls:
            if d.id in spans:
                self.err(f"instrument `{d.id}` is declared twice", d.id_span, f"the first is at {spans[d.id]}")
                continue
            spans[d.id] = d.id_span
            info = self._instrument(d)
            if info is not None:
                self.instruments[d.id] = info

    def _instrument(self, d: n.Instrument) -> InstrumentInfo | None:
        got: dict[str, n.InstrumentField] = {}
        for f in d.fields:
            if f.key in got:
                self.err(f"instrument `{d.id}` has two `{f.key}` clauses", f.span, f"the first is at {got[f.key].span}")
                continue
            got[f.key] = f
        ok = True
        for key, example in (("kind", "kind UNSC"), ("citation", 'citation "S/RES/1718 (2006)"')):
            if key not in got:
                self.err(f"instrument `{d.id}` has no `{key}`", d.id_span, f"add `{example}`")
                ok = False
        texts = {k: str(got[k].value) if k in got else None for k in _TEXT_KEYS}
        dates: dict[str, datetime.date | None] = {}
        for k in _DATE_KEYS:
            value = got[k].value if k in got else None
            dates[k] = value if isinstance(value, datetime.date) else None
        start = dates["in_force"] or dates["adopted"]
        if dates["adopted"] and dates["in_force"] and dates["in_force"] < dates["adopted"]:
            self.err(f"instrument `{d.id}` enters into force before it is adopted", got["in_force"].span)
        if start and dates["lapses"] and dates["lapses"] <= start:
            self.err(f"instrument `{d.id}` lapses on or before it enters into force", got["lapses"].span,
                     "`lapses` is the first day it no longer applies")
        scopes: list[ScopeInfo] = []
        for sc in d.scopes:
            if sc.category not in SCOPE_CATEGORIES:
                self.err(f"unknown scope `{sc.category}`", sc.span,
                         _suggest(sc.category, SCOPE_CATEGORIES) or "a scope is one of " + ", ".join(f"`{c}`" for c in SCOPE_CATEGORIES))
                ok = False
                continue
            if sc.values and sc.category not in _COUNTRY_SCOPES:
                self.err(f"scope `{sc.category}` takes no values", sc.span,
                         "only `destination` and `nationality` scopes list country codes")
                ok = False
                continue
            for value in sc.values:
                if value not in COUNTRIES:
                    self.err(f"`{value}` is not a country code", sc.span,
                             "countries are ISO 3166-1 alpha-2 codes such as `KP`")
                    ok = False
            scopes.append(ScopeInfo(sc.category, sc.values))
        if not ok:
            return None
        return InstrumentInfo(
            id=d.id, kind=str(got["kind"].value), citation=str(got["citation"].value), title=texts["title"],
            adopted=dates["adopted"], in_force=start, lapses=dates["lapses"], url=texts["url"],
            source=texts["source"], scopes=tuple(scopes), span=d.span,
        )

    # -- bases
    def _bases(self, bases: Iterable[n.Basis]) -> tuple[BasisInfo, ...]:
        out: list[BasisInfo] = []
        for b in bases:
            info = self._basis(b)
            if info is not None:
                out.append(info)
        return tuple(out)

    def _basis(self, b: n.Basis) -> BasisInfo | None:
        name_span = b.name_span or b.span
        if b.valid_from and b.until and b.until <= b.valid_from:
            self.err("a basis lapses (`until`) on or before it takes effect (`from`)", b.span)
            return None
        inst = self.instruments.get(b.name)
        if inst is not None:
            start = max((d for d in (b.valid_from, inst.in_force) if d is not None), default=None)
            end = min((d for d in (b.until, inst.lapses) if d is not None), default=None)
            if start and end and end <= start:
                self.warn(f"this basis is never in force: `{b.name}` applies from {inst.in_force} until {inst.lapses}",
                          b.span, "check the `from`/`until` dates against the instrument's")
            return BasisInfo(inst, inst.kind, inst.citation, b.text, start, end, b.span)
        if b.text is not None and is_legacy_kind(b.name):
            self.warn(f"`basis {b.name} \"...\"` is a free-text basis: decisions cite it, but it justifies nothing",
                      b.span, _suggest(b.name, self.instruments) or "declare the instrument and cite it by id: `basis ID \"pinpoint\"`")
            return BasisInfo(None, b.name, b.text, None, b.valid_from, b.until, b.span)
        hint = _suggest(b.name, self.instruments)
        if hint is None:
            hint = ("declare it with `instrument " + b.name + " { ... }` or import the catalogue"
                    if b.text is None or not self.instruments else "declare it, or import the file that does")
        self.err(f"unknown instrument `{b.name}`", name_span, hint)
        return None

    # -- members and their bases
    def _member_bases(self, lit: n.SetLit, values: list[Any], keep: list[int]) -> dict[Any, tuple[BasisInfo, ...]]:
        """Bases written on members of a set literal, by member value (`keep`: checked elements)."""
        out: dict[Any, tuple[BasisInfo, ...]] = {}
        for value, k in zip(values, keep):
            written = lit.bases_of(k)
            if written:
                out[value] = out.get(value, ()) + self._bases(written)
        return out

    def table_rows(self, text: str, suffix: str) -> tuple[list[tuple[int, dict[str, str]]], str | None]:
        """Rows of a CSV or JSON Lines list file as (line, {column: text}), or a problem."""
        rows: list[tuple[int, dict[str, str]]] = []
        if suffix == ".csv":
            reader = csv.DictReader(io.StringIO(text))
            header = [h.strip() for h in reader.fieldnames or []]
            if "value" not in header:
                return [], "has no `value` column in its header"
            unknown = [h for h in header if h not in TABLE_COLUMNS]
            if unknown:
                return [], f"has unknown column `{unknown[0]}`; columns are {', '.join(TABLE_COLUMNS)}"
            for row in reader:
                clean = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
                if not any(clean.values()):
                    continue
                rows.append((reader.line_num, clean))
            return rows, None
        for lineno, raw in enumerate(text.splitlines(), 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                return [], f"line {lineno} is not JSON ({exc.msg})"
            if not isinstance(obj, dict):
                return [], f"line {lineno} is not a JSON object"
            unknown = [k for k in obj if k not in TABLE_COLUMNS]
            if unknown:
                return [], f"line {lineno} has unknown key `{unknown[0]}`; keys are {', '.join(TABLE_COLUMNS)}"
            if "value" not in obj:
                return [], f"line {lineno} has no `value`"
            rows.append((lineno, {k: "" if v is None else str(v) for k, v in obj.items()}))
        return rows, None

    def row_basis(self, row: dict[str, str], span: Span) -> n.Basis | None:
        """The basis a list-file row carries, as if written `basis ID "pinpoint" from .. until ..`."""
        inst = row.get("instrument", "")
        if not inst:
            if any(row.get(k) for k in ("pinpoint", "from", "until")):
                self.err("this line has a pinpoint or dates but no instrument", span)
            return None
        dates: list[datetime.date | None] = []
        for key in ("from", "until"):
            text = row.get(key, "")
            day = parse_date(text) if text else None  # as records read dates: YYYY-MM-DD only
            if text and day is None:
                self.err(f"`{text}` is not a valid date", span, "dates are written YYYY-MM-DD")
                return None
            dates.append(day)
        if inst not in self.instruments:
            self.err(f"unknown instrument `{inst}`", span, _suggest(inst, self.instruments)
                     or "declare it with `instrument ID { ... }` or import the catalogue")
            return None
        return n.Basis(inst, row.get("pinpoint") or None, dates[0], dates[1], span, span)

    # -- which membership tests a decision cites
    def sites(self, e: n.Expr, _lets: frozenset[str] = frozenset()) -> tuple[Site, ...]:
        """Membership tests `x in SET` (SET with bases) that can make `e` true, in source order.
        Read off the annotated tree (the tests a decision cites must be the nodes back-ends run).

        A test under an odd number of `not`s, or a `not in`, only ever stops a rule matching, so
        it cites nothing. Tests inside a `let` the condition reads count too.
        """
        out: list[Site] = []

        def visit(x: n.Expr, positive: bool, quants: tuple[n.Quant, ...]) -> None:
            if isinstance(x, n.Not):
                visit(x.operand, not positive, quants)
                return
            if isinstance(x, n.Name):
                b = x.binding
                if isinstance(b, LetInfo) and positive and b.name not in _lets:
                    out.extend(s for s in self.sites(b.expr, _lets | {b.name}) if s not in out)
                return
            if isinstance(x, n.Compare) and x.op == "in" and positive and isinstance(x.right, n.Name):
                b = x.right.binding
                if isinstance(b, SetInfo) and b.has_bases:
                    out.append(Site(x, b.name, quants))
            if isinstance(x, n.Quant):
                visit(x.source, positive, quants)
                inner = quants + (x,)
                for part in (x.where, x.body):
                    if part is not None:
                        visit(part, positive, inner)
                return
            for child in n.children(x):
                visit(child, positive, quants)

        visit(e, True, ())
        return tuple(out)
