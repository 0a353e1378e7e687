"""Records in: JSON Lines, CSV (flat schemas) and Parquet, streamed one record at a time.

A line that is not a JSON object is not dropped: it becomes a `BadLine`, which the caller turns
into an `error` decision so that count in equals count out.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterator

import attrs

from . import types as t
from .checker import Checked


@attrs.frozen
class BadLine:
    """An input line that could not be read as a record."""

    line: int
    message: str


def _open_text(path: str) -> io.TextIOBase:
    if path == "-":
        return sys.stdin  # type: ignore[return-value]
    return open(path, encoding="utf-8", newline="")


def read_jsonl(path: str) -> Iterator[Any]:
    """Objects from JSON Lines; numbers with a fraction are read as exact decimals."""
    stream = _open_text(path)
    try:
        for lineno, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                yield BadLine(lineno, f"line {lineno} is not valid JSON: {exc.msg} (column {exc.colno})")
                continue
            if not isinstance(value, dict):
                yield BadLine(lineno, f"line {lineno} is not a JSON object")
                continue
            yield value
    finally:
        if stream is not sys.stdin:
            stream.close()


def read_csv(path: str, checked: Checked) -> Iterator[Any]:
    """Rows of a CSV file with a header; each cell is read as its field's type when it parses.

    A cell that does not parse is passed on as text, so the record check names that field.
    """
    record = checked.record
    assert record is not None
    nested = [f.name for f in record.fields.values() if isinstance(f.type, (t.StructT, t.ListT, t.SetT))]
    stream = _open_text(path)
    try:
        reader = csv.DictReader(stream)
        for row in reader:
            out: dict[str, Any] = {}
            for name, cell in row.items():
                if name is None or cell is None:
                    continue
                f = record.fields.get(name)
                if f is None:
                    out[name] = cell
                elif cell == "" and f.optional:
                    continue
                elif f.name in nested:
                    out[name] = _json_cell(cell)
                else:
                    out[name] = _cell(cell, f.type)
            yield out
    finally:
        if stream is not sys.stdin:
            stream.close()


def _json_cell(cell: str) -> Any:
    try:
        return json.loads(cell, parse_float=Decimal)
    except json.JSONDecodeError:
        return cell


def _cell(cell: str, typ: t.Type) -> Any:
    try:
        if typ == t.INT:
            return int(cell)
        if typ == t.NUMBER:
            value = Decimal(cell.strip())
            return value if value.is_finite() else cell
        if typ == t.BOOL:
            return {"true": True, "false": False}.get(cell.strip().lower(), cell)
    except (ValueError, InvalidOperation):
        return cell
    return cell


def read_parquet(path: str) -> Iterator[Any]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise SystemExit("error: reading Parquet needs pyarrow: pip install pyarrow") from None
    if path == "-":
        raise SystemExit("error: Parquet cannot be read from standard input: give a file")
    with pq.ParquetFile(path) as pf:
        for batch in pf.iter_batches(batch_size=65536):
            for row in batch.to_pylist():
                yield {k: _arrow_value(v) for k, v in row.items()}


def _arrow_value(v: Any) -> Any:
    if isinstance(v, datetime.datetime):
        return v  # a timestamp is not a date: the record check says so
    if isinstance(v, list):
        return [_arrow_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _arrow_value(x) for k, x in v.items()}
    return v


def read_records(path: str, checked: Checked, fmt: str | None = None) -> Iterator[Any]:
    kind = fmt or _kind(path)
    if kind == "csv":
        return read_csv(path, checked)
    if kind == "parquet":
        return read_parquet(path)
    return read_jsonl(path)


def _kind(path: str) -> str:
    suffix = Path(path).suffix.lower()
    return {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(suffix, "jsonl")
