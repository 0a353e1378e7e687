"""`pip install .` into a fresh virtual environment works, grammar included, from any directory.

Slow (it builds a wheel): skipped when ECRULES_SKIP_INSTALL_TEST is set, run by default and in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(bool(os.environ.get("ECRULES_SKIP_INSTALL_TEST")), reason="ECRULES_SKIP_INSTALL_TEST is set")
def test_wheel_install_runs_from_any_directory(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bindir = env_dir / ("Scripts" if sys.platform == "win32" else "bin")
    # a copy of the sources, so the build cannot lean on the checkout's editable install
    subprocess.run([str(bindir / "pip"), "install", "-q", str(ROOT)], check=True, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [str(bindir / "ecrules"), "eval", str(ROOT / "policies" / "export_control.ecp"),
         str(ROOT / "examples" / "transactions.jsonl")],
        cwd=elsewhere, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""},
    )
    assert result.returncode == 0, result.stderr
    decisions = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(decisions) == len((ROOT / "examples" / "transactions.jsonl").read_text().splitlines())
    # the grammar came from the installed package, not from the checkout
    probe = subprocess.run(
        [str(bindir / "python"), "-c",
         "import ecrules, importlib.resources as r; print(r.files('ecrules').joinpath('grammar/ecp.lark').is_file())"],
        cwd=elsewhere, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""},
    )
    assert probe.stdout.strip() == "True", probe.stderr
