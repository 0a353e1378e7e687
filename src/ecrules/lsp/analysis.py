"""One document as the language server sees it: parsed, imports followed, checked.

The document is loaded as `ecrules check` loads a file (`loader.parse_with_imports`, then the
checker), from the editor's text rather than the file on disk, with imports resolved relative
to the document's path. The checker object is kept even when it reports errors: its tables
(types, bindings, sets) still answer hover and completion for the parts that did check.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import attrs

from .. import nodes as n
from ..checked import Checked
from ..checker import Checker
from ..diagnostics import Diagnostic
from ..files import tree_root
from ..loader import DiskReader, order_diagnostics, parse_with_imports
from ..parser import grammar_text
from ..source import Source

UNTITLED = "<untitled>"


@attrs.frozen(eq=False)
class Analysis:
    source: Source
    module: n.Module | None
    imports: tuple[n.Module, ...]
    diagnostics: tuple[Diagnostic, ...]
    #: the checker's tables; None when parsing or an import failed (the checker did not run)
    checker: Checker | None
    checked: Checked | None

    @property
    def path(self) -> Path | None:
        return None if self.source.name == UNTITLED else Path(self.source.name)


def analyze(text: str, path: str | Path | None) -> Analysis:
    """Check `text` as the policy at `path` (None: an unsaved buffer, imports relative to the cwd)."""
    name = str(path) if path is not None else UNTITLED
    # the policy's tree, as `ecrules.loads` finds it: imports and list files are held to it
    root = tree_root(Path(name).resolve().parent if path is not None else Path.cwd())
    source = Source(name, text)
    module, imports, diags = parse_with_imports(source, root)
    checker: Checker | None = None
    checked: Checked | None = None
    if module is not None and not any(d.severity == "error" for d in diags):
        checker = Checker(module, imports, root, DiskReader())
        checked = checker.run()
        diags = diags + checker.diags
    return Analysis(source, module, tuple(imports), tuple(order_diagnostics(diags, module, imports)),
                    checker, checked)


@lru_cache(maxsize=1)
def keywords() -> tuple[str, ...]:
    """The words the grammar spells out (`rule`, `when`, `basis`, ...), read from grammar/ecp.lark."""
    rules = re.sub(r"(?m)(^|\s)//.*$", "", grammar_text())  # comments quote words that are not keywords
    return tuple(sorted(set(re.findall(r'"([a-z_]+)"', rules))))
