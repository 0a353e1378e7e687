"""Issue 7, "keep it that way": a standing, bounded fuzz test of policies at the token level.

The bundled policies and the conformance policies are cut into tokens, then mutated: tokens
deleted, duplicated, swapped, replaced, and hostile text inserted (quotes, backslashes, newlines,
CR, U+2028, NUL, `\"\"\"`, `#`, a BOM, huge and tiny numbers, deep nesting, imports and list
files out of the tree). Whatever comes out:

- loading either succeeds or raises `PolicyError` whose every diagnostic is at FILE:LINE:COL;
  no other exception;
- a policy that loads also compiled (loading compiles), formats to text that parses to the same
  tree and loads again, and decides records (its own tests' records, the conformance cases, an
  empty record) without an exception, each decision one of the five outcomes;
- the real command line on mutated files prints no traceback and only FILE:LINE:COL diagnostics.

Bounded so that the suite stays fast: 60 examples of the smaller seeds (each load re-reads its
imports). Nesting is inserted under and over the checker's depth limit (`DEEP`, `DEEPER`).
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import ecrules
from ecrules.depth import MAX_DEPTH
from ecrules.diagnostics import PolicyError
from ecrules.formatter import format_source
from ecrules.parser import parse
from ecrules.policytests import run_tests
from ecrules.source import Source, strip_bom

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ["policies/wmd_catch_all.ecp", "policies/denied_parties.ecp", "policies/common/trade.ecp",
         *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "conformance").glob("*/policy.ecp"))]

#: Nesting depths of the inserted deep expressions: under the checker's limit (`depth.MAX_DEPTH`,
#: 100 levels: such a policy must load, compile, format and decide) and well over it (it must be
#: refused with a located diagnostic, never RecursionError or a SyntaxError from compile()).
DEEP, DEEPER = 90, 3 * MAX_DEPTH

HOSTILE = [
    '"', "\\", "\n", "\r", "\r\n", "\u2028", "\u2029", "\x00", '"""', "#", "# comment\n", "\ufeff", "'", "\t",
    "{", "}", "(", ")", "[", "]", ",", ":", "==", "not", "and", "or", "-", "*", ".",
    '"a\\"b\\\\"', '"\\n\\t\\\\"', '"x\x00y"', '"\u2028"', '"#"', '"""x"""', '"é 😀"', "é", "😀",
    "9" * 5000, "1" * 1001, "0." + "0" * 1001 + "1", "1e999", "1_000.000_1", "-" * 50 + "1",
    "2026-02-30", "9999-12-31", "0001-01-01",
    *(nest for depth in (DEEP, DEEPER) for nest in (
        "(" * depth + "1" + ")" * depth, "not " * depth, " + ".join(["1"] * depth), "-" * depth + "1",
        "any(x in items: " * depth + "true" + ")" * depth)),
    '(destination == "KP" and (1 < 2 or ' * 10 + "true" + "))" * 10,
    'import "/etc/passwd"\n', 'import "../x.ecp"\n', 'import "/proc/self/environ"\n',
    'file "/etc/passwd"', 'file "../../x.txt"', 'set s: string = file "/dev/zero"\n',
]
OUTCOMES = {"allow", "license", "hold", "deny", "error"}
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|\d{4}-\d{2}-\d{2}|\d[\d_]*(?:\.\d[\d_]*)?|[A-Za-z_]\w*'
                    r"|\s+|==|!=|<=|>=|.", re.S)
_WHERE = re.compile(r"^(.+):(\d+):(\d+)$")


def tokens(text: str) -> list[str]:
    out = _TOKEN.findall(text)
    assert "".join(out) == text
    return out


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the seeds' folders (with their imports and list files), to write mutants into."""
    top = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(ROOT / "policies", top / "policies")
    shutil.copytree(ROOT / "tests" / "conformance", top / "tests" / "conformance")
    return top


def _records(seed: str) -> list[dict[str, Any]]:
    cases = ROOT / Path(seed).parent / "cases.jsonl"
    records: list[dict[str, Any]] = [{}, {"id": "z", "destination": "KP"}]
    if cases.exists():
        records += [json.loads(line)["record"] for line in cases.read_text(encoding="utf-8").splitlines()[:4]]
    return records


