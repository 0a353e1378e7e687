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
import hashlib
import io
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Mapping

from ..literals import parse_date
from ..semantics import combining as sem
from ..semantics.combining import in_force
from ..decision import BasisRef, Decision
from ..frozen import readonly

from .loaders import load_list
from .matcher import FLOOR, Hit, Matcher
from .model import Entry, ListError, ScreeningList
from .text import normalise

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


def load_cleared(display: str, data: bytes) -> tuple[Clearance, ...]:
    """A cleared-parties CSV (its bytes, read by the loader): header
    `ref,name,cleared_by,cleared_on,expires,reason`; every clearance names who cleared it and when
    it expires."""
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
        exp = parse_date(expires)  # as records read dates: YYYY-MM-DD only
        cleared_on = parse_date(on) if on else None
        if exp is None or (on and cleared_on is None):
            raise ListError(display, str(line), f"`{expires if on == '' else on + '` or `' + expires}` is not a date (YYYY-MM-DD)")
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
    #: `regime "R" basis ID` clauses: regime name -> the basis (`checked.BasisInfo`) a hit cites
    regimes: Mapping[str, Any] = field(default_factory=dict)
    _by_ref: Mapping[str, tuple[Clearance, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by_ref: dict[str, tuple[Clearance, ...]] = {}
        for c in self.cleared:
            by_ref[c.ref] = by_ref.get(c.ref, ()) + (c,)
        # frozen: a loaded Policy is read-only
        object.__setattr__(self, "_by_ref", readonly(by_ref))
        object.__setattr__(self, "regimes", readonly(self.regimes))

    def clearance(self, hit: Hit, as_of: dt.date | None) -> Clearance | None:
        """The clearance in force on `as_of` (today when the record has no date) for this hit."""
        day = as_of or dt.date.today()
        for c in self._by_ref.get(hit.ref, ()):
            if (c.cleared_on is None or c.cleared_on <= day) and day < c.expires and \
                    normalise(c.name).tokens == normalise(hit.screened).tokens:
                return c
        return None


_MATCHERS: dict[tuple[str, str, str, float, str], tuple[ScreeningList, Matcher]] = {}
_MATCHERS_MAX = 8
_LOCK = threading.Lock()


def load_screening(path: Path, display: str, data: bytes, fmt: str | None,
                   threshold: float) -> tuple[ScreeningList, Matcher]:
    """The list in `data` (the file's bytes, read by the loader every time, so that the policy's
    content hash covers it) and its index, built once per content and process (building takes a
    second or more)."""
    key = (str(path), hashlib.sha256(data).hexdigest(), fmt or "", threshold, display)
    with _LOCK:
        got = _MATCHERS.get(key)
        if got is None:
            lst = load_list(path, fmt, display, data)
            if len(_MATCHERS) >= _MATCHERS_MAX:     # bounded: a long-lived process reloading edited lists
                _MATCHERS.pop(next(iter(_MATCHERS)))
            got = _MATCHERS[key] = (lst, Matcher(lst, threshold))
        return got


# --- evaluation --------------------------------------------------------------------------------

#: a hit (or a cleared one) noted while a record is decided: list, rule, hit, clearance, as_of
Event = tuple[ScreeningInfo, "str | None", Hit, "Clearance | None", "dt.date | None"]


class _Journal(threading.local):
    events: list[Event] | None = None


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
    day = as_of if isinstance(as_of, dt.date) else None
    for h in hits:
        cleared = info.clearance(h, day) if info.cleared else None
        if cleared is None:
            if events is not None and h.score >= floor:
                events.append((info, rule, h, None, day))
            return h
        if events is not None and h.score >= info.threshold:
            events.append((info, rule, h, cleared, day))
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


def hit_basis(info: ScreeningInfo, entry: Entry) -> dict[str, Any]:
    """What a hit on `entry` cites: the instrument the policy maps the entry's regime to (its
    kind, citation, pinpoint), applying from the entry's listing date; an unmapped regime is
    cited by name only (no instrument: it justifies nothing)."""
    b = info.regimes.get(entry.regime or "")
    listed = entry.listed_on
    if b is None:
        return {"regime": entry.regime, "instrument": None, "kind": None, "citation": entry.regime,
                "pinpoint": None, "from": listed.isoformat() if listed else None, "until": None}
    start = max((d for d in (listed, b.valid_from) if d is not None), default=None)
    return {"regime": entry.regime, "instrument": b.instrument_id, "kind": b.kind, "citation": b.citation,
            "pinpoint": b.pinpoint, "from": start.isoformat() if start else None,
            "until": b.until.isoformat() if b.until else None}


def match_dict(info: ScreeningInfo, rule: str | None, hit: Hit, cleared: Clearance | None) -> dict[str, Any]:
    """The JSON form of a match on a decision: list, entry, listed name, score, steps, basis."""
    entry = hit.entry
    return {
        "rule": rule, "list": info.name, "file": info.path, "ref": hit.ref, "type": entry.type,
        "listed_name": hit.listed_name.name, "name_kind": hit.listed_name.kind,
        "quality": hit.listed_name.quality, "screened": hit.screened, "score": hit.score,
        "threshold": info.threshold, "steps": list(hit.steps),
        "basis": hit_basis(info, entry),
        "cleared": cleared.to_dict() if cleared is not None else None,
    }


def collect(fired: tuple[str, ...]) -> tuple[dict[str, Any], ...]:
    """The matches of the record just decided: hits of rules that fired, and every clearance."""
    events = JOURNAL.events or []
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str, str | None]] = set()
    for info, rule, hit, cleared, _ in events:
        if cleared is None and (rule not in fired if rule is not None else not fired):
            continue
        key = (info.name, hit.ref, hit.screened, cleared.ref if cleared else None)
        if key in seen:
            continue
        seen.add(key)
        out.append(match_dict(info, rule, hit, cleared))
    return tuple(out)


