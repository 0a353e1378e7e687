"""Load a policy: read files, follow imports, parse, check, compile; diagnostics collected once.

The one layer that reads a policy's files: the policy and its imports here, its list files and
screening lists through `DiskReader`, which the checker is given (it touches no file itself).
"""

from __future__ import annotations

from pathlib import Path

from . import nodes as n
from . import files
from .checked import Checked
from .checker import check
from .diagnostics import Diagnostic, error, sort_key
from .files import TREE_HELP, inside_tree, printable, probe
from .parser import parse
from .source import Source, display_path, note_read, read_text


class DiskReader:
    """The checker's access to list files (`checker.Reader`): the file system, bounded reads,
    every file read noted for the policy's content hash."""

    def real(self, path: Path) -> Path:
        return path.resolve()

    def inside(self, root: Path, path: Path) -> bool:
        return inside_tree(root, path)

    def text(self, path: Path, limit: int) -> tuple[str, str | None]:
        return read_text(path, limit=limit, policy=False)

    def data(self, path: Path, limit: int) -> tuple[bytes, str | None]:
        data, problem = files.read_bytes(path, limit)
        if problem is None:
            note_read(path, data)
        return data, problem


def check_source(source: Source, root: Path) -> tuple[Checked | None, list[Diagnostic]]:
    """Parse and check one policy and everything it imports."""
    module, imports, diags = parse_with_imports(source, root)
    if module is None or any(d.severity == "error" for d in diags):
        return None, order_diagnostics(diags, module, imports)
    checked, more = check(module, imports, root, DiskReader())
    return checked, order_diagnostics(diags + more, module, imports)


def parse_with_imports(source: Source, root: Path) -> tuple[n.Module | None, list[n.Module], list[Diagnostic]]:
    """Parse one policy and, transitively, the files it imports (dependencies first), each held
    to the policy's tree `root` (`files.tree_root`; docs/security.md).

    Apart from `check_source` so that tools that keep what the checker learns (the language
    server) load a policy exactly as `ecrules check` does.
    """
    module, diags = parse(source)
    if module is None:
        return None, [], diags
    imports: list[n.Module] = []
    _imports(module, Path(source.name), root, imports, diags, [_key(source.name)], set())
    return module, imports, diags


def order_diagnostics(diags: list[Diagnostic], module: n.Module | None, imports: list[n.Module]) -> list[Diagnostic]:
    """Dependencies before dependants: imported files in import order, the policy itself last."""
    rank = {m.span.source.name: k for k, m in enumerate(imports + ([module] if module else []))}

    def order(d: Diagnostic) -> tuple[int, str, int, int]:
        file, line, col = sort_key(d)
        return (rank.get(file, -1), file, line, col)

    return sorted(diags, key=order)


def _key(name: str) -> str:
    return str(Path(name).resolve())


def _imports(module: n.Module, path: Path, root: Path, out: list[n.Module], diags: list[Diagnostic],
             stack: list[str], done: set[str]) -> None:
    for decl in module.decls:
        if not isinstance(decl, n.Import):
            continue
        shown = printable(decl.path)
        if "\x00" in decl.path:
            diags.append(error(f"import path `{shown}` holds a NUL character", decl.span))
            continue
        target = (path.parent / decl.path).resolve()
        if not inside_tree(root, target):
            diags.append(error(f"imported file `{shown}` is outside the policy's folder", decl.span, TREE_HELP))
            continue
        key = str(target)
        if key in stack:
            chain = " -> ".join(f"`{Path(s).name}`" for s in stack[stack.index(key):] + [key])
            diags.append(error(f"import cycle: {chain}", decl.span, "a file cannot import itself, directly or not"))
            continue
        if key in done:
            continue
        text, problem = _read_policy(target)
        if problem is not None:
            diags.append(error(f"imported file `{shown}` {problem}", decl.span,
                               f"looked for `{display_path(target)}`" if problem == "does not exist" else None))
            continue
        done.add(key)
        imported, more = parse(Source(display_path(target), text))
        diags += more
        if imported is None:
            continue
        _imports(imported, target, root, out, diags, stack + [key], done)
        out.append(imported)


def _read_policy(path: Path) -> tuple[str, str | None]:
    """An imported file's text, or why not. Only a `.ecp` file is read: the text of any other
    file (a secret, a log) must never be echoed in a diagnostic's source excerpt."""
    if path.suffix != ".ecp":
        return "", probe(path, None) or "is not a policy: an import names a `.ecp` file"
    return read_text(path)
