"""Name normalisation for screening: one canonical token form per script, plus a phonetic skeleton.

Everything here is a general rule about how names are written (case, punctuation, diacritics,
legal forms, transliteration habits, Arabic letter variants, simplified/traditional Han); none of
it knows any listed name. The libraries do the heavy lifting: `anyascii` folds Latin diacritics
(é→e, ß→ss, ø→o) with one table, `opencc` maps traditional Han to simplified, `rigour` (the
OpenSanctions name library) knows the world's company legal forms (ISO 20275 and more).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from anyascii import anyascii

# --- scripts ---------------------------------------------------------------------------------

_SCRIPT_PREFIXES = (("LATIN", "Latin"), ("ARABIC", "Arabic"), ("CYRILLIC", "Cyrillic"),
                    ("CJK", "Han"), ("HANGUL", "Hangul"), ("ETHIOPIC", "Ethiopic"),
                    ("GREEK", "Greek"), ("HEBREW", "Hebrew"), ("DEVANAGARI", "Devanagari"))


@lru_cache(maxsize=4096)
def char_script(ch: str) -> str | None:
    """The script of one letter (None for digits, marks, punctuation and spaces)."""
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    for prefix, script in _SCRIPT_PREFIXES:
        if name.startswith(prefix):
            return script
    return "Other"


def script_of(text: str) -> str:
    """`Latin`, `Arabic`, `Cyrillic`, `Han`, ... or `Mixed` when several scripts' letters occur."""
    found = {s for s in map(char_script, text) if s is not None}
    if not found:
        return "Latin"
    return found.pop() if len(found) == 1 else "Mixed"


# --- characters --------------------------------------------------------------------------------

_APOSTROPHES = "'’‘`´ʼʻ′ʹ"
_APOSTROPHE_RE = re.compile(f"[{_APOSTROPHES}]")
# Arabic: harakat, superscript alef and tatweel carry no identity; letter variants that writers
# and keyboards interchange map to one letter (hamza-alef → alef, ta marbuta → ha,
# alef maksura / Persian yeh → ya, keheh → kaf, hamza on waw/ya → waw/ya).
_ARABIC_DROP = dict.fromkeys(list(range(0x064B, 0x0653)) + [0x0670, 0x0640])
_ARABIC_MAP = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ی": "ي",
                             "ې": "ي", "ک": "ك", "ۀ": "ه", "ە": "ه", "ؤ": "و", "ئ": "ي"})


@lru_cache(maxsize=1)
def _t2s() -> object:
    import opencc  # imported lazily: only Han names need it, and building it takes a moment
    return opencc.OpenCC("t2s")


def _han_simplified(text: str) -> str:
    return str(_t2s().convert(text))  # type: ignore[attr-defined]


class Normal(NamedTuple):
    """A name in canonical tokens, with the notes of what normalisation changed."""

    tokens: tuple[str, ...]
    qualifiers: frozenset[int]   # positions of tokens that were inside brackets (acronyms, notes)
    notes: tuple[str, ...]       # e.g. "diacritics removed", "traditional → simplified"
    script: str


def _has_han(text: str) -> bool:
    return any("\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff" for c in text)


@lru_cache(maxsize=65536)
def normalise(name: str) -> Normal:
    """Canonical tokens of a name: NFKC, casefold, apostrophes dropped, other punctuation a space,
    `&` = `and`, Latin diacritics folded, Arabic letter variants unified, Han in simplified form."""
    notes: list[str] = []
    text = unicodedata.normalize("NFKC", name)
    script = script_of(text)
    if _APOSTROPHE_RE.search(text):
        text = _APOSTROPHE_RE.sub("", text)
        notes.append("apostrophes ignored")
    text = text.casefold().replace("&", " and ")
    if _has_han(text):
        simple = _han_simplified(text)
        if simple != text:
            notes.append("traditional → simplified Han")
            text = simple
    if any(char_script(c) == "Arabic" for c in text):
        unified = text.translate(_ARABIC_DROP).translate(_ARABIC_MAP)
        if unified != text:
            notes.append("Arabic letter variants unified")
            text = unified
    folded = "".join(anyascii(c) if char_script(c) == "Latin" and not c.isascii() else c for c in text)
    if folded != text:
        notes.append("diacritics removed")
        text = folded.casefold()
    tokens: list[str] = []
    qualifiers: set[int] = set()
    depth = 0
    word: list[str] = []

    groups: list[list[int]] = []

    def flush() -> None:
        if word:
            if depth > 0:
                groups[-1].append(len(tokens))
            tokens.append("".join(word))
            word.clear()

    for c in text:
        if c.isalnum():
            if _has_han(c):          # every Han run is its own token, split from Latin/digits
                if word and not _has_han(word[-1]):
                    flush()
            elif word and _has_han(word[-1]):
                flush()
            word.append(c)
            continue
        flush()
        if c in "([{（【":
            depth += 1
            groups.append([])
        elif c in ")]}）】" and depth > 0:
            depth -= 1
    flush()
    for g in groups:   # a bracketed acronym or code (`(KKBC)`) qualifies; `(Somalia)`-like words do not
        if len(g) == 1 and len(tokens[g[0]]) <= 6 and len(tokens) > 1:
            qualifiers.add(g[0])
    return Normal(tuple(tokens), frozenset(qualifiers), tuple(notes), script)


