"""Parse .ecp text into the AST (`nodes.py`) with Lark's LALR parser.

The Lark parser is built once per process from `grammar/ecp.lark` (shipped in the wheel as
`ecrules/grammar/ecp.lark`); a Transformer turns its tree into nodes with spans.
Syntax errors come back as diagnostics, never as Lark exceptions.

`parse_lossless` also keeps the token stream the parser read, comments included, each token with
its position (whitespace is what lies between them): the formatter lays a policy out from it.
"""

from __future__ import annotations

import datetime
import heapq
import threading
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path as FsPath
from typing import Any

import lark
from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import nodes as n
from .diagnostics import Diagnostic, error
from .literals import MAX_EXPONENT, NUMBER_RANGE, decimal_in_range, parse_date
from .source import Source, Span

_local = threading.local()


def grammar_text() -> str:
    """The grammar: from the installed package, or from the repository when run from source."""
    packaged = resources.files("ecrules").joinpath("grammar/ecp.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    repo = FsPath(__file__).resolve().parents[2] / "grammar" / "ecp.lark"
    return repo.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        maybe_placeholders=True,
        transformer=_Builder(),
        lexer_callbacks={"COMMENT": _comment},
    )


def _comment(tok: Token) -> Token:
    """Lexer callback for the ignored COMMENT terminal: kept only when `parse_lossless` asks."""
    comments: list[Token] | None = getattr(_local, "comments", None)
    if comments is not None:
        comments.append(tok)
    return tok


def parse(source: Source) -> tuple[n.Module | None, list[Diagnostic]]:
    """Parse one file. On a syntax error: no module, and one diagnostic saying where and why."""
    return _parse(source)


def _parse(source: Source) -> tuple[n.Module | None, list[Diagnostic]]:
    _local.source = source
    _local.diagnostics = []
    _local.comments = None
    try:
        module = _lark().parse(source.text)
    except UnexpectedInput as exc:
        return None, [_syntax_diagnostic(source, exc)]
    except VisitError as exc:  # a bug in the builder, not in the user's text
        raise exc.orig_exc from exc
    diags: list[Diagnostic] = _local.diagnostics
    assert isinstance(module, n.Module)
    return module, diags


@dataclass(frozen=True, slots=True)
class Lexeme:
    """One token as the parser read it: `kind` is its terminal (`NAME`, `LBRACE`, `RULE`, ...,
    `COMMENT`); positions are 1-based, `end_column` just past its last character (as in `Span`).
    No token spans lines (a string or a comment ends on its line)."""

    kind: str
    text: str
    line: int
    column: int
    end_line: int
    end_column: int

    @property
    def start(self) -> tuple[int, int]:
        return (self.line, self.column)

    @property
    def end(self) -> tuple[int, int]:
        return (self.end_line, self.end_column)


@dataclass(frozen=True)
class Parsed:
    """A parse that keeps its token stream: every token and comment of the source, in order."""

    module: n.Module | None
    diagnostics: list[Diagnostic]
    tokens: tuple[Lexeme, ...]

    @property
    def comments(self) -> tuple[Lexeme, ...]:
        return tuple(t for t in self.tokens if t.kind == "COMMENT")


def parse_lossless(source: Source) -> Parsed:
    """`parse`, keeping the tokens it read (Lark's interactive parser hands each one over) and the
    comments (the lexer's COMMENT callback). On a syntax error the tokens are not kept, and the
    diagnostic is the one `parse` gives."""
    tokens: list[Token] = []
    comments: list[Token] = []
    _local.source = source
    _local.diagnostics = []
    _local.comments = comments
    try:
        interactive = _lark().parse_interactive(source.text)
        for tok in interactive.iter_parse():
            tokens.append(tok)
        module = interactive.feed_eof()  # type: ignore[no-untyped-call]
    except UnexpectedInput:
        module, diags = _parse(source)  # the plain parse words the diagnostic (it knows what was expected)
        return Parsed(module, diags, ())
    except VisitError as exc:  # a bug in the builder, not in the user's text
        raise exc.orig_exc from exc
    finally:
        _local.comments = None
    assert isinstance(module, n.Module)
    stream = heapq.merge(tokens, comments, key=lambda t: (t.line or 1, t.column or 1))
    return Parsed(module, _local.diagnostics, tuple(_lexeme(t) for t in stream))


