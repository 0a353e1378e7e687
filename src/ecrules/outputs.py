"""Decisions out as Parquet (JSON Lines is written by the command line directly)."""

from __future__ import annotations

from typing import Iterable, Iterator

from .decision import Decision

_BATCH = 65536


def write_parquet(decisions: Iterable[Decision], path: str) -> Iterator[Decision]:
    """Write decisions to a Parquet file in batches, passing each one through."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise SystemExit("error: writing Parquet needs pyarrow: pip install pyarrow") from None
    basis = pa.list_(pa.struct([("rule", pa.string()), ("kind", pa.string()), ("citation", pa.string())]))
    schema = pa.schema([
        ("id", pa.string()), ("outcome", pa.string()), ("fired", pa.list_(pa.string())),
        ("obligations", pa.list_(pa.string())), ("basis", basis), ("policy", pa.string()),
        ("version", pa.string()), ("error_field", pa.string()), ("error_rule", pa.string()),
        ("error_message", pa.string()),
    ])
    rows: list[dict[str, object]] = []
    with pq.ParquetWriter(path, schema) as writer:
        for d in decisions:
            rows.append({
                "id": str(d.id), "outcome": d.outcome, "fired": list(d.fired), "obligations": list(d.obligations),
                "basis": [b.to_dict() for b in d.basis], "policy": d.policy, "version": d.version,
                "error_field": d.error.field if d.error else None, "error_rule": d.error.rule if d.error else None,
                "error_message": d.error.message if d.error else None,
            })
            yield d
            if len(rows) >= _BATCH:
                writer.write_table(pa.Table.from_pylist(rows, schema))
                rows = []
        if rows:
            writer.write_table(pa.Table.from_pylist(rows, schema))
