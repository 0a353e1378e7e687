"""Issue 7: a standing, bounded fuzz test of records at the byte level (JSON Lines and CSV).

Whatever the bytes: nothing raises, every record line gets exactly one decision, a record that
an independent strict reading finds invalid is never decided as anything but `error`, the
output is valid UTF-8 JSON, and the row and columnar engines give the same decisions.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from records_helpers import POLICY

import ecrules
from ecrules import records as r
from ecrules.cli import _decisions
from ecrules.columnar.engine import ColumnarEngine
from ecrules.countries import COUNTRIES
from ecrules.inputs import read_records

SEED_LINES = [
    b'{"id":"a1","destination":"KP","value":12.5,"note":"re-export"}',
    b'{"destination":"FR","items":[{"code":"3A001","value":600},{"code":"x","value":500.25}]}',
    b'{"id":"a3","destination":"DE","value":2000,"note":"caf\xc3\xa9 \xe2\x80\xa8 ok"}',
    b'{"destination":"CN","unread":{"deep":[1,2,{"k":null}]}}',
]
SEED_CSV = b'id,destination,value,note\r\nc1,KP,1,"a, b"\r\nc2,FR,2000,"multi\nline"\r\nc3,DE,,x\r\n'

INSERTS = [b"\x00", b"\xff", b"\xc3", b"\xef\xbb\xbf", b"\r", b"\n", b'"', b",", b"{", b"}", b"[", b"]",
           b"\\ud800", b"\\u0000", b"e999999999", b"1" * 40, b'"destination":"KP",', b'"value":', b"-",
           b"NaN", b"Infinity", b"\xe2\x80\xa8", b" ", b"\t", b"[" * 200]


@lru_cache(maxsize=1)
def _engines() -> tuple[ecrules.Policy, ColumnarEngine]:
    policy = ecrules.loads(POLICY)
    return policy, ColumnarEngine(policy, batch_size=3)  # small chunks: positions cross chunk bounds


def _mutate(data: bytes, draw: Any) -> bytes:
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(buf)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "byte"]))
        if op == "insert":
            buf[pos:pos] = draw(st.sampled_from(INSERTS))
        elif op == "delete":
            del buf[pos:pos + draw(st.integers(1, 8))]
        elif op == "replace" and buf:
            buf[pos:pos + 1] = draw(st.sampled_from(INSERTS))
        else:
            buf[pos:pos] = bytes([draw(st.integers(0, 255))])
    return bytes(buf)


def _both(path: Path, fmt: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    policy, engine = _engines()
    row = [d.to_dict() for d in _decisions(policy, read_records(str(path), policy.checked, fmt))]
    col = [d.to_dict() for chunk in engine.run_path(path, fmt) for d in chunk]
    for d in row + col:  # the output is valid UTF-8 JSON
        json.dumps(d, ensure_ascii=False, default=str).encode("utf-8")
    return row, col


def _strictly_valid(raw: bytes, record: Any) -> bool:
    """An independent reading: UTF-8, JSON, an object, no key twice, no lone surrogate, the schema."""
    try:
        text = raw.decode("utf-8")

        def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
            if len({k for k, _ in items}) != len(items):
                raise ValueError("duplicate")
            return dict(items)

        value = json.loads(text, parse_float=Decimal, object_pairs_hook=pairs)
        json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")  # no lone surrogate
        if not isinstance(value, dict):
            return False
        r.validate(value, record)
        return True
    except (ValueError, RecursionError, ArithmeticError, r.RecordError):
        return False


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_fuzzed_json_lines(data: st.DataObject) -> None:
    lines = data.draw(st.lists(st.sampled_from(SEED_LINES), min_size=1, max_size=6))
    blob = _mutate(b"\n".join(lines) + b"\n", data.draw)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.jsonl"
        path.write_bytes(blob)
        row, col = _both(path, "jsonl")
    assert row == col
    policy, _ = _engines()
    record_lines = []
    for k, raw in enumerate(blob.split(b"\n")[:-1] if blob.endswith(b"\n") else blob.split(b"\n")):
        if k == 0 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            if not raw.decode("utf-8").strip():
                continue  # a blank line is not a record
        except UnicodeDecodeError:
            pass
        record_lines.append(raw)
    assert len(row) == len(record_lines)  # count in = count out
    assert policy.checked.record is not None
    for raw, d in zip(record_lines, row):
        if not _strictly_valid(raw, policy.checked.record):
            assert d["outcome"] == "error", (raw, d)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_fuzzed_csv(data: st.DataObject) -> None:
    blob = _mutate(SEED_CSV, data.draw)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.csv"
        path.write_bytes(blob)
        row, col = _both(path, "csv")
    assert row == col
    # an independent reading of the rows: each must get one decision, and a row whose
    # destination is not a country, or whose value is not a number in range, is an error
    text = blob.decode("utf-8-sig", "surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[list[str] | None] = []
    header: list[str] | None = None
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            if header is not None:
                rows.append(None)
            continue
        if header is None:
            header = cells
        elif cells:
            rows.append(cells)
    if header is None:
        assert row == []
        return
    assert len(row) == len(rows)
    for cells, d in zip(rows, row):
        if cells is None or len(set(header)) != len(header):
            assert d["outcome"] == "error"
            continue
        values = dict(zip(header, cells))
        if values.get("destination") not in COUNTRIES or not _number_or_blank(values.get("value", "")):
            assert d["outcome"] == "error", (cells, d)


def _number_or_blank(cell: str) -> bool:
    if cell == "":
        return True
    try:
        v = Decimal(cell.strip())
    except (InvalidOperation, ValueError):
        return False
    return v.is_finite() and -1000 <= v.adjusted() <= 1000
