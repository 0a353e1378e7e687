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
