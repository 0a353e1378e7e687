"""docs/architecture.md states the layering that tests/test_architecture.py enforces: the same table."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"


def _architecture_test() -> object:
    spec = importlib.util.spec_from_file_location("_layering", ROOT / "tests" / "test_architecture.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _doc_table() -> dict[str, tuple[list[str], set[str]]]:
    rows: dict[str, tuple[list[str], set[str]]] = {}
    text = DOC.read_text(encoding="utf-8")
    table = text.split("| layer | modules | may import |", 1)[1].split("\n\n", 1)[0]
    for line in table.strip().splitlines()[1:]:
        layer, modules, may = (c.strip() for c in line.strip().strip("|").split("|"))
        names = re.findall(r"`([a-z_.]+)`", modules) if not modules.startswith("everything else") else []
        allowed = set() if may == "nothing" else {"*"} if may == "every layer" else {x.strip() for x in may.split(",")}
        rows[layer] = (names, allowed)
    return rows


def test_the_page_states_the_enforced_layering() -> None:
    arch = _architecture_test()
    layers: dict[str, tuple[str, ...]] = arch.LAYERS  # type: ignore[attr-defined]
    allowed: dict[str, frozenset[str]] = arch.ALLOWED  # type: ignore[attr-defined]
    doc = _doc_table()
    assert list(doc) == list(layers)
    for layer, (modules, may) in doc.items():
        assert modules == list(layers[layer]), layer
        expected = {"*"} if allowed[layer] == frozenset(layers) else set(allowed[layer])
        assert may == expected, layer


def test_every_exception_is_explained_on_the_page() -> None:
    arch = _architecture_test()
    text = DOC.read_text(encoding="utf-8")
    for importer, imported in arch.EXCEPTIONS:  # type: ignore[attr-defined]
        assert f"`{importer}`" in text and imported in text, (importer, imported)


def test_the_files_the_page_names_exist() -> None:
    text = DOC.read_text(encoding="utf-8")
    for path in set(re.findall(r"`((?:tests|tools|grammar|src|docs)/[\w/.]+)`", text)):
        assert (ROOT / path).exists(), path
    for module in set(re.findall(r"`((?:semantics|columnar|verify)/\w+\.py)`", text)):
        assert (ROOT / "src" / "ecrules" / module).exists(), module
