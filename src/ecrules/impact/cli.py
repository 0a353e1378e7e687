"""`ecrules impact` and `ecrules diff`: thin wiring from the command line to the impact package."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import click

FORMATS = click.Choice(["text", "json", "html"])


def _write(text: str, output: str | None) -> None:
    """Print to standard output, or write `output` whole (a temporary file renamed on success)."""
    if output is None or output == "-":
        click.echo(text, nl=False)
        return
    folder = os.path.dirname(os.path.abspath(output))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".ecrules-", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, output)
    except OSError as exc:
        click.echo(f"error: cannot write `{output}`: {exc.strerror or exc}", err=True)
        raise SystemExit(2) from None


def _json(value: Any) -> str:
    from ..clitools import _json_default

    return json.dumps(value, ensure_ascii=False, indent=2, default=_json_default) + "\n"


def _records_arg(records: str) -> None:
    if not os.path.exists(records):
        click.echo(f"error: records file `{records}` does not exist", err=True)
        raise SystemExit(2)


@click.command(name="impact")
@click.argument("policy_file", metavar="POLICY", type=click.Path(dir_okay=False))
@click.argument("records", metavar="RECORDS", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
              help="A plain-text summary, JSON for machines, or one self-contained HTML page.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write the report here.")
@click.option("--high", type=click.FloatRange(min=1.0), default=1.25, show_default=True,
              help="Flag an unexplained disparate-impact ratio at or above this.")
@click.option("--low", type=click.FloatRange(min=0.0, max=1.0), default=0.8, show_default=True,
              help="Flag an unexplained ratio at or below this.")
@click.option("--min-count", type=click.IntRange(min=1), default=30, show_default=True,
              help="Records a value needs before its ratio can be flagged.")
@click.option("--min-hits", type=click.IntRange(min=1), default=5, show_default=True,
              help="Unexplained firings a value needs before it can be flagged higher.")
@click.option("--engine", type=click.Choice(["auto", "row"]), default="auto", show_default=True,
              help="auto: the columnar engine for Parquet and Arrow input.")
@click.option("--strict", is_flag=True, help="Exit 3 when a disparity or a proxy is flagged.")
def impact_cmd(policy_file: str, records: str, fmt: str, output: str | None, high: float, low: float,
               min_count: int, min_hits: int, engine: str, strict: bool) -> None:
    """Outcome rates, disparate impact and proxies of POLICY on the records in RECORDS.

    RECORDS is JSON Lines, CSV or Parquet. Exit 0, or 3 with --strict when anything is flagged;
    1 when the policy does not load, 2 when the records cannot be read or the report written.
    """
    from ..clitools import _load
    from . import Thresholds, impact
    from .render import impact_html, impact_text

    policy = _load(policy_file)
    _records_arg(records)
    report = impact(policy, records, thresholds=Thresholds(high=high, low=low, min_count=min_count, min_hits=min_hits), engine=engine)
    if fmt == "json":
        _write(_json(report.to_dict()), output)
    elif fmt == "html":
        _write(impact_html(report), output)
    else:
        _write(impact_text(report), output)
    if strict and (report.flagged or report.flagged_proxies):
        raise SystemExit(3)


@click.command(name="diff")
@click.argument("old_file", metavar="OLD", type=click.Path(dir_okay=False))
@click.argument("new_file", metavar="NEW", type=click.Path(dir_okay=False))
@click.argument("records", metavar="[RECORDS]", required=False, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write the report here.")
@click.option("--changes", type=click.Path(dir_okay=False), default=None,
              help="Write the changed records here (JSON Lines, or Parquet for a .parquet name).")
@click.option("--timeout", type=click.FloatRange(min=0.1, max=3600), default=5.0, show_default=True,
              help="Solver time limit per from -> to class, in seconds.")
@click.option("--deadline", type=click.FloatRange(min=0.1, max=86400), default=60.0, show_default=True,
              help="Time limit of the whole symbolic diff, in seconds.")
@click.option("--no-symbolic", is_flag=True, help="Only compare on the records.")
def diff_cmd(old_file: str, new_file: str, records: str | None, fmt: str, output: str | None, changes: str | None,
             timeout: float, deadline: float, no_symbolic: bool) -> None:
    """What changes from policy OLD to policy NEW: for every from -> to pair of outcomes, whether a
    record exists that changes so (a witness both evaluators confirm), and, given RECORDS, which
    records change. Exit 0; 1 when a policy does not load; 2 on an unreadable input or output.
    """
    from ..clitools import _load
    from .diff import diff
    from .render import diff_html, diff_text

    old, new = _load(old_file), _load(new_file)
    if records is not None:
        _records_arg(records)
    report = diff(old, new, records, timeout=timeout, deadline=deadline, symbolic_diff=not no_symbolic)
    if changes is not None and report.corpus is not None:
        _write_changes(report.corpus.changes, changes)
    if fmt == "json":
        _write(_json(report.to_dict()), output)
    elif fmt == "html":
        _write(diff_html(report), output)
    else:
        _write(diff_text(report), output)


def _write_changes(table: Any, path: str) -> None:
    import pyarrow.parquet as pq

    if path.endswith((".parquet", ".pq")):
        folder = os.path.dirname(os.path.abspath(path))
        try:
            fd, tmp = tempfile.mkstemp(prefix=".ecrules-", suffix=".parquet", dir=folder)
            os.close(fd)
            pq.write_table(table, tmp)
            os.replace(tmp, path)
        except OSError as exc:
            click.echo(f"error: cannot write `{path}`: {exc.strerror or exc}", err=True)
            raise SystemExit(2) from None
        return
    _write("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in table.to_pylist()), path)


__all__ = ["diff_cmd", "impact_cmd"]
