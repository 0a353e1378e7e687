"""MkDocs hooks for the docs site (mkdocs.yml `hooks:`).

- Pages link to repository files outside docs/ (`../examples/tutorial/`); the site does not
  publish those, so such a link becomes its text, naming the file in the repository, rather
  than a broken link (which `--strict` would reject).
- A page added to docs/ but not to the nav of mkdocs.yml is appended to it (under "More"), so
  the site never silently omits a page.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority

_LINK = re.compile(r"(?<!!)\[([^\]\n]*)\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _nav_pages(nav: Any) -> set[str]:
    if isinstance(nav, str):
        return {nav}
    if isinstance(nav, list):
        return set().union(*(_nav_pages(x) for x in nav)) if nav else set()
    if isinstance(nav, dict):
        return set().union(*(_nav_pages(x) for x in nav.values())) if nav else set()
    return set()


def on_config(config: Any) -> Any:
    nav = config.get("nav")
    if nav is None:
        return config
    listed = _nav_pages(nav)
    docs = Path(config["docs_dir"])
    missing = sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*.md")
                     if p.relative_to(docs).as_posix() not in listed)
    if missing:
        nav.append({"More": missing})
    return config


def _outside(page_uri: str, target: str) -> str | None:
    """The repository path a link leaves docs/ for, or None when it stays inside (or is a URL)."""
    if "://" in target or target.startswith(("#", "/", "mailto:")):
        return None
    path = target.split("#", 1)[0]
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(page_uri), path))
    if joined != ".." and not joined.startswith("../"):
        return None
    repo = posixpath.normpath(posixpath.join("docs", joined))
    return repo + ("/" if path.endswith("/") else "")


@event_priority(-100)  # after include-markdown has brought README.md in
def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    out: list[str] = []
    fenced = False
    for line in markdown.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        if not fenced:
            line = _LINK.sub(lambda m: _plain(m, page.file.src_uri), line)
        out.append(line)
    return "\n".join(out)


def _plain(m: re.Match[str], page_uri: str) -> str:
    repo = _outside(page_uri, m.group(2))
    if repo is None:
        return m.group(0)
    text = m.group(1)
    return text if text.strip("`") == repo else f"{text} (`{repo}` in the repository)"
