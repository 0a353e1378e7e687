"""Every construct of the language x every back-end: rendered, or refused explicitly.

The registry (`ecrules.semantics.operators`) says, for each operator, function and quantifier,
whether each back-end renders it or refuses it. This test holds every back-end to that claim on
a policy using the construct: the row engine and the interpreter decide records alike; DuckDB
runs the query and decides them alike too, or raises `Unsupported` naming the construct's span;
Spark SQL is built or refused the same way; z3 encodes the condition or raises `Unsupported`.
A new entry in the registry gets its sample policy from its node kind and type rule, so the test
fails until every back-end renders the new construct or refuses it. The support table of
docs/reference.md is generated from the same registry, and checked against it here.
"""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path
from typing import Any

import pytest

import ecrules
from ecrules import nodes as n
from ecrules.interpreter import Interpreter
from ecrules.semantics import operators as ops

ROOT = Path(__file__).resolve().parent.parent

HEADER = """policy "coverage"
combine deny_overrides
default allow

schema {
  type party {
    name: string
  }
  record order {
    id: string
    n: number
    i: int
    s: string
    d: date
    e: date
    b: bool
    xs: list<string>
    ns: list<number>
    o: string?
    p: party
  }
}

screening un = file "un.jsonl" format jsonl
"""

SCREENING_LIST = '{"ref": "X1", "type": "entity", "names": ["Acme Export Ltd"]}\n'

RECORDS = [
    {"id": "r1", "n": 7.5, "i": -7, "s": "ab", "d": "2026-01-01", "e": "2026-03-01", "b": True,
     "xs": ["a", "b"], "ns": [1.5, 2], "o": "x", "p": {"name": "Acme Export Ltd"}},
    {"id": "r2", "n": -3, "i": 4, "s": "x", "d": "2026-05-01", "e": "2026-01-01", "b": False,
     "xs": [], "ns": [], "p": {"name": "Nobody"}},
]


def _operand(kind: str) -> str:
    return {"text": "s", "date": "d", "collection": "xs"}[kind]


def _as_condition(expr: str, result: object) -> str:
    from ecrules import types as t

    if result == t.BOOL:
        return expr
    if result in (t.INT, t.NUMBER):
        return f"{expr} > 1"
    return f'{expr} == "x"'


def sample(c: ops.Operator | ops.Function | ops.Quantifier) -> str:
    """A rule condition that uses `c` once, built from its node kind and type rule."""
    if isinstance(c, ops.Quantifier):
        return {"any": 'any(x in xs: x == "a")', "all": 'all(x in xs: x == "a")',
                "count": "count(x in xs) > 1", "sum": "sum(v in ns: v) > 1"}[c.name]
    if isinstance(c, ops.Function):
        if c.params is None:  # reads a screening list
            return _as_condition(f"{c.name}(p.name, un)", c.result)
        return _as_condition(f"{c.name}({', '.join(_operand(k) for k in c.params)})", c.result)
    if c.node == "BoolOp":
        return f'b {c.token} s == "x"'
    if c.node == "Not":
        return f"{c.token} b"
    if c.node == "Neg":
        return f"{c.token}n > 1"
    if c.node == "Arith":
        return f"n {c.token} 2 > 1"
    return {"equality": f'n {c.token} 7.5', "order": f"n {c.token} 5", "membership": f's {c.token} {{"a", "ab"}}',
            "pattern": f's {c.token} "a*"'}[c.rule]


#: the expression node kinds that are not operators, functions or quantifiers, with a condition
#: that uses each (a record literal appears only after `given` in a test: no back-end reads it)
NODE_SAMPLES: dict[type, str] = {
    n.Literal: "b == true",
    n.Name: "b",
    n.Attr: 'p.name == "x"',
    n.Has: 'has o and o == "x"',
    n.SetLit: 's in {"a"}',
    n.ListLit: 's in ["a"]',
}
REGISTRY_NODES = {n.BoolOp, n.Not, n.Compare, n.Arith, n.Neg, n.Call, n.Quant}


def _cases() -> list[tuple[str, str, Any]]:
    out: list[tuple[str, str, Any]] = [(ops.label(c), sample(c), c) for c in ops.constructs()]
    out += [(kind.__name__, text, None) for kind, text in NODE_SAMPLES.items()]
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("coverage")
    (root / "un.jsonl").write_text(SCREENING_LIST, encoding="utf-8")
    return root


def _load(folder: Path, condition: str, name: str) -> ecrules.Policy:
    path = folder / f"{re.sub(r'[^a-z0-9]+', '_', name.lower()) or 'op'}.ecp"
    path.write_text(HEADER + f"\nrule R deny {{\n  when {condition}\n}}\n", encoding="utf-8")
    return ecrules.load(path)


def _outcomes(decisions: Any) -> list[tuple[str, tuple[str, ...]]]:
    return [(d.outcome, tuple(d.fired)) for d in decisions]


def test_every_node_kind_is_covered() -> None:
    kinds = set(typing.get_args(n.Expr))
    assert kinds == set(NODE_SAMPLES) | REGISTRY_NODES | {n.RecordLit}, \
        "a new expression node kind: give it a sample here and a rendering in every back-end"


