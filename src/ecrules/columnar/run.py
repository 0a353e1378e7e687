"""The columnar side of `ecrules eval`: choosing the engine, streaming chunks to the output."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..policy import Policy
    from .engine import ColumnarEngine

#: `--engine auto` uses the columnar engine for input files of at least this many bytes.
AUTO_MIN_BYTES = 8 * 2**20


def choose(policy: Policy, engine: str, records: str, batch_size: int) -> tuple[ColumnarEngine | None, str | None]:
    """The columnar engine to use (None: the row engine), and a note for standard error.

    Raises `Unsupported` (or ImportError) only for `engine == "columnar"`.
    """
    if engine == "row":
        return None, None
    if engine == "auto":
        size = Path(records).stat().st_size if records != "-" else 0
        if size < AUTO_MIN_BYTES:
            return None, None
    from .sqlgen import Unsupported

    try:
        from .engine import ColumnarEngine

        return ColumnarEngine(policy, batch_size=batch_size), None
    except (Unsupported, ImportError) as exc:
        if engine == "columnar":
            raise
        return None, f"note: {exc}; using the row engine"


def _total(records: str, fmt: str | None) -> int | None:
    from ..inputs import _kind

    if records != "-" and (fmt or _kind(records)) == "parquet":
        import pyarrow.parquet as pq

        with pq.ParquetFile(records) as pf:
            return int(pf.metadata.num_rows)
    return None


def run(engine: ColumnarEngine, records: str, fmt: str | None, output: str, progress: bool | None = None) -> Counter[str]:
    """Decide RECORDS in chunks, writing JSON Lines or Parquet; the outcome counts.

    A progress bar with records per second goes to standard error when it is a terminal.
    """
    import numpy as np

    counts: Counter[str] = Counter()
    show = sys.stderr.isatty() if progress is None else progress
    bar: Any = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=_total(records, fmt), unit=" records", unit_scale=True, file=sys.stderr,
                   desc="deciding", dynamic_ncols=True)
    chunks = engine.run_path(records, fmt) if records != "-" else engine.run_rows(_stdin())
    writer: Any = None
    stream: Any = None
    try:
        if output.endswith(".parquet"):
            import pyarrow.parquet as pq

            from .engine import DECISION_SCHEMA

            writer = pq.ParquetWriter(output, DECISION_SCHEMA)
        else:
            stream = sys.stdout if output == "-" else open(output, "w", encoding="utf-8")
        for chunk in chunks:
            if writer is not None:
                writer.write_table(chunk.to_arrow())
            else:
                stream.writelines(chunk.json_lines())
            per = np.bincount(chunk.index, minlength=len(chunk.decisions))
            for d, k in zip(chunk.decisions, per.tolist()):
                if k:
                    counts[d.outcome] += k
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if writer is not None:
            writer.close()
        if stream is not None and stream is not sys.stdout:
            stream.close()
        if bar is not None:
            bar.close()
    return counts


def _stdin() -> Any:
    from ..inputs import read_jsonl

    return read_jsonl("-")
