"""Load a policy: read files, follow imports, parse, check, compile; diagnostics collected once."""

from __future__ import annotations

from pathlib import Path

from . import nodes as n
from .checker import Checked, check
from .diagnostics import Diagnostic, error, sort_key
from .files import TREE_HELP, inside_tree, printable, probe
from .parser import parse
from .source import Source, display_path, read_text


def check_source(source: Source, root: Path) -> tuple[Checked | None, list[Diagnostic]]:
    """Parse and check one policy and everything it imports."""
    module, diags = parse(source)
    if module is None:
        return None, diags
    imports: list[n.Module] = []
    _imports(module, Path(source.name), root, imports, diags, [_key(source.name)], set())
    # dependencies before dependants: imported files in import order, the policy itself last
    rank = {m.span.source.name: k for k, m in enumerate(imports + [module])}

    def order(d: Diagnostic) -> tuple[int, str, int, int]:
        file, line, col = sort_key(d)
        return (rank.get(file, -1), file, line, col)

    if any(d.severity == "error" for d in diags):
        return None, sorted(diags, key=order)
    checked, more = check(module, imports, root)
    diags += more
    return checked, sorted(diags, key=order)


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