class Choices:
    """Where a mutation's choices come from: Hypothesis (shrinkable) or a seeded `random`."""

    def __init__(self, data: st.DataObject | None = None, rng: random.Random | None = None):
        self.data, self.rng = data, rng

    def integer(self, low: int, high: int) -> int:
        if self.data is not None:
            return self.data.draw(st.integers(low, high))
        assert self.rng is not None
        return self.rng.randint(low, high)

    def pick(self, options: list[Any]) -> Any:
        return options[self.integer(0, len(options) - 1)]


def _mutate(toks: list[str], choose: Choices) -> str:
    toks = list(toks)
    for _ in range(choose.integer(1, 4)):
        solid = [k for k, t in enumerate(toks) if not t.isspace()]
        if not solid:
            break
        k = choose.pick(solid)
        op = choose.pick(["delete", "duplicate", "swap", "insert", "replace"])
        if op == "delete":
            del toks[k]
        elif op == "duplicate":
            toks.insert(k, toks[k])
        elif op == "swap":
            j = choose.pick(solid)
            toks[k], toks[j] = toks[j], toks[k]
        elif op == "insert":
            toks.insert(k, choose.pick(["", " "]) + choose.pick(HOSTILE) + " ")
        else:
            toks[k] = choose.pick(HOSTILE)
    return "".join(toks)


def check_diagnostics(exc: PolicyError) -> None:
    """Every diagnostic is at FILE:LINE:COL, renders so, and at least one is an error."""
    assert any(d.severity == "error" for d in exc.diagnostics)
    for d in exc.diagnostics:
        assert d.span is not None, d.message
        where = _WHERE.match(str(d.span))
        assert where is not None and int(where.group(2)) >= 1 and int(where.group(3)) >= 1, str(d.span)
        assert d.render().startswith(f"{d.span}: {d.severity}: {d.message}")
        assert "Traceback" not in d.render()


def check_loaded(policy: ecrules.Policy, text: str, path: Path, seed: str) -> None:
    """It compiled; it formats to the same tree and loads again; it decides records."""
    assert policy.generated_source
    out = format_source(text, str(path))
    before, _ = parse(Source(str(path), strip_bom(text)))
    after, diags = parse(Source(str(path), out))
    assert after is not None and not diags and after == before
    again = ecrules.loads(out, path=path)
    assert [r.id for r in again.rules] == [r.id for r in policy.rules]
    for record in _records(seed):
        assert policy.evaluate(record).outcome in OUTCOMES
    for result in run_tests(policy):
        assert result.passed in (True, False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_mutated_policies_load_or_give_located_diagnostics(tree: Path, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(SEEDS))
    text = _mutate(tokens((ROOT / seed).read_text(encoding="utf-8")), Choices(data=data))
    path = tree / Path(seed).parent / "fuzz.ecp"
    try:
        policy = ecrules.loads(text, path=path)
    except PolicyError as exc:
        event("refused with diagnostics")
        check_diagnostics(exc)
        return
    event("loads")
    check_loaded(policy, text, path, seed)


def test_the_seeds_load_and_round_trip(tree: Path) -> None:
    """Unmutated, every seed passes every check: the mutations are what the fuzz test varies."""
    for seed in SEEDS:
        text = (ROOT / seed).read_text(encoding="utf-8")
        assert "".join(tokens(text)) == text
        path = tree / Path(seed).parent / "fuzz.ecp"
        check_loaded(ecrules.loads(text, path=path), text, path, seed)


def test_the_command_line_on_mutants_prints_no_traceback(tree: Path) -> None:
    """Ten mutants (a fixed seed) through the real `check`, `fmt --check` and `test`."""
    choose = Choices(rng=random.Random(7))
    written = []
    for k in range(10):
        seed = SEEDS[k % len(SEEDS)]
        text = _mutate(tokens((ROOT / seed).read_text(encoding="utf-8")), choose)
        path = tree / Path(seed).parent / f"cli{k}.ecp"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        written.append(str(path))
    for command in (["check"], ["fmt", "--check"], ["test"]):
        proc = subprocess.run([sys.executable, "-m", "ecrules", *command, *written], capture_output=True,
                              text=True, errors="replace", timeout=600, cwd=tree)
        assert proc.returncode in (0, 1), proc.stderr[-2000:]
        assert "Traceback" not in proc.stdout + proc.stderr
        for line in proc.stderr.splitlines():
            if ": error: " in line or ": warning: " in line:
                head = line.split(": error: ")[0].split(": warning: ")[0]
                assert _WHERE.match(head), line

