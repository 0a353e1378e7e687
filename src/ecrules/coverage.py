"""What a policy's own tests exercise (`ecrules test --coverage`).

The tests' records are run through the reference interpreter, whose `decided` and `found` hooks
say which `and`/`or` operand decided each evaluation and which set members were found; which
rules fired, which waivers applied and which instruments were cited come from the decisions
themselves. No second evaluator: coverage is what the interpreter saw.

Items, per policy (docs/cli.md, "Coverage"):

- rule: fired in some test;
- branch: an operand of an `and` (`or`) in a rule's condition, or in a `let` it reads, that some
  test made the deciding one: false (true) while the operands before it were true (false);
- member: a member, written in the policy, of a set a rule reads, that some test found
  (`x in SET`, `x not in SET`, or `any`/`count` over the set holding on it); sets read from a
  file are data and not counted;
- waiver: a `waives B` of rule `A` that applied: some test fired both `A` and `B`;
- instrument: an instrument cited by a rule's or a read set's bases that some decision cited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Iterator

import attrs

from . import nodes as n
from .checked import Checked, LetInfo, Program, SetInfo
from .decision import Decision
from .interpreter import Interpreter, const_eval
from .nodes import given_record
from .source import Span

if TYPE_CHECKING:
    from .policytests import TestResult

#: the categories, in report order, with their names in reports (JSON keys, JUnit properties)
KINDS = {"rule": "rules", "branch": "branches", "member": "members", "waiver": "waivers",
         "instrument": "instruments"}
_LABELS = {"member": "set members"}


@attrs.frozen
class Item:
    """One thing a test can exercise; `tests` names the tests that did."""

    kind: str
    what: str       # what it is, in the policy's words: "rule `KP`", "member `\"KP\"` of set `s`"
    missed: str     # what no test did, for the report: "never fired"
    span: Span
    tests: tuple[str, ...]

    @property
    def covered(self) -> bool:
        return bool(self.tests)

    def render(self) -> str:
        return f"{self.span}: {self.what}: {self.missed}"

    def to_dict(self) -> dict[str, Any]:
        s = self.span
        return {"kind": self.kind, "what": self.what, "missed": self.missed,
                "span": {"file": s.source.name, "line": s.line, "column": s.column,
                         "end_line": s.end_line, "end_column": s.end_column}}


@attrs.frozen
class Ratio:
    covered: int
    total: int

    @property
    def percent(self) -> float | None:
        return 100.0 * self.covered / self.total if self.total else None

    def text(self) -> str:
        p = self.percent
        return "n/a" if p is None else f"{p:.1f}%"

    def to_dict(self) -> dict[str, Any]:
        p = self.percent
        return {"covered": self.covered, "total": self.total, "percent": None if p is None else round(p, 2)}

    def __add__(self, other: Ratio) -> Ratio:
        return Ratio(self.covered + other.covered, self.total + other.total)


@attrs.frozen
class Coverage:
    """Every item of one policy, covered or not."""

    items: tuple[Item, ...]

    def ratio(self, kind: str | None = None) -> Ratio:
        chosen = [i for i in self.items if kind is None or i.kind == kind]
        return Ratio(sum(1 for i in chosen if i.covered), len(chosen))

    @property
    def uncovered(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if not i.covered)

    def to_dict(self) -> dict[str, Any]:
        return {**self.ratio().to_dict(),
                "categories": {KINDS[k]: self.ratio(k).to_dict() for k in KINDS},
                "uncovered": [i.to_dict() for i in self.uncovered]}

    def render(self, name: str) -> str:
        total = self.ratio()
        lines = [f"coverage of {name}: {total.text()} ({total.covered} of {total.total})"]
        for kind, noun in KINDS.items():
            r = self.ratio(kind)
            lines.append(f"  {_LABELS.get(kind, noun):<12} {r.text():>6}  ({r.covered} of {r.total})")
        lines += [i.render() for i in self.uncovered]
        return "\n".join(lines)


class _Watching(Interpreter):
    """The reference interpreter, noting which operands decided and which members were found."""

    def __init__(self, checked: Checked):
        super().__init__(checked)
        self.test = ""
        self.decisions: dict[tuple[int, int], list[str]] = {}
        self.members: dict[tuple[str, Any], list[str]] = {}

    def decided(self, e: n.BoolOp, k: int) -> None:
        self.decisions.setdefault((id(e), k), []).append(self.test)

    def found(self, source: n.Expr, value: Any) -> None:
        b = source.binding if isinstance(source, n.Name) else None
        if isinstance(b, SetInfo):
            try:
                self.members.setdefault((b.name, value), []).append(self.test)
            except TypeError:  # an unhashable value is no member
                pass


def measure(policy: Program, results: list[TestResult], only: Iterable[int] | None = None) -> Coverage:
    """Run the policy's tests through the watching interpreter and list every item.

    `results` are the tests' results (in the policy's order); `only` counts just
    the tests at these positions (the items stay those of the whole policy).
    """
    c = policy.checked
    pairs = list(zip(c.tests, results))
    if only is not None:
        pairs = [pairs[k] for k in sorted(set(only))]
    results = [r for _, r in pairs]
    watch = _Watching(c)
    for test, result in pairs:
        watch.test = test.name
        try:
            watch.decide(given_record(test.given))
        except Exception:  # the compiled decision is the test's verdict; a fault here just covers less
            pass
    decisions = [(r.name, r.decision) for r in results]
    items: list[Item] = []
    items += _rules(c, decisions)
    items += _branches(c, watch.decisions)
    items += _members(c, watch.members)
    items += _waivers(c, decisions)
    items += _instruments(c, decisions)
    return Coverage(tuple(items))


def _tests(decisions: list[tuple[str, Decision]], holds: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for name, d in decisions if holds(d)))


def _rules(c: Checked, decisions: list[tuple[str, Decision]]) -> Iterator[Item]:
    for r in c.rules:
        yield Item("rule", f"rule `{r.id}`", "never fired", r.span, _tests(decisions, lambda d: r.id in d.fired))


def _reachable(c: Checked) -> list[tuple[str, n.Expr]]:
    """Each rule's condition, then each `let` the conditions read (directly or through lets)."""
    out: list[tuple[str, n.Expr]] = [(f"rule `{r.id}`", r.when) for r in c.rules]
    seen: set[str] = set()
    k = 0
    while k < len(out):
        for e in n.walk(out[k][1]):
            b = e.binding if isinstance(e, n.Name) else None
            if isinstance(b, LetInfo) and b.name not in seen:
                seen.add(b.name)
                out.append((f"let `{b.name}`", b.expr))
        k += 1
    return out


