"""Every code block of README.md and docs/*.md runs as written, so the docs cannot drift.

The convention, for whoever writes docs:

- ```` ```sh ```` blocks are run with bash (`set -e -o pipefail`) from the repository root, with
  the test environment's `bin` first on PATH (so `ecrules` and `python` are this checkout's);
  every command must succeed.
- ```` ```python ```` blocks are run with this Python from the repository root; must exit 0.
- ```` ```ecp ```` blocks are policies: each must pass `ecrules check` and `ecrules fmt --check`.
- ```` ```text ```` (and ```` ```json ````, ```` ```jsonl ````, ```` ```csv ````) blocks are not run.
  A ```` ```text ```` block that directly follows an `sh` or `python` block is its expected output
  (standard error and standard output as a terminal shows them); a line `...` in it stands for
  any number of lines, and `...` within a line any text (a time, a path).
- A page may say, in an HTML comment (invisible once rendered), that its commands run in a folder
  of the repository: `<!-- docs-test: cwd examples/tutorial -->`; names are then relative to it.
- A name after the language (```` ```ecp flat.ecp ````, ```` ```text screening.ecp ````) writes the
  block to that file first, so that later blocks of the same page can use it.

After a deliberate change of output, refresh the pages' output blocks with

    ECRULES_UPDATE_GOLDEN=1 python3 -m pytest -q tests/test_docs_blocks.py

and review the diff (the prose around a block may need updating too). Each page runs in its own copy of the repository, so its commands may write files. docs/errors.md
has its own format (```` ```console ```` examples) and its own test, tests/test_errors_doc.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OWN_TEST = {"errors.md"}  # tests/test_errors_doc.py runs these
RUN = {"sh", "python"}
DATA = {"text", "json", "jsonl", "csv"}
KNOWN = RUN | DATA | {"ecp"}
UPDATE = os.environ.get("ECRULES_UPDATE_GOLDEN") == "1"
IGNORE = shutil.ignore_patterns(".venv", ".git", "__pycache__", ".pytest_cache", ".mypy_cache",
                                ".hypothesis", "site", "*.egg-info", "out")
_CWD = re.compile(r"<!-- docs-test: cwd (\S+) -->")
_FENCE = re.compile(r"^(\s*)```(.*)$")


class Block(NamedTuple):
    lang: str
    name: str | None
    body: str
    line: int  # 1-based line of the opening fence


def blocks(text: str) -> list[Block]:
    """Every fenced block of a page; indented fences (inside list items) included."""
    lines = text.split("\n")
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m:
            indent, info = m.group(1), m.group(2).strip().split()
            j = i + 1
            while not lines[j].strip().startswith("```"):
                j += 1
            body = "\n".join(line[len(indent):] if line.startswith(indent) else line.lstrip()
                             for line in lines[i + 1 : j])
            body = body + "\n" if j > i + 1 else ""  # an empty block has no line to replace
            out.append(Block(info[0] if info else "", info[1] if len(info) > 1 else None, body, i + 1))
            i = j
        i += 1
    return out


def _follows(text: str, first: Block, second: Block) -> bool:
    """True when only blank lines separate the end of `first` from the start of `second`."""
    lines = text.split("\n")
    end = first.line + first.body.count("\n")  # 0-based index of the closing fence
    return all(not line.strip() for line in lines[end + 1 : second.line - 1])


def matches(expected: str, actual: str) -> bool:
    """Line-by-line equality, where an expected line `...` matches any run of lines, and `...`
    within a line any text on that line (a time, say)."""
    exp, act = expected.rstrip("\n").split("\n"), actual.rstrip("\n").split("\n")
    pattern = "".join(r"(?:[^\n]*\n)*?" if line.strip() == "..." else
                      r"[^\n]*?".join(map(re.escape, line.rstrip().split("..."))) + r"\n" for line in exp)
    return re.fullmatch(pattern, "\n".join(line.rstrip() for line in act) + "\n") is not None


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONUNBUFFERED"] = "1"  # standard error and output interleave as on a terminal
    env["COLUMNS"] = "100"
    env.pop("PYTHONPATH", None)
    return env


def _run(block: Block, folder: Path) -> subprocess.CompletedProcess[str]:
    if block.lang == "sh":
        argv = ["bash", "-c", "set -e -o pipefail\n" + block.body]
    else:
        argv = [sys.executable, "-c", block.body]
    return subprocess.run(argv, cwd=folder, env=_env(), capture_output=False, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)


def _ecrules(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ecrules", *args], cwd=folder, env=_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)


PAGE_IDS = [p.relative_to(ROOT).as_posix() for p in PAGES if p.name not in OWN_TEST or p.parent == ROOT]


@pytest.mark.parametrize("page", PAGE_IDS)
def test_page_blocks_run(page: str, tmp_path: Path) -> None:
    text = (ROOT / page).read_text(encoding="utf-8")
    folder = tmp_path / "repo"
    shutil.copytree(ROOT, folder, ignore=IGNORE)
    repo = folder
    cwd = _CWD.search(text)
    if cwd is not None:
        folder = folder / cwd.group(1)
        assert folder.is_dir(), f"{page}: `{cwd.group(1)}` is not a folder of the repository"
    found = blocks(text)
    for block in found:  # a block may use a file named further down (a policy and its import)
        if block.name is not None:
            (folder / block.name).parent.mkdir(parents=True, exist_ok=True)
            (folder / block.name).write_text(block.body, encoding="utf-8")
    failures: list[str] = []
    updates: list[tuple[Block, str]] = []
    for k, block in enumerate(found):
        where = f"{page}:{block.line}"
        if block.lang not in KNOWN:
            failures.append(f"{where}: a block must say its language ({', '.join(sorted(KNOWN))}), "
                            f"not `{block.lang or '(none)'}`")
            continue
        if block.name is not None:
            target = folder / block.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.body, encoding="utf-8")
        if block.lang == "ecp":
            name = block.name or f"_block_{block.line}.ecp"
            (folder / name).write_text(block.body, encoding="utf-8")
            for args in (("check", name), ("fmt", "--check", name)):
                result = _ecrules(folder, *args)
                if result.returncode != 0:
                    failures.append(f"{where}: `ecrules {' '.join(args)}` failed:\n{result.stdout}")
            continue
        if block.lang not in RUN:
            continue
        result = _run(block, folder)
        if result.returncode != 0:
            failures.append(f"{where}: exit {result.returncode}:\n{result.stdout}")
            continue
        after = found[k + 1] if k + 1 < len(found) else None
        if after is not None and after.lang == "text" and after.name is None and _follows(text, block, after):
            shown = result.stdout.replace(str(folder), ".").replace(str(repo), ".")
            if UPDATE and not matches(after.body, shown):
                updates.append((after, shown))
            elif not matches(after.body, shown):
                failures.append(f"{where}: the output differs from the text block at line {after.line}:\n"
                                f"--- shown\n{after.body}--- actual\n{shown}")
    if updates:
        _update(ROOT / page, updates)
    assert not failures, "\n\n".join(failures)


def _update(path: Path, updates: list[tuple[Block, str]]) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    for block, shown in sorted(updates, key=lambda u: -u[0].line):
        old = block.body.count("\n")
        lines[block.line : block.line + old] = shown.rstrip("\n").split("\n")
    path.write_text("\n".join(lines), encoding="utf-8")


def test_every_page_is_covered() -> None:
    names = {p.name for p in PAGES}
    assert {"README.md", "cli.md", "tutorial.md", "language.md"} <= names
    assert all(page in PAGE_IDS for page in ("README.md", "docs/cli.md", "docs/tutorial.md"))
    assert "docs/errors.md" not in PAGE_IDS


def test_matches_elides_lines_only_where_told() -> None:
    assert matches("a\n...\nd\n", "a\nb\nc\nd\n")
    assert matches("a\n...\n", "a\n")
    assert not matches("a\nd\n", "a\nb\nd\n")
    assert not matches("a\n...\nd\n", "a\nb\n")
    assert matches("took ... s\n", "took 0.14 s\n") and not matches("took ... s\n", "took 1\ns\n")


def test_update_fills_an_empty_output_block_and_keeps_its_fence(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text("```sh\necho hi\n```\n\n```text\n```\nafter\n", encoding="utf-8")
    empty = blocks(page.read_text(encoding="utf-8"))[1]
    assert empty.body == ""
    _update(page, [(empty, "hi\n")])
    assert page.read_text(encoding="utf-8") == "```sh\necho hi\n```\n\n```text\nhi\n```\nafter\n"


def test_blocks_reads_indented_fences_and_names() -> None:
    text = "x\n```ecp a.ecp\nrule\n```\n- item\n  ```sh\n  ecrules --help\n  ```\n```\nbare\n```\n"
    assert blocks(text) == [Block("ecp", "a.ecp", "rule\n", 2), Block("sh", None, "ecrules --help\n", 6),
                            Block("", None, "bare\n", 9)]
