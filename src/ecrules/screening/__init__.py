"""Denied-party screening: lists in their own formats, a transliteration-aware matcher, explained hits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .loaders import FORMATS, entries_to_jsonl, load_list
from .model import Entry, ListError, ListedName, ScreeningList

if TYPE_CHECKING:
    from .matcher import Hit, Matcher

__all__ = ["FORMATS", "Entry", "Hit", "ListError", "ListedName", "Matcher", "ScreeningList", "entries_to_jsonl",
           "load_list"]


def __getattr__(name: str) -> object:
    """The matcher (it loads rapidfuzz and anyascii), imported when first named."""
    if name in ("Matcher", "Hit"):
        from . import matcher

        return getattr(matcher, name)
    raise AttributeError(f"module 'ecrules.screening' has no attribute {name!r}")
