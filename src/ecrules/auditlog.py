"""The decision log: append-only, hash-chained JSON Lines, safe to share between processes.

Each line is `{"hash":"sha256:<64 hex>","entry":ENTRY}` where ENTRY is compact JSON holding the
entry's `seq` (1, 2, ...), `prev` (the previous line's hash; `GENESIS` for the first), the
decision, its provenance, and the record it decided; `hash` is the SHA-256 of ENTRY's exact bytes.
Editing any byte of an entry breaks its hash; removing or reordering entries breaks `seq` and
`prev`.

Why JSON Lines rather than SQLite: a decision log is read by auditors and tools years later, and a
text file needs no library to read, diff or grep; append-only is what a file opened with
`O_APPEND` does; and the chain, not the store, is what proves integrity. Writers take an exclusive
`flock` on the file for each batch, read the last line's hash under the lock, append whole lines
with one `write`, and `fsync` before releasing it: concurrent writers interleave whole batches and
never fork the chain. A process killed mid-write can leave at most one torn last line, never
acknowledged; the next writer cuts it off before appending, and `verify` reports it as torn, not
as tampering.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Iterator, NamedTuple

from .contenthash import canonical_json

GENESIS = "sha256:" + "0" * 64
_PREFIX = '{"hash":"'
_HASH_LEN = len("sha256:") + 64
_MIDDLE = '","entry":'


def _entry_hash(entry_text: str) -> str:
    return "sha256:" + hashlib.sha256(entry_text.encode("utf-8")).hexdigest()


def _line(entry_text: str) -> str:
    return f'{_PREFIX}{_entry_hash(entry_text)}{_MIDDLE}{entry_text}}}\n'


def _split(line: str) -> tuple[str, str] | None:
    """(hash, entry text) of a well-formed line, or None."""
    start = len(_PREFIX) + _HASH_LEN
    if not (line.startswith(_PREFIX) and line[start : start + len(_MIDDLE)] == _MIDDLE and line.endswith("}")):
        return None
    return line[len(_PREFIX) : start], line[start + len(_MIDDLE) : -1]


def _last_line(fd: int) -> bytes:
    """The last complete line of the file open on `fd` (empty when there is none)."""
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return b""
    block = 1 << 16
    end = size
    data = b""
    while end > 0:
        start = max(0, end - block)
        data = os.pread(fd, end - start, start) + data
        end = start
        body = data[:-1]
        if b"\n" in body or end == 0:
            return body[body.rfind(b"\n") + 1 :]
    return data


def _cut_torn_tail(fd: int) -> None:
    """Cut off a last line a killed writer left without its newline: it was never completed."""
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    end = size
    while end > 0:
        start = max(0, end - (1 << 16))
        chunk = os.pread(fd, end - start, start)
        k = chunk.rfind(b"\n")
        if k >= 0:
            os.ftruncate(fd, start + k + 1)
            return
        end = start
    os.ftruncate(fd, 0)


class DecisionLog:
    """An open decision log; `append` writes a batch of entries atomically with respect to other writers."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> DecisionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, entries: Iterable[dict[str, Any]]) -> int:
        """Chain and append `entries` (without `seq` and `prev`: added here); the number written."""
        batch = list(entries)
        if not batch:
            return 0
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            _cut_torn_tail(self._fd)
            last = _last_line(self._fd).decode("utf-8", "replace")
            seq, prev = 0, GENESIS
            parts = _split(last) if last else None
            if parts is not None:
                prev = parts[0]
                seq = int(json.loads(parts[1]).get("seq", 0))
            elif last:
                raise ValueError(f"the last line of `{self.path}` is not a log entry: run `ecrules log verify`")
            lines = []
            for entry in batch:
                seq += 1
                text = canonical_json({**entry, "seq": seq, "prev": prev})
                line = _line(text)
                prev = _entry_hash(text)
                lines.append(line)
            data = "".join(lines).encode("utf-8")
            written = 0
            while written < len(data):
                written += os.write(self._fd, data[written:])
            os.fsync(self._fd)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        return len(batch)


class Entry(NamedTuple):
    line: int
    seq: int
    hash: str
    body: dict[str, Any]


class Problem(NamedTuple):
    line: int
    message: str
    tampering: bool = True


def read(path: str | Path) -> tuple[list[Entry], list[Problem]]:
    """Every entry of a log, and every problem with it: edited, removed, reordered, torn."""
    entries: list[Entry] = []
    problems: list[Problem] = []
    raw = Path(path).read_bytes()
    lines = raw.split(b"\n")
    torn = lines[-1] != b""
    if not torn:
        lines = lines[:-1]
    prev, expected_seq = GENESIS, 1
    for number, data in enumerate(lines, 1):
        if torn and number == len(lines):
            problems.append(Problem(number, f"line {number} is an incomplete entry: a writer was killed "
                                            "while writing it (it was never completed)", tampering=False))
            break
        line = data.decode("utf-8", "replace")
        parts = _split(line)
        if parts is None:
            problems.append(Problem(number, f"line {number} is not a log entry: edited"))
            continue
        stated, text = parts
        try:
            body = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError:
            problems.append(Problem(number, f"line {number} is not valid JSON: edited"))
            continue
        seq = body.get("seq") if isinstance(body, dict) else None
        name = f"entry {seq}" if isinstance(seq, int) else f"the entry on line {number}"
        if _entry_hash(text) != stated:
            problems.append(Problem(number, f"{name} (line {number}) has been edited: its hash does not match"))
        elif not isinstance(seq, int):
            problems.append(Problem(number, f"{name} (line {number}) has no sequence number: edited"))
        else:
            if seq != expected_seq:
                what = (f"entries {expected_seq} to {seq - 1} are missing (removed)" if seq > expected_seq
                        else f"it comes after entry {expected_seq - 1}: reordered or duplicated")
                problems.append(Problem(number, f"entry {seq} (line {number}) is out of sequence: {what}"))
            elif body.get("prev") != prev:
                problems.append(Problem(number, f"entry {seq} (line {number}) does not follow the entry before it: "
                                                "an entry was removed, replaced or reordered"))
            entries.append(Entry(number, seq, stated, body))
        prev, expected_seq = stated, (seq + 1 if isinstance(seq, int) else expected_seq + 1)
    return entries, problems


def iter_records(entries: Iterable[Entry]) -> Iterator[tuple[Entry, Any]]:
    """Each entry with its record as it was read (a bad line as its `BadLine`)."""
    from .inputs import BadLine

    for entry in entries:
        bad = entry.body.get("bad_line")
        if isinstance(bad, dict):
            yield entry, BadLine(int(bad["line"]), str(bad["message"]))
        else:
            yield entry, entry.body.get("record")
