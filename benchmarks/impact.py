"""Benchmark of `ecrules impact` and `ecrules diff` on a large population: a documented command, not a test.

    python benchmarks/impact.py                      # 1,000,000 records
    python benchmarks/impact.py --records 200000 --json benchmarks/out/impact.json
    python benchmarks/impact.py --records 20000 --write population.parquet   # the data only

1. Generates N records (seeded, numpy) to Parquet: float64 values as pandas writes them, a
   destination, an end user with an optional region; one region ("Puntland") occurs only with SO.
2. Times, in the same run: the columnar engine deciding the file alone (`Policy.evaluate_table`,
   the baseline), `ecrules.impact` on it, and `ecrules.diff` of benchmarks/impact/old.ecp against
   new.ecp with the corpus (symbolic classes included). Reports seconds, records/s and each as a
   ratio to the baseline; checks the planted proxy is flagged and count in = count out (exit 1
   otherwise). The issue's goal: impact and diff each under a minute for 1,000,000 records.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
try:
    import ecrules
except ImportError:  # a checkout without an install
    sys.path.insert(0, str(HERE.parent / "src"))
    import ecrules

DESTINATIONS = np.array(["DE", "FR", "SO", "KP", "US", "CN", "IN", "BR", "JP", "SY"])
REGIONS = np.array(["Bavaria", "Normandy", "Texas", "Hebei", "Kanto"])


def population(n: int, seed: int = 20261203) -> pa.Table:
    rng = np.random.default_rng(seed)
    dest = DESTINATIONS[rng.integers(0, len(DESTINATIONS), n)]
    region = np.where(rng.random(n) < 0.3, REGIONS[rng.integers(0, len(REGIONS), n)], None).astype(object)
    puntland = (dest == "SO") & (rng.random(n) < 0.5)
    region[puntland] = "Puntland"
    names = pa.array([f"Company {i}" for i in range(n)])
    end_user = pa.StructArray.from_arrays([names, pa.array(region, pa.string())], ["name", "region"])
    return pa.table({
        "id": pa.array([f"T{i}" for i in range(n)]),
        "destination": pa.array(dest),
        "end_user": end_user,
        "value": pa.array(np.round(rng.uniform(100, 200_000, n), 2)),
    })


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--write", type=Path, default=None, metavar="PARQUET",
                    help="only write the generated population to this Parquet file, and time nothing")
    args = ap.parse_args(argv)
    if args.write is not None:
        pq.write_table(population(args.records), args.write)
        print(f"wrote {args.records:,} records to {args.write}")
        return 0
    old = ecrules.load(HERE / "impact" / "old.ecp")
    new = ecrules.load(HERE / "impact" / "new.ecp")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "population.parquet"
        pq.write_table(population(args.records), path)
        t0 = time.perf_counter()
        decided = old.evaluate_table(str(path))
        base = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = ecrules.impact(old, str(path))
        t_impact = time.perf_counter() - t0
        t0 = time.perf_counter()
        change = ecrules.diff(old, new, str(path))
        t_diff = time.perf_counter() - t0
    ok = True
    if decided.num_rows != args.records or report.records != args.records:
        print("count in != count out", file=sys.stderr)
        ok = False
    if not [p for p in report.flagged_proxies if p.field == "end_user.region"]:
        print("the planted proxy was not flagged", file=sys.stderr)
        ok = False
    n = args.records
    rows = [("columnar decisions only (baseline)", base), ("ecrules impact", t_impact),
            ("ecrules diff (symbolic + corpus)", t_diff)]
    print(f"{n:,} records, {platform.machine()}, Python {platform.python_version()}, {datetime.date.today()}")
    print(f"{'':38} {'seconds':>8} {'records/s':>12} {'x baseline':>11}")
    for name, s in rows:
        print(f"{name:38} {s:8.2f} {n / s:12,.0f} {s / base:11.2f}")
    assert change.corpus is not None
    print(f"diff: {change.corpus.changed:,} records changed; symbolic classes: "
          + ", ".join(f"{t.old}->{t.new} {t.status}" for t in change.transitions))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"records": n, "baseline_s": base, "impact_s": t_impact,
                                         "diff_s": t_diff}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
