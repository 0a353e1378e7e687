"""Provenance, the hash-chained decision log, bundles and replay (issue 13, point 1)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import ecrules
from ecrules.auditlog import DecisionLog, read
from ecrules.bundle import BundleError, open_bundle
from ecrules.cli import main
from ecrules.contenthash import canonical_json, record_hash

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "policies" / "export_control.ecp"
RECORDS = ROOT / "examples" / "transactions.jsonl"
LIST = "lists/un_sc_consolidated_list_2020-11-30.xml"
#: a change to the list file that keeps it a valid list (a comment after the root element)
LIST_EDIT = "<!-- a local note -->\n"
#: records in the bundled example file (blank lines are not records)
N = sum(1 for line in RECORDS.read_text(encoding="utf-8").splitlines() if line.strip())


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    """A private copy of the bundled policies, free to change."""
    copy = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", copy)
    return copy


def _ecrules(*args: str, **kw: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "ecrules", *args], **kw)  # type: ignore[call-overload]


# -- provenance

def test_provenance_in_the_api() -> None:
    policy = ecrules.load(POLICY)
    record = json.loads(RECORDS.read_text(encoding="utf-8").splitlines()[9], parse_float=Decimal)
    plain = policy.evaluate(record)
    stamped = policy.evaluate(record, provenance=True)
    assert plain.provenance is None and "provenance" not in plain.to_dict()
    assert stamped._replace(provenance=None) == plain
    assert stamped.provenance is not None
    assert stamped.provenance["policy_hash"] == policy.content_hash
    assert stamped.provenance["ecrules"] == ecrules.__version__
    assert stamped.provenance["record_hash"] == record_hash(record)
    assert stamped.provenance["timestamp"].endswith("+00:00")
    assert stamped.to_dict()["provenance"] == dict(stamped.provenance)
    many = list(policy.evaluate_many([record, record], provenance=True))
    assert [d.id for d in many] == [plain.id, plain.id] and all(d.provenance for d in many)


def test_content_hash_covers_imports_and_lists(policies: Path, tmp_path: Path) -> None:
    before = ecrules.load(policies / "export_control.ecp")
    assert before.files is not None
    read = set(before.files.files)
    assert {"export_control.ecp", "common/trade.ecp", LIST, "instruments/unsc.ecp"} <= read
    assert read <= {str(p.relative_to(policies)) for p in policies.rglob("*") if p.is_file()}
    assert before.content_hash == ecrules.load(POLICY).content_hash  # the folder does not matter
    with open(policies / LIST, "a", encoding="utf-8") as f:
        f.write(LIST_EDIT)
    after_list = ecrules.load(policies / "export_control.ecp").content_hash
    assert after_list != before.content_hash
    trade = policies / "common" / "trade.ecp"
    trade.write_text(trade.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert ecrules.load(policies / "export_control.ecp").content_hash not in (after_list, before.content_hash)


def test_canonical_json_keeps_decimals_exact() -> None:
    value = {"b": Decimal("1500.00"), "a": [Decimal("0.1"), 3, "1500.00"], "c": None}
    text = canonical_json(value)
    assert text == '{"a":[0.1,3,"1500.00"],"b":1500.00,"c":null}'
    assert canonical_json(json.loads(text, parse_float=Decimal)) == text


def test_eval_provenance_flag() -> None:
    code, out, _ = run("eval", "-q", "--provenance", str(POLICY), str(RECORDS))
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == N
    hashes = {d["provenance"]["policy_hash"] for d in lines}
    assert hashes == {ecrules.load(POLICY).content_hash}
    assert len({d["provenance"]["record_hash"] for d in lines}) == N


# -- the log

def test_log_verifies_and_replays_with_zero_differences(tmp_path: Path) -> None:
    log = tmp_path / "decisions.log"
    assert run("eval", "-q", "--log", str(log), str(POLICY), str(RECORDS))[0] == 0
    code, out, _ = run("log", "verify", str(log))
    assert code == 0 and out.startswith(f"{log}: ok ({N} entries, head sha256:")
    code, out, _ = run("replay", str(log), "--policy", str(ROOT / "policies"))
    assert code == 0, out
    assert out.splitlines()[-1] == f"replayed {N} entries: {N} same, 0 different, 0 without their policy"


def test_replay_after_a_list_changes(policies: Path, tmp_path: Path) -> None:
    log, bundle = tmp_path / "decisions.log", tmp_path / "v1.tar"
    policy = policies / "export_control.ecp"
    assert run("eval", "-q", "--log", str(log), str(policy), str(RECORDS))[0] == 0
    assert run("bundle", str(policy), "-o", str(bundle))[0] == 0
    old_hash = ecrules.load(policy).content_hash
    with open(policies / LIST, "a", encoding="utf-8") as f:
        f.write(LIST_EDIT)
    code, out, _ = run("replay", str(log), "--policy", str(policies))
    assert code == 1
    assert f"policy hash mismatch: {N} entries were decided by policy `export-control`" in out
    assert old_hash in out and "has changed since" in out
    assert out.splitlines()[-1].endswith(f"0 same, 0 different, {N} without their policy")
    code, out, _ = run("replay", str(log), "--policy", str(bundle))  # the frozen version
    assert code == 0 and f"{N} same, 0 different" in out


def test_replay_reports_a_decision_that_differs(tmp_path: Path) -> None:
    log = tmp_path / "decisions.log"
    assert run("eval", "-q", "--log", str(log), str(POLICY), str(RECORDS))[0] == 0
    entries, _ = read(log)
    # forge a log whose entry 10 says the opposite, with a valid chain: replay must notice
    forged = tmp_path / "forged.log"
    with DecisionLog(forged) as out:
        bodies = []
        for e in entries:
            body = {k: v for k, v in e.body.items() if k not in ("seq", "prev")}
            if e.seq == 10:
                body["decision"] = {**body["decision"], "outcome": "allow", "fired": []}
            bodies.append(body)
        out.append(bodies)
    assert run("log", "verify", str(forged))[0] == 0
    code, out_text, _ = run("replay", str(forged), "--policy", str(POLICY))
    assert code == 1
    now = ecrules.load(POLICY).evaluate(entries[9].body["record"])
    assert now.outcome != "allow"
    assert f"entry 10 (id {now.id}): logged allow [], now {now.outcome} [{', '.join(now.fired)}]" in out_text


def _write_log(tmp_path: Path) -> Path:
    log = tmp_path / "decisions.log"
    assert run("eval", "-q", "--log", str(log), str(POLICY), str(RECORDS))[0] == 0
    return log


def test_an_edited_byte_is_named(tmp_path: Path) -> None:
    log = _write_log(tmp_path)
    lines = log.read_bytes().split(b"\n")
    k = lines[4].index(b"Example")
    lines[4] = lines[4][:k] + b"e" + lines[4][k + 1 :]
    log.write_bytes(b"\n".join(lines))
    code, out, _ = run("log", "verify", str(log))
    assert code == 1
    assert f"{log}:5: error: entry 5 (line 5) has been edited: its hash does not match" in out


def test_a_removed_and_a_reordered_entry_are_named(tmp_path: Path) -> None:
    log = _write_log(tmp_path)
    lines = log.read_bytes().split(b"\n")
    removed = tmp_path / "removed.log"
    removed.write_bytes(b"\n".join(lines[:6] + lines[7:]))
    code, out, _ = run("log", "verify", str(removed))
    assert code == 1 and "entry 8 (line 7) is out of sequence: entries 7 to 7 are missing (removed)" in out
    swapped = tmp_path / "swapped.log"
    swapped.write_bytes(b"\n".join(lines[:2] + [lines[3], lines[2]] + lines[4:]))
    code, out, _ = run("log", "verify", str(swapped))
    assert code == 1 and "entry 4 (line 3) is out of sequence" in out and "entry 3 (line 4)" in out


def _big_input(tmp_path: Path, copies: int) -> Path:
    lines = RECORDS.read_text(encoding="utf-8").splitlines()[:30]
    big = tmp_path / "big.jsonl"
    with open(big, "w", encoding="utf-8") as f:
        for k in range(copies):
            for line in lines:
                f.write(line.replace('"TX-', f'"R{k}-TX-', 1) + "\n")
    return big


def test_sigkill_mid_log_loses_no_completed_entry(tmp_path: Path) -> None:
    big = _big_input(tmp_path, 400)  # 12,000 records
    log, out = tmp_path / "decisions.log", tmp_path / "out.jsonl"
    proc = _ecrules("eval", "-q", "--log", str(log), "-o", str(out), str(POLICY), str(big))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not log.exists() or log.stat().st_size < 400_000):
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    entries, problems = read(log)
    assert not [p for p in problems if p.tampering], problems
    assert 0 < len(entries) < 12_000
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    inputs = big.read_text(encoding="utf-8").splitlines()
    for e in entries[:: max(1, len(entries) // 50)]:  # each entry is the decision of the record at its position
        assert e.body["record_hash"] == record_hash(json.loads(inputs[e.seq - 1], parse_float=Decimal))
    written = out.read_text(encoding="utf-8").splitlines()
    assert len(written) <= len(entries)  # nothing was written out that is not logged
    code, text, _ = run("log", "verify", str(log))
    assert code == 0, text
    # the next writer continues the chain after any torn line
    assert run("eval", "-q", "--log", str(log), str(POLICY), str(RECORDS))[0] == 0
    entries2, problems2 = read(log)
    assert not problems2 and len(entries2) == len(entries) + N


def test_concurrent_writers_keep_one_chain(tmp_path: Path) -> None:
    big = _big_input(tmp_path, 30)  # 900 records each
    log = tmp_path / "decisions.log"
    procs = [_ecrules("eval", "-q", "--log", str(log), "-o", os.devnull, str(POLICY), str(big)) for _ in range(3)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0]
    entries, problems = read(log)
    assert problems == [] and len(entries) == 2700
    assert run("log", "verify", str(log))[0] == 0


# -- bundles

def test_bundle_is_reproducible_and_self_sufficient(tmp_path: Path, policies: Path) -> None:
    a, b = tmp_path / "a.tar", tmp_path / "b.tar"
    code, out, _ = run("bundle", str(policies / "export_control.ecp"), "-o", str(a))
    assert code == 0 and out.strip().endswith(ecrules.load(POLICY).content_hash)
    assert run("bundle", str(policies / "export_control.ecp"), "-o", str(b))[0] == 0
    assert a.read_bytes() == b.read_bytes()
    shutil.rmtree(policies)  # replay years later: nothing but the bundle
    policy, manifest = open_bundle(a)
    assert policy.content_hash == manifest["content_hash"] and policy.name == "export-control"
    assert {"export_control.ecp", "common/trade.ecp", LIST, "instruments/unsc.ecp"} <= set(manifest["files"])


def test_an_altered_bundle_is_refused(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.tar", tmp_path / "bad.tar"
    assert run("bundle", str(POLICY), "-o", str(good))[0] == 0
    with tarfile.open(good) as src, tarfile.open(bad, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member)
            assert data is not None
            content = data.read()
            if member.name.endswith(".xml"):
                content += LIST_EDIT.encode()
                member.size = len(content)
            import io

            dst.addfile(member, io.BytesIO(content))
    with pytest.raises(BundleError, match="has been altered"):
        open_bundle(bad)
