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

import datetime
from typing import Any, Callable, Iterator

import attrs

from .. import nodes as n
from .. import types as t
from ..checker import Checked, FieldRef, LetInfo, RuleInfo, VarRef
from ..combine import in_force
from ..interpreter import Env as IEnv
from ..interpreter import Interpreter
from ..policy import Policy
from ..records import RecordError
import z3  # type: ignore[import-untyped]

from .encode import BoundCounter, Bounds, Encoder, Env, Outcome, Unsupported, solve, zand, zbool, znot

Path = tuple[str, ...]


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

    def path_of(x: n.Expr, scope: dict[int, Path]) -> Path | None:
        if isinstance(x, n.Name):
            b = c.bindings.get(id(x))
            if isinstance(b, FieldRef):
                return (x.name,)
            if isinstance(b, VarRef):
                return scope.get(id(b.quant))
            return None
        if isinstance(x, n.Attr):
            head = path_of(x.obj, scope)
            return head + (x.name,) if head is not None else None
        return None

    def walk(x: n.Expr, scope: dict[int, Path]) -> Iterator[tuple[str, Path]]:
        if isinstance(x, (n.Name, n.Attr)):
            p = path_of(x, scope)
            if p is not None:
                yield "value", p
                return
            if isinstance(x, n.Name):
                b = c.bindings.get(id(x))
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
                inner[id(x)] = p
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


def check_rule(policy: Policy, rule: RuleInfo, spec: ProtectSpec, timeout: float = 10.0,
               cap: int = 12) -> RuleResult:
    c = policy.checked
    prot = Protection(c, spec)
    read = protected_reads(c, rule, prot)
    if not read:
        return RuleResult(rule.id, "independent", "reads no protected field")
    names = tuple(".".join(p) for p in read)
    admissible = [b for b in rule.all_bases if b.kind in spec.unless]
    timeless = [b for b in admissible if c.as_of is None or (b.valid_from is None and b.until is None)]
    if timeless:
        b = timeless[0]
        return RuleResult(rule.id, "justified", f"basis {b.kind} \"{b.citation}\" is always in force", fields=names)
    counter = BoundCounter(c)
    for copy in (0, 1):
        counter.add(rule.when, 0, copy)
        for inv in c.invariants:
            counter.add(inv.expr, 1, copy)
    bounds = counter.bounds(cap)
    try:
        enc = Encoder(c, bounds)
        pred = prot.predicate()
        rec_a = enc.record("a")
        rec_b = enc.record("b", share=rec_a, protected=pred)
        env_a, env_b = Env(rec_a), Env(rec_b)
        m_a, m_b = enc.match(rule, env_a), enc.match(rule, env_b)
        as_ofs = [enc.as_of(rec_a)]
        if c.as_of is not None and prot.covers((c.as_of,)):
            as_ofs.append(enc.as_of(rec_b))
        no_basis = zand(*(znot(enc.in_force(b.valid_from, b.until, d)) for b in admissible for d in as_ofs))
        if isinstance(m_a, bool) and isinstance(m_b, bool):
            differ: Any = m_a != m_b
        else:
            differ = z3.Xor(zbool(m_a), zbool(m_b))
        assertions = [enc.valid(rec_a), enc.valid(rec_b), no_basis, differ]
    except Unsupported as exc:
        return RuleResult(rule.id, "unknown", "not encoded", bounds, names, reason=str(exc))
    interp = Interpreter(c)

    def build(model: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        return enc.witness(model, rec_a), enc.witness(model, rec_b)

    def confirm(pair: tuple[dict[str, Any], dict[str, Any]]) -> str | None:
        return confirm_pair(policy, interp, rule, spec, prot, pair)

    out: Outcome = solve(enc, assertions, build, confirm, timeout)
    if out.status == "proved":
        return RuleResult(rule.id, "proved", "no pair of records tells its protected fields apart", bounds, names)
    if out.status == "unknown":
        return RuleResult(rule.id, "unknown", "undecided", bounds, names, reason=out.reason)
    wa, wb = out.witness
    ma, mb = _matches(interp, rule, wa), _matches(interp, rule, wb)
    differ_at = tuple(diff_paths(wa, wb))
    return RuleResult(rule.id, "violated", "depends on a protected field without a basis in force",
                      bounds, differ_at or names, (wa, wb), (bool(ma), bool(mb)))


def _matches(interp: Interpreter, rule: RuleInfo, record: dict[str, Any]) -> bool | None:
    try:
        values = interp.validate(record)
    except RecordError:
        return None
    return interp.matches(rule, IEnv(values))


def confirm_pair(policy: Policy, interp: Interpreter, rule: RuleInfo, spec: ProtectSpec, prot: Protection,
                 pair: tuple[dict[str, Any], dict[str, Any]]) -> str | None:
    """None when the real evaluator confirms the pair; otherwise what is wrong with it."""
    c = policy.checked
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
    if c.as_of is not None:
        for rec in pair:
            day = datetime.date.fromisoformat(rec[c.as_of])
            for b in rule.all_bases:
                if b.kind in spec.unless and in_force(b.valid_from, b.until, day):
                    return f"basis {b.kind} is in force on {day}"
    return None
