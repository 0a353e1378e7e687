"""Issue 7, items 12 (records and outputs) and 15: unwritable outputs are one line and exit 2;
records come from any readable path; an output file appears only when it is complete."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from records_helpers import ENGINES, cli, decisions, process, write_policy

from ecrules.decision import Decision
from ecrules.outputs import write_parquet

RECORDS = b'{"destination":"KP"}\n{"destination":"FR"}\nnot json\n'


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("target,reason", [
    ("/nonexistent/x.jsonl", "no such file or directory"),
    ("/nonexistent/x.parquet", "no such file or directory"),
    ("/dev/full", "no space left on device"),
    ("{tmp}/x.parquet/", "is a directory"),
])
def test_an_unwritable_output_is_one_line_and_exit_2(tmp_path: Path, engine: str, target: str, reason: str) -> None:
    records = tmp_path / "r.jsonl"
    records.write_bytes(RECORDS)
    out = target.format(tmp=tmp_path)
    code, stdout, err = process("eval", str(write_policy(tmp_path)), str(records), "--engine", engine, "-o", out)
    assert code == 2 and stdout == b""
    assert err == f"error: cannot write `{out}`: {reason}\n"
    assert not list(tmp_path.glob(".*.part"))


def test_an_existing_folder_as_output_is_a_usage_error(tmp_path: Path) -> None:
    records = tmp_path / "r.jsonl"
    records.write_bytes(RECORDS)
    code, stdout, err = process("eval", str(write_policy(tmp_path)), str(records), "-o", str(tmp_path))
    assert code == 2 and stdout == b"" and "is a directory" in err


@pytest.mark.parametrize("engine", ENGINES)
def test_records_from_a_pipe_or_dev_fd_are_read(tmp_path: Path, engine: str) -> None:
    policy = write_policy(tmp_path)
    read_end, write_end = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(write_end, RECORDS), os.close(write_end)))
    writer.start()
    try:
        code, out, err = process("eval", str(policy), f"/dev/fd/{read_end}", "--engine", engine, "-q",
                                 pass_fds=(read_end,))
    finally:
        writer.join()
        os.close(read_end)
    assert code == 0, err
    assert [d["outcome"] for d in decisions(out)] == ["deny", "allow", "error"]


@pytest.mark.parametrize("engine", ENGINES)
def test_csv_and_parquet_come_from_standard_input_too(tmp_path: Path, engine: str) -> None:
    policy = write_policy(tmp_path)
    pq_path = tmp_path / "r.parquet"
    code, _, err = cli("eval", str(policy), "-", "--engine", "row", "-o", str(pq_path), "-q", input=RECORDS)
    assert code == 0, err
    csv = b"destination\nKP\nFR\n"
    code, out, err = cli("eval", str(policy), "-", "--input-format", "csv", "--engine", engine, "-q", input=csv)
    assert code == 0 and [d["outcome"] for d in decisions(out)] == ["deny", "allow"], err
    source = tmp_path / "in.parquet"
    import pyarrow as pa

    pq.write_table(pa.table({"destination": ["KP", "FR"]}), source)
    code, out, err = cli("eval", str(policy), "-", "--input-format", "parquet", "--engine", engine, "-q",
                         input=source.read_bytes())
    assert code == 0 and [d["outcome"] for d in decisions(out)] == ["deny", "allow"], err


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_folder_or_non_parquet_records_are_one_line_and_exit_2(tmp_path: Path, engine: str) -> None:
    policy = write_policy(tmp_path)
    code, out, err = cli("eval", str(policy), str(tmp_path / "none.jsonl"), "--engine", engine)
    assert code == 2 and out == "" and "no such file" in err and err.count("\n") == 1
    code, out, err = cli("eval", str(policy), str(tmp_path), "--engine", engine)  # click's usage error
    assert code == 2 and out == "" and "is a directory" in err
    fake = tmp_path / "fake.parquet"
    fake.write_bytes(b"not parquet at all")
    code, out, err = cli("eval", str(policy), str(fake), "--engine", engine)
    assert code == 2 and err.startswith(f"error: cannot read `{fake}`") and err.count("\n") == 1


def _decisions(n: int, fail_at: int | None = None) -> object:
    for k in range(n):
        if k == fail_at:
            raise KeyboardInterrupt  # the run is interrupted part-way
        yield Decision(k + 1, "allow", (), (), (), "p", "1")


def test_an_interrupted_parquet_write_leaves_no_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    with pytest.raises(KeyboardInterrupt):
        for _ in write_parquet(_decisions(200_000, fail_at=150_000), str(out)):  # type: ignore[arg-type]
            pass
    assert not out.exists() and not list(tmp_path.iterdir())
    for _ in write_parquet(_decisions(3), str(out)):  # type: ignore[arg-type]
        pass
    assert pq.read_table(out).num_rows == 3
    with pytest.raises(KeyboardInterrupt):
        for _ in write_parquet(_decisions(10, fail_at=5), str(out)):  # type: ignore[arg-type]
            pass
    assert pq.read_table(out).num_rows == 3 and [p.name for p in tmp_path.iterdir()] == ["out.parquet"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_a_complete_output_replaces_the_file_with_the_usual_permissions(tmp_path: Path, engine: str,
                                                                         suffix: str) -> None:
    records = tmp_path / "r.jsonl"
    records.write_bytes(RECORDS)
    out = tmp_path / f"out{suffix}"
    out.write_text("old")
    os.chmod(out, 0o640)
    code, _, err = cli("eval", str(write_policy(tmp_path)), str(records), "--engine", engine, "-o", str(out), "-q")
    assert code == 0, err
    assert (out.stat().st_mode & 0o777) == 0o640
    rows = pq.read_table(out).num_rows if suffix == ".parquet" else len(decisions(out.read_text()))
    assert rows == 3 and not list(tmp_path.glob(".*.part"))
