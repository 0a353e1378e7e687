"""Reading the files a policy names, on the policy's behalf: only inside its tree, only regular
files, only so many bytes (docs/security.md).

A policy comes from elsewhere, so the paths it names (`import`, list files) are untrusted. One
rule holds them all to the policy's folder tree (`inside_tree`), and one reader refuses what is
not a regular file before opening it (a FIFO would block, `/dev/zero` never ends) and stops at a
size cap instead of reading the whole of a huge file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_POLICY_BYTES = 10 * 1024 * 1024
"""The largest policy file ecrules reads (the loaded one and every import): 10 MiB. The bundled
policies are under 40 KB. Change it by setting `ecrules.files.MAX_POLICY_BYTES` before loading."""

MAX_LIST_BYTES = 1024 * 1024 * 1024
"""The largest list file (`set ... = file "..."`) ecrules reads: 1 GiB (real screening lists are
tens of megabytes). Change it by setting `ecrules.files.MAX_LIST_BYTES` before loading."""

ROOT_MARKER = ".ecrules-root"
"""A file of this name in a folder above a policy makes that folder the policy's tree, so that a
library such as `policies/common/trade.ecp` may import `../instruments/unsc.ecp` when checked on
its own. Only a marker owned by the user running ecrules (or by root) counts, as git trusts only
repositories its user owns: a marker planted in a shared folder such as /tmp widens nothing."""


def tree_root(folder: Path) -> Path:
    """The root of the tree of a policy in `folder`: the nearest folder, from `folder` up, that
    holds a trusted `ROOT_MARKER`; `folder` itself when none does."""
    start = folder.resolve()
    for candidate in (start, *start.parents):
        try:
            st = (candidate / ROOT_MARKER).lstat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_uid in (0, _euid()):
            return candidate
    return start


def _euid() -> int:
    geteuid = getattr(os, "geteuid", None)
    return int(geteuid()) if geteuid is not None else 0


def inside_tree(root: Path, path: Path) -> bool:
    """Whether `path` lies in the folder `root` or below it, symlinks resolved in both."""
    real, top = path.resolve(), root.resolve()
    return real == top or top in real.parents


TREE_HELP = ("a policy reads files in its own folder or below it only (or below a folder marked "
             f"with a `{ROOT_MARKER}` file: docs/security.md)")


def printable(text: str) -> str:
    """`text` with control characters escaped, to quote an untrusted path in a one-line message."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


_KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _not_regular(mode: int) -> str | None:
    """Why a file of this mode is not read, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return f"is {kind}, not a regular file"


def _too_large(size: int, limit: int) -> str:
    return f"is too large: {size:,} bytes, over the limit of {limit:,}"


def probe(path: Path, limit: int | None) -> str | None:
    """Why the file at `path` is not read (a phrase that follows its name), from `stat` alone
    (nothing is opened); None for a regular file of at most `limit` bytes."""
    if "\x00" in str(path):
        return "has a NUL character in its path"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "does not exist"
    except NotADirectoryError:
        return "does not exist (a part of its path is a file)"
    except OSError as exc:
        return f"cannot be read: {(exc.strerror or str(exc)).lower()}"
    problem = _not_regular(st.st_mode)
    if problem is None and limit is not None and st.st_size > limit:
        problem = _too_large(st.st_size, limit)
    return problem


def read_bytes(path: Path, limit: int | None) -> tuple[bytes, str | None]:
    """A regular file's bytes (at most `limit`), or why not: a phrase that follows its name.

    The file is checked with `stat` before it is opened (`probe`), opened without blocking,
    checked again on the open descriptor (it may have been swapped in between), and read to at
    most `limit` bytes, so that neither a FIFO nor a device nor a growing file can hang ecrules
    or exhaust its memory.
    """
    problem = probe(path, limit)
    if problem is not None:
        return b"", problem
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return b"", f"cannot be read: {(exc.strerror or str(exc)).lower()}"
    try:
        problem = _not_regular(os.fstat(fd).st_mode)
        if problem is not None:
            return b"", problem
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read() if limit is None else stream.read(limit + 1)
    except OSError as exc:
        return b"", f"cannot be read: {(exc.strerror or str(exc)).lower()}"
    finally:
        os.close(fd)
    if limit is not None and len(data) > limit:
        return b"", _too_large(len(data), limit)
    return data, None
