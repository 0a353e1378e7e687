"""editors/: the TextMate grammar agrees with grammar/ecp.lark, and the VS Code extension is whole."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ecrules.checked import FUNCTIONS, QUANTIFIERS
from ecrules.semantics.operators import OPERATORS
from ecrules.types import PRIMITIVES

ROOT = Path(__file__).resolve().parents[1]
VSCODE = ROOT / "editors" / "vscode"
TM = VSCODE / "syntaxes" / "ecp.tmLanguage.json"

#: scopes a theme needs to colour a policy: comments, strings, numbers and dates, the kinds of keyword
NEEDED_SCOPES = {
    "comment.line.number-sign.ecp", "string.quoted.double.ecp", "constant.character.escape.ecp",
    "constant.numeric.ecp", "constant.numeric.date.ecp", "keyword.other.declaration.ecp",
    "keyword.control.ecp", "keyword.operator.word.ecp", "keyword.operator.ecp",
    "constant.language.outcome.ecp", "constant.language.boolean.ecp", "storage.type.ecp",
    "support.type.primitive.ecp", "support.function.builtin.ecp", "entity.name.type.ecp",
    "entity.name.function.rule.ecp",
}


def lark_keywords() -> set[str]:
    """Every word the Lark grammar spells out in quotes, its `//` comments aside."""
    text = (ROOT / "grammar" / "ecp.lark").read_text(encoding="utf-8")
    text = re.sub(r"(?m)(^|\s)//.*$", "", text)
    return set(re.findall(r'"([a-z_]+)"', text))


@pytest.fixture(scope="module")
def grammar() -> dict[str, Any]:
    return json.loads(TM.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def scopes(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("name"), str):
            found.add(node["name"])
        for value in node.values():
            found |= scopes(value)
    elif isinstance(node, list):
        for value in node:
            found |= scopes(value)
    return found


def words(pattern: str) -> list[str]:
    """The alternatives of a pattern's first `(?:a|b|c)` or `(a|b|c)` group of plain words."""
    m = re.search(r"\((?:\?:)?([a-z_]+(?:\|[a-z_]+)+)\)", pattern)
    assert m, pattern
    return m.group(1).split("|")


def test_the_grammar_is_json_with_the_scopes_a_theme_needs(grammar: dict[str, Any]) -> None:
    assert grammar["scopeName"] == "source.ecp" and "ecp" in grammar["fileTypes"]
    assert NEEDED_SCOPES <= scopes(grammar), NEEDED_SCOPES - scopes(grammar)
    repo = grammar["repository"]
    included = {p["include"].lstrip("#") for p in grammar["patterns"]}
    assert included == set(repo), "every repository entry is used, and every include exists"


def test_its_keywords_are_the_lark_grammars(grammar: dict[str, Any]) -> None:
    groups = {k: words(v["match"]) for k, v in grammar["repository"].items() if k.startswith("keywords-")}
    listed = [w for ws in groups.values() for w in ws]
    assert len(listed) == len(set(listed)), "a keyword in two groups"
    assert set(listed) == lark_keywords()
    assert len(lark_keywords()) > 50  # the derivation found the grammar's keywords, not nothing


def test_builtins_and_primitive_types_are_the_checkers(grammar: dict[str, Any]) -> None:
    repo = grammar["repository"]
    assert set(words(repo["builtin-function"]["match"])) == set(FUNCTIONS) | set(QUANTIFIERS)
    assert set(words(repo["primitive-type"]["match"])) == set(PRIMITIVES)


def test_every_symbolic_operator_of_the_registry_is_coloured(grammar: dict[str, Any]) -> None:
    """A new operator (`%`) is an entry in the registry; the editor must colour it too."""
    symbol = re.compile(grammar["repository"]["operator"]["match"])
    tokens = {o.token for o in OPERATORS if not o.token.replace(" ", "").isalpha()}
    assert "%" in tokens and "==" in tokens
    for token in tokens:
        assert symbol.fullmatch(token), token


def test_the_patterns_compile_and_leave_field_names_alone(grammar: dict[str, Any]) -> None:
    """The patterns use the subset Oniguruma and Python's `re` share, so `re` can try them."""
    repo = grammar["repository"]
    for key, rule in repo.items():
        for field in ("match", "begin", "end"):
            if field in rule:
                re.compile(rule[field])
    clause = re.compile(repo["keywords-clause"]["match"])
    assert clause.search("  when x > 1") and clause.search("  basis UNSCR_1970")
    assert not clause.search("i.kind == 1") and not clause.search("  kind: enum { goods }")  # fields, not keywords
    decl = re.compile(repo["type-declaration"]["match"])
    assert decl.search("  type party {") and not decl.search("end_user.type in { \"a\" }")
    assert re.compile(repo["date"]["match"]).fullmatch("2026-05-31")


def test_the_vscode_extension_registers_ecp_and_starts_the_server() -> None:
    package = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    (language,) = package["contributes"]["languages"]
    assert language["id"] == "ecp" and language["extensions"] == [".ecp"]
    assert (VSCODE / language["configuration"]).is_file()
    config = json.loads((VSCODE / language["configuration"]).read_text(encoding="utf-8"))
    assert config["comments"]["lineComment"] == "#"
    (tm,) = package["contributes"]["grammars"]
    assert (VSCODE / tm["path"]).resolve() == TM.resolve() and tm["scopeName"] == "source.ecp"
    assert (VSCODE / package["main"]).is_file()
    assert "vscode-languageclient" in package["dependencies"]
    props = package["contributes"]["configuration"]["properties"]
    assert props["ecrules.server.command"]["default"] == "ecrules"
    assert props["ecrules.server.args"]["default"] == ["lsp"]
    script = (VSCODE / package["main"]).read_text(encoding="utf-8")
    assert 'config.get("server.command", "ecrules")' in script and 'config.get("server.args", ["lsp"])' in script
    assert not (VSCODE / "node_modules").exists() or _ignored(VSCODE / "node_modules")


def _ignored(path: Path) -> bool:
    git = shutil.which("git")
    if git is None:
        return True
    return subprocess.run([git, "check-ignore", "-q", str(path)], cwd=ROOT).returncode == 0


def test_extension_js_is_valid_javascript() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    result = subprocess.run([node, "--check", str(VSCODE / "extension.js")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_readme_says_how_to_use_vs_code_and_neovim() -> None:
    text = (ROOT / "editors" / "README.md").read_text(encoding="utf-8")
    assert "## VS Code" in text and "## Neovim" in text
    assert 'cmd = { "ecrules", "lsp" }' in text and "npm run package" in text
