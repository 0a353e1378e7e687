"""One JSON record read defensively: every way a line can be hostile becomes a `BadRecord`.

`json.loads` alone lets the last of two equal keys win (`{"destination":"KP","destination":"FR"}`
is FR), raises `RecursionError` on deep nesting and `ValueError` on integers over 4,300 digits,
and keeps lone UTF-16 surrogates that no UTF-8 output can hold. Each of these is refused here
with a message naming the problem (and the field, when there is one), so the caller can give
that one line an `error` decision and go on.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from .records import render_path
from .source import strip_bom  # one definition for records, policies and list files

#: Objects and arrays may nest this deep in a record line (the schema is far shallower).
MAX_DEPTH = 100

_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")


class BadRecord(Exception):
    """Text that is not one acceptable JSON record; `field` is the path it concerns, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class _Duplicate(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Duplicate
    return obj


class _Pairs(list):  # type: ignore[type-arg]
    """An object kept as its key/value pairs, to find where a duplicate key sits."""


def check_depth(text: str) -> None:
    """Raise `BadRecord` when arrays and objects nest deeper than `MAX_DEPTH`."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return  # cannot be too deep: the common case costs two counts
    depth = 0
    for m in _BRACKETS.finditer(text):
        tok = m.group()
        if tok in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise BadRecord(f"arrays and objects nest deeper than {MAX_DEPTH} levels")
        elif tok in "]}":
            depth -= 1


def loads_record(text: str) -> Any:
    """The JSON value of `text` (fractions as exact decimals), or `BadRecord` saying why not.

    `JSONDecodeError` is passed through, so that the caller can report its line and column.
    """
    check_depth(text)
    try:
        value = json.loads(text, parse_float=Decimal, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError:
        raise
    except _Duplicate:
        raise _duplicate(text) from None
    except ValueError as exc:  # an integer over Python's 4,300-digit conversion limit
        raise BadRecord(f"a number has too many digits ({exc.args[0].split(':')[0].lower()})") from None
    except InvalidOperation:  # an exponent beyond what the decimal module can represent
        raise BadRecord("a number's exponent is too large to represent") from None
    except RecursionError:  # cannot happen after check_depth; kept so no traceback can escape
        raise BadRecord(f"arrays and objects nest deeper than {MAX_DEPTH} levels") from None
    if "\\u" in text:
        check_surrogates(value)
    return value


def _duplicate(text: str) -> BadRecord:
    """The first duplicate key of `text`, with its path (the slow path: errors only)."""
    value = json.loads(text, parse_float=Decimal, object_pairs_hook=_Pairs)
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop(0)
        if isinstance(node, _Pairs):
            seen: set[str] = set()
            for key, child in node:
                if key in seen:
                    field = render_path(list(path) + [key])
                    return BadRecord(f"`{field}` appears twice in one object: which one counts is ambiguous", field)
                seen.add(key)
            stack.extend((child, path + (key,)) for key, child in node)
        elif isinstance(node, list):
            stack.extend((child, path + (k,)) for k, child in enumerate(node))
    return BadRecord("a key appears twice in one object")


def check_surrogates(value: Any) -> None:
    """Raise `BadRecord` naming the first string (or key) that holds a lone UTF-16 surrogate.

    Such a string is not Unicode text: no UTF-8 output can hold it, and it must never reach a
    rule (nor be allowed unread).
    """
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                field = render_path(list(path)) or None
                where = f"`{field}`" if field else "a string"
                raise BadRecord(f"{where} holds a lone UTF-16 surrogate (\\uD800-\\uDFFF): not text", field)
        elif isinstance(node, dict):
            for key, child in node.items():
                if _SURROGATE.search(key):
                    raise BadRecord("a key holds a lone UTF-16 surrogate (\\uD800-\\uDFFF): not text",
                                    render_path(list(path)) or None)
                stack.append((child, path + (key,)))
        elif isinstance(node, list):
            stack.extend((child, path + (k,)) for k, child in enumerate(node))


__all__ = ["BadRecord", "MAX_DEPTH", "check_depth", "check_surrogates", "loads_record", "strip_bom"]
