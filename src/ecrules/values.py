"""Run-time value helpers shared by every back-end: decimals, dates, text functions, `like`.

Exact arithmetic runs in one explicit decimal context (never the caller's thread context), so
results do not depend on what else the process did with `decimal.getcontext()`.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from fractions import Fraction
from functools import lru_cache
from typing import Callable, Iterable, Protocol

import attrs

from .countries import COUNTRIES

#: Exact for `+ - *`: precision is unbounded in practice, so nothing is ever rounded.
EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation, DivisionByZero, Overflow])

DIVISION_PLACES = 18
_SCALE = 10**DIVISION_PLACES


class Fault(Exception):
    """A run-time fault in a condition (division by zero): the decision becomes `error`."""


def divide(a: int | Decimal, b: int | Decimal, site: str = "") -> Decimal:
    """`a / b` rounded to 18 decimal places, half to even; a fault when `b` is zero."""
    if not b:
        raise Fault(f"division by zero at {site}" if site else "division by zero")
    q = Fraction(a) / Fraction(b)
    return Decimal(round(q * _SCALE)).scaleb(-DIVISION_PLACES, EXACT)


def dsum(values: Iterable[int | Decimal]) -> int | Decimal:
    total: int | Decimal = 0
    add = EXACT.add
    for v in values:
        total = add(total, v)
    return total


def add(a: int | Decimal, b: int | Decimal) -> int | Decimal:
    if type(a) is int and type(b) is int:
        return a + b
    return EXACT.add(a, b)


def sub(a: int | Decimal, b: int | Decimal) -> int | Decimal:
    if type(a) is int and type(b) is int:
        return a - b
    return EXACT.subtract(a, b)


def mul(a: int | Decimal, b: int | Decimal) -> int | Decimal:
    if type(a) is int and type(b) is int:
        return a * b
    return EXACT.multiply(a, b)


def neg(a: int | Decimal) -> int | Decimal:
    """`-a` exactly: `Decimal.__neg__` rounds to the thread's context (28 digits by default)."""
    if type(a) is int:
        return -a
    return EXACT.minus(a)


def to_decimal(v: float) -> Decimal:
    """A float is taken as the decimal it prints as: `0.1` is 0.1, not 0.1000000000000000055."""
    return Decimal(repr(v))


def _normalize(s: str) -> str:
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", s).casefold())
    return _WHITESPACE.sub(" ", folded).strip(" ")


class _SizedCache:
    """`normalize`'s results, bounded by their total size in characters, not by their count.

    A count bound lets 65,536 names of 200 KB each hold gigabytes; here a string and its result
    together count their length, an entry over `max_entry` is never kept, and the cache is
    emptied whenever it would grow past `max_chars` (a bound, not an LRU: names repeat within a
    batch, and refilling is cheap).
    """

    def __init__(self, max_chars: int, max_entry: int):
        self.max_chars = max_chars
        self.max_entry = max_entry
        self.chars = 0
        self.data: dict[str, str] = {}

    def __call__(self, s: str) -> str:
        hit = self.data.get(s)
        if hit is not None:
            return hit
        out = _normalize(s)
        size = len(s) + len(out)
        if size <= self.max_entry:
            if self.chars + size > self.max_chars:
                self.data.clear()
                self.chars = 0
            self.data[s] = out
            self.chars += size
        return out


#: at most 4 million characters cached (16 MB at worst, as CPython stores wide text)
_NORMALIZE_CACHE = _SizedCache(max_chars=4_000_000, max_entry=4096)


_NORMALIZED = _NORMALIZE_CACHE.data  # the same dict for the cache's life (it is cleared, never replaced)


def normalize(s: str) -> str:
    """NFKC(casefold(NFKC(s))), whitespace runs collapsed to one space, ends trimmed."""
    hit = _NORMALIZED.get(s)
    return hit if hit is not None else _NORMALIZE_CACHE(s)


#: Unicode White_Space (not Python's wider `str.isspace`, which also counts U+001C..U+001F)
_WHITESPACE = re.compile("[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")


def lower(s: str) -> str:
    """Full Unicode lower-case mapping."""
    return s.lower()


def upper(s: str) -> str:
    """Full Unicode upper-case mapping (`upper("ß")` is `"SS"`)."""
    return s.upper()


def starts_with(s: str, prefix: str) -> bool:
    """Whether `s` begins with `prefix`, case-sensitively."""
    return s.startswith(prefix)


def days_between(d1: datetime.date, d2: datetime.date) -> int:
    """`d2` minus `d1` in days (negative when `d2` is earlier)."""
    return (d2 - d1).days


def is_country(v: object) -> bool:
    return isinstance(v, str) and v in COUNTRIES


# ---- `like` patterns -----------------------------------------------------------------------


class PatternError(ValueError):
    pass


@attrs.frozen
class Glob:
    """One element of a parsed `like` pattern: any run (`*`), one literal character, or a class."""

    kind: str  # "any" | "char" | "class"
    char: str = ""
    ranges: tuple[tuple[str, str], ...] = ()  # a class: (low, high) pairs, single characters as (c, c)
    negate: bool = False