def _lexeme(tok: Token) -> Lexeme:
    line, column = tok.line or 1, tok.column or 1
    return Lexeme(tok.type, str(tok), line, column, tok.end_line or line, tok.end_column or column + len(tok))


# ---- building nodes --------------------------------------------------------------------------


def _ends(x: Any) -> tuple[Span, Span] | None:
    """The first and last positioned pieces of a transformer child (token, node or tuple)."""
    if isinstance(x, Token):
        if x.line is None:
            return None
        sp = _tspan(x)
        return sp, sp
    span = getattr(x, "span", None)
    if isinstance(span, Span):
        return span, span
    if isinstance(x, tuple):
        if len(x) == 2 and isinstance(x[1], Span):
            return x[1], x[1]
        found = [e for e in map(_ends, x) if e is not None]
        if found:
            return found[0][0], found[-1][1]
    return None


def _span_of(children: list[Any]) -> Span:
    """The span from the first positioned child to the last: a node's span without parse-tree metadata."""
    found = [e for e in map(_ends, children) if e is not None]
    if not found:
        return Span(_local.source, 1, 1, 1, 1)
    first, last = found[0][0], found[-1][1]
    return Span(first.source, first.line, first.column, last.end_line, last.end_column)


def _tspan(tok: Token) -> Span:
    return Span(_local.source, tok.line or 1, tok.column or 1, tok.end_line or 1, tok.end_column or 1)


def unescape(literal: str) -> str:
    r"""A string literal's value: `\"`, `\\`, `\n`, `\t` are escapes; any other backslash stays."""
    body = literal[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            mapped = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}.get(nxt)
            if mapped is not None:
                out.append(mapped)
                i += 2
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _date(tok: Token) -> datetime.date:
    """A date literal, read as records and list files read dates (`literals.parse_date`)."""
    day = parse_date(str(tok))
    if day is None:
        _local.diagnostics.append(error(f"`{tok}` is not a valid date", _tspan(tok), "dates are written YYYY-MM-DD"))
        return datetime.date(1970, 1, 1)
    return day


def _values(children: list[Any]) -> tuple[Any, ...]:
    """The nodes among a kept-token rule's children (brackets, commas and placeholders dropped)."""
    return tuple(x for x in children if x is not None and not isinstance(x, Token))


def _number(tok: Token) -> int | Decimal:
    """A number literal's value. Its exponent is held to the range records are held to
    (`literals.MAX_EXPONENT`): at most 1,001 digits before the point, so that no literal reaches
    Python's 4,300-digit limit on `int` text nor makes arithmetic on it unbounded."""
    clean = str(tok).replace("_", "")
    value = Decimal(clean)  # exact, whatever the length: Decimal has no digit limit
    if not decimal_in_range(value):
        shown = clean if len(clean) <= 24 else f"{clean[:12]}...{clean[-6:]}"
        _local.diagnostics.append(error(
            f"the number `{shown}` ({len(clean):,} characters) is out of range: {NUMBER_RANGE}", _tspan(tok),
            f"a number's leading digit lies at most {MAX_EXPONENT:,} places from its point: "
            f"at most {MAX_EXPONENT + 1:,} digits before it"))
        return 0
    return value if "." in clean else int(value)


_CONTENT = frozenset({"NAME", "STRING", "DATE", "NUMBER", "OPTIONAL"})


def _keywords(method: Any) -> Any:
    """For rules that keep their keywords (`!rule` in the grammar): span over the keywords too,
    then hand the method only the content (names, strings, dates, nodes)."""

    def wrapper(self: Any, c: list[Any]) -> Any:
        content = [x for x in c if not (isinstance(x, Token) and x.type not in _CONTENT)]
        return method(self, content, _span_of(c))

    return wrapper


class _Member:
    """A set-literal element with its bases, until `set_lit` takes it apart."""

    __slots__ = ("value", "bases")

    def __init__(self, value: n.Expr, bases: tuple[n.Basis, ...]):
        self.value = value
        self.bases = bases


