"""Load a policy: read files, follow imports, parse, check, compile; diagnostics collected once."""

from __future__ import annotations

import os
from pathlib import Path

from . import nodes as n
from .checker import Checked, check
from .diagnostics import Diagnostic, error, sort_key
from .parser import parse
from .source import Source


def check_source(source: Source, root: Path) -> tuple[Checked | None, list[Diagnostic]]:
    """Parse and check one policy and everything it imports."""
    module, diags = parse(source)
    if module is None:
        return None, diags
    imports: list[n.Module] = []
    _imports(module, Path(source.name), imports, diags, [_key(source.name)], set())
    if any(d.severity == "error" for d in diags):
        return None, sorted(diags, key=sort_key)
    checked, more = check(module, imports, root)
    diags += more
    return checked, sorted(diags, key=sort_key)


def _key(name: str) -> str:
    return str(Path(name).resolve())


def _imports(module: n.Module, path: Path, out: list[n.Module], diags: list[Diagnostic],
             stack: list[str], done: set[str]) -> None:
    for decl in module.decls:
        if not isinstance(decl, n.Import):
            continue
        target = (path.parent / decl.path).resolve()
        key = str(target)
        if key in stack:
            chain = " -> ".join(f"`{Path(s).name}`" for s in stack[stack.index(key):] + [key])
            diags.append(error(f"import cycle: {chain}", decl.span, "a file cannot import itself, directly or not"))
            continue
        if key in done:
            continue
        try:
            text = target.read_text(encoding="utf-8")
        except FileNotFoundError:
            diags.append(error(f"imported file `{decl.path}` does not exist", decl.span, f"looked for `{target}`"))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            diags.append(error(f"cannot read imported file `{decl.path}`: {exc}", decl.span))
            continue
        done.add(key)
        imported, more = parse(Source(_display(target), text))
        diags += more
        if imported is None:
            continue
        _imports(imported, target, out, diags, stack + [key], done)
        out.append(imported)


def _display(path: Path) -> str:
    """How diagnostics name a file: relative to the working directory when it is below it."""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel
