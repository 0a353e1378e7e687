"""Getting chunks to the columnar engine: tables from the DataFrame libraries, and reading ahead."""

from __future__ import annotations

from typing import Any, Iterator

import pyarrow as pa


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
