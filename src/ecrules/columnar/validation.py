"""Validation SQL: the domain checks a row must pass that the canonical column types do not already
guarantee (required fields present, list elements not null, country codes and enum members
valid). A row that fails them is decided by the row engine, which gives the exact `error`."""

from __future__ import annotations

from .. import types as t
from ..countries import COUNTRIES
from .dialects import Dialect


def schema_checks(d: Dialect, record: t.StructT) -> list[str]:
    """Conditions, all true for a row whose top-level columns fit `record`."""
    checks: list[str] = []
    for f in record.fields.values():
        col = d.ident(f.name)
        sub = valid(d, col, f.type)
        if f.optional:
            if sub:
                checks.append(f"({col} IS NULL OR ({' AND '.join(sub)}))")
        else:
            checks.append(f"{col} IS NOT NULL")
            checks.extend(sub)
    return checks


def valid(d: Dialect, value: str, typ: t.Type, depth: int = 0) -> list[str]:
    """Conditions, true for a non-null `value` of the canonical column type that fits `typ`."""
    if typ == t.COUNTRY:
        return [f"{value} IN ({', '.join(d.string(c) for c in sorted(COUNTRIES))})"]
    if isinstance(typ, t.EnumT):
        return [f"{value} IN ({', '.join(d.string(m) for m in typ.members)})"]
    if isinstance(typ, t.StructT):
        out: list[str] = []
        for f in typ.fields.values():
            fv = d.field(f"({value})", f.name)
            checks = valid(d, fv, f.type, depth + 1)
            if f.optional:
                if checks:
                    out.append(f"({fv} IS NULL OR ({' AND '.join(checks)}))")
            else:
                out.append(f"{fv} IS NOT NULL")
                out.extend(checks)
        return out
    if isinstance(typ, (t.ListT, t.SetT)):
        var = f"__e{depth}"
        checks = [f"{var} IS NOT NULL"] + valid(d, var, typ.elem, depth + 1)
        cond = " AND ".join(checks)
        return [f"{d.list_len(d.list_filter(value, var, f'NOT coalesce({cond}, FALSE)'))} = 0"]
    return []
