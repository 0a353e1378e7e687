"""The `ecrules` command line: check, eval, test, explain."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TextIO

import click

from .version import __version__
from .decision import Decision
from .diagnostics import Diagnostic, PolicyError
from .decision import DecisionError
from .inputs import BadLine, InputError, read_jsonl, read_records, reading
from .outfiles import OutputError, text_output
from .policy import Policy, load, loads
from .recordjson import BadRecord, loads_record, strip_bom
from .clitools import STDIN, _json_default, _load, _print_diagnostics, _shown, _try_load


EPILOG = """\b
Examples:
  ecrules check policies/export_control.ecp
  ecrules test policies/*.ecp
  ecrules eval policies/export_control.ecp examples/transactions.jsonl
  ecrules explain policies/export_control.ecp examples/transactions.jsonl --id TX-0010
  ecrules verify policies/*.ecp
  ecrules fmt --check policies/*.ecp

Docs: docs/tutorial.md (start here), docs/language.md, docs/errors.md.
"""


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="ecrules")
def main() -> None:
    """ecrules: export-control policy as code.

    Write a policy in the .ecp language, check it, test it, then decide transaction records
    with it: each decision says allow, license, hold or deny, which rules fired, the obligations
    and the legal basis.
    """


def _count(k: int, noun: str) -> str:
    return f"{k} {noun}{'' if k == 1 else 's'}"


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="How to print diagnostics.")
def check(files: tuple[str, ...], fmt: str) -> None:
    """Parse and type-check policy FILES; report every problem with FILE:LINE:COL.

    Exit 0 when every file loads (warnings allowed), 1 when any has an error.
    """
    failed = False
    for path in files:
        try:
            policy = _load(path, fmt)
        except SystemExit:
            failed = True
            continue
        if fmt == "text":
            tests = len(policy.checked.tests)
            click.echo(f"{_shown(path)}: ok ({_count(len(policy.rules), 'rule')}, {_count(tests, 'test')})")
    raise SystemExit(1 if failed else 0)


@main.command(name="test")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-v", "--verbose", is_flag=True, help="Also list the tests that pass.")
@click.option("--coverage", "with_coverage", is_flag=True,
              help="Also report what the tests exercised: rules fired, `and`/`or` operands that decided, "
                   "set members found, waivers applied, instruments cited; and what they did not, with FILE:LINE:COL.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text", show_default=True,
              help="text for people; json (one document) or junit (JUnit XML, for CI) on standard output.")
@click.option("--fail-under", type=click.FloatRange(0, 100), default=None, metavar="PCT",
              help="Exit 1 when the coverage of all FILES together is under PCT percent (implies --coverage).")
def test_cmd(files: tuple[str, ...], verbose: bool, with_coverage: bool, fmt: str, fail_under: float | None) -> None:
    """Run the `test` blocks of policy FILES.

    Exit 1 when a test fails, a policy does not load, or the coverage is under --fail-under.
    """
    from .policytests import run_policy_tests
    from .testreport import FileRun, to_json, to_junit, total_coverage

    measure = with_coverage or fail_under is not None
    runs: list[FileRun] = []
    for path in files:
        loaded = _try_load(path, "json" if fmt == "json" else "text")
        if not isinstance(loaded, Policy):
            runs.append(FileRun(_shown(path), None, None, tuple(loaded)))
            continue
        run = run_policy_tests(loaded, measure)
        runs.append(FileRun(_shown(path), loaded.name, run))
        if fmt == "text":
            for result in run.results:
                if verbose or not result.passed:
                    click.echo(f"{_shown(path)}: {result.render()}")
    total = total_coverage(runs)
    if fmt == "json":
        click.echo(json.dumps(to_json(runs), ensure_ascii=False, indent=2, default=_json_default))
    elif fmt == "junit":
        click.echo(to_junit(runs), nl=False)
    else:
        for f in runs:
            if f.run is not None and f.run.coverage is not None:
                click.echo(f.run.coverage.render(f.path))
        passed = sum(f.run.passed for f in runs if f.run is not None)
        failed = sum(f.run.failed for f in runs if f.run is not None)
        click.echo(f"{passed} passed, {failed} failed")
        if total is not None and len([f for f in runs if f.run is not None]) > 1:
            click.echo(f"total coverage: {total.text()} ({total.covered} of {total.total})")
    bad = any(f.run is None or f.run.failed for f in runs)
    if fail_under is not None and total is not None and total.covered * 100 < fail_under * total.total:
        click.echo(f"error: coverage {total.text()} is under --fail-under {fail_under:g}%", err=True)
        bad = True
    raise SystemExit(1 if bad else 0)


def _decisions(policy: Policy, records: Iterable[Any]) -> Iterator[Decision]:
    decide = policy.evaluate
    for position, record in enumerate(records, 1):
        if isinstance(record, BadLine):  # its id is its position, like every other record's
            yield Decision(position, "error", (), (), (), policy.name, policy.version,
                           DecisionError(record.message, record.field))
        else:
            yield decide(record, position=position)


def _row_eval(policy: Policy, records: str, input_format: str | None, output: str) -> Counter[str]:
    """Decide with the row engine, streaming; the outcome counts for the summary."""
    counts: Counter[str] = Counter()
    decisions = _decisions(policy, reading(read_records(records, policy.checked, input_format), records))
    if output.endswith(".parquet"):
        from .outputs import write_parquet

        for d in write_parquet(decisions, output):
            counts[d.outcome] += 1
        return counts
    dumps = json.dumps
    with text_output(output) as write:
        for d in decisions:
            counts[d.outcome] += 1
            line = dumps(d.to_dict(), ensure_ascii=False, default=_json_default) + "\n"
            try:
                write(line)
            except OSError as exc:
                raise OutputError(output, exc) from None
    return counts


@main.command(name="eval")
@click.argument("policy_file", metavar="POLICY", type=click.Path(dir_okay=False))
@click.argument("records", metavar="RECORDS", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="Write decisions here (.jsonl, or .parquet with pyarrow); default standard output.")
@click.option("--input-format", type=click.Choice(["jsonl", "csv", "parquet"]), default=None,
              help="Format of RECORDS; by default from its extension (JSON Lines otherwise).")
@click.option("-q", "--quiet", is_flag=True, help="Do not print the summary on standard error.")
@click.option("--engine", type=click.Choice(["auto", "columnar", "row"]), default="auto", show_default=True,
              help="columnar: DuckDB, in chunks; row: one record at a time; auto: columnar for input files "
                   "of 8 MiB or more, and the row engine when the policy uses what the columnar engine "
                   "cannot express. The decisions are the same.")
@click.option("--batch-size", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="Records a chunk for the columnar engine: bounds its memory.")
@click.option("--provenance", "with_provenance", is_flag=True,
              help="Add to each decision the policy's content hash, the ecrules version, the record's hash "
                   "and the time (row engine, JSON Lines).")
@click.option("--log", "log_file", type=click.Path(dir_okay=False), default=None, metavar="LOG",
              help="Also append every decision, its provenance and its record to the hash-chained decision "
                   "log LOG (row engine; docs/audit.md).")
def eval_cmd(policy_file: str, records: str, output: str, input_format: str | None, quiet: bool,
             engine: str, batch_size: int, with_provenance: bool, log_file: str | None) -> None:
    """Decide every record of RECORDS with POLICY; one JSON decision a line.

    RECORDS is JSON Lines (`-` reads standard input), CSV with a header (flat schemas) or
    Parquet. A bad record or a line that is not JSON gets an `error` decision and the run goes
    on. Exit 0 whatever the outcomes; 1 when the policy does not load (or, with `--engine
    columnar`, when the columnar engine cannot express it); 2 when RECORDS cannot be read or
    the decisions cannot be written (a file being written is renamed into place on success).
    """
    policy = _load(policy_file)
    if records != "-" and not os.path.exists(records):
        click.echo(f"error: cannot read `{records}`: no such file", err=True)
        raise SystemExit(2)
    if records != "-" and os.path.isdir(records):
        click.echo(f"error: cannot read `{records}`: it is a folder", err=True)
        raise SystemExit(2)
    chosen = None
    audited = with_provenance or log_file is not None
    if audited and (engine == "columnar" or output.endswith(".parquet")):
        click.echo("error: --provenance and --log need the row engine and JSON Lines output", err=True)
        raise SystemExit(2)
    if engine != "row" and not audited:
        from .columnar import run as columnar_run

        try:
            chosen, note = columnar_run.choose(policy, engine, records, batch_size)
        except Exception as exc:  # Unsupported, or duckdb missing
            click.echo(f"error: {policy_file}: {exc}", err=True)
            raise SystemExit(1) from None
        if note:
            click.echo(note, err=True)
    try:
        if audited:
            from .auditcli import audited_eval

            counts = audited_eval(policy, records, input_format, output, with_provenance, log_file)
        elif chosen is not None:
            counts = columnar_run.run(chosen, records, input_format, output)
        else:
            counts = _row_eval(policy, records, input_format, output)
    except (InputError, OutputError) as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    if not quiet:
        total = sum(counts.values())
        parts = ", ".join(f"{counts[k]} {k}" for k in ("allow", "license", "hold", "deny", "error") if counts[k])
        click.echo(f"decided {total} record{'s' if total != 1 else ''}: {parts or 'none'}", err=True)


@main.command()
@click.argument("policy_file", metavar="POLICY", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("record", metavar="RECORDS", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--id", "record_id", metavar="ID", default=None,
              help="Explain the record whose `id` is ID (or, without an `id` field, whose line is ID).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def explain(policy_file: str, record: str, record_id: str | None, fmt: str) -> None:
    """Explain POLICY's decision on one record: each rule matched, or why not; then the outcome.

    RECORDS holds one JSON object, or JSON Lines from which `--id` picks one; `-` reads
    standard input. Exit 2 when it cannot be read or holds no acceptable JSON record (not UTF-8,
    not JSON, too deep, a key twice, a lone surrogate): a one-line message says why.
    """
    from .pick import PickError, pick_record

    policy = _load(policy_file)
    try:
        data = sys.stdin.buffer.read() if record == "-" else Path(record).read_bytes()
    except OSError as exc:
        click.echo(f"error: cannot read `{record}`: {exc.strerror or exc}", err=True)
        raise SystemExit(2) from None
    try:
        text = strip_bom(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        click.echo(f"error: `{record}` is not valid UTF-8 (byte {exc.start + 1})", err=True)
        raise SystemExit(2) from None
    try:
        value = pick_record(text, record, record_id)
    except PickError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    except BadRecord as exc:
        click.echo(f"error: `{record}`: {exc.message}", err=True)
        raise SystemExit(2) from None
    result = policy.explain(value)  # the public API prints what it returns
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=_json_default))
    else:
        click.echo(result.render())


def _seconds(name: str) -> Callable[[click.Context, click.Parameter, float | None], float | None]:
    """A click callback: a time limit must be a positive, finite number of seconds."""

    def check(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
        from .verify.deadline import check_seconds

        problem = check_seconds(value, name)
        if problem is not None:
            raise click.BadParameter(problem.replace(f"`{name}` must", "must"), ctx, param)
        return value

    return check


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Human output or JSON.")
@click.option("--allow-unknown", is_flag=True, help="Exit 0, not 2, when a constraint is unknown (and none is violated).")
@click.option("--strict", is_flag=True, hidden=True, help="Accepted for compatibility: unknown now exits 2 by default.")
@click.option("--fuzz", type=click.IntRange(min=0), default=0, metavar="N",
              help="Then also try N Hypothesis examples per constraint (needs the `fuzz` extra: "
                   "pip install 'ecrules[fuzz]').")
@click.option("--timeout", type=float, default=10.0, metavar="S", callback=_seconds("--timeout"),
              help="Wall-time limit per check (terms and solving), in seconds. Default 10.")
@click.option("--deadline", type=float, default=None, metavar="S", callback=_seconds("--deadline"),
              help="Wall-time limit for the whole run, in seconds. Default: none.")
@click.option("--evidence", is_flag=True,
              help="Also print the ledger: each destination, nationality or party a rule singles out, and what justifies it.")
def verify(files: tuple[str, ...], fmt: str, allow_unknown: bool, strict: bool, fuzz: int, timeout: float,
           deadline: float | None, evidence: bool) -> None:
    """Prove or refute the constraints of policy FILES (protect, never, always) with z3.

    Each constraint is proved (with the list bound it holds for), violated (with a witness the
    evaluator confirmed, records as JSON) or unknown (with why: `deadline` when a time limit ran
    out). Also warns about dead and redundant rules and first_match order conflicts.

    verify is a gate. Exit 0: every constraint proved. 1: a constraint is violated or a policy
    does not load. 2: a constraint is unknown and none violated (0 with --allow-unknown), or
    --fuzz without Hypothesis installed.
    """
    if fuzz > 0:
        try:
            import hypothesis  # noqa: F401  (only --fuzz needs it: the `fuzz` extra)
        except ImportError:
            click.echo("error: --fuzz needs Hypothesis, which is not installed: "
                       "pip install 'ecrules[fuzz]' (or pip install hypothesis)", err=True)
            raise SystemExit(2) from None
    from .verify import verify_policy
    from .verify.deadline import Deadline
    from .verify.report import dumps

    violated = unknown = load_failed = False
    reports = []
    run = Deadline(deadline, f"deadline: the run's {deadline:g} s deadline passed" if deadline is not None else "")
    for path in files:
        try:
            policy = _load(path, fmt)
        except SystemExit:
            load_failed = True
            continue
        report = verify_policy(policy, path, timeout, run=run)
        if evidence:
            from .verify.evidence import ledger

            report.evidence = ledger(policy.checked)
        if fuzz > 0:
            from .testing import fuzz_report

            fuzz_report(policy, report, fuzz)
        violated = violated or report.violated
        unknown = unknown or report.unknown
        if fmt == "json":
            reports.append(report.to_dict())
        else:
            click.echo(report.render())
    if fmt == "json":
        click.echo(dumps({"files": reports}, 2))
    if violated or load_failed:
        raise SystemExit(1)
    raise SystemExit(2 if unknown and not allow_unknown else 0)


@main.command(name="fmt")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--check", is_flag=True, help="Write nothing; list the files that would change and exit 1 if any would.")
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print a unified diff of the changes.")
def fmt_cmd(files: tuple[str, ...], check: bool, show_diff: bool) -> None:
    """Rewrite policy FILES in the canonical layout, keeping every comment.

    `-` reads standard input and writes the result to standard output. A file that does not
    parse is left untouched and its diagnostics printed. Exit 1 when a file does not parse, or
    with --check when a file would change; 0 otherwise.
    """
    import difflib

    from .formatter import FormatterBug, format_source
    from .source import read_text

    failed = changed = False
    for path in files:
        if path == "-":
            text = sys.stdin.read()
        else:
            text, problem = read_text(Path(path), keep_bom=True)  # so that a BOM is a change
            if problem is not None:
                click.echo(f"error: `{path}` {problem}", err=True)
                failed = True
                continue
        try:
            out = format_source(text, "<stdin>" if path == "-" else path)
        except PolicyError as exc:
            _print_diagnostics(exc.diagnostics, sys.stderr, "text")
            failed = True
            continue
        except FormatterBug as exc:
            click.echo(f"error: {exc} (please report this formatter bug)", err=True)
            failed = True
            continue
        if out == text:
            if path == "-" and not (check or show_diff):
                sys.stdout.write(out)
            continue
        changed = True
        if show_diff:
            name = "<stdin>" if path == "-" else path
            sys.stdout.writelines(difflib.unified_diff(
                text.splitlines(keepends=True), out.splitlines(keepends=True), f"{name}", f"{name} (formatted)"))
        if check:
            click.echo(f"would reformat {path}")
        elif show_diff:
            pass
        elif path == "-":
            sys.stdout.write(out)
        else:
            with open(path, "w", encoding="utf-8", newline="") as stream:
                stream.write(out)
            click.echo(f"reformatted {path}", err=True)
    raise SystemExit(1 if failed or (check and changed) else 0)


@main.command(name="lsp")
@click.option("--stdio", is_flag=True, help="Talk over standard input and output (the default and only transport).")
def lsp_cmd(stdio: bool) -> None:
    """Run the language server editors start for `.ecp` files (docs/editors.md).

    Diagnostics as you type, hover, go to definition, completion and formatting. Needs the
    optional `lsp` extra (pygls); exit 2 without it.
    """
    try:
        import pygls  # noqa: F401
    except ImportError:
        click.echo("error: `ecrules lsp` needs pygls: pip install 'ecrules[lsp]'", err=True)
        raise SystemExit(2) from None
    from .lsp.server import main as serve

    serve()


from .auditcli import bundle_cmd, log_group, replay_cmd  # noqa: E402  (they use _print_diagnostics)

main.add_command(log_group)
main.add_command(replay_cmd)
main.add_command(bundle_cmd)

__all__ = ["main", "read_jsonl"]


def _register_impact() -> None:
    """`impact` and `diff` live in ecrules.impact; they are wired here."""
    from .impact.cli import diff_cmd, impact_cmd

    main.add_command(impact_cmd)
    main.add_command(diff_cmd)


_register_impact()
