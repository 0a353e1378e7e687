"""`protect ... unless basis ...`: no rule depends on a protected field without a basis in force.

Per rule, cheapest first:
1. a rule that reads no protected field (directly, or through the lets it reads) is independent;
2. a rule that carries an admissible basis that is always in force (no `from`/`until`, or a policy
   without `as_of`) is justified;
3. otherwise the solver looks for two valid records, equal except in protected fields, on whose
   common `as_of` date the rule has no admissible basis in force, and on which the rule's match
   (validity dates included) differs. None: independent where it matters. One: a violation, shown
   only after the real evaluator confirms both records and the two matches.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any, Callable, Iterable, Iterator

import attrs

from .. import nodes as n
from .. import types as t
from ..checked import Checked, FieldRef, LetInfo, Program, RuleInfo, SetInfo, VarRef, var_of
from ..combine import in_force
from ..interpreter import Interpreter
from ..records import RecordError, Struct
import z3  # type: ignore[import-untyped]

from .deadline import Deadline, DeadlineExceeded
from .bounds import BoundCounter, Bounds
from ..checked import Env
from .encode import Encoder, all_exprs
from .solve import Outcome, solve
from .symbolic import COUNTRY_LIST, FD, SList, SStruct, Unsupported, zand, zbool, zor
from .witness import record_of
from .justify import Facts, category
from .seeds import test_records

Path = tuple[str, ...]
COUNTRY_SET = frozenset(COUNTRY_LIST)


@attrs.frozen
class ProtectSpec:
    paths: frozenset[Path]
    types: frozenset[str]
    unless: frozenset[str]

    @classmethod
    def of(cls, body: n.Protect) -> ProtectSpec:
        return cls(frozenset(p.parts for p in body.paths), frozenset(r.name for r in body.types),
                   frozenset(r.name for r in body.unless))


def _unwrap(typ: t.Type) -> t.Type:
    while isinstance(typ, (t.ListT, t.SetT)):
        typ = typ.elem
    return typ


def _type_name(typ: t.Type) -> str | None:
    typ = _unwrap(typ)
    if isinstance(typ, t.Prim):
        return typ.name
    if isinstance(typ, t.StructT):
        return typ.name
    return None


class Protection:
    """Which field paths of the record a `protect` clause covers."""

    def __init__(self, c: Checked, spec: ProtectSpec):
        assert c.record is not None
        self.c = c
        self.spec = spec
        self._cache: dict[Path, bool] = {}

    def _field_types(self, path: Path) -> list[t.Type] | None:
        """The declared type of each step of `path`, or None if it is not a record path."""
        assert self.c.record is not None
        cur: t.Type = self.c.record
        out: list[t.Type] = []
        for part in path:
            cur = _unwrap(cur)
            if not isinstance(cur, t.StructT) or part not in cur.fields:
                return None
            cur = cur.fields[part].type
            out.append(cur)
        return out

    def covers(self, path: Path) -> bool:
        """`path` is a protected field or lies inside one."""
        if path in self._cache:
            return self._cache[path]
        result = False
        types = self._field_types(path)
        if types is not None:
            for k in range(1, len(path) + 1):
                if path[:k] in self.spec.paths or _type_name(types[k - 1]) in self.spec.types:
                    result = True
                    break
        self._cache[path] = result
        return result

    def contains(self, path: Path) -> bool:
        """Some field at or below `path` is protected."""
        if self.covers(path):
            return True
        types = self._field_types(path)
        if types is None:
            return False
        typ = _unwrap(types[-1]) if types else self.c.record
        if isinstance(typ, t.StructT):
            return any(self.contains(path + (f,)) for f in typ.fields)
        return False

    def predicate(self) -> Callable[[Path, t.Type], bool]:
        return lambda path, typ: self.covers(path)

    def all_paths(self) -> list[Path]:
        out: list[Path] = []

        def walk(typ: t.Type, path: Path) -> None:
            typ = _unwrap(typ)
            if isinstance(typ, t.StructT):
                for f in typ.fields:
                    p = path + (f,)
                    if self.covers(p):
                        out.append(p)
                    else:
                        walk(typ.fields[f].type, p)

        assert self.c.record is not None
        walk(self.c.record, ())
        return out


def reads(c: Checked, e: n.Expr) -> Iterator[tuple[str, Path]]:
    """The record paths an expression reads, lets included: ("value", path) for a value used as a
    whole, ("shape", path) for a list iterated or a presence tested."""
    seen: set[str] = set()

    def path_of(x: n.Expr, scope: dict[VarRef, Path]) -> Path | None:
        if isinstance(x, n.Name):
            b = x.binding
            if isinstance(b, FieldRef):
                return (x.name,)
            if isinstance(b, VarRef):
                return scope.get(b)
            return None
        if isinstance(x, n.Attr):
            head = path_of(x.obj, scope)
            return head + (x.name,) if head is not None else None
        return None

    def walk(x: n.Expr, scope: dict[VarRef, Path]) -> Iterator[tuple[str, Path]]:
        if isinstance(x, (n.Name, n.Attr)):
            p = path_of(x, scope)
            if p is not None:
                yield "value", p
                return
            if isinstance(x, n.Name):
                b = x.binding
                if isinstance(b, LetInfo) and b.name not in seen:
                    seen.add(b.name)
                    yield from walk(b.expr, {})
                return
        if isinstance(x, n.Has):
            cur: n.Expr = x.path
            while True:
                p = path_of(cur, scope)
                if p is not None:
                    yield "shape", p
                if not isinstance(cur, n.Attr):
                    break
                cur = cur.obj
            return
        if isinstance(x, n.Quant):
            p = path_of(x.source, scope)
            inner = dict(scope)
            if p is not None:
                yield "shape", p
                inner[var_of(x)] = p
            else:
                yield from walk(x.source, scope)
            for part in (x.where, x.body):
                if part is not None:
                    yield from walk(part, inner)
            return
        for child in n.children(x):
            yield from walk(child, scope)

    yield from walk(e, {})


@attrs.frozen
class RuleResult:
    rule: str
    status: str  # "independent", "justified", "proved", "violated", "unknown"
    detail: str
    bound: Bounds | None = None
    fields: tuple[str, ...] = ()
    witness: tuple[dict[str, Any], dict[str, Any]] | None = None
    matches: tuple[bool, bool] | None = None
    reason: str | None = None


def protected_reads(c: Checked, rule: RuleInfo, prot: Protection) -> list[Path]:
    out: list[Path] = []
    for kind, p in reads(c, rule.when):
        hit = prot.covers(p) or (kind == "value" and prot.contains(p))
        if hit and p not in out:
            out.append(p)
    return out


def diff_paths(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in list(dict.fromkeys(list(a) + list(b))):
            sub = f"{path}.{k}" if path else k
            if k not in a or k not in b:
                out.append(sub)
            else:
                out += diff_paths(a[k], b[k], sub)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [p for k, (x, y) in enumerate(zip(a, b)) for p in diff_paths(x, y, f"{path}[{k}]")]
    return [] if a == b else [path]


def pair_bounds(c: Checked, rules: Iterable[RuleInfo], cap: int = 12) -> Bounds:
    """List bounds for the pair query of each of `rules`: per list path the largest any rule
    needs (each rule's own count is what makes its bound complete; more slots change nothing)."""
    out: list[Bounds] = []
    for rule in rules:
        counter = BoundCounter(c)
        for copy in (0, 1):
            counter.add(rule.when, 0, copy)
            for inv in c.invariants:
                counter.add(inv.expr, 1, copy)
        out.append(counter.bounds(cap))
    sizes: dict[Path, int] = {}
    incomplete: set[Path] = set()
    for b in out:
        for p, k in b.sizes.items():
            sizes[p] = max(sizes.get(p, 0), k)
        incomplete |= b.incomplete
    return Bounds(sizes, incomplete, cap)


class Pairs:
    """The pair query's common part, built once per `protect` constraint and shared by its rules
    (incremental solving): two symbolic records equal outside the protected fields, both valid,
    agreeing on every justified fact. Each rule pushes "my match differs" and pops it."""

    def __init__(self, policy: Program, spec: ProtectSpec, cap: int = 12):
        c = policy.checked
        self.policy = policy
        self.prot = Protection(c, spec)
        self.facts = Facts(c, spec.unless)
        self.cap = cap
        self._built: tuple[Encoder, SStruct, SStruct, Any] | None = None
        self._tests: list[dict[str, Any]] | None = None
        #: validated values of the test records and their one-leaf changes, shared by every rule
        #: the sampling tries them on (None: not a valid record)
        self.validated: dict[Any, Any] = {}

    def tests(self) -> list[dict[str, Any]]:
        """The policy's own valid test records, read once for all its rules."""
        if self._tests is None:
            self._tests = test_records(self.policy)
        return self._tests

    def get(self, dl: Deadline) -> tuple[Encoder, SStruct, SStruct, Any]:
        """(encoder, record A, record B, solver); `Unsupported` or `DeadlineExceeded` if it
        cannot be built (the next rule tries again)."""
        if self._built is None:
            c = self.policy.checked
            readers = [r for r in c.rules if protected_reads(c, r, self.prot)]
            enc = Encoder(c, pair_bounds(c, readers, self.cap), dl)
            rec_a = enc.record("a")
            rec_b = enc.record("b", share=rec_a, protected=self.prot.predicate())
            solver = z3.Solver()
            solver.add(zbool(enc.valid(rec_a)), zbool(enc.valid(rec_b)),
                       zbool(agree_on_facts(enc, self.facts, self.prot, rec_a, rec_b)))
            self._built = (enc, rec_a, rec_b, solver)
        enc = self._built[0]
        enc.deadline = dl
        return self._built


def check_rule(policy: Program, rule: RuleInfo, spec: ProtectSpec, deadline: Deadline | None = None,
               cap: int = 12, pairs: Pairs | None = None) -> RuleResult:
    c = policy.checked
    pairs = pairs if pairs is not None else Pairs(policy, spec, cap)
    prot, facts = pairs.prot, pairs.facts
    read = protected_reads(c, rule, prot)
    if not read:
        return RuleResult(rule.id, "independent", "reads no protected field")
    names = tuple(".".join(p) for p in read)
    dl = deadline if deadline is not None else Deadline.never()
    interp = Interpreter(c)
    # 1. the policy's own test records, each protected value changed in turn (the evaluator only)
    found = sample_pair(policy, interp, rule, spec, prot, facts, pairs.tests(), dl, 0.25, pairs.validated)
    if found is not None:
        return _violation(interp, rule, found, names)
    bounds: Bounds | None = None
    try:
        enc, rec_a, rec_b, solver = pairs.get(dl)
        bounds = enc.bounds
        m_a, m_b = enc.match(rule, Env(rec_a)), enc.match(rule, Env(rec_b))
        if isinstance(m_a, bool) and isinstance(m_b, bool):
            differ: Any = m_a != m_b
        else:
            differ = z3.Xor(zbool(m_a), zbool(m_b))
        assertions = [differ]
    except Unsupported as exc:
        return RuleResult(rule.id, "unknown", "not encoded", bounds, names, reason=str(exc))

    def build(model: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        return record_of(model, rec_a), record_of(model, rec_b)

    def confirm(pair: tuple[dict[str, Any], dict[str, Any]]) -> str | None:
        return confirm_pair(policy, interp, rule, prot, facts, pair)

    # 2. the pair query, for a short while (most proofs are quick)
    out: Outcome | None = None
    try:
        out = solve(enc, assertions, build, confirm, deadline=dl.sub(min(dl.remaining() / 4, 2.0), "first try"),
                    solver=solver)
    except DeadlineExceeded:
        if dl.expired:
            raise
    if out is None or out.status == "unknown":
        # 3. a one-record query for a record the rule matches, then the evaluator on its
        # protected values and dates; 4. the pair query with the time left
        seed = _seed(policy, rule, dl.sub(dl.remaining() / 2, "seed"))
        found = sample_pair(policy, interp, rule, spec, prot, facts, [seed], dl, 0.5) if seed is not None else None
        if found is not None:
            return _violation(interp, rule, found, names, bounds)
        out = solve(enc, assertions, build, confirm, solver=solver)
    if out.status == "proved":
        return RuleResult(rule.id, "proved", "tells protected values apart only through justified facts",
                          bounds, names)
    if out.status == "unknown":
        return RuleResult(rule.id, "unknown", "undecided", bounds, names, reason=out.reason)
    return _violation(interp, rule, out.witness, names, bounds)


def _violation(interp: Interpreter, rule: RuleInfo, pair: tuple[dict[str, Any], dict[str, Any]],
               names: tuple[str, ...], bounds: Bounds | None = None) -> RuleResult:
    wa, wb = pair
    ma, mb = _matches(interp, rule, wa), _matches(interp, rule, wb)
    differ_at = tuple(diff_paths(wa, wb))
    return RuleResult(rule.id, "violated", "tells protected values apart beyond the justified facts",
                      bounds, differ_at or names, (wa, wb), (bool(ma), bool(mb)))


def _seed(policy: Program, rule: RuleInfo, dl: Deadline) -> dict[str, Any] | None:
    """One valid record the rule matches (a one-record query, far cheaper than the pair), to
    start `sample_pair` from."""
    c = policy.checked
    counter = BoundCounter(c)
    counter.add(rule.when, 1)
    for inv in c.invariants:
        counter.add(inv.expr, 1)
    try:
        enc = Encoder(c, counter.bounds(1), dl)  # a seed need not be small-model complete
        rec = enc.record("s")
        assertions = [enc.valid(rec), zbool(enc.match(rule, Env(rec)))]
        interp = Interpreter(c)

        def ok(w: dict[str, Any]) -> str | None:
            m = _matches(interp, rule, w)
            return None if m else "the rule does not match the seed"

        out = solve(enc, assertions, lambda model: record_of(model, rec), ok, rounds=2, quick=True)
    except (Unsupported, DeadlineExceeded):
        return None
    return out.witness if out.status == "violated" else None


def _leaves(typ: t.Type, value: Any, path: Path, where: tuple[Any, ...]) -> Iterator[tuple[Path, tuple[Any, ...], t.Type]]:
    """(schema path, place in the record, type) of every scalar leaf of a record value."""
    if isinstance(typ, t.StructT) and isinstance(value, dict):
        for fname, f in typ.fields.items():
            if fname in value and value[fname] is not None:
                yield from _leaves(f.type, value[fname], path + (fname,), where + (fname,))
    elif isinstance(typ, (t.ListT, t.SetT)) and isinstance(value, list):
        for k, el in enumerate(value):
            yield from _leaves(typ.elem, el, path, where + (k,))
    else:
        yield path, where, typ


def rule_country_refs(c: Checked, rule: RuleInfo) -> Iterator[tuple[str, str | None]]:
    """(country code, set name or None for a literal) for every country the rule's condition
    names, through its lets and the sets it reads."""
    seen: set[int] = set()
    stack: list[n.Expr] = [rule.when]
    while stack:
        e = stack.pop()
        for x in n.walk(e):
            if isinstance(x, n.Literal) and isinstance(x.value, str) and x.value in COUNTRY_SET:
                yield x.value, None
            elif isinstance(x, n.Name):
                b = x.binding
                if isinstance(b, LetInfo) and id(b) not in seen:
                    seen.add(id(b))
                    stack.append(b.expr)
                elif isinstance(b, SetInfo) and id(b) not in seen:
                    seen.add(id(b))
                    for v in sorted(b.values, key=str):
                        if isinstance(v, str) and v in COUNTRY_SET:
                            yield v, b.name


def rule_countries(c: Checked, rule: RuleInfo, facts: Facts) -> tuple[str, ...]:
    """The countries the rule names, then two it does not that are never a justified fact: the
    rule treats every country it does not name alike, so those two stand for all of them."""
    named = {v for v, _ in rule_country_refs(c, rule)}
    justified = {v for _, v in facts.by_fact}
    others = [k for k in COUNTRY_LIST if k not in named and k not in justified][:2]
    return tuple(sorted(named)) + tuple(others)


def policy_countries(c: Checked) -> tuple[str, ...]:
    """The country codes a policy names (in its sets and literals), then two it does not: every
    country the policy does not name is treated like those two, so they stand for all of them."""
    named: set[str] = set()
    for info in c.sets.values():
        named |= {x for x in info.values if isinstance(x, str) and x in COUNTRY_SET}
    for e in all_exprs(c):
        for x in n.walk(e):
            if isinstance(x, n.Literal) and isinstance(x.value, str) and x.value in COUNTRY_SET:
                named.add(x.value)
    others = [k for k in COUNTRY_LIST if k not in named][:2]
    return tuple(sorted(named)) + tuple(others)


def _alternatives(countries: tuple[str, ...], typ: t.Type) -> tuple[Any, ...]:
    if isinstance(typ, t.EnumT):
        return tuple(typ.members)
    if typ == t.BOOL:
        return (True, False)
    if isinstance(typ, t.Prim) and typ.name == "country":
        return countries
    return ()


def _put_values(values: Any, where: tuple[Any, ...], value: Any) -> Any:
    """A copy of validated `values` (Structs and tuples) with one leaf replaced, sharing the rest."""
    if not where:
        return value
    head, rest = where[0], where[1:]
    if isinstance(values, tuple):
        return values[:head] + (_put_values(values[head], rest, value),) + values[head + 1:]
    out = Struct(values)
    out[head] = _put_values(values[head], rest, value)
    return out


def _put(record: Any, where: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(record)
    cur = out
    for step in where[:-1]:
        cur = cur[step]
    cur[where[-1]] = value
    return out


def sample_pair(policy: Program, interp: Interpreter, rule: RuleInfo, spec: ProtectSpec, prot: Protection,
                facts: Facts, seeds: list[dict[str, Any]], dl: Deadline, share: float = 0.5,
                cache: dict[Any, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A confirmed violating pair found without the solver: from each seed record, on each date
    where a justified fact starts or stops (and the seed's own), every other value of each
    protected leaf (countries, enums, booleans), one leaf at a time, run through the evaluator;
    a change between two values that are not justified facts on that date must not matter."""
    try:
        return _sample_pair(policy, interp, rule, prot, facts, seeds,
                            dl.sub(min(dl.remaining() / 4, share), "sampling"), {} if cache is None else cache)
    except DeadlineExceeded:
        if dl.expired:
            raise
        return None


def _sample_pair(policy: Program, interp: Interpreter, rule: RuleInfo, prot: Protection, facts: Facts,
                 seeds: list[dict[str, Any]], dl: Deadline, cache: dict[Any, Any]
                 ) -> tuple[dict[str, Any], dict[str, Any]] | None:
    c = policy.checked

    def validated(key: Any, record: dict[str, Any]) -> Any:
        if key not in cache:
            try:
                cache[key] = interp.validate(record)
            except RecordError:
                cache[key] = None
        return cache[key]

    assert c.record is not None
    countries = rule_countries(c, rule, facts)
    read = set(protected_reads(c, rule, prot))
    days = facts.boundaries(set(countries)) | {d for d in (rule.effective, rule.expires) if d is not None}
    for k, seed in enumerate(seeds):
        dates: list[Any] = [None]
        if c.as_of is not None and c.as_of in seed:
            dates += [d.isoformat() for d in sorted(days)]
        for day in dates:
            base: dict[str, Any] = dict(seed) if day is None or c.as_of is None else {**seed, c.as_of: day}
            base_values = validated((k, day), base)
            if base_values is None:
                continue
            day_of = base_values[c.as_of] if c.as_of is not None else None
            base_match = interp.matches(rule, Env(base_values))
            leaves = cache.get(("leaves", k, day))
            if leaves is None:
                leaves = cache[("leaves", k, day)] = list(_leaves(c.record, base, (), ()))
            for path, where, typ in leaves:
                if not prot.covers(path) or not any(path[:k] in read for k in range(1, len(path) + 1)):
                    continue
                cat = category(path)
                fixed = isinstance(typ, t.Prim) and typ.name == "country"
                current = _get(base_values, where)
                if fixed and facts.holds(cat, current, day_of):
                    continue  # a justified fact: the rule may tell it apart
                for alt in _alternatives(countries, typ):
                    dl.check()
                    if fixed and facts.holds(cat, alt, day_of):
                        continue
                    # the rule on the changed values first (cheap); the whole record only if it differs
                    if interp.matches(rule, Env(_put_values(base_values, where, alt))) == base_match:
                        continue
                    other = _put(base, where, alt)
                    other_values = validated((k, day, where, alt), other)
                    m = interp.matches(rule, Env(other_values)) if other_values is not None else None
                    if m is None or m == base_match:
                        continue
                    pair = (base, other)
                    if confirm_pair(policy, interp, rule, prot, facts, pair) is None:
                        return pair
    return None


def _matches(interp: Interpreter, rule: RuleInfo, record: dict[str, Any]) -> bool | None:
    try:
        values = interp.validate(record)
    except RecordError:
        return None
    return interp.matches(rule, Env(values))


def confirm_pair(policy: Program, interp: Interpreter, rule: RuleInfo, prot: Protection, facts: Facts,
                 pair: tuple[dict[str, Any], dict[str, Any]]) -> str | None:
    """None when the real evaluator confirms the pair: both valid, the rule's match differs, they
    differ only in protected fields, and agree on every justified fact; else what is wrong."""
    c = policy.checked
    assert c.record is not None
    wa, wb = pair
    da, db = policy.evaluate(wa), policy.evaluate(wb)
    if da.is_error or db.is_error:
        err = (da.error or db.error)
        return f"a witness record is not valid: {err.message if err else '?'}"
    ma, mb = _matches(interp, rule, wa), _matches(interp, rule, wb)
    if ma is None or mb is None or ma == mb:
        return "the rule's match does not differ on the two records"
    if c.combine == "deny_overrides" and ((rule.id in da.fired) == (rule.id in db.fired)):
        return "the compiled evaluator's fired rules do not differ"
    for p in diff_paths(wa, wb):
        parts = tuple(x for x in p.replace("]", "").replace("[", ".").split(".") if not x.isdigit())
        if not prot.covers(parts):
            return f"the records differ in `{p}`, which is not protected"
    return facts_differ(c, prot, facts, interp.validate(wa), interp.validate(wb))


def facts_differ(c: Checked, prot: Protection, facts: Facts, va: Any, vb: Any) -> str | None:
    """Where two validated records (equal outside protected fields) disagree on a justified fact
    on A's `as_of` date, or None when they agree on all of them."""
    assert c.record is not None
    day = va[c.as_of] if c.as_of is not None else None
    la, lb = list(_leaves(c.record, va, (), ())), list(_leaves(c.record, vb, (), ()))
    if [w for _, w, _ in la] != [w for _, w, _ in lb]:
        return "the records differ in the shape of a protected field"
    for path, where, typ in la:
        if not prot.covers(path) or not (isinstance(typ, t.Prim) and typ.name == "country"):
            continue
        x, y = _get(va, where), _get(vb, where)
        if x != y and (facts.holds(category(path), x, day) or facts.holds(category(path), y, day)):
            return f"the records differ in a justified fact (`{'.'.join(path)}` is `{x}` or `{y}` on {day})"
    return None


def _get(values: Any, where: tuple[Any, ...]) -> Any:
    for step in where:
        values = values[step]
    return values


def agree_on_facts(enc: Encoder, facts: Facts, prot: Protection, a: SStruct, b: SStruct) -> Any:
    """The two symbolic records agree on every justified fact on A's `as_of` date: for each
    protected country leaf and each value v it may be justified as, A's leaf is v iff B's is."""
    as_of = enc.as_of(a)
    parts: list[Any] = []
    for path, la, lb, pa, pb in _leaf_pairs(prot, a, b, (), True, True):
        if not (isinstance(la, FD) and la.values == COUNTRY_LIST):
            continue
        cat = category(path)
        for v in facts.values(cat):
            holds = zor(*(enc.in_force(f, u, as_of) for f, u in facts.windows(cat, v)))
            if holds is False:
                continue
            is_a, is_b = zand(pa, enc.eq(la, v)), zand(pb, enc.eq(lb, v))
            parts.append(z3.Implies(zbool(holds), zbool(is_a) == zbool(is_b)))
    return zand(*parts)


def _leaf_pairs(prot: Protection, a: Any, b: Any, path: Path, pa: Any, pb: Any
                ) -> Iterator[tuple[Path, Any, Any, Any, Any]]:
    """(path, A's leaf, B's leaf, A present, B present) for every protected scalar leaf."""
    if isinstance(a, SStruct) and isinstance(b, SStruct):
        for fname in a.type.fields:
            yield from _leaf_pairs(prot, a.fields[fname], b.fields[fname], path + (fname,),
                                   zand(pa, a.present.get(fname, True)), zand(pb, b.present.get(fname, True)))
    elif isinstance(a, SList) and isinstance(b, SList):
        for k, (ea, eb) in enumerate(zip(a.elems, b.elems)):
            yield from _leaf_pairs(prot, ea, eb, path, zand(pa, k < a.length), zand(pb, k < b.length))
    elif a is not b and prot.covers(path):
        yield path, a, b, pa, pb
