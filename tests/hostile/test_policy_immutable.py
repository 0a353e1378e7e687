"""A loaded Policy is read-only, all the way down (issue 7, item 3).

`policy.checked.patterns` (now on the IR's nodes), `.sets` and `.consts` were plain dicts: writing to them changed
`evaluate_table` (which reads them) but not `evaluate` (compiled earlier), so two engines of
one policy could disagree. Everything public and reachable from a Policy is now frozen: attrs
and dataclasses frozen, tuples, frozensets, `MappingProxyType`.

The test is a generic walk of the object graph, not a list of attributes: a mutable container
added anywhere later fails it. It follows every public attribute (a name not starting with
`_`), every public property, every field of an attrs class or dataclass, and the items of tuples, frozensets and
read-only mappings. The compiled evaluator's private copies (`Policy._decide`) and a list
matcher's private index and caches are not public and are not walked.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import fractions
import inspect
import types
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import attrs
import pytest

import ecrules

ROOT = Path(__file__).resolve().parents[2]
POLICIES = sorted((ROOT / "policies").glob("*.ecp"))

#: values that hold no references and cannot change
ATOMS = (str, bytes, int, float, bool, Decimal, fractions.Fraction, datetime.date, datetime.datetime,
         type(None), enum.Enum, Path, range, type)
MUTABLE = (dict, list, set, bytearray, memoryview)


def _children(obj: Any) -> Iterator[tuple[str, Any]]:
    """What an object refers to, named for the failure message: the items of a tuple, frozenset
    or read-only mapping; else every field (attrs, dataclass) and public attribute or property."""
    if isinstance(obj, (tuple, frozenset)):
        for k, x in enumerate(obj):
            yield f"[{k}]", x
        return
    if isinstance(obj, types.MappingProxyType):
        for k, x in obj.items():
            yield f"<key {k!r}>", k
            yield f"[{k!r}]", x
        return
    names: list[str] = []
    if attrs.has(type(obj)):
        names = [a.name for a in attrs.fields(type(obj))]
    elif dataclasses.is_dataclass(obj):
        names = [f.name for f in dataclasses.fields(obj)]
    fields = set(names)
    names += [name for name in dir(obj) if not name.startswith("_")]
    for name in dict.fromkeys(names):
        try:
            value = getattr(obj, name)
        except Exception:  # a property that does not apply (`content_hash` of an unsaved policy)
            continue
        if inspect.isroutine(value):
            continue
        if name not in fields and isinstance(value, MUTABLE) and getattr(obj, name) is not value:
            continue  # a property computing a fresh container each time: the caller's own copy
        yield "." + name, value


def _writable(obj: Any) -> str | None:
    """The name of an attribute of `obj` that can be rebound, if any."""
    for name, value in _children(obj):
        if not name.startswith("."):
            return None
        try:
            setattr(obj, name[1:], value)  # the same value: harmless if it is (wrongly) allowed
        except (AttributeError, TypeError):
            continue
        return name[1:]
    return None


def mutable_paths(root: Any, label: str) -> list[str]:
    """Every path from `root` to a mutable container or a writable object (first few only)."""
    found: list[str] = []
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = [(label, root)]
    while stack and len(found) < 20:
        path, obj = stack.pop()
        if isinstance(obj, ATOMS) or inspect.isroutine(obj):
            continue
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, MUTABLE):
            found.append(f"{path}: {type(obj).__name__}")
            continue
        if not isinstance(obj, (tuple, frozenset, types.MappingProxyType)):
            attr = _writable(obj)
            if attr is not None:
                found.append(f"{path}: {type(obj).__name__}.{attr} can be set")
        for name, child in _children(obj):
            stack.append((path + name, child))
    return found


def test_the_walker_finds_mutable_state() -> None:
    """The walker itself is honest: it reports a dict, a list inside a tuple, a settable object."""

    class Plain:
        def __init__(self) -> None:
            self.x = 1

    @attrs.frozen
    class Holder:
        a: Any

    assert mutable_paths(Holder({"k": 1}), "h") == ["h.a: dict"]
    assert mutable_paths(Holder((1, [2])), "h") == ["h.a[1]: list"]
    assert mutable_paths(Holder(Plain()), "h") == ["h.a: Plain.x can be set"]
    assert mutable_paths(Holder(types.MappingProxyType({"k": frozenset({1})})), "h") == []


def _like_nodes(c: Any) -> list[Any]:
    """The `like` comparisons of a checked policy's rules whose pattern the checker put on the node."""
    from ecrules import nodes as n
    return [e for r in c.rules for e in n.walk(r.when) if isinstance(e, n.Compare) and e.pattern is not None]


def test_bundled_policies_cover_every_kind_of_declaration() -> None:
    """The walk below sees sets, patterns, constants, instruments and a screening list."""
    loaded = [ecrules.load(p).checked for p in POLICIES]
    assert any(c.sets for c in loaded) and any(_like_nodes(c) for c in loaded)
    assert any(c.consts for c in loaded) and any(c.instruments for c in loaded)
    assert any(c.screenings for c in loaded) and any(c.lets for c in loaded)
    assert any(s.member_bases for c in loaded for s in c.sets.values())


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_nothing_reachable_from_a_loaded_policy_is_mutable(path: Path) -> None:
    policy = ecrules.load(path)
    assert mutable_paths(policy, "policy") == []


def test_writing_to_a_policy_raises_and_changes_nothing() -> None:
    """The reproducer: writing to a `like` pattern, `.sets`, `.consts`, a set, a type raises."""
    policy = ecrules.load(ROOT / "policies" / "dual_use_licensing.ecp")
    c = policy.checked
    some_set = next(iter(c.sets.values()))
    like = _like_nodes(c)[0]
    with pytest.raises(AttributeError):
        like.pattern = "*"
    with pytest.raises(TypeError):
        c.sets["x"] = some_set  # type: ignore[index]
    with pytest.raises(AttributeError):
        c.consts.clear()  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        c.sets = {}  # type: ignore[misc]
    with pytest.raises(AttributeError):
        some_set.values = frozenset()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        like.type = None
    with pytest.raises(AttributeError):
        policy._decide = None  # type: ignore[misc]