def counted(checked: Any, fired: tuple[str, ...]) -> set[str]:
    """The fired rules whose bases a decision cites: those that count (`semantics.combining`)."""
    ids = [r.id for r in checked.rules]
    index = {rule: k for k, rule in enumerate(ids)}
    waivers = sem.waived_by(ids, [r.waives for r in checked.rules])
    return {ids[k] for k in sem.counted(checked.combine, [index[f] for f in fired], waivers)}


def entry_bases(events: list[Event], rules: set[str]) -> list[BasisRef]:
    """The instruments hits of counting rules cite, in force on the record's date, each naming
    the entry it listed as the member (`basis` of the decision, after the rules' own)."""
    out: list[BasisRef] = []
    for info, rule, hit, cleared, day in events:
        if cleared is not None or rule is None or rule not in rules:
            continue
        b = info.regimes.get(hit.entry.regime or "")
        if b is None or b.instrument is None:
            continue
        listed = hit.entry.listed_on
        start = max((d for d in (listed, b.valid_from) if d is not None), default=None)
        if not in_force(start, b.until, day):
            continue
        ref = BasisRef(rule, b.instrument_id, b.kind, b.citation, b.pinpoint, hit.ref)
        if ref not in out:
            out.append(ref)
    return out


def with_matches(decide: Callable[[Any, int], Decision], checked: Any) -> Callable[[Any, int], Decision]:
    """`decide`, with the screening matches of each record put on its decision, and the
    instruments its hits cite added to its basis."""

    def decide_screened(record: Any, position: int = 1) -> Decision:
        JOURNAL.events = []
        try:
            d = decide(record, position)
            events = JOURNAL.events
            if events and not d.is_error:
                extra = [b for b in entry_bases(events, counted(checked, d.fired)) if b not in d.basis]
                d = d._replace(matches=collect(d.fired), basis=d.basis + tuple(extra))
            return d
        finally:
            JOURNAL.events = None

    return decide_screened
