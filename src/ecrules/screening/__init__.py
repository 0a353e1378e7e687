"""Denied-party screening: lists in their own formats, a transliteration-aware matcher, explained hits."""

from .loaders import FORMATS, load_list
from .model import Entry, ListError, ListedName, ScreeningList

__all__ = ["FORMATS", "Entry", "ListError", "ListedName", "ScreeningList", "load_list"]
