"""JSON Lines to Arrow for the columnar engine, vectorised, numbers exact.

`pyarrow.json` parses a chunk of lines against an explicit schema derived from the policy's
record: `number` fields as decimal128(38, 9) (parsed from the number's own digits, so `0.1` is
0.1; more than 9 places is an error, never a rounding), `int` as int64, dates
as text (`canon.py` checks them as it does for any text column). The row engine's reader
(`inputs.parse_line`) stays the judge of every line the fast parser might read differently:

- lines screened out before parsing (any byte outside printable ASCII, so a BOM, a bare CR, a
  tab, non-UTF-8 and non-ASCII text; a backslash escape; a run of 19 digits, which could exceed
  the column; a number with an exponent (`1e3`), which Arrow's decimal parser mishandles;
  `NaN`/`Infinity`; deep nesting; a text value given to a number field, which Arrow would
  convert) are read by `parse_line` and decided by the row engine;
- a chunk that Arrow rejects (a duplicate key, a type mismatch, a syntax error, two objects on a
  line) is split in halves until the rejected lines are alone; each of those is decided by the
  row engine from its own text, so it gets the same `error` decision as on the row engine.
"""

from __future__ import annotations

import io
import re
from typing import Any, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.json as pj

from .. import types as t
from ..recordjson import MAX_DEPTH
from . import canon

_PRINTABLE = bytes(range(0x20, 0x7F))
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
#: a run of digits that could exceed the decimal column, or an exponent `Decimal` cannot hold
_LONG_RUN = b"0" * 19


#: a number with an exponent: Arrow's decimal parser gets some wrong (`1.5e30`, `0e-99`) and
#: crashes on others (`1e999999999`), so the row engine reads those lines
_EXPONENT = re.compile(rb"[:,\[]\s*-?[0-9][0-9.]*[eE]")


def _suspect(raw: bytes) -> bool:
    """Whether the fast parser might read `raw` otherwise than the row engine's reader."""
    if raw.translate(None, _PRINTABLE) or b"\\" in raw or b"NaN" in raw or b"Infinity" in raw \
            or raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:
        return True
    digits = raw.translate(_DIGITS_TO_ZERO)
    if _LONG_RUN in digits:
        return True
    return (b"0e" in digits or b"0E" in digits) and _EXPONENT.search(raw) is not None


#: placeholder for a line decided by the row engine: a row of nulls
_EMPTY = b"{}"


def json_type(typ: t.Type) -> pa.DataType:
    """The type the JSON parser reads a field as (dates as text: `canon` parses them)."""
    if typ == t.DATE:
        return pa.string()
    if isinstance(typ, (t.ListT, t.SetT)):
        return pa.list_(json_type(typ.elem))
    if isinstance(typ, t.StructT):
        return pa.struct([(f.name, json_type(f.type)) for f in typ.fields.values()])
    return canon.arrow_type(typ)


def _numeric_names(typ: t.Type, out: set[str]) -> set[str]:
    if isinstance(typ, (t.ListT, t.SetT)):
        _numeric_names(typ.elem, out)
    elif isinstance(typ, t.StructT):
        for f in typ.fields.values():
            base = f.type.elem if isinstance(f.type, (t.ListT, t.SetT)) else f.type
            if base in (t.NUMBER, t.INT):
                out.add(f.name)
            _numeric_names(f.type, out)
    return out


