"""Typing expressions: the half of the checker that reads conditions.

A mixin of `Checker`: it resolves each name in scope, gives every expression its type, checks
that optional fields are guarded by `has`, validates `like` patterns and literal members of enums
and countries, and records what it learns in the checker's tables (`annotate.py` then puts it
on the nodes).
"""

from __future__ import annotations

import datetime
import difflib
from decimal import Decimal
from typing import Any, Iterable

from . import nodes as n
from . import types as t
from .checked import (
    FUNCTIONS, QUANTIFIERS, Binding, ConstInfo, FieldRef, LetInfo, SetInfo, VarRef, path_prefixes,
)
from .countries import COUNTRIES, country_help
from .diagnostics import Diagnostic
from .semantics import operators as ops
from .source import Span
from .values import PatternError, compile_pattern

#: the plain functions' parameter kinds and result type (`screen` and `matches`, which read a
#: screening list, are checked apart), from the registry; docs/reference.md is generated from it
SIGNATURES: dict[str, tuple[tuple[str, ...], t.Type]] = {
    f.name: (f.params, f.result) for f in ops.FUNCTIONS if f.params is not None
}

Guards = frozenset[tuple[object, ...]]
_NO_GUARDS: Guards = frozenset()


def _suggest(name: str, candidates: Iterable[str]) -> str | None:
    names = list(candidates)
    same_letters = [c for c in names if c.lower() == name.lower()]  # `"WMD"` for `wmd`
    close = same_letters or difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def _literal_type(v: object) -> t.Type:
    if isinstance(v, bool):
        return t.BOOL
    if isinstance(v, int):
        return t.INT
    if isinstance(v, Decimal):
        return t.NUMBER
    if isinstance(v, datetime.date):
        return t.DATE
    return t.STRING


