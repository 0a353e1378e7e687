"""Every example in docs/errors.md runs and prints exactly what the page shows.

An example is a run of fenced blocks: file blocks whose info string names a file
(```` ```ecp policy.ecp ````, ```` ```text lists/limits.txt ````), then a ```` ```console ```` block
whose first line is `$ ecrules ARGS`, followed by the output (standard error, then standard
output, as a terminal shows them). The files are written to a fresh folder, the command is run there, and
absolute paths to that folder are shown as `/home/user/policies`.

After a deliberate change to a message, refresh the page's outputs with

    ECRULES_UPDATE_GOLDEN=1 python3 -m pytest -q tests/test_errors_doc.py

and review the diff of docs/errors.md (the prose around an example may need updating too).
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner


from ecrules.cli import main



DOC = Path(__file__).resolve().parents[1] / "docs" / "errors.md"
UPDATE = os.environ.get("ECRULES_UPDATE_GOLDEN") == "1"
SHOWN_ROOT = "/home/user/policies"

_FENCE = re.compile(r"^```(.*)$")


def _blocks(text: str) -> list[tuple[str, list[str], int, int, str]]:
    """(info string, body lines, first body line index, end fence index, heading) per fenced block."""
    lines = text.split("\n")
    out = []
    heading = ""
    i = 0
    while i < len(lines):
        if lines[i].startswith("### "):
            heading = lines[i][4:]
        m = _FENCE.match(lines[i])
        if m:
            info = m.group(1).strip()
            j = i + 1
            while not lines[j].startswith("```"):
                j += 1
            out.append((info, lines[i + 1 : j], i + 1, j, heading))
            i = j
        i += 1
    return out


def _examples(text: str) -> list[tuple[str, dict[str, str], list[str], str]]:
    """(id, files, argv, expected output) for every console block."""
    examples = []
    files: dict[str, str] = {}
    for info, body, _, _, heading in _blocks(text):
        parts = info.split()
        if len(parts) == 2 and parts[0] in ("ecp", "text"):
            files[parts[1]] = "\n".join(body) + "\n"
        elif info == "console":
            assert body and body[0].startswith("$ ecrules "), f"console block under {heading!r} has no command"
            argv = shlex.split(body[0][len("$ ecrules ") :])
            expected = "\n".join(body[1:]) + "\n" if len(body) > 1 else ""
            slug = re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")[:60]
            examples.append((f"{len(examples):02d}-{slug}", files, argv, expected))
            files = {}
    return examples


EXAMPLES = _examples(DOC.read_text(encoding="utf-8"))


def _run(folder: Path, files: dict[str, str], argv: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    monkeypatch.chdir(folder)
    result = CliRunner().invoke(main, argv)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    # as a terminal shows it: diagnostics (standard error, unbuffered) before `ok` (standard output)
    output = result.stderr + result.stdout
    return result.exit_code, output.replace(str(folder.resolve()), SHOWN_ROOT)


def _update(index: int, output: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    lines = text.split("\n")
    consoles = [(start, end) for info, _, start, end, _ in _blocks(text) if info == "console"]
    start, end = consoles[index]
    new = output[:-1].split("\n") if output else []
    lines[start + 1 : end] = new  # keep the `$ ecrules ...` line
    DOC.write_text("\n".join(lines), encoding="utf-8")


def test_examples_found() -> None:
    assert len(EXAMPLES) >= 80
    headings = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("### ")]
    assert len(headings) >= 80


@pytest.mark.parametrize(("files", "argv", "expected"), [pytest.param(f, a, e, id=i) for i, f, a, e in EXAMPLES])
def test_example(files: dict[str, str], argv: list[str], expected: str, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    code, output = _run(folder, files, argv, monkeypatch)
    assert "Traceback" not in output
    assert code == (1 if ": error: " in output else 0), output
    if UPDATE:
        index = next(k for k, (_, f, a, e) in enumerate(EXAMPLES) if f is files and a is argv)
        _update(index, output)
        return
    assert output == expected