class LineReader:
    """Chunks of JSON Lines as (Arrow table, rows to hand to the row engine, their items)."""

    def __init__(self, record: t.StructT):
        self.schema = pa.schema([(f.name, json_type(f.type)) for f in record.fields.values()])
        self.options = pj.ParseOptions(explicit_schema=self.schema, unexpected_field_behavior="infer")
        names = sorted(_numeric_names(record, set()))
        # a number field given text: Arrow would convert "1" to 1, the row engine says error
        self._text_number = re.compile(b'"(?:' + b"|".join(re.escape(n.encode()) for n in names) + b')"\\s*:\\s*"') \
            if names else None

    def lines(self, stream: Any, batch_size: int) -> Iterator[list[Any]]:
        """Chunks of up to `batch_size` records: each item the line's bytes (clean, for the fast
        parser) or what `inputs.parse_line` made of it (a record or a `BadLine`)."""
        from ..inputs import _lines, parse_line

        chunk: list[Any] = []
        suspect = _suspect
        text_number = self._text_number.search if self._text_number is not None else None
        for lineno, raw in enumerate(_lines(stream), 1):
            body = raw[:-1] if raw is not None and raw.endswith(b"\n") else raw
            if (body is None or suspect(body)
                    or (text_number is not None and text_number(body))):
                item = parse_line(raw, lineno)
                if item is None:
                    continue
                chunk.append(item)
            elif not body.strip():
                continue
            else:
                chunk.append((lineno, raw))
            if len(chunk) >= batch_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def table(self, items: list[Any]) -> tuple[pa.Table, np.ndarray]:
        """The Arrow table of a chunk, and which rows the row engine must decide."""
        n = len(items)
        bad = np.zeros(n, dtype=bool)
        lines: list[bytes] = []
        for k, item in enumerate(items):
            if type(item) is tuple:
                raw = item[1]
                lines.append(raw[:-1] if raw.endswith(b"\n") else raw)
            else:
                lines.append(_EMPTY)
                bad[k] = True
        table, rejected = self._parse(lines)
        return table.combine_chunks(), bad | rejected

    def _read(self, lines: list[bytes], blocks: int) -> pa.Table:
        data = b"\n".join(lines) + b"\n"
        size = max(1 << 16, len(data) // blocks + 1) if blocks > 1 else len(data) + 1
        table = pj.read_json(io.BytesIO(data), parse_options=self.options, read_options=pj.ReadOptions(block_size=size))
        if table.schema == self.schema:
            return table
        # fields the record does not declare are parsed too (so that a duplicate key in them is
        # rejected, as the row engine rejects it), then left out
        return pa.Table.from_arrays([_project(table.column(f.name).combine_chunks(), f.type) for f in self.schema],
                                    schema=self.schema)

    def _parse(self, lines: list[bytes]) -> tuple[pa.Table, np.ndarray]:
        """Parse `lines` (two blocks: both cores); on failure, take the rejected line out by the
        row Arrow names, else by halves, and parse the rest the same way."""
        table = self._whole(lines, 2)
        if table is not None:
            return table, np.zeros(len(lines), dtype=bool)
        # some line is rejected: pieces of at most `_PIECE` lines, so a rejected line costs
        # one piece parsed again, not the chunk
        parts: list[pa.Table] = []
        bads: list[np.ndarray] = []
        for k in range(0, len(lines), _PIECE):
            table, bad = self._piece(lines[k:k + _PIECE])
            parts.append(table)
            bads.append(bad)
        return pa.concat_tables(parts), np.concatenate(bads)

    def _piece(self, lines: list[bytes]) -> tuple[pa.Table, np.ndarray]:
        parts: list[pa.Table] = []
        bad = np.zeros(len(lines), dtype=bool)
        start = 0
        while start < len(lines):
            rest = lines[start:]
            table = self._whole(rest, 2)
            if table is not None:
                parts.append(table)
                break
            row = self._failing_row(rest)
            if row is None:  # Arrow named no row: halves
                table, sub = self._halves(rest)
                parts.append(table)
                bad[start:] = sub
                break
            if row:
                table, sub = self._halves(rest[:row])
                parts.append(table)
                bad[start:start + row] = sub
            parts.append(self._empty)
            bad[start + row] = True
            start += row + 1
        out = pa.concat_tables(parts) if len(parts) > 1 else parts[0] if parts else self._empty.slice(0, 0)
        return out, bad

    def _whole(self, lines: list[bytes], blocks: int) -> pa.Table | None:
        """`lines` parsed in `blocks` blocks, or None when Arrow rejects or drops a line."""
        try:
            table = self._read(lines, blocks)
        except _ERRORS:
            return None
        return table if table.num_rows == len(lines) else None

    def _failing_row(self, lines: list[bytes]) -> int | None:
        """The line Arrow rejects, read as one block so that its `in row N` counts from the first."""
        try:
            self._read(lines, 1)
        except _ERRORS as exc:
            m = _ROW.search(str(exc))
            return int(m.group(1)) if m and int(m.group(1)) < len(lines) else None
        return None

    def _halves(self, lines: list[bytes]) -> tuple[pa.Table, np.ndarray]:
        table = self._whole(lines, 1)
        if table is not None:
            return table, np.zeros(len(lines), dtype=bool)
        if len(lines) == 1:
            return self._empty, np.ones(1, dtype=bool)
        half = len(lines) // 2
        a, abad = self._halves(lines[:half])
        b, bbad = self._halves(lines[half:])
        return pa.concat_tables([a, b]), np.concatenate([abad, bbad])

    @property
    def _empty(self) -> pa.Table:
        return self._read([_EMPTY], 1)


def _project(arr: pa.Array, typ: pa.DataType) -> pa.Array:
    """`arr` with the struct fields that `typ` does not have left out, at any depth."""
    if arr.type == typ:
        return arr
    mask = arr.is_null() if arr.null_count else None
    if pa.types.is_struct(typ):
        children = [_project(arr.field(f.name), f.type) for f in typ]
        return pa.StructArray.from_arrays(children, fields=list(typ), mask=mask)
    if pa.types.is_list(typ):
        return pa.ListArray.from_arrays(arr.offsets, _project(arr.values, typ.value_type), type=typ, mask=mask)
    return arr.cast(typ)


_PIECE = 1024
_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError, ValueError)
_ROW = re.compile(r"in row (\d+)")


__all__ = ["LineReader", "json_type"]
