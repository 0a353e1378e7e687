"""Compile a checked policy to one SQL query: per record, validity, each rule's match, basis dates.

One generator (`SqlGen`) walks the checked AST; everything that differs between SQL engines sits
in a `Dialect` (`dialects.py`: DuckDB by default, Spark SQL). Expressions are compiled by
`sqlexpr.py`, `like` globs by `globs.py`, the domain checks by `validation.py`; this module
assembles the query.

What the query computes, per input row (the canonical table of `canon.py`):

- `__ok`: the record passes the domain checks that the canonical column types do not already
  guarantee (required fields present, list elements not null, country codes and enum members
  valid) and every invariant holds. A row that is not ok is decided by the row engine, which
  gives the exact `error` decision.
- `__m0, __m1, ...`: bit masks of the matching rules (62 rules a column), validity windows
  included.
- `__b0, ...`: bit masks of the distinct basis `from`/`until` windows in force on `as_of`.

Outcome, fired rules, obligations and basis follow from those masks alone, through the shared
`Combiner` (engine.py), once per distinct combination.

What the SQL engines cannot express exactly raises `Unsupported` when the query is built (at
load), naming the construct and where it is.
"""

from __future__ import annotations

import datetime
from typing import Any, Callable, Iterable

import attrs

from ..checked import Checked, Program, Site, var_of
from .dialects import DIALECTS, INLINE_SET_LIMIT, NUMBER_SCALE, Dialect, Unsupported
from .globs import glob_regex
from .sqlexpr import BigSet, ExprGen, Scope
from .validation import schema_checks

MASK_BITS = 62


@attrs.frozen
class Query:
    """The compiled query and what it needs registered next to the input table."""

    sql: str
    mask_columns: tuple[str, ...]
    basis_windows: tuple[tuple[datetime.date | None, datetime.date | None], ...]
    basis_columns: tuple[str, ...]
    big_sets: tuple[BigSet, ...]
    udfs: tuple[str, ...]
    dialect: str
    #: columns the caller adds to the input table: (column, function, field path), e.g.
    #: ("__n0", "normalize", ("end_user", "name")): `normalize` of that field, computed in Arrow
    derived: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    #: what each membership test that a decision cites holds in the row: (rule index, set name,
    #: column of a list of values), in the rule's site order (`RuleInfo.sites`)
    site_columns: tuple[tuple[int, str, str], ...] = ()
    #: rules with a citing test the query cannot list (nested quantifiers): the row engine decides
    #: the rows where they count
    row_cites: frozenset[int] = frozenset()


