"""The screening matcher: an index over every name of a list, and a scorer that explains itself.

A name becomes canonical tokens (text.normalise). The index maps each token, and each pair of
adjacent tokens written as one word (`al shabaab` ~ `alshabaab`, `chol man` ~ `chulman`), to the
names holding it, under three keys: the token itself, its phonetic skeleton (text.skeleton), and
its one-letter deletions (SymSpell style, so one typo finds the token without scanning the list).
A query looks up its own tokens the same way (blocking), and only the names found are scored:

    score = sqrt(Q * N)

where Q is the share of the query's token weight matched and N the share of the listed name's,
each match counted at its similarity (exact 1.0, same skeleton 0.9, one typo 0.85, ...). A token's
weight is its rarity on the list (inverse document frequency): `Korea`, `Mohammed`, `Bank` weigh
little, a family name or a company's distinctive word a lot. Particles (al, bin, of) and legal
forms (Corp., Ltd, JSC) weigh almost nothing; for individuals the middle names of the listed name
weigh a third, so a dropped or initialised middle name costs little. Order is free (family name
first or last), and a differing type (individual vs entity) multiplies the score by 0.85.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache, partial

import numpy as np
from rapidfuzz.distance import OSA, Indel

from .model import Entry, ListedName, ScreeningList
from anyascii import anyascii

from .text import PARTICLES, Normal, legal_form, normalise, script_of, skeleton

TRANSLITERATED = ("Cyrillic", "Hangul", "Han")   # scripts also compared in Latin letters (anyascii)

DEFAULT_THRESHOLD = 0.86
FLOOR = 0.7                 # below this nothing is reported, not even by `best`
MARGIN = 0.06               # hits more than this below the best hit of a name are left out
MIN_SPELLING_SIMILARITY = 0.6
MIN_SPELLING_TYPO_SIMILARITY = 0.65
SIM_TYPO_MIN = 0.8

SIM_EXACT = 1.0
SIM_SKELETON = 0.9
SIM_TYPO = 0.85
SIM_SKELETON_TYPO = 0.8
SIM_INITIAL = 0.75
TYPE_PENALTY = 0.85
MIDDLE_WEIGHT = 0.3
PARTICLE_WEIGHT = 0.1
LEGAL_WEIGHT = 0.05
QUALIFIER_WEIGHT = 0.15
INITIAL_WEIGHT = 0.3
MIN_TYPO_LEN = 5
MIN_SKELETON_TYPO_LEN = 4
QUICK_BOUND_FROM = 8        # candidates of a name from which the quick listed-side bound pays
DENSE_FROM = 600            # names proposed from which blocking runs on arrays over the whole list


class Hit:
    """One listed entry a name matched: which of its names, how well, and why.

    The steps are worked out when first read (most hits of a batch are only compared by score,
    and explaining one costs as much as scoring it); a hit is read-only and compares by value."""

    __slots__ = ("ref", "entry", "listed_name", "screened", "score", "_steps", "_explain")
    ref: str
    entry: Entry
    listed_name: ListedName
    screened: str
    score: float
    _steps: tuple[str, ...] | None
    _explain: Callable[[], tuple[str, ...]] | None

    def __init__(self, ref: str, entry: Entry, listed_name: ListedName, screened: str, score: float,
                 steps: tuple[str, ...] | None = None,
                 explain: Callable[[], tuple[str, ...]] | None = None) -> None:
        if steps is None and explain is None:
            raise TypeError("a hit needs its steps or a way to work them out")
        for slot, value in (("ref", ref), ("entry", entry), ("listed_name", listed_name), ("screened", screened),
                            ("score", score), ("_steps", steps), ("_explain", explain)):
            object.__setattr__(self, slot, value)

    @property
    def steps(self) -> tuple[str, ...]:
        steps = self._steps
        if steps is None:
            assert self._explain is not None
            steps = self._explain()
            object.__setattr__(self, "_steps", steps)
            object.__setattr__(self, "_explain", None)
        return steps

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a hit is read-only (`{name}`)")

    def _key(self) -> tuple[object, ...]:
        return (self.ref, self.entry, self.listed_name, self.screened, self.score, self.steps)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Hit) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Hit(ref={self.ref!r}, entry={self.entry!r}, listed_name={self.listed_name!r}, "
                f"screened={self.screened!r}, score={self.score!r}, steps={self.steps!r})")

    def __reduce__(self) -> tuple[object, ...]:
        return (Hit, (self.ref, self.entry, self.listed_name, self.screened, self.score, self.steps))

    def describe(self) -> str:
        alias = "" if self.listed_name.kind == "primary" else f" ({self.listed_name.kind.replace('_', ' ')}" \
            + (f", {self.listed_name.quality}" if self.listed_name.quality else "") + ")"
        return (f"`{self.screened}` ~ {self.ref} `{self.listed_name.name}`{alias}, score {self.score:.3f}: "
                + "; ".join(self.steps))


def _deletions(s: str) -> list[str]:
    return [s[:i] + s[i + 1:] for i in range(len(s))]


def _class_weight(token: str, idf: float) -> tuple[float, str]:
    if token in PARTICLES:
        return PARTICLE_WEIGHT, "particle"
    if legal_form(token) is not None:
        return LEGAL_WEIGHT, "legal"
    return idf, "word"


class _Name:
    """One indexed listed name: its tokens, their weights and the units (tokens, joined pairs)."""

    __slots__ = ("entry", "listed", "norm", "weights", "total", "classes", "vunits", "full", "firsts", "minor_share")

    def __init__(self, entry: int, listed: ListedName, norm: Normal) -> None:
        self.entry = entry
        self.listed = listed
        self.norm = norm
        self.weights: list[float] = []
        self.classes: list[str] = []
        self.total = 0.0
        # vocab id → (unit position, token bitmask, text) of the units it is (usually one)
        self.vunits: dict[int, tuple[tuple[int, int, str], ...]] = {}
        self.full = 0                                   # the bitmask of every token
        self.minor_share = 0.0                          # the share of its weight in particles, legal forms
        self.firsts: tuple[tuple[int, str], ...] = ()  # (token, first letter) an initial may stand for


class Matcher:
    """Screens names against one list; build once (the index), query many times.

    One matcher is shared by every policy that declares the same list, so its index and caches
    are private: the public surface is the list's entries, the threshold and `screen`.
    """

    def __init__(self, lst: ScreeningList | Sequence[Entry], threshold: float = DEFAULT_THRESHOLD) -> None:
        self._entries: tuple[Entry, ...] = lst.entries if isinstance(lst, ScreeningList) else tuple(lst)
        self._threshold = threshold
        self._names: list[_Name] = []
        self._vocab: dict[str, int] = {}
        # (C arrays: compact, and read by numpy without a copy)
        self._postings: list[array[int]] = []           # vocab id → name ids
        self._word_postings: list[array[int]] = []      # vocab id → name ids holding it as one word
        self._posting_shares: list[array[float]] = []   # vocab id → the share of each name's weight it covers
        self._major: list[bool] = []                    # vocab id → covers other than particles, legal forms
        self._shares: dict[str, dict[int, float]] = {}
        self._array_cache: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = {}
        self._minor_shares = np.zeros(0)
        self._initials: dict[str, np.ndarray] = {}
        self._kinds: dict[str, tuple[float, str]] = {}     # query token → (weight, class) but qualifier
        self._firsts: tuple[np.ndarray, np.ndarray, np.ndarray] = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype="<U1"),
                                                                   np.zeros(0))
        self._pair_shares: dict[str, dict[int, float]] = {}
        self._skeletons: dict[str, list[int]] = {}      # skeleton → vocab ids
        self._deletes: dict[str, list[int]] = {}        # one-deletion variant → vocab ids
        self._skeleton_deletes: dict[str, list[int]] = {}
        self._vocab_skeleton: list[str] = []
        self._idf: dict[str, float] = {}
        self._texts: list[str] = []
        self._legal_forms: dict[str, list[int]] = {}
        self._typo_ready: set[int] = set()         # vocabulary ids in the one-typo indexes
        self._cache: dict[tuple[str, str | None, str | None, float], list[Hit]] = {}
        self._lookups: dict[str, dict[int, tuple[float, str]]] = {}
        self._weights: dict[str, float] = {}
        self._bests: dict[str, dict[int, float]] = {}
        self._pair_lookups: dict[str, dict[int, tuple[float, str]]] = {}
        self._pair_bests: dict[str, dict[int, float]] = {}
        self._by_tokens: dict[tuple[str, ...], list[int]] = {}   # canonical tokens → name ids
        self._bests_size = 0
        self._build()

    @property
    def entries(self) -> tuple[Entry, ...]:
        return self._entries

    @property
    def threshold(self) -> float:
        return self._threshold

    # --- index ---------------------------------------------------------------------------------

    def _build(self) -> None:
        df: dict[str, int] = {}
        staged: list[tuple[int, ListedName, Normal]] = []
        for k, e in enumerate(self._entries):
            seen: set[str] = set()
            done: set[tuple[str, ...]] = set()
            names = list(e.names)
            for ln in e.names:     # Cyrillic, Korean and Han names also in Latin letters
                if ln.script in TRANSLITERATED:
                    names.append(ListedName(anyascii(ln.name), ln.kind, ln.quality, "Latin", ln.name))
            for ln in names:
                norm = normalise(ln.name)
                if not norm.tokens or norm.tokens in done:
                    continue
                done.add(norm.tokens)
                staged.append((k, ln, norm))
                seen.update(norm.tokens)
            for tok in seen:
                df[tok] = df.get(tok, 0) + 1
        n = max(len(self._entries), 1)
        self._idf = {tok: 1.0 + math.log(n / c) for tok, c in df.items()}
        self._max_idf = 1.0 + math.log(n)
        for k, ln, norm in staged:
            self._add(k, ln, norm)
        self._minor_shares = np.array([name.minor_share for name in self._names], dtype=np.float64)
        # every (name, first letter of a word, the word's share of the name): what initials may stand for
        rows = [(nid, first, name.weights[j] / name.total) for nid, name in enumerate(self._names)
                if name.total for j, first in name.firsts]
        self._firsts = (np.array([r[0] for r in rows], dtype=np.int64), np.array([r[1] for r in rows], dtype="<U1"),
                        np.array([r[2] for r in rows], dtype=np.float64))
        # what a screened word (or two adjacent words joined) that is also a listed one stands
        # for, worked out once here: most units of a name that resembles a listed one are listed
        # units, and a lookup (typo and spelling variants) is most of the cost of screening a name
        for text in self._texts:
            self._lookups[text] = self._lookup_uncached(text)

    def _vid(self, text: str, pair: bool = False) -> int:
        """The vocabulary id of a unit; a joined pair is found by its text and skeleton only
        (not by one-typo lookups), which halves the index of a large list."""
        vid = self._vocab.get(text)
        if vid is None:
            vid = len(self._postings)
            self._vocab[text] = vid
            self._postings.append(array("i"))
            self._word_postings.append(array("i"))
            self._posting_shares.append(array("d"))
            self._major.append(False)
            self._texts.append(text)
            form = legal_form(text)
            if form is not None:
                self._legal_forms.setdefault(form, []).append(vid)
            sk = skeleton(text)
            self._vocab_skeleton.append(sk)
            self._skeletons.setdefault(sk, []).append(vid)
        if not pair and vid not in self._typo_ready:
            self._typo_ready.add(vid)
            sk = self._vocab_skeleton[vid]
            if len(text) >= MIN_TYPO_LEN - 1:
                keys = {text, *_deletions(text)} if len(text) >= MIN_TYPO_LEN else {text}
                for d in keys:
                    self._deletes.setdefault(d, []).append(vid)
            if len(sk) >= MIN_SKELETON_TYPO_LEN and len(text) >= MIN_TYPO_LEN:
                for d in {sk, *_deletions(sk)}:
                    self._skeleton_deletes.setdefault(d, []).append(vid)
        return vid

    def _add(self, entry: int, ln: ListedName, norm: Normal) -> None:
        name = _Name(entry, ln, norm)
        nid = len(self._names)
        toks = norm.tokens
        individual = self._entries[entry].type == "individual"
        words = [i for i, t in enumerate(toks) if t not in PARTICLES and legal_form(t) is None]
        ends = {words[0], words[-1]} if words else set()
        for i, tok in enumerate(toks):
            w, cls = _class_weight(tok, self._idf.get(tok, self._max_idf))
            if i in norm.qualifiers and cls == "word":
                w, cls = QUALIFIER_WEIGHT, "qualifier"
            elif individual and cls == "word" and i not in ends:
                w, cls = w * MIDDLE_WEIGHT, "middle"
            name.weights.append(w)
            name.classes.append(cls)
        name.total = sum(name.weights)
        name.full = (1 << len(toks)) - 1
        name.firsts = tuple((j, t[0]) for j, t in enumerate(toks)
                            if len(t) > 1 and name.classes[j] in ("middle", "word"))
        units: list[tuple[int, str, int]] = []   # (token bitmask, text, vocab id)
        for i, tok in enumerate(toks):
            units.append((1 << i, tok, self._vid(tok)))
            if i + 1 < len(toks):
                joined = tok + toks[i + 1]
                units.append((3 << i, joined, self._vid(joined, pair=True)))
        vunits: dict[int, list[tuple[int, int, str]]] = {}
        covers: dict[int, int] = {}
        minor = [cls in ("particle", "legal") for cls in name.classes]
        for k, (nmask, text, vid) in enumerate(units):
            vunits.setdefault(vid, []).append((k, nmask, text))
            covers[vid] = covers.get(vid, 0) | nmask
            if not self._major[vid] and not all(minor[j] for j in _bits(nmask)):
                self._major[vid] = True
            if not nmask & (nmask - 1):
                posting = self._word_postings[vid]
                if not posting or posting[-1] != nid:
                    posting.append(nid)
        name.vunits = {vid: tuple(us) for vid, us in vunits.items()}
        name.minor_share = sum(w for w, m in zip(name.weights, minor) if m) / name.total if name.total else 1.0
        self._by_tokens.setdefault(toks, []).append(nid)
        for vid, cover in covers.items():
            self._postings[vid].append(nid)
            share = sum(name.weights[j] for j in _bits(cover)) / name.total if name.total else 1.0
            self._posting_shares[vid].append(share)
        self._names.append(name)

    # --- query ---------------------------------------------------------------------------------

    def _text(self, vid: int) -> str:
        return self._texts[vid]

    def _lookup(self, text: str) -> dict[int, tuple[float, str]]:
        """Vocabulary units a query unit may stand for (memoised: screened names share words)."""
        found = self._lookups.get(text)
        if found is None:
            if len(self._lookups) > 500_000:
                self._lookups.clear()
                self._weights.clear()
                self._bests.clear()
                self._pair_bests.clear()
                self._bests_size = 0
            found = self._lookups[text] = self._lookup_uncached(text)
        return found

    def _unit_best(self, text: str, found: dict[int, tuple[float, str]]) -> dict[int, float]:
        """Every listed name a query unit reaches, with the best similarity it reaches it at
        (memoised like `_lookup`: blocking then walks one dict, not every posting of every
        listed word the unit stands for; built in C, the best similarity written last)."""
        best = self._bests.get(text)
        if best is None:
            postings = self._postings
            best = {}
            for vid, (sim, _) in sorted(found.items(), key=lambda f: f[1][0]):
                best.update(dict.fromkeys(postings[vid], sim))
            self._bests_size += len(best)
            if self._bests_size > 1_000_000:     # bounded: a long stream of new words
                self._bests.clear()
                self._pair_bests.clear()
                self._bests_size = len(best)
            self._bests[text] = best
        return best

    def _share(self, text: str, found: dict[int, tuple[float, str]], pair: bool) -> dict[int, float]:
        """The share of each listed name's weight a query unit may cover: what the listed words
        it stands for weigh in the name (the most of them: scoring matches a query unit with one
        listed unit), memoised. Built in C, names reached twice put right after."""
        cache = self._pair_shares if pair else self._shares
        got = cache.get(text)
        if got is None:
            postings, shares = self._postings, self._posting_shares
            got = {}
            for vid in found:
                twice = got.keys() & set(postings[vid]) if got else ()
                earlier = {nid: got[nid] for nid in twice}
                got.update(zip(postings[vid], shares[vid]))
                for nid, share in earlier.items():
                    if share > got[nid]:
                        got[nid] = share
            if len(cache) > 100_000:     # bounded: a long stream of new words
                cache.clear()
            cache[text] = got
        return got

    def _pair_best(self, text: str, found: dict[int, tuple[float, str]]) -> dict[int, float]:
        """`_unit_best` of a query's joined pair: the names holding what it stands for as one
        word (scoring aligns a joined pair only with a listed word, and never through a
        spelling-and-typo match), memoised apart (a text may be a word in one name, a pair in another)."""
        best = self._pair_bests.get(text)
        if best is None:
            best = {}
            postings = self._word_postings
            for vid, (sim, how) in sorted(found.items(), key=lambda f: f[1][0]):   # the best written last
                if how != "spelling and typo":
                    best.update(dict.fromkeys(postings[vid], sim))
            self._bests_size += len(best)
            if self._bests_size > 1_000_000:
                self._bests.clear()
                self._pair_bests.clear()
                self._bests_size = len(best)
            self._pair_bests[text] = best
        return best

    def _weight(self, text: str, found: dict[int, tuple[float, str]]) -> float:
        """A screened word's weight: the rarity of the listed words it stands for (memoised)."""
        w = self._weights.get(text)
        if w is None:
            w = self._weights[text] = max(
                (self._idf.get(self._texts[v], self._max_idf) for v, (sim, _) in found.items() if sim >= SIM_SKELETON),
                default=self._max_idf)
        return w

    def _pair_lookup(self, text: str) -> dict[int, tuple[float, str]]:
        """What a query's joined pair may stand for where scoring can use it: a listed word (a
        joined pair aligns with a listed word only) reached otherwise than by spelling-and-typo
        (memoised apart from `_lookup`: the same text may be a query word elsewhere)."""
        found = self._pair_lookups.get(text)
        if found is None:
            full = self._lookups.get(text)
            if full is None:
                full = self._lookup_uncached(text, pair=True)
            words = self._word_postings
            found = {v: got for v, got in full.items() if words[v] and got[1] != "spelling and typo"}
            if len(self._pair_lookups) > 500_000:
                self._pair_lookups.clear()
            self._pair_lookups[text] = found
        return found

    def _lookup_uncached(self, text: str, pair: bool = False) -> dict[int, tuple[float, str]]:
        """Vocabulary units a query unit may stand for, with similarity and the kind of match
        (for a joined pair, `pair`, without the spelling-and-typo ones: they are never used)."""
        found: dict[int, tuple[float, str]] = {}
        vid = self._vocab.get(text)
        if vid is not None:
            found[vid] = (SIM_EXACT, "exact")
        form = legal_form(text)
        if form is not None:        # `Corp.` = `Corporation`, `Ltd` = `Limited`, `OAO` = `JSC`
            for v in self._legal_forms.get(form, ()):
                found.setdefault(v, (SIM_EXACT, "legal form"))
        particle = text in PARTICLES
        sk = skeleton(text)
        for v in self._skeletons.get(sk, ()):
            if v in found:
                continue
            cand = self._texts[v]
            if (cand in PARTICLES) != particle:
                continue
            if OSA.distance(text, cand, score_cutoff=1) <= 1:
                found[v] = (max(_typo_sim(text, cand), SIM_SKELETON if min(len(text), len(cand)) > 3 else 0.0), "typo")
            elif abs(len(text) - len(cand)) <= 2 and Indel.normalized_similarity(text, cand) >= MIN_SPELLING_SIMILARITY:
                found[v] = ((SIM_SKELETON if min(len(text), len(cand)) > 3 else SIM_SKELETON_TYPO), "spelling")
        if particle or len(text) < MIN_TYPO_LEN - 1:
            return found
        # a vocabulary word reached under several deletion keys is checked once per pass (`tried`)
        # (the keys are probed in C, `filter(None, map(get, keys))`: most deletions reach nothing)
        tried: set[int] = set(found)
        texts = self._texts
        long_text = len(text) >= MIN_TYPO_LEN
        for vids in filter(None, map(self._deletes.get, [text, *_deletions(text)] if long_text else [text])):
            for v in vids:
                if v not in tried:
                    tried.add(v)
                    cand = texts[v]
                    if (long_text or len(cand) >= MIN_TYPO_LEN) and OSA.distance(text, cand, score_cutoff=1) <= 1:
                        found[v] = (_typo_sim(text, cand), "typo")
        if len(sk) >= MIN_SKELETON_TYPO_LEN and long_text and not pair:
            skeletons = self._vocab_skeleton
            first = sk[0]
            tried = set(found)      # a word no typo reached may still be a spelling-and-typo
            for vids in filter(None, map(self._skeleton_deletes.get, [sk, *_deletions(sk)])):
                for v in vids:
                    if v in tried:
                        continue
                    tried.add(v)
                    vsk = skeletons[v]
                    if vsk[0] == first and OSA.distance(sk, vsk, score_cutoff=1) <= 1 and \
                            Indel.normalized_similarity(text, texts[v]) >= MIN_SPELLING_TYPO_SIMILARITY:
                        found[v] = (SIM_SKELETON_TYPO, "spelling and typo")
        return found

    def screen(self, name: str, type: str | None = None, country: str | None = None,
               threshold: float | None = None) -> list[Hit]:
        """Entries whose best-matching name scores at least the threshold, best first; a hit far
        below the best one (by more than MARGIN) is left out as the weaker explanation."""
        limit = self._threshold if threshold is None else threshold
        hits = self._screen(name, type, country, limit)
        if hits and limit > 0:
            top = hits[0].score
            hits = [h for h in hits if h.score >= top - MARGIN]
        return hits

    def best(self, name: str, type: str | None = None, country: str | None = None) -> Hit | None:
        """The best-scoring entry (None when nothing on the list scores FLOOR or more)."""
        hits = self._screen(name, type, country, FLOOR)
        return hits[0] if hits else None

    def _screen(self, name: str, type: str | None, country: str | None, floor: float) -> list[Hit]:
        floor = max(floor, FLOOR)
        key = (name, type, country, floor)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        hits = self._compute(name, type, country, floor)
        if script_of(name) in TRANSLITERATED:
            latin = anyascii(name)
            best = {h.ref: h for h in hits}
            for h in self._compute(latin, type, country, floor):
                if h.ref not in best or h.score > best[h.ref].score:
                    best[h.ref] = Hit(h.ref, h.entry, h.listed_name, name, h.score,
                                      explain=partial(_prefixed, f"transliterated `{name}` → `{latin}`", h))
            hits = sorted(best.values(), key=lambda h: (-h.score, h.ref))
        if len(self._cache) > 200_000:
            self._cache.clear()
        self._cache[key] = hits
        return hits

    def _compute(self, name: str, type: str | None, country: str | None, floor: float = FLOOR) -> list[Hit]:
        norm = normalise(name)
        toks = norm.tokens
        if not toks:
            return []
        q = _Query(self, norm)
        # blocking: names sharing a word with the query. A query word counts once however many
        # of its units (the word, the word joined to a neighbour) reach a name, at the best
        # similarity among them, so a name's bound is what the word can give at most:
        #     Q * total <= sum over the query's words of weight * best similarity + allowance
        # (particles, legal forms and initials, the allowance, are granted to every name).
        # Prefix filtering: words whose weights together cannot lift a name to the floor need not
        # propose names (they still count in the bound of the names others propose); those are
        # chosen among the words reaching the most names (`Mohammed` in `Mohammed Essa Akhund`).
        reach: list[_Reach] = []    # per word: its weight, the names each unit of it reaches, how many
        found, units, nunits = q.found, q.units, len(q.units)
        for i, cls in enumerate(q.classes):
            if cls not in _MAJOR:
                continue
            parts: list[tuple[tuple[int, str], dict[int, float]]] = []
            for u in (2 * i - 1, 2 * i, 2 * i + 1):
                if 0 <= u < nunits and found[u]:
                    reached = (self._pair_best if u & 1 else self._unit_best)(units[u][1], found[u])
                    if reached:
                        parts.append(((u, units[u][1]), reached))
            if parts:
                reach.append((q.weights[i], parts, max(len(p[1]) for p in parts)))
        floor_weight = (floor ** 2) * q.total - q.allowance
        reach.sort(key=lambda r: -r[2])
        silent = 0.0            # the weight of the words that do not propose
        proposers: list[_Reach] = []
        followers: list[_Reach] = []
        for r in reach:
            if silent + r[0] < floor_weight:
                silent += r[0]
                followers.append(r)
            else:
                proposers.append(r)
        floor2 = floor ** 2
        qtotal = q.total
        by_vid = q.by_vid
        initials = {q.tokens[i] for i in q.initials}
        names = self._names
        # the listed name's side: score = sqrt(Q * N) with N at most the share of the name's
        # weight that some query unit (or initial) could cover; most candidates stop here. First
        # a quick bound: what the word units (and any other unit reaching a listed word) cover,
        # plus the name's particles and legal forms, plus what initials may stand for (worth
        # its memoised tables only when there are many candidates).
        major = self._major
        share_units = [(u, text) for u, (_, text) in enumerate(units)
                       if found[u] and (q.unit_class[u] == "word" or any(major[v] for v in found[u]))]
        shares: list[dict[int, float]] | None = None
        if sum(r[2] for r in proposers) >= DENSE_FROM:
            candidates = self._dense(q, proposers, followers, floor_weight, floor2, share_units, initials)
        else:
            bound: dict[int, float] = {}
            for gain_w, parts, _ in proposers[::-1]:       # the fewest names first
                best = _best_of(parts)
                if bound:
                    get = bound.get
                    for nid, sim in best.items():
                        bound[nid] = get(nid, 0.0) + sim * gain_w
                else:
                    bound = {nid: sim * gain_w for nid, sim in best.items()}
            for gain_w, parts, _ in followers:       # only names already proposed gain from these
                best = _best_of(parts)
                for nid in bound.keys() & best.keys():
                    bound[nid] += best[nid] * gain_w
            # a name equal after normalisation is a candidate even when no word of it proposes
            # one (`1-P`: an initial and a digit, no word unit)
            for nid in self._by_tokens.get(toks, ()):
                if nid not in bound:
                    bound[nid] = q.total
            candidates = [(nid, ub) for nid, ub in bound.items() if ub >= floor_weight]
            if len(candidates) > QUICK_BOUND_FROM:
                shares = [self._share(text, found[u], bool(u & 1)) for u, text in share_units]
        allowance = q.allowance
        scored: dict[int, tuple[float, int, list[_Pick]]] = {}
        for nid, ub in candidates:
            listed = names[nid]
            if shares is not None:
                share = listed.minor_share + 1e-9
                for got_share in shares:
                    share += got_share.get(nid, 0.0)
                if initials:
                    weights = listed.weights
                    for j, first in listed.firsts:
                        if first in initials:
                            share += weights[j] / listed.total
                if share < 1.0 and qtotal and min(1.0, (ub + allowance) / qtotal) * share < floor2 \
                        and q.tokens != listed.norm.tokens:
                    continue
            # then the exact cover
            covered = 0
            vunits = listed.vunits
            for vid in vunits.keys() & by_vid.keys():
                for _, nmask, _ in vunits[vid]:
                    covered |= nmask
            if initials:
                for j, first in listed.firsts:
                    if first in initials:
                        covered |= 1 << j
            if covered != listed.full:
                got_n = 0.0
                weights = listed.weights
                for j in _bits(covered):
                    got_n += weights[j]
                ub_q = min(1.0, (ub + q.allowance) / qtotal) if qtotal else 0.0
                if listed.total and ub_q * (got_n / listed.total) < floor2 and q.tokens != listed.norm.tokens:
                    continue
            got = self._score(nid, q, type)
            if got is None or got[0] < floor:
                continue
            k = self._names[nid].entry
            old = scored.get(k)
            if old is None or got[0] > old[0] or \
                    (got[0] == old[0] and self._rank(q, floor_weight, nid) < self._rank(q, floor_weight, old[1])):
                scored[k] = (got[0], nid, got[1])
        entries = self._entries
        hits = [Hit(entries[names[nid].entry].ref, entries[names[nid].entry], names[nid].listed, name, round(score, 4),
                    explain=partial(self._explain, nid, name, q.tokens, q.norm.notes, q.classes, picks, type))
                for score, nid, picks in scored.values()]

        def rank(h: Hit) -> tuple[float, int, str]:
            agrees = bool(country) and (country in h.entry.nationality or country in h.entry.countries)
            return (-h.score, -int(agrees), h.ref)
        hits.sort(key=rank)
        return hits

    def _dense(self, q: _Query, proposers: list[_Reach], followers: list[_Reach], floor_weight: float,
               floor2: float, share_units: list[tuple[int, str]], initials: set[str]) -> list[tuple[int, float]]:
        """Blocking when common words propose many names: the same bounds, summed in the same
        order, over arrays of the whole list, and the quick listed-side bound. The candidates,
        in name order, with their query-side bounds."""
        n = len(self._names)
        bound = np.zeros(n)
        proposed = np.zeros(n, dtype=bool)
        for gain_w, parts, _ in proposers[::-1]:
            if len(parts) == 1:
                nids, sims = self._unit_arrays(q, *parts[0])
                bound[nids] += sims * gain_w
                proposed[nids] = True
            else:
                sim = self._dense_best(q, parts, n)
                bound += sim * gain_w
                proposed |= sim > 0.0
        for gain_w, parts, _ in followers:
            if len(parts) == 1:
                nids, sims = self._unit_arrays(q, *parts[0])
                bound[nids] += sims * gain_w
            else:
                bound += self._dense_best(q, parts, n) * gain_w
        same = self._by_tokens.get(q.tokens, [])
        for nid in same:
            if not proposed[nid]:
                bound[nid] = q.total
                proposed[nid] = True
        keep = proposed & (bound >= floor_weight)
        if q.total:
            share = self._minor_shares + 1e-9
            for c in initials:
                share += self._initial_shares(c)
            postings, shares = self._postings, self._posting_shares
            for u, text in share_units:
                if len(q.found[u]) == 1:    # the postings themselves, without a copy
                    (vid,) = q.found[u]
                    share[np.frombuffer(postings[vid], dtype=np.int32)] += np.frombuffer(shares[vid])
                    continue
                pair = bool(u & 1)
                nids, values = self._arrays(self._share(text, q.found[u], pair), (2 + pair, text))
                share[nids] += values
            ub_q = np.minimum(1.0, (bound + q.allowance) / q.total)
            prune = (share < 1.0) & (ub_q * share < floor2)
            prune[same] = False         # a name equal after normalisation is always scored
            keep &= ~prune
        idx = np.flatnonzero(keep)
        return list(zip(idx.tolist(), bound[idx].tolist()))

    def _initial_shares(self, letter: str) -> np.ndarray:
        """The share of each listed name's weight an initial may stand for (memoised)."""
        got = self._initials.get(letter)
        if got is None:
            nids, letters, shares = self._firsts
            mine = letters == letter
            got = self._initials[letter] = np.bincount(nids[mine], weights=shares[mine], minlength=len(self._names))
        return got

    def _dense_best(self, q: _Query, parts: list[tuple[tuple[int, str], dict[int, float]]], n: int) -> np.ndarray:
        """A word's best similarity over its units, for every name of the list."""
        sim = np.zeros(n)
        for key, best in parts:
            nids, sims = self._unit_arrays(q, key, best)
            sim[nids] = np.maximum(sim[nids], sims)
        return sim

    def _unit_arrays(self, q: _Query, key: tuple[int, str], best: dict[int, float]) -> tuple[np.ndarray, np.ndarray | float]:
        """The names a query unit reaches and the similarity, as arrays: a unit standing for one
        listed unit reads its postings without a copy (one similarity); others are converted once."""
        u, text = key
        found = q.found[u]
        if len(found) == 1:
            ((vid, (sim, _)),) = found.items()
            return np.frombuffer((self._word_postings if u & 1 else self._postings)[vid], dtype=np.int32), sim
        return self._arrays(best, (u & 1, text))

    def _arrays(self, values: dict[int, float], key: tuple[int, str]) -> tuple[np.ndarray, np.ndarray]:
        """A memoised table (name id → value) as two arrays, by what it is of (`key`)."""
        got = self._array_cache.get(key)
        if got is None:
            got = (np.fromiter(values.keys(), dtype=np.int64, count=len(values)),
                   np.fromiter(values.values(), dtype=np.float64, count=len(values)))
            if len(self._array_cache) > 20_000:
                self._array_cache.clear()
            self._array_cache[key] = got
        return got

    def _rank(self, q: _Query, floor_weight: float, nid: int) -> tuple[int, int]:
        """Which of two equally scored names of one entry a hit reports: the one the heaviest
        proposing unit of the query (word or joined pair) reaches first, in posting order, then a
        name equal after normalisation (worked out only for such ties: they are rare)."""
        found = [self._lookup(text) for _, text in q.units]      # joined pairs too, in full
        words = sorted((u for u in range(len(q.units)) if q.unit_class[u] == "word" and found[u]),
                       key=lambda u: -q.unit_weight[u])
        rest = sum(q.unit_weight[u] for u in words)
        for j, u in enumerate(words):
            rest -= q.unit_weight[u]
            seen: set[int] = set()
            for vid in found[u]:
                for n in self._postings[vid]:
                    if n == nid:
                        return j, len(seen)
                    seen.add(n)
            if rest < floor_weight:
                break
        same = self._by_tokens.get(q.tokens, [])
        return len(words), same.index(nid) if nid in same else len(same)

    def _score(self, nid: int, q: _Query, qtype: str | None) -> tuple[float, list[_Pick]] | None:
        name = self._names[nid]
        ntoks = name.norm.tokens
        weights = name.weights
        by_vid = q.by_vid
        qfound, qunits, unit_weight = q.found, q.units, q.unit_weight
        vunits = name.vunits
        # the units query units reach, in any order: sorted by (-gain, query unit, listed unit),
        # keys that are distinct, so the picks never compare
        ordered: list[tuple[float, int, int, _Pick]] = []
        for vid in vunits.keys() & by_vid.keys():
            for k, nmask, ntext in vunits[vid]:
                npair = nmask & (nmask - 1) != 0
                for u in by_vid[vid]:
                    sim, how = qfound[u][vid]
                    qmask, qtext = qunits[u]
                    qpair = qmask & (qmask - 1) != 0
                    if npair and (qpair or how == "spelling and typo"):
                        continue                        # pairs align through their tokens
                    if qpair and how == "spelling and typo":
                        continue
                    nw = weights[nmask.bit_length() - 1] + (weights[nmask.bit_length() - 2] if npair else 0.0)
                    gain = sim * (unit_weight[u] + nw)
                    ordered.append((-gain, u, k, (gain, qmask, nmask, sim, how, qtext, ntext, nw)))
        # best gain first; ties in query order, then in the listed name's order
        ordered.sort()
        pairs = [o[3] for o in ordered]
        matched = len(pairs)
        for i in q.initials:                          # initials: `T.` for `Taher`
            tok = q.tokens[i]
            for j, ntok in enumerate(ntoks):
                if len(ntok) > 1 and ntok[0] == tok and name.classes[j] in ("middle", "word"):
                    pairs.append((SIM_INITIAL * (q.weights[i] + weights[j]), 1 << i, 1 << j,
                                  SIM_INITIAL, "initial", tok, ntok, weights[j]))
        if not pairs:
            return None
        if len(pairs) > matched:   # already best first unless initials were added
            pairs.sort(key=lambda p: -p[0])   # stable: initials after word matches of equal gain
        qused = nused = 0
        qgot = ngot = 0.0
        picked: list[_Pick] = []
        for p in pairs:
            if p[1] & qused or p[2] & nused:
                continue
            qused |= p[1]
            nused |= p[2]
            qgot += p[3] * q.unit_weight_of[p[1]]
            ngot += p[3] * p[7]
            picked.append(p)
        cq = qgot / q.total if q.total else 0.0
        cn = ngot / name.total if name.total else 0.0
        score = math.sqrt(max(cq, 0.0) * max(cn, 0.0))
        if q.tokens == ntoks:
            score = 1.0
        if qtype and self._entries[name.entry].type != qtype:
            score *= TYPE_PENALTY
        return min(score, 1.0), picked

    def _explain(self, nid: int, screened: str, toks: tuple[str, ...], qnotes: tuple[str, ...],
                 qclasses: list[str], picked: list[_Pick], qtype: str | None) -> tuple[str, ...]:
        """A hit's explanation: what normalisation did, and how each word was matched (from what
        scoring kept of the query, not the query itself, so an unread hit holds little)."""
        name = self._names[nid]
        entry = self._entries[name.entry]
        ntoks = name.norm.tokens
        steps: list[str] = []
        if toks == ntoks:
            steps.append("exact" if screened == name.listed.name else "same after normalisation")
        notes = list(dict.fromkeys(qnotes + name.norm.notes))
        if "traditional → simplified Han" in notes:
            notes.remove("traditional → simplified Han")
            if _has_han(screened) and screened != name.listed.name and \
                    (_han_changed(screened) or _han_changed(name.listed.name)):
                notes.append("simplified ⇄ traditional Han")
        steps += notes
        if name.listed.derived_from and name.listed.script == "Latin" and name.norm.script == "Latin" \
                and script_of(name.listed.derived_from) in TRANSLITERATED:
            steps.append(f"listed `{name.listed.derived_from}` transliterated")
        qused = nused = 0
        for p in picked:
            qused |= p[1]
            nused |= p[2]
            if toks != ntoks:
                step = _step(p[4], p[1], p[2], p[5], p[6], toks, ntoks)
                if step:
                    steps.append(step)
        for j, ntok in enumerate(ntoks):
            if not (nused >> j) & 1:
                cls = name.classes[j]
                if cls == "legal":
                    steps.append(f"legal form `{ntok}` left out")
                elif cls == "middle":
                    steps.append(f"middle name `{ntok}` left out")
                elif cls == "qualifier":
                    steps.append(f"bracketed `{ntok}` left out")
                elif cls != "particle":
                    steps.append(f"listed word `{ntok}` unmatched")
        for i, tok in enumerate(toks):
            if not (qused >> i) & 1:
                if qclasses[i] == "legal":
                    steps.append(f"legal form `{tok}` left out")
                elif qclasses[i] != "particle":
                    steps.append(f"screened word `{tok}` unmatched")
        order = [p[2].bit_length() for p in sorted(picked, key=lambda p: p[1])]
        if order != sorted(order):
            steps.append("token order")
        if qtype and entry.type != qtype:
            steps.append(f"type differs: listed as {entry.type}")
        return tuple(steps)


