"""`ecrules fmt`: same meaning, same comments, stable layout."""

from __future__ import annotations

import datetime
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecrules import nodes as n
from ecrules.cli import main
from ecrules.formatter import format_module, format_source, hoist_headers
from ecrules.parser import Lexeme, parse_lossless
from ecrules.semantics import operators as ops
from ecrules.source import Source, Span

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "formatter"
ECP_DIRS = ["policies", "tests/conformance", "tests/fixtures", "benchmarks/reference", "tests/verify"]
ECP_FILES = sorted(p for d in ECP_DIRS for p in (ROOT / d).rglob("*.ecp"))


def _parse(text: str) -> tuple[n.Module, list[str]]:
    parsed = parse_lossless(Source("<test>", text))
    assert parsed.module is not None, [d.render() for d in parsed.diagnostics]
    return parsed.module, [c.text.rstrip() for c in parsed.comments]


# ---- (1) every policy in the repository ------------------------------------------------------


def test_there_are_policies_to_format() -> None:
    assert len(ECP_FILES) >= 20


@pytest.mark.parametrize("path", ECP_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_repository_policies_round_trip(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    before, comments_before = _parse(text)
    out = format_source(text, str(path))
    after, comments_after = _parse(out)
    assert after == hoist_headers(before)
    assert after == before  # the repository writes its headers first
    assert Counter(comments_after) == Counter(comments_before)
    assert format_source(out, str(path)) == out
    assert out.endswith("\n") and not out.endswith("\n\n")


# ---- (2) random expressions ------------------------------------------------------------------

_SRC = Source("<generated>", "")
_SP = Span(_SRC, 1, 1, 1, 1)
_RESERVED = {"and", "or", "not", "in", "has", "like", "where", "true", "false"}

idents = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(lambda s: s not in _RESERVED)
field_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)  # after `.`, any word
tricky_text = st.text(alphabet=st.sampled_from(['\\', '"', "\n", "\t", "*", "#", "a", "M", "L", " ", "é", "\r", "}"]),
                      max_size=8)
strings = st.one_of(tricky_text, st.text(max_size=6), st.sampled_from(["ML\\*", "ML\\\\*", "\\n", "\\x", "\\"]))
decimals = st.builds(lambda sign, i, f: Decimal(f"{sign}{i}.{f}"), st.sampled_from(["", "-"]),
                     st.integers(0, 10**6), st.from_regex(r"[0-9]{1,4}", fullmatch=True))
dates = st.dates(min_value=datetime.date(1, 1, 1), max_value=datetime.date(9999, 12, 31))
literal_values = st.one_of(strings, st.integers(-10**9, 10**12), decimals, dates, st.booleans())

literals = st.builds(lambda v: n.Literal(v, _SP), literal_values)
names = st.builds(lambda s: n.Name(s, _SP), idents)


def _path() -> st.SearchStrategy[n.Expr]:
    def build(head: str, tail: list[str]) -> n.Expr:
        e: n.Expr = n.Name(head, _SP)
        for part in tail:
            e = n.Attr(e, part, _SP)
        return e

    return st.builds(build, idents, st.lists(field_names, max_size=3))


_NUMERIC = (int, Decimal)


def _not_numeric_literal(e: n.Expr) -> bool:
    return not (isinstance(e, n.Literal) and isinstance(e.value, _NUMERIC) and not isinstance(e.value, bool))


def _extend(inner: st.SearchStrategy[n.Expr]) -> st.SearchStrategy[n.Expr]:
    small = st.lists(inner, min_size=0, max_size=3).map(tuple)
    return st.one_of(
        st.builds(lambda o, a: n.Attr(o, a, _SP), inner, field_names),
        st.builds(lambda p: n.Has(p, _SP), _path()),
        st.builds(lambda o: n.Not(o, _SP), inner),
        # every operator of the registry: a new one is formatted and parsed back without a test of its own
        st.builds(lambda op, xs: n.BoolOp(op, tuple(xs), _SP), st.sampled_from(sorted(ops.BOOL_OPS)),
                  st.lists(inner, min_size=2, max_size=4)),
        st.builds(lambda op, a, b: n.Compare(op, a, b, _SP), st.sampled_from(sorted(ops.COMPARE_OPS)), inner, inner),
        st.builds(lambda op, a, b: n.Arith(op, a, b, _SP), st.sampled_from(sorted(ops.ARITH_OPS)), inner, inner),
        st.builds(lambda o: n.Neg(o, _SP), inner.filter(_not_numeric_literal)),
        st.builds(lambda f, args: n.Call(f, args, _SP), idents, small),
        st.builds(lambda k, v, s, w, b: n.Quant(k, v, s, w, b, _SP, _SP),
                  st.sampled_from(sorted(ops.QUANTIFIERS_BY_NAME)), idents, inner,
                  st.none() | inner, st.none() | inner),
        st.builds(lambda xs: n.SetLit(xs, _SP), small),
        st.builds(lambda xs: n.ListLit(xs, _SP), small),
    )


expressions = st.recursive(st.one_of(literals, names, _path()), _extend, max_leaves=24)


def _rule_module(expr: n.Expr) -> n.Module:
    rule = n.Rule("R", "deny", (n.Clause("title", "t", _SP), n.Clause("when", expr, _SP)), _SP, _SP)
    return n.Module((rule,), _SP)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions)
