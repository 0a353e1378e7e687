"""The decisions of one chunk, as the columnar engine hands them over: distinct decisions plus an
index a row, the ids apart (an Arrow column where it can be), and their JSON Lines and Arrow forms
built from that without a Python object a row where possible."""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..decision import Decision, id_text, json_id
from ..outputs import BASIS_TYPE, DECISION_SCHEMA, MATCHES_TYPE


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
