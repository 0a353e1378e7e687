"""Source text and spans: every location holds the text it points into (as Cedar does).

A span is excluded from node equality, so two trees that differ only in layout compare equal:
that is what parse/format round-trip tests rely on.
"""

from __future__ import annotations

import contextlib
import os
from contextvars import ContextVar
from pathlib import Path
from typing import Iterator

import attrs

from . import files

# Files read while a policy loads, when someone records them (provenance: the policy's hash
# covers every import, list file and catalogue it read, so that a list update changes it).
_READS: ContextVar[list[tuple[Path, bytes]] | None] = ContextVar("ecrules_reads", default=None)


@contextlib.contextmanager
def recording_reads() -> Iterator[list[tuple[Path, bytes]]]:
    """Collect `(resolved path, bytes)` of every file `read_text` reads inside the block."""
    reads: list[tuple[Path, bytes]] = []
    token = _READS.set(reads)
    try:
        yield reads
    finally:
        _READS.reset(token)


def note_read(path: Path, raw: bytes) -> None:
    """Record a file a policy's loading read (a list read as bytes, not through `read_text`),
    so that the policy's content hash covers it."""
    reads = _READS.get()
    if reads is not None:
        reads.append((path.resolve(), raw))


@attrs.frozen(eq=False)
class Source:
    """One file's text; `name` is how diagnostics name it (a path, or `<string>`)."""

    name: str
    text: str

    def line(self, number: int) -> str:
        """The 1-based line `number`, without its newline."""
        lines = self.text.splitlines()
        return lines[number - 1] if 0 < number <= len(lines) else ""


@attrs.frozen(eq=False)
class Span:
    source: Source
    line: int
    column: int
    end_line: int
    end_column: int

    @property
    def text(self) -> str:
        """The source text the span covers (first line only when it spans several)."""
        line = self.source.line(self.line)
        end = self.end_column - 1 if self.end_line == self.line else len(line)
        return line[self.column - 1 : max(end, self.column)]

    def __str__(self) -> str:
        return f"{self.source.name}:{self.line}:{self.column}"


def display_path(path: Path) -> str:
    """How diagnostics name a file: relative to the working directory when it is below it."""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


def read_text(path: Path, *, limit: int | None = None, keep_bom: bool = False,
              policy: bool = True) -> tuple[str, str | None]:
    """A file's UTF-8 text, or why it could not be read (a phrase that follows the file's name).

    Only a regular file of at most `limit` bytes is read (by default `files.MAX_POLICY_BYTES`,
    read when called, so that changing it takes effect), and only text: a file that is not UTF-8,
    or a `policy` file that holds a NUL byte (binary, not a policy), is refused with its line,
    never with its content. A list file (`policy=False`) may hold a NUL in an entry: entries are
    data. A leading byte-order mark (as Windows editors write) is dropped unless `keep_bom`.
    """
    raw, problem = files.read_bytes(path, files.MAX_POLICY_BYTES if limit is None else limit)
    if problem is not None:
        return "", problem
    note_read(path, raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return "", f"is not UTF-8 text (line {line})"
    if policy and "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        return "", f"is binary, not text: it holds a NUL byte (line {line})"
    return (text if keep_bom else strip_bom(text)), None


def strip_bom(text: str) -> str:
    """Text without a leading UTF-8 byte-order mark (Excel, Notepad and some exporters write one):
    it marks the encoding, it is not content."""
    return text[1:] if text[:1] == "\ufeff" else text
