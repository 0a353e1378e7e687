"""Shared by the hostile-records tests: a small policy, and the CLI run both in-process and as a
real process (pipes, devices and tracebacks are only honest in a real process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from ecrules.cli import main

ENGINES = ("row", "columnar")

POLICY = """\
policy "hostile-records" version "1"
combine deny_overrides
default allow

schema {
  record order {
    id: string?
    destination: country
    value: number?
    note: string?
    items: list<item>?
  }
  type item {
    code: string
    value: number
  }
}

rule KP deny { when destination == "KP" }
rule BIG license { when has value and value > 1000 }
rule SUM license { when has items and sum(i in items: i.value) > 1000 }
"""


def write_policy(folder: Path, text: str = POLICY, name: str = "p.ecp") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def cli(*args: str, input: bytes | None = None) -> tuple[int, str, str]:
    """The command in-process; any exception but SystemExit fails the test (it would be a traceback)."""
    result = CliRunner().invoke(main, list(args), input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {type(result.exception).__name__}: {result.exception}")
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def process(*args: str, pass_fds: tuple[int, ...] = (), env: dict[str, str] | None = None,
            stdin: Any = None) -> tuple[int, bytes, str]:
    """The command as a real process: exit code, raw standard output, standard error."""
    proc = subprocess.run([sys.executable, "-m", "ecrules", *args], capture_output=True, pass_fds=pass_fds,
                          env={**os.environ, **(env or {})}, stdin=stdin, timeout=300)
    err = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    return proc.returncode, proc.stdout, err


def decisions(stdout: str | bytes) -> list[dict[str, Any]]:
    """One decision a line, each valid UTF-8 JSON."""
    text = stdout.decode("utf-8") if isinstance(stdout, bytes) else stdout
    return [json.loads(line) for line in text.splitlines()]


def evaluate(policy: Path, records: Path, engine: str, *extra: str) -> list[dict[str, Any]]:
    code, out, err = cli("eval", str(policy), str(records), "--engine", engine, "-q", *extra)
    assert code == 0, err
    return decisions(out)


def outcomes(ds: list[dict[str, Any]]) -> list[str]:
    return [d["outcome"] for d in ds]