class SqlGen(ExprGen):
    """The query: record checks, rule masks, basis windows, citing sites."""

    def record_ok(self) -> str:
        c = self.c
        assert c.record is not None
        checks: list[str] = schema_checks(self.d, c.record) if self.validate else []
        for inv in c.invariants:
            checks.append(f"coalesce({self.expr(inv.expr, {})}, FALSE)")
        return " AND ".join(f"({x})" for x in checks) if checks else "TRUE"

    # -- rules, basis windows, the query
    def rule_match(self, rule: Any) -> str:
        c = self.c
        parts = []
        if c.as_of is not None:
            as_of = self.d.ident(c.as_of)
            if rule.effective:
                parts.append(f"({self.literal(rule.effective)} <= {as_of})")
            if rule.expires:
                parts.append(f"({as_of} < {self.literal(rule.expires)})")
        parts.append(f"coalesce({self.expr(rule.when, {})}, FALSE)")
        return " AND ".join(parts)

    def query(self, table: str = "__chunk", row_column: str = "__row") -> Query:
        c, d = self.c, self.d
        cols = [f"{d.ident(row_column)} AS __row", f"coalesce({self.record_ok()}, FALSE) AS __ok"]
        rules = list(c.rules)
        masks = []
        for g in range(0, max(len(rules), 1), MASK_BITS):
            terms = [f"(CASE WHEN {self.rule_match(r)} THEN CAST({1 << (r.index - g)} AS BIGINT) ELSE CAST(0 AS BIGINT) END)"
                     for r in rules[g:g + MASK_BITS]]
            name = f"__m{g // MASK_BITS}"
            cols.append(f"({' + '.join(terms) if terms else 'CAST(0 AS BIGINT)'}) AS {name}")
            masks.append(name)
        windows: list[tuple[datetime.date | None, datetime.date | None]] = []
        if c.as_of is not None:
            for r in rules:
                for b in r.bases:
                    if (b.valid_from or b.until) and (b.valid_from, b.until) not in windows:
                        windows.append((b.valid_from, b.until))
        basis_cols = []
        as_of = d.ident(c.as_of) if c.as_of else None
        for g in range(0, len(windows), MASK_BITS):
            terms = []
            for k, (f, u) in enumerate(windows[g:g + MASK_BITS]):
                conds = []
                if f:
                    conds.append(f"{self.literal(f)} <= {as_of}")
                if u:
                    conds.append(f"{as_of} < {self.literal(u)}")
                terms.append(f"(CASE WHEN {' AND '.join(conds)} THEN CAST({1 << k} AS BIGINT) ELSE CAST(0 AS BIGINT) END)")
            name = f"__b{g // MASK_BITS}"
            cols.append(f"({' + '.join(terms)}) AS {name}")
            basis_cols.append(name)
        site_columns: list[tuple[int, str, str]] = []
        row_cites: set[int] = set()
        for r in rules:
            for site in r.sites:
                values = self.site_values(site)
                if values is None:
                    row_cites.add(r.index)
                    continue
                name = f"__c{len(site_columns)}"
                cols.append(f"{values} AS {name}")
                site_columns.append((r.index, site.set, name))
        source = d.ident(table)
        for k, (expr, col) in enumerate(self.hoisted.items()):
            # one layer a hoisted column: a later one may read an earlier one
            source = f"(SELECT *, {expr} AS {d.ident(col)} FROM {source}) AS __layer{k}"
        sql = "SELECT\n  " + ",\n  ".join(cols) + f"\nFROM {source}"
        derived = tuple((col, key[0], key[1]) for key, col in self.derived.items())
        return Query(sql, tuple(masks), tuple(windows), tuple(basis_cols), tuple(self.big_sets.values()),
                     tuple(sorted(self.udfs)), d.name, derived, tuple(site_columns), frozenset(row_cites))

    def site_values(self, site: Site) -> str | None:
        """A list of what a citing membership test reads in the row (`Interpreter.cite`), or None."""
        if not site.quants:
            return self.d.list_literal([self.expr(site.compare.left, {})])
        if len(site.quants) > 1:
            return None
        q = site.quants[0]
        var = f"__s{self._vars}"
        self._vars += 1
        inner: Scope = {var_of(q): ("var", var)}
        try:
            src = self.expr(q.source, {})
            left = self.expr(site.compare.left, inner)
            where = self.expr(q.where, inner) if q.where is not None else None
        except Unsupported:
            return None
        if self._quants.get(var_of(q)) is not None and var_of(q) in self._need_index:
            return None  # reads hoisted columns aligned with the source: keep to the row engine
        if where is not None:
            src = self.d.list_filter(src, var, f"coalesce({where}, FALSE)")
        return self.d.list_transform(src, var, left)



def matched_rules(masks: Iterable[Any]) -> tuple[int, ...]:
    """The rules a result row's mask columns say matched (bit k of column g is rule g*MASK_BITS+k)."""
    out: list[int] = []
    for g, m in enumerate(masks):
        m = int(m or 0)
        k = 0
        while m:
            if m & 1:
                out.append(g * MASK_BITS + k)
            m >>= 1
            k += 1
    return tuple(out)


def cited_members(q: Query, matched: tuple[int, ...], members: Callable[[str], Any]) -> dict[int, list[tuple[str, Any]]]:
    """The set members each matching rule's membership tests cite, read from a result row's site
    columns (`members(column)`: that column's list for the row), as `Combiner.decide` takes them."""
    cites: dict[int, list[tuple[str, Any]]] = {}
    for k, name, column in q.site_columns:
        if k in matched:
            cites.setdefault(k, []).extend((name, v) for v in members(column) or () if v is not None)
    return cites


def compile_query(checked: Checked, dialect: str | Dialect = "duckdb", inline_limit: int = INLINE_SET_LIMIT,
                  validate: bool = True, derive: bool = False) -> Query:
    """The query of a checked policy; raises `Unsupported` naming the first construct it cannot express.

    With `validate` false the query checks invariants only (the caller checks the schema, as
    `canon.py` does); with `derive` it reads `normalize(FIELD)` from added columns (`Query.derived`).
    """
    d = DIALECTS[dialect] if isinstance(dialect, str) else dialect
    try:
        return SqlGen(checked, d, inline_limit, validate, derive).query()
    except Unsupported as exc:
        exc.engine = exc.engine or "columnar"  # the message says which engine refused
        raise


def unsupported(policy: Program | Checked, dialect: str = "duckdb") -> Unsupported | None:
    """Why the policy (a loaded `Policy`) cannot run on the columnar engine, or None when it can."""
    try:
        compile_query(policy if isinstance(policy, Checked) else policy.checked, dialect)
    except Unsupported as exc:
        return exc
    return None


__all__ = ["Unsupported", "Query", "cited_members", "compile_query", "matched_rules", "unsupported", "glob_regex", "DIALECTS",
                          "NUMBER_SCALE", "INLINE_SET_LIMIT"]
