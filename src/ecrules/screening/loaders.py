"""Read screening lists in their authoritative formats: the UN Security Council Consolidated List
XML, OFAC's CSV (the `sdn.csv` / `cons_prim.csv` layout), and a plain JSON Lines form.

XML goes through `defusedxml`'s SAX parser: no entity expansion, no external entities or DTDs
(a list file is input, and a billion-laughs file must not take the process down). SAX also gives
the line of every element, so a malformed entry is reported as `FILE:LINE`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import xml.sax
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..literals import parse_date
from .. import files
from .model import Entry, ListError, ListedName, ScreeningList
from .text import script_of

FORMATS = ("un_xml", "ofac_csv", "jsonl")


def sniff_format(path: Path) -> str:
    """The format a file's name suggests: `.xml` → un_xml, `.csv` → ofac_csv, else jsonl."""
    suffix = path.suffix.lower()
    return {".xml": "un_xml", ".csv": "ofac_csv"}.get(suffix, "jsonl")


def read_list_bytes(path: Path, display: str) -> bytes:
    """A list file's bytes: a regular file, bounded (docs/security.md); ListError otherwise."""
    data, problem = files.read_bytes(path, files.MAX_LIST_BYTES)
    if problem is not None:
        raise ListError(display, None, problem)
    return data


def load_list(path: str | Path, fmt: str | None = None, display: str | None = None,
              data: bytes | None = None) -> ScreeningList:
    """Load one list file (or its bytes, already read); raises ListError naming the file and the
    line or element at fault."""
    p = Path(path)
    shown = display or str(path)
    fmt = fmt or sniff_format(p)
    if fmt not in FORMATS:
        raise ListError(shown, None, f"unknown list format `{fmt}` (one of {', '.join(FORMATS)})")
    if data is None:
        data = read_list_bytes(p, shown)
    if fmt == "un_xml":
        entries, generated = _un_xml(data, shown)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            raise ListError(shown, str(line), "is not UTF-8") from None
        entries, generated = (_ofac_csv(text, shown) if fmt == "ofac_csv" else _jsonl(text, shown)), None
    seen: dict[str, int] = {}
    for k, e in enumerate(entries):
        if e.ref in seen:
            raise ListError(shown, None, f"reference `{e.ref}` occurs twice (entries {seen[e.ref] + 1} and {k + 1})")
        seen[e.ref] = k
    return ScreeningList(shown, fmt, tuple(entries), generated)


def _clean(s: str | None) -> str:
    return " ".join((s or "").split())


#: what may follow a list's date: a time (`T...`, ` ...`) or an XML Schema time zone
_DATE_TAIL = re.compile(r"(?:[T ].*|Z|[+-]\d\d:\d\d)?", re.DOTALL)


def _date(value: str, file: str, where: str) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    # a list's timestamps and XML dates keep their date (`2006-10-14T00:00:00`, `2015-04-14-04:00`);
    # other trailing text is no date (`2026-01-019` is not 2026-01-01)
    day = parse_date(value[:10]) if _DATE_TAIL.fullmatch(value[10:]) else None
    if day is None:
        raise ListError(file, where, f"`{value}` is not a date (YYYY-MM-DD)")
    return day


@lru_cache(maxsize=1)
def _territory_names() -> dict[str, str]:
    """Casefolded country names (short and full) → ISO alpha-2, from rigour's territory data."""
    from rigour.territories import get_territories
    out: dict[str, str] = {}
    for t in get_territories():
        if len(t.code) == 2 and not t.is_historical:
            for name in (t.name, t.full_name):
                if name:
                    out.setdefault(name.casefold(), t.code.upper())
    # the UN's own spellings where rigour uses another
    out.update({"turkey": "TR", "viet nam": "VN", "palestinian territories": "PS",
                "palestinian": "PS", "palestine": "PS"})
    return out


