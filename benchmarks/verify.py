"""Time `ecrules verify`: every example policy, and a generated large policy (issues 3, 7, 11).

    python benchmarks/verify.py                     # best of 3, policies/*.ecp + the large policy
    python benchmarks/verify.py --repeat 1 --rules 50 --members 5000 --json out.json FILE...
    python benchmarks/verify.py --baseline /path/to/old/src   # also time another checkout

Each figure is the wall time of `verify_policy` (every constraint, plus the dead/redundant/order
warnings, as `ecrules verify FILE` runs them; loading the policy is timed apart). The large policy
(benchmarks/verify_gen.py: R rules over two M-entry sets) has verdicts known by design.

Also issue 9's example (../shared/examples/eu_dual_use.ecp with `effective` removed from EU001),
with and without its test records: its nondiscrimination must come out violated within 10 s.

Exits 1 on a wrong verdict (an example constraint not proved, a large-policy verdict other than
designed), an `unknown`, an example over 10 s, or the large policy over 30 s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ecrules
from ecrules.verify import verify_policy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from verify_gen import SHARED_EU, eu_without_effective, large_policy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 10.0
LARGE_LIMIT = 30.0


def _time(path: Path, repeat: int) -> tuple[float, float, object]:
    t0 = time.perf_counter()
    ecrules.load(path)
    load = time.perf_counter() - t0
    best, report = float("inf"), None
    for _ in range(repeat):
        policy = ecrules.load(path)
        t0 = time.perf_counter()
        report = verify_policy(policy, str(path))
        best = min(best, time.perf_counter() - t0)
    return load, best, report


def _baseline(src: Path, path: Path) -> float | None:
    """Wall time of `verify_policy` from another source tree (e.g. the previous main), once."""
    code = ("import sys,time; sys.path.insert(0, sys.argv[1]); import ecrules; from ecrules.verify import "
            "verify_policy; p = ecrules.load(sys.argv[2]); t = time.perf_counter(); verify_policy(p, sys.argv[2]); "
            "print(time.perf_counter() - t)")
    try:
        out = subprocess.run([sys.executable, "-c", code, str(src), str(path)], capture_output=True, text=True,
                             timeout=240)
        return float(out.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError):
        return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rules", type=int, default=50)
    ap.add_argument("--members", type=int, default=5000)
    ap.add_argument("--baseline", type=Path, help="the src/ directory of another checkout to compare with")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    files = args.files or sorted((ROOT / "policies").glob("*.ecp"))
    tmp = Path(tempfile.mkdtemp(prefix="ecrules-verify-bench-"))
    large, expected = large_policy(tmp, args.rules, args.members)
    # issue 9 item 6: a real violation the old search gave up on (unknown after 16 s)
    eu_cases = [eu_without_effective(tmp, keep) for keep in (True, False)] if SHARED_EU.exists() else []
    rows = []
    failed = False
    base_col = " | baseline (s) | speed-up" if args.baseline else ""
    print(f"| policy | constraints | rules | load (s) | verify, best of {args.repeat} (s){base_col} | verdicts |")
    print("|---|---|---|---|---|---|" + ("---|---|" if args.baseline else ""))
    for path in [*files, large, *eu_cases]:
        load, best, report = _time(path, args.repeat)
        assert report is not None
        verdicts = {v.constraint: v.status for v in report.verdicts}  # type: ignore[attr-defined]
        if path == large:
            want = expected
        elif path in eu_cases:
            want = {**verdicts, "nondiscrimination": "violated"}
        else:
            want = {k: "proved" for k in verdicts}
        limit = LARGE_LIMIT if path == large else LIMIT
        ok = best < limit and verdicts == want
        failed = failed or not ok
        base = _baseline(args.baseline, path) if args.baseline else None
        extra = ""
        if args.baseline:
            extra = f" | {base:.2f} | {base / best:.1f}x" if base is not None else " | (over 240 s) | -"
        name = f"generated: {args.rules} rules, {args.members:,}-entry sets" if path == large else path.name
        if path in eu_cases:
            name = f"eu_dual_use.ecp, EU001 without `effective`{'' if 'no_tests' not in path.name else ', no tests'}"
        shown = ", ".join(f"{k}: {s}" for k, s in verdicts.items())
        print(f"| {name} | {len(verdicts)} | {len(ecrules.load(path).rules)} | {load:.2f} | {best:.2f}{extra} | "
              f"{shown}{'' if ok else ' **WRONG or SLOW**'} |")
        rows.append({"policy": name, "load_s": round(load, 3), "verify_s": round(best, 3),
                     "baseline_s": base, "verdicts": verdicts, "ok": ok})
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
