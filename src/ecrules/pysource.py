"""The only doors through which policy data enters generated Python source.

A policy is data from elsewhere: its path, strings, set members and patterns must never become
code. The compiler therefore writes policy data in exactly three ways:

- `lit(value)`: a `str`, `int`, `bool` or `None` as its `repr()`, a Python literal that parses
  back to the same value whatever characters it holds (quotes, backslashes, newlines, NUL,
  U+2028, `\"\"\"`, `#`); any other value is hoisted into the module's globals by the caller;
- generated identifiers (`F3`, `_s0`, `P12`): a fixed prefix and a counter, never a name taken
  from the policy;
- `comment(kind, index, span)`: a fixed word and integers (where in the policy a block comes
  from), never a file name or other text.

`audit(source)` checks the result token by token before it is compiled: comments have the shape
`comment` writes, and every name is a Python keyword, one of `NAMES`, a global the compiler
provides, or a generated identifier. Text from a policy that slipped into the source by some
other route would show up as a stray name or comment and stop the load with an internal error.
"""

from __future__ import annotations

import io
import keyword
import re
import tokenize
from collections.abc import Collection
from typing import Any

#: names the generated code may use besides its globals and generated identifiers: builtins,
#: locals of the generated functions, attributes of run-time values
NAMES = frozenset({
    # builtins
    "len", "any", "all", "sum", "tuple", "frozenset", "isinstance", "dict", "str", "int", "bool",
    "list", "enumerate", "Exception", "min", "max", "abs", "set", "range", "type", "object", "round",
    # locals and parameters of the generated functions
    "decide", "decide_fast", "rec", "pos", "rid", "exc", "x", "k", "M", "C", "R", "s", "v", "float",
    # attributes of run-time values and helpers
    "get", "__class__", "is_finite", "adjusted", "as_integer_ratio", "fullmatch", "within", "days", "message", "field", "append",
    "add", "subtract", "multiply", "minus", "startswith", "endswith", "match", "search",
    "string", "integer", "number", "boolean", "country", "adjusted",
    "float",
})

#: a generated identifier: a short fixed prefix and a counter (`F3`, `_l0`, `PT2`, `_s1`, `f0`)
_GENERATED = re.compile(r"_?[A-Za-z]{1,3}[0-9]+\Z")
_COMMENT = re.compile(r"# [a-z]+ [0-9]+ at line [0-9]+, column [0-9]+\Z")


class UnsafeSource(AssertionError):
    """Generated source holds something the emitter API cannot produce: a bug, never user error."""


def lit(value: Any) -> str:
    """A Python literal for `value` (`str`, `int`, `bool` or `None`): the only way data is written."""
    if value is None or value.__class__ in (bool, int, str):
        return repr(value)
    raise TypeError(f"not a literal value: {type(value).__name__} (hoist it into the globals)")


def ident(prefix: str, index: int) -> str:
    """A generated identifier; `prefix` is one of the compiler's own, never a name from a policy."""
    name = f"{prefix}{index}"
    if not _GENERATED.match(name):
        raise ValueError(f"not a generated identifier: {name!r}")
    return name


def comment(kind: str, index: int, line: int, column: int) -> str:
    """`# rule 3 at line 12, column 1`: where a block comes from, in words and integers only."""
    text = f"# {kind} {int(index)} at line {int(line)}, column {int(column)}"
    if not _COMMENT.match(text):
        raise ValueError(f"not a comment the emitter writes: {text!r}")
    return text


def audit(source: str, globals_: Collection[str]) -> None:
    """Raise `UnsafeSource` unless every name and comment in `source` is one the emitter writes."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError) as exc:
        raise UnsafeSource(f"generated source does not tokenize: {exc}") from None
    for tok in tokens:
        if tok.type == tokenize.COMMENT and not _COMMENT.match(tok.string):
            raise UnsafeSource(f"unexpected comment in generated source at line {tok.start[0]}: {tok.string!r}")
        if tok.type == tokenize.NAME and not (
            keyword.iskeyword(tok.string) or tok.string in NAMES or tok.string in globals_
            or _GENERATED.match(tok.string)
        ):
            raise UnsafeSource(f"unexpected name in generated source at line {tok.start[0]}: {tok.string!r}")
        if tok.type == tokenize.ERRORTOKEN:
            raise UnsafeSource(f"unexpected text in generated source at line {tok.start[0]}: {tok.string!r}")
