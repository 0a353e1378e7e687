"""Source text and spans: every location holds the text it points into (as Cedar does).

A span is excluded from node equality, so two trees that differ only in layout compare equal:
that is what parse/format round-trip tests rely on.
"""

from __future__ import annotations

import attrs


@attrs.frozen(eq=False)
class Source:
    """One file's text; `name` is how diagnostics name it (a path, or `<string>`)."""

    name: str
    text: str

    def line(self, number: int) -> str:
        """The 1-based line `number`, without its newline."""
        lines = self.text.splitlines()
        return lines[number - 1] if 0 < number <= len(lines) else ""


@attrs.frozen(eq=False)
class Span:
    source: Source
    line: int
    column: int
    end_line: int
    end_column: int

    @property
    def text(self) -> str:
        """The source text the span covers (first line only when it spans several)."""
        line = self.source.line(self.line)
        end = self.end_column - 1 if self.end_line == self.line else len(line)
        return line[self.column - 1 : max(end, self.column)]

    def __str__(self) -> str:
        return f"{self.source.name}:{self.line}:{self.column}"
