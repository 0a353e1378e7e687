"""Output files that never look complete when they are not: written aside, renamed on success.

An interrupted run (a crash, Ctrl-C, a full disk) must not leave a Parquet file or a JSON Lines
file that a downstream job reads as the whole batch. Decisions are written to a temporary name
in the target's own directory (so the rename is atomic on POSIX) and renamed over the target
only when every decision is written; on failure the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
from typing import Any, Callable, Iterator


class OutputError(Exception):
    """Decisions cannot be written to `path`: a one-line message for the command line."""

    def __init__(self, path: str, exc: OSError):
        reason = exc.strerror or str(exc)
        super().__init__(f"cannot write `{path}`: {reason[:1].lower() + reason[1:]}")
        self.path = path


def _mode_for(path: str) -> int:
    """The permission bits a plain `open(path, "w")` would give (the existing file's, or umask's)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


@contextlib.contextmanager
def replacing(path: str) -> Iterator[str]:
    """A path to write instead of `path`, renamed over it when the block ends without an error.

    A path that exists and is not a regular file (`/dev/full`, a FIFO, `/dev/stdout`) is written in
    place: it cannot be renamed over, and a reader of it sees the stream as it comes anyway.
    Raises `OutputError` when the target cannot be written (no such folder, a folder).
    """
    tmp: str | None = None
    try:
        if path.endswith(("/", os.sep)) or os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not (os.path.exists(path) and not os.path.isfile(path)):
            folder = os.path.dirname(path) or "."
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".part")
            os.close(fd)
            os.chmod(tmp, _mode_for(path))
    except OSError as exc:
        raise OutputError(path, exc) from None
    if tmp is None:
        yield path
        return
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def text_output(output: str) -> Iterator[Callable[[str], Any]]:
    """A `write` for decisions to `output` (`-`: standard output); a file is written aside and
    renamed into place on success. Any failure to write is an `OutputError`."""
    if output == "-":
        yield sys.stdout.write
        try:
            sys.stdout.flush()
        except OSError as exc:
            raise OutputError("-", exc) from None
        return
    with replacing(output) as target:
        try:
            stream = open(target, "w", encoding="utf-8")
        except OSError as exc:
            raise OutputError(output, exc) from None
        try:
            yield stream.write
        finally:
            try:
                stream.close()
            except OSError as exc:
                raise OutputError(output, exc) from None


__all__ = ["OutputError", "replacing", "text_output"]
