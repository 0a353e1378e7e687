"""`ecrules lsp` driven as an editor drives it: a subprocess, LSP JSON-RPC over stdio.

The client below frames messages with `Content-Length` headers and reads the server's output in
a thread, so every wait is bounded: a server that hangs fails the test instead of hanging CI.
Expected answers come from the checker and the formatter (`ecrules.load`, `ecrules check
--format json`, `ecrules fmt -`), not from hand-written copies.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import ecrules
from ecrules import types as t

pytest.importorskip("pygls", reason="the `lsp` extra (pygls) is not installed")

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 90.0  # seconds for any one answer: generous for a loaded CI machine, finite


class Client:
    """A minimal LSP client: requests with ids, notifications, and the server's requests answered."""

    def __init__(self, cwd: Path):
        self.proc = subprocess.Popen([sys.executable, "-m", "ecrules", "lsp"], cwd=cwd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        while True:
            headers: dict[str, str] = {}
            while True:
                line = stream.readline()
                if not line:
                    self.inbox.put(None)
                    return
                if not line.strip():
                    break
                key, _, value = line.decode("ascii").partition(":")
                headers[key.strip().lower()] = value.strip()
            self.inbox.put(json.loads(stream.read(int(headers["content-length"]))))

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _next(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        try:
            message = self.inbox.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no answer within {TIMEOUT} s while waiting for {waiting_for}") from None
        if message is None:
            err = self.proc.stderr.read().decode() if self.proc.stderr else ""
            raise AssertionError(f"the server closed its output while waiting for {waiting_for}:\n{err}")
        if "method" in message and "id" in message:  # a request from the server: answer it
            self.send({"id": message["id"], "result": None})
        return message

    def request(self, method: str, params: dict[str, Any] | None) -> Any:
        self.next_id += 1
        my_id = self.next_id
        self.send({"id": my_id, "method": method, "params": params})
        deadline = time.monotonic() + TIMEOUT
        while True:
            message = self._next(deadline, method)
            if message.get("id") == my_id and "method" not in message:
                assert "error" not in message, message["error"]
                return message.get("result")
            if "method" in message and "id" not in message:
                self.notifications.append(message)

    def notify(self, method: str, params: dict[str, Any] | None) -> None:
        self.send({"method": method, "params": params})

    def wait(self, method: str, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first notification `method` whose params satisfy `match` (already received or next)."""
        for k, message in enumerate(self.notifications):
            if message["method"] == method and match(message["params"]):
                return self.notifications.pop(k)["params"]  # type: ignore[no-any-return]
        deadline = time.monotonic() + TIMEOUT
        while True:
            message = self._next(deadline, method)
            if message.get("method") == method and "id" not in message and match(message["params"]):
                return message["params"]  # type: ignore[no-any-return]
            if "method" in message and "id" not in message:
                self.notifications.append(message)

    def diagnostics(self, uri: str) -> list[dict[str, Any]]:
        params = self.wait("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
        return params["diagnostics"]  # type: ignore[no-any-return]

    def open(self, path: Path, text: str | None = None) -> str:
        uri = path.resolve().as_uri()
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "ecp", "version": 1,
            "text": path.read_text(encoding="utf-8") if text is None else text}})
        return uri

    def at(self, method: str, uri: str, line: int, character: int, **extra: Any) -> Any:
        return self.request(method, {"textDocument": {"uri": uri},
                                     "position": {"line": line, "character": character}, **extra})

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                assert self.request("shutdown", None) is None
                self.notify("exit", None)
                self.proc.wait(timeout=TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the bundled policies, so that a test may add broken files beside them."""
    folder = tmp_path_factory.mktemp("lsp") / "policies"
    shutil.copytree(ROOT / "policies", folder)
    return folder


@pytest.fixture(scope="module")
def client(tree: Path) -> Iterator[Client]:
    c = Client(tree.parent)
    result = c.request("initialize", {"processId": None, "rootUri": tree.as_uri(), "capabilities": {}})
    caps = result["capabilities"]
    assert caps["textDocumentSync"] in (1, {"openClose": True, "change": 1}) or caps["textDocumentSync"]["change"] == 1
    assert caps["hoverProvider"] and caps["definitionProvider"] and caps["documentFormattingProvider"]
    assert "." in caps["completionProvider"]["triggerCharacters"]
    assert result["serverInfo"]["name"] == "ecrules"
    c.notify("initialized", {})
    yield c
    c.close()


def find(text: str, needle: str, offset: int = 0, nth: int = 0) -> tuple[int, int]:
    """The 0-based (line, character) of the `nth` occurrence of `needle`, plus `offset` characters."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    at += offset
    line = text.count("\n", 0, at)
    return line, at - (text.rfind("\n", 0, at) + 1)


def text_of(text: str, rng: dict[str, Any]) -> str:
    lines = text.split("\n")
    (l1, c1), (l2, c2) = (rng["start"]["line"], rng["start"]["character"]), (rng["end"]["line"], rng["end"]["character"])
    assert l1 == l2, rng
    return lines[l1][c1:c2]


# ---- diagnostics -----------------------------------------------------------------------------


def test_a_bundled_policy_has_no_diagnostics(client: Client, tree: Path) -> None:
    uri = client.open(tree / "un_arms_embargo.ecp")
    assert client.diagnostics(uri) == []


def test_a_type_error_is_published_with_the_checkers_span_and_message(client: Client, tree: Path) -> None:
    good = (tree / "un_arms_embargo.ecp").read_text(encoding="utf-8")
    broken = good.replace('let exemptable = end_user.type != "armed_group"', 'let exemptable = end_user.typo != "armed_group"')
    assert broken != good
    path = tree / "broken_field.ecp"
    path.write_text(broken, encoding="utf-8")
    expected = json.loads(subprocess.run([sys.executable, "-m", "ecrules", "check", "--format", "json", str(path)],
                                         capture_output=True, text=True, timeout=TIMEOUT).stderr.splitlines()[0])
    diags = client.diagnostics(client.open(path))
    assert len(diags) == 1
    d = diags[0]
    span = expected["span"]
    assert d["range"] == {"start": {"line": span["line"] - 1, "character": span["column"] - 1},
                          "end": {"line": span["end_line"] - 1, "character": span["end_column"] - 1}}
    assert text_of(broken, d["range"]) == "end_user.typo"
    assert d["message"].startswith(expected["message"]) and "`typo`" in d["message"]
    assert expected["help"] is None or expected["help"] in d["message"]
    assert d["severity"] == 1 and d["source"] == "ecrules"


def test_the_unsaved_buffer_is_checked_not_the_file(client: Client, tree: Path) -> None:
    path = tree / "buffer.ecp"
    path.write_text((tree / "wmd_catch_all.ecp").read_text(encoding="utf-8"), encoding="utf-8")  # fine on disk
    text = 'policy "p"\nschema { record r { x: int } }\nrule R deny {\n  when x >\n}\n'
    diags = client.diagnostics(client.open(path, text))
    assert len(diags) == 1 and diags[0]["severity"] == 1
    assert diags[0]["range"]["start"]["line"] == 4  # the `}` where an operand was expected
    assert "expected" in diags[0]["message"]


def test_diagnostics_follow_changes(client: Client, tree: Path) -> None:
    path = tree / "changing.ecp"
    text = 'policy "p"\nschema { record r { x: int } }\nrule R deny {\n  when x > 1\n}\n'
    path.write_text(text, encoding="utf-8")
    uri = client.open(path)
    assert client.diagnostics(uri) == []
    changed = text.replace("x > 1", "y > 1")
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                             "contentChanges": [{"text": changed}]})
    diags = client.diagnostics(uri)
    assert [text_of(changed, d["range"]) for d in diags] == ["y"]
    assert "unknown name `y`" in diags[0]["message"]


def test_an_error_in_an_imported_file_shows_on_the_import(client: Client, tree: Path) -> None:
    (tree / "lib_bad.ecp").write_text("set s: country = { 5 }\n", encoding="utf-8")
    text = 'policy "p"\nimport "lib_bad.ecp"\nschema { record r { x: int } }\n'
    diags = client.diagnostics(client.open(tree / "uses_bad.ecp", text))
    assert len(diags) == 1
    assert text_of(text, diags[0]["range"]) == 'import "lib_bad.ecp"'
    assert "lib_bad.ecp:1:" in diags[0]["message"]
    related = diags[0]["relatedInformation"][0]["location"]
    assert related["uri"] == (tree / "lib_bad.ecp").resolve().as_uri()
    assert text_of("set s: country = { 5 }\n", related["range"]) == "5"


# ---- hover -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embargo(client: Client, tree: Path) -> tuple[str, str, ecrules.Policy]:
    path = tree / "un_arms_embargo.ecp"
    uri = client.open(path)
    return uri, path.read_text(encoding="utf-8"), ecrules.load(path)


def hover_text(client: Client, uri: str, pos: tuple[int, int]) -> str:
    result = client.at("textDocument/hover", uri, *pos)
    assert result is not None, f"no hover at {pos}"
    assert result["contents"]["kind"] == "markdown"
    return result["contents"]["value"]  # type: ignore[no-any-return]


def test_hover_on_a_field_gives_its_type(client: Client, embargo: tuple[str, str, ecrules.Policy]) -> None:
    uri, text, policy = embargo
    record = policy.checked.record
    assert record is not None
    party = record.fields["end_user"].type
    assert isinstance(party, t.StructT)
    shown = hover_text(client, uri, find(text, "let exemptable = end_user.type", offset=len("let exemptable = end_")))
    assert "**field** `end_user`" in shown and "`party`" in shown
    assert all(f"  {name}:" in shown for name in party.fields)  # the type's fields are listed
    shown = hover_text(client, uri, find(text, "let exemptable = end_user.type", offset=len("let exemptable = end_user.ty")))
    assert f"`{party.fields['type'].type}`" in shown


def test_hover_on_a_set_gives_its_members_and_bases(client: Client, embargo: tuple[str, str, ecrules.Policy]) -> None:
    uri, text, policy = embargo
    info = policy.checked.sets["un_arms_embargo_territorial"]
    shown = hover_text(client, uri, find(text, "in un_arms_embargo_territorial", offset=5))
    assert f"{len(info.values)} members" in shown
    for member in info.values:
        bases = info.bases_of(member)
        assert f'`"{member}"`' in shown
        assert all(b.instrument is not None and b.instrument.id in shown and b.citation in shown for b in bases)


def test_hover_on_an_instrument_gives_its_citation_and_dates(client: Client, embargo: tuple[str, str, ecrules.Policy]) -> None:
    uri, text, policy = embargo
    inst = policy.checked.instruments["UNSCR_1970"]
    shown = hover_text(client, uri, find(text, "basis UNSCR_1970", offset=8))
    assert f"**instrument** `UNSCR_1970` ({inst.kind}): {inst.citation}" in shown
    assert inst.adopted is not None and f"adopted {inst.adopted.isoformat()}" in shown
    assert inst.title is not None and inst.title in shown


def test_hover_on_a_rule_gives_its_outcome_and_title(client: Client, embargo: tuple[str, str, ecrules.Policy]) -> None:
    uri, text, policy = embargo
    rule = policy.checked.rule("UN_TERR")
    shown = hover_text(client, uri, find(text, "rule UN_TERR", offset=7))
    assert f"**rule** `UN_TERR` → **{rule.outcome}**" in shown
    assert rule.title is not None and rule.title in shown


def test_positions_are_counted_in_utf16_code_units(client: Client, tree: Path) -> None:
    """LSP counts UTF-16 units by default; the AST counts characters: an emoji is one, and two."""
    text = 'policy "p"\nschema { record r { x: int } }\nrule R deny { title "\U0001F600\U0001F600" when x > 1 }\n'
    uri = client.open(tree / "emoji.ecp", text)
    line, character = find(text, "x > 1")
    result = client.at("textDocument/hover", uri, line, character + 2)  # two astral characters before
    assert result is not None and result["contents"]["value"] == "**field** `x` of `r`: `int`"
    assert result["range"]["start"] == {"line": line, "character": character + 2}
    assert client.at("textDocument/hover", uri, line, character) is None  # in UTF-16 units: the `n` of `when`


def test_no_hover_on_blank_space(client: Client, embargo: tuple[str, str, ecrules.Policy]) -> None:
    uri, text, _ = embargo
    line, _ = find(text, "rule UN_TERR")
    assert client.at("textDocument/hover", uri, line - 1, 0) is None  # the blank line above


# ---- definition ------------------------------------------------------------------------------


def test_definition_of_a_set_is_its_declaration_in_the_imported_file(
        client: Client, tree: Path, embargo: tuple[str, str, ecrules.Policy]) -> None:
    uri, text, _ = embargo
    loc = client.at("textDocument/definition", uri, *find(text, "in un_arms_embargo_territorial", offset=5))
    trade = tree / "common" / "trade.ecp"
    assert loc["uri"] == trade.resolve().as_uri()
    trade_text = trade.read_text(encoding="utf-8")
    line, character = find(trade_text, "set un_arms_embargo_territorial", offset=4)
    assert loc["range"]["start"] == {"line": line, "character": character}
    assert text_of(trade_text, loc["range"]) == "un_arms_embargo_territorial"


def test_definition_of_an_import_is_the_other_file(client: Client, tree: Path,
                                                   embargo: tuple[str, str, ecrules.Policy]) -> None:
    uri, text, _ = embargo
    loc = client.at("textDocument/definition", uri, *find(text, 'import "common/trade.ecp"', offset=10))
    assert loc["uri"] == (tree / "common" / "trade.ecp").resolve().as_uri()
    assert loc["range"]["start"] == {"line": 0, "character": 0}


def test_definition_of_a_let_is_in_the_same_file(client: Client, embargo: tuple[str, str, ecrules.Policy]) -> None:
    uri, text, _ = embargo
    loc = client.at("textDocument/definition", uri, *find(text, "when military_item and", offset=6))
    assert loc["uri"] == uri
    assert (loc["range"]["start"]["line"], loc["range"]["start"]["character"]) == find(text, "let military_item =", offset=4)


# ---- completion ------------------------------------------------------------------------------


def test_completion_after_a_field_path_lists_the_fields(client: Client, tree: Path,
                                                        embargo: tuple[str, str, ecrules.Policy]) -> None:
    _, text, policy = embargo
    record = policy.checked.record
    assert record is not None
    party = record.fields["end_user"].type
    assert isinstance(party, t.StructT)
    path = tree / "completing.ecp"
    path.write_text(text, encoding="utf-8")
    uri = client.open(path)
    assert client.diagnostics(uri) == []
    typing = text.replace("let exemptable = end_user.type", "let exemptable = end_user.")  # does not parse
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                             "contentChanges": [{"text": typing}]})
    result = client.at("textDocument/completion", uri, *find(typing, "let exemptable = end_user.",
                                                             offset=len("let exemptable = end_user.")),
                       context={"triggerKind": 2, "triggerCharacter": "."})
    items = result["items"] if isinstance(result, dict) else result
    assert [i["label"] for i in items] == list(party.fields)
    assert {i["kind"] for i in items} == {5}  # Field


def test_completion_offers_sets_instruments_functions_and_keywords(
        client: Client, embargo: tuple[str, str, ecrules.Policy]) -> None:
    uri, text, policy = embargo
    line, _ = find(text, "rule UN_TERR")
    result = client.at("textDocument/completion", uri, line - 1, 0)
    labels = {i["label"] for i in (result["items"] if isinstance(result, dict) else result)}
    assert set(policy.checked.sets) <= labels
    assert set(policy.checked.instruments) <= labels
    assert {"normalize", "days_between", "any", "all"} <= labels
    assert {"rule", "when", "basis", "deny", "invariant"} <= labels


# ---- formatting ------------------------------------------------------------------------------


def apply_edits(text: str, edits: list[dict[str, Any]]) -> str:
    lines = text.split("\n")

    def offset(pos: dict[str, int]) -> int:
        return sum(len(x) + 1 for x in lines[: pos["line"]]) + pos["character"]

    for e in sorted(edits, key=lambda e: offset(e["range"]["start"]), reverse=True):
        text = text[: offset(e["range"]["start"])] + e["newText"] + text[offset(e["range"]["end"]):]
    return text


def test_formatting_gives_the_output_of_ecrules_fmt(client: Client, tree: Path) -> None:
    good = (tree / "wmd_catch_all.ecp").read_text(encoding="utf-8")
    messy = "\n".join("  " + line.strip().replace(" = ", "   =   ") for line in good.split("\n")) + "\n\n\n"
    path = tree / "messy.ecp"
    uri = client.open(path, messy)
    edits = client.request("textDocument/formatting", {"textDocument": {"uri": uri},
                                                       "options": {"tabSize": 2, "insertSpaces": True}})
    fmt = subprocess.run([sys.executable, "-m", "ecrules", "fmt", "-"], input=messy, capture_output=True,
                         text=True, timeout=TIMEOUT, cwd=tree)
    assert fmt.returncode == 0, fmt.stderr
    assert fmt.stdout != messy
    assert len(edits) == 1 and apply_edits(messy, edits) == fmt.stdout


def test_formatting_a_document_that_does_not_parse_changes_nothing(client: Client, tree: Path) -> None:
    uri = client.open(tree / "unparsable.ecp", 'policy "p"\nrule R deny {\n')
    assert client.request("textDocument/formatting", {"textDocument": {"uri": uri},
                                                      "options": {"tabSize": 2, "insertSpaces": True}}) is None


# ---- lifecycle -------------------------------------------------------------------------------


def test_shutdown_and_exit_end_the_process(tree: Path) -> None:
    c = Client(tree.parent)
    try:
        c.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
        c.notify("initialized", {})
        assert c.request("shutdown", None) is None
        c.notify("exit", None)
        assert c.proc.wait(timeout=TIMEOUT) == 0
    finally:
        c.close()


def test_without_pygls_the_command_names_the_extra() -> None:
    code = "import sys; sys.modules['pygls'] = None; from ecrules.cli import main; main(['lsp'])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: `ecrules lsp` needs pygls: pip install 'ecrules[lsp]'"