class _Builder(Transformer[Token, Any]):
    """Callbacks named after grammar rules; each returns an AST node (or a piece of one)."""

    # -- top level
    def start(self, c: list[Any]) -> n.Module:
        return n.Module(tuple(c), _span_of(c))

    @_keywords
    def policy_decl(self, c: list[Any], span: Span) -> n.PolicyHeader:
        return n.PolicyHeader(unescape(c[0]), unescape(c[1]) if c[1] is not None else None, span)

    @_keywords
    def combine_decl(self, c: list[Any], span: Span) -> n.Combine:
        return n.Combine(str(c[0]), span)

    @_keywords
    def default_decl(self, c: list[Any], span: Span) -> n.Default:
        return n.Default(c[0][0], span)

    @_keywords
    def as_of_decl(self, c: list[Any], span: Span) -> n.AsOf:
        return n.AsOf(str(c[0]), span)

    @_keywords
    def import_decl(self, c: list[Any], span: Span) -> n.Import:
        return n.Import(unescape(c[0]), span)

    def outcome(self, c: list[Any]) -> tuple[str, Span]:
        return (str(c[0]), _span_of(c))

    # -- schema
    @_keywords
    def schema_block(self, c: list[Any], span: Span) -> n.Schema:
        return n.Schema(tuple(c), span)

    def record_decl(self, c: list[Any]) -> n.RecordDecl:
        return n.RecordDecl(str(c[0]), tuple(x for x in c[1:] if isinstance(x, n.FieldDecl)), _tspan(c[0]))

    def type_decl(self, c: list[Any]) -> n.TypeDecl:
        return n.TypeDecl(str(c[0]), tuple(x for x in c[1:] if isinstance(x, n.FieldDecl)), _tspan(c[0]))

    def field_decl(self, c: list[Any]) -> n.FieldDecl:
        return n.FieldDecl(str(c[0]), c[1], _tspan(c[0]))

    def type_expr(self, c: list[Any]) -> n.TypeExpr:
        return n.TypeExpr(c[0], c[1] is not None, _span_of(c))

    def named_type(self, c: list[Any]) -> n.NamedType:
        return n.NamedType(str(c[0]), _span_of(c))

    def list_type(self, c: list[Any]) -> n.ListType:
        return n.ListType(c[0], _span_of(c))

    def set_type(self, c: list[Any]) -> n.SetType:
        return n.SetType(c[0], _span_of(c))

    def enum_type(self, c: list[Any]) -> n.EnumType:
        members = [m for m in c if isinstance(m, tuple)]
        return n.EnumType(tuple(m[0] for m in members), _span_of(c), tuple(m[1] for m in members))

    def enum_member(self, c: list[Any]) -> tuple[str, Span]:
        tok = c[0]
        return (unescape(tok) if tok.type == "STRING" else str(tok), _tspan(tok))

    # -- declarations
    @_keywords
    def set_decl(self, c: list[Any], span: Span) -> n.SetDecl:
        return n.SetDecl(str(c[0]), c[1], c[2], tuple(c[3:]), _tspan(c[0]))

    @_keywords
    def file_ref(self, c: list[Any], span: Span) -> n.FileRef:
        return n.FileRef(unescape(c[0]), span)

    @_keywords
    def screening_decl(self, c: list[Any], span: Span) -> n.ScreeningDecl:
        regimes = tuple(x for x in c[5:] if isinstance(x, n.ScreeningRegime))
        return n.ScreeningDecl(str(c[0]), c[1], c[2], c[3], c[4], _tspan(c[0]), regimes)

    @_keywords
    def screening_regime(self, c: list[Any], span: Span) -> n.ScreeningRegime:
        return n.ScreeningRegime(unescape(c[0]), c[1], span)

    @_keywords
    def screening_format(self, c: list[Any], span: Span) -> str:
        return str(c[0])

    @_keywords
    def screening_threshold(self, c: list[Any], span: Span) -> Decimal:
        return Decimal(str(_number(c[0])))

    @_keywords
    def screening_cleared(self, c: list[Any], span: Span) -> n.FileRef:
        return c[0]  # type: ignore[no-any-return]

    def const_decl(self, c: list[Any]) -> n.ConstDecl:
        return n.ConstDecl(str(c[0]), c[1], _tspan(c[0]))

    def let_decl(self, c: list[Any]) -> n.LetDecl:
        return n.LetDecl(str(c[0]), c[1], _tspan(c[0]))

    @_keywords
    def basis(self, c: list[Any], span: Span) -> n.Basis:
        valid_from = c[2][0] if c[2] is not None else None
        until = c[3][0] if c[3] is not None else None
        text = unescape(c[1]) if c[1] is not None else None
        return n.Basis(str(c[0]), text, valid_from, until, span, _tspan(c[0]))

    # -- instruments
    @_keywords
    def instrument_decl(self, c: list[Any], span: Span) -> n.Instrument:
        clauses = tuple(x for x in c[1:] if isinstance(x, (n.InstrumentField, n.Scope)))
        return n.Instrument(str(c[0]), clauses, span, _tspan(c[0]))

    def inst_kind(self, c: list[Any]) -> n.InstrumentField:
        return n.InstrumentField("kind", str(c[1]), _span_of(c))

    def inst_text(self, c: list[Any]) -> n.InstrumentField:
        return n.InstrumentField(str(c[0]), unescape(c[1]), _span_of(c))

    def inst_date(self, c: list[Any]) -> n.InstrumentField:
        return n.InstrumentField(str(c[0]), _date(c[1]), _span_of(c))

    def inst_scope(self, c: list[Any]) -> n.Scope:
        values = tuple(unescape(x) for x in c[2:] if isinstance(x, Token) and x.type == "STRING")
        return n.Scope(str(c[1]), values, _span_of(c))

    def basis_from(self, c: list[Any]) -> tuple[datetime.date, Span]:
        return (_date(c[0]), _tspan(c[0]))

    basis_until = basis_from

    @_keywords
    def rule_decl(self, c: list[Any], span: Span) -> n.Rule:
        clauses = tuple(x if isinstance(x, n.Clause) else n.Clause("basis", x, x.span) for x in c[2:])
        return n.Rule(str(c[0]), c[1][0], clauses, span, _tspan(c[0]))

    @_keywords
    def title_clause(self, c: list[Any], span: Span) -> n.Clause:
        return n.Clause("title", unescape(c[0]), span)

    @_keywords
    def require_clause(self, c: list[Any], span: Span) -> n.Clause:
        return n.Clause("require", unescape(c[0]), span)

    @_keywords
    def effective_clause(self, c: list[Any], span: Span) -> n.Clause:
        return n.Clause("effective", _date(c[0]), span)

    @_keywords
    def expires_clause(self, c: list[Any], span: Span) -> n.Clause:
        return n.Clause("expires", _date(c[0]), span)

    @_keywords
    def waives_clause(self, c: list[Any], span: Span) -> n.Clause:
        return n.Clause("waives", tuple(c), span)

    @_keywords
    def when_clause(self, c: list[Any], span: Span) -> n.Clause:
        return n.Clause("when", c[0], span)

    def name_ref(self, c: list[Any]) -> n.Ref:
        return n.Ref(str(c[0]), _tspan(c[0]))

    def policy_version(self, c: list[Any]) -> Token:
        tok: Token = c[0]
        return tok

    @_keywords
    def invariant_plain(self, c: list[Any], span: Span) -> n.Invariant:
        return n.Invariant(None, unescape(c[0]), c[1], span)

    @_keywords
    def invariant_decl(self, c: list[Any], span: Span) -> n.Invariant:
        return n.Invariant(c[0], unescape(c[1]), c[2], span)

    def path(self, c: list[Any]) -> n.Path:
        return n.Path(tuple(str(t) for t in c), _span_of(c))

    @_keywords
    def constraint_decl(self, c: list[Any], span: Span) -> n.Constraint:
        return n.Constraint(str(c[0]), c[1], span)

    @_keywords
    def protect_clause(self, c: list[Any], span: Span) -> n.Protect:
        unless: tuple[n.Ref, ...] = c[-1] or ()
        c = c[:-1]
        paths = tuple(x for x in c if isinstance(x, n.Path))
        types = tuple(x for x in c if isinstance(x, n.Ref))
        return n.Protect(paths, types, unless, span)

    def protect_target(self, c: list[Any]) -> n.Path:
        path: n.Path = c[0]
        return path

    def protect_type(self, c: list[Any]) -> n.Ref:
        return n.Ref(str(c[0]), _tspan(c[0]))

    def unless_clause(self, c: list[Any]) -> tuple[n.Ref, ...]:
        return tuple(x for x in c if isinstance(x, n.Ref))

    @_keywords
    def never_clause(self, c: list[Any], span: Span) -> n.OutcomeWhen:
        return n.OutcomeWhen("never", c[0][0], c[1], span)

    @_keywords
    def always_clause(self, c: list[Any], span: Span) -> n.OutcomeWhen:
        return n.OutcomeWhen("always", c[0][0], c[1], span)

    @_keywords
    def test_decl(self, c: list[Any], span: Span) -> n.Test:
        expect, fired, field = c[2]
        return n.Test(unescape(c[0]), c[1], expect, fired, field, span)

    def expect_clause(self, c: list[Any]) -> tuple[str, tuple[n.Ref, ...] | None, None]:
        return (c[0][0], c[1], None)

    def expect_error(self, c: list[Any]) -> tuple[str, None, str | None]:
        return ("error", None, c[0])

    def fired_clause(self, c: list[Any]) -> tuple[n.Ref, ...]:
        return tuple(x for x in c if isinstance(x, n.Ref))

    def error_field(self, c: list[Any]) -> str:
        return unescape(c[0])

    # -- expressions
    def _chain(self, op: str, c: list[Any]) -> n.BoolOp:
        return n.BoolOp(op, tuple(c), _span_of(c))

    def or_expr(self, c: list[Any]) -> n.BoolOp:
        return self._chain("or", c)

    def and_expr(self, c: list[Any]) -> n.BoolOp:
        return self._chain("and", c)

    def negation(self, c: list[Any]) -> n.Not:
        return n.Not(c[1], _span_of(c))

    def compare(self, c: list[Any]) -> n.Compare:
        return n.Compare(c[1], c[0], c[2], _span_of(c))

    def comp_op(self, c: list[Any]) -> str:
        return " ".join(str(t) for t in c)

    def arith(self, c: list[Any]) -> n.Arith:
        return n.Arith(c[1], c[0], c[2], _span_of(c))

    def add_op(self, c: list[Any]) -> str:
        return str(c[0])

    mul_op = add_op

    def negative(self, c: list[Any]) -> n.Expr:
        operand = c[1]
        if isinstance(operand, n.Literal) and isinstance(operand.value, (int, Decimal)) and not isinstance(operand.value, bool):
            return n.Literal(-operand.value, _span_of(c))
        return n.Neg(operand, _span_of(c))

    def attr(self, c: list[Any]) -> n.Attr:
        return n.Attr(c[0], str(c[1]), _span_of(c))

    def string(self, c: list[Any]) -> n.Literal:
        return n.Literal(unescape(c[0]), _span_of(c))

    def number(self, c: list[Any]) -> n.Literal:
        return n.Literal(_number(c[0]), _span_of(c))

    def date(self, c: list[Any]) -> n.Literal:
        return n.Literal(_date(c[0]), _span_of(c))

    def boolean(self, c: list[Any]) -> n.Literal:
        return n.Literal(str(c[0]) == "true", _span_of(c))

    def name(self, c: list[Any]) -> n.Name:
        return n.Name(str(c[0]), _span_of(c))

    def has(self, c: list[Any]) -> n.Has:
        return n.Has(c[1], _span_of(c))

    def path_expr(self, c: list[Any]) -> n.Expr:
        expr: n.Expr = n.Name(str(c[0]), _tspan(c[0]))
        for tok in c[1:]:
            end = _tspan(tok)
            first = expr.span
            expr = n.Attr(expr, str(tok), Span(first.source, first.line, first.column, end.end_line, end.end_column))
        return expr

    def call(self, c: list[Any]) -> n.Call:
        return n.Call(str(c[0]), _values(c[2:]), _span_of(c))

    def quantifier(self, c: list[Any]) -> n.Quant:
        kind, var, source, where, body = c[0], c[2], c[4], c[5], c[6]
        return n.Quant(str(kind), str(var), source, where, body, _span_of(c), _tspan(var))

    def quant_where(self, c: list[Any]) -> n.Expr:
        where: n.Expr = c[0]
        return where

    quant_body = quant_where

    def set_lit(self, c: list[Any]) -> n.SetLit:
        elements: list[n.Expr] = []
        bases: list[tuple[n.Basis, ...]] = []
        for x in _values(c):
            if isinstance(x, _Member):
                elements.append(x.value)
                bases.append(x.bases)
            else:
                elements.append(x)
                bases.append(())
        return n.SetLit(tuple(elements), _span_of(c), tuple(bases) if any(bases) else ())

    def member(self, c: list[Any]) -> _Member:
        return _Member(c[0], tuple(c[1:]))

    def list_lit(self, c: list[Any]) -> n.ListLit:
        return n.ListLit(_values(c), _span_of(c))

    def record_lit(self, c: list[Any]) -> n.RecordLit:
        return n.RecordLit(_values(c), _span_of(c))

    def field_init(self, c: list[Any]) -> n.FieldInit:
        return n.FieldInit(str(c[0]), c[1], _tspan(c[0]))


