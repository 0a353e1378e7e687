"""Screening inside a policy: a declared list, its cleared parties, `screen` and `matches`, and
the match a decision carries.

Both engines call the same two functions (`score`, `matches`); while a record is decided they
note every hit (score at or above the list's threshold) and every clearance that suppressed one in
a per-thread journal, from which the decision's `matches` are built. The journal costs nothing
when a policy screens nobody.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Mapping

from .. import files
from ..decision import Decision
from ..frozen import readonly

from .loaders import load_list
from .matcher import FLOOR, Hit, Matcher
from .model import ListError, ScreeningList
from .text import normalise

# the resolution that established each UN sanctions committee's list (shared/DOMAIN.md §3);
# a hit on an entry of that regime cites it, from the entry's listing date
UN_REGIMES: dict[str, tuple[str, str]] = {
    "Al-Qaida": ("UNSCR_1267", "S/RES/1267 (1999)"),
    "Taliban": ("UNSCR_1988", "S/RES/1988 (2011)"),
    "DPRK": ("UNSCR_1718", "S/RES/1718 (2006)"),
    "Iraq": ("UNSCR_1483", "S/RES/1483 (2003)"),
    "Iran": ("UNSCR_2231", "S/RES/2231 (2015)"),
    "DRC": ("UNSCR_1533", "S/RES/1533 (2004)"),
    "Libya": ("UNSCR_1970", "S/RES/1970 (2011)"),
    "Somalia": ("UNSCR_751", "S/RES/751 (1992)"),
    "CAR": ("UNSCR_2127", "S/RES/2127 (2013)"),
    "GB": ("UNSCR_2048", "S/RES/2048 (2012)"),
    "Mali": ("UNSCR_2374", "S/RES/2374 (2017)"),
    "SouthSudan": ("UNSCR_2206", "S/RES/2206 (2015)"),
    "Yemen": ("UNSCR_2140", "S/RES/2140 (2014)"),
    "Sudan": ("UNSCR_1591", "S/RES/1591 (2005)"),
}

_INDIVIDUAL_WORDS = frozenset({"individual", "person", "natural_person", "natural person"})


@dataclass(frozen=True)
class Clearance:
    """A known false positive: this screened name is not entry `ref`, said `cleared_by` on
    `cleared_on`, until `expires` (exclusive)."""

    ref: str
    name: str
    cleared_by: str
    cleared_on: dt.date | None
    expires: dt.date
    reason: str
    line: int

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "name": self.name, "cleared_by": self.cleared_by,
                "cleared_on": self.cleared_on.isoformat() if self.cleared_on else None,
                "expires": self.expires.isoformat(), "reason": self.reason}


CLEARED_HEADER = ("ref", "name", "cleared_by", "cleared_on", "expires", "reason")


def load_cleared(path: Path, display: str) -> tuple[Clearance, ...]:
    """A cleared-parties CSV: header `ref,name,cleared_by,cleared_on,expires,reason`; every
    clearance names who cleared it and when it expires."""
    data, problem = files.read_bytes(path, files.MAX_LIST_BYTES)  # a regular file, bounded (docs/security.md)
    if problem is not None:
        raise ListError(display, None, problem)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ListError(display, str(data[:exc.start].count(b"\n") + 1), "is not UTF-8") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != CLEARED_HEADER:
        raise ListError(display, "1", f"the header must be `{','.join(CLEARED_HEADER)}`")
    out: list[Clearance] = []
    for row in reader:
        line = reader.line_num
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(CLEARED_HEADER):
            raise ListError(display, str(line), f"expected {len(CLEARED_HEADER)} columns, found {len(row)}")
        ref, name, by, on, expires, reason = (c.strip() for c in row)
        for label, value in (("ref", ref), ("name", name), ("cleared_by", by), ("expires", expires)):
            if not value:
                raise ListError(display, str(line), f"column `{label}` is empty (every clearance needs it)")
        try:
            exp = dt.date.fromisoformat(expires)
            cleared_on = dt.date.fromisoformat(on) if on else None
        except ValueError:
            raise ListError(display, str(line), f"`{expires if on == '' else on + '` or `' + expires}` is not a date (YYYY-MM-DD)") from None
        out.append(Clearance(ref, name, by, cleared_on, exp, reason, line))
    return tuple(out)


@dataclass(frozen=True, eq=False)
class ScreeningInfo:
    """A `screening` declaration, loaded: the list, its matcher, threshold and clearances."""

    name: str
    path: str
    format: str
    threshold: float
    screening_list: ScreeningList
    matcher: Matcher
    cleared: tuple[Clearance, ...] = ()
    cleared_path: str | None = None
    _by_ref: Mapping[str, tuple[Clearance, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by_ref: dict[str, tuple[Clearance, ...]] = {}
        for c in self.cleared:
            by_ref[c.ref] = by_ref.get(c.ref, ()) + (c,)
        object.__setattr__(self, "_by_ref", readonly(by_ref))  # frozen: a loaded Policy is read-only

    def clearance(self, hit: Hit, as_of: dt.date | None) -> Clearance | None:
        """The clearance in force on `as_of` (today when the record has no date) for this hit."""
        day = as_of or dt.date.today()
        for c in self._by_ref.get(hit.ref, ()):
            if (c.cleared_on is None or c.cleared_on <= day) and day < c.expires and \
                    normalise(c.name).tokens == normalise(hit.screened).tokens:
                return c
        return None


_MATCHERS: dict[tuple[str, int, int, str, float], tuple[ScreeningList, Matcher]] = {}
_LOCK = threading.Lock()


def load_screening(path: Path, display: str, fmt: str | None, threshold: float) -> tuple[ScreeningList, Matcher]:
    """The list and its index, built once per file version and process (building takes seconds)."""
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size, fmt or "", threshold)
    with _LOCK:
        got = _MATCHERS.get(key)
        if got is None:
            lst = load_list(path, fmt, display)
            got = _MATCHERS[key] = (lst, Matcher(lst, threshold))
        return got


# --- evaluation --------------------------------------------------------------------------------

class _Journal(threading.local):
    events: list[tuple[ScreeningInfo, str | None, Hit, Clearance | None]] | None = None


JOURNAL = _Journal()


def party_type(value: Any) -> str | None:
    """`individual` or `entity` from a record's party type (an enum such as `commercial`)."""
    if value is None:
        return None
    return "individual" if str(value).casefold() in _INDIVIDUAL_WORDS else "entity"


