"""Helpers of the hostile-input suite: run the CLI as a user would, and read what it says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parents[2]


@attrs.frozen
class Run:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def ecrules(*args: str, cwd: Path | None = None, timeout: float = 120) -> Run:
    """`ecrules ARGS` in a fresh interpreter: what a user sees, exit code included."""
    proc = subprocess.run([sys.executable, "-m", "ecrules", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=timeout, errors="replace")
    return Run(proc.returncode, proc.stdout, proc.stderr)
