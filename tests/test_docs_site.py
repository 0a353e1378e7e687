"""The docs site: `mkdocs build --strict` passes, and the generated language reference is current."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_reference_is_up_to_date() -> None:
    gen = _tool("gen_reference")
    assert (ROOT / "docs" / "reference.md").read_text(encoding="utf-8") == gen.render(), \
        "docs/reference.md is out of date: run `python tools/gen_reference.py`"


def test_reference_lists_what_the_checker_knows() -> None:
    from ecrules.checked import FUNCTIONS, QUANTIFIERS
    from ecrules.typecheck import SIGNATURES

    page = _tool("gen_reference").render()
    for name in FUNCTIONS + QUANTIFIERS:
        assert f"`{name}`" in page
    assert "| `days_between` | date, date | `int` |" in page
    assert len(SIGNATURES) == 6
    # every rule of the grammar appears once in the grammar section
    sections = _tool("gen_reference").grammar_rules((ROOT / "grammar" / "ecp.lark").read_text(encoding="utf-8"))
    names = [name for _, rules in sections for name, _ in rules]
    assert len(names) == len(set(names)) and {"rule_decl", "quantifier", "comp_op", "DATE"} <= set(names)


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="the docs extra (mkdocs) is not installed")
    pytest.importorskip("material", reason="the docs extra (mkdocs-material) is not installed")
    pytest.importorskip("mkdocs_include_markdown_plugin", reason="the docs extra (include-markdown) is not installed")
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                             "-d", str(site)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "export-control policy as code" in home and 'include-markdown "../README.md"' not in home
    assert 'href="cli/#coverage"' in home  # README's docs/cli.md#coverage, rewritten for the site
    for page in (ROOT / "docs").glob("*.md"):
        if page.name != "index.md":
            assert (site / page.stem / "index.html").is_file(), f"{page.name} is not on the site"


def test_links_leaving_docs_become_text() -> None:
    pytest.importorskip("mkdocs", reason="the docs extra (mkdocs) is not installed")
    hooks = _tool("mkdocs_hooks")

    class File:
        src_uri = "cli.md"

    class Page:
        file = File()

    md = ("see [examples/tutorial/](../examples/tutorial/), [the tutorial](tutorial.md#x), "
          "[bench](../benchmarks/README.md)\n```text\n[keep](../x)\n```\n")
    out = hooks.on_page_markdown(md, Page(), {}, None)
    assert out.startswith("see examples/tutorial/, [the tutorial](tutorial.md#x), "
                          "bench (`benchmarks/README.md` in the repository)\n")
    assert "[keep](../x)" in out  # code blocks are left alone
    config = {"nav": [{"Home": "index.md"}], "docs_dir": str(ROOT / "docs")}
    hooks.on_config(config)
    more = config["nav"][-1]["More"]
    assert "cli.md" in more and "index.md" not in more