def _branches(c: Checked, decided: dict[tuple[int, int], list[str]]) -> Iterator[Item]:
    for owner, expr in _reachable(c):
        for e in n.walk(expr):
            if not isinstance(e, n.BoolOp):
                continue
            deciding = "false" if e.op == "and" else "true"
            other = "true" if e.op == "and" else "false"
            for k, operand in enumerate(e.operands):
                missed = f"no test made it {deciding}" + (f" with the operands before it {other}" if k else "")
                yield Item("branch", f"`{_short(operand.span.text)}` in {owner}", missed, operand.span,
                           tuple(dict.fromkeys(decided.get((id(e), k), ()))))


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _set_decls(c: Checked) -> dict[str, n.SetDecl]:
    return {d.name: d for m in (c.module, *c.imports) for d in m.decls if isinstance(d, n.SetDecl)}


def _read_sets(c: Checked) -> list[SetInfo]:
    names: dict[str, SetInfo] = {}
    for _, expr in _reachable(c):
        for e in n.walk(expr):
            b = e.binding if isinstance(e, n.Name) else None
            if isinstance(b, SetInfo):
                names.setdefault(b.name, b)
    return list(names.values())


def _members(c: Checked, found: dict[tuple[str, Any], list[str]]) -> Iterator[Item]:
    decls = _set_decls(c)
    for info in _read_sets(c):
        decl = decls.get(info.name)
        if decl is None or not isinstance(decl.source, n.SetLit):
            continue  # a set read from a file is data, not policy: its members are not counted
        for element in decl.source.elements:
            try:
                value = const_eval(element, lambda x: c.consts.get(x.name))  # a member is a constant
            except Exception:
                continue
            tests = tuple(dict.fromkeys(found.get((info.name, value), ())))
            yield Item("member", f"member `{_short(element.span.text)}` of set `{info.name}`", "never found",
                       element.span, tests)


def _waivers(c: Checked, decisions: list[tuple[str, Decision]]) -> Iterator[Item]:
    rules = {d.id: d for d in c.module.decls if isinstance(d, n.Rule)}
    for r in c.rules:
        decl = rules.get(r.id)
        refs = [ref for cl in decl.clauses if cl.kind == "waives" and isinstance(cl.value, tuple)
                for ref in cl.value if isinstance(ref, n.Ref)] if decl is not None else []
        for ref in refs:
            def holds(d: Decision, a: str = r.id, b: str = ref.name) -> bool:
                return a in d.fired and b in d.fired
            yield Item("waiver", f"`{r.id} waives {ref.name}`", "never applied (no test fired both rules)", ref.span,
                       _tests(decisions, holds))


def _instruments(c: Checked, decisions: list[tuple[str, Decision]]) -> Iterator[Item]:
    first: dict[str, Span] = {}
    bases = [b for r in c.rules for b in r.bases]
    for info in _read_sets(c):
        bases += list(info.bases) + [b for bs in info.member_bases.values() for b in bs]
    for b in bases:
        if b.instrument is not None:
            first.setdefault(b.instrument.id, b.span)
    for iid, span in first.items():
        yield Item("instrument", f"instrument `{iid}`", "never cited by a decision", span,
                   _tests(decisions, lambda d: any(ref.instrument == iid for ref in d.basis)))


__all__ = ["KINDS", "Coverage", "Item", "Ratio", "measure"]