class ExprChecker:
    """Expression typing; `Checker` supplies the declarations it resolves names against."""

    diags: list[Diagnostic]
    types: dict[int, t.Type]
    bindings: dict[int, Binding]
    patterns: dict[int, str | tuple[str, ...]]
    record: t.StructT | None
    sets: dict[str, SetInfo]
    _let_decls: dict[str, n.LetDecl]
    _const_decls: dict[str, n.ConstDecl]
    screen_calls: dict[int, Any]
    #: the variable each quantifier binds, and back (a variable's source decides its `like` patterns)
    binders: dict[int, VarRef]
    quant_of: dict[VarRef, n.Quant]

    def err(self, message: str, span: Span | None, help: str | None = None) -> None:
        raise NotImplementedError

    def warn(self, message: str, span: Span | None, help: str | None = None) -> None:
        raise NotImplementedError

    def _const(self, name: str) -> ConstInfo | None:
        raise NotImplementedError

    def _let(self, name: str) -> LetInfo | None:
        raise NotImplementedError


    def expr(self, e: n.Expr, scope: dict[str, VarRef], guards: Guards, const_only: bool = False) -> t.Type:
        typ = self._expr(e, scope, guards, const_only)
        self.types[id(e)] = typ
        return typ

    def _expr(self, e: n.Expr, scope: dict[str, VarRef], g: Guards, const_only: bool) -> t.Type:
        if isinstance(e, n.Literal):
            return _literal_type(e.value)
        if isinstance(e, n.Name):
            return self._name(e, scope, g, const_only)
        if isinstance(e, n.Attr):
            return self._attr(e, scope, g, const_only)
        if isinstance(e, n.Has):
            return self._has(e, scope, g, const_only)
        if isinstance(e, n.Not):
            self._bool(e.operand, scope, g, const_only, "`not`")
            return t.BOOL
        if isinstance(e, n.BoolOp):
            acc = set(g)
            for operand in e.operands:
                self._bool(operand, scope, frozenset(acc), const_only, f"`{e.op}`")
                acc |= facts(operand, e.op == "and", self.bindings)
            return t.BOOL
        if isinstance(e, n.Compare):
            return self._compare(e, scope, g, const_only)
        if isinstance(e, n.Arith):
            lt = self.expr(e.left, scope, g, const_only)
            rt = self.expr(e.right, scope, g, const_only)
            op = ops.ARITH_OPS.get(e.op)
            if op is None:
                self.err(f"unknown operator `{e.op}`", e.span)
                return t.ANY
            for side, st in ((e.left, lt), (e.right, rt)):
                if not t.is_numeric(st):
                    self.err(f"`{e.op}` needs numbers, not `{st}`", side.span)
                    return t.ANY
            return t.INT if lt == t.INT and rt == t.INT and op.int_closed else t.NUMBER
        if isinstance(e, n.Neg):
            ot = self.expr(e.operand, scope, g, const_only)
            if not t.is_numeric(ot):
                self.err(f"`-` needs a number, not `{ot}`", e.operand.span)
                return t.ANY
            return ot
        if isinstance(e, n.Call):
            return self._call(e, scope, g, const_only)
        if isinstance(e, n.Quant):
            return self._quant(e, scope, g, const_only)
        if isinstance(e, n.SetLit) and any(e.bases):
            first = next(b for bs in e.bases for b in bs)
            self.err("only members of a `set` declaration carry bases", first.span,
                     "declare the set: `set NAME: set<T> = { \"X\" basis ID, ... }`, and use its name")
        if isinstance(e, (n.SetLit, n.ListLit)):
            elem: t.Type = t.ANY
            for el in e.elements:
                et = self.expr(el, scope, g, const_only)
                joined = t.join(elem, et)
                if joined is None:
                    self.err(f"this literal mixes `{elem}` and `{et}`", el.span)
                else:
                    elem = joined
                if isinstance(et, (t.ListT, t.SetT, t.StructT)):
                    self.err("set and list literals hold plain values", el.span)
                    return t.ANY
            return t.SetT(elem) if isinstance(e, n.SetLit) else t.ListT(elem)
        if isinstance(e, n.RecordLit):
            self.err("a record literal is only allowed after `given` in a test", e.span,
                     "compare fields one by one: `end_user.name == \"...\" and ...`")
            return t.ANY
        raise AssertionError(f"unknown node {e!r}")

    def _bool(self, e: n.Expr, scope: dict[str, VarRef], g: Guards, const_only: bool, what: str) -> None:
        typ = self.expr(e, scope, g, const_only)
        if typ != t.BOOL and not isinstance(typ, t.AnyT):
            self.err(f"{what} needs true or false, not `{typ}`", e.span)

    def _name(self, e: n.Name, scope: dict[str, VarRef], g: Guards, const_only: bool) -> t.Type:
        if e.name in scope:
            var = scope[e.name]
            self.bindings[id(e)] = var
            return var.type
        if e.name in self._const_decls:
            info = self._const(e.name)
            if info is None:
                return t.ANY
            self.bindings[id(e)] = info
            return info.type
        if const_only:
            if e.name in self.sets or e.name in self._let_decls or (self.record and e.name in self.record.fields):
                self.err(f"`{e.name}` is not a constant", e.span, "a `const` or a set member must be a literal or a constant expression")
                return t.ANY
        elif e.name in self._let_decls:
            let = self._let(e.name)
            if let is None:
                return t.ANY
            self.bindings[id(e)] = let
            return let.type
        elif e.name in self.sets:
            s = self.sets[e.name]
            self.bindings[id(e)] = s
            return t.SetT(s.elem)
        elif self.record is not None and e.name in self.record.fields:
            f = self.record.fields[e.name]
            self.bindings[id(e)] = FieldRef(f, list(self.record.fields).index(e.name))
            if f.optional and ("$", e.name) not in g:
                self.err(f"`{e.name}` is optional and may be absent", e.span,
                         f"guard it: `has {e.name} and ...` or `not has {e.name} or ...`")
            return f.type
        candidates = list(scope) + list(self._const_decls)
        if not const_only:
            candidates += list(self._let_decls) + list(self.sets) + list(self.record.fields if self.record else ())
        self.err(f"unknown name `{e.name}`", e.span, _suggest(e.name, candidates))
        return t.ANY

    def _attr(self, e: n.Attr, scope: dict[str, VarRef], g: Guards, const_only: bool) -> t.Type:
        ot = self.expr(e.obj, scope, g, const_only)
        if isinstance(ot, t.AnyT):
            return t.ANY
        if isinstance(ot, (t.ListT, t.SetT)):
            self.err(f"`{_text(e.obj)}` is a list: it has no field `{e.name}`", e.span,
                     f"use a quantifier: `any(x in {_text(e.obj)}: x.{e.name} ...)`")
            return t.ANY
        if not isinstance(ot, t.StructT):
            self.err(f"a `{ot}` has no fields", e.span)
            return t.ANY
        f = ot.fields.get(e.name)
        if f is None:
            self.err(f"type `{ot.name}` has no field `{e.name}`", e.span, _suggest(e.name, ot.fields))
            return t.ANY
        key = path_key(e, self.bindings)
        if f.optional and (key is None or key not in g):
            self.err(f"`{_text(e)}` is optional and may be absent", e.span,
                     f"guard it: `has {_text(e)} and ...` or `not has {_text(e)} or ...`")
        return f.type

    def _has(self, e: n.Has, scope: dict[str, VarRef], g: Guards, const_only: bool) -> t.Type:
        # The path itself is read with every prefix guarded: `has a.b` is false when `a` is absent.
        path = e.path
        parts = path_prefixes(path)
        acc = set(g)
        optional_seen = False
        for p in parts:
            typ = self.expr(p, scope, frozenset(acc | {_pending_key(p, self.bindings)}), const_only)
            key = path_key(p, self.bindings)
            if key is not None:
                acc.add(key)
            f = self._field_of(p)
            if f is not None and f.optional:
                optional_seen = True
            if isinstance(typ, t.AnyT):
                return t.BOOL
        if not optional_seen:
            self.warn(f"`has {_text(path)}` is always true: no field on the path is optional", e.span)
        return t.BOOL

    def _field_of(self, e: n.Expr) -> t.Field | None:
        """`checked.field_of` while checking: the facts are still in the tables."""
        if isinstance(e, n.Name):
            b = self.bindings.get(id(e))
            return b.field if isinstance(b, FieldRef) else None
        if isinstance(e, n.Attr):
            ot = self.types.get(id(e.obj))
            return ot.fields.get(e.name) if isinstance(ot, t.StructT) else None
        return None

    def _compare(self, e: n.Compare, scope: dict[str, VarRef], g: Guards, const_only: bool) -> t.Type:
        lt = self.expr(e.left, scope, g, const_only)
        op = ops.COMPARE_OPS.get(e.op)
        if op is None:
            self.err(f"unknown operator `{e.op}`", e.span)
            return t.BOOL
        if op.rule == "pattern":
            if not t.is_textual(lt):
                self.err(f"`like` matches text, not `{lt}`", e.left.span)
            self._pattern(e, scope, g, const_only)
            return t.BOOL
        rt = self.expr(e.right, scope, g, const_only)
        if isinstance(lt, t.AnyT) or isinstance(rt, t.AnyT):
            return t.BOOL
        if op.rule == "membership":
            if not isinstance(rt, (t.SetT, t.ListT)):
                if rt == t.STRING and t.is_textual(lt):
                    self.err(f"`{e.op}` tests membership of a set or list, not of a string", e.right.span,
                             "to test for a substring, use `like \"*...*\"`")
                else:
                    self.err(f"`{e.op}` needs a set or a list on its right, not `{rt}`", e.right.span)
                return t.BOOL
            if not t.comparable(lt, rt.elem):
                self.err(f"a `{lt}` is never in a `{rt}`", e.span)
                return t.BOOL
            self._literal_members(e.left, rt.elem)
            self._literal_members(e.right, lt, each=True)
            return t.BOOL
        if op.rule == "order":
            if t.is_numeric(lt) and t.is_numeric(rt):
                return t.BOOL
            if lt == t.DATE and rt == t.DATE:
                return t.BOOL
            if t.is_textual(lt) and t.is_textual(rt):
                self.err(f"text cannot be ordered with `{e.op}`", e.span, "compare text with `==`, `in` or `like`")
            else:
                self.err(f"cannot order `{lt}` and `{rt}` with `{e.op}`", e.span)
            return t.BOOL
        if not t.comparable(lt, rt):
            self.err(f"cannot compare `{lt}` with `{rt}`", e.span)
            return t.BOOL
        self._literal_members(e.left, rt)
        self._literal_members(e.right, lt)
        return t.BOOL

    def _literal_members(self, lit: n.Expr, other: t.Type, each: bool = False) -> None:
        """A string literal compared with an enum or a country is checked against its members."""
        targets = lit.elements if each and isinstance(lit, (n.SetLit, n.ListLit)) else (lit,) if not each else ()
        for x in targets:
            if isinstance(x, n.Literal) and isinstance(x.value, str):
                if isinstance(other, t.EnumT) and x.value not in other.members:
                    self.err(f"`{x.value}` is not a member of `{other}`", x.span, _suggest(x.value, other.members))
                elif other == t.COUNTRY and x.value not in COUNTRIES:
                    self.err(f"`{x.value}` is not a country code", x.span, country_help(x.value))

    def _pattern(self, e: n.Compare, scope: dict[str, VarRef], g: Guards, const_only: bool) -> None:
        right = e.right
        rt = self.expr(right, scope, g, const_only)
        if isinstance(rt, t.AnyT):
            return
        if not t.is_textual(rt):
            self.err(f"a `like` pattern is text, not `{rt}`", right.span)
            return
        patterns: str | tuple[str, ...] | None = None
        if isinstance(right, n.Literal) and isinstance(right.value, str):
            patterns = right.value
        elif isinstance(right, n.Name):
            b = self.bindings.get(id(right))
            if isinstance(b, ConstInfo) and isinstance(b.value, str):
                patterns = b.value
            elif isinstance(b, VarRef):
                patterns = self._constant_members(self.quant_of[b].source)
        if patterns is None:
            self.err("the pattern of `like` must be known when the policy loads", right.span,
                     "use a string literal, a `const`, or a quantifier variable over a constant set")
            return
        for p in (patterns,) if isinstance(patterns, str) else patterns:
            try:
                compile_pattern(p)
            except PatternError as exc:
                self.err(f"invalid `like` pattern `{p}`: {exc}", right.span)
        self.patterns[id(e)] = patterns

    def _constant_members(self, source: n.Expr) -> tuple[str, ...] | None:
        if isinstance(source, n.Name):
            b = self.bindings.get(id(source))
            if isinstance(b, SetInfo):
                return tuple(sorted(str(v) for v in b.values))
            if isinstance(b, ConstInfo) and isinstance(b.value, (frozenset, tuple)):
                return tuple(sorted(str(v) for v in b.value))
        if isinstance(source, (n.SetLit, n.ListLit)):
            out: list[str] = []
            for el in source.elements:
                if isinstance(el, n.Literal) and isinstance(el.value, str):
                    out.append(el.value)
                elif isinstance(el, n.Name) and isinstance(self.bindings.get(id(el)), ConstInfo):
                    out.append(str(self.bindings[id(el)].value))  # type: ignore[union-attr]
                else:
                    return None
            return tuple(out)
        return None

    def _screen_call(self, e: n.Call, scope: dict[str, VarRef], g: Guards, const_only: bool) -> t.Type:
        """`screen(name, LIST [, type [, country]])` (a score) and `matches(...)` (score >= the
        list's threshold): LIST names a `screening` declaration, not a value."""
        result = t.NUMBER if e.func == "screen" else t.BOOL
        screenings: dict[str, Any] = getattr(self, "screenings", {})
        if not 2 <= len(e.args) <= 4:
            self.err(f"`{e.func}` takes a name, a screening list, and optionally the party's type and country, "
                     f"not {len(e.args)} argument{'s' if len(e.args) != 1 else ''}", e.span,
                     f"write `{e.func}(end_user.name, LIST)`")
            return result
        if const_only:
            self.err(f"`{e.func}` reads a record: it cannot be part of a constant", e.span)
        lst = e.args[1]
        if isinstance(lst, n.Name) and lst.name in getattr(self, "failed_screenings", ()):
            pass
        elif not isinstance(lst, n.Name) or lst.name not in screenings:
            self.err(f"the second argument of `{e.func}` must name a `screening` list", lst.span,
                     _suggest(lst.name, tuple(screenings)) if isinstance(lst, n.Name) and screenings else
                     "declare one: `screening un = file \"lists/un.xml\" format un_xml`")
        else:
            self.screen_calls[id(e)] = screenings[lst.name]
            self.types[id(lst)] = t.ANY
        for k, arg in enumerate(e.args):
            if k == 1:
                continue
            at = self.expr(arg, scope, g, const_only)
            if not t.is_textual(at):
                what = ("the name", "", "the party's type", "the party's country")[k]
                self.err(f"`{e.func}` needs text for {what}, not `{at}`", arg.span)
        return result

    def _call(self, e: n.Call, scope: dict[str, VarRef], g: Guards, const_only: bool) -> t.Type:
        fn = ops.FUNCTIONS_BY_NAME.get(e.func)
        if fn is not None and fn.params is None:  # reads a screening list, not a value
            return self._screen_call(e, scope, g, const_only)
        arg_types = [self.expr(a, scope, g, const_only) for a in e.args]
        if e.func in QUANTIFIERS:
            self.err(f"`{e.func}` is a quantifier: write `{e.func}(x in LIST: ...)`", e.span)
            return t.ANY
        sig = SIGNATURES
        if e.func not in sig:
            self.err(f"unknown function `{e.func}`", e.span,
                     _suggest(e.func, FUNCTIONS) or "functions: " + ", ".join(f"`{f}`" for f in FUNCTIONS))
            return t.ANY
        params, result = sig[e.func]
        if len(e.args) != len(params):
            self.err(f"`{e.func}` takes {len(params)} argument{'s' if len(params) > 1 else ''}, not {len(e.args)}", e.span)
            return result
        for arg, at, want in zip(e.args, arg_types, params):
            ok = {
                "text": t.is_textual(at),
                "date": at == t.DATE or isinstance(at, t.AnyT),
                "collection": isinstance(at, (t.ListT, t.SetT, t.AnyT)) or t.is_textual(at),
            }[want]
            if not ok:
                self.err(f"`{e.func}` needs {'a ' + want if want != 'text' else 'text'}, not `{at}`", arg.span)
        return result

    def _quant(self, e: n.Quant, scope: dict[str, VarRef], g: Guards, const_only: bool) -> t.Type:
        if e.kind not in QUANTIFIERS:
            self.err(f"unknown quantifier `{e.kind}`", e.span,
                     _suggest(e.kind, QUANTIFIERS) or "quantifiers are `any`, `all`, `count` and `sum`")
        st = self.expr(e.source, scope, g, const_only)
        elem: t.Type = t.ANY
        if isinstance(st, (t.ListT, t.SetT)):
            elem = st.elem
        elif not isinstance(st, t.AnyT):
            self.err(f"`{e.kind}` ranges over a list or a set, not `{st}`", e.source.span)
        inner = dict(scope)
        var = self.binders.get(id(e))
        if var is None:
            var = self.binders[id(e)] = VarRef(e.var, elem)
            self.quant_of[var] = e
        inner[e.var] = var
        body_guards = g
        if e.where is not None:
            self._bool(e.where, inner, g, const_only, "`where`")
            body_guards = g | facts(e.where, True, self.bindings)
        if e.body is None:
            if e.kind != "count":
                self.err(f"`{e.kind}` needs a body after `:`", e.span, f"`{e.kind}({e.var} in ...: CONDITION)`")
                return t.ANY
            return t.INT
        bt = self.expr(e.body, inner, body_guards, const_only)
        if e.kind == "sum":
            if not t.is_numeric(bt):
                self.err(f"`sum` adds numbers, not `{bt}`", e.body.span)
                return t.ANY
            return bt
        if bt != t.BOOL and not isinstance(bt, t.AnyT):
            self.err(f"the body of `{e.kind}` must be true or false, not `{bt}`", e.body.span)
        return t.INT if e.kind == "count" else t.BOOL


