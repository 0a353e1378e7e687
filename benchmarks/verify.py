"""Time `ecrules verify` on every example policy (issue 3: each must finish in under 10 s).

    python benchmarks/verify.py                 # best of 3, every policies/*.ecp
    python benchmarks/verify.py --repeat 1 --json out.json FILE...

Each figure is the wall time of `verify_policy` (every constraint, plus the dead/redundant/order
warnings, as `ecrules verify FILE` runs them; loading the policy is timed apart). Exits 1 when a
policy takes 10 s or more, or when any constraint is not proved.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import ecrules
from ecrules.verify import verify_policy

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 10.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    files = args.files or sorted((ROOT / "policies").glob("*.ecp"))
    rows = []
    failed = False
    print(f"| policy | constraints | rules | load (s) | verify, best of {args.repeat} (s) | verdicts |")
    print("|---|---|---|---|---|---|")
    for path in files:
        t0 = time.perf_counter()
        policy = ecrules.load(path)
        load = time.perf_counter() - t0
        best = float("inf")
        report = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            report = verify_policy(ecrules.load(path), str(path))
            best = min(best, time.perf_counter() - t0)
        assert report is not None
        verdicts = ", ".join(f"{v.constraint}: {v.status}" for v in report.verdicts)
        ok = best < LIMIT and all(v.status == "proved" for v in report.verdicts)
        failed = failed or not ok
        rows.append({"policy": path.name, "constraints": len(report.verdicts), "rules": len(policy.rules),
                     "load_s": round(load, 3), "verify_s": round(best, 3), "verdicts": verdicts, "ok": ok})
        print(f"| {path.name} | {len(report.verdicts)} | {len(policy.rules)} | {load:.2f} | {best:.2f} | {verdicts} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