def test_random_expressions_round_trip(expr: n.Expr) -> None:
    module = _rule_module(expr)
    text = format_module(module)
    parsed, _ = _parse(text)
    assert parsed == module, text
    assert format_source(text) == text


def _code(tokens: tuple[Lexeme, ...]) -> list[tuple[str, str]]:
    return [(t.kind, t.text) for t in tokens if t.kind != "COMMENT"]


def _respaced(expr: n.Expr, data: st.DataObject) -> tuple[str, str, list[str]]:
    """A formatted policy, its tokens written again with other white space between them and
    comments slipped in at token boundaries: (canonical text, respaced text, comments in order)."""
    canonical = format_module(_rule_module(expr))
    tokens = parse_lossless(Source("<canonical>", canonical)).tokens
    parts: list[str] = []
    comments: list[str] = []
    for k, tok in enumerate(tokens):
        if k:
            parts.append(data.draw(st.sampled_from([" ", "  ", "\n", "\n    ", " \t"])))
            if data.draw(st.integers(0, 5)) == 0:  # a comment runs to the end of its line
                comments.append(f"# c{len(comments)} {data.draw(st.sampled_from(['', 'and', '}', '# x', '(']))}".rstrip())
                parts.append(comments[-1] + "\n")
        parts.append(tok.text)
    return canonical, "".join(parts) + "\n", comments


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, st.data())
def test_layout_depends_on_the_token_stream_alone(expr: n.Expr, data: st.DataObject) -> None:
    """The formatter works from the parser's token stream: formatting text that differs from a
    formatted policy only in white space and comments gives back the same tokens (white space
    aside), and every comment, in the order it was written."""
    canonical, respaced, comments = _respaced(expr, data)
    out = format_source(respaced)
    kept = parse_lossless(Source("<out>", out))
    assert _code(kept.tokens) == _code(parse_lossless(Source("<canonical>", canonical)).tokens), out
    assert [c.text for c in kept.comments] == comments, out
    if not comments:
        assert out == canonical
    assert format_source(out) == out


def test_the_parser_keeps_every_token_and_comment() -> None:
    """`parse_lossless` is lossless: between its tokens there is only white space, so the source
    can be rebuilt from the tokens and their positions."""
    text = 'rule R deny {  # why\n  when a.b in {"x", 2026-01-01} and not -x > 1.5  # more\n}\n'
    tokens = parse_lossless(Source("<t>", text)).tokens
    lines = text.split("\n")
    rebuilt = [[" "] * len(line) for line in lines]
    for tok in tokens:
        assert tok.line == tok.end_line and lines[tok.line - 1][tok.column - 1:tok.end_column - 1] == tok.text
        rebuilt[tok.line - 1][tok.column - 1:tok.end_column - 1] = list(tok.text)
    assert ["".join(r).rstrip() for r in rebuilt] == [line.rstrip() for line in lines]
    assert [t.text for t in tokens if t.kind == "COMMENT"] == ["# why", "# more"]
    assert [t.kind for t in tokens[:4]] == ["RULE", "NAME", "DENY", "LBRACE"]


def test_comments_keep_their_order_when_they_compete_for_a_line() -> None:
    """`# c7` ends the `when` line; `# c8`, written after it, once went above that line (the two
    crossed). It now goes after `# c7`, above the next line."""
    text = 'rule # c0\n R # c1\n deny # c2\n { # c3\n title # c4\n "t" # c5\n when # c6\n "" # c7\n and # c8\n "" # c9\n }\n'
    assert format_source(text) == (
        'rule R deny {  # c0\n  # c1\n  # c2\n  # c3\n  # c4\n  title "t"  # c5\n  # c6\n'
        '  when ""  # c7\n    # c8\n    and ""  # c9\n}\n')


def test_an_operator_the_registry_lacks_is_refused_not_guessed() -> None:
    """Precedence comes from `semantics.operators`: an operator it does not list is an error, where
    the formatter once gave it `+`'s precedence (and could drop parentheses that mattered)."""
    expr = n.Arith("*", n.Arith("^", n.Name("a", _SP), n.Name("b", _SP), _SP), n.Name("c", _SP), _SP)
    with pytest.raises(KeyError):
        format_module(_rule_module(expr))


