"""What a screening list holds: entries (a listed party) with every name they are listed under."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True, slots=True)
class ListedName:
    """One name of an entry: the primary name, an alias (with its quality), or an original-script
    name; `derived_from` is set for a name split out of one that packs several."""

    name: str
    kind: str = "primary"          # primary | original_script | alias | alias_part | primary_part
    quality: str | None = None     # good | low | a.k.a. | f.k.a. | None
    script: str = "Latin"
    derived_from: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """A listed party: its reference, type, names, and the regime and date that listed it."""

    ref: str
    type: str                      # individual | entity | vessel | aircraft
    names: tuple[ListedName, ...]
    regime: str | None = None      # UN_LIST_TYPE (`DPRK`, `Al-Qaida`, ...) or OFAC program
    listed_on: dt.date | None = None
    countries: tuple[str, ...] = ()
    nationality: tuple[str, ...] = ()
    name_parts: tuple[str, ...] = ()
    dataid: str | None = None

    @property
    def primary(self) -> str:
        return self.names[0].name if self.names else ""


@dataclass(frozen=True, slots=True)
class ScreeningList:
    """A loaded list: where it came from, its format, and its entries in file order."""

    source: str
    format: str
    entries: tuple[Entry, ...]
    generated: str | None = None
    by_ref: Mapping[str, Entry] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # frozen, and shared by every policy that declares this list: the index is read-only
        object.__setattr__(self, "by_ref", MappingProxyType({e.ref: e for e in self.entries}))

    @property
    def name_count(self) -> int:
        return sum(len(e.names) for e in self.entries)


class ListError(Exception):
    """A list file that cannot be read: the file, where in it (line or element), and why."""

    def __init__(self, file: str, where: str | None, message: str) -> None:
        self.file = file
        self.where = where
        self.message = message
        super().__init__(f"{file}{':' + where if where else ''}: {message}")
