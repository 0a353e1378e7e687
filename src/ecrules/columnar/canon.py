"""Records to the canonical Arrow table the query reads, and the rows that must go to the row engine.

Each schema type has one column type: `string`, `country` and enums are strings, `int` int64,
`number` decimal128(38, 9), `bool` bool, `date` date32, lists and sets lists, types structs.
A value is converted only when the conversion is exact and the row engine would accept it as it
is (an int column for a number field, a decimal with up to 9 places, a `YYYY-MM-DD` string for a
date, ...). Any other value is *unclean*: its row is flagged, and the engine hands that row, as it
was read, to the row engine, which gives the same decision it always gives (an `error` naming the
field, usually). So the columnar path never has to reproduce an error message.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import records as r
from .. import types as t
from ..countries import COUNTRIES
from ..recordjson import _SURROGATE
from ..values import to_decimal
from .dialects import NUMBER_PRECISION, NUMBER_SCALE

_COUNTRY_SET = pa.array(sorted(COUNTRIES), type=pa.string())

DECIMAL = pa.decimal128(NUMBER_PRECISION, NUMBER_SCALE)
_MAX_INT_DIGITS = NUMBER_PRECISION - NUMBER_SCALE
_I64 = (-(2**63), 2**63 - 1)


def arrow_type(typ: t.Type) -> pa.DataType:
    if isinstance(typ, t.Prim):
        return {"string": pa.string(), "country": pa.string(), "int": pa.int64(), "number": DECIMAL,
                "bool": pa.bool_(), "date": pa.date32()}[typ.name]
    if isinstance(typ, t.EnumT):
        return pa.string()
    if isinstance(typ, (t.ListT, t.SetT)):
        return pa.list_(arrow_type(typ.elem))
    if isinstance(typ, t.StructT):
        return pa.struct([(f.name, arrow_type(f.type)) for f in typ.fields.values()])
    return pa.null()


def record_schema(record: t.StructT) -> pa.Schema:
    return pa.schema([(f.name, arrow_type(f.type)) for f in record.fields.values()])


# ---- Python values (JSON Lines, CSV, dicts) ---------------------------------------------------


class _Unclean(Exception):
    pass


def _exact_decimal(v: Decimal) -> Decimal:
    if not v.is_finite():
        raise _Unclean
    exp = v.as_tuple().exponent
    assert isinstance(exp, int)
    if exp < -NUMBER_SCALE or (v != 0 and v.adjusted() >= _MAX_INT_DIGITS):
        raise _Unclean
    return v


def py_value(v: Any, typ: t.Type) -> Any:
    """`v` in the canonical column's Python form; raises `_Unclean` when the row engine must decide."""
    if isinstance(typ, t.Prim):
        name = typ.name
        tv = type(v)
        if name == "string":
            if tv is str and (v.isascii() or not _SURROGATE.search(v)):  # Arrow holds only real text
                return v
        elif name == "country":
            if tv is str and v in COUNTRIES:
                return v
        elif name == "int":
            if tv is int and _I64[0] <= v <= _I64[1]:
                return v
        elif name == "number":
            if tv is int:
                if abs(v) < 10**_MAX_INT_DIGITS:
                    return v
            elif tv is Decimal:
                return _exact_decimal(v)
            elif tv is float and math.isfinite(v):
                return _exact_decimal(to_decimal(v))
        elif name == "bool":
            if tv is bool:
                return v
        elif name == "date":
            if tv is datetime.date:
                return v
            if tv is str:
                try:
                    return r.date(v)
                except r.RecordError:
                    pass
        raise _Unclean
    if isinstance(typ, t.EnumT):
        if type(v) is str and v in typ.members:
            return v
        raise _Unclean
    if isinstance(typ, (t.ListT, t.SetT)):
        if not isinstance(v, (list, tuple, set, frozenset)):
            raise _Unclean
        out: list[Any] = []
        for x in v:
            if x is None:
                raise _Unclean
            out.append(py_value(x, typ.elem))
        return out
    if isinstance(typ, t.StructT):
        if not isinstance(v, Mapping):
            raise _Unclean
        obj: dict[str, Any] = {}
        for f in typ.fields.values():
            x = v.get(f.name)
            if x is None:
                if not f.optional:
                    raise _Unclean
                obj[f.name] = None
            else:
                obj[f.name] = py_value(x, f.type)
        return obj
    raise _Unclean


