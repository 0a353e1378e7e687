"""reference/policy.ecp written by hand in plain Python: the baseline of the benchmark.

Written the way a competent Python programmer would write this one policy without ecrules:
the record is validated as the schema asks (required fields, types, ISO dates, country codes,
enum members, the total_value invariant), money is exact Decimal, names are normalized as
`normalize` does, globs are precompiled regexes, and the ten rules are combined deny > license >
allow with the LVS waiver. ``evaluate(record)`` returns a plain dict shaped like
``Decision.to_dict()``.

Keep it in step with policy.ecp: benchmarks/run.py checks, before timing anything, that this
module and ecrules give the same outcome and fired rules on every generated record.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Any

from ecrules.countries import COUNTRIES

POLICY = "benchmark-reference"
VERSION = "2026.1"

HERE = Path(__file__).resolve().parent


def _load_set(path: Path) -> frozenset[str]:
    """A `file` set: one value a line, trimmed; `#` lines and blank lines ignored."""
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.add(line)
    return frozenset(out)


ARMS_EMBARGOED = frozenset({"KP", "LY", "SS", "CF"})
DENIED_PARTIES = _load_set(HERE / "denied_parties.txt")
DUAL_USE_THRESHOLD = Decimal("5000")
LOW_VALUE_LIMIT = Decimal("1500.00")

END_USES = frozenset({"civilian", "military", "wmd", "unknown"})
PARTY_TYPES = frozenset({"government", "military", "commercial", "academic", "individual"})
ITEM_KINDS = frozenset({"goods", "technology", "service"})

# like "ML*", like "[0-9][A-E][0-9][0-9][0-9]*", like "3[A-E]*"  (whole-string, case-sensitive)
_ML = re.compile(r"ML.*", re.DOTALL).fullmatch
_DUAL_USE = re.compile(r"[0-9][A-E][0-9][0-9][0-9].*", re.DOTALL).fullmatch
_CAT3 = re.compile(r"3[A-E].*", re.DOTALL).fullmatch
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fullmatch

_UNSC = ("UNSC", "S/RES/1718 (2006); S/RES/1970 (2011); S/RES/2127 (2013); S/RES/2428 (2018)")
_D2020_12_01 = _dt.date(2020, 12, 1)
_D2024_12_01 = _dt.date(2024, 12, 1)
_D2026_01_01 = _dt.date(2026, 1, 1)
_D2026_11_10 = _dt.date(2026, 11, 10)
_D2027_07_01 = _dt.date(2027, 7, 1)

# rule id -> (outcome, obligations, [(kind, citation, from, until)], in source order
RULES: dict[str, tuple[str, tuple[str, ...], tuple[tuple[str, str, Any, Any], ...]]] = {
    "DP1": ("deny", (), (("ECL", "Export Control Law, art. 18", _D2020_12_01, None),)),
    "EMB1": ("deny", (), ((*_UNSC, None, None),)),
    "EMB2": ("deny", (), ((*_UNSC, None, None),)),
    "WMD1": ("deny", (), (
        ("NPT", "Treaty on the Non-Proliferation of Nuclear Weapons", None, None),
        ("CWC", "Chemical Weapons Convention", None, None),
    )),
    "MIL1": ("license", ("military export licence", "end-user certificate"), (
        ("ECL", "Export Control Law, art. 25", None, None),
    )),
    "DU1": ("license", ("end-user certificate",), (
        ("ECL", "Export Control Law, art. 12", None, None),
        ("MOFCOM", "Announcement 2024 No. 51 (dual-use items export control list)",
         _D2024_12_01, None),
    )),
    "DU2": ("license", ("technical review",), ()),
    "TMP1": ("license", ("temporary-control notification",), (
        ("ECL", "Export Control Law, art. 9 (temporary control, at most two years)", None, None),
        ("MOFCOM", "Illustrative temporary-control announcement", _D2026_01_01, _D2026_11_10),
    )),
    "LVS": ("allow", (), ((*_UNSC, None, None),)),
    "ACAD": ("allow", (), ()),
}
_RANK = {"allow": 0, "license": 1, "deny": 2}


def normalize(s: str) -> str:
    """NFKC(casefold(NFKC(s))), runs of whitespace collapsed to one space, ends trimmed."""
    return " ".join(
        unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", s).casefold()).split()
    )


class RecordError(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(field, message)
        self.field = field
        self.message = message


def _get(obj: dict[str, Any], key: str, path: str) -> Any:
    v = obj.get(key)
    if v is None:
        raise RecordError(path, "is missing" if key not in obj else "must not be null")
    return v


def _string(obj: dict[str, Any], key: str, path: str) -> str:
    v = _get(obj, key, path)
    if not isinstance(v, str):
        raise RecordError(path, f"expected a string, got {type(v).__name__}")
    return v


def _enum(obj: dict[str, Any], key: str, path: str, members: frozenset[str]) -> str:
    v = _string(obj, key, path)
    if v not in members:
        raise RecordError(path, f"{v!r} is not one of {', '.join(sorted(members))}")
    return v


def _country(obj: dict[str, Any], key: str, path: str) -> str:
    v = _string(obj, key, path)
    if v not in COUNTRIES:
        raise RecordError(path, f"{v!r} is not an ISO 3166-1 alpha-2 country code")
    return v


def _number(obj: dict[str, Any], key: str, path: str) -> int | Decimal:
    v = _get(obj, key, path)
    t = type(v)
    if t is Decimal:
        if v.is_finite():
            return v
    elif t is int:
        return v
    elif t is float:
        if math.isfinite(v):
            return Decimal(repr(v))
    elif isinstance(v, int) and not isinstance(v, bool):
        return int(v)
    elif isinstance(v, float) and math.isfinite(v):
        return Decimal(repr(float(v)))
    raise RecordError(path, f"expected a number, got {v!r}")


def _int(obj: dict[str, Any], key: str, path: str) -> int:
    v = _get(obj, key, path)
    if type(v) is int or (isinstance(v, int) and not isinstance(v, bool)):
        return v
    raise RecordError(path, f"expected an integer, got {v!r}")


def _date(obj: dict[str, Any], key: str, path: str) -> _dt.date:
    v = _get(obj, key, path)
    if isinstance(v, str):
        if _ISO_DATE(v):
            try:
                return _dt.date.fromisoformat(v)
            except ValueError:
                pass
    elif type(v) is _dt.date:
        return v
    raise RecordError(path, f"expected a date YYYY-MM-DD, got {v!r}")


def _dict(obj: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    v = _get(obj, key, path)
    if not isinstance(v, dict):
        raise RecordError(path, f"expected an object, got {type(v).__name__}")
    return v


def _error(record: Any, e: RecordError) -> dict[str, Any]:
    rid = record.get("id") if isinstance(record, dict) else None
    return {
        "id": rid if isinstance(rid, str) else None,
        "outcome": "error",
        "fired": [],
        "obligations": [],
        "basis": [],
        "error": {"field": e.field, "message": e.message},
        "policy": POLICY,
        "version": VERSION,
    }


def evaluate(record: dict[str, Any]) -> dict[str, Any]:
    """The decision for one transaction record, as a plain dict."""
    try:
        if not isinstance(record, dict):
            raise RecordError(None, "a record must be an object")
        # --- schema, in schema order --------------------------------------------------------
        rid = _string(record, "id", "id")
        as_of = _date(record, "date", "date")
        destination = _country(record, "destination", "destination")
        end_user = _dict(record, "end_user", "end_user")
        name = _string(end_user, "name", "end_user.name")
        eu_country = _country(end_user, "country", "end_user.country")
        eu_type = _enum(end_user, "type", "end_user.type", PARTY_TYPES)
        end_use = _enum(record, "end_use", "end_use", END_USES)
        items = _get(record, "items", "items")
        if not isinstance(items, (list, tuple)):
            raise RecordError("items", f"expected a list, got {type(items).__name__}")

        # one pass over the items: validation and everything the rules need
        total = Decimal(0)
        any_ml = any_controlled = any_cat3 = any_technology = False
        du_goods_value = Decimal(0)
        du_count = 0
        for k, item in enumerate(items):
            if not isinstance(item, dict):
                raise RecordError(f"items[{k}]", f"expected an object, got {type(item).__name__}")
            code = _string(item, "code", f"items[{k}].code")
            kind = _enum(item, "kind", f"items[{k}].kind", ITEM_KINDS)
            value = _number(item, "value", f"items[{k}].value")
            _int(item, "quantity", f"items[{k}].quantity")
            total += value
            if _ML(code):
                any_ml = True
            if code != "UNCONTROLLED":
                any_controlled = True
            if _DUAL_USE(code):
                du_count += 1
                if kind == "goods":
                    du_goods_value += value
            if _CAT3(code):
                any_cat3 = True
            if kind == "technology":
                any_technology = True
        total_value = _number(record, "total_value", "total_value")

        # --- invariants ---------------------------------------------------------------------
        if total_value != total:
            raise RecordError("total_value", "must be the sum of the item values")
    except RecordError as e:
        return _error(record, e)

    # --- rules, in source order ---------------------------------------------------------------
    fired = []
    embargoed_dest = destination in ARMS_EMBARGOED
    if normalize(name) in DENIED_PARTIES:
        fired.append("DP1")
    if embargoed_dest and any_ml:
        fired.append("EMB1")
    if eu_country in ARMS_EMBARGOED and (eu_type == "military" or end_use == "military"):
        fired.append("EMB2")
    if end_use == "wmd" and any_controlled:
        fired.append("WMD1")
    if any_ml:
        fired.append("MIL1")
    if du_goods_value > DUAL_USE_THRESHOLD:
        fired.append("DU1")
    if du_count >= 3:
        fired.append("DU2")
    if _D2026_01_01 <= as_of < _D2027_07_01 and end_use != "civilian" and any_cat3:
        fired.append("TMP1")
    lvs = total_value <= LOW_VALUE_LIMIT and not embargoed_dest
    if lvs:
        fired.append("LVS")
    if end_use == "civilian" and eu_type == "academic" and not any_technology:
        fired.append("ACAD")

    # --- deny > license > allow, LVS waives DU2 -----------------------------------------------
    # A waived rule still fires but does not count: not toward the outcome, its obligations or
    # its basis. Basis: every counted rule's own and inherited bases in force on the date.
    outcome = "allow"  # default
    best = -1
    for rule_id in fired:
        if lvs and rule_id == "DU2":
            continue
        rank = _RANK[RULES[rule_id][0]]
        if rank > best:
            best, outcome = rank, RULES[rule_id][0]
    obligations: list[str] = []
    basis: list[dict[str, str]] = []
    if best >= 0:
        for rule_id in fired:
            if lvs and rule_id == "DU2":
                continue
            rule_outcome, rule_obligations, rule_basis = RULES[rule_id]
            if rule_outcome == outcome:  # obligations: the counted rules that share the outcome
                for ob in rule_obligations:
                    if ob not in obligations:
                        obligations.append(ob)
            for kind, citation, start, until in rule_basis:
                if (start is None or start <= as_of) and (until is None or as_of < until):
                    basis.append({"rule": rule_id, "kind": kind, "citation": citation})
    return {
        "id": rid,
        "outcome": outcome,
        "fired": fired,
        "obligations": obligations,
        "basis": basis,
        "policy": POLICY,
        "version": VERSION,
    }


def evaluate_many(records: Any) -> Any:
    for r in records:
        yield evaluate(r)
