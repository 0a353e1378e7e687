"""Read-only views for what a loaded Policy exposes (issue 7, item 3).

A Policy is shared between threads and engines: the compiled evaluator captured its tables when
it was built, while `evaluate_table`, `explain` and `verify` read them afterwards, so a write to
one would make the engines disagree. Every mapping a Policy exposes is therefore a
`MappingProxyType`: lookups cost the same as a dict's, writes raise `TypeError`.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping


def readonly(mapping: Mapping[Any, Any]) -> Mapping[Any, Any]:
    """A read-only view of `mapping` (the same view if it is one already).

    The view is not a copy: whoever built the dict may finish filling it (the checker fills a
    struct's fields after declaring it, so recursive types can refer to it) and then drops it.
    """
    if isinstance(mapping, MappingProxyType):
        return mapping
    return MappingProxyType(mapping if isinstance(mapping, dict) else dict(mapping))
