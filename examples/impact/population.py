"""A generated population of export transactions in the bundled policies' record schema.

    python examples/impact/population.py --records 20000 -o population.parquet
    python examples/impact/population.py --records 500 -o population.jsonl

Seeded, so the same command writes the same file. The shape is that of
`policies/common/trade.ecp`'s `transaction` (the fields every bundled policy reads; each policy
ignores the fields it does not declare): most trade is civilian goods to large economies, a few
per cent goes to destinations under UN measures, items carry a control-list entry and an HS code,
values are float64 (as pandas writes them). Names are invented ("Trading Company 17"); nothing here
describes real trade. Used by the worked example in docs/impact.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

# destination, weight: normal trade first, then destinations under UN measures (DOMAIN.md)
DESTINATIONS = [
    ("DE", 14), ("US", 14), ("JP", 9), ("FR", 8), ("GB", 7), ("IN", 7), ("BR", 6), ("KR", 6),
    ("AE", 5), ("TR", 5), ("VN", 5), ("ZA", 4), ("EG", 3), ("NG", 3),
    ("LY", 1), ("SD", 1), ("SO", 1), ("SS", 1), ("CF", 1), ("CD", 1), ("HT", 1), ("KP", 1),
]
END_USER_TYPES = [("commercial", 80), ("academic", 6), ("government", 5), ("individual", 3),
                  ("military", 2), ("police", 2), ("humanitarian", 1), ("un_mission", 1)]
END_USES = [("civilian", 85), ("research", 6), ("medical", 3), ("humanitarian", 2), ("military", 3), ("unknown", 1)]
# control-list entry, HS code, weight
ITEMS = [
    ("UNCONTROLLED", "8471.30", 40), ("UNCONTROLLED", "8504.40", 15), ("UNCONTROLLED", "3004.90", 8),
    ("UNCONTROLLED", "0402.21", 4), ("UNCONTROLLED", "7208.51", 6),
    ("3A001", "8542.31", 6), ("5A002", "8517.62", 6), ("2B350", "8419.89", 3), ("1C350", "2921.19", 2),
    ("9A012", "8806.22", 2), ("ML13", "6506.10", 2), ("ML1", "9303.20", 1),
]


def _pick(rng: np.random.Generator, table: list[tuple[str, int]], n: int) -> np.ndarray:
    values = np.array([v for v, _ in table], dtype=object)
    weights = np.array([w for _, w in table], dtype=float)
    return values[rng.choice(len(values), size=n, p=weights / weights.sum())]


def population(n: int, seed: int = 20261203) -> pa.Table:
    """`n` transactions as an Arrow table (items a `list<struct>`)."""
    rng = np.random.default_rng(seed)
    dest = _pick(rng, DESTINATIONS, n)
    utype = _pick(rng, END_USER_TYPES, n)
    # most end users sit in the destination; some consignees are elsewhere (trading hubs)
    abroad = rng.random(n) < 0.05
    country = np.where(abroad, np.array(["AE", "SG", "HK"], dtype=object)[rng.integers(0, 3, n)], dest)
    nationality = np.where(utype == "individual", country, None)
    day0 = datetime.date(2025, 1, 1).toordinal()
    dates = [datetime.date.fromordinal(day0 + int(k)).isoformat() for k in rng.integers(0, 700, n)]
    counts = rng.integers(1, 4, n)
    total = int(counts.sum())
    weights = np.array([w for *_, w in ITEMS], dtype=float)
    which = rng.choice(len(ITEMS), size=total, p=weights / weights.sum())
    item_rows = pa.StructArray.from_arrays(
        [pa.array([ITEMS[k][0] for k in which]), pa.array([ITEMS[k][1] for k in which]),
         pa.array(np.round(rng.lognormal(8.5, 1.4, total), 2)), pa.array(rng.integers(1, 50, total))],
        ["code", "hs_code", "value", "quantity"])
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    end_user = pa.StructArray.from_arrays(
        [pa.array([f"Trading Company {i}" for i in range(n)]), pa.array(country.tolist(), pa.string()),
         pa.array(utype.tolist(), pa.string()), pa.array(nationality.tolist(), pa.string())],
        ["name", "country", "type", "nationality"])
    return pa.table({
        "id": pa.array([f"P-{i:07d}" for i in range(n)]),
        "date": pa.array(dates),
        "destination": pa.array(dest.tolist(), pa.string()),
        "end_user": end_user,
        "end_use": pa.array(_pick(rng, END_USES, n).tolist(), pa.string()),
        "items": pa.ListArray.from_arrays(offsets, item_rows),
    })


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("-o", "--output", type=Path, required=True, help="a .parquet or .jsonl file")
    args = ap.parse_args(argv)
    table = population(args.records, args.seed)
    if args.output.suffix == ".jsonl":
        with args.output.open("w", encoding="utf-8") as out:
            for row in table.to_pylist():
                out.write(json.dumps(row) + "\n")
    else:
        pq.write_table(table, args.output)
    print(f"wrote {args.records:,} transactions to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
