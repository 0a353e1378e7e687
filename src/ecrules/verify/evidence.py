"""`verify --evidence`: the ledger an auditor asks for (issue 9, item 5).

For every destination or nationality a rule singles out (a country code it compares a country
field with, directly or through a set), and every party list a rule screens against: the rules
that do it, and the instruments that justify it under the policy's `protect` clauses (kind or id
admitted, scope covering the category and the value), with their pinpoints, the dates they are
in force and where the basis is written. A value nothing justifies is listed too: that is where
an auditor looks first (and where `verify` finds its violations).
"""

from __future__ import annotations

from typing import Any

from .. import nodes as n
from .. import types as t
from ..checked import Checked, LetInfo, SetInfo
from .justify import Facts, category, instrument_of
from .protect import COUNTRY_SET, ProtectSpec, reads


def _field_type(c: Checked, path: tuple[str, ...]) -> t.Type | None:
    cur: t.Type | None = c.record
    for part in path:
        while isinstance(cur, (t.ListT, t.SetT)):
            cur = cur.elem
        if not isinstance(cur, t.StructT) or part not in cur.fields:
            return None
        cur = cur.fields[part].type
    while isinstance(cur, (t.ListT, t.SetT)):
        cur = cur.elem
    return cur


def _refs(c: Checked, e: n.Expr) -> list[tuple[str, str | None]]:
    """(value, set name or None) for the country codes an expression names."""
    out: list[tuple[str, str | None]] = []
    for x in n.walk(e):
        if isinstance(x, n.Literal) and isinstance(x.value, str) and x.value in COUNTRY_SET:
            out.append((x.value, None))
        elif isinstance(x, n.Name):
            b = x.binding
            if isinstance(b, SetInfo):
                out += [(v, b.name) for v in sorted(b.values, key=str) if isinstance(v, str) and v in COUNTRY_SET]
    return out


def _party_sets(c: Checked, e: n.Expr) -> list[SetInfo]:
    out: list[SetInfo] = []
    for x in n.walk(e):
        if isinstance(x, n.Name):
            b = x.binding
            if isinstance(b, SetInfo) and b.elem == t.STRING and any(
                    sc.category == "party" for bs in [getattr(b, "bases", ())] for basis in bs
                    if instrument_of(basis) is not None for sc in instrument_of(basis).scopes):
                out.append(b)
    return out


def _compares(c: Checked, e: n.Expr, seen: set[int]) -> list[n.Compare]:
    out: list[n.Compare] = []
    for x in n.walk(e):
        if isinstance(x, n.Compare) and x.op in ("==", "!=", "in", "not in"):
            out.append(x)
        elif isinstance(x, n.Name):
            b = x.binding
            if isinstance(b, LetInfo) and id(b) not in seen:
                seen.add(id(b))
                out += _compares(c, b.expr, seen)
    return out


def ledger(c: Checked) -> list[dict[str, Any]]:
    """The ledger entries, sorted by category and value (see the module docstring)."""
    unless: set[str] = set()
    for con in c.constraints:
        if isinstance(con.body, n.Protect):
            unless |= ProtectSpec.of(con.body).unless
    facts = Facts(c, frozenset(unless))
    singled: dict[tuple[str, str], dict[str, Any]] = {}
    for rule in c.rules:
        for cmp in _compares(c, rule.when, set()):
            for side, other in ((cmp.left, cmp.right), (cmp.right, cmp.left)):
                cats = {category(p) for kind, p in reads(c, side) if kind == "value"
                        and isinstance(_field_type(c, p), t.Prim) and getattr(_field_type(c, p), "name", "") == "country"}
                for cat in sorted(cats):
                    for value, via in _refs(c, other):
                        entry = singled.setdefault((cat, value), {"rules": [], "via": []})
                        if rule.id not in entry["rules"]:
                            entry["rules"].append(rule.id)
                        where = f"set {via}" if via else "literal"
                        if where not in entry["via"]:
                            entry["via"].append(where)
                for info in _party_sets(c, other):
                    entry = singled.setdefault(("party", f"{info.name} ({len(info.values)} entries)"),
                                               {"rules": [], "via": [f"set {info.name}"], "set": info})
                    if rule.id not in entry["rules"]:
                        entry["rules"].append(rule.id)
    out: list[dict[str, Any]] = []
    for (cat, value), entry in sorted(singled.items()):
        if cat == "party":
            info = entry["set"]
            js = [(b, f"set {info.name}", b.valid_from, b.until) for b in info.bases if instrument_of(b) is not None
                  and (instrument_of(b).kind in unless or instrument_of(b).id in unless)
                  and any(sc.category == "party" for sc in instrument_of(b).scopes)]
        else:
            js = [(j.basis, j.where, j.valid_from, j.until) for j in facts.by_fact.get((cat, value), [])]
        out.append({
            "category": cat, "value": value, "rules": entry["rules"], "via": entry["via"],
            "justified_by": [{
                "instrument": instrument_of(b).id, "kind": instrument_of(b).kind,
                "citation": instrument_of(b).citation, "pinpoint": b.pinpoint,
                "from": start.isoformat() if start else None,
                "until": end.isoformat() if end else None, "where": where,
            } for b, where, start, end in js],
        })
    return out


def render(entries: list[dict[str, Any]]) -> list[str]:
    lines = ["  evidence: what the rules single out, and the instruments that justify it"]
    if not entries:
        lines.append("    no rule singles out a destination, nationality or listed party")
    for e in entries:
        lines.append(f"    {e['category']} {e['value']}: rules {', '.join(e['rules'])} (through {', '.join(e['via'])})")
        if not e["justified_by"]:
            lines.append("      NOT JUSTIFIED: no admissible instrument covers it")
        for j in e["justified_by"]:
            when = f"from {j['from'] or 'the start'}" + (f" until {j['until']}" if j["until"] else "")
            pin = f" {j['pinpoint']}" if j["pinpoint"] else ""
            lines.append(f"      {j['instrument']} ({j['kind']}) \"{j['citation']}\"{pin}, in force {when} [{j['where']}]")
    return lines
