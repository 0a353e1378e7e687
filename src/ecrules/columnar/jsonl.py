"""JSON Lines to Arrow for the columnar engine, vectorised, numbers exact.

`pyarrow.json` parses a chunk of lines against an explicit schema derived from the policy's
record: `number` fields as decimal128(38, 9) (parsed from the number's own digits, so `0.1` is
0.1; more than 9 places is an error, never a rounding), `int` as int64, dates
as text (`canon.py` checks them as it does for any text column). The row engine's reader
(`inputs.parse_line`) stays the judge of every line the fast parser might read differently:

- lines screened out before parsing (any byte outside printable ASCII, so a BOM, a bare CR, a
  tab, non-UTF-8 and non-ASCII text; a `\\u` escape of a surrogate or of an ASCII character; a
  run of 19 digits, which could exceed the column; a number with an exponent (`1e3`), which
  Arrow's decimal parser mishandles; `NaN`/`Infinity`; deep nesting; a text value given to a
  number field, which Arrow would convert) are read by `parse_line` and decided by the row
  engine. The input is read in blocks of whole lines and each block screened in one pass of one
  regular expression (`_SUSPECT`, RE2 through Arrow), so no Python runs a clean line;
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
import pyarrow.compute as pc
import pyarrow.json as pj

from .. import types as t
from ..recordjson import MAX_DEPTH
from . import canon

#: What makes a line *suspect*: the fast parser might read it otherwise than the row engine's
#: reader, so the row engine's reader reads it. One regular expression, so that one pass of
#: RE2 over a block of lines (`LineReader.screen`) finds the lines that Python's `re` finds one
#: line at a time (`_suspect`, the rule as written):
_SUSPECT = (
    # a byte outside printable ASCII (a BOM, a CR, a tab, non-ASCII or non-UTF-8 text)
    r"[^\x20-\x7e\n]"
    # a `\u` escape of a surrogate (Python keeps a lone one, Arrow refuses it) or of an ASCII
    # character (it could spell a key); other escapes Arrow reads as Python's `json` does
    r"|\\u(?:00[0-7]|[dD][89a-fA-F])"
    r"|NaN|Infinity"
    # a run of digits that could exceed the decimal column, or more places than it holds (Arrow
    # would reject the whole block for it: the row engine decides that line alone)
    r"|[0-9]{19}|\.[0-9]{10}"
    # a number with an exponent: Arrow's decimal parser gets some wrong (`1.5e30`, `0e-99`) and
    # crashes on others (`1e999999999`)
    r"|[:,\[][ ]*-?[0-9][0-9.]*[eE]"
    # deeper nesting than the row engine's reader takes (brackets counted, as it counts them)
    r"|(?:[^\[{]*[\[{]){" + str(MAX_DEPTH + 1) + "}"
)


def _text_number(names: list[str]) -> str:
    """A number field given text: Arrow would convert `"12.5"` to 12.5, the row engine says error."""
    return r'|"(?:' + "|".join(re.escape(n) for n in names) + r')"[ ]*:[ ]*"' if names else ""


def _suspect(raw: bytes, pattern: re.Pattern[bytes] = re.compile(_SUSPECT.encode())) -> bool:
    """Whether the row engine's reader must read the line `raw` (the rule, a line at a time)."""
    return pattern.search(raw) is not None


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


class LineChunk:
    """A chunk of record lines: `lines[k]` is record k's line without its end of line (`{}` for a
    line the row reader has read: `parsed[k]` is what it made of it), from input line
    `linenos[k]`; `unended` is the index of the input's last line when it has no `\\n`."""

    __slots__ = ("lines", "linenos", "parsed", "unended")

    def __init__(self, lines: list[bytes], linenos: list[int], parsed: dict[int, Any], unended: int | None):
        self.lines = lines
        self.linenos = linenos
        self.parsed = parsed
        self.unended = unended

    def __len__(self) -> int:
        return len(self.lines)

    def raw(self, k: int) -> bytes:
        """Record k's line as the row reader reads it (with its `\\n`)."""
        return self.lines[k] if k == self.unended else self.lines[k] + b"\n"


#: bytes read from the input at a time (whole lines are cut from them)
_BLOCK = 4 * 2**20


class _Filler:
    """Fills `LineChunk`s of up to `size` records from blocks of whole lines."""

    def __init__(self, size: int, reader: LineReader):
        self.size = size
        self.reader = reader
        self.lineno = 0
        self.lines: list[bytes] = []
        self.linenos: list[int] = []
        self.parsed: dict[int, Any] = {}
        self.unended: int | None = None

    def take(self) -> LineChunk:
        out = LineChunk(self.lines, self.linenos, self.parsed, self.unended)
        self.lines, self.linenos, self.parsed, self.unended = [], [], {}, None
        return out

    def add(self, data: bytes, ended: bool, too_long: bool) -> Iterator[LineChunk]:
        """The lines of `data` (`ended`: its last line ends with `\\n`; `too_long`: its first line
        is over the limit), added; each full chunk is yielded."""
        from ..inputs import parse_line

        parts = data.split(b"\n")
        if ended:
            parts.pop()
        n = len(parts)
        suspect, maybe_blank = self.reader.screen(data, parts)
        if too_long:
            suspect.add(0)
            maybe_blank.discard(0)
        first = self.lineno + 1
        self.lineno += n
        special = sorted(suspect | maybe_blank)
        k = 0
        j = 0  # special[j] is the next line to look at alone
        while k < n:
            room = self.size - len(self.lines)
            stop = special[j] if j < len(special) else n
            if k < stop:  # clean lines: added as they are
                k1 = min(stop, k + room)
                self.lines.extend(parts[k:k1])
                self.linenos.extend(range(first + k, first + k1))
                k = k1
            else:
                body = parts[k]
                if k in suspect:
                    raw = None if (k == 0 and too_long) else body if (k == n - 1 and not ended) else body + b"\n"
                    item = parse_line(raw, first + k)
                    if item is not None:
                        self.parsed[len(self.lines)] = item
                        self.lines.append(_EMPTY)
                        self.linenos.append(first + k)
                elif body.strip():  # a line starting with a space that is not blank
                    self.lines.append(body)
                    self.linenos.append(first + k)
                k += 1
                j += 1
            if not ended and k == n and self.linenos and self.linenos[-1] == first + n - 1:
                self.unended = len(self.lines) - 1
            if len(self.lines) >= self.size:
                yield self.take()


