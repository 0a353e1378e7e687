"""Golden tests for diagnostics: every malformed policy in tests/diagnostics/ and what `check` prints.

Each `tests/diagnostics/NAME.ecp` (top level only; helper files sit in subfolders) is checked with
the CLI run in-process from inside tests/diagnostics, so paths in the output are plain `NAME.ecp`.
Its standard error must equal `NAME.expected` exactly, and the exit code must be 1.

Regenerate the goldens after a deliberate change to a message:

    ECRULES_UPDATE_GOLDEN=1 python3 -m pytest -q tests/test_diagnostics.py

then review the diff of the `.expected` files before committing them. Cases listed in `KNOWN_BAD`
are never rewritten: their `.expected` holds the output the engine *should* give, and they are
marked `xfail(strict=True)`. When the engine is fixed, the strict xfail turns into a failure
(XPASS): remove the entry from `KNOWN_BAD`.

`tests/diagnostics/ok/` holds policies that load (warnings allowed): exit 0, standard error as
in their `.expected`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import ecrules

from ecrules.cli import main



HERE = Path(__file__).resolve().parent / "diagnostics"
OK_DIR = HERE / "ok"
UPDATE = os.environ.get("ECRULES_UPDATE_GOLDEN") == "1"

#: Cases whose current output is wrong. Their `.expected` is the output believed correct.
KNOWN_BAD: dict[str, str] = {
    # -- syntax
    # -- names
    # -- types and declarations
    # -- rules
    # -- imports and list files
}

#: Policies that load: they must exit 0 with no traceback.
KNOWN_BAD_OK: dict[str, str] = {}

_HEAD = re.compile(r"^(?P<file>\S.*?):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning): ", re.M)


def _cases(folder: Path, known_bad: dict[str, str]) -> list[Any]:
    params = []
    for path in sorted(folder.glob("*.ecp")):
        marks = [pytest.mark.xfail(strict=True, reason=known_bad[path.stem])] if path.stem in known_bad else []
        params.append(pytest.param(path.name, marks=marks, id=path.stem))
    return params


def _run(args: list[str]) -> tuple[int, str, str, BaseException | None]:
    result = CliRunner().invoke(main, args)
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        import traceback

        tb = "".join(traceback.format_exception(*result.exc_info))  # type: ignore[misc]
        return result.exit_code, result.stdout, result.stderr + "\n" + tb, exc
    return result.exit_code, result.stdout, result.stderr, None


def _golden(path: Path, actual: str, known_bad: bool) -> str:
    """The expected text; in update mode, (re)write it first (never for known-bad cases)."""
    if UPDATE and not known_bad:
        path.write_text(actual, encoding="utf-8")
    assert path.is_file(), f"{path.name} is missing: run with ECRULES_UPDATE_GOLDEN=1 to create it"
    return path.read_text(encoding="utf-8")


def _assert_sane(code: int, stdout: str, stderr: str, exc: BaseException | None, want: int) -> None:
    assert exc is None, f"an exception escaped the CLI:\n{stderr}"
    assert "Traceback" not in stdout + stderr
    assert code == want, f"exit code {code}, expected {want}\nstderr:\n{stderr}"


@pytest.mark.parametrize("name", _cases(HERE, KNOWN_BAD))
def test_check_output(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)
    code, stdout, stderr, exc = _run(["check", name])
    _assert_sane(code, stdout, stderr, exc, 1)  # before any rewrite: never bless a traceback or exit 0
    expected = _golden(HERE / name.replace(".ecp", ".expected"), stderr, Path(name).stem in KNOWN_BAD)
    assert stdout == ""
    assert stderr == expected


@pytest.mark.parametrize("name", _cases(HERE, KNOWN_BAD))
def test_api_load_raises(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ecrules.load` raises PolicyError with the same diagnostics the CLI prints, spans included."""
    monkeypatch.chdir(HERE)
    expected = (HERE / name.replace(".ecp", ".expected")).read_text(encoding="utf-8")
    with pytest.raises(ecrules.PolicyError) as info:
        ecrules.load(name)
    diags = info.value.diagnostics
    assert diags, "PolicyError without diagnostics"
    assert any(d.severity == "error" for d in diags)
    heads = [(m["file"], int(m["line"]), int(m["col"]), m["sev"]) for m in _HEAD.finditer(expected)]
    for d in diags:
        assert isinstance(d, ecrules.Diagnostic)
        assert d.span is not None, f"no span: {d.message}"
    got = [(d.span.source.name, d.span.line, d.span.column, d.severity) for d in diags]  # type: ignore[union-attr]
    assert got == heads  # same files (the policy, or an import / list file it names), lines and columns
    rendered = "".join(d.render() + "\n\n" for d in diags)
    errors = sum(1 for d in diags if d.severity == "error")
    assert rendered + f"{name}: {errors} error{'s' if errors != 1 else ''}\n" == expected


