"""Diagnostics as values, and the one place that renders them.

Every stage reports problems by returning `Diagnostic`s; nothing prints or raises on the way.
Messages follow Cedar's style: lowercase, no trailing period, user input in backticks, help apart.
"""

from __future__ import annotations

from typing import Iterable, Literal

import attrs

from .source import Span

Severity = Literal["error", "warning"]


@attrs.frozen
class Diagnostic:
    severity: Severity
    message: str
    span: Span | None
    help: str | None = None

    @property
    def location(self) -> str:
        return str(self.span) if self.span else "<policy>"

    def render(self) -> str:
        """`FILE:LINE:COL: error: message`, then the source line with a caret, then the help."""
        head = f"{self.location}: {self.severity}: {self.message}"
        lines = [head]
        if self.span is not None:
            text = self.span.source.line(self.span.line)
            if text:
                gutter = str(self.span.line)
                pad = " " * len(gutter)
                start = self.span.column - 1
                if self.span.end_line == self.span.line:
                    width = max(1, self.span.end_column - self.span.column)
                else:
                    width = max(1, len(text) - start)
                expanded = text.replace("\t", " ")
                lines.append(f"{pad} |")
                lines.append(f"{gutter} | {expanded}")
                lines.append(f"{pad} | {' ' * start}{'^' * width}")
        if self.help:
            lines.append(f"  = help: {self.help}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """The JSON form, shaped like the object: `span` nests `file`, `line`, `column` and their ends."""
        span = self.span
        return {
            "severity": self.severity,
            "message": self.message,
            "span": None if span is None else {
                "file": span.source.name, "line": span.line, "column": span.column,
                "end_line": span.end_line, "end_column": span.end_column,
            },
            "help": self.help,
        }


def error(message: str, span: Span | None, help: str | None = None) -> Diagnostic:
    return Diagnostic("error", message, span, help)


def warning(message: str, span: Span | None, help: str | None = None) -> Diagnostic:
    return Diagnostic("warning", message, span, help)


def render_all(diagnostics: Iterable[Diagnostic]) -> str:
    return "\n\n".join(d.render() for d in diagnostics)


class PolicyError(Exception):
    """A policy did not load. `diagnostics` holds every problem found, in source order."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        errors = sum(1 for d in self.diagnostics if d.severity == "error")
        super().__init__(f"{errors} error(s)\n" + render_all(self.diagnostics))


def sort_key(d: Diagnostic) -> tuple[str, int, int]:
    if d.span is None:
        return ("", 0, 0)
    return (d.span.source.name, d.span.line, d.span.column)
