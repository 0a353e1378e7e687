"""Decisions out as Arrow and Parquet: one table shape for the row and the columnar engines.

(JSON Lines is written by the command line directly.)
"""

from __future__ import annotations

from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from .decision import Decision, id_text
from .outfiles import OutputError, replacing

BASIS_TYPE = pa.list_(pa.struct([
    ("rule", pa.string()), ("instrument", pa.string()), ("kind", pa.string()), ("citation", pa.string()),
    ("pinpoint", pa.string()), ("member", pa.string()),
]))
#: a decision's screening matches (docs/screening.md), with the fields of their JSON form; dates
#: are ISO text as in JSON. Empty for a decision no screening rule decided.
MATCHES_TYPE = pa.list_(pa.struct([
    ("rule", pa.string()), ("list", pa.string()), ("file", pa.string()), ("ref", pa.string()),
    ("type", pa.string()), ("listed_name", pa.string()), ("name_kind", pa.string()), ("quality", pa.string()),
    ("screened", pa.string()), ("score", pa.float64()), ("threshold", pa.float64()),
    ("steps", pa.list_(pa.string())),
    ("basis", pa.struct([
        ("regime", pa.string()), ("instrument", pa.string()), ("kind", pa.string()), ("citation", pa.string()),
        ("pinpoint", pa.string()), ("from", pa.string()), ("until", pa.string()),
    ])),
    ("cleared", pa.struct([
        ("ref", pa.string()), ("name", pa.string()), ("cleared_by", pa.string()), ("cleared_on", pa.string()),
        ("expires", pa.string()), ("reason", pa.string()),
    ])),
]))
DECISION_SCHEMA = pa.schema([
    ("id", pa.string()), ("outcome", pa.string()), ("fired", pa.list_(pa.string())),
    ("obligations", pa.list_(pa.string())), ("basis", BASIS_TYPE), ("policy", pa.string()),
    ("version", pa.string()), ("error_field", pa.string()), ("error_rule", pa.string()),
    ("error_message", pa.string()), ("matches", MATCHES_TYPE),
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
                    "matches": list(d.matches),
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
