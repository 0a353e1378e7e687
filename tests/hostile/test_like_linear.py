"""`like` matches in time linear in the text (issue 7, item 9).

A glob used to compile to Python's backtracking `re`: `note like "*re-export*KP*"` on a 1 MB
note took 25 s, and `*a*a*a*a*a*a*a*b` against `aaa...` grows with the 8th power of the length.
Nothing here is timed: each case runs in a subprocess under a generous 60 s bound, on an input
for which backtracking would take hours (and a tenth of a second with a linear matcher), and
the decisions are checked exactly. A property test holds the matcher to the reference meaning
of a glob (`pattern_regex` under Python's `re`) on small inputs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrules import values as v

from hostile_util import ecrules

POLICY = """policy "notes" version "1"
schema {
  record order {
    id: string
    note: string
  }
}
rule REEXPORT hold { when note like "*re-export*KP*" }
rule CATASTROPHIC deny { when note like "*a*a*a*a*a*a*a*b" }
rule CLASS deny { when note like "*[a-c]*[a-c]*[a-c]*[!a]" }
"""

#: a note for which backtracking on these patterns never ends, and the decision each gets
N = 200_000
RECORDS = [
    ({"id": "long-a", "note": "a" * N}, []),                     # CLASS needs a last character not `a`
    ({"id": "re-export", "note": "re-export " * (N // 10) + "cab KP"}, ["REEXPORT", "CLASS"]),
    ({"id": "no-kp", "note": "re-export " * (N // 10) + "K P"}, []),
    ({"id": "ab", "note": "a" * N + "b"}, ["CATASTROPHIC", "CLASS"]),
]


def _write(tmp: Path) -> tuple[Path, Path]:
    policy = tmp / "notes.ecp"
    policy.write_text(POLICY, encoding="utf-8")
    data = tmp / "orders.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r, _ in RECORDS), encoding="utf-8")
    return policy, data


@pytest.mark.parametrize("engine", ["row", "columnar"])
def test_like_on_a_catastrophic_input_finishes_with_the_right_decisions(tmp_path: Path, engine: str) -> None:
    """`ecrules eval` on notes of 200,000 characters: seconds, not hours; every rule exact."""
    policy, data = _write(tmp_path)
    run = ecrules("eval", "-q", f"--engine={engine}", str(policy), str(data), timeout=60)
    assert run.code == 0, run.text
    assert "Traceback" not in run.text
    decisions = [json.loads(line) for line in run.out.splitlines()]
    assert [(d["id"], sorted(d["fired"])) for d in decisions] == [(r["id"], sorted(f)) for r, f in RECORDS]


def test_the_interpreter_behind_explain_is_linear_too(tmp_path: Path) -> None:
    """`explain` evaluates with the interpreter: it shares the one glob matcher."""
    script = (
        "import ecrules, sys\n"
        "from ecrules.explain import explain\n"
        f"p = ecrules.loads({POLICY!r})\n"
        f"x = explain(p, {{'id': 'x', 'note': 'a' * {N} + 'b'}})\n"
        "print(sorted(r.rule for r in x.rules if r.matched))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['CATASTROPHIC', 'CLASS']"


def test_engine_choice_is_the_documented_one() -> None:
    """Two or more `*` between literal characters are string searches, with a class they go to
    RE2; one `*` or none stays on `re`, which is linear for them."""
    assert isinstance(v.compile_pattern("*re-export*KP*"), v._Segments)
    assert isinstance(v.compile_pattern("*[ab]*b"), v._Linear)
    assert isinstance(v.compile_pattern("ML*"), re.Pattern)
    assert isinstance(v.compile_pattern("[0-9][A-E]*"), re.Pattern)
    assert isinstance(v.compile_pattern("a**b"), re.Pattern)  # `**` is one `*`


# ---- the same meaning as the reference ---------------------------------------------------

ALPHABET = "ab*\\[]!-\n.é\u2028^$(|"
TEXT = st.text(alphabet="abc*\\[]!-\n.é\u2028^$(|x", max_size=12)


def _reference(s: str, pattern: str) -> bool:
    return re.fullmatch(v.pattern_regex(pattern), s, re.DOTALL) is not None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=10), TEXT)
def test_matcher_means_what_the_reference_regex_means(pattern: str, s: str) -> None:
    """On any valid glob and text, the linear matcher and the backtracking reference agree."""
    try:
        expected = _reference(s, pattern)
    except v.PatternError:
        with pytest.raises(v.PatternError):
            v.compile_pattern(pattern)
        return
    assert v.like(s, pattern) is expected


def test_a_lone_surrogate_is_one_character_and_a_pattern_cannot_hold_one() -> None:
    assert v.like("x\ud800y", "*x*?*") is False  # `?` is literal
    assert v.like("x\ud800y", "*x*y*") is True
    assert v.like("x\ud800y", "*x*[!a]*y") is True
    with pytest.raises(v.PatternError):
        v.compile_pattern("*\ud800*")