# --- word classes ---------------------------------------------------------------------------------

# the English generic company words rigour leaves alone (it treats them as name words), mapped to
# one compare form so that `Corp.` = `Corporation` and `Co` = `Company`
_GENERIC_FORMS = {"corporation": "corporation", "corp": "corporation", "company": "company",
                  "co": "company", "cie": "company", "compagnie": "company", "limited": "limited",
                  "ltd": "limited", "incorporated": "incorporated", "inc": "incorporated",
                  "general": "general", "group": "group", "holding": "holding",
                  "holdings": "holding", "enterprise": "enterprise", "est": "establishment",
                  "establishment": "establishment"}
# particles of names (Arabic, Romance, English function words): they carry almost no identity
PARTICLES = frozenset({"al", "el", "ul", "ad", "ar", "as", "ash", "at", "an", "az", "bin", "ben",
                       "ibn", "bint", "bn", "b", "of", "the", "and", "for", "in", "de", "des",
                       "du", "da", "la", "le", "di", "van", "von", "der", "y", "e", "et"})


@lru_cache(maxsize=65536)
def legal_form(token: str) -> str | None:
    """The compare form of a legal-form token (`corp` → `corporation`, `ltd` → `limited`,
    `oao` → `jsc`), or None for a name word; rigour's database decides beyond the English ones."""
    if token in _GENERIC_FORMS:
        return _GENERIC_FORMS[token]
    if not token.isascii() and not any(char_script(c) == "Cyrillic" for c in token):
        return None
    if len(token) < 2 or token.isdigit():
        return None
    from rigour.names import remove_org_types, replace_org_types_compare
    if remove_org_types(token).strip() == "":
        return str(replace_org_types_compare(token, generic=True)).strip() or token
    return None


# --- phonetic skeleton ------------------------------------------------------------------------------

_DIGRAPHS = (("sch", "s"), ("ph", "f"), ("kh", "h"), ("gh", "g"), ("dh", "d"), ("th", "t"),
             ("sh", "s"), ("ch", "j"), ("ck", "k"), ("zh", "j"), ("ts", "s"), ("dj", "j"))
_LETTERS = str.maketrans({"q": "k", "c": "k", "g": "k", "d": "t", "b": "p", "z": "s", "v": "f",
                          "x": "s", "r": "l", "y": "a", "e": "a", "o": "a", "u": "a",
                          "i": "a"})
_VOWEL = "a"


@lru_cache(maxsize=65536)
def skeleton(token: str) -> str:
    """A transliteration-blind key of a Latin token: the habits that vary between romanisations
    of one name (vowels, doubled letters, voiced/unvoiced pairs, kh/h, q/k, r/l, ou/u, y/i) are
    folded so that `Mohammed`, `Muhammad` and `Mohamed` share `mhmt`."""
    if not token.isascii() or not token.isalpha():
        return token
    t = token
    for a, b in _DIGRAPHS:
        t = t.replace(a, b)
    first = t[0]
    if first in "aeiouy":
        head = "a"
    else:
        head = first.translate(_LETTERS)
    rest = t[1:].translate(_LETTERS)
    out = [head]
    prev = head
    for ch in rest:              # vowels go; a doubled consonant counts once, `d-t` across a vowel twice
        if ch != _VOWEL and not (ch == prev and ch == out[-1]):
            out.append(ch)
        prev = ch
    return "".join(out)
