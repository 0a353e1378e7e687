"""Benchmark of the columnar engine (DuckDB) against the row engine: a documented command, not a test.

    python benchmarks/columnar.py                       # 1,000,000 records, then 10,000,000 streamed
    python benchmarks/columnar.py --records 200000 --stream 0
    python benchmarks/columnar.py --json benchmarks/out/columnar.json

1. Generates N records (default 1,000,000) with gen.py (seeded, 1 to 5 items each, the reference
   policy's schema) and writes them to Parquet (float64 money, as pandas and most ETL tools write
   it; `list<struct>` items; date32 dates), with 1 in 10,000 records given a planted error (a
   missing field, a bad country, a wrong total, ...).
2. Decides the whole file with the row engine (`read_parquet` + `evaluate_many`, what
   `ecrules eval --engine row` does, without writing) and with the columnar engine end to end
   (`ColumnarEngine.run_path` to a Parquet file of decisions, what `ecrules eval --engine
   columnar -o out.parquet` does), timing each, in the same run; checks that the two give
   identical decisions on every record (exit 1 otherwise) and that count in = count out. Also
   times the physical reference: DuckDB reading every column of the input and writing it back
   to Parquet, nothing decided. The columnar run and the reference take turns `--repeat` times
   (default 3) and the medians are reported: on a shared machine one run says little.
3. Writes the same records to JSON Lines (`json.dumps` of each row: floats as `repr` prints
   them, non-ASCII as `\\u` escapes, as Python writers do) and decides that file with the
   columnar engine end to end (the vectorised reader of `columnar/jsonl.py`, Parquet out),
   checks its decisions against the row engine's on every record, and times DuckDB reading the
   JSON Lines (`read_ndjson`) and writing them to Parquet: the physical reference for that input.
4. Streams M records (default 10,000,000: the N-record file repeated, ids renamed) through the
   columnar engine to a Parquet output in a child process, and reports its peak resident memory
   (`resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`).

See benchmarks/README.md and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
POLICY_FILE = HERE / "reference" / "policy.ecp"
sys.path.insert(0, str(HERE))
try:
    import ecrules
except ImportError:  # a checkout without an install
    sys.path.insert(0, str(HERE.parent / "src"))
    import ecrules

import pyarrow as pa
import pyarrow.parquet as pq

import gen

MONEY = pa.float64()
ITEM = pa.struct([("code", pa.string()), ("kind", pa.string()), ("value", MONEY), ("quantity", pa.int64())])
SCHEMA = pa.schema([
    ("id", pa.string()), ("date", pa.date32()), ("destination", pa.string()),
    ("end_user", pa.struct([("name", pa.string()), ("country", pa.string()), ("type", pa.string())])),
    ("end_use", pa.string()), ("items", pa.list_(ITEM)), ("total_value", MONEY),
])


def _money(v: Any) -> Any:
    return float(v)  # every amount a float64: the cents print back as themselves


def _row(rec: dict[str, Any], rid: str) -> dict[str, Any]:
    out = dict(rec)
    out["id"] = rid
    out["date"] = datetime.date.fromisoformat(rec["date"])
    out["items"] = [{**i, "value": _money(i["value"])} for i in rec["items"]]
    out["total_value"] = _money(rec["total_value"])
    return out


def _planted(rec: dict[str, Any], k: int) -> dict[str, Any]:
    rec = dict(rec)
    kind = k % 5
    if kind == 0:
        rec["destination"] = "XX"          # not a country code
    elif kind == 1:
        rec["end_use"] = None              # a required field is null
    elif kind == 2:
        rec["total_value"] = rec["total_value"] + 0.01   # breaks the invariant
    elif kind == 3:
        rec["end_user"] = {**rec["end_user"], "type": "robot"}       # not an enum member
    else:
        rec["items"] = [{**rec["items"][0], "code": None}] + rec["items"][1:] if rec["items"] else None
    return rec


def write_parquet(path: Path, n: int, chunk: int = 100_000) -> int:
    """N generated records to Parquet, 1 in 10,000 with a planted error; returns how many are planted."""
    planted = 0
    with pq.ParquetWriter(path, SCHEMA) as writer:
        done = 0
        part = 0
        while done < n:
            m = min(chunk, n - done)
            recs = gen.records(m, seed=gen.RECORD_SEED + part)
            rows = []
            for k, rec in enumerate(recs):
                g = done + k
                row = _row(rec, f"T{g + 1:09d}")
                if g % 10_000 == 5_000:
                    row = _planted(row, g // 10_000)
                    planted += 1
                rows.append(row)
            writer.write_table(pa.Table.from_pylist(rows, SCHEMA), row_group_size=chunk)
            done += m
            part += 1
    return planted


def write_jsonl(parquet: Path, path: Path) -> None:
    """The Parquet records as JSON Lines, as `json.dumps` writes each (dates as ISO text)."""
    with pq.ParquetFile(parquet) as pf, open(path, "w", encoding="utf-8") as f:
        for batch in pf.iter_batches(batch_size=100_000):
            lines = []
            for row in batch.to_pylist():
                if row["date"] is not None:
                    row["date"] = row["date"].isoformat()
                lines.append(json.dumps(row))
            f.write("\n".join(lines) + "\n")


def duckdb_jsonl_copy(path: Path, out: Path) -> float:
    """The physical reference for JSON Lines: DuckDB reads them and writes them to Parquet."""
    import duckdb

    con = duckdb.connect()
    t0 = time.perf_counter()
    con.execute(f"COPY (SELECT * FROM read_ndjson('{path}')) TO '{out}' (FORMAT parquet)")
    elapsed = time.perf_counter() - t0
    con.close()
    return elapsed


def row_engine(policy: ecrules.Policy, path: Path) -> list[Any]:
    from ecrules.inputs import read_parquet

    return list(policy.evaluate_many(read_parquet(str(path))))


def columnar_engine(policy: ecrules.Policy, path: Path, batch_size: int, out: Path) -> tuple[list[Any], int]:
    """Decide the file in chunks and write the decisions to Parquet, end to end."""
    from ecrules.columnar.engine import DECISION_SCHEMA, ColumnarEngine

    engine = ColumnarEngine(policy, batch_size=batch_size)
    chunks = []
    fallback = 0
    with pq.ParquetWriter(out, DECISION_SCHEMA) as writer:
        for chunk in engine.run_path(path):
            writer.write_table(chunk.to_arrow())
            chunks.append(chunk)
            fallback += chunk.fallback
    return chunks, fallback


def duckdb_copy(path: Path, out: Path) -> float:
    """The physical reference: DuckDB reads every column and writes them back, nothing decided."""
    import duckdb

    con = duckdb.connect()
    t0 = time.perf_counter()
    con.execute(f"COPY (SELECT * FROM read_parquet('{path}')) TO '{out}' (FORMAT parquet)")
    elapsed = time.perf_counter() - t0
    con.close()
    return elapsed


def timed_pair(repeat: int, engine: Any, reference: Any) -> tuple[float, float, Any, int, float, float]:
    """Median seconds of `engine()` and of `reference()` (seconds it measured itself), run in
    turns `repeat` times so that both see the same load of a shared machine; the engine's last
    chunks and fallback count; and the median CPU seconds of each (this process, all threads:
    steadier than wall time when other work shares the cores)."""
    ts: list[float] = []
    refs: list[float] = []
    cpus: list[float] = []
    ref_cpus: list[float] = []
    out: Any = None
    for _ in range(max(1, repeat)):
        out = None  # the previous run's chunks are not held during the next
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = engine()
        ts.append(time.perf_counter() - t0)
        c1 = time.process_time()
        refs.append(reference())
        cpus.append(c1 - c0)
        ref_cpus.append(time.process_time() - c1)
    return (statistics.median(ts), statistics.median(refs), out[0], out[1],
            statistics.median(cpus), statistics.median(ref_cpus))


def stream_child(policy_file: str, path: str, copies: int, out: str, batch_size: int) -> None:
    """In a child process: stream `copies` x the file through the columnar engine to Parquet."""
    from ecrules.columnar.engine import ColumnarEngine
    from ecrules.columnar.feed import prefetch

    policy = ecrules.load(policy_file)
    engine = ColumnarEngine(policy, batch_size=batch_size)

    def batches() -> Any:
        for c in range(copies):
            with pq.ParquetFile(path) as pf:
                for b in pf.iter_batches(batch_size=batch_size):
                    ids = pa.compute.binary_join_element_wise(b.column("id"), pa.scalar(f"-{c}"), "")
                    yield b.set_column(0, "id", ids)

    count = 0
    t0 = time.perf_counter()
    with pq.ParquetWriter(out, __import__("ecrules.columnar.engine", fromlist=["x"]).DECISION_SCHEMA) as w:
        for chunk in prefetch(engine.run_arrow(prefetch(batches()))):  # pipelined, as run_path is
            w.write_table(chunk.to_arrow())
            count += len(chunk)
    elapsed = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"records": count, "seconds": elapsed, "peak_rss_kib": rss}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--stream", type=int, default=10_000_000, help="records streamed for the memory figure (0: skip)")
    ap.add_argument("--batch-size", type=int, default=100_000)
    ap.add_argument("--no-jsonl", action="store_true", help="skip the JSON Lines input")
    ap.add_argument("--repeat", type=int, default=3,
                    help="columnar runs and DuckDB references, in turns; medians reported (default 3)")
    ap.add_argument("--dir", default=str(HERE / "out"))
    ap.add_argument("--json", default=None)
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        stream_child(a.child[0], a.child[1], int(a.child[2]), a.child[3], int(a.child[4]))
        return 0
    out_dir = Path(a.dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"records-{a.records}.parquet"
    figures: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine(),
                               "cpus": os.cpu_count(), "records": a.records, "batch_size": a.batch_size,
                               "repeat": a.repeat}
    t0 = time.perf_counter()
    planted = write_parquet(path, a.records)
    print(f"wrote {a.records:,} records ({planted} with a planted error) to {path} "
          f"({path.stat().st_size / 2**20:.1f} MiB) in {time.perf_counter() - t0:.1f} s")
    policy = ecrules.load(POLICY_FILE)

    t_col, t_io, chunks, fallback, c_col, c_io = timed_pair(a.repeat, lambda: columnar_engine(policy, path, a.batch_size, out_dir / "decisions.parquet"),
                                               lambda: duckdb_copy(path, out_dir / "copy.parquet"))
    t0 = time.perf_counter()
    row = row_engine(policy, path)
    t_row = time.perf_counter() - t0
    col = [d for chunk in chunks for d in chunk]  # Decision objects, for the comparison (not timed)
    del chunks

    ok = len(row) == len(col) == a.records
    mismatches = sum(1 for x, y in zip(row, col) if x != y)
    errors = sum(1 for d in row if d.outcome == "error")
    print(f"row engine:      {t_row:8.2f} s  {a.records / t_row:12,.0f} records/s   (one run; the columnar "
          f"and DuckDB figures are medians of {a.repeat}, run in turns)")
    print(f"columnar engine: {t_col:8.2f} s  {a.records / t_col:12,.0f} records/s   "
          f"(CPU {c_col:.2f} s; {fallback} records decided by the row engine)")
    print(f"DuckDB copy:     {t_io:8.2f} s  {a.records / t_io:12,.0f} records/s   "
          f"(CPU {c_io:.2f} s; read every column, write them back: the I/O floor)")
    print(f"speed-up:        {t_row / t_col:8.1f} x   (target >= 25 x); columnar is "
          f"{t_col / t_io:.1f} x the DuckDB copy's time, {c_col / c_io:.1f} x its CPU; "
          f"{a.records / t_col:,.0f} records/s (target >= 1,000,000)")
    print(f"decisions:       {len(row):,} row, {len(col):,} columnar, {mismatches} different, "
          f"{errors} errors (planted {planted})")
    figures.update({"row_seconds": t_row, "columnar_seconds": t_col, "row_rps": a.records / t_row,
                    "columnar_rps": a.records / t_col, "speedup": t_row / t_col, "duckdb_copy_seconds": t_io,
                    "columnar_cpu_seconds": c_col, "duckdb_copy_cpu_seconds": c_io, "mismatches": mismatches,
                    "fallback_rows": fallback, "errors": errors})
    del col
    if not ok or mismatches:
        print("FAIL: the engines disagree")
        return 1

    if not a.no_jsonl:
        jl = out_dir / f"records-{a.records}.jsonl"
        t0 = time.perf_counter()
        write_jsonl(path, jl)
        print(f"wrote the same records to {jl} ({jl.stat().st_size / 2**20:.1f} MiB) in {time.perf_counter() - t0:.1f} s")
        t_jl, t_jio, chunks, jfallback, c_jl, c_jio = timed_pair(a.repeat, lambda: columnar_engine(policy, jl, a.batch_size, out_dir / "decisions-jsonl.parquet"),
                                                    lambda: duckdb_jsonl_copy(jl, out_dir / "copy-jsonl.parquet"))
        jcol = [d for chunk in chunks for d in chunk]
        del chunks
        jmis = sum(1 for x, y in zip(row, jcol) if x != y) + abs(len(row) - len(jcol))
        print(f"columnar, JSONL: {t_jl:8.2f} s  {a.records / t_jl:12,.0f} records/s   "
              f"(CPU {c_jl:.2f} s; {jfallback} records decided by the row engine; target >= 300,000)")
        print(f"DuckDB JSONL copy:{t_jio:7.2f} s  {a.records / t_jio:12,.0f} records/s   "
              f"(CPU {c_jio:.2f} s; read_ndjson, write Parquet: the I/O floor); columnar is {t_jl / t_jio:.1f} x its "
              f"time, {c_jl / c_jio:.1f} x its CPU")
        print(f"JSONL decisions: {len(jcol):,} columnar, {jmis} different from the row engine's")
        figures.update({"jsonl_seconds": t_jl, "jsonl_rps": a.records / t_jl, "jsonl_fallback_rows": jfallback,
                        "duckdb_jsonl_copy_seconds": t_jio, "jsonl_mismatches": jmis,
                        "jsonl_cpu_seconds": c_jl, "duckdb_jsonl_copy_cpu_seconds": c_jio})
        del jcol
        if jmis:
            print("FAIL: the JSON Lines decisions differ from the row engine's")
            return 1
    del row

    if a.stream:
        copies = max(1, a.stream // a.records)
        out = out_dir / "stream-decisions.parquet"
        cmd = [sys.executable, __file__, "--child", str(POLICY_FILE), str(path), str(copies), str(out), str(a.batch_size)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        child = json.loads(proc.stdout.strip().splitlines()[-1])
        peak_mib = child["peak_rss_kib"] / 1024
        print(f"streamed:        {child['records']:,} records in {child['seconds']:.1f} s "
              f"({child['records'] / child['seconds']:,.0f} records/s), peak RSS {peak_mib:,.0f} MiB "
              f"(target < 1,536 MiB), batch size {a.batch_size:,}")
        figures.update({"stream_records": child["records"], "stream_seconds": child["seconds"],
                        "stream_peak_rss_mib": peak_mib})
        out.unlink(missing_ok=True)
    if a.json:
        Path(a.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