def parse_pattern(pattern: str) -> list[Glob]:
    """Parse a `like` glob once, for every back-end (regex, SQL, z3): `*` any run, `[a-z]` and
    `[!a-z]` classes, `\\` escapes the next character, everything else (`?` too) is literal."""
    if _SURROGATE.search(pattern):
        raise PatternError("the pattern holds a lone UTF-16 surrogate (\\uD800-\\uDFFF): not text")
    out: list[Glob] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if not out or out[-1].kind != "any":  # `**` is `*`
                out.append(Glob("any"))
        elif ch == "\\":
            if i + 1 >= len(pattern):
                raise PatternError("the pattern ends with a lone `\\`")
            i += 1
            out.append(Glob("char", pattern[i]))
        elif ch == "[":
            j = i + 1
            negate = j < len(pattern) and pattern[j] == "!"
            if negate:
                j += 1
            ranges: list[tuple[str, str]] = []
            while j < len(pattern) and pattern[j] != "]":
                lo = pattern[j]
                if lo == "\\" and j + 1 < len(pattern):
                    j += 1
                    lo = pattern[j]
                if j + 2 < len(pattern) and pattern[j + 1] == "-" and pattern[j + 2] != "]":
                    hi = pattern[j + 2]
                    if hi == "\\" and j + 3 < len(pattern):
                        hi = pattern[j + 3]
                        j += 1
                    if hi < lo:
                        raise PatternError(f"the range `{lo}-{hi}` is backwards")
                    ranges.append((lo, hi))
                    j += 3
                    continue
                ranges.append((lo, lo))
                j += 1
            if j >= len(pattern):
                raise PatternError("a `[` class is not closed with `]`")
            if not ranges:
                raise PatternError("a `[]` class is empty")
            out.append(Glob("class", ranges=tuple(ranges), negate=negate))
            i = j
        else:
            out.append(Glob("char", ch))
        i += 1
    return out


def pattern_regex(pattern: str) -> str:
    """A `like` glob as a Python regex (matched with `fullmatch`): the reference meaning."""
    return _regex(parse_pattern(pattern), re.escape, "[^")


def _re2_escape(ch: str) -> str:
    """One character for RE2: ASCII letters and digits as themselves, the rest as `\\x{HEX}`
    (RE2 has its own escape rules; a code point escape means the same in all of them)."""
    return ch if ch.isascii() and ch.isalnum() else "\\x{%x}" % ord(ch)


def _regex(globs: list[Glob], escape: Callable[[str], str], negated: str) -> str:
    out: list[str] = []
    for g in globs:
        if g.kind == "any":
            out.append(".*")
        elif g.kind == "char":
            out.append(escape(g.char))
        else:
            body = "".join(escape(lo) if lo == hi else f"{escape(lo)}-{escape(hi)}" for lo, hi in g.ranges)
            out.append((negated if g.negate else "[") + body + "]")
    return "".join(out)


class GlobMatcher(Protocol):
    """What `compile_pattern` gives: `fullmatch(s)` is not None when `s` matches the glob."""

    def fullmatch(self, s: str) -> object | None: ...


class _Linear:
    """A glob with two or more `*` on RE2, which matches in time linear in the text.

    Python's `re` backtracks: `*a*a*a*b` against a long run of `a` takes time growing with a
    power of the length (a 1 MB note took 25 s against `*re-export*KP*`). RE2 encodes the text
    to UTF-8 first; a lone surrogate (which has no UTF-8 form) is matched as U+FFFD, one
    character for one, which no pattern can tell apart (patterns may not hold surrogates).
    """

    __slots__ = ("_re",)

    def __init__(self, regex: str) -> None:
        import re2  # type: ignore[import-untyped]  # only patterns that need it pay for loading it

        try:
            self._re = re2.compile(regex)
        except re2.error as exc:  # pragma: no cover - parse_pattern admits only what RE2 reads
            raise PatternError(str(exc)) from None

    def fullmatch(self, s: str) -> object | None:
        try:
            found: object | None = self._re.fullmatch(s)
        except UnicodeEncodeError:
            found = self._re.fullmatch(_SURROGATE.sub("\ufffd", s))
        return found


_SURROGATE = re.compile("[\ud800-\udfff]")


class _Segments:
    """A glob of literal runs between two or more `*` (`*re-export*KP*`), matched with string
    searches: the first run is a prefix, the last a suffix, each run between is found leftmost
    after the previous one (leftmost is always safe for fixed runs between `*`). Linear in the
    text, and cheaper per call than RE2 on short texts."""

    __slots__ = ("_first", "_middle", "_last", "_size")

    def __init__(self, runs: list[str]) -> None:
        self._first, self._middle, self._last = runs[0], tuple(runs[1:-1]), runs[-1]
        self._size = sum(map(len, runs))

    def fullmatch(self, s: str) -> bool | None:
        if len(s) < self._size or not s.startswith(self._first) or not s.endswith(self._last):
            return None
        pos, end = len(self._first), len(s) - len(self._last)
        for run in self._middle:
            found = s.find(run, pos, end)
            if found < 0:
                return None
            pos = found + len(run)
        return True


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> GlobMatcher:
    """The one matcher of a `like` glob, for every engine that matches in Python (compiled
    rules, the interpreter behind `explain`, verify's concrete checks).

    With at most one `*` Python's `re` is linear too (one unbounded run, the rest fixed
    width: O(text x pattern) at worst) and cheaper per call, so it keeps those; two or more `*`
    between literal characters are string searches (`_Segments`), and the rest (classes too) go
    to RE2. All are built from the same parse, so they mean the same (a property test holds
    them to `pattern_regex`).
    """
    globs = parse_pattern(pattern)
    if sum(1 for g in globs if g.kind == "any") <= 1:
        return re.compile(_regex(globs, re.escape, "[^"), re.DOTALL)
    if all(g.kind != "class" for g in globs):
        runs = "".join("\x00" if g.kind == "any" else g.char for g in globs)
        if runs.count("\x00") == sum(1 for g in globs if g.kind == "any"):  # no NUL in the text
            return _Segments(runs.split("\x00"))
    return _Linear("(?s)" + _regex(globs, _re2_escape, "[^"))


def like(s: str, pattern: str) -> bool:
    return compile_pattern(pattern).fullmatch(s) is not None