def _best(info: ScreeningInfo, name: Any, type: Any, country: Any, as_of: Any,
          rule: str | None, floor: float | None = None) -> Hit | None:
    """The best hit not cleared; journals it when it scores `floor` (the threshold by default),
    and every cleared hit above the threshold."""
    floor = info.threshold if floor is None else floor
    if name is None or not str(name).strip():
        return None
    hits = info.matcher._screen(str(name), party_type(type), str(country) if country else None, FLOOR)
    events = JOURNAL.events
    for h in hits:
        cleared = info.clearance(h, as_of if isinstance(as_of, dt.date) else None) if info.cleared else None
        if cleared is None:
            if events is not None and h.score >= floor:
                events.append((info, rule, h, None))
            return h
        if events is not None and h.score >= info.threshold:
            events.append((info, rule, h, cleared))
    return None


def score(info: ScreeningInfo, name: Any, type: Any = None, country: Any = None, as_of: Any = None,
          rule: str | None = None) -> Decimal:
    """`screen(name, list)`: the best score of an entry not cleared for this name (0 below 0.7)."""
    hit = _best(info, name, type, country, as_of, rule, FLOOR)
    return Decimal(str(hit.score)) if hit is not None else Decimal(0)


def matches(info: ScreeningInfo, name: Any, type: Any = None, country: Any = None, as_of: Any = None,
            rule: str | None = None) -> bool:
    """`matches(name, list)`: an entry not cleared for this name scores the list's threshold."""
    hit = _best(info, name, type, country, as_of, rule)
    return hit is not None and hit.score >= info.threshold


def match_dict(info: ScreeningInfo, rule: str | None, hit: Hit, cleared: Clearance | None) -> dict[str, Any]:
    """The JSON form of a match on a decision: list, entry, listed name, score, steps, basis."""
    entry = hit.entry
    instrument, citation = UN_REGIMES.get(entry.regime or "", (None, entry.regime))
    return {
        "rule": rule, "list": info.name, "file": info.path, "ref": hit.ref, "type": entry.type,
        "listed_name": hit.listed_name.name, "name_kind": hit.listed_name.kind,
        "quality": hit.listed_name.quality, "screened": hit.screened, "score": hit.score,
        "threshold": info.threshold, "steps": list(hit.steps),
        "basis": {"regime": entry.regime, "instrument": instrument, "citation": citation,
                  "from": entry.listed_on.isoformat() if entry.listed_on else None},
        "cleared": cleared.to_dict() if cleared is not None else None,
    }


def collect(fired: tuple[str, ...]) -> tuple[dict[str, Any], ...]:
    """The matches of the record just decided: hits of rules that fired, and every clearance."""
    events = JOURNAL.events or []
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str, str | None]] = set()
    for info, rule, hit, cleared in events:
        if cleared is None and (rule not in fired if rule is not None else not fired):
            continue
        key = (info.name, hit.ref, hit.screened, cleared.ref if cleared else None)
        if key in seen:
            continue
        seen.add(key)
        out.append(match_dict(info, rule, hit, cleared))
    return tuple(out)


def with_matches(decide: Callable[[Any, int], Decision]) -> Callable[[Any, int], Decision]:
    """`decide`, with the screening matches of each record put on its decision."""

    def decide_screened(record: Any, position: int = 1) -> Decision:
        JOURNAL.events = []
        try:
            d = decide(record, position)
            if JOURNAL.events:
                d = d._replace(matches=collect(d.fired))
            return d
        finally:
            JOURNAL.events = None

    return decide_screened
