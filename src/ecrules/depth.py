"""How deep a policy may nest, checked before anything recursive reads it (issue 7, item 11).

The checker, the compiler, the formatter, the interpreter behind `explain`, the SQL generator
and the verifier all walk expressions recursively, and the generated Python has its own limit
(200 nested parentheses). A policy written to break them (10,000 unary minus, 250 nested
quantifiers, 1,000 chained `let`s, 3,000 nested types) used to pass the checker and crash
later. Here every nesting is measured without recursion, and a policy deeper than `MAX_DEPTH`
is refused with a diagnostic at the place that is too deep. Real policies nest a dozen levels.

Three nestings are measured, each against `MAX_DEPTH`:

- an expression: each operator, call, quantifier, literal or name is one level (`a + b + c`
  is two `+` levels over the names: three; parentheses alone add nothing);
- a `let` or `const` that reads another counts that one's depth below the reading name
  (a chain of lets is as deep as the expression they spell out together);
- a type: each `list<...>`/`set<...>` and each field of a declared type holding another
  declared type is one level.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

import attrs

from . import nodes as n
from .diagnostics import Diagnostic, error
from .source import Span

#: the deepest nesting a policy may use (docs/security.md); 100 leaves the engines' own limits
#: (Python's recursion limit, 200 nested parentheses in generated code) a wide margin
MAX_DEPTH = 100

_EXPR = (n.Literal, n.Name, n.Attr, n.Has, n.Not, n.BoolOp, n.Compare, n.Arith, n.Neg, n.Call, n.Quant,
         n.SetLit, n.ListLit, n.RecordLit)
_HELP = f"nesting is limited to {MAX_DEPTH} levels (docs/security.md): split it with `let`s or flatten it"


def check_depth(modules: list[n.Module]) -> list[Diagnostic]:
    """Diagnostics for everything nested deeper than `MAX_DEPTH`: one per declaration at most."""
    diags: list[Diagnostic] = []
    decls = [d for m in modules for d in m.decls]
    named = {d.name: d.value for d in decls if isinstance(d, (n.LetDecl, n.ConstDecl))}
    let_depth = _let_depths(named)
    for d in decls:
        where = _too_deep(d, let_depth)
        if where is not None:
            span, what = where
            diags.append(error(f"{what} nested more than {MAX_DEPTH} levels deep", span, _HELP))
    types = [t for d in decls if isinstance(d, n.Schema) for t in d.decls]
    diags += _type_depths(types)
    return diags


def _fields(node: Any) -> Iterator[Any]:
    """The children of a syntax node (the attrs fields that take part in equality: not spans, not
    the checker's facts), tuples flattened."""
    for name in _FIELD_NAMES.get(type(node)) or _field_names(type(node)):
        value = getattr(node, name)
        if isinstance(value, tuple):
            yield from (x for x in value if attrs.has(type(x)))
        elif attrs.has(type(value)):
            yield value


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = tuple(a.name for a in attrs.fields(cls) if a.eq)
    _FIELD_NAMES[cls] = names
    return names


def _too_deep(decl: Any, let_depth: dict[str, int]) -> tuple[Span, str] | None:
    """The first node (in source order) below `decl` deeper than the limit, if any."""
    stack: list[tuple[Any, int, bool]] = [(decl, 0, False)]
    while stack:
        node, depth, inside = stack.pop()
        if isinstance(node, _EXPR):
            if not inside and depth + _expr_depth(node, let_depth) <= MAX_DEPTH:
                continue  # the whole expression is within the limit: the common case, one pass
            depth += 1
            if isinstance(node, n.Name) and node.name in let_depth:
                if let_depth[node.name] > MAX_DEPTH:
                    continue  # reported once, where that let's chain passes the limit
                depth += let_depth[node.name] - 1
            if depth > MAX_DEPTH:
                if isinstance(node, n.Name) and let_depth.get(node.name, 0) > 1:
                    return node.span, f"`{node.name}` reads `let`s and `const`s"
                return node.span, "this expression is"
            stack.extend((c, depth, True) for c in reversed(n.children(node)))
            continue
        if isinstance(node, (n.ListType, n.SetType)):
            depth += 1
            if depth > MAX_DEPTH:
                return node.span, "this type is"
        stack.extend((c, depth, False) for c in reversed(list(_fields(node))))
    return None


def _expr_depth(e: n.Expr, let_depth: dict[str, int]) -> int:
    deepest = 0
    stack: list[tuple[n.Expr, int]] = [(e, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, n.Name) and node.name in let_depth:
            depth += let_depth[node.name] - 1
        if depth > deepest:
            deepest = depth
        stack.extend((c, depth + 1) for c in n.children(node))
    return deepest


def _in_dependency_order(names: Iterable[str], deps: Callable[[str], list[str]],
                        compute: Callable[[str, dict[str, int]], int]) -> dict[str, int]:
    """`compute(name, done)` for every name, each after the names it depends on, without
    recursion (chains of thousands of lets or types); a cycle (reported by the checker) counts
    its names once."""
    done: dict[str, int] = {}
    for root in names:
        stack, visiting = [root], set()
        while stack:
            name = stack[-1]
            if name in done:
                stack.pop()
                continue
            pending = [r for r in deps(name) if r not in done and r not in visiting]
            if pending and name not in visiting:
                visiting.add(name)
                stack.extend(pending)
                continue
            visiting.discard(name)
            stack.pop()
            done[name] = compute(name, done)
    return done


def _let_depths(named: dict[str, n.Expr]) -> dict[str, int]:
    """Each let's and const's depth, the ones it reads included."""
    def reads(name: str) -> list[str]:
        return [x.name for x in n.walk(named[name]) if isinstance(x, n.Name) and x.name in named]

    return _in_dependency_order(named, reads, lambda name, done: _expr_depth(
        named[name], {k: done[k] for k in reads(name) if k in done}))


def _type_depths(types: list[n.RecordDecl | n.TypeDecl]) -> list[Diagnostic]:
    """A diagnostic at the first field whose declared type nests more than the limit."""
    by_name = {t.name: t for t in types}

    def field_depth(f: n.FieldDecl, depth: dict[str, int]) -> int:
        base: Any = f.type.base
        levels = 0
        while isinstance(base, (n.ListType, n.SetType)):
            levels += 1
            base = base.elem.base
        if isinstance(base, n.NamedType) and base.name in by_name:
            levels += depth.get(base.name, 0)
        return levels + 1

    depth = _in_dependency_order(
        by_name, lambda name: [r for f in by_name[name].fields for r in _named(f) if r in by_name],
        lambda name, done: max((field_depth(f, done) for f in by_name[name].fields), default=0))
    for t in types:
        for f in t.fields:
            if field_depth(f, depth) > MAX_DEPTH:
                return [error(f"the type of field `{f.name}` nests types more than {MAX_DEPTH} levels deep",
                              f.span, _HELP)]
    return []


def _named(f: n.FieldDecl) -> list[str]:
    base: Any = f.type.base
    while isinstance(base, (n.ListType, n.SetType)):
        base = base.elem.base
    return [base.name] if isinstance(base, n.NamedType) else []