# ---- syntax errors ---------------------------------------------------------------------------

_READABLE = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "DATE": "a date",
    "OPTIONAL": "`?`",
    "$END": "the end of the file",
}


@lru_cache(maxsize=1)
def _terminal_text() -> dict[str, str]:
    out: dict[str, str] = {}
    for term in _lark().terminals:
        pattern = term.pattern
        if isinstance(pattern, lark.lexer.PatternStr):
            out[term.name] = f"`{pattern.value}`"
    return out


def _describe(terminal: str) -> str:
    return _READABLE.get(terminal) or _terminal_text().get(terminal) or terminal.lower()


def _expected(names: set[str] | frozenset[str]) -> str:
    words = {_describe(t) for t in names if t not in ("COMMENT", "WS")}
    # what a person types first: names and values, then keywords, then punctuation
    items = sorted(words, key=lambda w: (not w.startswith("a "), not w[1:2].isalpha(), w))
    if not items:
        return ""
    if len(items) > 10:
        items = items[:10] + ["..."]
    return "expected " + ", ".join(items)


_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=", "in", "like")


def _accepts(exc: UnexpectedToken) -> set[str]:
    try:
        accepted: set[str] = exc.interactive_parser.accepts()  # type: ignore[no-untyped-call]
        return set(accepted)
    except Exception:  # pragma: no cover - older Lark without an interactive parser here
        return set(exc.expected)