@lru_cache(maxsize=1024)
def country_code(value: str) -> str | None:
    """ISO alpha-2 code of a country as lists write it (`Iran (Islamic Republic of)`, `Afghan`,
    `Branch Office 11: Iran`, `Possibly Ethiopian`); None when it names no country."""
    text = _clean(value).casefold()
    if not text or text in {"na", "n/a", "none", "unknown"} or re.search(r"revoked|withdrawn", text):
        return None
    names = _territory_names()
    tries = [text, text.removesuffix("n"), text.rsplit(":", 1)[-1].strip(), re.sub(r"\s*\(.*?\)", "", text).strip()]
    for t in tries:
        if t in names:
            return names[t]
    for word in re.findall(r"[a-z]+", text):
        stems = [word, word[:-1], word[:-3], word[:-3] + "a", word[:-2] + "a", word[:-1] + "a"]
        for stem in stems:
            if len(stem) >= 4 and stem in names:
                return names[stem]
        if len(word) >= 5:
            hits = {code for name, code in names.items() if name.startswith(word) and " " not in name}
            if len(hits) == 1:
                return hits.pop()
    return None


# --- derived names -----------------------------------------------------------------------------

_NOTE_RE = re.compile(r"\s*(?:-\s*sub-unit name|\((?:birth|combat) name\)|\(previously listed as\)|\(original script\))\s*$", re.I)


def split_packed(name: str) -> list[str]:
    """The names packed in one list string: `A; B`, `X (A; B)`, `X (original script: Y)`, `X (Y)`
    with X and Y in different scripts, and `a, b, c` lists of single-word spellings."""
    text = _clean(name).rstrip(",").strip()
    m = re.fullmatch(r"(.*?)\s*\((.*)\)", text)
    if m and m.group(1):
        head, inner = m.group(1).strip(), m.group(2).strip()
        inner = re.sub(r"^original script:\s*", "", inner, flags=re.I)
        note = _NOTE_RE.search(text)
        if note and not ";" in inner:
            return [_NOTE_RE.sub("", text).strip()]
        if ";" in inner or script_of(head) != script_of(inner) or m.group(2).lower().startswith("original script"):
            return [head] + [p for part in _split_semicolons(inner) for p in split_packed(part)]
    if ";" in text:
        return [p for part in _split_semicolons(text) for p in split_packed(part)]
    if "," in text:
        parts = [p.strip() for p in text.split(",")]
        if len(parts) >= 3 and all(p and " " not in p for p in parts):
            return parts
    return [_NOTE_RE.sub("", text).strip()]


