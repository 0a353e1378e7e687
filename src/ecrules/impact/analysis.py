"""`ecrules impact`: how a policy's decisions fall on a population, by protected attribute.

For each protected attribute (what the policy's `protect` constraints name), the outcome rates per
value; for each rule and value, the disparate-impact ratio (the rule's rate for that value against
its rate for all other values), split into the firings explained by a justified fact and the rest.
A firing is *explained* when the decision cites, for that rule, an instrument of an admissible kind
(in force: decisions cite only bases in force) that justifies the record's value — as the member
that matched, or listed in the scope of the rule's own basis: the justified facts `verify` uses
one record pair at a time. Free-text (legacy) bases explain
nothing. A rule is flagged when its unexplained ratio for a value is at least `high` (or at most
`low`), the value has at least `min_count` records (and, for "higher", `min_hits` unexplained
firings), and the ratio's interval excludes 1. Intervals are simultaneous at `confidence` (95%)
over every (rule, attribute, value) comparison tested (Bonferroni), so that testing many rules
against many countries raises no alarm by chance. A firing that a waiver cancelled counted toward
no outcome and is left out.

"Lower" also needs the value's rate to be at most `low` times the median rate of the other values
(of at least `min_count` records), so that a rule aimed at one country does not flag every other
country as favoured.

Proxies: a field a rule reads that is not protected is flagged as a proxy for a protected attribute
when, among the records the rule fires on without a justified fact, one of the field's values
(seen at least `min_count` times in the population) occurs with a single protected value in at
least `proxy_share` of its records: `region = "Puntland"` occurs only with destination SO. The
field's association with the attribute over the whole population (bias-corrected Cramér's V) is
reported beside it.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

import attrs
import numpy as np

from .. import nodes as n
from .. import types as t
from ..checked import Checked
from ..policy import Policy
from ..semantics import combining as sem
from ..verify.justify import covers
from .corpus import Corpus, FieldPath, dotted, load_corpus, scalar_paths
from .stats import RateRatio, codes, cramers_v, rate_ratio

OUTCOMES = ("allow", "license", "hold", "deny", "error")


@attrs.frozen
class Thresholds:
    """When a disparity or a proxy is reported (docs/impact.md explains each default)."""

    high: float = 1.25
    low: float = 0.8
    min_count: int = 30
    #: unexplained firings a value needs before it can be flagged "higher": one or two events give
    #: an interval that excludes 1 only through the continuity correction
    min_hits: int = 5
    proxy_share: float = 0.95
    #: the intervals are simultaneous at this level over every comparison tested (Bonferroni):
    #: a policy of 40 rules over 25 destinations makes 1,000 comparisons, and at a plain 95%
    #: fifty of them would exclude 1 by chance
    confidence: float = 0.95


@attrs.frozen
class Attribute:
    """A protected field: its path, what it stands for (destination or nationality), and the
    kinds or instrument ids that may justify treating its values differently."""

    path: FieldPath
    category: str
    admissible: frozenset[str]
    constraint: str

    @property
    def name(self) -> str:
        return dotted(self.path)


@attrs.frozen
class GroupRates:
    attribute: str
    value: str | None
    n: int
    outcomes: dict[str, int]


@attrs.frozen
class TopValue:
    value: str | None
    count: int
    share: float


@attrs.frozen
class Driver:
    """A field the flagged rule reads: its association with the attribute and its commonest values
    among the group's unexplained firings."""

    field: str
    cramers_v: float
    top: tuple[TopValue, ...]


@attrs.frozen
class Disparity:
    rule: str
    attribute: str
    value: str | None
    n: int
    hits: int
    explained: int
    ratio: RateRatio | None
    unexplained: RateRatio | None
    flagged: bool
    direction: str | None
    drivers: tuple[Driver, ...] = ()


@attrs.frozen
class Evidence:
    value: str | None
    count: int
    attribute_value: str | None
    share: float

    def sentence(self, field: str, attribute: str) -> str:
        only = "only" if self.share >= 0.9995 else f"{self.share:.0%} of the time"
        return (f"`{field} = {self.value!r}` occurs {only} with {attribute} {self.attribute_value} "
                f"({round(self.count * self.share)} of {self.count})")


@attrs.frozen
class Proxy:
    rule: str
    field: str
    attribute: str
    cramers_v: float
    flagged: bool
    evidence: tuple[Evidence, ...]