def _syntax_diagnostic(source: Source, exc: UnexpectedInput) -> Diagnostic:
    line = exc.line if isinstance(exc.line, int) and exc.line > 0 else 1
    col = exc.column if isinstance(exc.column, int) and exc.column > 0 else 1
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        accepts = _accepts(exc)
        if tok.type == "$END":
            lines = source.text.splitlines() or [""]
            line, col = len(lines), len(lines[-1]) + 1
            span = Span(source, line, col, line, col + 1)
            return error("unexpected end of file", span, _expected(accepts) or None)
        span = Span(source, line, col, tok.end_line or line, tok.end_column or col + 1)
        text = str(tok)
        history = [str(t) for t in (getattr(exc, "token_history", None) or [])]
        previous = history[-1] if history else ""
        wants_operand = "NAME" in accepts
        if text in _COMPARISONS and not wants_operand and ("AND" in accepts or "OR" in accepts):
            return error(f"comparisons cannot be chained: unexpected `{text}`", span,
                         "join two comparisons with `and`, or add parentheses")
        if text == "=":
            return error("unexpected `=`", span, "compare with `==`; `=` only appears in declarations")
        if wants_operand and previous in _KEYWORD_HINT:
            return error(f"unexpected `{text}` after `{previous}`", span, _KEYWORD_HINT[previous])
        if wants_operand and text in _KEYWORD_HINT:
            return error(f"unexpected `{text}`", span, _KEYWORD_HINT[text])
        if text in _COMPARISONS and wants_operand:
            return error(f"unexpected `{text}`: a value is missing before it", span, _expected(accepts) or None)
        if text == "not" and ("AND" in accepts or "OR" in accepts):
            return error("unexpected `not`", span, "join conditions with `and` or `or`: `a and not b`")
        return error(f"unexpected `{text}`", span, _expected(accepts) or None)
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        ch = source.text[pos] if pos < len(source.text) else ""
        span = Span(source, line, col, line, col + 1)
        if ch == '"':
            return error("unterminated string", span, "a string ends with `\"` on the same line")
        return error(f"unexpected character `{ch}`", span, _CHAR_HINT.get(ch))
    if isinstance(exc, UnexpectedEOF):
        lines = source.text.splitlines() or [""]
        span = Span(source, len(lines), len(lines[-1]) + 1, len(lines), len(lines[-1]) + 2)
        return error("unexpected end of file", span, _expected(set(exc.expected)) or None)
    return error("syntax error", Span(source, line, col, line, col + 1))


_CHAR_HINT = {
    ";": "nothing separates clauses or declarations: remove the `;`",
    "'": "strings are written in double quotes: \"...\"",
    "&": "write `and`",
    "|": "write `or`",
    "!": "write `not`, or `!=` to compare",
}

_KEYWORD_HINT = {
    word: f"`{word}` is an operator word: it cannot name a top-level field"
    for word in ("and", "or", "not", "has", "where", "true", "false")
}
