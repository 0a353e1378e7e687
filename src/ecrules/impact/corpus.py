"""A population of records with their decisions, as columns: what impact and diff count over.

Records come as a path (JSON Lines, CSV, Parquet), an Arrow table, a pandas/polars DataFrame or a
list of dicts. Arrow and Parquet go through the columnar engine; JSON Lines and CSV through the
row engine over the same reader that gives the field values, so record k's values and decision
always belong together (count in = count out, a bad line is an `error` decision).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import types as t
from ..checked import Checked
from ..inputs import BadLine, read_records
from ..policy import Policy

FieldPath = tuple[str, ...]


def scalar_paths(c: Checked) -> dict[FieldPath, t.Type]:
    """Every record path that holds one scalar value (not through a list or a set)."""
    out: dict[FieldPath, t.Type] = {}

    def walk(typ: t.Type, path: FieldPath) -> None:
        if isinstance(typ, t.StructT):
            for name, f in typ.fields.items():
                walk(f.type, path + (name,))
        elif not isinstance(typ, (t.ListT, t.SetT)) and path:
            out[path] = typ

    if c.record is not None:
        walk(c.record, ())
    return out


def dotted(path: FieldPath) -> str:
    return ".".join(path)


@attrs.frozen
class Corpus:
    """Decisions of one policy on a population, and the population's scalar fields.

    `outcome` is an object array of outcome strings; `fired[rule]` a boolean mask; `basis` the
    flattened basis entries (row, rule, kind, instrument, member); `columns[path]` the field's
    values as text (None where absent or the record is not an object).
    """

    n: int
    ids: list[Any]
    outcome: np.ndarray
    fired: dict[str, np.ndarray]
    basis: dict[str, np.ndarray]
    columns: dict[FieldPath, np.ndarray]
    decisions: pa.Table

    def column(self, path: FieldPath) -> np.ndarray:
        return self.columns[path]


def _text(v: Any) -> Any:
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _get(record: Any, path: FieldPath) -> Any:
    cur = record
    for part in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return _text(cur)


def _arrow_column(table: pa.Table, path: FieldPath) -> np.ndarray:
    n = table.num_rows
    if path[0] not in table.column_names:
        return np.full(n, None, dtype=object)
    col: Any = table.column(path[0])
    for part in path[1:]:
        if not pa.types.is_struct(col.type) or col.type.get_field_index(part) < 0:
            return np.full(n, None, dtype=object)
        col = pc.struct_field(col, part)
    if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
        col = pc.cast(col, pa.string(), safe=False) if not pa.types.is_nested(col.type) else None
    if col is None:
        return np.full(n, None, dtype=object)
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)


def _from_decisions(decisions: pa.Table) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    n = decisions.num_rows
    outcome = np.asarray(decisions.column("outcome").to_numpy(zero_copy_only=False), dtype=object)
    fired_col = decisions.column("fired").combine_chunks()
    rows = np.asarray(pc.list_parent_indices(fired_col))
    names = np.asarray(pc.list_flatten(fired_col).to_numpy(zero_copy_only=False), dtype=object)
    fired: dict[str, np.ndarray] = {}
    for rule in np.unique(names) if len(names) else ():
        mask = np.zeros(n, dtype=bool)
        mask[rows[names == rule]] = True
        fired[str(rule)] = mask
    basis_col = decisions.column("basis").combine_chunks()
    flat = pc.list_flatten(basis_col)
    basis: dict[str, np.ndarray] = {"row": np.asarray(pc.list_parent_indices(basis_col))}
    for key in ("rule", "kind", "instrument", "member"):
        if flat.type.get_field_index(key) >= 0:
            basis[key] = np.asarray(pc.struct_field(flat, key).to_numpy(zero_copy_only=False), dtype=object)
        else:
            basis[key] = np.full(len(flat), None, dtype=object)
    return outcome, fired, basis


def _decisions_table(decisions: Sequence[Any]) -> pa.Table:
    from ..outputs import DECISION_SCHEMA

    basis_type = DECISION_SCHEMA.field("basis").type.value_type
    keys = [basis_type.field(i).name for i in range(basis_type.num_fields)]
    rows = [{
        "id": str(d.id), "outcome": d.outcome, "fired": list(d.fired), "obligations": list(d.obligations),
        "basis": [{k: b.to_dict().get(k) for k in keys} for b in d.basis],
        "policy": d.policy, "version": d.version,
        "error_field": d.error.field if d.error else None, "error_rule": d.error.rule if d.error else None,
        "error_message": d.error.message if d.error else None, "matches": list(d.matches),
    } for d in decisions]
    return pa.Table.from_pylist(rows, DECISION_SCHEMA)


def _row_corpus(policy: Policy, records: Iterable[Any], paths: Iterable[FieldPath]) -> tuple[pa.Table, dict[FieldPath, np.ndarray]]:
    wanted = list(paths)
    values: dict[FieldPath, list[Any]] = {p: [] for p in wanted}
    decisions = []
    for k, rec in enumerate(records, 1):
        if isinstance(rec, BadLine):
            from ..decision import Decision, DecisionError

            decisions.append(Decision(k, "error", (), (), (), policy.name, policy.version,
                                      DecisionError(rec.message)))
            for p in wanted:
                values[p].append(None)
            continue
        decisions.append(policy.evaluate(rec, position=k))
        for p in wanted:
            values[p].append(_get(rec, p))
    return _decisions_table(decisions), {p: np.asarray(v, dtype=object) for p, v in values.items()}


def load_corpus(policy: Policy, data: Any, paths: Iterable[FieldPath], *, engine: str = "auto",
                input_format: str | None = None) -> Corpus:
    """Decide `data` with `policy` and read the scalar fields `paths` of every record."""
    wanted = list(dict.fromkeys(paths))
    table: pa.Table | None = None
    rows: Iterable[Any] | None = None
    if isinstance(data, (str, Path)):
        p = str(data)
        kind = input_format or {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}.get(Path(p).suffix.lower(), "jsonl")
        if kind == "parquet":
            table = pq.read_table(p)
        else:
            rows = read_records(p, policy.checked, kind)
    else:
        from ..columnar.feed import to_arrow

        table = to_arrow(data)
        if table is None:
            rows = data.to_dict("records") if type(data).__module__.startswith("pandas") else list(data)
    if table is not None and engine != "row":
        try:
            decisions = policy.evaluate_table(table)
            columns = {p: _arrow_column(table, p) for p in wanted}
        except Exception as exc:  # the columnar engine refuses some constructs: decide row by row
            from ..columnar.engine import Unsupported

            if not isinstance(exc, Unsupported):
                raise
            rows = table.to_pylist()
            table = None
    if table is None or engine == "row":
        if rows is None:
            assert table is not None
            rows = table.to_pylist()
        decisions, columns = _row_corpus(policy, rows, wanted)
    outcome, fired, basis = _from_decisions(decisions)
    ids = decisions.column("id").to_pylist()
    return Corpus(decisions.num_rows, ids, outcome, fired, basis, columns, decisions)


__all__ = ["Corpus", "FieldPath", "dotted", "load_corpus", "scalar_paths"]
