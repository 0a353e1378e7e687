"""The language server's answers as pure functions (no server, no pygls): `ecrules.lsp.features`."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrules.checked import COMBINING, INSTRUMENT_KINDS, OUTCOMES, SCOPE_CATEGORIES
from ecrules.formatter import format_source
from ecrules.lsp.analysis import analyze, keywords
from ecrules.types import PRIMITIVES
from ecrules.lsp.features import completion, definition, format_text, hover
from ecrules.lsp.symbols import Symbols

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted((ROOT / "policies").rglob("*.ecp"))

SMALL = '''policy "small"

schema {
  type party {
    name: string
    country: country
  }
  record r {
    id: string
    day: date
    end_user: party
    items: list<item>
  }
  type item {
    code: string
    value: number
  }
}

instrument WA {
  kind REGIME
  citation "Wassenaar Arrangement"
  adopted 1996-07-12
}

const limit = 5000
set embargoed: country = { "KP" basis WA, "SY" }
let big = any(i in items: i.value > limit)

rule R1 deny {
  title "Embargoed end user"
  basis WA
  when end_user.country in embargoed and big
}

rule R2 allow {
  waives R1
  when normalize(end_user.name) == "un"
}
'''


def pos(text: str, needle: str, offset: int = 0) -> tuple[int, int]:
    """1-based (line, column) of `needle` in `text`, plus `offset` characters."""
    at = text.index(needle) + offset
    return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Symbols]:
    path = tmp_path_factory.mktemp("small") / "small.ecp"
    path.write_text(SMALL, encoding="utf-8")
    a = analyze(SMALL, path)
    assert a.checked is not None, [d.render() for d in a.diagnostics]
    return SMALL, Symbols(a)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_name_is_found_where_it_is_written_and_resolves(path: Path) -> None:
    """Spans of names are computed from declaration spans: each must cover exactly the name, and
    every reference to a declared name must lead to a declaration spelled the same."""
    a = analyze(path.read_text(encoding="utf-8"), path)
    assert a.checker is not None
    sy = Symbols(a)
    assert sy.occurrences
    for occ in sy:
        if occ.kind in ("import", "file"):
            assert occ.file is not None and occ.file.is_file(), occ.name
            continue
        assert occ.span.text == occ.name, (occ.kind, occ.name, str(occ.span))
        if occ.kind in ("function", "basis_kind") or (occ.kind == "type" and occ.name in PRIMITIVES):
            continue
        target = sy.declaration_of(occ)
        assert target is not None, f"{occ.span}: `{occ.name}` ({occ.kind}) leads nowhere"
        assert target.text == occ.name, (occ.kind, occ.name, str(target))


def test_hover_on_a_const_a_let_a_variable_and_a_function(small: tuple[str, Symbols]) -> None:
    text, sy = small
    a = sy.analysis
    assert hover(a, *pos(text, "> limit", 3))[0] == "**const** `limit`: `int` = `5000`"  # type: ignore[index]
    assert hover(a, *pos(text, "and big", 5))[0] == "**let** `big`: `bool`"  # type: ignore[index]
    assert hover(a, *pos(text, "i.value", 0))[0] == "**variable** `i` of `any`: `item`"  # type: ignore[index]
    shown = hover(a, *pos(text, "normalize("))
    assert shown is not None and shown[0].startswith("`normalize(s)`")


def test_hover_on_a_set_lists_members_with_their_bases(small: tuple[str, Symbols]) -> None:
    text, sy = small
    shown = hover(sy.analysis, *pos(text, "in embargoed", 4))
    assert shown is not None
    assert "**set** `embargoed`: `country`, 2 members" in shown[0]
    assert '- `"KP"`: `WA` Wassenaar Arrangement' in shown[0]
    assert shown[1].text == "embargoed"


def test_hover_on_a_nested_field_and_a_type(small: tuple[str, Symbols]) -> None:
    text, sy = small
    shown = hover(sy.analysis, *pos(text, "end_user.country in", 10))
    assert shown is not None and shown[0] == "**field** `country` of `party`: `country`"
    shown = hover(sy.analysis, *pos(text, "list<item>", 6))
    assert shown is not None and "type item {\n  code: string\n  value: number\n}" in shown[0]


def test_definitions_in_the_same_file(small: tuple[str, Symbols]) -> None:
    text, sy = small
    a = sy.analysis
    cases = {  # (use, offset into it) -> (declaration, offset of the name in it)
        ("waives R1", 7): ("rule R1", 5),            # a rule named in `waives`
        ("basis WA\n  when", 6): ("instrument WA", 11),  # an instrument cited by a rule
        ("in embargoed", 4): ("set embargoed", 4),
        ("> limit", 3): ("const limit", 6),
        ("i.value", 0): ("any(i", 4),                 # a quantifier variable
        ("end_user.country in", 10): ("    country: country", 4),  # a field of `party`
        ("list<item>", 6): ("type item", 5),
    }
    for (needle, offset), (declared, at) in cases.items():
        target = definition(a, *pos(text, needle, offset))
        assert target is not None and target.path == a.path and target.span is not None, needle
        assert (target.span.line, target.span.column) == pos(text, declared, at), needle


def test_definition_of_a_bundled_instrument_is_in_its_catalogue() -> None:
    path = ROOT / "policies" / "un_arms_embargo.ecp"
    text = path.read_text(encoding="utf-8")
    target = definition(analyze(text, path), *pos(text, "basis UNSCR_1970", 7))
    catalogue = ROOT / "policies" / "instruments" / "unsc.ecp"
    assert target is not None and target.path == catalogue.resolve() and target.span is not None
    assert (target.span.line, target.span.column) == pos(catalogue.read_text(encoding="utf-8"), "instrument UNSCR_1970", 11)


def test_completion_contexts(small: tuple[str, Symbols]) -> None:
    _, sy = small
    a = sy.analysis
    labels = [i.label for i in completion(a, "  when end_user.")]
    assert labels == ["name", "country"]
    assert [i.label for i in completion(a, "  when any(i in items: i.va")] == ["code", "value"]
    assert completion(a, "  when nothing.") == []
    basis = completion(a, "  basis ")
    assert basis[0].label == "WA" and basis[0].detail == "Wassenaar Arrangement"
    assert {i.kind for i in basis} == {"instrument", "keyword"}
    assert [(i.label, i.detail) for i in completion(a, "  waives R2, ")] == [("R1", "deny"), ("R2", "allow")]
    assert [i.label for i in completion(a, "default ")] == list(OUTCOMES)
    assert [i.label for i in completion(a, "rule R3 ")] == list(OUTCOMES)
    assert [i.label for i in completion(a, "  expect d")] == [*OUTCOMES, "error"]
    assert [i.label for i in completion(a, "combine ")] == list(COMBINING)
    assert [i.label for i in completion(a, "  kind ")] == list(INSTRUMENT_KINDS)
    assert [i.label for i in completion(a, "  scope ")] == list(SCOPE_CATEGORIES)
    assert [i.label for i in completion(a, "as_of ")] == ["day"]  # the record's date fields
    everything = {(i.label, i.kind) for i in completion(a, "  when ")}
    assert {("embargoed", "set"), ("limit", "const"), ("big", "let"), ("WA", "instrument"), ("end_user", "field"),
            ("normalize", "function"), ("count", "function"), ("when", "keyword"), ("party", "type")} <= everything


def test_a_type_error_elsewhere_leaves_hover_working(tmp_path: Path) -> None:
    broken = SMALL.replace('== "un"', "== 5")
    path = tmp_path / "p.ecp"
    a = analyze(broken, path)
    assert a.checked is None and a.checker is not None
    assert [d.severity for d in a.diagnostics] == ["error"]
    shown = hover(a, *pos(broken, "in embargoed", 4))
    assert shown is not None and "2 members" in shown[0]


def test_nothing_answers_in_a_document_that_does_not_parse(tmp_path: Path) -> None:
    text = 'policy "p"\nrule R deny {\n'
    a = analyze(text, tmp_path / "p.ecp")
    assert a.module is None and len(a.diagnostics) == 1
    assert hover(a, 2, 6) is None and definition(a, 2, 6) is None
    assert format_text(text, "p.ecp") is None


def test_format_text_is_the_formatter() -> None:
    messy = 'policy   "p"\ncombine   first_match\n'
    assert format_text(messy, "p.ecp") == format_source(messy, "p.ecp") == 'policy "p"\ncombine first_match\n'


def test_keywords_come_from_the_grammar() -> None:
    words = keywords()
    assert {"rule", "when", "basis", "instrument", "deny", "expect", "waives", "invariant"} <= set(words)
    assert "party" not in words and "string" not in words  # names, not keywords


@settings(max_examples=60, deadline=None, database=None)
@given(cut=st.tuples(st.integers(0, len(SMALL)), st.integers(0, 12)), where=st.tuples(st.integers(1, 45), st.integers(1, 60)))
def test_any_edit_and_any_position_gets_an_answer_not_an_exception(cut: tuple[int, int], where: tuple[int, int]) -> None:
    """Typing passes through every broken state: whatever is deleted, the server's functions answer
    (possibly with nothing), and every diagnostic points into the document."""
    start, length = cut
    text = SMALL[:start] + SMALL[start + length:]
    a = analyze(text, ROOT / "tests" / "edited.ecp")
    assert all(d.span is not None and d.span.source.text == text for d in a.diagnostics)
    line, column = where
    hover(a, line, column)
    definition(a, line, column)
    lines = text.split("\n")
    completion(a, lines[line - 1][: column - 1] if line <= len(lines) else "")
