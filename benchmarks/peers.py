"""ecrules against the policy engines a user would adopt instead: a documented command, not a test.

    python benchmarks/peers.py [--records N] [--repeat R] [--json FILE]

The reference policy (reference/policy.ecp, 10 rules) is written natively for each engine that
installs: Cedar (`cedarpy`, required: `pip install -e '.[bench]'`), CEL
(`common-expression-language`) and Rego (`regorus`). Records are those of gen.py as `json.loads`
returns them (amounts are floats). Each engine decides which rules fire; the outcome then follows
from the same combining step for all (deny > license > allow, LVS waives DU2), because none of
the peers has a three-way outcome with waivers. Before any time counts, every engine's fired
rules must equal ecrules' on every record (exit 1 otherwise).

Each engine runs in its own child process (this script with `--engine`) on the same JSON Lines
file of records, so the peak RSS (`resource.getrusage`) is that engine's: Python, the records
as `json.loads` returns them, the engine, its decisions. Times are per
decision, best of R, including whatever Python the engine needs to be handed the record (the
work done outside the engine is listed in docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import resource
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "reference"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REFERENCE))
try:
    import ecrules
except ImportError:  # a checkout without PYTHONPATH=src
    sys.path.insert(0, str(HERE.parent / "src"))
    import ecrules

import gen  # noqa: E402
import plain  # noqa: E402

RULES = ("DP1", "EMB1", "EMB2", "WMD1", "MIL1", "DU1", "DU2", "TMP1", "LVS", "ACAD")
EMBARGOED = ("CF", "KP", "LY", "SS")
TARGET_VS_CEDAR = 15.0
TARGET_VS_PLAIN = 1.5


def _denied() -> list[str]:
    return sorted(plain.DENIED_PARTIES)


def _flags(record: dict[str, Any]) -> dict[str, Any]:
    """What neither Cedar nor CEL can compute: Unicode normalisation, exact sums, globs with classes."""
    du_goods = Decimal(0)
    du_count = 0
    ml = controlled = cat3 = tech = False
    for item in record["items"]:
        code = item["code"]
        if code.startswith("ML"):
            ml = True
        if code != "UNCONTROLLED":
            controlled = True
        if plain._DUAL_USE(code):
            du_count += 1
            if item["kind"] == "goods":
                du_goods += Decimal(repr(item["value"])) if isinstance(item["value"], float) else item["value"]
        if code.startswith(plain._CAT3):
            cat3 = True
        if item["kind"] == "technology":
            tech = True
    return {"ml": ml, "controlled": controlled, "du_goods": du_goods, "du_count": du_count,
            "cat3": cat3, "tech": tech}


# -- Cedar ---------------------------------------------------------------------------------------


def cedar_policies() -> str:
    emb = "[" + ", ".join(json.dumps(c) for c in EMBARGOED) + "]"
    c = "context"
    rules = [
        'principal in List::"denied"',  # the denied parties are entities, members of this list
        f"{emb}.contains({c}.destination) && {c}.any_ml",
        f'{emb}.contains({c}.eu_country) && ({c}.eu_type == "military" || {c}.end_use == "military")',
        f'{c}.end_use == "wmd" && {c}.any_controlled',
        f"{c}.any_ml",
        f'{c}.du_goods.greaterThan(decimal("5000.0"))',
        f"{c}.du_count >= 3",
        f'{c}.date >= 20260101 && {c}.date < 20270701 && {c}.end_use != "civilian" && {c}.any_cat3',
        f'{c}.total_value.lessThanOrEqual(decimal("1500.00")) && !{emb}.contains({c}.destination)',
        f'{c}.end_use == "civilian" && {c}.eu_type == "academic" && !{c}.any_technology',
    ]
    return "\n".join(f'@id("{rid}")\npermit(principal, action, resource) when {{ {cond} }};'
                     for rid, cond in zip(RULES, rules))


def _cedar_decimal(d: Decimal | int | float) -> dict[str, Any]:
    text = repr(d) if isinstance(d, float) else str(d)
    return {"__extn": {"fn": "decimal", "arg": text if "." in text else text + ".0"}}


def cedar_engine() -> Callable[[list[dict[str, Any]]], list[list[str]]]:
    import cedarpy

    policies = cedarpy.PolicySet.from_str(cedar_policies())
    entities = cedarpy.Entities.from_json_str(json.dumps(
        [{"uid": {"type": "List", "id": "denied"}, "attrs": {}, "parents": []}]
        + [{"uid": {"type": "Party", "id": name}, "attrs": {}, "parents": [{"type": "List", "id": "denied"}]}
           for name in _denied()]))
    index = {f"policy{k}": rid for k, rid in enumerate(RULES)}

    def request(r: dict[str, Any]) -> dict[str, Any]:
        f = _flags(r)
        eu = r["end_user"]
        return {"principal": {"type": "Party", "id": plain.normalize(eu["name"])},
                "action": 'Action::"export"', "resource": 'Shipment::"s"',
                "context": {"destination": r["destination"],
                            "eu_country": eu["country"], "eu_type": eu["type"], "end_use": r["end_use"],
                            "date": int(r["date"].replace("-", "")),
                            "total_value": _cedar_decimal(r["total_value"]),
                            "du_goods": _cedar_decimal(f["du_goods"]), "du_count": f["du_count"],
                            "any_ml": f["ml"], "any_controlled": f["controlled"], "any_cat3": f["cat3"],
                            "any_technology": f["tech"]}}

    def run(records: list[dict[str, Any]]) -> list[list[str]]:
        out: list[list[str]] = []
        for start in range(0, len(records), 1000):
            batch = [request(r) for r in records[start:start + 1000]]
            for res in cedarpy.is_authorized_batch(batch, policies, entities):
                fired = {index[p] for p in res.diagnostics.reasons}
                out.append([rid for rid in RULES if rid in fired])
        return out

    return run


# -- CEL -----------------------------------------------------------------------------------------


def cel_program() -> str:
    emb = json.dumps(list(EMBARGOED))
    dual = "items.filter(i, i.code.matches('^[0-9][A-E][0-9][0-9][0-9]'))"
    conds = [
        "is_denied(normalize(end_user.name))",  # host functions: see cel_engine
        f"destination in {emb} && items.exists(i, i.code.startsWith('ML'))",
        f"end_user.country in {emb} && (end_user.type == 'military' || end_use == 'military')",
        "end_use == 'wmd' && items.exists(i, i.code != 'UNCONTROLLED')",
        "items.exists(i, i.code.startsWith('ML'))",
        "du_goods_cents > 500000",
        f"size({dual}) >= 3",
        "date >= '2026-01-01' && date < '2027-07-01' && end_use != 'civilian' "
        "&& items.exists(i, i.code.matches('^3[A-E]'))",
        f"total_value_cents <= 150000 && !(destination in {emb})",
        "end_use == 'civilian' && end_user.type == 'academic' && items.all(i, i.kind != 'technology')",
    ]
    return " + ".join(f"({c} ? [{json.dumps(rid)}] : [])" for rid, c in zip(RULES, conds))


def _cents(v: Any) -> int:
    return int((Decimal(repr(v)) if isinstance(v, float) else Decimal(v)).scaleb(2).to_integral_value())


def cel_engine() -> Callable[[list[dict[str, Any]]], list[list[str]]]:
    import cel

    program = cel.compile(cel_program())
    denied = plain.DENIED_PARTIES
    # CEL has no Unicode normalisation, and the binding converts every variable on every
    # execute (a 500-name list or map costs ~200 µs a decision): both are host functions
    ctx = cel.Context()
    ctx.add_function("normalize", plain.normalize)
    ctx.add_function("is_denied", lambda name: name in denied)

    def run(records: list[dict[str, Any]]) -> list[list[str]]:
        out: list[list[str]] = []
        for r in records:
            du_goods = sum(_cents(i["value"]) for i in r["items"]
                           if i["kind"] == "goods" and plain._DUAL_USE(i["code"]))
            ctx.update(dict(r, du_goods_cents=du_goods, total_value_cents=_cents(r["total_value"])))
            out.append(list(program.execute(ctx)))
        return out

    return run


# -- Rego (regorus) ------------------------------------------------------------------------------


def regorus_engine() -> Callable[[list[dict[str, Any]]], list[list[str]]]:
    import regorus  # not on every index: skipped when it does not install

    raise NotImplementedError(f"regorus {getattr(regorus, '__version__', '?')} is installed, "
                              "but no Rego version of the policy is written yet")


# -- ecrules and plain Python -----------------------------------------------------------------


def ecrules_engine() -> Callable[[list[dict[str, Any]]], list[list[str]]]:
    policy = ecrules.load(str(REFERENCE / "policy.ecp"))

    def run(records: list[dict[str, Any]]) -> list[list[str]]:
        return [list(d.fired) for d in policy.evaluate_many(records)]

    return run


def plain_engine() -> Callable[[list[dict[str, Any]]], list[list[str]]]:
    def run(records: list[dict[str, Any]]) -> list[list[str]]:
        return [plain.evaluate(r)["fired"] for r in records]

    return run


ENGINES: dict[str, tuple[str, Callable[[], Callable[[list[dict[str, Any]]], list[list[str]]]]]] = {
    "ecrules": ("ecrules (compiled, validating)", ecrules_engine),
    "plain": ("plain Python, no validation", plain_engine),
    "cedar": ("Cedar (cedarpy)", cedar_engine),
    "cel": ("CEL (common-expression-language)", cel_engine),
    "rego": ("Rego (regorus)", regorus_engine),
}


def child(engine: str, path: str, repeat: int) -> dict[str, Any]:
    """Run one engine on the records of a JSON Lines file: fired rules, best time, peak RSS."""
    with open(path, encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    n = len(records)
    run = ENGINES[engine][1]()
    fired = run(records)
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        run(records)
        best = min(best, time.perf_counter() - t0)
    return {"fired": fired, "us": best / n * 1e6,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="ecrules against Cedar, CEL and Rego on one policy.")
    ap.add_argument("--records", type=int, default=20_000, metavar="N")
    ap.add_argument("--repeat", type=int, default=3, metavar="R")
    ap.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    ap.add_argument("--engine", choices=sorted(ENGINES), help=argparse.SUPPRESS)  # the child
    ap.add_argument("--engine-input", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.engine:
        try:
            result = child(a.engine, a.engine_input, a.repeat)
        except ImportError as exc:
            result = {"skipped": f"does not install here ({exc.name})"}
        except NotImplementedError as exc:
            result = {"skipped": str(exc)}
        json.dump(result, sys.stdout)
        return 0

    print(f"ecrules against policy engines · {a.records:,} records as json.loads returns them "
          f"(float amounts) · best of {a.repeat} · Python {platform.python_version()} · "
          f"{platform.system()} {platform.machine()}")
    records_file = HERE / "out" / f"peers-{a.records}.jsonl"
    records_file.parent.mkdir(parents=True, exist_ok=True)
    with open(records_file, "w", encoding="utf-8") as fh:  # the same input for every child
        for rec in gen.json_records(a.records):
            fh.write(json.dumps(rec) + "\n")
    results: dict[str, dict[str, Any]] = {}
    for name in ENGINES:
        proc = subprocess.run([sys.executable, __file__, "--engine", name, "--engine-input", str(records_file),
                               "--repeat", str(a.repeat)], capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 2
        results[name] = json.loads(proc.stdout)
    if "skipped" in results["cedar"]:
        print("Cedar is required: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    reference = results["ecrules"]["fired"]
    failed = False
    for name, res in results.items():
        if "fired" not in res:
            continue
        bad = [k for k, (x, y) in enumerate(zip(res["fired"], reference)) if x != y]
        if bad or len(res["fired"]) != len(reference):
            failed = True
            k = bad[0] if bad else min(len(reference), len(res["fired"]))
            print(f"DISAGREEMENT: {name} differs from ecrules on {len(bad):,} records; first at "
                  f"position {k + 1}")
    if failed:
        return 1
    print(f"agreement: every engine fired the same rules as ecrules on all {a.records:,} records\n")
    ours = results["ecrules"]["us"]
    print(f"  {'engine':<36}{'µs/decision':>12}{'decisions/s':>13}{'peak RSS':>10}   ecrules is")
    for name, (label, _) in ENGINES.items():
        res = results[name]
        if "skipped" in res:
            print(f"  {label:<36}{'skipped: ' + res['skipped']}")
            continue
        ratio = res["us"] / ours
        what = "—" if name == "ecrules" else (f"{ratio:.1f}× faster" if ratio >= 1 else f"{1 / ratio:.2f}× slower")
        print(f"  {label:<36}{res['us']:>12.2f}{1e6 / res['us']:>13,.0f}{res['rss_mb']:>8.0f} MB   {what}")
    vs_cedar = results["cedar"]["us"] / ours
    vs_plain = ours / results["plain"]["us"]
    print(f"\n  ecrules vs Cedar: {vs_cedar:.1f}× faster (target ≥ {TARGET_VS_CEDAR:g}×) "
          f"{'ok' if vs_cedar >= TARGET_VS_CEDAR else 'UNDER TARGET'}")
    print(f"  ecrules vs plain Python without validation: {vs_plain:.2f}× its time "
          f"(target ≤ {TARGET_VS_PLAIN}) {'ok' if vs_plain <= TARGET_VS_PLAIN else 'OVER TARGET'}")
    if a.json:
        figures = {k: {x: y for x, y in v.items() if x != "fired"} for k, v in results.items()}
        figures.update(records=a.records, repeat=a.repeat, vs_cedar=vs_cedar, vs_plain=vs_plain)
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
