"""Decisions out as Arrow and Parquet: one table shape for the row and the columnar engines.

(JSON Lines is written by the command line directly.)
"""

from __future__ import annotations

from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from .decision import Decision, id_text
from .outfiles import OutputError, replacing

BASIS_TYPE = pa.list_(pa.struct([("rule", pa.string()), ("kind", pa.string()), ("citation", pa.string())]))
DECISION_SCHEMA = pa.schema([
    ("id", pa.string()), ("outcome", pa.string()), ("fired", pa.list_(pa.string())),
    ("obligations", pa.list_(pa.string())), ("basis", BASIS_TYPE), ("policy", pa.string()),
    ("version", pa.string()), ("error_field", pa.string()), ("error_rule", pa.string()),
    ("error_message", pa.string()),
])

_BATCH = 65536


def write_parquet(decisions: Iterable[Decision], path: str) -> Iterator[Decision]:
    """Write decisions to a Parquet file in batches, passing each one through.

    The file is written under a temporary name and renamed to `path` once complete
    (`outfiles.replacing`), so an interrupted run never leaves a file that looks whole.
    """
    schema = DECISION_SCHEMA
    rows: list[dict[str, object]] = []
    with replacing(path) as target:
        try:
            writer = pq.ParquetWriter(target, schema)
        except OSError as exc:
            raise OutputError(path, exc) from None
        try:
            for d in decisions:
                rows.append({
                    "id": id_text(d.id), "outcome": d.outcome, "fired": list(d.fired),
                    "obligations": list(d.obligations), "basis": [b.to_dict() for b in d.basis],
                    "policy": d.policy, "version": d.version,
                    "error_field": d.error.field if d.error else None,
                    "error_rule": d.error.rule if d.error else None,
                    "error_message": d.error.message if d.error else None,
                })
                yield d
                if len(rows) >= _BATCH:
                    _write(writer, pa.Table.from_pylist(rows, schema), path)
                    rows = []
            if rows:
                _write(writer, pa.Table.from_pylist(rows, schema), path)
        finally:
            try:
                writer.close()
            except OSError as exc:
                raise OutputError(path, exc) from None


def _write(writer: pq.ParquetWriter, table: pa.Table, path: str) -> None:
    try:
        writer.write_table(table)
    except OSError as exc:
        raise OutputError(path, exc) from None