def _split_semicolons(text: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for c in text:
        depth += c == "("
        depth -= c == ")"
        if c == ";" and depth <= 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
    out.append("".join(cur).strip())
    return [p for p in out if p]


def _with_parts(names: list[ListedName], entity: bool) -> list[ListedName]:
    unique: dict[tuple[str, str, str | None], ListedName] = {}
    for n in names:                         # the XML repeats an alias once per date of birth
        unique.setdefault((n.name, n.kind, n.quality), n)
    names = list(unique.values())
    out = list(names)
    for n in names:
        if n.kind == "alias":
            parts = split_packed(n.name)
            if parts != [n.name]:
                out += [ListedName(p, "alias_part", n.quality, script_of(p), n.name) for p in parts]
        elif n.kind == "primary" and entity:
            parts = [p.strip() for p in re.split(r"\s;\s|\s*/\s*", n.name)]
            if len(parts) > 1 and all(parts):
                out += [ListedName(p, "primary_part", None, script_of(p), n.name) for p in parts]
    return out


# --- UN XML ------------------------------------------------------------------------------------

class _Node:
    __slots__ = ("tag", "line", "text", "children", "attrs")

    def __init__(self, tag: str, line: int, attrs: dict[str, str]) -> None:
        self.tag, self.line, self.attrs = tag, line, attrs
        self.text: list[str] = []
        self.children: list[_Node] = []

    def child(self, tag: str) -> _Node | None:
        return next((c for c in self.children if c.tag == tag), None)

    def all(self, tag: str) -> list[_Node]:
        return [c for c in self.children if c.tag == tag]

    def value(self, tag: str) -> str:
        c = self.child(tag)
        return _clean("".join(c.text)) if c is not None else ""


class _Builder(xml.sax.ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[_Node] = [_Node("#document", 0, {})]
        self._locator: Any = None

    def setDocumentLocator(self, locator: Any) -> None:
        self._locator = locator

    def startElement(self, name: str, attrs: Any) -> None:
        line = self._locator.getLineNumber() if self._locator is not None else 0
        node = _Node(name, line, dict(attrs))
        self.stack[-1].children.append(node)
        self.stack.append(node)

    def endElement(self, name: str) -> None:
        self.stack.pop()

    def characters(self, content: str) -> None:
        self.stack[-1].text.append(content)


def _un_xml(data: bytes, file: str) -> tuple[list[Entry], str | None]:
    from defusedxml import DefusedXmlException
    from defusedxml.sax import parseString
    builder = _Builder()
    try:
        parseString(data, builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except xml.sax.SAXParseException as exc:
        raise ListError(file, f"{exc.getLineNumber()}:{(exc.getColumnNumber() or 0) + 1}",
                        f"malformed XML: {exc.getMessage()}") from None
    except DefusedXmlException as exc:
        raise ListError(file, None, f"refused XML: {type(exc).__name__} (DTDs and entities are not allowed)") from None
    root = builder.stack[0].child("CONSOLIDATED_LIST")
    if root is None:
        raise ListError(file, "1", "not a UN consolidated list: no `CONSOLIDATED_LIST` root element")
    entries: list[Entry] = []
    for group, kind in (("INDIVIDUALS", "individual"), ("ENTITIES", "entity")):
        g = root.child(group)
        for node in (g.all(kind.upper()) if g is not None else []):
            entries.append(_un_entry(node, kind, file))
    return entries, root.attrs.get("dateGenerated")


def _un_entry(node: _Node, kind: str, file: str) -> Entry:
    where = f"{node.line} (<{node.tag}>)"
    ref = node.value("REFERENCE_NUMBER")
    if not ref:
        raise ListError(file, where, f"<{node.tag}> has no REFERENCE_NUMBER")
    where = f"{node.line} (<{node.tag}> {ref})"
    parts = tuple(p for p in (node.value(t) for t in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")) if p)
    if not parts:
        raise ListError(file, where, f"<{node.tag}> {ref} has no FIRST_NAME")
    primary = " ".join(parts) if kind == "individual" else parts[0]
    names = [ListedName(primary, "primary", None, script_of(primary))]
    original = node.value("NAME_ORIGINAL_SCRIPT")
    if original:
        names.append(ListedName(original, "original_script", None, script_of(original)))
    for alias in node.all(f"{node.tag}_ALIAS"):
        text = alias.value("ALIAS_NAME")
        if text:
            quality = alias.value("QUALITY").lower() or None
            names.append(ListedName(text, "alias", quality, script_of(text)))
    listed = _date(node.value("LISTED_ON"), file, where)
    nat_node = node.child("NATIONALITY")
    nat_raw = [_clean("".join(v.text)) for v in nat_node.all("VALUE")] if nat_node is not None else []
    addresses = node.all(f"{node.tag}_ADDRESS")
    countries_raw = [a.value("COUNTRY") for a in addresses if a.value("COUNTRY")]
    return Entry(ref=ref, type=kind, names=tuple(_with_parts(names, kind == "entity")),
                 regime=node.value("UN_LIST_TYPE") or None, listed_on=listed,
                 countries=_codes(countries_raw), nationality=_codes(nat_raw), name_parts=parts,
                 dataid=node.value("DATAID") or None)


def _codes(values: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        code = country_code(v)
        if code and code not in out:
            out.append(code)
    return tuple(out)


# --- OFAC CSV ------------------------------------------------------------------------------------

_AKA_RE = re.compile(r"[af]\.k\.a\.,?\s+'([^']+)'", re.I)
_OFAC_COLUMNS = 12


def _ofac_csv(text: str, file: str) -> list[Entry]:
    """OFAC's `sdn.csv` / `cons_prim.csv`: no header; ent_num, name, type, programs, title,
    call_sign, vess_type, tonnage, grt, vess_flag, vess_owner, remarks; `-0-` is empty. Aliases
    quoted in the remarks (`a.k.a. 'X'`) become aliases."""
    entries: list[Entry] = []
    reader = csv.reader(io.StringIO(text.rstrip("\x1a\r\n ")))
    for row in reader:
        line = str(reader.line_num)
        if not row or all(not c.strip() or c.strip() == "\x1a" for c in row):
            continue
        if len(row) != _OFAC_COLUMNS:
            raise ListError(file, line, f"expected {_OFAC_COLUMNS} columns (OFAC sdn.csv layout), found {len(row)}")
        cells = [("" if c.strip() == "-0-" else _clean(c)) for c in row]
        ref, name, kind, programs, remarks = cells[0], cells[1], cells[2].lower(), cells[3], cells[11]
        if not ref.isdigit():
            raise ListError(file, line, f"ent_num `{ref}` is not a number")
        if not name:
            raise ListError(file, line, f"entry {ref} has no name")
        names = [ListedName(name, "primary", None, script_of(name))]
        names += [ListedName(a, "alias", "a.k.a.", script_of(a)) for a in _AKA_RE.findall(remarks)]
        nat = re.findall(r"(?:nationality|citizen)\s+([A-Za-z ]+?)(?:[;.]|$)", remarks, re.I)
        ctry = re.findall(r"(?:Organization Established Date|Registration Number|Address)[^;]*?,\s*([A-Z][A-Za-z ]+)[;.]", remarks)
        entries.append(Entry(ref=ref, type=kind if kind in ("individual", "vessel", "aircraft") else "entity",
                             names=tuple(names), regime=programs.strip("[] ") or None,
                             nationality=_codes(nat), countries=_codes(ctry)))
    return entries


# --- JSON Lines ----------------------------------------------------------------------------------

def _jsonl(text: str, file: str) -> list[Entry]:
    """One entry a line: {ref, type, names: [{name, kind, quality, script}], countries,
    nationality, list_type|regime, listed_on}; blank lines are skipped."""
    entries: list[Entry] = []
    for k, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ListError(file, f"{k}:{exc.colno}", f"not JSON: {exc.msg}") from None
        entries.append(_json_entry(obj, file, str(k)))
    return entries


def _json_entry(obj: object, file: str, line: str) -> Entry:
    if not isinstance(obj, dict):
        raise ListError(file, line, "an entry is a JSON object")
    ref = obj.get("ref")
    if not isinstance(ref, str) or not ref.strip():
        raise ListError(file, line, "field `ref` is missing or not a string")
    kind = obj.get("type")
    if kind not in ("individual", "entity", "vessel", "aircraft"):
        raise ListError(file, line, f"field `type` of `{ref}` must be individual or entity, not `{kind}`")
    raw_names = obj.get("names")
    if not isinstance(raw_names, list) or not raw_names:
        raise ListError(file, line, f"field `names` of `{ref}` must be a non-empty list")
    names: list[ListedName] = []
    for n in raw_names:
        if isinstance(n, str):
            n = {"name": n}
        if not isinstance(n, dict) or not isinstance(n.get("name"), str) or not n["name"].strip():
            raise ListError(file, line, f"a name of `{ref}` has no `name` string")
        text = _clean(n["name"])
        names.append(ListedName(text, str(n.get("kind") or ("primary" if not names else "alias")),
                                n.get("quality"), str(n.get("script") or script_of(text)),
                                n.get("derived_from")))
    listed = obj.get("listed_on")
    return Entry(ref=ref.strip(), type=kind, names=tuple(names),
                 regime=obj.get("regime") or obj.get("list_type"),
                 listed_on=_date(listed, file, line) if isinstance(listed, str) else None,
                 countries=_str_tuple(obj.get("countries"), file, line, "countries"),
                 nationality=_str_tuple(obj.get("nationality"), file, line, "nationality"),
                 name_parts=_str_tuple(obj.get("name_parts"), file, line, "name_parts"),
                 dataid=str(obj["dataid"]) if obj.get("dataid") is not None else None)


def _str_tuple(value: object, file: str, line: str, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ListError(file, line, f"field `{field}` must be a list of strings")
    return tuple(value)


def entries_to_jsonl(entries: Iterable[Entry]) -> Iterator[str]:
    """The JSON Lines form of entries (what `--list` of the benchmark reads)."""
    for e in entries:
        yield json.dumps({"ref": e.ref, "type": e.type, "regime": e.regime,
                          "listed_on": e.listed_on.isoformat() if e.listed_on else None,
                          "names": [{"name": n.name, "kind": n.kind, "quality": n.quality, "script": n.script}
                                    for n in e.names],
                          "countries": list(e.countries), "nationality": list(e.nationality)},
                         ensure_ascii=False)