@attrs.frozen
class ImpactReport:
    """What `ecrules.impact` returns; `to_dict()` is the JSON of `ecrules impact --format json`."""

    policy: str
    version: str | None
    records: int
    outcomes: dict[str, int]
    attributes: tuple[Attribute, ...]
    rates: tuple[GroupRates, ...]
    rule_hits: dict[str, int]
    disparities: tuple[Disparity, ...]
    proxies: tuple[Proxy, ...]
    thresholds: Thresholds
    comparisons: int  # (rule, attribute, value) triples tested: the Bonferroni divisor
    decisions: Any = attrs.field(eq=False, repr=False)  # the per-record decisions, an Arrow table

    @property
    def flagged(self) -> list[Disparity]:
        return [d for d in self.disparities if d.flagged]

    @property
    def flagged_proxies(self) -> list[Proxy]:
        return [p for p in self.proxies if p.flagged]

    def to_dict(self) -> dict[str, Any]:
        def rr(r: RateRatio | None) -> dict[str, Any] | None:
            if r is None:
                return None
            return {"ratio": round(r.ratio, 6), "low": round(r.low, 6), "high": round(r.high, 6),
                    "rate": round(r.rate, 6), "other_rate": round(r.other_rate, 6), "corrected": r.corrected}

        return {
            "policy": self.policy, "version": self.version, "records": self.records,
            "outcomes": self.outcomes,
            "thresholds": attrs.asdict(self.thresholds), "comparisons": self.comparisons,
            "attributes": [{"path": a.name, "category": a.category, "admissible": sorted(a.admissible),
                            "constraint": a.constraint} for a in self.attributes],
            "rates": [attrs.asdict(g) for g in self.rates],
            "rules": self.rule_hits,
            "disparities": [{
                "rule": d.rule, "attribute": d.attribute, "value": d.value, "n": d.n, "hits": d.hits,
                "explained": d.explained, "ratio": rr(d.ratio), "unexplained": rr(d.unexplained),
                "flagged": d.flagged, "direction": d.direction,
                "drivers": [attrs.asdict(x) for x in d.drivers],
            } for d in self.disparities],
            "proxies": [{
                "rule": p.rule, "field": p.field, "attribute": p.attribute,
                "cramers_v": round(p.cramers_v, 6), "flagged": p.flagged,
                "evidence": [attrs.asdict(e) | {"sentence": e.sentence(p.field, p.attribute)} for e in p.evidence],
            } for p in self.proxies],
        }


def protected_attributes(c: Checked) -> list[Attribute]:
    """The scalar fields each `protect` constraint covers, with the category each stands for."""
    from ..verify.protect import Protection, ProtectSpec

    scalars = scalar_paths(c)
    out: dict[FieldPath, Attribute] = {}
    for con in c.constraints:
        if not isinstance(con.body, n.Protect):
            continue
        spec = ProtectSpec.of(con.body)
        prot = Protection(c, spec)
        for path in scalars:
            if path not in out and prot.covers(path):
                category = "nationality" if path[-1] == "nationality" else "destination"
                out[path] = Attribute(path, category, spec.unless, con.name)
    return list(out.values())


def rule_reads(c: Checked) -> dict[str, list[FieldPath]]:
    """The scalar record fields each rule reads as a value (lets included)."""
    from ..verify.protect import reads

    scalars = scalar_paths(c)
    out: dict[str, list[FieldPath]] = {}
    for r in c.rules:
        seen = dict.fromkeys(p for kind, p in reads(c, r.when) if kind == "value" and p in scalars)
        out[r.id] = list(seen)
    return out


def _categorical(values: np.ndarray, typ: t.Type | None) -> np.ndarray:
    """Integer codes of a column; numbers are cut into deciles and dates into years first."""
    if isinstance(typ, t.Prim) and typ.name in ("number", "int"):
        nums = np.array([_float(v) for v in values], dtype=np.float64)
        ok = ~np.isnan(nums)
        out = np.full(len(values), -1, dtype=np.int64)
        if ok.any():
            edges = np.unique(np.quantile(nums[ok], np.linspace(0.1, 0.9, 9)))
            out[ok] = np.searchsorted(edges, nums[ok], side="right")
        return out
    if isinstance(typ, t.Prim) and typ.name == "date":
        return codes([v[:4] if isinstance(v, str) else None for v in values])
    return codes(values)


def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _explained(corpus: Corpus, rule: str, attributes: list[Attribute], columns: dict[FieldPath, np.ndarray],
               c: Checked) -> np.ndarray:
    """Rows where the decision cites, for `rule`, an admissible instrument that justifies the
    record's own value of a protected attribute: as the member that matched, or listed in the scope
    of the rule's own basis — the justified facts `verify` uses (verify/justify.py). A firing
    justified by the destination is explained for every attribute: a consignee's country that
    comes with an embargoed destination is not singled out by the rule."""
    b = corpus.basis
    mask = np.zeros(corpus.n, dtype=bool)
    if not len(b["row"]):
        return mask
    sel = np.flatnonzero((b["rule"] == rule) & np.array([i is not None for i in b["instrument"]], dtype=bool))
    for k in sel:
        row, member = int(b["row"][k]), b["member"][k]
        for attr in attributes:
            value = columns[attr.path][row]
            if member is not None and member != value:
                continue
            if _admissible(c, attr, b["kind"][k], b["instrument"][k], value, listed_only=member is None):
                mask[row] = True
                break
    return mask


