"""The command line of provenance: `eval --provenance/--log`, `log verify`, `replay`, `bundle`."""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any, TextIO

import click

from .decision import Decision
from .diagnostics import PolicyError
from .inputs import BadLine, read_records
from .policy import Policy
from .provenance import decide_all, now, provenance

BATCH = 256  # entries appended to the log under one lock and one fsync


def _entry(policy: Policy, policy_hash: str, position: int, record: Any, decision: Decision,
           stamp: dict[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"time": stamp["timestamp"], "policy": policy.name, "version": policy.version,
                             "policy_hash": policy_hash, "ecrules": stamp["ecrules"],
                             "record_hash": stamp["record_hash"], "position": position,
                             "decision": decision.to_dict()}
    if isinstance(record, BadLine):
        entry["bad_line"] = {"line": record.line, "message": record.message}
    else:
        entry["record"] = record
    return entry


def audited_eval(policy: Policy, records: str, input_format: str | None, output: str,
                 with_provenance: bool, log_path: str | None) -> Counter[str]:
    """Decide with the row engine; stamp each decision and log it before it is written out."""
    from .auditlog import DecisionLog

    policy_hash = policy.content_hash
    counts: Counter[str] = Counter()
    log = DecisionLog(log_path) if log_path else None
    stream: TextIO = sys.stdout if output == "-" else open(output, "w", encoding="utf-8")
    pending: list[dict[str, Any]] = []
    lines: list[str] = []

    def flush() -> None:
        if log is not None:
            log.append(pending)
        stream.write("".join(lines))
        stream.flush()
        pending.clear()
        lines.clear()

    try:
        for position, record, decision in decide_all(policy, read_records(records, policy.checked, input_format)):
            counts[decision.outcome] += 1
            stamp = provenance(policy_hash, record, now())
            out = decision.to_dict()
            if with_provenance:
                out["provenance"] = stamp
            lines.append(json.dumps(out, ensure_ascii=False, default=str) + "\n")
            pending.append(_entry(policy, policy_hash, position, record, decision, stamp))
            if len(pending) >= BATCH:
                flush()
        flush()
    finally:
        if log is not None:
            log.close()
        if stream is not sys.stdout:
            stream.close()
    return counts


@click.group(name="log")
def log_group() -> None:
    """Work with a decision log written by `ecrules eval --log`."""


@log_group.command(name="verify")
@click.argument("log_file", metavar="LOG", type=click.Path(dir_okay=False, exists=True))
def log_verify(log_file: str) -> None:
    """Check LOG's hash chain: name every edited, removed or reordered entry.

    Exit 0 when the chain is whole (a torn last line left by a killed writer is reported but is
    not tampering), 1 otherwise.
    """
    from .auditlog import read

    entries, problems = read(log_file)
    for problem in problems:
        click.echo(f"{log_file}:{problem.line}: {'error' if problem.tampering else 'note'}: {problem.message}")
    tampered = [p for p in problems if p.tampering]
    head = entries[-1].hash if entries else "none"
    if tampered:
        with open(log_file, "rb") as f:
            lines = sum(1 for _ in f)
        click.echo(f"{log_file}: {len(tampered)} problem{'s' if len(tampered) != 1 else ''} in {lines} lines")
        raise SystemExit(1)
    click.echo(f"{log_file}: ok ({len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, head {head})")


@click.command(name="replay")
@click.argument("log_file", metavar="LOG", type=click.Path(dir_okay=False, exists=True))
@click.option("--policy", "policies", multiple=True, required=True, type=click.Path(exists=True),
              help="A policy file, a bundle (.tar), or a folder of them; repeat for several versions.")
def replay_cmd(log_file: str, policies: tuple[str, ...]) -> None:
    """Re-decide every record of LOG with the policy of the hash it was decided by; report differences.

    Exit 0 when every decision is the same; 1 when one differs, when an entry's policy hash
    matches none of the policies given, or when the log's chain is broken.
    """
    from .auditlog import read
    from .replay import candidates, render, replay

    entries, problems = read(log_file)
    tampered = [p for p in problems if p.tampering]
    for problem in tampered:
        click.echo(f"{log_file}:{problem.line}: error: {problem.message}", err=True)
    found, notes = candidates(policies)
    for note in notes:
        click.echo(note, err=True)
    result = replay(entries, found)
    click.echo(render(result, found, entries))
    raise SystemExit(0 if result.ok and not tampered else 1)


@click.command(name="bundle")
@click.argument("policy_file", metavar="POLICY", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The bundle to write (.tar).")
def bundle_cmd(policy_file: str, output: str) -> None:
    """Freeze POLICY with every file it reads (imports, lists) and its content hash into one tar.

    `ecrules replay --policy BUNDLE` decides with it years later, needing nothing else. Exit 1 when
    the policy does not load or reads a file outside its folder.
    """
    from .bundle import BundleError, make_bundle
    from .clitools import _print_diagnostics

    try:
        manifest = make_bundle(policy_file, output)
    except PolicyError as exc:
        _print_diagnostics(exc.diagnostics, sys.stderr, "text")
        raise SystemExit(1) from None
    except (BundleError, OSError) as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    others = len(manifest["files"]) - 1
    click.echo(f"{output}: {manifest['main']} and {others} file{'s' if others != 1 else ''} it reads, "
               f"{manifest['content_hash']}")
