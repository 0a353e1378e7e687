"""Run a policy's query on DuckDB chunk by chunk, and turn its masks into decisions.

A chunk of records (an Arrow batch, or Python records from JSON Lines or CSV) becomes the
canonical table (`canon.py`), the query of `sqlgen.py` runs on it, and each row comes back as
`__ok` plus bit masks of matching rules and in-force basis windows. Rows with the same masks get
the same decision but for the id, so the shared `Combiner` builds each distinct decision once and
the output columns are `take`n from those. A row that is not ok (a record error, a value the
canonical types cannot hold exactly, a line that is not JSON) is decided by the row engine, and a
chunk on which the SQL engine raises (an overflow) is decided by the row engine whole: the
decisions are the row engine's in every case, only faster where the query can decide.

Memory is bounded by the batch size (records a chunk), never by the input size.

The query's functions are in `udfs.py`, a chunk's decisions in `chunk.py` (`ChunkResult`),
DataFrame input and read-ahead in `feed.py`.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import records as r
from .. import types as t
from ..combine import Combiner
from ..decision import Decision, DecisionError
from ..outputs import DECISION_SCHEMA
from . import canon
from .chunk import ChunkResult
from .dialects import INLINE_SET_LIMIT, NUMBER_SQL, Unsupported
from .feed import prefetch, to_arrow
from .sqlgen import Query, cited_members, compile_query, matched_rules
from .udfs import _member_udf, _rows_holding, _screen_udf, normalize_arrow, text_udfs

if TYPE_CHECKING:
    from ..checked import Program

#: Records a chunk: the setting that bounds memory (`--batch-size`).
DEFAULT_BATCH_SIZE = 100_000


def _fetch(con: Any, sql: str) -> pa.Table:
    rel = con.sql(sql)
    for name in ("to_arrow_table", "fetch_arrow_table", "arrow"):
        fn = getattr(rel, name, None)
        if fn is not None:
            out = fn()
            return out if isinstance(out, pa.Table) else out.read_all()
    raise RuntimeError("this duckdb cannot return Arrow tables")


def _sql_type(typ: t.Type) -> str:
    if typ == t.INT:
        return "BIGINT"
    if typ == t.NUMBER:
        return NUMBER_SQL
    if typ == t.DATE:
        return "DATE"
    if typ == t.BOOL:
        return "BOOLEAN"
    return "VARCHAR"


class ColumnarEngine:
    """A policy compiled for DuckDB. Building one raises `Unsupported` when the policy cannot run here."""

    def __init__(self, policy: Program, batch_size: int = DEFAULT_BATCH_SIZE, threads: int | None = None,
                 inline_limit: int = INLINE_SET_LIMIT):
        import duckdb  # noqa: F401  (fail early when it is missing)

        c = policy.checked
        if c.record is None:
            raise Unsupported("a policy without a record", engine="columnar")
        self.policy = policy
        self._eventful: set[str] = set()   # screened names with a hit or a clearance, this chunk
        self.checked = c
        self.record: t.StructT = c.record
        self.query: Query = compile_query(c, "duckdb", inline_limit, validate=False, derive=True)
        self.schema = canon.record_schema(c.record)
        self.combiner = Combiner(c)
        self.batch_size = max(1, int(batch_size))
        self.threads = threads
        fields = list(c.record.fields.values())
        self._id_field = c.record.fields.get("id")
        self._as_of = c.as_of
        #: rules whose decisions name set members: the row engine decides the rows they count in
        self._citing = frozenset(r.index for r in c.rules if r.sites)
        self._set_tables: dict[str, pa.Table] = {}
        for big in self.query.big_sets:
            try:
                typ = canon.arrow_type(big.elem)
                self._set_tables[big.name] = pa.table({"v": pa.array(list(big.values), type=typ)})
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
                raise Unsupported(f"set `{big.set_name}` (its values do not fit the column type: {exc})",
                                  engine="columnar") from None
        del fields
        self._lines: Any = None  # the JSON Lines reader, made when first needed
        #: the dates (days since 1970) where a basis or a set membership starts or ends
        self._breaks = np.array(sorted(_epoch_days(d) for d in _break_dates(c)), dtype=np.float64)

    # -- the DuckDB connection of one run
    def connect(self) -> Any:
        import duckdb

        con = duckdb.connect()
        # DuckDB draws its own progress bar on standard error for queries over 2 s, even into a
        # pipe or a log: ecrules shows its own (columnar/run.py), only on a terminal
        con.execute("SET enable_progress_bar = false")
        if self.threads:
            con.execute(f"SET threads TO {int(self.threads)}")
        udfs = text_udfs()
        for name in self.query.udfs:
            if name.startswith(("screen__", "matches__")):
                func, _, lst = name.partition("__")
                info = self.policy.checked.screenings[lst]
                out_type = "DOUBLE" if func == "screen" else "BOOLEAN"
                con.create_function(f"ecr_{name}", _screen_udf(info, func, self._eventful), ["VARCHAR"] * 4, out_type,  # type: ignore[call-overload]
                                    type="arrow", null_handling="special")
                continue
            con.create_function(f"ecr_{name}", udfs[name], ["VARCHAR"], "VARCHAR", type="arrow")  # type: ignore[call-overload]
        for big in self.query.big_sets:
            table = self._set_tables[big.name]
            con.register(big.name, table)
            sql_type = _sql_type(big.elem)
            member = _member_udf(table.column("v").combine_chunks())
            con.create_function(f"{big.name}_in", member, [sql_type], "BOOLEAN", type="arrow")  # type: ignore[call-overload]
        return con

    # -- chunks
    def decide_arrow(self, con: Any, batch: pa.RecordBatch | pa.Table, pos0: int) -> ChunkResult:
        """Decide an Arrow batch whose first row has position `pos0 + 1`."""
        from ..inputs import BadLine, arrow_row, duplicate_column_error

        dups = _duplicate_names(batch.schema.names)
        if dups:  # which of two columns counts is ambiguous: every row is an error naming it
            return self._all_fallback(batch.num_rows, lambda k: self._bad_line(duplicate_column_error(dups[0], pos0 + k + 1), pos0 + k + 1))
        table, bad = canon.canon_table(batch, self.record, self.schema)
        fields = self.record.fields
        wanted = [name for name in batch.schema.names if name in fields]
        narrow = batch.select(wanted)  # the row engine reads only the declared columns, too

        def raw_ids() -> list[Any]:
            col = batch.column("id") if "id" in batch.schema.names else None
            return _safe_pylist(col) if col is not None else [None] * batch.num_rows

        def fallback(k: int) -> Decision:
            row = arrow_row(narrow, k, pos0 + k + 1)
            if isinstance(row, BadLine):
                return self._bad_line(row, pos0 + k + 1)
            return self.policy.evaluate(row, position=pos0 + k + 1)

        return self._decide(con, table, bad, fallback, pos0, raw_ids)

    def _bad_line(self, row: Any, position: int) -> Decision:
        return Decision(position, "error", (), (), (), self.policy.name, self.policy.version,
                        DecisionError(row.message, row.field))

    def decide_rows(self, con: Any, rows: Sequence[Any], pos0: int) -> ChunkResult:
        """Decide Python records (dicts, or `inputs.BadLine`s) whose first has position `pos0 + 1`."""
        from ..inputs import BadLine

        table, bad = canon.canon_rows(list(rows), self.record, self.schema)

        def fallback(k: int) -> Decision:
            row = rows[k]
            if isinstance(row, BadLine):  # its id is its position among records, as on the row engine
                return self._bad_line(row, pos0 + k + 1)
            return self.policy.evaluate(row, position=pos0 + k + 1)

        def raw_ids() -> list[Any]:
            return [row.get("id") if isinstance(row, dict) else None for row in rows]

        return self._decide(con, table, bad, fallback, pos0, raw_ids)

    def decide_lines(self, con: Any, chunk: Any, pos0: int, parsed_table: tuple[pa.Table, np.ndarray] | None = None) -> ChunkResult:
        """Decide a `jsonl.LineChunk`, whose first record has position `pos0 + 1` (`parsed_table`:
        its `LineReader.table`, when already made)."""
        from ..inputs import BadLine, parse_line

        raw, bad = parsed_table if parsed_table is not None else self._line_reader().table(chunk)
        table, cbad = canon.canon_table(raw, self.record, self.schema)
        parsed: dict[int, Any] = chunk.parsed

        def item(k: int) -> Any:
            got = parsed.get(k)
            if got is None:
                got = parsed[k] = parse_line(chunk.raw(k), chunk.linenos[k])
            return got

        def fallback(k: int) -> Decision:
            row = item(k)
            if isinstance(row, BadLine):
                return self._bad_line(row, pos0 + k + 1)
            return self.policy.evaluate(row, position=pos0 + k + 1)

        def raw_ids() -> list[Any]:
            return [x.get("id") if isinstance(x, dict) else None for x in map(item, range(len(chunk)))]

        return self._decide(con, table, bad | cbad, fallback, pos0, raw_ids)

    def _line_reader(self) -> Any:
        from .jsonl import LineReader

        if self._lines is None:
            self._lines = LineReader(self.record)
        return self._lines

    def run_jsonl(self, path: str) -> Iterator[ChunkResult]:
        """Decide a JSON Lines file (`-`: standard input) read by the vectorised reader; reading
        and parsing the next chunk (Arrow, no GIL held for long) runs on a thread of its own."""
        from ..inputs import _open_binary

        stream = _open_binary(path)
        reader = self._line_reader()

        def parsed() -> Iterator[tuple[Any, tuple[pa.Table, np.ndarray]]]:
            # screening the next chunk's lines overlaps parsing this one's (a thread each)
            for chunk in prefetch(reader.lines(stream, self.batch_size)):
                yield chunk, reader.table(chunk)

        con = self.connect()
        pos = 0
        try:
            for chunk, table in prefetch(parsed()):
                yield self.decide_lines(con, chunk, pos, table)
                pos += len(chunk)
        finally:
            con.close()
            if path != "-":
                stream.close()

    def _decide(self, con: Any, table: pa.Table, bad: np.ndarray, fallback: Callable[[int], Decision],
                pos0: int, raw_ids: Callable[[], list[Any]]) -> ChunkResult:
        import duckdb

        n = table.num_rows
        table = table.append_column("__row", pa.array(np.arange(n, dtype=np.int64)))
        for col, func, path in self.query.derived:
            value: Any = table.column(path[0])
            for part in path[1:]:
                value = pa.chunked_array([ch.field(part) for ch in value.chunks], type=value.type.field(part).type)
            table = table.append_column(col, pa.chunked_array([normalize_arrow(ch) for ch in value.chunks], type=pa.string()))
        q = self.query
        # several record batches: DuckDB scans them in parallel
        pieces = max(1, min(16, n // 4096))
        if pieces > 1:
            table = pa.Table.from_batches(table.to_batches(max_chunksize=-(-n // pieces)))
        self._eventful.clear()
        try:
            con.register("__chunk", table)
            res = _fetch(con, q.sql)
            con.unregister("__chunk")
        except duckdb.Error:
            # an overflow or another failure of the SQL engine: the row engine decides this chunk
            con.unregister("__chunk")
            return self._all_fallback(n, fallback)
        return self.finish(q, table, res, bad, fallback, pos0, raw_ids)

    def finish(self, q: Query, table: pa.Table, res: pa.Table, bad: np.ndarray, fallback: Callable[[int], Decision],
               pos0: int, raw_ids: Callable[[], list[Any]]) -> ChunkResult:
        """Decisions from the query's result `res` (`__row`, `__ok`, masks) on the canonical `table`.

        Shared by every SQL engine: the DuckDB run above, and a Spark run (tests, docs/spark.md).
        """
        n = table.num_rows
        rows = res.column("__row").to_numpy()
        if not (len(rows) == n and (n == 0 or (rows[0] == 0 and bool(np.all(np.diff(rows) == 1))))):
            order = np.argsort(rows)
            res = res.take(pa.array(order))
        ok = res.column("__ok").to_numpy(zero_copy_only=False).astype(bool) & ~bad
        key_cols = list(q.mask_columns) + list(q.basis_columns)
        cols = [res.column(c_).to_numpy(zero_copy_only=False).astype(np.int64) for c_ in key_cols]
        ok_rows = np.flatnonzero(ok)
        index = np.zeros(n, dtype=np.int64)
        decisions: list[Decision] = []
        if len(ok_rows):
            nrules = len(self.checked.rules)
            if len(cols) == 1 or (len(cols) == 2 and nrules + len(q.basis_windows) <= 62):
                # one int64 key: rule bits, then basis bits
                key = cols[0] if len(cols) == 1 else cols[0] | (cols[1] << nrules)
                ukey, first, inverse = np.unique(key[ok_rows], return_index=True, return_inverse=True)
                mask = (1 << nrules) - 1 if nrules < 63 else -1
                uniq = [[int(k) & mask] for k in ukey.tolist()]
            else:
                keys = np.stack(cols, axis=1)
                uniq_arr, first, inverse = np.unique(keys[ok_rows], axis=0, return_index=True, return_inverse=True)
                uniq = [list(u[: len(q.mask_columns)]) for u in uniq_arr.tolist()]
            as_of_col = table.column(self._as_of) if self._as_of else None
            per_row: list[int] = []  # groups whose decisions name members: one decision a row
            row_engine: list[int] = []  # groups whose members the query cannot list
            matches = [matched_rules(u) for u in uniq]
            for u, matched in enumerate(matches):
                if any(k in q.row_cites for k in matched):
                    row_engine.append(u)
                elif any(k in self._citing for k in matched):
                    per_row.append(u)
                as_of = as_of_col[int(ok_rows[first[u]])].as_py() if as_of_col is not None else None
                decisions.append(self.combiner.decide(matched, None, as_of))
            inverse = np.asarray(inverse).reshape(-1)
            index[ok_rows] = inverse
            if per_row:
                self._cite_rows(q, res, ok_rows, inverse, per_row, [matches[u] for u in per_row],
                                as_of_col, index, decisions)
            if row_engine:
                ok = ok.copy()
                ok[ok_rows[np.isin(inverse, row_engine)]] = False
        ids, over = self._ids(table, pos0, raw_ids)
        fallbacks = np.flatnonzero(~ok)
        for k in fallbacks.tolist():
            d = fallback(k)
            index[k] = len(decisions)
            decisions.append(d)
            over[k] = d.id
        if self._eventful:   # rows whose screened names hit: the row engine adds the matches
            holds = _rows_holding(table, self._eventful)
            for k in ok_rows.tolist():
                if holds[k]:
                    d = fallback(k)
                    index[k] = len(decisions)
                    decisions.append(d)
                    over[k] = d.id
        return ChunkResult(ids, index, decisions, len(fallbacks), over)

    def _cite_rows(self, q: Query, res: pa.Table, ok_rows: np.ndarray, inverse: np.ndarray, groups: list[int],
                   matches: list[tuple[int, ...]], as_of_col: Any, index: np.ndarray, decisions: list[Decision]) -> None:
        """Decisions for rows whose counting rules cite set members: the members come from the
        query's site columns. Rows with the same matches, date window and members share a
        decision: the key is built with Arrow and numpy, one decision is built a distinct key
        (from its first row) and the rest are indexes, so no Python runs a row."""
        sel = np.isin(inverse, groups)
        rows = ok_rows[sel]
        if not len(rows):
            return
        group_of = inverse[sel]
        gpos = np.full(int(inverse.max()) + 1, -1, dtype=np.int64)
        gpos[np.asarray(groups, dtype=np.int64)] = np.arange(len(groups))
        g = gpos[group_of]
        parts = [g]
        take = pa.array(rows)
        if as_of_col is not None:
            parts.append(self._date_window(as_of_col.take(take)))
        for k, _name, col in q.site_columns:
            # only the members of matching rules count: elsewhere the column is left out of the key
            wanted = np.array([k in m for m in matches], dtype=bool)[g]
            codes = _list_codes(res.column(col).take(take))
            parts.append(np.where(wanted, codes, -1))
        keys = np.stack(parts, axis=1)
        _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        inv = np.asarray(inv).reshape(-1)
        base = len(decisions)
        for f in first.tolist():
            row = int(rows[f])
            matched = matches[int(g[f])]
            as_of = as_of_col[row].as_py() if as_of_col is not None else None
            cites = cited_members(q, matched, lambda col: res.column(col)[row].as_py())
            decisions.append(self.combiner.decide(matched, None, as_of, cites))
        index[rows] = base + inv

    def _date_window(self, dates: Any) -> np.ndarray:
        """Which window between the policy's basis and membership dates each date falls in: a
        cited decision depends on the date only through those (`in_force`, `SetInfo.is_member`);
        -1 for no date."""
        days = np.asarray(pc.cast(dates, pa.int32()).to_numpy(zero_copy_only=False), dtype=np.float64)
        out = np.searchsorted(self._breaks, np.nan_to_num(days, nan=0.0), side="right").astype(np.int64)
        return np.where(np.isnan(days), -1, out)

    def _all_fallback(self, n: int, fallback: Callable[[int], Decision]) -> ChunkResult:
        ds = [fallback(k) for k in range(n)]
        return ChunkResult([d.id for d in ds], np.arange(n, dtype=np.int64), ds, n)

    def _ids(self, table: pa.Table, pos0: int, raw_ids: Callable[[], list[Any]]) -> tuple[list[Any] | pa.Array, dict[int, Any]]:
        """The ids of decided rows, as the row engine makes them: the validated `id` field (read
        from the raw values, so a number or a struct keeps its own digits), else the position.
        A `string` id stays an Arrow column; the rows whose id is their position are returned
        apart."""
        f = self._id_field
        n = table.num_rows
        if f is None:
            return list(range(pos0 + 1, pos0 + n + 1)), {}
        if f.type == t.STRING:
            col = table.column("id")
            arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
            over: dict[int, Any] = {}
            if f.optional and arr.null_count:
                over = {int(k): pos0 + int(k) + 1 for k in np.flatnonzero(~canon._valid(arr))}
            return arr, over
        if f.type in (t.INT, t.COUNTRY, t.BOOL, t.DATE) or isinstance(f.type, t.EnumT):
            out = list(table.column("id").to_pylist())
        else:
            out = []
            for v in raw_ids():
                try:
                    out.append(r.id_value(v, f.type) if v is not None else None)
                except r.RecordError:
                    out.append(v)
        if f.optional:
            out = [pos0 + k + 1 if v is None else v for k, v in enumerate(out)]
        return out, {}

    # -- whole inputs
    def run_arrow(self, batches: Iterable[pa.RecordBatch | pa.Table]) -> Iterator[ChunkResult]:
        con = self.connect()
        pos = 0
        try:
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                res = self.decide_arrow(con, batch, pos)
                pos += batch.num_rows
                yield res
        finally:
            con.close()

    def run_rows(self, records: Iterable[Any]) -> Iterator[ChunkResult]:
        con = self.connect()
        pos = 0
        chunk: list[Any] = []
        try:
            for rec in records:
                chunk.append(rec)
                if len(chunk) >= self.batch_size:
                    yield self.decide_rows(con, chunk, pos)
                    pos += len(chunk)
                    chunk = []
            if chunk:
                yield self.decide_rows(con, chunk, pos)
        finally:
            con.close()

    def run_path(self, path: str | Path, fmt: str | None = None) -> Iterator[ChunkResult]:
        """Decide a JSON Lines, CSV or Parquet file in chunks of `batch_size` records."""
        from ..inputs import _kind, read_csv

        p = str(path)
        kind = fmt or _kind(p)
        if kind == "parquet":
            import pyarrow.parquet as pq

            from ..inputs import InputError, parquet_source

            def batches() -> Iterator[pa.RecordBatch]:
                try:
                    pf = pq.ParquetFile(parquet_source(p))
                except (OSError, ValueError) as exc:  # not Parquet (pyarrow.ArrowInvalid is a ValueError)
                    raise InputError(p, exc) from None
                with pf:
                    yield from pf.iter_batches(batch_size=self.batch_size)

            # three stages on their own threads: read the next chunk, decide this one, and the
            # caller writes the last one (Parquet, Arrow and DuckDB release the GIL)
            return prefetch(self.run_arrow(prefetch(batches())))
        if kind == "csv":
            return prefetch(self.run_rows(read_csv(p, self.checked)))
        return prefetch(self.run_jsonl(p))

    def evaluate_table(self, data: Any) -> pa.Table:
        """Decisions of an Arrow table, a pandas or polars DataFrame, or a file path, as an Arrow table."""
        if isinstance(data, (str, Path)):
            chunks = self.run_path(data)
        else:
            table = to_arrow(data)
            if table is None:
                rows = data.to_dict("records") if type(data).__module__.startswith("pandas") else list(data)
                chunks = self.run_rows(rows)
            else:
                chunks = self.run_arrow(table.to_batches(max_chunksize=self.batch_size))
        parts = [c.to_arrow() for c in chunks]
        if not parts:
            return DECISION_SCHEMA.empty_table()
        return pa.concat_tables(parts)


def _break_dates(c: Any) -> set[datetime.date]:
    out: set[datetime.date] = set()
    for rule in c.rules:
        for b in rule.bases:
            out.update(d for d in (b.valid_from, b.until) if d is not None)
    for info in c.sets.values():
        for b in info.bases:
            out.update(d for d in (b.valid_from, b.until) if d is not None)
        for bs in info.member_bases.values():
            for b in bs:
                out.update(d for d in (b.valid_from, b.until) if d is not None)
    return out


def _epoch_days(d: datetime.date) -> int:
    return (d - datetime.date(1970, 1, 1)).days


def _list_codes(col: Any) -> np.ndarray:
    """An int a row such that rows with equal lists (of scalars) get equal ints.

    Each element is written as its length, `:`, its text (null: `-`), so the joined text of
    a list is unambiguous; equal texts are then dictionary-encoded.
    """
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if not (pa.types.is_list(col.type) or pa.types.is_large_list(col.type)):
        col = pa.array([[x] for x in col.to_pylist()])
    flat = col.values.slice(col.offsets[0].as_py(), col.offsets[-1].as_py() - col.offsets[0].as_py()) \
        if len(col) else col.values.slice(0, 0)
    text = pc.cast(flat, pa.string())
    enc = pc.binary_join_element_wise(pc.cast(pc.utf8_length(text), pa.string()), text, ":")
    enc = pc.fill_null(enc, "-")
    offsets = pc.subtract(col.offsets, col.offsets[0])
    lists = pa.ListArray.from_arrays(offsets, enc)
    joined = pc.fill_null(pc.binary_join(lists, ","), "")
    return np.asarray(pc.dictionary_encode(joined).indices.to_numpy(zero_copy_only=False), dtype=np.int64)


def _duplicate_names(names: list[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in names if x in seen or seen.add(x)]  # type: ignore[func-returns-value]


def _safe_pylist(col: Any) -> list[Any]:
    """A column as Python values; values Python cannot hold (a date in year 0) become None."""
    try:
        return col.to_pylist()  # type: ignore[no-any-return]
    except (ValueError, OverflowError):
        out = []
        for x in col:
            try:
                out.append(x.as_py())
            except (ValueError, OverflowError):
                out.append(None)
        return out


__all__ = ["ColumnarEngine", "ChunkResult", "DECISION_SCHEMA", "DEFAULT_BATCH_SIZE", "Unsupported", "to_arrow"]
_ = (Decimal, datetime)
