"""The one reading of date and number literals in data: records, CSV cells and list files.

Before this module, list files parsed dates with `date.fromisoformat` (which also takes
`20260101` and `2026-W01-4`) while records took only `YYYY-MM-DD`: the same text meant a date
in one place and an error in the other. Every reader of data now calls these functions.

Numbers are bounded here too: a decimal whose adjusted exponent lies outside
±`MAX_EXPONENT` is refused before any arithmetic sees it (`1e999999999` would otherwise take
gigabytes once added to `1`), and the non-finite spellings (`Infinity`, `NaN`, `sNaN`) are not
numbers at all.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

#: A decimal's adjusted exponent (the power of ten of its leading digit) must lie in
#: [-MAX_EXPONENT, MAX_EXPONENT]: `1e1000` and `1e-1000` are numbers, `1e1001` is not.
MAX_EXPONENT = 1000

NUMBER_RANGE = f"its exponent must lie between -{MAX_EXPONENT} and {MAX_EXPONENT}"


def decimal_in_range(v: Decimal) -> bool:
    """A finite decimal whose exponent arithmetic can afford (zero with a huge exponent too)."""
    return v.is_finite() and -MAX_EXPONENT <= v.adjusted() <= MAX_EXPONENT


def parse_date(text: str) -> datetime.date | None:
    """`YYYY-MM-DD` exactly (years 0001 to 9999); None for anything else."""
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit() \
            and text[5:7].isdigit() and text[8:].isdigit() and text.isascii():
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            return None
    return None


def parse_int(text: str) -> int | None:
    """A decimal integer (optional sign, `_` between digits allowed); None for anything else."""
    try:
        return int(text)
    except ValueError:  # not an integer, or over Python's 4,300-digit limit
        return None


def parse_decimal(text: str) -> Decimal | None:
    """A finite decimal (surrounding blanks and `_` between digits allowed); None otherwise.

    `Infinity`, `NaN` and `sNaN` are None. The exponent range is the caller's to check
    (`decimal_in_range`), so that its error can say "out of range" rather than "not a number".
    """
    s = text.strip()
    if not s or not (s[-1].isdigit() or s[-1] == "."):
        return None  # excludes Infinity, NaN, sNaN before Decimal sees them
    try:
        v = Decimal(s)
    except (InvalidOperation, ValueError):
        return None
    return v if v.is_finite() else None


__all__ = ["MAX_EXPONENT", "NUMBER_RANGE", "decimal_in_range", "parse_date", "parse_decimal", "parse_int"]
