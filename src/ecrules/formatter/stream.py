"""The source as the parser read it: its tokens and comments with their positions
(`parser.Parsed.tokens`), indexed for the questions the layout asks of the source. Every
character outside a token is white space, so these answers need no second look at the text.
"""

from __future__ import annotations

import bisect
from typing import Sequence

from ..parser import Lexeme
from .layout import Pos


class Stream:
    def __init__(self, tokens: Sequence[Lexeme]) -> None:
        self.tokens = tuple(tokens)
        self.starts = [t.start for t in self.tokens]
        self.comments = tuple(t for t in self.tokens if t.kind == "COMMENT")
        self._comment_starts = [c.start for c in self.comments]
        #: the column of the last comment on each line (a line holds at most one)
        self._comment_col = {c.line: c.column for c in self.comments}
        #: the lines that hold some token or comment (no token spans lines)
        self._occupied = {t.line for t in self.tokens}

    def first_on_line(self, pos: Pos) -> bool:
        """Is nothing but white space written before `pos` on its line?"""
        i = bisect.bisect_left(self.starts, pos)
        return i == 0 or self.tokens[i - 1].end_line < pos[0]

    def blank_before(self, line: int) -> bool:
        """Is source line `line - 1` blank (and `line` not the first)?"""
        return line >= 2 and line - 1 not in self._occupied

    def word_before(self, pos: Pos, words: tuple[str, ...]) -> Pos | None:
        """Where the token just before `pos` starts, when it is one of `words` (a keyword)."""
        i = bisect.bisect_left(self.starts, pos)
        if i == 0 or self.tokens[i - 1].text not in words:
            return None
        return self.tokens[i - 1].start

    def next_is(self, after: Pos, text: str) -> Pos | None:
        """Where `text` starts, when it is the first token at or after `after` (comments skipped)."""
        i = bisect.bisect_left(self.starts, after)
        while i < len(self.tokens) and self.tokens[i].kind == "COMMENT":
            i += 1
        if i == len(self.tokens) or self.tokens[i].text != text:
            return None
        return self.tokens[i].start

    def comment_within(self, start: Pos, end: Pos) -> bool:
        """Is a comment written after `start` and before `end`?"""
        i = bisect.bisect_right(self._comment_starts, start)
        return i < len(self._comment_starts) and self._comment_starts[i] < end

    def comment_after(self, end: Pos) -> bool:
        """Is a comment written on the line of `end`, at or after it?"""
        return self._comment_col.get(end[0], 0) >= end[1]