def test_every_case_is_documented() -> None:
    """Each case starts with a `#` comment saying what it shows, and has its golden file."""
    cases = sorted(HERE.glob("*.ecp"))
    assert len(cases) >= 40
    for path in cases + sorted(OK_DIR.glob("*.ecp")):
        text = path.read_text(encoding="utf-8")
        if text:
            assert text.startswith("# "), f"{path.name} does not start with a comment"
        assert path.with_suffix(".expected").is_file(), f"{path.name} has no .expected"
    for stem in list(KNOWN_BAD) + list(KNOWN_BAD_OK):
        assert (HERE / f"{stem}.ecp").is_file() or (OK_DIR / f"{stem}.ecp").is_file(), f"KNOWN_BAD names {stem}"


@pytest.mark.parametrize("name", _cases(OK_DIR, KNOWN_BAD_OK))
def test_policy_that_loads(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A policy that loads: exit 0, warnings (if any) on standard error, `ok` on standard output."""
    monkeypatch.chdir(OK_DIR)
    code, stdout, stderr, exc = _run(["check", name])
    _assert_sane(code, stdout, stderr, exc, 0)
    expected = _golden(OK_DIR / name.replace(".ecp", ".expected"), stderr, Path(name).stem in KNOWN_BAD_OK)
    assert stdout.startswith(f"{name}: ok (")
    assert stderr == expected


def test_missing_policy_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, stdout, stderr, exc = _run(["check", "nope.ecp"])
    _assert_sane(code, stdout, stderr, exc, 1)
    assert stderr == "nope.ecp:1:1: error: policy file `nope.ecp` does not exist\n\nnope.ecp: 1 error\n"


def test_missing_policy_file_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ecrules.PolicyError) as info:
        ecrules.load("nope.ecp")
    [d] = info.value.diagnostics
    assert d.severity == "error"
    assert d.message == "policy file `nope.ecp` does not exist"
    assert d.span is not None and d.span.source.name == "nope.ecp"


def test_several_files_in_one_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """`check A B` reports both files' problems and exits 1 when any fails."""
    monkeypatch.chdir(HERE)
    code, stdout, stderr, exc = _run(["check", "unknown_field.ecp", "ok/warnings_only.ecp", "order_strings.ecp"])
    _assert_sane(code, stdout, stderr, exc, 1)
    assert stderr.index("unknown_field.ecp:9:8: error:") < stderr.index("order_strings.ecp:9:8: error:")
    assert "ok/warnings_only.ecp: ok (" in stdout


def test_json_format_matches_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--format json` gives one object a diagnostic, at the same places as the text format."""
    import json

    monkeypatch.chdir(HERE)
    code, stdout, stderr, exc = _run(["check", "--format", "json", "multiple_problems.ecp"])
    _assert_sane(code, stdout, stderr, exc, 1)
    objs = [json.loads(line) for line in stderr.splitlines()]
    expected = (HERE / "multiple_problems.expected").read_text(encoding="utf-8")
    heads = [(m["file"], int(m["line"]), int(m["col"]), m["sev"]) for m in _HEAD.finditer(expected)]
    assert [(o["span"]["file"], o["span"]["line"], o["span"]["column"], o["severity"]) for o in objs] == heads
