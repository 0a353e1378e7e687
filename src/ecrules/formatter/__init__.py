"""`ecrules fmt`: the canonical layout of a policy, comments kept.

One generator walks the AST and lays every construct out as lines (`layout.Frag`): headers first in
their written order, 2-space indentation inside blocks, one clause a line, expressions on one
line when they fit in 100 columns and otherwise broken at `and` / `or` (then inside quantifiers
and collection literals), with the fewest parentheses the registry's precedences allow, except
that `and` inside `or` and a comparison under `not` are always parenthesized, for the reader.

While laying out, every construct that came from the source leaves an *anchor*: its source
extent and the output lines it landed on. Comments (in the token stream the parser keeps,
`parser.parse_lossless`) are then placed by those anchors, never dropped:

- a comment on its own line goes on its own line before the construct that follows it in the
  source, when that construct starts an output line (a declaration, a clause, a field, an
  operand of a broken condition, a closing brace);
- a comment after code stays at the end of the output line that holds the construct that ended
  just before it;
- anything else (a comment in the middle of a condition now on one line, a second comment that
  would land on an occupied line) goes on its own line before the innermost enclosing construct
  that starts a line — before the clause, at worst before the declaration.

Blank lines between declarations, clauses and fields are kept (several collapse into one).

The layout reads the source only through that token stream (`stream.py`): which token is first
on its line, which line is blank, which keyword precedes a construct; it never lexes the text. Modules: `layout` (lines,
fragments, anchors), `exprs` (expressions), `decls` (declarations), `comments` (placing them).
"""

from __future__ import annotations

import attrs

from .. import nodes as n
from ..depth import check_depth
from ..diagnostics import PolicyError
from ..parser import Lexeme, Parsed, parse_lossless
from ..source import Source, strip_bom
from .comments import place
from .decls import Printer, hoist_headers
from .layout import WIDTH
from .stream import Stream


def format_source(text: str, name: str = "<string>") -> str:
    """The canonical layout of the policy `text`; raises `PolicyError` when it does not parse.

    A leading byte-order mark is dropped: the layout is UTF-8 without one, so `fmt` removes it.
    """
    text = strip_bom(text)
    source = Source(name, text)
    parsed = parse_lossless(source)
    module, diags = parsed.module, parsed.diagnostics
    if module is None or any(d.severity == "error" for d in diags):
        raise PolicyError(diags)
    too_deep = check_depth([module])  # the layout recurses: refuse what the checker refuses
    if too_deep:
        raise PolicyError(too_deep)
    out = format_module(module, parsed.tokens)
    expected = _Expected(hoist_headers(module), sorted(c.text.rstrip() for c in parsed.comments))
    checked = _check_round_trip(expected, out, name)
    # where comments move (a second comment for an occupied line end), one more pass may settle
    # the layout further: repeat to the fixed point, so that formatting twice changes nothing
    for _ in range(3):
        assert checked.module is not None  # _check_round_trip parsed it
        again = format_module(checked.module, checked.tokens)
        if again == out:
            break
        checked = _check_round_trip(expected, again, name)
        out = again
    return out


class FormatterBug(Exception):
    """The layout would change the policy's meaning or lose a comment: nothing is written."""


@attrs.frozen
class _Expected:
    """What every formatted text must parse back to: the tree (headers hoisted) and the comments."""

    module: n.Module
    comments: list[str]


def _check_round_trip(expected: _Expected, out: str, name: str) -> Parsed:
    """The formatted text must parse to the same tree (spans aside) and keep every comment; its
    parse is returned, for the next pass to lay out."""
    parsed = parse_lossless(Source(name, out))
    again, diags = parsed.module, parsed.diagnostics
    if again is None or any(d.severity == "error" for d in diags) or again != expected.module:
        raise FormatterBug(f"{name}: the formatted text would not mean the same; left unchanged")
    if expected.comments != sorted(c.text.rstrip() for c in parsed.comments):
        raise FormatterBug(f"{name}: the formatted text would lose a comment; left unchanged")
    return parsed


def format_module(module: n.Module, tokens: tuple[Lexeme, ...] = ()) -> str:
    """Lay out a parsed module. `tokens` is the source's token stream (`parser.Parsed.tokens`: for
    comments and blank lines); without it the layout depends on the tree alone."""
    stream = Stream(tokens)
    printer = Printer(stream)
    printer.module(module)
    return place(printer.out, stream, printer.decl_lines)


__all__ = ["format_source", "format_module", "hoist_headers", "FormatterBug", "WIDTH"]
