"""Comments, placed after the layout by the anchors the constructs left (see the package docstring):
on their own line before the construct that follows them, at the end of the line that holds the
construct they followed, or else before the innermost enclosing construct that starts a line."""

from __future__ import annotations

from .layout import INDENT, Anchor, Frag, Line, Pos
from .stream import Stream


def place(out: Frag, stream: Stream) -> str:
    """The text of `out` with every comment of `stream` placed by the anchors (module docstring)."""
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
    for k, (line_no, col, raw) in enumerate(comments):
        text = raw.rstrip()
        pos = (line_no, col)
        own = stream.first_on_line(pos)
        blank = stream.blank_before(line_no)
        if not own:
            best = _trailing_slot(stream, anchors, pos)
            if best is not None and wanted.get(best.last) == k:
                lines[best.last].trailing = text
                continue
        else:
            after = [a for a in anchors if a.start > pos]
            if after:
                first = min(a.start for a in after)
                at_first = [a for a in after if a.start == first and a.begins]
                if at_first:
                    target = min(at_first, key=lambda a: a.first)
                    line = lines[target.first]
                    indent = line.indent + (INDENT if target.closing else 0)
                    line.before.append((indent, text, blank))
                    continue
        # nothing better: before the innermost construct that holds it and starts a line
        holders = [a for a in anchors if a.begins and a.start <= pos <= a.end and not a.closing]
        if holders:
            target = max(holders, key=lambda a: (a.start, -a.first))
            line = lines[target.first]
            line.before.append((line.indent, text, blank and own))
            continue
        later = [a for a in anchors if a.begins and a.start > pos]
        if later:
            target = min(later, key=lambda a: (a.start, a.first))
            line = lines[target.first]
            indent = line.indent + (INDENT if target.closing else 0)
            line.before.append((indent, text, blank and own))
            continue
        tail.append((text, blank))
    return _emit(lines, tail)


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