def _text(e: n.Expr) -> str:
    return e.span.text if e.span.line == e.span.end_line else "expression"


def _plain_path(e: n.Expr) -> tuple[str, ...] | None:
    if isinstance(e, n.Name):
        return (e.name,)
    if isinstance(e, n.Attr):
        head = _plain_path(e.obj)
        return head + (e.name,) if head else None
    return None


def path_key(e: n.Expr, bindings: dict[int, Binding]) -> tuple[object, ...] | None:
    """A name for a field path that guards can refer to: `("$", "note")`, `(quant, "origin")`."""
    if isinstance(e, n.Name):
        b = bindings.get(id(e))
        if isinstance(b, FieldRef):
            return ("$", e.name)
        if isinstance(b, VarRef):
            return (b,)
        return None
    if isinstance(e, n.Attr):
        head = path_key(e.obj, bindings)
        return head + (e.name,) if head is not None else None
    return None


def _pending_key(e: n.Expr, bindings: dict[int, Binding]) -> tuple[object, ...]:
    """The key `e` will have once resolved (names are resolved as they are checked)."""
    if isinstance(e, n.Name):
        return ("$", e.name)
    if isinstance(e, n.Attr):
        head = path_key(e.obj, bindings)
        return head + (e.name,) if head is not None else ("?",)
    return ("?",)


def facts(e: n.Expr, when: bool, bindings: dict[int, Binding]) -> frozenset[tuple[object, ...]]:
    """Field paths known present when `e` evaluates to `when` (what `has` guards)."""
    if isinstance(e, n.Has):
        if not when:
            return frozenset()
        out: set[tuple[object, ...]] = set()
        cur: n.Expr = e.path
        while True:
            key = path_key(cur, bindings)
            if key is not None:
                out.add(key)
            if not isinstance(cur, n.Attr):
                break
            cur = cur.obj
        return frozenset(out)
    if isinstance(e, n.Not):
        return facts(e.operand, not when, bindings)
    if isinstance(e, n.BoolOp):
        parts = [facts(o, when, bindings) for o in e.operands]
        if (e.op == "and") == when:
            return frozenset().union(*parts)
        result = parts[0]
        for p in parts[1:]:
            result &= p
        return result
    return frozenset()
