"""From the set of matching rules to a decision: combining, waivers, obligations, basis.

Shared by every row and columnar back-end; what it computes is defined in
`semantics.combining` (as is the z3 encoding of it). Everything but the basis depends only on
which rules matched, so it is computed once per distinct set of matches and cached.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from .checked import Checked, SetInfo
from .values import Fault
from .decision import BasisRef, Decision, DecisionError
from .semantics import combining as sem
from .semantics.combining import STRENGTH, in_force
_CACHE_LIMIT = 4096
_DATED_LIMIT = 65536  # (matches, as_of) pairs whose dated bases are kept: bounded, so memory stays flat

#: outcome, fired, obligations, the rules that count, and their bases when none is dated
_Parts = tuple[str, tuple[str, ...], tuple[str, ...], tuple[int, ...], "tuple[BasisRef, ...] | None"]


#: what a rule's membership tests found in a record: (set name, value) pairs, by rule index
Cites = Mapping[int, "list[tuple[str, Any]]"]
_Dated = tuple[BasisRef, "datetime.date | None", "datetime.date | None"]


def member_text(value: Any) -> str:
    """A member as a decision names it: the text of the value (`"LY"`, `2026-01-01`, `7`)."""
    return value.isoformat() if isinstance(value, datetime.date) else str(value)


__all__ = ["STRENGTH", "Cites", "Combiner", "in_force", "member_text"]

_new_decision = tuple.__new__  # a Decision from a tuple without NamedTuple's Python-level __new__


class Combiner:
    def __init__(self, checked: Checked):
        self.policy = checked.name
        self.version = checked.version
        self.default = checked.default
        self.algorithm = checked.combine
        rules = checked.rules
        self._ids = tuple(r.id for r in rules)
        self._outcomes = tuple(r.outcome for r in rules)
        self._requires = tuple(r.requires for r in rules)
        self._waived_by = sem.waived_by(self._ids, [r.waives for r in rules])
        self._bases: tuple[tuple[_Dated, ...], ...] = tuple(
            tuple((BasisRef(r.id, b.instrument_id, b.kind, b.citation, b.pinpoint), b.valid_from, b.until)
                  for b in r.bases) for r in rules
        )
        self._dated = tuple(any(f is not None or u is not None for _, f, u in bs) or bool(r.sites)
                            for bs, r in zip(self._bases, rules))
        self._sets: Mapping[str, SetInfo] = checked.sets
        self._member_refs: dict[tuple[int, str, Any], tuple[_Dated, ...]] = {}
        self._canon: dict[str, dict[Any, Any]] = {}
        self._cache: dict[tuple[int, ...], _Parts] = {}
        self._dated_cache: dict[tuple[tuple[int, ...], datetime.date | None], tuple[Any, ...]] = {}
        # the compiled engine's cache: by match mask, a decision's fields after the id, or (when a
        # counted basis is dated) a dict of them by date; and the same for matches that cite members
        self._masks: dict[int, Any] = {}
        self._mask_entries = 0
        self._cited: dict[Any, tuple[Any, ...]] = {}

    def _parts(self, matched: tuple[int, ...]) -> _Parts:
        hit = self._cache.get(matched)
        if hit is not None:
            return hit
        counted = sem.counted(self.algorithm, matched, self._waived_by)
        outcome = sem.outcome(self.default, (self._outcomes[k] for k in counted))
        obligations = sem.obligations(outcome, ((self._outcomes[k], self._requires[k]) for k in counted))
        fired = tuple(self._ids[k] for k in sem.fired(self.algorithm, matched))
        dated = any(self._dated[k] for k in counted)
        # bases without dates are the same for every record with these matches: build them once
        static = None if dated else tuple(ref for k in counted for ref, _, _ in self._bases[k])
        parts = (outcome, fired, obligations, counted, static)
        if len(self._cache) < _CACHE_LIMIT:
            self._cache[matched] = parts
        return parts

    def decide(self, matched: tuple[int, ...], record_id: Any, as_of: datetime.date | None,
               cites: Cites | None = None) -> Decision:
        if cites:  # the bases depend on the members this record matched: shared by those alone
            return _new_decision(Decision, (record_id, *self._cited_rest(matched, as_of, cites)))
        # otherwise the whole decision but its id depends on the matches and the date only: built once
        return _new_decision(Decision, (record_id, *self._rest(matched, as_of)))

    def _rest(self, matched: tuple[int, ...], as_of: datetime.date | None) -> tuple[Any, ...]:
        """A decision's fields after the id when no member is cited, built once per (matches, date)."""
        rest = self._dated_cache.get((matched, as_of))
        if rest is None:
            rest = self._build(matched, as_of, None)
            if len(self._dated_cache) < _DATED_LIMIT:
                self._dated_cache[matched, as_of] = rest
        return rest

    def _build(self, matched: tuple[int, ...], as_of: datetime.date | None, cites: Cites | None) -> tuple[Any, ...]:
        outcome, fired, obligations, counted, basis = self._parts(matched)
        if basis is None:
            basis = self.basis(counted, as_of, cites)
        # every field after the id, defaults included, as the NamedTuple itself fills them
        return Decision(None, outcome, fired, obligations, basis, self.policy, self.version)[1:]

    def _cited_rest(self, matched: tuple[int, ...], as_of: datetime.date | None, cites: Cites) -> tuple[Any, ...]:
        """A decision's fields after the id when membership tests cited members, built once per
        (matches, date, cited members): the bases depend on nothing else (`basis`)."""
        key: Any
        try:
            key = (matched, as_of, tuple((k, tuple(found)) for k, found in cites.items()))
            rest = self._cited.get(key)
        except TypeError:  # an unhashable member value: computed, not kept
            key = rest = None
        if rest is None:
            rest = self._build(matched, as_of, cites)
            if key is not None and len(self._cited) < _DATED_LIMIT:
                self._cited[key] = rest
        return rest

    @property
    def masks(self) -> dict[int, Any]:
        """`decide_mask`'s cache, for the fast path to read inline: by mask, a decision's fields
        after the id (a tuple), or a dict of them by date. Never replaced, only filled."""
        return self._masks

    def decide_mask(self, mask: int, record_id: Any, as_of: datetime.date | None,
                    cites: Cites | None = None) -> Decision:
        """`decide` for the compiled engine: the matched rules as a bit mask (bit k for rule k),
        which is built and hashed for far less than a tuple; the decision is `decide`'s."""
        if not cites:
            rest = self._masks.get(mask)
            if rest is not None:
                if rest.__class__ is dict:  # a dated basis: one per date
                    rest = rest.get(as_of)
                if rest is not None:
                    return _new_decision(Decision, (record_id, *rest))
        matched = tuple(k for k in range(mask.bit_length()) if mask >> k & 1)
        if cites:
            return _new_decision(Decision, (record_id, *self._cited_rest(matched, as_of, cites)))
        rest = self._build(matched, as_of, None)
        if self._mask_entries < _DATED_LIMIT:
            self._mask_entries += 1
            if self._parts(matched)[4] is None:  # a dated basis: kept per date
                self._masks.setdefault(mask, {})[as_of] = rest
            else:
                self._masks[mask] = rest
        return _new_decision(Decision, (record_id, *rest))

    def basis(self, counted: tuple[int, ...], as_of: datetime.date | None, cites: Cites | None) -> tuple[BasisRef, ...]:
        """Each counting rule's own bases, then those of the members that made it match, in force."""
        out: list[BasisRef] = []
        for k in counted:
            out.extend(sem.bases_in_force(self._bases[k], as_of))
            found = cites.get(k) if cites else None
            if not found:
                continue
            for ref in self.member_refs(k, found, as_of):
                if ref not in out:
                    out.append(ref)
        return tuple(out)

    def member_refs(self, k: int, found: list[tuple[str, Any]], as_of: datetime.date | None) -> list[BasisRef]:
        out: list[BasisRef] = []
        for set_name, value in found:
            info = self._sets[set_name]
            try:
                if not info.is_member(value, as_of):
                    continue
            except TypeError:  # an unhashable value cannot be a member
                continue
            key = (k, set_name, value)
            refs = self._member_refs.get(key)
            if refs is None:
                # named as the set writes it: a record's 5.0 is the set's member 5
                canon = self._canon.get(set_name)
                if canon is None:
                    canon = self._canon[set_name] = {m: m for m in info.values}
                text = member_text(canon.get(value, value))
                refs = tuple((BasisRef(self._ids[k], b.instrument_id, b.kind, b.citation, b.pinpoint, text),
                              b.valid_from, b.until) for b in info.bases_of(value))
                if len(self._member_refs) < _CACHE_LIMIT:
                    self._member_refs[key] = refs
            out.extend(ref for ref, f, u in refs if in_force(f, u, as_of) and ref not in out)
        return out

    def record_error(self, record: Any, position: int, message: str, field: str | None, has_id: bool) -> Decision:
        """An `error` decision for a record that does not fit the schema or an invariant."""
        raw = record.get("id") if has_id and isinstance(record, Mapping) else None
        rid = raw if isinstance(raw, (str, int)) and not isinstance(raw, bool) else position
        return Decision(rid, "error", (), (), (), self.policy, self.version, DecisionError(message, field))

    def fault(self, record_id: Any, rule: str, exc: BaseException) -> Decision:
        """An `error` decision for a fault (division by zero) while deciding a rule."""
        detail = str(exc) if isinstance(exc, Fault) else f"internal error: {type(exc).__name__}: {exc}"
        return Decision(record_id, "error", (), (), (), self.policy, self.version,
                        DecisionError(f"{detail} in rule `{rule}`", rule=rule))