_Pick = tuple[float, int, int, float, str, str, str, float]
_MAJOR = frozenset({"word", "qualifier"})


class _Query:
    """A screened name prepared once: its tokens, units, what each unit may stand for, weights."""

    __slots__ = ("norm", "tokens", "units", "found", "by_vid", "weights", "classes", "unit_weight",
                 "unit_class", "unit_weight_of", "total", "allowance", "initials")

    def __init__(self, m: Matcher, norm: Normal) -> None:
        self.norm = norm
        toks = self.tokens = norm.tokens
        self.units: list[tuple[int, str]] = []
        for i, tok in enumerate(toks):
            self.units.append((1 << i, tok))
            if i + 1 < len(toks):
                self.units.append((3 << i, tok + toks[i + 1]))
        self.found = [(m._pair_lookup if u & 1 else m._lookup)(text) for u, (_, text) in enumerate(self.units)]
        # vocabulary id → the units reaching it, in unit order (their sim and how: found[u][vid]);
        # built a unit at a time in C (dict.fromkeys), as a listed word is rarely reached twice
        by_vid: dict[int, tuple[int, ...]] = {}
        for u, found in enumerate(self.found):
            if not found:
                continue
            twice = by_vid.keys() & found.keys() if by_vid else None
            if twice:
                earlier = {vid: by_vid[vid] for vid in twice}
                by_vid.update(dict.fromkeys(found, (u,)))
                for vid, us in earlier.items():
                    by_vid[vid] = us + (u,)
            else:
                by_vid.update(dict.fromkeys(found, (u,)))
        self.by_vid = by_vid
        weights: list[float] = []
        classes: list[str] = []
        self.initials: list[int] = []
        kinds = m._kinds
        qualifiers = norm.qualifiers
        for i, tok in enumerate(toks):
            got = kinds.get(tok)
            if got is None:
                if tok in PARTICLES:
                    got = PARTICLE_WEIGHT, "particle"
                elif legal_form(tok) is not None:
                    got = LEGAL_WEIGHT, "legal"
                elif len(tok) == 1:
                    got = INITIAL_WEIGHT, "initial"
                else:   # the rarity of what the token stands for on the list; unknown words weigh most
                    got = m._weight(tok, self.found[2 * i]), "word"
                if len(kinds) > 500_000:
                    kinds.clear()
                kinds[tok] = got
            w, cls = got
            if cls == "initial":
                self.initials.append(i)
            elif cls == "word" and i in qualifiers:
                w, cls = QUALIFIER_WEIGHT, "qualifier"
            weights.append(w)
            classes.append(cls)
        self.weights, self.classes = weights, classes
        self.total = sum(weights)
        self.unit_weight_of: dict[int, float] = {}
        self.unit_weight: list[float] = []
        self.unit_class: list[str] = []
        for qmask, _ in self.units:     # a token (one bit) or a joined pair (two adjacent bits)
            i = qmask.bit_length() - 1
            if qmask & (qmask - 1):
                w = weights[i - 1] + weights[i]
                major = classes[i - 1] in _MAJOR or classes[i] in _MAJOR
            else:
                w = weights[i]
                major = classes[i] in _MAJOR
            self.unit_weight.append(w)
            self.unit_weight_of[qmask] = w
            self.unit_class.append("word" if major else "minor")
        self.allowance = sum(w for w, c in zip(weights, classes) if c not in _MAJOR)


