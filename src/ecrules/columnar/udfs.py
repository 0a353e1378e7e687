"""The functions the columnar query calls, registered on DuckDB over Arrow columns: the text
functions (`ecr_normalize`, ...), screening (`ecr_screen__LIST`, ...) and membership in a large
set; each computes what the row engine computes, once a distinct value."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pyarrow as pa

from ..semantics.operators import UDFS
from ..values import normalize


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
#: what `_ASCII_SPACE_RUN` changes: white space other than a space, or two spaces in a row
_ASCII_SPACE_TO_FOLD = "[\\t\\n\\x0b\\x0c\\r]|  "


def _screen_udf(info: Any, func: str, eventful: set[str] | None = None) -> Callable[..., pa.Array]:
    """`screen`/`matches` over Arrow columns: every distinct (name, type, country, date) is
    screened once by the same function the row engine calls, so both give the same scores.
    Names that produce a hit or a clearance go into `eventful`: the rows that hold them are
    decided again by the row engine, whose decisions carry the matches.

    The distinct keys of a batch are found with Arrow and numpy (paperwork repeats its parties),
    and what a key gave is remembered across the batches of a run, with whether it was eventful
    (`eventful` is emptied for each chunk, so a remembered eventful name is noted again)."""
    import datetime as dt

    from ..screening import runtime

    base = runtime.score if func == "screen" else runtime.matches
    convert: Callable[[Any], Any] = float if func == "screen" else bool
    memo: dict[tuple[Any, ...], Any] = {}       # key → its value, as the column holds it
    memo_eventful: set[tuple[Any, ...]] = set()   # keys that noted a hit or a clearance

    def fn(key: tuple[Any, ...]) -> Any:
        day = dt.date.fromisoformat(key[3]) if key[3] else None
        if eventful is None:
            return convert(base(info, key[0], key[1], key[2], day))
        runtime.JOURNAL.events = []
        try:
            out = base(info, key[0], key[1], key[2], day)
            if runtime.JOURNAL.events:
                memo_eventful.add(key)
            return convert(out)
        finally:
            runtime.JOURNAL.events = None

    def udf(names: pa.Array, types: pa.Array, countries: pa.Array, dates: pa.Array) -> pa.Array:
        kind = pa.float64() if func == "screen" else pa.bool_()
        keys, inverse = _distinct_rows((names, types, countries, dates))
        got = list(map(memo.get, keys))             # in C: most keys were seen in earlier batches
        if None in got:
            if len(memo) > 200_000:     # bounded: a long run of new names
                memo.clear()
                memo_eventful.clear()
                got = [None] * len(keys)
            for k, key in enumerate(keys):
                if got[k] is None:
                    got[k] = memo[key] = fn(key)
        if eventful is not None and memo_eventful:
            eventful.update(key[0] for key in memo_eventful.intersection(keys))
        if not got:
            return pa.array([], type=kind)
        return pa.array(np.asarray(got, dtype=np.float64 if func == "screen" else np.bool_)[inverse], type=kind)

    return udf


def _distinct_rows(columns: tuple[pa.Array, ...]) -> tuple[list[tuple[Any, ...]], np.ndarray]:
    """The distinct rows of some columns (in order of first occurrence, nulls as None) and, for
    each row, the index of its distinct row: each column is dictionary-encoded and the codes are
    combined a column at a time (re-numbered densely, so the combined code never overflows)."""
    import pyarrow.compute as pc

    code: np.ndarray | None = None
    codes: list[np.ndarray] = []
    values: list[list[Any]] = []
    for col in columns:
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        enc = pc.dictionary_encode(col, null_encoding="encode")
        idx = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        dictionary = enc.dictionary.to_pylist()
        codes.append(idx)
        values.append(dictionary)
        if code is None:
            code = idx                  # dense already: a dictionary holds the values present
        elif len(dictionary) > 1:       # (a column with one value changes no grouping)
            _, code = np.unique(code * len(dictionary) + idx, return_inverse=True)
            code = np.asarray(code, dtype=np.int64).reshape(-1)
    assert code is not None
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")       # distinct rows in order of first occurrence
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    firsts = first[order]
    # column by column (list indexing, then one zip in C): a batch of DuckDB's is 2,048 rows,
    # often as many distinct names
    columns_of_keys = [[vals[i] for i in idx[firsts].tolist()] for vals, idx in zip(values, codes)]
    keys = list(zip(*columns_of_keys))
    return keys, rank[np.asarray(inverse).reshape(-1)]


def _rows_holding(table: pa.Table, names: set[str]) -> np.ndarray:
    """Which rows hold one of `names` in a text field, nested fields included (lists and
    structs inside lists too, vectorised: a list's items are matched flat, then mapped back to
    their rows)."""
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
            mask |= _holding(col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col, values, names)
    return mask


def _holding(arr: pa.Array, values: pa.Array, names: set[str]) -> np.ndarray:
    """Which items of `arr` hold one of `names` (`values`, as Arrow) as a string, at any depth."""
    import pyarrow.compute as pc

    typ = arr.type
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return np.asarray(pc.fill_null(pc.is_in(arr, value_set=values), False).to_numpy(zero_copy_only=False))
    if pa.types.is_struct(typ):
        mask = np.zeros(len(arr), dtype=bool)
        for k in range(typ.num_fields):
            mask |= _holding(arr.field(k), values, names)
        held: np.ndarray = mask & np.asarray(arr.is_valid().to_numpy(zero_copy_only=False))
        return held
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        mask = np.zeros(len(arr), dtype=bool)
        if arr.null_count == len(arr):
            return mask
        # a null list may still span items (Arrow allows it): they are matched, then masked
        offsets = np.asarray(arr.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
        items = _holding(arr.values.slice(offsets[0], offsets[-1] - offsets[0]), values, names)
        parents = np.repeat(np.arange(len(arr)), np.diff(offsets))
        mask[parents[items]] = True
        listed: np.ndarray = mask & np.asarray(arr.is_valid().to_numpy(zero_copy_only=False))
        return listed
    if pa.types.is_primitive(typ):      # numbers, dates, booleans: never a name
        return np.zeros(len(arr), dtype=bool)
    return np.array([_holds_any(v, names) for v in arr.to_pylist()], dtype=bool)


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
    # replacing is several times slower than matching: replace only in the values that need it
    runs = pc.fill_null(pc.match_substring_regex(fast, pattern=_ASCII_SPACE_TO_FOLD), False)
    if pc.any(runs).as_py():
        folded = pc.replace_substring_regex(pc.filter(fast, runs), pattern=_ASCII_SPACE_RUN, replacement=" ")
        fast = pc.replace_with_mask(fast, runs, folded)
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


def text_udfs() -> dict[str, Callable[[pa.Array], pa.Array]]:
    """The text functions a DuckDB query calls (`ecr_NAME`), over Arrow arrays: the registry's
    run-time functions, `normalize` vectorised."""
    return {name: normalize_arrow if name == "normalize" else _text_udf(fn) for name, fn in UDFS.items()}


def register_duckdb_udfs(con: Any) -> None:
    """Register on the DuckDB connection `con` the text functions a `Policy.to_sql("duckdb")` query
    may call (`query.udfs`: `ecr_normalize`, `ecr_lower`, `ecr_upper`), as the engine does."""
    for name, fn in text_udfs().items():
        con.create_function(f"ecr_{name}", fn, ["VARCHAR"], "VARCHAR", type="arrow")
