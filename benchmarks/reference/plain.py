"""reference/policy.ecp as a developer writes it by hand when nothing is validated.

The second baseline of benchmarks/run.py (and of peers.py): records are taken as `json.loads`
returns them (amounts are floats) and trusted: no required-field, type, date, country, enum or
invariant check, float arithmetic, `str.startswith` for the `like` prefixes. It is the floor
ecrules is measured against (target: at most 1.5 times its time per decision), and it shows what
validation and exact decimals cost. Money is compared after rounding to the cent, as careful
hand-written float code does, so that it decides the threshold cases as the exact engines do.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

ARMS_EMBARGOED = frozenset({"KP", "LY", "SS", "CF"})
DENIED_PARTIES = frozenset(
    line.strip() for line in (HERE / "denied_parties.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.strip().startswith("#")
)
_DUAL_USE = re.compile(r"[0-9][A-E][0-9][0-9][0-9]").match
_CAT3 = ("3A", "3B", "3C", "3D", "3E")
_TMP_FROM = "2026-01-01"  # ISO dates compare as strings
_TMP_UNTIL = "2027-07-01"
_OUTCOME = {"DP1": "deny", "EMB1": "deny", "EMB2": "deny", "WMD1": "deny", "MIL1": "license",
            "DU1": "license", "DU2": "license", "TMP1": "license", "LVS": "allow", "ACAD": "allow"}


def normalize(s: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", s).casefold()).split())


def evaluate(record: dict[str, Any]) -> dict[str, Any]:
    """Outcome and fired rules of one trusted record, as a plain dict."""
    dest = record["destination"]
    end_user = record["end_user"]
    end_use = record["end_use"]
    items = record["items"]
    embargoed = dest in ARMS_EMBARGOED
    any_ml = any_controlled = any_cat3 = any_tech = False
    du_goods = 0.0
    du_count = 0
    for item in items:
        code = item["code"]
        if code.startswith("ML"):
            any_ml = True
        if code != "UNCONTROLLED":
            any_controlled = True
        if _DUAL_USE(code):
            du_count += 1
            if item["kind"] == "goods":
                du_goods += item["value"]
        if code.startswith(_CAT3):
            any_cat3 = True
        if item["kind"] == "technology":
            any_tech = True
    fired = []
    if normalize(end_user["name"]) in DENIED_PARTIES:
        fired.append("DP1")
    if embargoed and any_ml:
        fired.append("EMB1")
    if end_user["country"] in ARMS_EMBARGOED and (end_user["type"] == "military" or end_use == "military"):
        fired.append("EMB2")
    if end_use == "wmd" and any_controlled:
        fired.append("WMD1")
    if any_ml:
        fired.append("MIL1")
    if round(du_goods, 2) > 5000:
        fired.append("DU1")
    if du_count >= 3:
        fired.append("DU2")
    if _TMP_FROM <= record["date"] < _TMP_UNTIL and end_use != "civilian" and any_cat3:
        fired.append("TMP1")
    lvs = round(record["total_value"], 2) <= 1500 and not embargoed
    if lvs:
        fired.append("LVS")
    if end_use == "civilian" and end_user["type"] == "academic" and not any_tech:
        fired.append("ACAD")
    outcome = "allow"
    for rule in fired:
        o = _OUTCOME[rule]
        if rule == "DU2" and lvs:
            continue
        if o == "deny":
            outcome = "deny"
            break
        if o == "license":
            outcome = "license"
    return {"id": record["id"], "outcome": outcome, "fired": fired}


