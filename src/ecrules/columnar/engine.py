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
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from json.encoder import encode_basestring
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import records as r
from .. import types as t
from ..combine import Combiner
from ..decision import Decision, DecisionError, id_text, json_id
from ..outputs import BASIS_TYPE, DECISION_SCHEMA, MATCHES_TYPE
from ..values import lower, normalize, upper
from . import canon
from .dialects import INLINE_SET_LIMIT, NUMBER_SQL, Unsupported
from .sqlgen import MASK_BITS, Query, compile_query

if TYPE_CHECKING:
    from ..checked import Program

#: Records a chunk: the setting that bounds memory (`--batch-size`).
DEFAULT_BATCH_SIZE = 100_000



def _json_default(value: Any) -> Any:
    return str(value)


def _json_id(x: Any) -> str:
    if x.__class__ is str:
        return str(encode_basestring(x))
    if x.__class__ is int:
        return str(x)
    return json.dumps(json_id(x), ensure_ascii=False)


class ChunkResult:
    """The decisions of one chunk: `decisions[index[k]]` is row k's decision, with id `ids[k]`.

    The ids may come as an Arrow string column (a `string` id field) plus the few rows whose id
    differs (`overrides`: rows decided by the row engine, optional ids left out): the Arrow
    output is then built without a Python object a row, and `ids` is made only when asked for.
    """

    __slots__ = ("_ids", "_arrow_ids", "_over", "index", "decisions", "fallback")

    def __init__(self, ids: list[Any] | pa.Array, index: np.ndarray, decisions: list[Decision], fallback: int,
                 overrides: dict[int, Any] | None = None):
        self._over = overrides or {}
        if isinstance(ids, list):
            for k, v in self._over.items():
                ids[k] = v
            self._ids: list[Any] | None = ids
            self._arrow_ids: pa.Array | None = None
            self._over = {}
        else:
            self._ids = None
            self._arrow_ids = ids
        self.index = index
        self.decisions = decisions
        self.fallback = fallback  # rows decided by the row engine

    @property
    def ids(self) -> list[Any]:
        if self._ids is None:
            assert self._arrow_ids is not None
            ids = self._arrow_ids.to_pylist()
            for k, v in self._over.items():
                ids[k] = v
            self._ids = ids
        return self._ids

    def id_column(self) -> pa.Array:
        """The ids as the output's string column (`decision.id_text`)."""
        if self._arrow_ids is None:
            ids = self.ids
            if not all(x.__class__ is str for x in ids):
                ids = [id_text(x) for x in ids]
            return pa.array(ids, type=pa.string())
        arr = self._arrow_ids
        if not self._over:
            return arr
        rows = sorted(self._over)
        mask = np.zeros(len(arr), dtype=bool)
        mask[rows] = True
        return pc.replace_with_mask(arr, pa.array(mask), pa.array([id_text(self._over[k]) for k in rows], type=pa.string()))

    def __len__(self) -> int:
        return len(self.index)

    def __iter__(self) -> Iterator[Decision]:
        ds = self.decisions
        for rid, k in zip(self.ids, self.index.tolist()):
            yield ds[k]._replace(id=rid)

    def json_lines(self) -> list[str]:
        rests = []
        for d in self.decisions:
            text = json.dumps(d._replace(id=None).to_dict(), ensure_ascii=False, default=_json_default)
            rests.append(text[len('{"id": null'):] + "\n")
        return ['{"id": ' + _json_id(rid) + rests[k] for rid, k in zip(self.ids, self.index.tolist())]

    def to_arrow(self) -> pa.Table:
        ds = self.decisions
        idx = pa.array(self.index, type=pa.int64())

        def col(values: list[Any], typ: pa.DataType) -> pa.Array:
            return pa.array(values, type=typ).take(idx)

        err = [d.error for d in ds]
        return pa.Table.from_arrays([
            self.id_column(),
            col([d.outcome for d in ds], pa.string()),
            col([list(d.fired) for d in ds], pa.list_(pa.string())),
            col([list(d.obligations) for d in ds], pa.list_(pa.string())),
            col([[b.to_dict() for b in d.basis] for d in ds], BASIS_TYPE),
            col([d.policy for d in ds], pa.string()),
            col([d.version for d in ds], pa.string()),
            col([e.field if e else None for e in err], pa.string()),
            col([e.rule if e else None for e in err], pa.string()),
            col([e.message if e else None for e in err], pa.string()),
            col([list(d.matches) for d in ds], MATCHES_TYPE),
        ], schema=DECISION_SCHEMA)