def canon_rows(rows: list[Any], record: t.StructT, schema: pa.Schema) -> tuple[pa.Table, np.ndarray]:
    """Canonical table of Python records (non-mappings and unclean rows are flagged, left empty)."""
    out: list[dict[str, Any] | None] = []
    bad = np.zeros(len(rows), dtype=bool)
    for k, row in enumerate(rows):
        try:
            if not isinstance(row, Mapping):
                raise _Unclean
            out.append(py_value(row, record))
        except _Unclean:
            bad[k] = True
            out.append(None)
    empty = {f.name: None for f in record.fields.values()}
    table = pa.Table.from_pylist([x if x is not None else empty for x in out], schema=schema)
    return table, bad


# ---- Arrow columns (Parquet, Arrow, pandas, polars) -----------------------------------------------


def _py_column(arr: pa.Array, typ: t.Type) -> tuple[pa.Array, np.ndarray]:
    """The slow path: convert value by value (distinct values once)."""
    values = arr.to_pylist()
    bad = np.zeros(len(values), dtype=bool)
    cache: dict[Any, Any] = {}
    out: list[Any] = []
    for k, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        try:
            key = (type(v), v) if isinstance(v, (str, int, float, Decimal)) else None
            if key is not None and key in cache:
                out.append(cache[key])
                continue
            c = py_value(_arrow_value(v), typ)
            if key is not None:
                cache[key] = c
            out.append(c)
        except _Unclean:
            bad[k] = True
            out.append(None)
    return pa.array(out, type=arrow_type(typ)), bad


_SIG_LIMIT = 1e15  # a decimal of at most 15 significant digits is the only one to print as its float


