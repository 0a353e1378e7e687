"""The package's import structure: no cycle anywhere, and each layer imports only those below it.

Read from the source with `ast` (nothing is imported), so the test sees every import, including
those inside functions, which a cycle through would still be a cycle. `LAYERS` and `ALLOWED`
below are the architecture's one statement of who may import whom (docs/architecture.md cites
them); change them here, with a reason, when the design changes.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "ecrules"

#: every module belongs to one layer, by its dotted name below `ecrules` (the longest prefix
#: listed wins; a module listed nowhere is in "app")
LAYERS: dict[str, tuple[str, ...]] = {
    # plumbing and the value model: what a value is, how a literal reads, what a decision holds;
    # nothing here knows the language's syntax
    "base": ("source", "files", "frozen", "diagnostics", "outfiles", "pysource", "version", "literals",
             "countries", "decision", "types", "values", "records", "recordjson", "semantics"),
    # the typed IR: the syntax tree with the facts the checker put on it, and the checked program
    "ir": ("nodes", "checked"),
    # what every evaluator shares at run time: combining matches into a decision, screening lists
    "runtime": ("combine", "screening"),
    # the reference evaluator, which is also constant folding (the checker runs it on constants)
    "interpreter": ("interpreter",),
    # the back-ends: each reads the IR and renders or evaluates it its own way
    "backend": ("compiler", "explain", "columnar", "verify"),
    # text to IR: parsing, checking, loading (the only layer that reads a policy's files)
    "frontend": ("parser", "depth", "typecheck", "law", "checker", "annotate", "loader", "formatter"),
    # reading record files and writing decision files
    "io": ("inputs", "outputs", "pick"),
    # the public API and the tools built on it (policy, tests, coverage, impact, lsp, cli, audit)
    "app": (),
}

#: which layers each layer may import, besides its own
ALLOWED: dict[str, frozenset[str]] = {
    "base": frozenset(),
    "ir": frozenset({"base"}),
    "runtime": frozenset({"base", "ir"}),
    "interpreter": frozenset({"base", "ir", "runtime"}),
    # never the front end, `policy.py` or one another (a back-end that needs a loaded policy
    # takes a `checked.Program`); the exceptions are in EXCEPTIONS
    "backend": frozenset({"base", "ir", "runtime"}),
    # constant folding is the interpreter run on constants: the front end may call it
    "frontend": frozenset({"base", "ir", "runtime", "interpreter"}),
    "io": frozenset({"base", "ir"}),
    "app": frozenset(LAYERS),
}

#: (importer prefix, imported prefix): edges across the rules above, each with its reason
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("explain", "interpreter"): "an explanation is the reference interpreter watching itself decide",
    ("verify", "interpreter"): "verify replays every witness z3 finds on the reference interpreter before reporting it",
    ("columnar", "inputs"): "`evaluate_table` and `ecrules eval` read the table files the engine decides",
    ("columnar", "outputs"): "the engine builds decision tables in the schema `ecrules eval` writes",
}

def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path  # "" is the package itself
    return out


MODULES = _modules()


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Nodes under `if TYPE_CHECKING:`: annotations only, never run."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out.update(id(x) for stmt in node.body for x in ast.walk(stmt))
    return out


def _imports(module: str, with_type_checking: bool) -> set[str]:
    """The modules of the package that `module` imports (`from . import x` names module `x`)."""
    path = MODULES[module]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    package = [p for p in package if p]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = set() if with_type_checking else _type_checking_only(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
            found.update(x.removeprefix("ecrules").lstrip(".") for x in names if x.split(".")[0] == "ecrules")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "ecrules":
                base = node.module.split(".")[1:]
            else:
                continue
            for alias in node.names:
                sub = ".".join(base + [alias.name])
                found.add(sub if sub in MODULES else ".".join(base))
    return {m for m in found if m in MODULES and m != module}


def _layer(module: str) -> str:
    best, layer = -1, "app"
    for name, prefixes in LAYERS.items():
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, layer = len(p), name
    return layer


def _covered(edge: tuple[str, str], table: dict[tuple[str, str], str]) -> bool:
    src, dst = edge
    return any((src == a or src.startswith(a + ".")) and (dst == b or dst.startswith(b + "."))
               for a, b in table)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    x = stack.pop()
                    on_stack.discard(x)
                    comp.append(x)
                    if x == node:
                        break
                if len(comp) > 1:
                    cycles.append(sorted(comp))
    return cycles


def test_the_package_has_no_import_cycle() -> None:
    cycles = _cycles({m: _imports(m, with_type_checking=False) for m in MODULES})
    assert not cycles, "import cycles (modules that import each other, directly or not): " + "; ".join(
        " <-> ".join(f"ecrules.{m}".rstrip(".") for m in c) for c in cycles)


def test_every_import_follows_the_layering() -> None:
    bad: list[str] = []
    for module in sorted(MODULES):
        src = _layer(module)
        for dep in sorted(_imports(module, with_type_checking=True)):
            dst = _layer(dep)
            if dst == src or dst in ALLOWED[src]:
                continue
            if _covered((module, dep), EXCEPTIONS):
                continue
            bad.append(f"ecrules.{module} ({src}) imports ecrules.{dep} ({dst})")
    assert not bad, "imports across the layering (tests/test_architecture.py):\n" + "\n".join(bad)


def test_the_tables_name_real_modules() -> None:
    """A table entry that names no module is a rule that checks nothing."""
    names = set(MODULES)
    for prefixes in LAYERS.values():
        for p in prefixes:
            assert any(m == p or m.startswith(p + ".") for m in names), p
    for a, b in EXCEPTIONS:
        for p in (a, b):
            assert any(m == p or m.startswith(p + ".") for m in names), p


def test_the_walk_sees_what_it_must() -> None:
    """The walk itself: a cycle in a planted graph, a function-level import, a type-only one."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    assert "interpreter" in _imports("checker", with_type_checking=False)
    assert "pick" in _imports("cli", with_type_checking=False)  # imported inside a function
    assert "checked" in _imports("columnar.engine", with_type_checking=True)
    assert _layer("checked") == "ir" and _layer("verify.encode") == "backend" and _layer("policy") == "app"