class LineReader:
    """Chunks of JSON Lines as (Arrow table, rows to hand to the row engine, their items)."""

    def __init__(self, record: t.StructT):
        self.schema = pa.schema([(f.name, json_type(f.type)) for f in record.fields.values()])
        self.options = pj.ParseOptions(explicit_schema=self.schema, unexpected_field_behavior="infer")
        self.pattern = _SUSPECT + _text_number(sorted(_numeric_names(record, set())))
        self._line = re.compile(self.pattern.encode())

    def line_suspect(self, body: bytes) -> bool:
        """Whether the row engine's reader must read this line (a line at a time: the rule that
        `screen` applies to a whole block at once)."""
        return self._line.search(body) is not None

    def screen(self, data: bytes, parts: list[bytes]) -> tuple[set[int], set[int]]:
        """Which lines of `data` (split into `parts`, without their `\\n`) are `line_suspect`,
        and which clean ones may be blank (empty, or starting with a space): one RE2 pass over
        the block seen as an Arrow array of lines (no copy), not a Python step a line. (In a
        clean line a space is the only white space, so ` *` is `\\s*`.)"""
        n = len(parts)
        if not n:
            return set(), set()
        lengths = np.fromiter(map(len, parts), dtype=np.int32, count=n)
        ends = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(lengths + 1, out=ends[1:])
        ends[-1] = min(int(ends[-1]), len(data))  # the last line may have no `\\n`
        lines = pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(ends), pa.py_buffer(data)])
        hits = pc.match_substring_regex(lines, pattern=self.pattern)
        suspect = set(np.flatnonzero(hits.to_numpy(zero_copy_only=False)).tolist())
        starts = ends[:-1]
        first = np.frombuffer(data, dtype=np.uint8)[np.minimum(starts, max(len(data) - 1, 0))] if data else starts
        blank = (lengths == 0) | (first == 0x20)
        return suspect, set(np.flatnonzero(blank).tolist()) - suspect if blank.any() else set()

    def lines(self, stream: Any, batch_size: int) -> Iterator[LineChunk]:
        """Chunks of up to `batch_size` records, read a block of whole lines at a time; the lines
        `screen` finds (and a line over `MAX_LINE_BYTES`, skipped without being held whole) are
        read by `inputs.parse_line`, as the row engine reads them; blank lines are no records."""
        from ..inputs import MAX_LINE_BYTES

        chunk = _Filler(batch_size, self)
        carry = b""
        skipping = False  # inside a line over the limit: its bytes are dropped up to its end
        while True:
            block = stream.read(_BLOCK)
            if not block:
                break
            if skipping:
                nl = block.find(b"\n")
                if nl < 0:
                    continue
                skipping = False
                yield from chunk.add(b"\n", True, True)
                block = block[nl + 1:]
            buf = carry + block if carry else block
            cut = buf.rfind(b"\n")
            if cut < 0:
                carry = b""
                if len(buf) > MAX_LINE_BYTES:
                    skipping = True
                else:
                    carry = buf
                continue
            yield from chunk.add(buf[:cut + 1], True, buf.find(b"\n") > MAX_LINE_BYTES)
            carry = buf[cut + 1:]
        if skipping:
            yield from chunk.add(b"\n", True, True)
        elif carry:
            yield from chunk.add(carry, False, False)
        if chunk.lines:
            yield chunk.take()

    def table(self, chunk: LineChunk) -> tuple[pa.Table, np.ndarray]:
        """The Arrow table of a chunk, and which rows the row engine must decide."""
        bad = np.zeros(len(chunk), dtype=bool)
        if chunk.parsed:
            bad[list(chunk.parsed)] = True
        table, rejected = self._parse(chunk.lines)
        return table.combine_chunks(), bad | rejected

    def _read(self, lines: list[bytes], blocks: int) -> pa.Table:
        data = b"\n".join(lines) + b"\n"
        # blocks of about 1 MiB (a block must hold the longest line), parsed on this thread: the
        # other core has the run's other stages (screening, deciding, writing), and Arrow's own
        # threads cost about a fifth more CPU for the same parse
        size = max(_PARSE_BLOCK, 2 * max(map(len, lines), default=0) + 2) if blocks > 1 else len(data) + 1
        table = pj.read_json(io.BytesIO(data), parse_options=self.options,
                             read_options=pj.ReadOptions(block_size=size, use_threads=False))
        if table.schema == self.schema:
            return table
        # fields the record does not declare are parsed too (so that a duplicate key in them is
        # rejected, as the row engine rejects it), then left out
        return pa.Table.from_arrays([_project(table.column(f.name).combine_chunks(), f.type) for f in self.schema],
                                    schema=self.schema)

    def _parse(self, lines: list[bytes]) -> tuple[pa.Table, np.ndarray]:
        """Parse `lines` (in 1 MiB blocks); on failure, take the rejected line out by the
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
_PARSE_BLOCK = 2**20
_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError, ValueError)
_ROW = re.compile(r"in row (\d+)")


__all__ = ["LineReader", "json_type"]
