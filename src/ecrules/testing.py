"""Hypothesis strategies generated from a policy's schema, for fuzzing policies and engines.

`records(policy)` draws records of the policy's record type, biased toward the values its
conditions test: literals and constants with their neighbours, set members and non-members,
codes that match and nearly match each `like` pattern, and dates around validity bounds. Records
that break a `total == sum(...)` invariant are repaired, elements of a list that break the schema or
an invariant are dropped, and a draw is retried until valid, so most draws reach the rules.

Needs `hypothesis` (a test dependency, not a run-time one).
"""

from __future__ import annotations

import datetime
import random
import string
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from . import nodes as n
from . import types as t
from .checked import Checked, FieldRef
from .countries import COUNTRIES
from .interpreter import Interpreter
from .policy import Policy
from .records import RecordError

_COUNTRY_LIST = sorted(COUNTRIES)
_CHARS = string.ascii_letters + string.digits + " -"


class _Pools:
    """The constants a policy mentions, by kind, with near neighbours."""

    def __init__(self, c: Checked):
        self.strings: set[str] = set()
        self.near: set[str] = set()
        self.numbers: set[Decimal] = set()
        self.ints: set[int] = set()
        self.dates: set[datetime.date] = set()
        self.countries: set[str] = set()
        #: per field name, the strings an invariant on that field accepts (its literals and the
        #: codes its `like` patterns match): a list element whose code must match a pattern is
        #: drawn mostly from these, or nearly every list would hold one invalid element
        self.by_field: dict[str, set[str]] = {}
        for inv in c.invariants:
            self._field_pool(c, inv.expr)
        exprs: list[n.Expr] = [r.when for r in c.rules] + [i.expr for i in c.invariants]
        exprs += [let.expr for let in c.lets.values()]
        for rule in c.rules:
            for d in (rule.effective, rule.expires):
                if d:
                    self._date(d)
            for b in rule.all_bases:
                for d in (b.valid_from, b.until):
                    if d:
                        self._date(d)
        for s in c.sets.values():
            # membership changes on these dates (bases per member): try records on and around them
            for day in s.timeline[0] if c.as_of else ():
                self._date(day)
            members = sorted(s.values, key=str)
            rnd = random.Random(len(members))
            for value in members if len(members) <= 40 else rnd.sample(members, 40):
                self._value(value)
                if isinstance(value, str):
                    self.near.add(value.upper())
        for info in c.screenings.values():   # names on (and near) the screening lists: rules that screen fire
            entries = info.screening_list.entries
            rnd = random.Random(len(entries))
            for e in rnd.sample(list(entries), min(20, len(entries))):
                self.strings.add(e.primary)
                self.near.add(listed_variant(e.primary, rnd))
        for k in c.consts.values():
            self._value(k.value)
        for e in exprs:
            for sub in n.walk(e):
                if isinstance(sub, n.Literal):
                    self._value(sub.value)
        checked = exprs + [con.body.expr for con in c.constraints if isinstance(con.body, n.OutcomeWhen)]
        patterns = [sub.pattern for e in checked for sub in n.walk(e) if isinstance(sub, n.Compare) and sub.pattern]
        for pattern in patterns:
            for p in (pattern,) if isinstance(pattern, str) else pattern:
                hits, misses = pattern_examples(p)
                self.strings.update(hits)
                self.near.update(misses)

    def _field_pool(self, c: Checked, expr: n.Expr) -> None:
        for sub in n.walk(expr):
            if not (isinstance(sub, n.Compare) and isinstance(sub.left, (n.Attr, n.Name))):
                continue
            field = sub.left.name
            if sub.op == "like" and sub.pattern is not None:
                pattern = sub.pattern
                for p in (pattern,) if isinstance(pattern, str) else pattern:
                    self.by_field.setdefault(field, set()).update(pattern_examples(p)[0])
            elif sub.op == "==" and isinstance(sub.right, n.Literal) and isinstance(sub.right.value, str) and sub.right.value:
                self.by_field.setdefault(field, set()).add(sub.right.value)

    def _date(self, d: datetime.date) -> None:
        self.dates.update(d + datetime.timedelta(days=k) for k in (-1, 0, 1))

    def _value(self, v: Any) -> None:
        if isinstance(v, bool):
            return
        if isinstance(v, int):
            self.ints.update((v - 1, v, v + 1))
            self.numbers.update(Decimal(v) + d for d in (Decimal("-0.01"), Decimal(0), Decimal("0.01")))
        elif isinstance(v, Decimal):
            self.numbers.update(v + d for d in (Decimal("-0.01"), Decimal(0), Decimal("0.01")))
        elif isinstance(v, datetime.date):
            self._date(v)
        elif isinstance(v, str):
            self.strings.add(v)
            if v in COUNTRIES:
                self.countries.add(v)


