"""Issue 7, item 14: `ecrules verify --fuzz N` without Hypothesis installed is one line naming the
`fuzz` extra and exit 2 (1 would mean "violated"), never a ModuleNotFoundError traceback.

Hypothesis is made unimportable in a real process by a meta-path finder that refuses it, as if it
were not installed; nothing is uninstalled.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "wmd_catch_all.ecp"  # five constraints, proved in about a second

WITHOUT_HYPOTHESIS = """\
import sys

class NoHypothesis:
    def find_spec(self, name, path=None, target=None):
        if name == "hypothesis" or name.startswith("hypothesis."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoHypothesis())
from ecrules.cli import main
sys.argv[0] = "ecrules"
main()
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_HYPOTHESIS, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def test_fuzz_without_hypothesis_names_the_extra_and_exits_2() -> None:
    proc = run("verify", "--fuzz", "5", str(POLICY))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == ("error: --fuzz needs Hypothesis, which is not installed: "
                           "pip install 'ecrules[fuzz]' (or pip install hypothesis)\n")


def test_the_blocker_really_blocks_and_verify_without_fuzz_still_runs() -> None:
    """Without --fuzz nothing needs Hypothesis: the same process proves the constraints."""
    blocked = subprocess.run([sys.executable, "-c", WITHOUT_HYPOTHESIS.replace(
        "from ecrules.cli import main\nsys.argv[0] = \"ecrules\"\nmain()\n", "import hypothesis\n")],
        capture_output=True, text=True, timeout=60)
    assert blocked.returncode == 1 and "ModuleNotFoundError: No module named 'hypothesis'" in blocked.stderr
    proc = run("verify", "--timeout", "30", str(POLICY))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout.count("  PROVED  ") == 5


def test_the_extra_exists_and_holds_hypothesis() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert any(dep.startswith("hypothesis") for dep in extras["fuzz"])