def _admissible(c: Checked, attr: Attribute, kind: Any, instrument: Any, value: Any, listed_only: bool) -> bool:
    """An instrument of an admissible kind (or named itself) whose scope singles out `value` in the
    attribute's category: an item-control regime justifies no destination difference."""
    if kind not in attr.admissible and instrument not in attr.admissible:
        return False
    info = c.instruments.get(instrument)
    return info is not None and isinstance(value, str) and covers(info, attr.category, value, listed_only)


def _top(values: np.ndarray, k: int = 3) -> tuple[TopValue, ...]:
    if not len(values):
        return ()
    counts: dict[Any, int] = {}
    for v in values.tolist():
        counts[v] = counts.get(v, 0) + 1
    total = len(values)
    best = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:k]
    return tuple(TopValue(v, c, c / total) for v, c in best)


def analyse(policy: Policy, data: Any, *, thresholds: Thresholds | None = None, engine: str = "auto",
            input_format: str | None = None) -> ImpactReport:
    """Decide `data` with `policy` and measure the decisions' impact (see the module docstring)."""
    th = thresholds or Thresholds()
    c = policy.checked
    attributes = protected_attributes(c)
    reads = rule_reads(c)
    types = scalar_paths(c)
    wanted = [a.path for a in attributes] + [p for ps in reads.values() for p in ps]
    corpus = load_corpus(policy, data, wanted, engine=engine, input_format=input_format)
    N = corpus.n
    outcome_counts = {o: int((corpus.outcome == o).sum()) for o in OUTCOMES}
    rule_hits = {r.id: int(corpus.fired[r.id].sum()) if r.id in corpus.fired else 0 for r in c.rules}

    rates: list[GroupRates] = []
    disparities: list[Disparity] = []
    proxies: list[Proxy] = []
    v_cache: dict[tuple[FieldPath, FieldPath], float] = {}
    protected_paths = {a.path for a in attributes}
    ocodes = codes(list(corpus.outcome))
    onames = list(dict.fromkeys(corpus.outcome.tolist()))
    counted = _counted(c, corpus)
    columns = {a.path: corpus.column(a.path) for a in attributes}
    explained_by = {r.id: _explained(corpus, r.id, attributes, columns, c) & counted[r.id]
                    for r in c.rules if r.id in counted and counted[r.id].any()}
    firing_rules = sum(1 for r in c.rules if r.id in explained_by)
    tested = sum(int((np.bincount(codes(columns[a.path])) >= th.min_count).sum()) for a in attributes) * firing_rules
    z = NormalDist().inv_cdf(1 - (1 - th.confidence) / (2 * max(1, tested)))
    for attr in attributes:
        values = corpus.column(attr.path)
        acodes = codes(values)
        names = list(dict.fromkeys(values.tolist()))
        k = len(names)
        sizes = np.bincount(acodes, minlength=k)
        table = np.bincount(acodes * max(1, len(onames)) + ocodes, minlength=k * max(1, len(onames))).reshape(k, -1)
        for vi, value in enumerate(names):
            counts = {o: int(table[vi, onames.index(o)]) if o in onames else 0 for o in OUTCOMES}
            rates.append(GroupRates(attr.name, value, int(sizes[vi]), counts))
        for r in c.rules:
            fired = counted.get(r.id)
            if fired is None or not fired.any():
                continue
            explained = explained_by[r.id]
            unexplained = fired & ~explained
            hits = np.bincount(acodes[fired], minlength=k)
            exp = np.bincount(acodes[explained], minlength=k)
            unexp = np.bincount(acodes[unexplained], minlength=k)
            total_h, total_u = int(hits.sum()), int(unexp.sum())
            big = sizes >= th.min_count
            urates = unexp / np.maximum(sizes, 1)
            for vi, value in enumerate(names):
                nv = int(sizes[vi])
                if nv < th.min_count and hits[vi] == 0:
                    continue
                ratio = rate_ratio(int(hits[vi]), nv, total_h - int(hits[vi]), N - nv, z)
                uratio = rate_ratio(int(unexp[vi]), nv, total_u - int(unexp[vi]), N - nv, z)
                direction = None
                if uratio is not None and nv >= th.min_count:
                    others = np.delete(urates, vi)[np.delete(big, vi)]
                    # a value with no unexplained firing is never singled out, whatever the
                    # continuity correction makes of a small count elsewhere
                    if unexp[vi] >= th.min_hits and uratio.ratio >= th.high and uratio.low > 1.0:
                        direction = "higher"
                    elif (uratio.ratio <= th.low and uratio.high < 1.0 and len(others)
                          and urates[vi] <= th.low * float(np.median(others)) and np.median(others) > 0):
                        direction = "lower"
                drivers: tuple[Driver, ...] = ()
                if direction is not None:
                    group = unexplained & (values == value) if direction == "higher" else (values == value) & ~fired
                    drivers = tuple(
                        Driver(dotted(p), _v(v_cache, corpus, p, attr.path, types), _top(corpus.column(p)[group]))
                        for p in reads[r.id] if p not in protected_paths)
                disparities.append(Disparity(r.id, attr.name, value, nv, int(hits[vi]), int(exp[vi]), ratio,
                                             uratio, direction is not None, direction, drivers))
            for p in reads[r.id]:
                if p not in protected_paths:
                    evidence = _evidence(corpus.column(p), values, unexplained, th)
                    proxies.append(Proxy(r.id, dotted(p), attr.name, _v(v_cache, corpus, p, attr.path, types),
                                         bool(evidence), evidence))
    return ImpactReport(policy.name, policy.version, N, outcome_counts, tuple(attributes), tuple(rates), rule_hits,
                        tuple(disparities), tuple(proxies), th, tested, corpus.decisions)


