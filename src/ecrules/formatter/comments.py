"""Comments, placed after the layout by the anchors the constructs left (see the package docstring):
on their own line before the construct that follows them, at the end of the line that holds the
construct they followed, or else before the innermost enclosing construct that starts a line."""

from __future__ import annotations

import bisect
from typing import Sequence

from .layout import INDENT, Anchor, Frag, Line, Pos
from .stream import Stream


#: where a comment goes: ("before", line, indent, blank line before it), ("trailing", line, 0, False)
#: or ("tail", end, 0, blank line before it)
Slot = tuple[str, int, int, bool]


def place(out: Frag, stream: Stream, decl_lines: Sequence[int] = ()) -> str:
    """The text of `out` with every comment of `stream` placed by the anchors (module docstring).
    `decl_lines`: the output line where each declaration starts, in order (see `_Order`)."""
    lines = out.lines
    if len(lines) == 1 and lines[0].text == "" and not out.anchors:
        lines = []
    anchors = out.anchors
    comments = [(c.line, c.column, c.text) for c in stream.comments]
    tail: list[tuple[str, bool]] = []
    # a line can end with one comment: when several want it, the last one written keeps it
    wanted: dict[int, int] = {}
    for k, (line_no, col, _) in enumerate(comments):
        best = _trailing_slot(stream, anchors, (line_no, col))
        if best is not None:
            wanted[best.last] = k
    order = _Order(lines, anchors, decl_lines)
    for k, (line_no, col, raw) in enumerate(comments):
        text = raw.rstrip()
        kind, at, indent, blank = order.keep(_slot(stream, lines, anchors, wanted, k, (line_no, col)))
        if kind == "trailing":
            lines[at].trailing = text
        elif kind == "before":
            lines[at].before.append((indent, text, blank))
        else:
            tail.append((text, blank))
    return _emit(lines, tail)


def _slot(stream: Stream, lines: list[Line], anchors: list[Anchor], wanted: dict[int, int], k: int,
          pos: Pos) -> Slot:
    """Where comment number `k`, written at `pos`, goes by the anchors."""
    own = stream.first_on_line(pos)
    blank = stream.blank_before(pos[0])
    if not own:
        best = _trailing_slot(stream, anchors, pos)
        if best is not None and wanted.get(best.last) == k:
            return ("trailing", best.last, 0, False)
    else:
        after = [a for a in anchors if a.start > pos]
        if after:
            first = min(a.start for a in after)
            at_first = [a for a in after if a.start == first and a.begins]
            if at_first:
                target = min(at_first, key=lambda a: a.first)
                return ("before", target.first, lines[target.first].indent + (INDENT if target.closing else 0), blank)
    # nothing better: before the innermost construct that holds it and starts a line
    holders = [a for a in anchors if a.begins and a.start <= pos <= a.end and not a.closing]
    if holders:
        target = max(holders, key=lambda a: (a.start, -a.first))
        return ("before", target.first, lines[target.first].indent, blank and own)
    later = [a for a in anchors if a.begins and a.start > pos]
    if later:
        target = min(later, key=lambda a: (a.start, a.first))
        return ("before", target.first, lines[target.first].indent + (INDENT if target.closing else 0), blank and own)
    return ("tail", len(lines), 0, blank)


class _Order:
    """Keeps the comments of a declaration in the order they were written.

    Slots are chosen one comment at a time, so two comments may cross: a comment that ends a line
    (`when x  # a`) and a later one that cannot end a line go before it (`# b`, above `when`). A
    comment that would come out before the one written just before it, in the same declaration,
    goes right after that one instead: before the same line, or before the next line when that
    one ends a line. Across declarations the order follows the declarations (headers move first).
    """

    def __init__(self, lines: list[Line], anchors: list[Anchor], decl_lines: Sequence[int]) -> None:
        self.lines = lines
        self.decl_lines = list(decl_lines)
        self.closing = {a.first for a in anchors if a.closing}
        self.last: tuple[int, int] | None = None  # (line, 0 before it / 1 at its end) of the last comment

    def _decl(self, line: int) -> int:
        return bisect.bisect_right(self.decl_lines, line) - 1

    def _before(self, line: int) -> Slot:
        if line >= len(self.lines):
            return ("tail", len(self.lines), 0, False)
        return ("before", line, self.lines[line].indent + (INDENT if line in self.closing else 0), False)

    def keep(self, slot: Slot) -> Slot:
        rank = (slot[1], 1 if slot[0] == "trailing" else 0)
        last = self.last
        if last is not None and rank < last and self._decl(rank[0]) == self._decl(last[0]):
            slot = self._before(last[0] + last[1])
            rank = (slot[1], 0)
        self.last = rank
        return slot


def _trailing_slot(stream: Stream, anchors: list[Anchor], pos: Pos) -> Anchor | None:
    """For a comment after code: the construct that ended just before it on its line."""
    if stream.first_on_line(pos):
        return None
    cands = [a for a in anchors if a.end[0] == pos[0] and a.end <= pos]
    return max(cands, key=lambda a: (a.end, a.last)) if cands else None


def _emit(lines: list[Line], tail: list[tuple[str, bool]]) -> str:
    rows: list[tuple[int, str, str | None]] = []  # (indent, code, trailing comment); "" code = blank

    def blank() -> None:
        if rows and rows[-1][1] != "" and not rows[-1][1].endswith(("{", "[")):
            rows.append((0, "", None))

    for line in lines:
        for indent, text, was_blank in line.before:
            if was_blank:
                blank()
            rows.append((indent, text, None))
        if line.blank:
            blank()
        rows.append((line.indent, line.text, line.trailing))
    for text, was_blank in tail:
        if was_blank:
            blank()
        rows.append((0, text, None))
    # a comment row's blank handling: a blank line before a declaration with leading comments
    # was kept before the comments (they carry their own flag)
    out: list[str] = []
    i = 0
    while i < len(rows):
        indent, code, trailing = rows[i]
        if trailing is None:
            out.append(" " * indent + code if code else "")
            i += 1
            continue
        # align the trailing comments of consecutive lines
        j = i
        while j < len(rows) and rows[j][2] is not None and rows[j][1]:
            j += 1
        j = max(j, i + 1)
        column = max(rows[k][0] + len(rows[k][1]) for k in range(i, j)) + 2
        for k in range(i, j):
            ind, c, t = rows[k]
            body = " " * ind + c
            out.append(body + " " * (column - len(body)) + (t or ""))
        i = j
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n" if out else ""