_Reach = tuple[float, list[tuple[tuple[int, str], dict[int, float]]], int]


def _best_of(parts: list[tuple[tuple[int, str], dict[int, float]]]) -> dict[int, float]:
    """A word's names at the best similarity over its units."""
    best = parts[0][1]
    for _, more in parts[1:]:
        best = _max_merge(best, more)
    return best


def _max_merge(a: dict[int, float], b: dict[int, float]) -> dict[int, float]:
    """The names either of two units reaches, at the better similarity."""
    out = {**a, **b}
    for nid in a.keys() & b.keys():
        if a[nid] > b[nid]:
            out[nid] = a[nid]
    return out


def _prefixed(step: str, hit: Hit) -> tuple[str, ...]:
    return (step,) + hit.steps


def _typo_sim(a: str, b: str) -> float:
    """One edit in a long word says less than one edit in a short one."""
    return max(SIM_TYPO_MIN, 1.0 - 1.0 / max(len(a), len(b)))


def _has_han(text: str) -> bool:
    return any("\u3400" <= c <= "\u9fff" for c in text)


def _han_changed(text: str) -> bool:
    from .text import _han_simplified
    return _han_simplified(text) != text


@lru_cache(maxsize=1 << 12)
def _bits(mask: int) -> tuple[int, ...]:
    out = []
    i = 0
    while mask:
        if mask & 1:
            out.append(i)
        mask >>= 1
        i += 1
    return tuple(out)


def _step(how: str, qmask: int, nmask: int, qtext: str, ntext: str,
          toks: tuple[str, ...], ntoks: tuple[str, ...]) -> str | None:
    qs = " ".join(toks[i] for i in _bits(qmask))
    ns = " ".join(ntoks[j] for j in _bits(nmask))
    lf_q, lf_n = legal_form(qtext), legal_form(ntext)
    if lf_q is not None and lf_n is not None:
        return None if qtext == ntext else f"legal form `{qs}` = `{ns}`"
    if how == "exact":
        if qs != ns:
            return f"written as one word: `{qs}` = `{ns}`"
        return None
    if how == "spelling":
        return f"transliteration: `{qs}` ~ `{ns}`"
    if how == "typo":
        return f"typo: `{qs}` ~ `{ns}`"
    if how == "initial":
        return f"initial: `{qs}` = `{ns}`"
    return f"transliteration and typo: `{qs}` ~ `{ns}`"