#: calls that touch the file system; the front end leaves them to the loader (`loader.DiskReader`)
_FS_CALLS = frozenset({"open", "read_text", "read_bytes", "resolve", "exists", "stat", "is_file", "iterdir",
                       "glob", "note_read", "probe", "read_list_bytes"})
#: front-end modules that may: the loader, and the parser (its own grammar file, not a policy's)
_READERS = frozenset({"loader", "parser"})


def test_only_the_loader_reads_files() -> None:
    bad = []
    for module, path in sorted(MODULES.items()):
        if _layer(module) != "frontend" or module in _READERS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                if name in _FS_CALLS:
                    bad.append(f"ecrules.{module}:{node.lineno}: `{name}(...)`")
    assert not bad, "the front end reads files only through the loader's reader:\n" + "\n".join(bad)


class _MemoryReader:
    """A `checker.Reader` over files held in memory: the checker needs no disk."""

    def __init__(self, files: dict[str, bytes]):
        self.files = {Path(k): v for k, v in files.items()}
        self.asked: list[Path] = []

    def real(self, path: Path) -> Path:
        return Path("/virtual") / path if not path.is_absolute() else path

    def inside(self, root: Path, path: Path) -> bool:
        return root == path or root in path.parents

    def text(self, path: Path, limit: int) -> tuple[str, str | None]:
        data, problem = self.data(path, limit)
        return data.decode("utf-8"), problem

    def data(self, path: Path, limit: int) -> tuple[bytes, str | None]:
        self.asked.append(path)
        if path not in self.files:
            return b"", "does not exist"
        return self.files[path], None


def test_the_checker_reads_list_files_through_its_reader() -> None:
    from ecrules.checker import check
    from ecrules.parser import parse
    from ecrules.source import Source

    text = """policy "lists"
schema {
  record tx { dest: country }
}
set embargoed: country = file "lists/embargoed.txt"
rule r deny {
  when dest in embargoed
}
"""
    module, diags = parse(Source("p.ecp", text))
    assert module is not None and not diags
    reader = _MemoryReader({"/virtual/lists/embargoed.txt": b"KP\nIR\n"})
    checked, diags = check(module, [], Path("/virtual"), reader)
    assert checked is not None, diags
    assert checked.sets["embargoed"].values == frozenset({"KP", "IR"})
    assert reader.asked == [Path("/virtual/lists/embargoed.txt")]
    missing = _MemoryReader({})
    checked, diags = check(module, [], Path("/virtual"), missing)
    assert checked is None and any("does not exist" in d.message for d in diags)
