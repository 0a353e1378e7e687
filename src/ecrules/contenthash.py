"""Content hashes: of a policy and every file it read, and of an input record.

A policy's content hash covers the policy file and every file its loading read — imports, list
files, catalogues — each by its path relative to the policy's folder and the SHA-256 of its
bytes. A list update therefore changes the hash, and a bundle unpacked anywhere keeps it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Mapping

import attrs

from .inputs import BadLine
from .frozen import readonly

PREFIX = "sha256:"


def sha256(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return PREFIX + hashlib.sha256(raw).hexdigest()


@attrs.frozen
class PolicyFiles:
    """A loaded policy's files: `main` and everything it read, by path relative to `root`."""

    root: Path
    main: str
    files: Mapping[str, bytes] = attrs.field(converter=readonly)

    @property
    def digests(self) -> dict[str, str]:
        return {name: sha256(data) for name, data in sorted(self.files.items())}

    @property
    def content_hash(self) -> str:
        manifest = json.dumps({"main": self.main, "files": self.digests}, sort_keys=True, separators=(",", ":"))
        return sha256(manifest)


def policy_files(main: Path, text: str, reads: Iterable[tuple[Path, bytes]]) -> PolicyFiles:
    """The files of a policy loaded from `main` (whose text is `text`) that read `reads`."""
    root = main.resolve().parent
    files: dict[str, bytes] = {main.name: text.encode("utf-8")}
    for path, data in reads:
        files.setdefault(Path(os.path.relpath(path, root)).as_posix(), data)
    return PolicyFiles(root, main.name, files)


# -- canonical JSON: exact decimals stay JSON numbers

def _plain(value: Any, numbers: list[str]) -> Any:
    if isinstance(value, Decimal):
        numbers.append(str(value) if value.is_finite() else "null")
        return f"\x00{len(numbers) - 1}\x00"
    if isinstance(value, Mapping):
        return {str(k): _plain(v, numbers) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, numbers) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v, numbers) for v in value), key=repr)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return None
    return value


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys; a `Decimal` is written as the JSON number it is (`1500.00`)."""
    numbers: list[str] = []
    text = json.dumps(_plain(value, numbers), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for k, number in enumerate(numbers):
        text = text.replace(f'"\\u0000{k}\\u0000"', number, 1)
    return text


def record_hash(record: Any) -> str:
    """The hash of an input record (of a bad line: of its message), over its canonical JSON."""
    if isinstance(record, BadLine):
        return sha256(canonical_json({"bad_line": record.line, "message": record.message}))
    return sha256(canonical_json(record))
