"""`ecrules diff OLD NEW [RECORDS]`: what an amendment changes.

Symbolic: for each pair of outcomes (allow → deny, license → allow, ...), whether some record valid
under both policies gets the first from OLD and the second from NEW. z3 answers over one shared
symbolic record (the verify encoder, once per policy); a `possible` answer carries a witness that
both real evaluators confirmed, `impossible` is a proof (within the list bound), `unknown` says why.

On a corpus: both policies decide every record; the records whose outcome changed, counted by
from → to, by the rules that started or stopped firing, and by protected attribute. Rules are
matched by id: a renamed rule is one removed and one added.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import attrs
import numpy as np
import pyarrow as pa

from ..policy import Policy
from .analysis import protected_attributes
from .corpus import Corpus, dotted, load_corpus

DECIDED = ("allow", "license", "hold", "deny")


@attrs.frozen
class Transition:
    """One from → to class of the symbolic diff."""

    old: str
    new: str
    status: str  # "possible", "impossible", "unknown"
    witness: dict[str, Any] | None = None
    old_fired: tuple[str, ...] = ()
    new_fired: tuple[str, ...] = ()
    reason: str | None = None

    @property
    def rules(self) -> tuple[str, ...]:
        """The rules whose firing differs on the witness (matched by id)."""
        return tuple(sorted(set(self.old_fired) ^ set(self.new_fired)))


@attrs.frozen
class CorpusDiff:
    records: int
    changed: int
    by_transition: dict[tuple[str, str], int]
    by_rule: dict[str, dict[str, int]]  # rule -> {"added": n, "removed": n}
    by_attribute: dict[str, dict[str | None, int]]
    changes: pa.Table = attrs.field(eq=False, repr=False)


@attrs.frozen
class DiffReport:
    """What `ecrules.diff` returns; `to_dict()` is the JSON of `ecrules diff --format json`."""

    old: str
    new: str
    transitions: tuple[Transition, ...]
    corpus: CorpusDiff | None
    rules_added: tuple[str, ...]
    rules_removed: tuple[str, ...]

    def transition(self, old: str, new: str) -> Transition | None:
        for t in self.transitions:
            if (t.old, t.new) == (old, new):
                return t
        return None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "old": self.old, "new": self.new,
            "rules_added": list(self.rules_added), "rules_removed": list(self.rules_removed),
            "transitions": [{
                "from": t.old, "to": t.new, "status": t.status, "rules": list(t.rules),
                "witness": t.witness, "old_fired": list(t.old_fired), "new_fired": list(t.new_fired),
                "reason": t.reason,
            } for t in self.transitions],
        }
        if self.corpus is not None:
            c = self.corpus
            out["corpus"] = {
                "records": c.records, "changed": c.changed,
                "by_transition": [{"from": a, "to": b, "count": k} for (a, b), k in sorted(c.by_transition.items())],
                "by_rule": c.by_rule,
                "by_attribute": {a: [{"value": v, "count": k} for v, k in sorted(vs.items(), key=lambda x: -x[1])]
                                 for a, vs in c.by_attribute.items()},
            }
        return out


def _outcomes(policy: Policy) -> set[str]:
    return {policy.checked.default, *(r.outcome for r in policy.rules)}


def symbolic(old: Policy, new: Policy, *, timeout: float = 5.0, deadline: float = 60.0) -> tuple[Transition, ...]:
    """Every from → to class between the outcomes the two policies can give."""
    olds, news = _outcomes(old), _outcomes(new)
    pairs = [(a, b) for a, b in itertools.product(DECIDED, DECIDED) if a != b and a in olds and b in news]
    if _shape(old.checked.record) != _shape(new.checked.record):
        why = "the two policies' record schemas differ: only the corpus diff applies"
        return tuple(Transition(a, b, "unknown", reason=why) for a, b in pairs)
    end = time.monotonic() + deadline
    out = []
    for a, b in pairs:
        left = end - time.monotonic()
        if left <= 0:
            out.append(Transition(a, b, "unknown", reason="the deadline passed before this class was searched"))
            continue
        out.append(_transition(old, new, a, b, min(timeout, left)))
    return tuple(out)


def _shape(typ: Any) -> Any:
    """A type as nested tuples: the checker's struct types compare by identity, two policies'
    schemas by their structure."""
    from .. import types as t

    if isinstance(typ, t.StructT):
        return ("struct", tuple((f.name, f.optional, _shape(f.type)) for f in typ.fields.values()))
    if isinstance(typ, (t.ListT, t.SetT)):
        return (type(typ).__name__, _shape(typ.elem))
    return typ


def _transition(old: Policy, new: Policy, a: str, b: str, timeout: float) -> Transition:
    from ..verify.deadline import Deadline, DeadlineExceeded
    from ..checked import Env
    from ..verify.encode import Encoder
    from ..verify.outcome import decision_bounds, merge_bounds
    from ..verify.solve import solve
    from ..verify.symbolic import Unsupported, zbool
    from ..verify.witness import record_of

    dl = Deadline(timeout, f"deadline: the {timeout:g} s limit ran out")

    bounds = merge_bounds([decision_bounds(old, []), decision_bounds(new, [])])
    assert bounds is not None
    try:
        eo, en = Encoder(old.checked, bounds, dl), Encoder(new.checked, bounds, dl)
        rec = eo.record("r")
        same = en.record("r", share=rec, protected=lambda path, typ: False)
        assertions = [eo.valid(rec), en.valid(same), zbool(eo.outcome_is(Env(rec), a)),
                      zbool(en.outcome_is(Env(same), b)), *en.domain]
        eo.apps.extend(en.apps)
        eo.set_apps.extend(en.set_apps)
    except Unsupported as exc:
        return Transition(a, b, "unknown", reason=str(exc))
    except DeadlineExceeded as exc:
        return Transition(a, b, "unknown", reason=exc.what)

    def confirm(record: dict[str, Any]) -> str | None:
        do, dn = old.evaluate(record), new.evaluate(record)
        if do.outcome != a:
            return f"the old policy decides {do.outcome}"
        if dn.outcome != b:
            return f"the new policy decides {dn.outcome}"
        return None

    try:
        res = solve(eo, assertions, lambda m: record_of(m, rec), confirm)
    except DeadlineExceeded as exc:
        return Transition(a, b, "unknown", reason=exc.what)
    if res.status == "violated":
        w = res.witness
        return Transition(a, b, "possible", w, old.evaluate(w).fired, new.evaluate(w).fired)
    if res.status == "proved":
        return Transition(a, b, "impossible", reason=f"no record within {bounds.describe()}")
    return Transition(a, b, "unknown", reason=res.reason)


def on_corpus(old: Policy, new: Policy, data: Any, *, input_format: str | None = None) -> CorpusDiff:
    """Both policies on the same records: what changed, record by record."""
    attrs_ = {a.path: a for a in protected_attributes(old.checked) + protected_attributes(new.checked)}
    paths = list(attrs_)
    co = load_corpus(old, data, paths, input_format=input_format)
    cn = load_corpus(new, data, paths, input_format=input_format)
    if co.n != cn.n:  # both read the same records with the same reader; anything else is a bug
        raise AssertionError(f"the two policies decided {co.n} and {cn.n} records")
    changed = co.outcome != cn.outcome
    idx = np.flatnonzero(changed)
    by_transition: dict[tuple[str, str], int] = {}
    for a, b in zip(co.outcome[idx].tolist(), cn.outcome[idx].tolist()):
        by_transition[(a, b)] = by_transition.get((a, b), 0) + 1
    by_rule: dict[str, dict[str, int]] = {}
    for rule in sorted(set(co.fired) | set(cn.fired)):
        fo = co.fired.get(rule, np.zeros(co.n, dtype=bool))
        fn = cn.fired.get(rule, np.zeros(cn.n, dtype=bool))
        added, removed = int((changed & fn & ~fo).sum()), int((changed & fo & ~fn).sum())
        if added or removed:
            by_rule[rule] = {"added": added, "removed": removed}
    by_attribute: dict[str, dict[str | None, int]] = {}
    for path in paths:
        counts: dict[str | None, int] = {}
        for v in co.column(path)[idx].tolist():
            counts[v] = counts.get(v, 0) + 1
        by_attribute[dotted(path)] = counts
    return CorpusDiff(co.n, int(changed.sum()), by_transition, by_rule, by_attribute, _changes(co, cn, idx, paths))


def _fired_lists(c: Corpus, idx: np.ndarray) -> list[list[str]]:
    out: list[list[str]] = [[] for _ in idx]
    for rule, mask in sorted(c.fired.items()):
        for j, hit in enumerate(mask[idx]):
            if hit:
                out[j].append(rule)
    return out


def _changes(co: Corpus, cn: Corpus, idx: np.ndarray, paths: list[tuple[str, ...]]) -> pa.Table:
    cols: dict[str, Any] = {
        "position": pa.array((idx + 1).tolist(), pa.int64()),
        "id": pa.array([co.ids[i] for i in idx.tolist()], pa.string()),
        "from": pa.array(co.outcome[idx].tolist(), pa.string()),
        "to": pa.array(cn.outcome[idx].tolist(), pa.string()),
        "old_fired": pa.array(_fired_lists(co, idx), pa.list_(pa.string())),
        "new_fired": pa.array(_fired_lists(cn, idx), pa.list_(pa.string())),
    }
    for p in paths:
        cols[dotted(p)] = pa.array(co.column(p)[idx].tolist(), pa.string())
    return pa.table(cols)


def _label(policy: Policy) -> str:
    return policy.name if policy.version is None else f"{policy.name} {policy.version}"


def diff(old: Policy, new: Policy, table: Any = None, *, timeout: float = 5.0, deadline: float = 60.0,
         symbolic_diff: bool = True, input_format: str | None = None) -> DiffReport:
    """Compare two policies symbolically and, given records, on the corpus."""
    transitions = symbolic(old, new, timeout=timeout, deadline=deadline) if symbolic_diff else ()
    corpus = on_corpus(old, new, table, input_format=input_format) if table is not None else None
    ids_old, ids_new = {r.id for r in old.rules}, {r.id for r in new.rules}
    return DiffReport(_label(old), _label(new), transitions, corpus,
                      tuple(sorted(ids_new - ids_old)), tuple(sorted(ids_old - ids_new)))


__all__ = ["CorpusDiff", "DiffReport", "Transition", "diff", "on_corpus", "symbolic"]
