"""Decisions out as Arrow and Parquet: one table shape for the row and the columnar engines.

(JSON Lines is written by the command line directly.)
"""

from __future__ import annotations

from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from .decision import Decision

BASIS_TYPE = pa.list_(pa.struct([
    ("rule", pa.string()), ("instrument", pa.string()), ("kind", pa.string()), ("citation", pa.string()),
    ("pinpoint", pa.string()), ("member", pa.string()),
]))
DECISION_SCHEMA = pa.schema([
    ("id", pa.string()), ("outcome", pa.string()), ("fired", pa.list_(pa.string())),
    ("obligations", pa.list_(pa.string())), ("basis", BASIS_TYPE), ("policy", pa.string()),
    ("version", pa.string()), ("error_field", pa.string()), ("error_rule", pa.string()),
    ("error_message", pa.string()),
])

_BATCH = 65536


def write_parquet(decisions: Iterable[Decision], path: str) -> Iterator[Decision]:
    """Write decisions to a Parquet file in batches, passing each one through."""
    schema = DECISION_SCHEMA
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
