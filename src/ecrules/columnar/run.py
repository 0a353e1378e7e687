"""The columnar side of `ecrules eval`: choosing the engine, streaming chunks to the output."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..checked import Program
    from .engine import ColumnarEngine

#: `--engine auto` uses the columnar engine for input files of at least this many bytes.
AUTO_MIN_BYTES = 8 * 2**20


def choose(policy: Program, engine: str, records: str, batch_size: int) -> tuple[ColumnarEngine | None, str | None]:
    """The columnar engine to use (None: the row engine), and a note for standard error.

    Raises `Unsupported` (or ImportError) only for `engine == "columnar"`.
    """
    if engine == "row":
        return None, None
    if engine == "auto":
        size = Path(records).stat().st_size if records != "-" and Path(records).is_file() else 0
        if size < AUTO_MIN_BYTES:
            return None, None
    from .dialects import Unsupported

    try:
        from .engine import ColumnarEngine

        return ColumnarEngine(policy, batch_size=batch_size), None
    except (Unsupported, ImportError) as exc:
        if engine == "columnar":
            raise
        return None, f"note: {exc}; using the row engine"


def _total(records: str, fmt: str | None) -> int | None:
    from ..inputs import _kind

    if records != "-" and (fmt or _kind(records)) == "parquet" and Path(records).is_file():
        import pyarrow.parquet as pq

        with pq.ParquetFile(records) as pf:
            return int(pf.metadata.num_rows)
    return None


def run(engine: ColumnarEngine, records: str, fmt: str | None, output: str, progress: bool | None = None) -> Counter[str]:
    """Decide RECORDS in chunks, writing JSON Lines or Parquet; the outcome counts.

    A progress bar with records per second goes to standard error when it is a terminal.
    """
    counts: Counter[str] = Counter()
    show = sys.stderr.isatty() if progress is None else progress
    bar: Any = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=_total(records, fmt), unit=" records", unit_scale=True, file=sys.stderr,
                   desc="deciding", dynamic_ncols=True)
    from ..inputs import reading
    from ..outfiles import OutputError, text_output

    chunks = reading(engine.run_path(records, fmt), records)
    try:
        if output.endswith(".parquet"):
            import pyarrow.parquet as pq

            from ..outfiles import replacing
            from ..outputs import _write
            from .engine import DECISION_SCHEMA

            with replacing(output) as target:
                try:
                    writer = pq.ParquetWriter(target, DECISION_SCHEMA)
                except OSError as exc:
                    raise OutputError(output, exc) from None
                try:
                    for chunk in chunks:
                        _write(writer, chunk.to_arrow(), output)
                        _count(chunk, counts, bar)
                finally:
                    try:
                        writer.close()
                    except OSError as exc:
                        raise OutputError(output, exc) from None
        else:
            with text_output(output) as write:
                for chunk in chunks:
                    try:
                        write("".join(chunk.json_lines()))
                    except OSError as exc:
                        raise OutputError(output, exc) from None
                    _count(chunk, counts, bar)
    finally:
        if bar is not None:
            bar.close()
    return counts


def _count(chunk: Any, counts: Counter[str], bar: Any) -> None:
    import numpy as np

    per = np.bincount(chunk.index, minlength=len(chunk.decisions))
    for d, k in zip(chunk.decisions, per.tolist()):
        if k:
            counts[d.outcome] += k
    if bar is not None:
        bar.update(len(chunk))