_LEGAL_SWAPS = {"CORPORATION": "Corp.", "COMPANY": "Co.", "LIMITED": "Ltd", "LTD": "Limited", "CO": "Company"}


def listed_variant(name: str, rnd: random.Random) -> str:
    """One realistic variant of a listed name: the kinds of change paperwork shows (case and
    spacing, a legal form abbreviated, family name first, a middle name dropped, one typo)."""
    words = name.split()
    kind = rnd.randrange(6)
    if kind == 0:
        return "  ".join(w.lower() if rnd.random() < 0.5 else w.title() for w in words)
    if kind == 1 and any(w.upper().strip(".,") in _LEGAL_SWAPS for w in words):
        return " ".join(_LEGAL_SWAPS.get(w.upper().strip(".,"), w) for w in words)
    if kind == 2 and len(words) >= 2:
        return f"{words[-1]}, {' '.join(words[:-1])}"
    if kind == 3 and len(words) >= 3:
        return " ".join([words[0]] + words[2:])
    long = [k for k, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if long:
        k = rnd.choice(long)
        w = words[k]
        i = rnd.randrange(1, len(w) - 1)
        words[k] = w[:i] + w[i + 1] + w[i] + w[i + 2:]
        return " ".join(words)
    return name.lower()


def near_listed_names(lst: Any) -> st.SearchStrategy[str]:
    """Names near the entries of a screening list (`ecrules.screening.ScreeningList`): listed
    names and aliases as written, and variants of them, so that screening rules are exercised."""
    names = sorted({n.name for e in lst.entries for n in e.names})

    @st.composite
    def draw(draw: st.DrawFn) -> str:
        name: str = draw(st.sampled_from(names))
        if draw(st.booleans()):
            return name
        return listed_variant(name, random.Random(draw(st.integers(0, 2**16))))

    return draw()


def pattern_examples(pattern: str) -> tuple[list[str], list[str]]:
    """Strings that match a `like` pattern, and near misses (one character off, one too many)."""
    hits: list[str] = []
    for star in ("", "1", "X9"):
        text = []
        i = 0
        while i < len(pattern):
            ch = pattern[i]
            if ch == "*":
                text.append(star)
            elif ch == "\\" and i + 1 < len(pattern):
                i += 1
                text.append(pattern[i])
            elif ch == "[":
                j = pattern.index("]", i + 1) if "]" in pattern[i + 1 :] else len(pattern)
                body = pattern[i + 1 : j]
                text.append("~" if body.startswith("!") else body[:1])
                i = j
            else:
                text.append(ch)
            i += 1
        hits.append("".join(text))
    misses = [m for h in hits for m in (h + "0", h[:-1], "Z" + h[1:]) if m and m not in hits]
    return [h for h in dict.fromkeys(hits) if h], misses


def _field(typ: t.Type, pools: _Pools, name: str) -> st.SearchStrategy[Any]:
    """A struct field: a string field an invariant constrains draws mostly what the invariant accepts."""
    general = _strategy(typ, pools, name)
    accepted = pools.by_field.get(name)
    if typ == t.STRING and accepted:
        return st.one_of(*[st.sampled_from(sorted(accepted))] * 6, general)
    return general


def _strategy(typ: t.Type, pools: _Pools, name: str) -> st.SearchStrategy[Any]:
    if isinstance(typ, t.EnumT):
        return st.sampled_from(typ.members)
    if typ == t.STRING:
        text = st.text(_CHARS, max_size=8)
        options = [st.sampled_from(sorted(pools.strings))] * 4 if pools.strings else []
        options += [st.sampled_from(sorted(pools.near))] if pools.near else []
        return st.one_of(*options, text)
    if typ == t.COUNTRY:
        some = st.sampled_from(_COUNTRY_LIST)
        return st.one_of(st.sampled_from(sorted(pools.countries)), some) if pools.countries else some
    if typ == t.INT:
        ints = st.integers(min_value=-3, max_value=50)
        return st.one_of(st.sampled_from(sorted(pools.ints)), ints) if pools.ints else ints
    if typ == t.NUMBER:
        decimals = st.decimals(min_value=-10, max_value=100_000, places=2, allow_nan=False, allow_infinity=False)
        return st.one_of(st.sampled_from(sorted(pools.numbers)), decimals) if pools.numbers else decimals
    if typ == t.BOOL:
        return st.booleans()
    if typ == t.DATE:
        any_date = st.dates(min_value=datetime.date(1990, 1, 1), max_value=datetime.date(2035, 12, 31))
        dates = st.one_of(st.sampled_from(sorted(pools.dates)), any_date) if pools.dates else any_date
        return dates.map(datetime.date.isoformat)
    if isinstance(typ, t.ListT):
        nonempty = st.lists(_strategy(typ.elem, pools, name), min_size=1, max_size=4)
        return st.one_of(nonempty, nonempty, nonempty, st.just([]))
    if isinstance(typ, t.SetT):
        return st.lists(_strategy(typ.elem, pools, name), max_size=3)
    if isinstance(typ, t.StructT):
        required = {f.name: _field(f.type, pools, f.name) for f in typ.fields.values() if not f.optional}
        optional = {f.name: st.one_of(st.none(), _field(f.type, pools, f.name))
                    for f in typ.fields.values() if f.optional}
        return st.fixed_dictionaries(required, optional=optional)
    return st.nothing()


def _sum_repairs(c: Checked) -> list[tuple[str, str, str]]:
    """Invariants `X == sum(v in L: v.f)` (maybe behind `not has X or`): (X, L, f) to recompute."""
    out = []
    for inv in c.invariants:
        e: n.Expr = inv.expr
        if isinstance(e, n.BoolOp) and e.op == "or" and len(e.operands) == 2 and isinstance(e.operands[0], n.Not):
            e = e.operands[1]
        if not (isinstance(e, n.Compare) and e.op == "=="):
            continue
        left, right = e.left, e.right
        if (isinstance(left, n.Name) and isinstance(left.binding, FieldRef)
                and isinstance(right, n.Quant) and right.kind == "sum" and right.where is None
                and isinstance(right.source, n.Name) and isinstance(right.body, n.Attr)
                and isinstance(right.body.obj, n.Name) and right.body.obj.name == right.var):
            out.append((left.name, right.source.name, right.body.name))
    return out


def _repair(record: dict[str, Any], repairs: list[tuple[str, str, str]]) -> dict[str, Any]:
    for total, items, value in repairs:
        elems = record.get(items)
        if isinstance(elems, list) and all(isinstance(x, dict) and isinstance(x.get(value), (int, Decimal)) for x in elems):
            record[total] = sum((x[value] for x in elems), Decimal(0))
    return record


def records(policy: Policy, attempts: int = 20) -> st.SearchStrategy[dict[str, Any]]:
    """Records of `policy`'s schema, biased toward what its conditions test.

    Most draws are valid (schema and invariants hold): up to `attempts` candidates are drawn and
    the first valid one kept. The rest exercise record errors.
    """
    c = policy.checked
    assert c.record is not None, "the policy has no record"
    pools = _Pools(c)
    base = _strategy(c.record, pools, c.record.name)
    repairs = _sum_repairs(c)
    check = Interpreter(c)

    @st.composite
    def draw_record(draw: st.DrawFn) -> dict[str, Any]:
        candidate: dict[str, Any] = {}
        for _ in range(attempts):
            candidate = _repair(draw(base), repairs)
            for _ in range(6):
                try:
                    check.validate(candidate)
                    return candidate
                except RecordError as exc:
                    # an element of a top-level list breaks the schema or an invariant: drop it
                    parts = exc.parts
                    if len(parts) < 2 or not isinstance(parts[0], str) or not isinstance(parts[1], int):
                        break
                    field, index = parts[0], parts[1]
                    if not isinstance(candidate.get(field), list):
                        break
                    elems = list(candidate[field])
                    del elems[index]
                    candidate = _repair({**candidate, field: elems}, repairs)
        return candidate

    return draw_record()


# ---- constraints: a second, independent checker ----------------------------------------------------


def _protection(policy: Policy, constraint: str | None) -> tuple[Any, Any]:
    from .verify.protect import Protection, ProtectSpec

    c = policy.checked
    for con in c.constraints:
        if isinstance(con.body, n.Protect) and (constraint is None or con.name == constraint):
            spec = ProtectSpec.of(con.body)
            return spec, Protection(c, spec)
    raise ValueError(f"policy {policy.name!r} has no protect constraint" + (f" {constraint!r}" if constraint else ""))


def protected_pairs(policy: Policy, constraint: str | None = None,
                    attempts: int = 10) -> st.SearchStrategy[tuple[dict[str, Any], dict[str, Any]]]:
    """Pairs of valid records equal except in the fields a `protect` constraint covers.

    The first record is drawn by `records(policy)`; the second redraws every protected field (in
    every list element, for paths through lists) from the same biased pools. When no redraw
    gives a valid record, the pair is the record twice.
    """
    c = policy.checked
    assert c.record is not None, "the policy has no record"
    _spec, prot = _protection(policy, constraint)
    pools = _Pools(c)
    check = Interpreter(c)
    base = records(policy)

    def redraw(draw: st.DrawFn, value: Any, typ: t.Type, path: tuple[str, ...]) -> Any:
        if isinstance(typ, t.StructT) and isinstance(value, dict):
            out = dict(value)
            for fname, f in typ.fields.items():
                sub = path + (fname,)
                if prot.covers(sub):
                    fresh = _strategy(f.type, pools, fname)
                    out[fname] = draw(st.one_of(st.none(), fresh) if f.optional else fresh)
                    if out[fname] is None:
                        out.pop(fname)
                elif fname in out and out[fname] is not None:
                    out[fname] = redraw(draw, out[fname], f.type, sub)
            return out
        if isinstance(typ, (t.ListT, t.SetT)) and isinstance(value, list):
            return [redraw(draw, x, typ.elem, path) for x in value]
        return value

    @st.composite
    def draw_pair(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
        first = draw(base)
        assert c.record is not None
        for _ in range(attempts):
            second = redraw(draw, first, c.record, ())
            try:
                check.validate(second)
                return first, second
            except RecordError:
                continue
        return first, first

    return draw_pair()


class ConstraintViolation(AssertionError):
    """A constraint fails on a record (or pair) Hypothesis found; the evaluator confirmed it."""

    def __init__(self, constraint: str, message: str, witness: Any):
        super().__init__(f"constraint {constraint}: {message}\n{witness!r}")
        self.constraint = constraint
        self.witness = witness


def constraint_property(policy: Policy, con: n.Constraint) -> tuple[st.SearchStrategy[Any], Any]:
    """(strategy, check) for one constraint: `check(example)` raises `ConstraintViolation`."""
    from .interpreter import Env

    c = policy.checked
    interp = Interpreter(c)
    body = con.body

    def valid(record: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return interp.validate(record)
        except RecordError:
            return None

    if isinstance(body, n.Protect):
        from .verify.justify import Facts
        from .verify.protect import facts_differ

        spec, prot = _protection(policy, con.name)
        facts = Facts(c, spec.unless)

        def check_pair(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
            a, b = pair
            va, vb = valid(a), valid(b)
            if va is None or vb is None:
                return
            if c.as_of and va[c.as_of] != vb[c.as_of]:
                return
            if facts_differ(c, prot, facts, va, vb) is not None:
                return  # the records differ in a justified fact: rules may tell them apart
            for rule in c.rules:
                try:
                    ma, mb = interp.matches(rule, Env(va)), interp.matches(rule, Env(vb))
                except Exception:  # a fault is not a dependence on the protected field
                    continue
                if ma != mb:
                    raise ConstraintViolation(con.name, f"rule {rule.id} matches one record and not the other", (a, b))

        return protected_pairs(policy, con.name), check_pair

    assert isinstance(body, n.OutcomeWhen)

    def check_record(record: dict[str, Any]) -> None:
        values = valid(record)
        if values is None:
            return
        try:
            holds = interp.eval(body.expr, Env(values))
        except Exception:
            return
        if not holds:
            return
        outcome = policy.evaluate(record).outcome
        if body.quantifier == "never" and outcome == body.outcome:
            raise ConstraintViolation(con.name, f"the record gets {outcome}", record)
        if body.quantifier == "always" and outcome != body.outcome:
            raise ConstraintViolation(con.name, f"the record gets {outcome}, not {body.outcome}", record)

    return records(policy), check_record


def assert_constraints(policy: Policy, max_examples: int = 200, constraints: list[str] | None = None,
                       derandomize: bool = False, shrink: bool = True) -> None:
    """Check every constraint of `policy` on Hypothesis examples; for use inside pytest.

    Raises `ConstraintViolation` (an `AssertionError`) with the shrunk counterexample.
    """
    from hypothesis import HealthCheck, Phase, given, settings

    phases = list(Phase) if shrink else [p for p in Phase if p not in (Phase.shrink, Phase.explain)]

    for con in policy.checked.constraints:
        if constraints is not None and con.name not in constraints:
            continue
        strategy, check = constraint_property(policy, con)

        @settings(max_examples=max_examples, deadline=None, database=None, derandomize=derandomize,
                  suppress_health_check=list(HealthCheck), phases=phases)
        @given(strategy)
        def run(example: Any) -> None:
            check(example)

        run()


def fuzz_report(policy: Policy, report: Any, examples: int) -> None:
    """`ecrules verify --fuzz N`: run each constraint's property and note the result on its verdict.

    A counterexample is a real violation (the evaluator decided it): the verdict becomes `violated`
    whatever the solver said, with a note, since that means the solver missed it.
    """
    for verdict, con in zip(report.verdicts, policy.checked.constraints):
        try:
            assert_constraints(policy, examples, [con.name])
        except ConstraintViolation as exc:
            verdict.fuzz = f"counterexample after at most {examples} examples: {exc}"
            if verdict.status != "violated":
                verdict.reason = ("Hypothesis found a counterexample the solver missed (a verifier bug: please report)"
                                  if verdict.status == "proved" else verdict.reason)
                verdict.status = "violated"
                if not isinstance(exc.witness, tuple):
                    verdict.witness = exc.witness
                    verdict.decision = policy.evaluate(exc.witness).to_dict()
            continue
        verdict.fuzz = f"{examples} Hypothesis examples, no counterexample"


#: strategies and helpers only (`constraint_property` and `fuzz_report` serve `ecrules verify --fuzz`)
__all__ = ["ConstraintViolation", "assert_constraints", "near_listed_names", "pattern_examples", "protected_pairs",
           "records"]
