"""Deep policies: whatever `check` accepts compiles, formats and evaluates (issue 7, item 11).

200 nested `not`, a 250-term `+` chain, nested `and`/`or`, 250 nested quantifiers, 1,000
chained lets, 3,000 nested types and 10,000 unary minus used to pass the checker and crash in
`compile()` ("too many nested parentheses", MemoryError) or with a RecursionError. Nesting is
now limited (`ecrules.depth.MAX_DEPTH`, docs/security.md). For each shape the test finds the
deepest policy `check` accepts and holds the invariant on it: it checks, formats (and the
formatted text means the same), passes its own `test` block, evaluates on both engines and is
explained. One level deeper is refused by `check` and `fmt`: a `FILE:LINE:COL` diagnostic,
exit 1, no traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest

import ecrules
from ecrules.depth import MAX_DEPTH
from ecrules.explain import explain
from ecrules.formatter import format_source

from hostile_util import ecrules as run_cli

HEAD = """policy "deep" version "1"
schema {
  record t {
    id: string
    x: number
    b: bool
    items: list<number>
    deep: T0?
    grid: GRID?
  }
"""
RECORD = {"id": "r1", "x": 1, "b": True, "items": [1]}
GIVEN = 'given { id: "r1", x: 1, b: true, items: [1] }'


def _policy(when: str, decls: str = "", types: str = "type T0 { v: number }\n",
            grid: str = "list<number>", outcome: str = "deny") -> str:
    return (HEAD + "  " + types.replace("\n", "\n  ").rstrip() + f"\n  type GRID {{ g: {grid} }}\n}}\n"
            + decls + f"rule R deny {{ when {when} }}\n"
            + f'test "the rule decides" {{ {GIVEN} expect {outcome} }}\n')


def _types(k: int) -> str:
    return "".join(f"type T{j} {{ f: T{j + 1}? }}\n" for j in range(k - 1)) + f"type T{k - 1} {{ v: number }}\n"


#: each shape: k nested constructs -> policy text (its `test` block holds the expected outcome)
SHAPES: dict[str, Callable[[int], str]] = {
    "not": lambda k: _policy("not " * k + "b", outcome="deny" if k % 2 == 0 else "allow"),
    "plus": lambda k: _policy(" + ".join(["x"] * k) + f" == {k}"),
    "and-or": lambda k: _policy("b and (b or (" * k + "b" + "))" * k),
    "quantifiers": lambda k: _policy("".join(f"any(i{j} in items: " for j in range(k)) + "b" + ")" * k),
    "lets": lambda k: _policy(f"l{k - 1} == {k}", "let l0 = x\n" + "".join(
        f"let l{j} = l{j - 1} + 1\n" for j in range(1, k))),
    "types": lambda k: _policy("x == 1", types=_types(k)),
    "list-types": lambda k: _policy("x == 1", grid="list<" * k + "number" + ">" * k),
    "unary-minus": lambda k: _policy("- " * k + f"x == {(-1) ** k}"),
}


def _accepted(text: str) -> bool:
    try:
        ecrules.loads(text)
    except ecrules.PolicyError as exc:
        assert any("levels deep" in d.message for d in exc.diagnostics), exc.diagnostics
        return False
    return True


def _deepest(shape: Callable[[int], str]) -> int:
    """The largest k the checker accepts (acceptance is monotone in k)."""
    lo, hi = 1, 2 * MAX_DEPTH + 2
    assert _accepted(shape(lo)) and not _accepted(shape(hi))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if _accepted(shape(mid)) else (lo, mid)
    return lo


@pytest.mark.parametrize("name", list(SHAPES))
def test_deepest_accepted_policy_works_and_one_more_level_is_a_diagnostic(name: str, tmp_path: Path) -> None:
    shape = SHAPES[name]
    k = _deepest(shape)
    # the limit is not so low that a real policy would meet it: every shape nests 30 or more
    assert k >= 30, k
    text = shape(k)
    path = tmp_path / "deep.ecp"
    path.write_text(text, encoding="utf-8")
    # check, the policy's own test block, and the formatter (its output means the same)
    assert run_cli("check", str(path)).code == 0
    tested = run_cli("test", str(path))
    assert tested.code == 0 and "Traceback" not in tested.text, tested.text
    formatted = format_source(text, str(path))
    assert format_source(formatted, str(path)) == formatted
    # evaluate on both engines and explain, on the original and the formatted text
    for source in (text, formatted):
        policy = ecrules.loads(source)
        expected = policy.evaluate(RECORD)
        assert expected.outcome == ("allow" if name == "not" and k % 2 else "deny")
        assert explain(policy, RECORD).decision.outcome == expected.outcome
        try:
            table = policy.evaluate_table(_table(tmp_path))
        except ecrules.columnar.Unsupported:
            continue  # the row engine decides; the columnar one says it cannot, cleanly
        assert table.column("outcome").to_pylist() == [expected.outcome]
    # one level deeper: refused by check and fmt at FILE:LINE:COL, exit 1, no traceback
    path.write_text(shape(k + 1), encoding="utf-8")
    for command in ("check", "fmt"):
        refused = run_cli(command, str(path))
        assert refused.code == 1, refused.text
        assert "Traceback" not in refused.text
        lines = [line for line in refused.text.splitlines() if "levels deep" in line]
        assert lines and lines[0].startswith(f"{path}:"), refused.text
        assert lines[0].split(":")[1].isdigit() and lines[0].split(":")[2].isdigit()


def _table(tmp: Path) -> Path:
    data = tmp / "one.jsonl"
    data.write_text(json.dumps(RECORD) + "\n", encoding="utf-8")
    return data


@pytest.mark.parametrize("name,k", [("not", 200), ("plus", 250), ("and-or", 100), ("quantifiers", 250),
                                    ("lets", 1000), ("types", 3000), ("unary-minus", 10_000)])
def test_the_reported_reproducers_are_diagnostics(name: str, k: int) -> None:
    """The sizes of the issue: each a diagnostic naming the limit, never a crash."""
    with pytest.raises(ecrules.PolicyError) as info:
        ecrules.loads(SHAPES[name](k), path="deep.ecp")
    [diag] = info.value.diagnostics
    assert f"more than {MAX_DEPTH} levels deep" in diag.message
    assert diag.location.startswith("deep.ecp:") and diag.location.count(":") >= 2


def test_parentheses_alone_do_not_nest() -> None:
    """10,000 nested parentheses parse (the LALR parser does not recurse), check and format."""
    text = _policy("(" * 10_000 + "b" + ")" * 10_000)
    policy = ecrules.loads(text)
    assert policy.evaluate(RECORD).outcome == "deny"
    assert ecrules.loads(format_source(text)).evaluate(RECORD).outcome == "deny"


def test_columnar_engine_leaves_deeply_nested_quantifiers_to_the_row_engine(tmp_path: Path) -> None:
    """DuckDB binds nested list lambdas in memory doubling with each level: past
    `QUANT_NESTING_LIMIT` the columnar engine says it cannot, and `eval` decides on rows."""
    from ecrules.columnar.sqlexpr import QUANT_NESTING_LIMIT

    at_limit = ecrules.loads(SHAPES["quantifiers"](QUANT_NESTING_LIMIT))
    assert at_limit.evaluate_table(_table(tmp_path)).column("outcome").to_pylist() == ["deny"]
    deeper = ecrules.loads(SHAPES["quantifiers"](QUANT_NESTING_LIMIT + 1))
    with pytest.raises(ecrules.columnar.Unsupported):
        deeper.evaluate_table(_table(tmp_path))
    path = tmp_path / "deep.ecp"
    path.write_text(SHAPES["quantifiers"](QUANT_NESTING_LIMIT + 1), encoding="utf-8")
    run = run_cli("eval", "-q", "--engine=auto", str(path), str(_table(tmp_path)))
    assert run.code == 0 and [json.loads(line)["outcome"] for line in run.out.splitlines()] == ["deny"]


def test_verify_holds_its_deadline_on_quantifiers_nested_to_the_limit(tmp_path: Path) -> None:
    """Nested quantifiers multiply verify's witness counts: 40 levels made integers so large that
    the run never reached a deadline check. The counts saturate now; the deadline holds."""
    k = _deepest(SHAPES["quantifiers"])
    path = tmp_path / "deep.ecp"
    path.write_text(SHAPES["quantifiers"](k) + "constraint c {\n  never deny when x < 0\n}\n", encoding="utf-8")
    run = run_cli("verify", "--deadline", "2", str(path), timeout=60)
    assert run.code in (1, 2), run.text  # violated, or unknown (deadline): either is an answer
    assert "Traceback" not in run.text