def _fetch(con: Any, sql: str) -> pa.Table:
    rel = con.sql(sql)
    for name in ("to_arrow_table", "fetch_arrow_table", "arrow"):
        fn = getattr(rel, name, None)
        if fn is not None:
            out = fn()
            return out if isinstance(out, pa.Table) else out.read_all()
    raise RuntimeError("this duckdb cannot return Arrow tables")


def _text_udf(fn: Callable[[str], str]) -> Callable[[pa.Array], pa.Array]:
    import pyarrow.compute as pc

    def udf(arr: pa.Array) -> pa.Array:
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        uniq = pc.unique(arr)
        mapped = pa.array([fn(s) if s is not None else None for s in uniq.to_pylist()], type=pa.string())
        return mapped.take(pc.index_in(arr, value_set=uniq))

    return udf


#: the ASCII part of the whitespace that `values.normalize` collapses (Unicode White_Space)
_ASCII_SPACE_RUN = "[\\t\\n\\x0b\\x0c\\r ]+"


def _screen_udf(info: Any, func: str, eventful: set[str] | None = None) -> Callable[..., pa.Array]:
    """`screen`/`matches` over Arrow columns: every distinct (name, type, country, date) is
    screened once by the same function the row engine calls, so both give the same scores.
    Names that produce a hit or a clearance go into `eventful`: the rows that hold them are
    decided again by the row engine, whose decisions carry the matches."""
    import datetime as dt

    from ..screening import runtime

    base = runtime.score if func == "screen" else runtime.matches

    def fn(*args: Any) -> Any:
        if eventful is None:
            return base(*args)
        runtime.JOURNAL.events = []
        try:
            out = base(*args)
            if runtime.JOURNAL.events:
                eventful.add(args[1])
            return out
        finally:
            runtime.JOURNAL.events = None

    def udf(names: pa.Array, types: pa.Array, countries: pa.Array, dates: pa.Array) -> pa.Array:
        memo: dict[tuple[Any, ...], Any] = {}
        out: list[Any] = []
        for key in zip(names.to_pylist(), types.to_pylist(), countries.to_pylist(), dates.to_pylist()):
            got = memo.get(key)
            if got is None:
                day = dt.date.fromisoformat(key[3]) if key[3] else None
                got = memo[key] = fn(info, key[0], key[1], key[2], day)
            out.append(float(got) if func == "screen" else bool(got))
        return pa.array(out, type=pa.float64() if func == "screen" else pa.bool_())

    return udf


def _rows_holding(table: pa.Table, names: set[str]) -> np.ndarray:
    """Which rows hold one of `names` in a text field, nested fields included (vectorised but
    for lists, which are looked through in Python)."""
    import pyarrow.compute as pc

    n = table.num_rows
    mask = np.zeros(n, dtype=bool)
    values = pa.array(sorted(names), type=pa.string())
    cols = table.select([c for c in table.column_names if not c.startswith("__")])
    while any(pa.types.is_struct(f.type) for f in cols.schema):
        cols = cols.flatten()
    for col in cols.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            mask |= pc.fill_null(pc.is_in(col, value_set=values), False).to_numpy(zero_copy_only=False)
        elif pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
            mask |= np.array([_holds_any(v, names) for v in col.to_pylist()], dtype=bool)
    return mask


def _holds_any(value: Any, names: set[str]) -> bool:
    """Whether a row (nested dicts and lists) holds one of `names` as a string value."""
    if isinstance(value, str):
        return value in names
    if isinstance(value, dict):
        return any(_holds_any(v, names) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_any(v, names) for v in value)
    return False


def normalize_arrow(arr: pa.Array) -> pa.Array:
    """`values.normalize` over an Arrow string array, vectorised for ASCII text.

    For ASCII text NFKC changes nothing and case folding is lower-casing, so `normalize` is
    lower-casing, whitespace runs collapsed to one space, ends trimmed;
    other text goes through `values.normalize` itself (cached).
    """
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    fast = pc.ascii_lower(arr)
    fast = pc.replace_substring_regex(fast, pattern=_ASCII_SPACE_RUN, replacement=" ")
    fast = pc.ascii_trim(fast, characters=" ")
    ascii_ = pc.fill_null(pc.string_is_ascii(arr), True)
    if pc.all(ascii_).as_py():
        return fast
    mask = pc.invert(ascii_)
    slow = [normalize(s) for s in pc.filter(arr, mask).to_pylist()]
    return pc.replace_with_mask(fast, mask, pa.array(slow, type=pa.string()))


