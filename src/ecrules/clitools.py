"""What the command line's modules share (`cli`, `auditcli`, `impact.cli`): loading a policy and
printing diagnostics. Apart from `cli.py` so that the subcommands' modules, which `cli` imports,
need not import it back."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import Any, Iterable, TextIO

import click

from .diagnostics import Diagnostic, PolicyError
from .policy import Policy, load, loads

STDIN = "<stdin>"  # how a policy read from standard input is named in diagnostics


def _print_diagnostics(diags: Iterable[Diagnostic], stream: TextIO, fmt: str) -> None:
    for d in diags:
        if fmt == "json":
            stream.write(json.dumps(d.to_dict(), ensure_ascii=False) + "\n")
        else:
            stream.write(d.render() + "\n\n")


def _shown(path: str) -> str:
    return STDIN if path == "-" else path


def _try_load(path: str, fmt: str = "text") -> Policy | list[Diagnostic]:
    """Load a policy (`-`: from standard input), printing its diagnostics on standard error;
    the diagnostics when it does not load."""
    try:
        policy = loads(sys.stdin.read(), STDIN) if path == "-" else load(path)
    except PolicyError as exc:
        _print_diagnostics(exc.diagnostics, sys.stderr, fmt)
        errors = sum(1 for d in exc.diagnostics if d.severity == "error")
        if fmt == "text":
            click.echo(f"{_shown(path)}: {errors} error{'s' if errors != 1 else ''}", err=True)
        return list(exc.diagnostics)
    _print_diagnostics(policy.warnings, sys.stderr, fmt)
    return policy


def _load(path: str, fmt: str = "text") -> Policy:
    """Load a policy (`-`: from standard input) or exit 1 with its diagnostics on standard error."""
    loaded = _try_load(path, fmt)
    if not isinstance(loaded, Policy):
        raise SystemExit(1)
    return loaded


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return str(value)