def _float_column(arr: pa.Array, typ: t.Type) -> tuple[pa.Array, np.ndarray]:
    """Floats as the decimals they print as (`values.to_decimal`), vectorised.

    For d = 0..9 places, q = round(x·10^d) is a candidate when q/10^d gives x back. With at most
    15 significant digits (|q| < 10^15) that decimal is the only one of so few digits that rounds
    to x, so it is what `repr(x)` prints: the row engine's exact value. The few floats that need
    more digits or places (and NaN, infinities) take the value-by-value path.
    """
    x = np.asarray(arr.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    valid = _valid(arr)
    q_all = np.zeros(len(x), dtype=np.int64)
    scale = np.zeros(len(x), dtype=np.int64)
    idx = np.flatnonzero(valid)  # NaN and infinities never pass the test below: the slow path flags them
    xs = x[idx]
    with np.errstate(invalid="ignore", over="ignore"):
        # first all places at once (|x| < 10^6): the decimal is the same whichever d finds it
        # (the one decimal of at most 15 digits that gives x), so most amounts take one pass
        p = 10.0**NUMBER_SCALE
        q = np.round(xs * p)
        ok = (np.abs(q) < _SIG_LIMIT) & (q / p == xs)
        q_all[idx[ok]] = q[ok]
        idx, xs = idx[~ok], xs[~ok]
        for d in range(NUMBER_SCALE):
            if not len(idx):
                break
            p = 10.0**d
            q = np.round(xs * p)
            ok = (np.abs(q) < _SIG_LIMIT) & (q / p == xs)
            q_all[idx[ok]] = q[ok]
            scale[idx[ok]] = NUMBER_SCALE - d
            idx, xs = idx[~ok], xs[~ok]
    todo = np.zeros(len(x), dtype=bool)
    todo[idx] = True
    out = pa.Array.from_buffers(DECIMAL, len(x), [None, pa.py_buffer(_unscaled128(q_all, scale))])
    slow = todo & valid
    bad = np.zeros(len(x), dtype=bool)
    if slow.any():
        where = np.flatnonzero(slow)
        values, vbad = _py_column(arr.take(pa.array(where)), typ)
        bad[where] = vbad
        out = pc.replace_with_mask(out, pa.array(slow), values)
    if not valid.all():
        out = pc.if_else(pa.array(valid), out, pa.nulls(len(x), DECIMAL))
    return out, bad


_POWERS = np.array([10**k for k in range(NUMBER_SCALE + 1)], dtype=np.uint64)


def _unscaled128(q: np.ndarray, places: np.ndarray) -> np.ndarray:
    """q·10^places (|q| < 2^50, places <= 9) as little-endian two's-complement 128-bit integers.

    The decimal128 buffer, built with numpy in 64-bit halves: Arrow's decimal multiply is
    several times slower than the float conversion itself.
    """
    if not places.any():  # already scaled (the one-pass case): sign-extend the int64 halves
        out = np.empty((len(q), 2), dtype=np.int64)
        out[:, 0] = q
        out[:, 1] = q >> 63
        return out.view(np.uint64)
    neg = q < 0
    a = np.abs(q).astype(np.uint64)
    m = _POWERS[places]
    low32 = np.uint64(0xFFFFFFFF)
    p_lo = (a & low32) * m  # < 2^62
    p_hi = (a >> np.uint64(32)) * m  # < 2^48
    lo = p_lo + ((p_hi & low32) << np.uint64(32))  # wraps modulo 2^64
    hi = (p_hi >> np.uint64(32)) + (lo < p_lo).astype(np.uint64)
    neg_lo = ~lo + np.uint64(1)
    neg_hi = ~hi + (lo == 0).astype(np.uint64)
    out = np.empty((len(q), 2), dtype=np.uint64)
    out[:, 0] = np.where(neg, neg_lo, lo)
    out[:, 1] = np.where(neg, neg_hi, hi)
    return out


def _arrow_value(v: Any) -> Any:
    if isinstance(v, datetime.datetime):
        return v
    if isinstance(v, list):
        return [_arrow_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _arrow_value(x) for k, x in v.items()}
    return v


def _valid(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def canon_array(arr: pa.Array, typ: t.Type) -> tuple[pa.Array, np.ndarray]:
    """`arr` as the canonical column of `typ`, and which of its values are unclean."""
    n_ = len(arr)
    target = arrow_type(typ)
    at = arr.type
    none = np.zeros(n_, dtype=bool)
    if pa.types.is_dictionary(at):
        arr = arr.dictionary_decode()
        at = arr.type
    if pa.types.is_null(at):
        return pa.nulls(n_, target), none
    if isinstance(typ, (t.EnumT,)) or typ in (t.STRING, t.COUNTRY):
        if pa.types.is_string(at) or pa.types.is_large_string(at) or pa.types.is_string_view(at):
            out = arr.cast(pa.string())
            if typ == t.STRING:
                return out, none
            members = _COUNTRY_SET if typ == t.COUNTRY else pa.array(typ.members, type=pa.string())  # type: ignore[union-attr]
            known = pc.is_in(out, value_set=members).to_numpy(zero_copy_only=False).astype(bool)
            return out, _valid(out) & ~known
        return pa.nulls(n_, target), _valid(arr)
    if typ == t.INT:
        if pa.types.is_integer(at):
            try:
                return arr.cast(pa.int64()), none
            except (pa.ArrowInvalid, OverflowError):
                return _py_column(arr, typ)
        return pa.nulls(n_, target), _valid(arr)
    if typ == t.NUMBER:
        if pa.types.is_integer(at):
            if at.bit_width <= 64:
                return arr.cast(DECIMAL), none
            return _py_column(arr, typ)
        if pa.types.is_decimal(at) and at.scale <= NUMBER_SCALE and at.precision - at.scale <= _MAX_INT_DIGITS:
            return arr.cast(DECIMAL), none
        if pa.types.is_floating(at):
            return _float_column(arr, typ)
        if pa.types.is_decimal(at):
            return _py_column(arr, typ)
        return pa.nulls(n_, target), _valid(arr)
    if typ == t.BOOL:
        if pa.types.is_boolean(at):
            return arr, none
        return pa.nulls(n_, target), _valid(arr)
    if typ == t.DATE:
        if pa.types.is_date32(at):
            return arr, _date_out_of_range(arr)
        if pa.types.is_date64(at):
            out = arr.cast(pa.date32())
            return out, _date_out_of_range(out)
        if pa.types.is_string(at) or pa.types.is_large_string(at):
            arr = arr.cast(pa.string())
            uniq = pc.unique(arr)
            parsed: list[datetime.date | None] = []
            for s in uniq.to_pylist():
                try:
                    parsed.append(r.date(s) if s is not None else None)
                except r.RecordError:
                    parsed.append(None)
            dates = pa.array(parsed, type=pa.date32())
            out = dates.take(pc.index_in(arr, value_set=uniq))
            bad = _valid(arr) & ~_valid(out)
            return out, bad
        return pa.nulls(n_, target), _valid(arr)
    if isinstance(typ, (t.ListT, t.SetT)):
        if pa.types.is_list(at) or pa.types.is_large_list(at) or pa.types.is_fixed_size_list(at):
            flat = arr.flatten()
            values, vbad = canon_array(flat, typ.elem)
            lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False).astype(np.int64)
            offsets = np.zeros(n_ + 1, dtype=np.int32)
            np.cumsum(lengths, out=offsets[1:])
            valid = _valid(arr)
            out_arr = pa.ListArray.from_arrays(pa.array(offsets), values, type=target,
                                               mask=pa.array(~valid) if not valid.all() else None)
            bad = none.copy()
            vbad = vbad | ~_valid(values)  # a null element is a record error
            if vbad.any():
                parents = pc.list_parent_indices(arr).to_numpy(zero_copy_only=False)
                bad[parents[vbad]] = True
            return out_arr, bad
        return pa.nulls(n_, target), _valid(arr)
    if isinstance(typ, t.StructT):
        if pa.types.is_struct(at):
            names = {at.field(k).name for k in range(at.num_fields)}
            children = []
            bad = none.copy()
            valid = _valid(arr)
            for f in typ.fields.values():
                if f.name in names:
                    child, cbad = canon_array(arr.field(f.name), f.type)
                    bad |= cbad & valid
                else:
                    child = pa.nulls(n_, arrow_type(f.type))
                if not f.optional:
                    bad |= valid & ~_valid(child)  # a required field is missing or null
                children.append(child)
            out_s = pa.StructArray.from_arrays(children, fields=list(target),
                                               mask=pa.array(~valid) if not valid.all() else None)
            return out_s, bad
        return pa.nulls(n_, target), _valid(arr)
    return pa.nulls(n_, target), _valid(arr)


#: date32 days of 0001-01-01 and 9999-12-31: Python's `datetime.date` holds nothing outside
_DAY_MIN = (datetime.date(1, 1, 1) - datetime.date(1970, 1, 1)).days
_DAY_MAX = (datetime.date(9999, 12, 31) - datetime.date(1970, 1, 1)).days


def _date_out_of_range(arr: pa.Array) -> np.ndarray:
    """Which dates of a date32 column lie outside years 1 to 9999 (the row engine says why)."""
    days = arr.cast(pa.int32())
    out = pc.or_(pc.less(days, _DAY_MIN), pc.greater(days, _DAY_MAX))
    return np.asarray(pc.fill_null(out, False).to_numpy(zero_copy_only=False), dtype=bool)


def canon_table(table: pa.Table | pa.RecordBatch, record: t.StructT, schema: pa.Schema) -> tuple[pa.Table, np.ndarray]:
    """The canonical table of an Arrow table or batch, and the rows to decide with the row engine."""
    n_ = table.num_rows
    bad = np.zeros(n_, dtype=bool)
    names = set(table.schema.names)
    columns = []
    for f in record.fields.values():
        if f.name in names:
            col = table.column(f.name)
            if isinstance(col, pa.ChunkedArray):
                col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
            arr, b = canon_array(col, f.type)
            bad |= b
        else:
            arr = pa.nulls(n_, arrow_type(f.type))
        if not f.optional:
            bad |= ~_valid(arr)
        columns.append(arr)
    return pa.Table.from_arrays(columns, schema=schema), bad