class _Masks:
    """`semantics.combining.Logic` over boolean masks (one element a record)."""

    def __init__(self, n: int):
        self.n = n

    def all(self, xs: Any) -> np.ndarray:
        out = np.ones(self.n, dtype=bool)
        for x in xs:
            out &= x
        return out

    def any(self, xs: Any) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        for x in xs:
            out |= x
        return out

    def not_(self, x: np.ndarray) -> np.ndarray:
        return ~x

    def const(self, value: bool) -> np.ndarray:
        return np.full(self.n, value)


def _counted(c: Checked, corpus: Corpus) -> dict[str, np.ndarray]:
    """Per rule, the records on which its firing counted toward the outcome (`semantics.combining`
    over the fired masks): a rule waived by another rule that fired on the record still fires,
    but treats nobody differently."""
    logic = _Masks(corpus.n)
    none = np.zeros(corpus.n, dtype=bool)
    waivers = sem.waived_by([r.id for r in c.rules], [r.waives for r in c.rules])

    def fired(k: int) -> np.ndarray:
        return corpus.fired.get(c.rules[k].id, none)

    return {r.id: sem.counts(c.combine, r.index, fired, waivers, logic) for r in c.rules if r.id in corpus.fired}


def _v(cache: dict[tuple[FieldPath, FieldPath], float], corpus: Corpus, field: FieldPath, attr: FieldPath,
       types: dict[FieldPath, t.Type]) -> float:
    key = (field, attr)
    if key not in cache:
        cache[key] = cramers_v(_categorical(corpus.column(field), types.get(field)), codes(corpus.column(attr)))
    return cache[key]


def _evidence(field: np.ndarray, attr: np.ndarray, firing: np.ndarray, th: Thresholds,
              k: int = 5) -> tuple[Evidence, ...]:
    """Values of `field` among the `firing` rows, seen at least `min_count` times in the whole
    population, whose records (almost) all share one value of `attr`."""
    if not firing.any():
        return ()
    present = np.array([v is not None for v in attr.tolist()], dtype=bool)  # no value is no protected value
    field, attr, firing = field[present], attr[present], firing[present]
    if not firing.any():
        return ()
    fcodes = codes(field)
    acodes = codes(attr)
    fnames = list(dict.fromkeys(field.tolist()))
    anames = list(dict.fromkeys(attr.tolist()))
    table = np.bincount(fcodes * len(anames) + acodes, minlength=len(fnames) * len(anames)).reshape(len(fnames), -1)
    totals = table.sum(axis=1)
    best = table.argmax(axis=1)
    share = table[np.arange(len(fnames)), best] / np.maximum(totals, 1)
    seen = np.bincount(fcodes[firing], minlength=len(fnames)) > 0
    found = [Evidence(fnames[i], int(totals[i]), anames[best[i]], float(share[i]))
             for i in range(len(fnames))
             if seen[i] and fnames[i] is not None and totals[i] >= th.min_count and share[i] >= th.proxy_share]
    found.sort(key=lambda e: (-e.count, str(e.value)))
    return tuple(found[:k])


__all__ = ["Attribute", "Disparity", "Driver", "Evidence", "GroupRates", "ImpactReport", "Proxy", "Thresholds",
           "analyse", "protected_attributes", "rule_reads"]