def test_the_registry_names_every_token_the_grammar_spells() -> None:
    """The grammar's operator rules and the registry list the same tokens."""
    grammar = (ROOT / "grammar" / "ecp.lark").read_text(encoding="utf-8")

    def tokens(rule: str) -> set[str]:
        body = re.search(rf"^!{rule}: (.*)$", grammar, re.M)
        assert body is not None, rule
        return {" ".join(re.findall(r'"([^"]+)"', alt)) for alt in body.group(1).split("|")}

    assert tokens("comp_op") == set(ops.COMPARE_OPS)
    assert tokens("add_op") | tokens("mul_op") == set(ops.ARITH_OPS)
    for token in tokens("add_op"):
        assert ops.ARITH_OPS[token].precedence == ops.ADD
    for token in tokens("mul_op"):
        assert ops.ARITH_OPS[token].precedence == ops.MUL


@pytest.mark.parametrize(("name", "condition", "construct"), CASES, ids=[c[0] for c in CASES])
def test_row_engine_and_interpreter_decide_alike(folder: Path, name: str, condition: str, construct: Any) -> None:
    for engine in (ops.ROW, ops.INTERPRETER):
        if construct is not None:
            assert not isinstance(construct.rendering(engine), ops.Refused), f"{engine} must run {name}"
    policy = _load(folder, condition, name)
    row = [policy.evaluate(r) for r in RECORDS]
    assert all(d.outcome != "error" for d in row), [d.error for d in row]
    ref = Interpreter(policy.checked)
    assert _outcomes(row) == _outcomes(ref.decide(r, k + 1) for k, r in enumerate(RECORDS))


def _expect(construct: Any, engine: str) -> bool:
    """Whether the registry says `engine` renders `construct` (plain nodes: every engine does)."""
    return construct is None or not isinstance(construct.rendering(engine), ops.Refused)


@pytest.mark.parametrize(("name", "condition", "construct"), CASES, ids=[c[0] for c in CASES])
def test_duckdb_decides_alike_or_refuses_with_the_span(folder: Path, name: str, condition: str,
                                                        construct: Any) -> None:
    pytest.importorskip("duckdb")
    from ecrules.columnar.engine import ColumnarEngine

    policy = _load(folder, condition, name)
    if not _expect(construct, ops.DUCKDB):
        with pytest.raises(ops.Unsupported) as exc:
            ColumnarEngine(policy)
        assert exc.value.where is not None and ".ecp:" in exc.value.where
        assert isinstance(construct.rendering(ops.DUCKDB), ops.Refused)
        assert construct.rendering(ops.DUCKDB).reason in str(exc.value)
        return
    engine = ColumnarEngine(policy)
    got = [chunk.decisions[k] for chunk in engine.run_rows(json.loads(json.dumps(RECORDS))) for k in chunk.index]
    assert _outcomes(got) == _outcomes(policy.evaluate(r) for r in RECORDS)


@pytest.mark.parametrize(("name", "condition", "construct"), CASES, ids=[c[0] for c in CASES])
def test_spark_sql_is_built_or_refused_with_the_span(folder: Path, name: str, condition: str, construct: Any) -> None:
    from ecrules.columnar.sqlgen import compile_query

    policy = _load(folder, condition, name)
    if not _expect(construct, ops.SPARK):
        with pytest.raises(ops.Unsupported) as exc:
            compile_query(policy.checked, "spark")
        assert exc.value.where is not None and ".ecp:" in exc.value.where
        return
    query = compile_query(policy.checked, "spark")
    assert query.sql


@pytest.mark.parametrize(("name", "condition", "construct"), CASES, ids=[c[0] for c in CASES])
def test_z3_encodes_or_refuses(folder: Path, name: str, condition: str, construct: Any) -> None:
    from ecrules.verify.bounds import BoundCounter
    from ecrules.verify.encode import Encoder, Env

    policy = _load(folder, condition, name)
    c = policy.checked
    counter = BoundCounter(c)
    counter.add(c.rules[0].when, 0)
    enc = Encoder(c, counter.bounds())
    env = Env(enc.record("r"))
    if not _expect(construct, ops.Z3):
        with pytest.raises(ops.Unsupported):
            enc.expr(c.rules[0].when, env)
        return
    assert enc.expr(c.rules[0].when, env) is not None


def test_the_engine_pages_point_to_the_support_table() -> None:
    for page in ("columnar.md", "spark.md"):
        assert "reference.md#what-each-engine-runs" in (ROOT / "docs" / page).read_text(encoding="utf-8"), page


def test_the_support_table_in_the_reference_is_the_registry() -> None:
    page = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    table = page.split("## What each engine runs", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| construct")]
    assert len(rows) == len(ops.constructs())
    for c, row in zip(ops.constructs(), rows):
        cells = [x.strip() for x in row.strip("|").split(" | ")]
        assert cells[0] == ops.label(c)
        for engine, cell in zip(ops.BACKENDS, cells[1:]):
            r = c.rendering(engine)
            want = f"no: {r.reason}" if isinstance(r, ops.Refused) else \
                f"yes, {c.limits[engine]}" if engine in c.limits else "yes"
            assert cell == want, (cells[0], engine)
            assert engine not in c.limits or not isinstance(r, ops.Refused)
