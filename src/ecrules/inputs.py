"""Records in: JSON Lines, CSV (flat schemas) and Parquet, streamed one record at a time.

A line that is not a JSON object is not dropped: it becomes a `BadLine`, which the caller turns
into an `error` decision so that count in equals count out.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import json
import sys
from decimal import InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator

import attrs

from . import types as t
from .checked import Checked
from .literals import parse_decimal, parse_int
from .recordjson import _SURROGATE, BadRecord, loads_record


@attrs.frozen
class BadLine:
    """An input line (or row) that could not be read as a record; `field` names the field, if any."""

    line: int
    message: str
    field: str | None = None


class InputError(Exception):
    """The records cannot be read at all (not one bad line: the file): a one-line message."""

    def __init__(self, path: str, exc: Exception):
        reason = getattr(exc, "strerror", None) or str(exc)
        super().__init__(f"cannot read `{path}`: {reason[:1].lower() + reason[1:]}")
        self.path = path


def reading(records: Iterable[Any], path: str) -> Iterator[Any]:
    """`records`, with a failure to read the input (not a bad line: the file itself) as `InputError`."""
    it = iter(records)
    while True:
        try:
            record = next(it)
        except StopIteration:
            return
        except OSError as exc:
            raise InputError(path, exc) from None
        yield record


#: A JSON Lines line may hold at most this many bytes; a longer one is an `error` decision.
MAX_LINE_BYTES = 16 * 2**20

_BOM = b"\xef\xbb\xbf"


def _open_binary(path: str) -> BinaryIO:
    """The bytes of `path` (`-`: standard input); any readable path, a pipe or `/dev/fd/N` too."""
    if path == "-":
        return sys.stdin.buffer
    return open(path, "rb")


def _lines(stream: BinaryIO) -> Iterator[bytes | None]:
    """Lines split on `\\n` only (a bare CR inside a line is not an end of line); None for a line
    over `MAX_LINE_BYTES`, whose rest is skipped without being held in memory."""
    readline = stream.readline
    while True:
        raw = readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while True:
                rest = readline(2**20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
        else:
            yield raw


def read_jsonl(path: str) -> Iterator[Any]:
    """Objects from JSON Lines; numbers with a fraction are read as exact decimals.

    Every line that is not blank yields one item: a record, or a `BadLine` saying why it is not
    one (not UTF-8, not JSON, too deep, a duplicate key, a lone surrogate, too long).
    """
    stream = _open_binary(path)
    try:
        for lineno, raw in enumerate(_lines(stream), 1):
            item = parse_line(raw, lineno)
            if item is not None:
                yield item
    finally:
        if path != "-":
            stream.close()


def parse_line(raw: bytes | None, lineno: int) -> Any:
    """One JSON Lines line (`None`: too long) as a record or a `BadLine`; None when blank."""
    if raw is None:
        return BadLine(lineno, f"line {lineno} is longer than {MAX_LINE_BYTES} bytes")
    if lineno == 1 and raw.startswith(_BOM):
        raw = raw[3:]
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return BadLine(lineno, f"line {lineno} is not valid UTF-8 (byte {exc.start + 1})")
    if not line.strip():
        return None
    try:
        value = loads_record(line)
    except json.JSONDecodeError as exc:
        return BadLine(lineno, f"line {lineno} is not valid JSON: {exc.msg} (column {exc.colno})")
    except BadRecord as exc:
        return BadLine(lineno, f"line {lineno}: {exc.message}", exc.field)
    if not isinstance(value, dict):
        return BadLine(lineno, f"line {lineno} is not a JSON object")
    return value


def _duplicates(names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    return [n for n in names if n in seen or seen.add(n)]  # type: ignore[func-returns-value]


def read_csv(path: str, checked: Checked) -> Iterator[Any]:
    """Rows of a CSV file with a header; each cell is read as its field's type when it parses.

    A cell that does not parse is passed on as text, so the record check names that field. A
    leading byte-order mark (Excel) is dropped. A row that cannot be read (not UTF-8, a cell
    over the csv module's field limit) is a `BadLine`; with a column named twice in the header,
    every row is one, naming that column.
    """
    record = checked.record
    assert record is not None
    nested = [f.name for f in record.fields.values() if isinstance(f.type, (t.StructT, t.ListT, t.SetT))]
    binary = _open_binary(path)
    stream = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
    try:
        reader = csv.reader(stream)
        header_error: str | None = None
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            header, header_error = [], f"line 1 (the header) cannot be read: {exc}"
        else:
            if _not_text(header):
                header_error = "line 1 (the header) is not valid UTF-8"
        dups = _duplicates(header)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield BadLine(reader.line_num, f"line {reader.line_num} cannot be read: {exc}")
                continue
            if not row:
                continue  # a blank line is not a record
            if header_error:
                yield BadLine(reader.line_num, header_error)
                continue
            if dups:
                yield BadLine(reader.line_num, f"the header names column `{dups[0]}` twice: which one counts is "
                              "ambiguous", dups[0])
                continue
            if _not_text(row):
                yield BadLine(reader.line_num, f"line {reader.line_num} is not valid UTF-8")
                continue
            out: dict[str, Any] = {}
            for name, cell in zip(header, row):
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
        if path == "-":
            stream.detach()
        else:
            stream.close()


def _not_text(cells: list[str]) -> bool:
    """Whether a row holds bytes that were not UTF-8 (kept as surrogates by `surrogateescape`)."""
    joined = "".join(cells)
    return not joined.isascii() and _SURROGATE.search(joined) is not None


def _json_cell(cell: str) -> Any:
    try:
        return loads_record(cell)
    except (json.JSONDecodeError, BadRecord):
        return cell


def _cell(cell: str, typ: t.Type) -> Any:
    try:
        if typ == t.INT:
            number = parse_int(cell)
            return cell if number is None else number
        if typ == t.NUMBER:
            value = parse_decimal(cell)
            return cell if value is None else value
        if typ == t.BOOL:
            return {"true": True, "false": False}.get(cell.strip().lower(), cell)
    except (ValueError, InvalidOperation):
        return cell
    return cell


def parquet_source(path: str) -> Any:
    """What `pyarrow.parquet.ParquetFile` can open: the path of a regular file, or the whole
    stream in memory for standard input, a pipe or `/dev/fd/N` (Parquet needs random access)."""
    import pyarrow as pa

    if path != "-" and Path(path).is_file():
        return path
    with _open_binary(path) if path != "-" else contextlib.nullcontext(sys.stdin.buffer) as stream:
        return pa.BufferReader(stream.read())


def read_parquet(path: str, checked: Checked | None = None) -> Iterator[Any]:
    """Rows of a Parquet file; with `checked`, only the columns its record declares are read.

    A row whose value Python cannot hold (a date outside years 1 to 9999) is a `BadLine` naming
    the column, and with a column name used twice every row is one.
    """
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise SystemExit("error: reading Parquet needs pyarrow: pip install pyarrow") from None
    try:
        pf = pq.ParquetFile(parquet_source(path))
    except (OSError, ValueError) as exc:  # not Parquet (pyarrow.ArrowInvalid is a ValueError)
        raise InputError(path, exc) from None
    with pf:
        names = pf.schema_arrow.names
        dups = _duplicates(names)
        wanted = None
        if checked is not None and checked.record is not None and not dups:
            wanted = [n for n in names if n in checked.record.fields]
        pos = 0
        for batch in pf.iter_batches(batch_size=65536, columns=wanted):
            yield from arrow_rows(batch, pos)
            pos += batch.num_rows


def duplicate_column_error(name: str, rowno: int) -> BadLine:
    return BadLine(rowno, f"the input has two columns named `{name}`: which one counts is ambiguous", name)


def arrow_rows(batch: Any, pos0: int) -> list[Any]:
    """The rows of an Arrow batch as Python records (`BadLine`s where they cannot be)."""
    dups = _duplicates(batch.schema.names)
    if dups:
        return [duplicate_column_error(dups[0], pos0 + k + 1) for k in range(batch.num_rows)]
    try:
        rows = batch.to_pylist()
    except (ValueError, OverflowError):  # a value Python cannot hold: find its rows one by one
        return [arrow_row(batch, k, pos0 + k + 1) for k in range(batch.num_rows)]
    return [{k: _arrow_value(v) for k, v in row.items()} for row in rows]


def arrow_row(batch: Any, k: int, rowno: int) -> Any:
    """Row `k` of an Arrow batch as a Python record, or a `BadLine` naming the column that fails."""
    out: dict[str, Any] = {}
    for name, col in zip(batch.schema.names, batch.columns):
        try:
            out[name] = _arrow_value(col[k].as_py())
        except (ValueError, OverflowError) as exc:
            return BadLine(rowno, f"row {rowno}: `{name}` cannot be read: {exc} (dates must lie in years 1 to "
                           "9999)", name)
    return out


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
        return read_parquet(path, checked)
    return read_jsonl(path)


def _kind(path: str) -> str:
    suffix = Path(path).suffix.lower()
    return {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(suffix, "jsonl")
