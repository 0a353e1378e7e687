"""`ecrules lsp`: the language server, wiring pygls to the pure functions of `features`.

Everything about `.ecp` lives in `analysis`, `symbols` and `features`; this module only converts
between LSP messages and those functions (positions in the editor's code units, URIs, ranges)
and decides when to check: at once when a document opens, shortly after the typing stops when
it changes, in a worker thread so that hover and completion keep answering meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import PositionCodec, TextDocument

from .. import __version__
from .. import nodes as n
from ..diagnostics import Diagnostic, error
from ..source import Source, Span
from .analysis import Analysis, analyze
from .features import Item, completion, definition, format_text, hover

#: how long typing must pause before a changed document is checked again
DEBOUNCE_SECONDS = 0.25

_SEVERITY = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning}
_ITEM_KIND = {
    "field": lsp.CompletionItemKind.Field, "set": lsp.CompletionItemKind.Constant,
    "instrument": lsp.CompletionItemKind.Reference, "function": lsp.CompletionItemKind.Function,
    "keyword": lsp.CompletionItemKind.Keyword, "const": lsp.CompletionItemKind.Constant,
    "let": lsp.CompletionItemKind.Variable, "type": lsp.CompletionItemKind.Struct,
    "rule": lsp.CompletionItemKind.Event, "screening": lsp.CompletionItemKind.Constant,
    "variable": lsp.CompletionItemKind.Variable,
}


class EcpServer(LanguageServer):
    """A pygls server that remembers each document's latest analysis and the last one that checked."""

    def __init__(self) -> None:
        super().__init__("ecrules", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Full)
        self.analyses: dict[str, Analysis] = {}
        #: per document, the last analysis where the checker ran: completion reads its schema
        #: while the text being typed (`end_user.`) does not parse
        self.good: dict[str, Analysis] = {}
        self.pending: dict[str, int] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecrules-check")
        self._lock: asyncio.Lock | None = None

    async def analysis(self, uri: str) -> Analysis:
        """The analysis of the document's current text, checked now if it is not yet."""
        doc = self.workspace.get_text_document(uri)
        cached = self.analyses.get(uri)
        if cached is not None and cached.source.text == doc.source:
            return cached
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            cached = self.analyses.get(uri)
            text = doc.source
            if cached is not None and cached.source.text == text:
                return cached
            path = _path(uri)
            result = await asyncio.get_running_loop().run_in_executor(self._pool, _safe_analyze, text, path)
            self.analyses[uri] = result
            if result.checker is not None:
                self.good[uri] = result
            return result

    async def publish(self, uri: str, delay: float) -> None:
        """Check the document (after `delay`, unless it changed again meanwhile) and publish."""
        ticket = self.pending[uri] = self.pending.get(uri, 0) + 1
        if delay:
            await asyncio.sleep(delay)
            if self.pending.get(uri) != ticket:
                return  # a newer change will publish
        try:
            doc = self.workspace.get_text_document(uri)
        except KeyError:
            return
        result = await self.analysis(uri)
        if self.pending.get(uri) != ticket or result.source.text != doc.source:
            return
        lines = _lines(result.source.text)
        diags = [to_lsp_diagnostic(d, result, lines, doc.position_codec) for d in result.diagnostics]
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diags, version=doc.version))


def _safe_analyze(text: str, path: str | None) -> Analysis:
    """An analysis, or one diagnostic saying the checker failed (a bug), never a dead server."""
    try:
        return analyze(text, path)
    except Exception as exc:  # noqa: BLE001 - the server must outlive a checker bug
        logging.getLogger(__name__).exception("checking %s failed", path)
        source = Source(path or "<untitled>", text)
        where = Span(source, 1, 1, 1, 1)
        diag = error(f"ecrules could not check this document: {exc}", where, "please report this bug")
        return Analysis(source, None, (), (diag,), None, None)


def _path(uri: str) -> str | None:
    return to_fs_path(uri) if uri.startswith("file:") else None


def _uri(path: Path) -> str:
    return from_fs_path(str(path)) or path.as_uri()


def _lines(text: str) -> list[str]:
    """Lines as Lark counts them (on `\\n` only), for converting columns."""
    return text.split("\n")


def to_range(span: Span | None, lines: Sequence[str], codec: PositionCodec) -> lsp.Range:
    """A span (1-based, in characters) as an LSP range (0-based, in the client's code units)."""
    if span is None:
        return lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
    end_column = span.end_column if (span.end_line, span.end_column) > (span.line, span.column) else span.column + 1
    rng = lsp.Range(lsp.Position(span.line - 1, span.column - 1), lsp.Position(span.end_line - 1, end_column - 1))
    return codec.range_to_client_units(lines, rng)


