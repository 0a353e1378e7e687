"""`like` globs in SQL: a plain comparison when the glob is a literal text or a prefix, else a
regular expression that RE2 (DuckDB) and Java (Spark) read the same way."""

from __future__ import annotations

from ..values import parse_pattern
from .dialects import Dialect


def _lit(ch: str) -> str:
    if ch.isalnum() and ch.isascii():
        return ch
    return f"\\x{{{ord(ch):X}}}"


def glob_regex(pattern: str) -> str:
    """A `like` glob as a regex for RE2 (DuckDB) and Java (Spark), to be matched in full.

    Parsed by `values.parse_pattern`, as every back-end does; every character other than ASCII
    letters and digits is written as `\\x{HEX}`, which both engines read the same way. A negated
    class also matches a line break (RE2's would not; Python's does).
    """
    out: list[str] = []
    for g in parse_pattern(pattern):
        if g.kind == "any":
            out.append(".*")
        elif g.kind == "char":
            out.append(_lit(g.char))
        else:
            members = "".join(_lit(lo) if lo == hi else f"{_lit(lo)}-{_lit(hi)}" for lo, hi in g.ranges)
            cls = ("[^" if g.negate else "[") + members + "]"
            if g.negate and not any(lo <= "\n" <= hi for lo, hi in g.ranges):
                cls = f"(?:{cls}|\\x{{A}})"
            out.append(cls)
    return "".join(out)


def like_sql(d: Dialect, x: str, pattern: str) -> str:
    """`x like pattern`: a plain comparison when the glob is a literal text or a prefix, else a regex."""
    parts = parse_pattern(pattern)
    star = bool(parts) and parts[-1].kind == "any"
    body = parts[:-1] if star else parts
    if all(g.kind == "char" for g in body):
        text = d.string("".join(g.char for g in body))
        if not star:
            return f"({x} = {text})"
        if body:
            return f"coalesce({d.starts_with(x, text)}, FALSE)"
        return f"({x} IS NOT NULL)"
    return d.full_match(x, glob_regex(pattern))