def test_tricky_literals() -> None:
    text = 'rule R deny { when a == "ML\\*" or a == "ML\\\\*" or b == 5000.00 or c == -0.50 or d == 250_000 }\n'
    out = format_source(text)
    assert 'a == "ML\\\\*" or a == "ML\\\\*"' in out
    assert "5000.00" in out and "-0.50" in out and "250000" in out
    assert _parse(out)[0] == _parse(text)[0]


def test_parentheses_only_where_they_help() -> None:
    # redundant ones go; `and` inside `or` and a comparison under `not` keep theirs, for the reader
    text = "rule R deny { when ((a and b) or (c)) and not (x in s) and (p - (q - r)) * -(y) > (1 + 2) }\n"
    out = format_source(text)
    assert "when ((a and b) or c) and not (x in s) and (p - (q - r)) * -y > 1 + 2" in out


def test_headers_move_first_in_written_order() -> None:
    text = "schema { record r { a: int } }\ndefault deny\nrule R deny { when a > 1 }\npolicy \"p\"\n"
    out = format_source(text)
    assert out.startswith('default deny\npolicy "p"\nschema {')


def test_long_conditions_break_at_and_or() -> None:
    cond = " and ".join(f"field_{i} > {i}" for i in range(12))
    out = format_source(f"rule R deny {{ when {cond} }}\n")
    lines = out.splitlines()
    assert lines[1] == "  when field_0 > 0"
    assert lines[2] == "    and field_1 > 1"
    assert all(len(line) <= 100 for line in lines)


def test_a_file_that_does_not_parse_is_an_error() -> None:
    from ecrules.diagnostics import PolicyError

    with pytest.raises(PolicyError):
        format_source("rule R deny { when }\n")
    with pytest.raises(PolicyError):  # an impossible date would be rewritten: refuse
        format_source("rule R deny { when d == 2026-02-30 }\n")


# ---- (3) golden files ------------------------------------------------------------------------

GOLDEN_FILES = sorted(GOLDEN.glob("*.ecp"))


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: p.name)
def test_golden(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    expected = path.with_suffix(".formatted").read_text(encoding="utf-8")
    assert format_source(text, path.name) == expected
    assert format_source(expected, path.name) == expected
    assert Counter(_parse(expected)[1]) == Counter(_parse(text)[1])
    assert _parse(expected)[0] == hoist_headers(_parse(text)[0])


def test_golden_files_exist() -> None:
    assert len(GOLDEN_FILES) >= 3


# ---- (4) the command line --------------------------------------------------------------------

MESSY = "rule  R deny{when a>1   # why\n}\n"
CLEAN = "rule R deny {\n  when a > 1  # why\n}\n"


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=input)
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def test_cli_check(tmp_path: Path) -> None:
    messy, clean = tmp_path / "messy.ecp", tmp_path / "clean.ecp"
    messy.write_text(MESSY, encoding="utf-8")
    clean.write_text(CLEAN, encoding="utf-8")
    code, out, _ = run("fmt", "--check", str(clean))
    assert code == 0 and out == ""
    code, out, _ = run("fmt", "--check", str(messy), str(clean))
    assert code == 1 and str(messy) in out and str(clean) not in out
    assert messy.read_text(encoding="utf-8") == MESSY  # --check writes nothing


def test_cli_rewrites_in_place(tmp_path: Path) -> None:
    messy = tmp_path / "messy.ecp"
    messy.write_text(MESSY, encoding="utf-8")
    code, _, err = run("fmt", str(messy))
    assert code == 0 and "reformatted" in err
    assert messy.read_text(encoding="utf-8") == CLEAN
    code, _, err = run("fmt", str(messy))
    assert code == 0 and err == ""


def test_cli_diff(tmp_path: Path) -> None:
    messy = tmp_path / "messy.ecp"
    messy.write_text(MESSY, encoding="utf-8")
    code, out, _ = run("fmt", "--diff", str(messy))
    assert code == 0 and "-rule  R deny{when a>1   # why" in out and "+  when a > 1  # why" in out
    assert messy.read_text(encoding="utf-8") == MESSY


def test_cli_stdin() -> None:
    code, out, _ = run("fmt", "-", input=MESSY)
    assert code == 0 and out == CLEAN
    code, out, _ = run("fmt", "-", input=CLEAN)
    assert code == 0 and out == CLEAN
    code, out, _ = run("fmt", "--check", "-", input=MESSY)
    assert code == 1


def test_cli_syntax_error_leaves_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ecp"
    bad.write_text("rule R deny { when }\n", encoding="utf-8")
    code, _, err = run("fmt", str(bad))
    assert code == 1 and "bad.ecp:1:20: error: unexpected `}`" in err
    assert bad.read_text(encoding="utf-8") == "rule R deny { when }\n"