def _file_lines(name: str) -> list[str]:
    try:
        return _lines(Path(name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return []


def to_lsp_diagnostic(d: Diagnostic, analysis: Analysis, lines: Sequence[str], codec: PositionCodec) -> lsp.Diagnostic:
    """A diagnostic in this document; one in an imported file is shown on the `import` that leads
    to it, with the exact place as related information."""
    message = d.message + (f"\nhelp: {d.help}" if d.help else "")
    span = d.span
    related = None
    if span is not None and span.source.name != analysis.source.name:
        there = lsp.Location(_uri(Path(span.source.name).resolve()),
                             to_range(span, _file_lines(span.source.name), codec))
        related = [lsp.DiagnosticRelatedInformation(there, d.message)]
        message = f"in `{span}`: {message}"
        span = _import_leading_to(analysis, Path(span.source.name).resolve())
    return lsp.Diagnostic(range=to_range(span, lines, codec), message=message, severity=_SEVERITY[d.severity],
                          source="ecrules", related_information=related)


def _import_leading_to(analysis: Analysis, target: Path) -> Span | None:
    """The `import` of this document naming `target`, or else its first (the chain starts there)."""
    imports = [d for d in analysis.module.decls if isinstance(d, n.Import)] if analysis.module else []
    base = Path(analysis.source.name).resolve().parent
    for d in imports:
        if (base / d.path).resolve() == target:
            return d.span
    return imports[0].span if imports else None


def _position(doc: TextDocument, pos: lsp.Position) -> tuple[int, int]:
    """An LSP position as the AST's 1-based line and column (in characters)."""
    server = doc.position_codec.position_from_client_units(_lines(doc.source), pos)
    return server.line + 1, server.character + 1


def _item(it: Item) -> lsp.CompletionItem:
    return lsp.CompletionItem(label=it.label, kind=_ITEM_KIND[it.kind], detail=it.detail)


def build_server() -> EcpServer:
    server = EcpServer()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: EcpServer, params: lsp.DidOpenTextDocumentParams) -> None:
        await ls.publish(params.text_document.uri, 0)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: EcpServer, params: lsp.DidChangeTextDocumentParams) -> None:
        await ls.publish(params.text_document.uri, DEBOUNCE_SECONDS)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: EcpServer, params: lsp.DidSaveTextDocumentParams) -> None:
        # a saved file may be imported by the open document: its analysis is stale
        ls.analyses.clear()
        for uri in list(ls.workspace.text_documents):
            await ls.publish(uri, 0)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: EcpServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        for table in (ls.analyses, ls.good, ls.pending):
            table.pop(uri, None)
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    async def on_hover(ls: EcpServer, params: lsp.HoverParams) -> lsp.Hover | None:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        result = await ls.analysis(doc.uri)
        found = hover(result, *_position(doc, params.position))
        if found is None:
            return None
        text, span = found
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text),
                         range=to_range(span, _lines(doc.source), doc.position_codec))

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    async def on_definition(ls: EcpServer, params: lsp.DefinitionParams) -> lsp.Location | None:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        result = await ls.analysis(doc.uri)
        target = definition(result, *_position(doc, params.position))
        if target is None:
            return None
        if target.path is None:  # in this unsaved document
            return lsp.Location(doc.uri, to_range(target.span, _lines(doc.source), doc.position_codec))
        here = result.path is not None and target.path.resolve() == result.path.resolve()
        uri = doc.uri if here else _uri(target.path)
        lines = _lines(doc.source) if here else _file_lines(str(target.path))
        return lsp.Location(uri, to_range(target.span, lines, doc.position_codec))

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=["."]))
    async def on_completion(ls: EcpServer, params: lsp.CompletionParams) -> lsp.CompletionList:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        result = await ls.analysis(doc.uri)
        if result.checker is None:
            result = ls.good.get(doc.uri, result)
        line, column = _position(doc, params.position)
        text_lines = _lines(doc.source)
        before = text_lines[line - 1][: column - 1] if line - 1 < len(text_lines) else ""
        return lsp.CompletionList(is_incomplete=False, items=[_item(it) for it in completion(result, before)])

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    def on_formatting(ls: EcpServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        text = doc.source
        out = format_text(text, _path(doc.uri) or "<untitled>")
        if out is None:
            return None  # it does not parse: the diagnostics say why, nothing to apply
        if out == text:
            return []
        lines = _lines(text)
        end = doc.position_codec.position_to_client_units(lines, lsp.Position(len(lines) - 1, len(lines[-1])))
        return [lsp.TextEdit(range=lsp.Range(lsp.Position(0, 0), end), new_text=out)]

    return server


def main() -> None:
    """Serve one editor over standard input and output."""
    logging.basicConfig(level=logging.WARNING)
    build_server().start_io()


__all__ = ["EcpServer", "build_server", "main", "to_lsp_diagnostic", "to_range"]