def _member_udf(values: pa.Array) -> Callable[[pa.Array], pa.Array]:
    import pyarrow.compute as pc

    def member(arr: pa.Array) -> pa.Array:
        return pc.is_in(arr, value_set=values)

    return member


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
        udfs = {"normalize": normalize_arrow, "lower": _text_udf(lower), "upper": _text_udf(upper)}
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

    def decide_lines(self, con: Any, items: list[Any], pos0: int) -> ChunkResult:
        """Decide a chunk of `jsonl.LineReader.lines`, whose first record has position `pos0 + 1`."""
        from ..inputs import BadLine, parse_line

        reader = self._line_reader()
        raw, bad = reader.table(items)
        table, cbad = canon.canon_table(raw, self.record, self.schema)
        parsed: dict[int, Any] = {}

        def item(k: int) -> Any:
            x = items[k]
            if type(x) is not tuple:
                return x
            got = parsed.get(k)
            if got is None:
                got = parsed[k] = parse_line(x[1], x[0])
            return got

        def fallback(k: int) -> Decision:
            row = item(k)
            if isinstance(row, BadLine):
                return self._bad_line(row, pos0 + k + 1)
            return self.policy.evaluate(row, position=pos0 + k + 1)

        def raw_ids() -> list[Any]:
            return [x.get("id") if isinstance(x, dict) else None for x in map(item, range(len(items)))]

        return self._decide(con, table, bad | cbad, fallback, pos0, raw_ids)

    def _line_reader(self) -> Any:
        from .jsonl import LineReader

        if self._lines is None:
            self._lines = LineReader(self.record)
        return self._lines

    def run_jsonl(self, path: str) -> Iterator[ChunkResult]:
        """Decide a JSON Lines file (`-`: standard input) read by the vectorised reader."""
        from ..inputs import _open_binary

        stream = _open_binary(path)
        con = self.connect()
        pos = 0
        try:
            for items in self._line_reader().lines(stream, self.batch_size):
                yield self.decide_lines(con, items, pos)
                pos += len(items)
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
            for u in range(len(uniq)):
                matched = self._matched(uniq[u])
                if any(k in q.row_cites for k in matched):
                    row_engine.append(u)
                elif any(k in self._citing for k in matched):
                    per_row.append(u)
                as_of = as_of_col[int(ok_rows[first[u]])].as_py() if as_of_col is not None else None
                decisions.append(self.combiner.decide(matched, None, as_of))
            inverse = np.asarray(inverse).reshape(-1)
            index[ok_rows] = inverse
            if per_row:
                self._cite_rows(q, res, ok_rows, inverse, per_row, [self._matched(uniq[u]) for u in per_row],
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
            cites: dict[int, list[tuple[str, Any]]] = {}
            for k, name, col in q.site_columns:
                if k in matched:
                    values = res.column(col)[row].as_py()
                    cites.setdefault(k, []).extend((name, v) for v in values or () if v is not None)
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

    def _matched(self, masks: list[int]) -> tuple[int, ...]:
        out = []
        for g, m in enumerate(masks):
            k = 0
            while m:
                if m & 1:
                    out.append(g * MASK_BITS + k)
                m >>= 1
                k += 1
        return tuple(out)

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


def prefetch(items: Iterator[Any], depth: int = 1) -> Iterator[Any]:
    """`items`, read one ahead in a thread (reading Parquet releases the GIL while DuckDB runs)."""
    import queue
    import threading

    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for x in items:
                while not stop.is_set():
                    try:
                        q.put(("item", x), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
            else:
                q.put(("end", None))
                return
            close = getattr(items, "close", None)
            if close is not None:  # the consumer stopped early: let the producer clean up (a connection)
                close()
        except BaseException as exc:  # handed to the consumer
            q.put(("error", exc))

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while True:
            kind, x = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise x
            yield x
    finally:
        stop.set()


def to_arrow(data: Any) -> pa.Table | None:
    """An Arrow table from an Arrow table or batch, a pandas or a polars DataFrame; None otherwise."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    mod = type(data).__module__
    if mod.startswith("polars"):
        return data.to_arrow()
    if mod.startswith("pandas"):
        try:
            return pa.Table.from_pandas(data, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None  # mixed columns: decided as Python values
    if hasattr(data, "__arrow_c_stream__"):
        return pa.table(data)
    return None


__all__ = ["ColumnarEngine", "ChunkResult", "DECISION_SCHEMA", "DEFAULT_BATCH_SIZE", "Unsupported", "to_arrow"]
_ = (Decimal, datetime)
