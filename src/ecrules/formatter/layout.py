"""The layout's building blocks: output lines (`Line`), fragments of lines under construction
(`Frag`) and the anchors they carry (`Anchor`: a construct's source extent and the output lines
it landed on), by which comments are placed afterwards (`comments.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import nodes as n
from ..source import Span

WIDTH = 100
INDENT = 2

Pos = tuple[int, int]  # (line, column), 1-based as Lark reports them


@dataclass
class Anchor:
    start: Pos
    end: Pos
    first: int  # output line where it starts (relative to its fragment until placed)
    last: int  # output line where it ends
    begins: bool  # its output starts its line (comments may go on their own line before it)
    item: bool = False  # a declaration, clause or field: keeps a blank line written before it
    closing: bool = False  # a closing brace: comments before it are indented one level deeper


@dataclass
class Line:
    indent: int
    text: str
    trailing: str | None = None
    before: list[tuple[int, str, bool]] = field(default_factory=list)  # (indent, comment, blank before)
    blank: bool = False  # a blank line before it


class Frag:
    """Lines under construction, with the anchors of what they hold."""

    def __init__(self, indent: int = 0, text: str = "") -> None:
        self.lines: list[Line] = [Line(indent, text)]
        self.anchors: list[Anchor] = []

    @property
    def end_col(self) -> int:
        last = self.lines[-1]
        return last.indent + len(last.text)

    def add(self, text: str) -> Frag:
        self.lines[-1].text += text
        return self

    def anchor(self, node: object, first: int = 0, last: int | None = None, begins: bool = False,
               item: bool = False) -> None:
        ext = extent(node)
        if ext is not None:
            self.anchors.append(Anchor(ext[0], ext[1], first, len(self.lines) - 1 if last is None else last,
                                        begins, item))

    def inline(self, other: Frag, keep_begins: bool = False) -> Frag:
        """Continue the last line with `other`'s first line; `other`'s next lines follow."""
        base = len(self.lines) - 1
        starts_line = self.lines[-1].text == ""
        self.lines[-1].text += other.lines[0].text
        if starts_line:
            self.lines[-1].indent = other.lines[0].indent
        for a in other.anchors:
            if a.first == 0 and not (keep_begins or starts_line):
                a.begins = False
            a.first += base
            a.last += base
            self.anchors.append(a)
        self.lines.extend(other.lines[1:])
        return self

    @property
    def empty(self) -> bool:
        """Nothing laid out yet (one empty line, no anchor)."""
        return len(self.lines) == 1 and self.lines[0].text == "" and not self.anchors

    def below(self, other: Frag) -> Frag:
        """Append `other` as new lines."""
        if self.empty:
            self.lines = []
        base = len(self.lines)
        for a in other.anchors:
            a.first += base
            a.last += base
            self.anchors.append(a)
        self.lines.extend(other.lines)
        return self


def extent(node: object) -> tuple[Pos, Pos] | None:
    span = getattr(node, "span", None)
    if not isinstance(span, Span) or not span.source.text:
        return None
    start: Pos = (span.line, span.column)
    end: Pos = (span.end_line, span.end_column)
    if isinstance(node, n.FieldInit):
        value = extent(node.value)
        if value is not None:
            end = max(end, value[1])
    return start, end
