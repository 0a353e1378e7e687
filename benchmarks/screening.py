"""Screening quality and speed: ecrules' matcher against the baselines a user would otherwise pick.

    python benchmarks/screening.py                      # the public set against the 2020 UN list
    python benchmarks/screening.py --queries Q.jsonl --list L.jsonl --json out.json

Quality (precision, recall, F1 as ../shared/screening/README.md defines them: precision per hit,
ambiguous queries left out) at each screener's threshold, recall per kind, and µs per query, for
    ecrules    the matcher at its default threshold (ecrules.screening.matcher.DEFAULT_THRESHOLD)
    exact      equality after ecrules' `normalize` (what the language offered before screening)
    token_set  rapidfuzz token_set_ratio on `default_process`ed strings, at its best threshold
               on this very set (a generous baseline: its threshold is tuned on the answers)
    logic_v1   nomenklatura's logic-v1 (OpenSanctions), at its best threshold on this set, on the
               20 best candidates by rapidfuzz WRatio (its own pipeline also blocks first)
Speed (`--speed`): µs per name on the UN list and on a generated 30,000-name OFAC-format list
(elapsed, and the process's CPU time, which other work on a shared machine inflates less), the
index's memory, each also as a ratio to the exact-match baseline measured in the same run.
Absolute figures are noisy on a shared machine; the ratios are the figures to compare.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

try:
    import ecrules  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from ecrules.screening import load_list
from ecrules.screening.matcher import DEFAULT_THRESHOLD, Matcher
from ecrules.screening.model import Entry
from ecrules.values import normalize

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
Screener = Callable[[dict[str, Any]], dict[str, float]]   # query → {ref: score}


def read_queries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def scores_to_metrics(queries: list[dict[str, Any]], scored: list[dict[str, float]],
                      threshold: float) -> dict[str, Any]:
    tp_hits = all_hits = found = positives = neg_alerted = negatives = 0
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for q, s in zip(queries, scored):
        if q["kind"] == "ambiguous":
            continue
        hits = {ref for ref, v in s.items() if v >= threshold}
        expected = set(q["expected"])
        all_hits += len(hits)
        tp_hits += len(hits & expected)
        if expected:
            positives += 1
            ok = bool(hits & expected)
            found += ok
            per_kind[q["kind"]][0] += ok
            per_kind[q["kind"]][1] += 1
        else:
            negatives += 1
            neg_alerted += bool(hits)
    p = tp_hits / all_hits if all_hits else 1.0
    r = found / positives if positives else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4), "threshold": threshold,
            "negatives_alerted": round(neg_alerted / negatives, 4) if negatives else 0.0,
            "recall_per_kind": {k: round(a / b, 4) for k, (a, b) in sorted(per_kind.items())}}


def best_threshold(queries: list[dict[str, Any]], scored: list[dict[str, float]],
                   grid: Iterable[float]) -> dict[str, Any]:
    best: dict[str, Any] | None = None
    for t in grid:
        m = scores_to_metrics(queries, scored, t)
        if best is None or m["f1"] > best["f1"]:
            best = m
    assert best is not None
    return best


def timed(screen: Screener, queries: list[dict[str, Any]]) -> tuple[list[dict[str, float]], float]:
    start = time.perf_counter()
    out = [screen(q) for q in queries]
    return out, (time.perf_counter() - start) / max(len(queries), 1) * 1e6


# --- screeners ---------------------------------------------------------------------------------

def ecrules_screener(matcher: Matcher) -> Screener:
    def run(q: dict[str, Any]) -> dict[str, float]:
        query = q["query"]
        return {h.ref: h.score for h in matcher.screen(query["name"], query.get("type"), query.get("country"))}
    return run


def exact_screener(entries: tuple[Entry, ...]) -> Screener:
    index: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        for n in e.names:
            index[normalize(n.name)].add(e.ref)

    def run(q: dict[str, Any]) -> dict[str, float]:
        return dict.fromkeys(index.get(normalize(q["query"]["name"]), ()), 1.0)
    return run


def token_set_scores(entries: tuple[Entry, ...], queries: list[dict[str, Any]]) -> tuple[list[dict[str, float]], float]:
    from rapidfuzz import fuzz, process, utils
    choices = [utils.default_process(n.name) for e in entries for n in e.names]
    owner = [e.ref for e in entries for _ in e.names]
    out: list[dict[str, float]] = []
    start = time.perf_counter()
    for q in queries:
        s: dict[str, float] = {}
        for _, score, k in process.extract(utils.default_process(q["query"]["name"]), choices,
                                           scorer=fuzz.token_set_ratio, limit=None, score_cutoff=60):
            ref = owner[k]
            s[ref] = max(s.get(ref, 0.0), score / 100)
        out.append(s)
    return out, (time.perf_counter() - start) / len(queries) * 1e6


def logic_v1_scores(entries: tuple[Entry, ...], queries: list[dict[str, Any]]) -> tuple[list[dict[str, float]], float] | None:
    try:
        from followthemoney import model
        from nomenklatura.matching import get_algorithm
        from nomenklatura.matching.types import ScoringConfig
        from rapidfuzz import fuzz, process, utils
    except ImportError:
        return None
    algo = get_algorithm("logic-v1")
    assert algo is not None
    config = ScoringConfig.defaults()
    proxies = {}
    for e in entries:
        p = model.make_entity("Person" if e.type == "individual" else "Organization")
        p.id = e.ref
        p.add("name", e.names[0].name)
        for n in e.names[1:]:
            p.add("alias", n.name)
        p.add("country", [c.lower() for c in e.countries + e.nationality])
        proxies[e.ref] = p
    choices = [utils.default_process(n.name) for e in entries for n in e.names]
    owner = [e.ref for e in entries for _ in e.names]
    out: list[dict[str, float]] = []
    start = time.perf_counter()
    for k, q in enumerate(queries):
        query = q["query"]
        p = model.make_entity("Person" if query.get("type") == "individual" else "Organization")
        p.id = f"q{k}"
        p.add("name", query["name"])
        if query.get("country"):
            p.add("country", query["country"].lower())
        refs: list[str] = []
        for _, _, i in process.extract(utils.default_process(query["name"]), choices, scorer=fuzz.WRatio, limit=60):
            if owner[i] not in refs:
                refs.append(owner[i])
        out.append({ref: algo.compare(p, proxies[ref], config).score for ref in refs[:20]})
    return out, (time.perf_counter() - start) / len(queries) * 1e6


# --- speed -------------------------------------------------------------------------------------

def generate_ofac(path: Path, rows: int, seed: int = 7) -> None:
    """A 30,000-name list in OFAC's sdn.csv layout, its names recombined from the words of the
    real OFAC and UN lists (so token statistics look like a real list's)."""
    rnd = random.Random(seed)
    words: list[str] = []
    src = SHARED / "data" / "us_ofac_consolidated_non_sdn_2025-08.csv"
    for row in csv.reader(src.read_text(encoding="utf-8").rstrip("\x1a\r\n").splitlines()):
        if len(row) > 1:
            words += [w.strip(",.'\"") for w in row[1].split() if len(w) > 2]
    un = SHARED / "screening" / "un_2020-11-30.jsonl"
    for line in un.read_text(encoding="utf-8").splitlines():
        words += [w for n in json.loads(line)["names"] for w in n["name"].split() if len(w) > 2]
    forms = ["LLC", "JSC", "LTD", "CO., LTD.", "OOO", "AO", "GMBH", "", "", ""]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        for k in range(rows):
            person = rnd.random() < 0.5
            name = " ".join(rnd.choice(words) for _ in range(rnd.randint(2, 4)))
            if person:
                first, _, last = name.rpartition(" ")
                name = f"{last.upper()}, {first}"
            else:
                name = f"{name.upper()} {rnd.choice(forms)}".strip()
            w.writerow([100000 + k, name, "individual" if person else "-0- ", "[GEN]"] + ["-0- "] * 7 + ["-0- "])


def speed(queries: list[dict[str, Any]], tmp: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ofac = tmp / "ofac_30000.csv"
    generate_ofac(ofac, 30_000)
    for label, path in (("un", SHARED / "screening" / "un_2020-11-30.jsonl"), ("ofac_30000", ofac)):
        lst = load_list(path)
        tracemalloc.start()
        start = time.perf_counter()
        matcher = Matcher(lst)
        build = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        names = [q["query"]["name"] for q in queries]
        exact = exact_screener(lst.entries)
        _, exact_us = timed(exact, queries)
        start, cpu = time.perf_counter(), time.process_time()
        for n in names:
            matcher._compute(n, None, None)        # uncached: every name scored afresh
        us = (time.perf_counter() - start) / len(names) * 1e6
        cpu_us = (time.process_time() - cpu) / len(names) * 1e6    # what other work on the machine does not add
        out[label] = {"names": lst.name_count, "index_build_s": round(build, 2),
                      "index_peak_mb": round(peak / 2**20, 1), "us_per_query": round(us, 1),
                      "cpu_us_per_query": round(cpu_us, 1),
                      "exact_us_per_query": round(exact_us, 2), "ratio_to_exact": round(us / exact_us, 1)}
    return out


def columnar(records: int, distinct: int, queries: list[dict[str, Any]]) -> dict[str, Any]:
    """The columnar engine on policies/screening.ecp: `records` end users drawn from `distinct`
    names, names per second."""
    import ecrules
    import pyarrow as pa

    root = Path(__file__).resolve().parent.parent
    policy = ecrules.load(root / "policies" / "screening.ecp")
    rnd = random.Random(3)
    # as in real paperwork, few parties resemble a listed one: 1 name in 100 is a listed name or
    # a labelled variant of one, the rest are the public set's negatives and made-up companies
    listed = [q["query"]["name"] for q in queries if q["expected"]]
    listed += [n.name for e in policy.checked.screenings["un"].screening_list.entries for n in e.names]
    others = [q["query"]["name"] for q in queries if q["kind"].startswith("neg_")]
    words = [w for q in others for w in q.split() if w.isalpha() and len(w) > 3]
    names = [rnd.choice(listed) if rnd.random() < 0.01 else
             (rnd.choice(others) if k < len(others) else " ".join(rnd.sample(words, 3)) + " Ltd")
             for k in range(distinct)]
    rows = [{"id": f"r{k}", "date": "2025-06-02", "destination": "CN",
             "end_user": {"name": names[rnd.randrange(distinct)], "country": "CN", "type": "commercial"}}
            for k in range(records)]
    table = pa.Table.from_pylist(rows)
    start = time.perf_counter()
    policy.evaluate_table(table)
    col = time.perf_counter() - start
    return {"records": records, "distinct_names": distinct, "seconds": round(col, 2),
            "names_per_s": round(records / col)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=Path, default=SHARED / "screening" / "public_queries.jsonl")
    ap.add_argument("--list", type=Path, default=SHARED / "screening" / "un_2020-11-30.jsonl")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--no-logic-v1", action="store_true", help="skip nomenklatura (slow: ~20 s)")
    ap.add_argument("--speed", action="store_true", help="also time the UN list and a 30,000-name list")
    ap.add_argument("--columnar", type=int, metavar="N", help="also decide N records on the columnar engine")
    ap.add_argument("--distinct", type=int, default=2000, help="distinct names among the --columnar records")
    args = ap.parse_args(argv)
    queries = read_queries(args.queries)
    lst = load_list(args.list, "jsonl")
    results: dict[str, Any] = {}
    matcher = Matcher(lst)
    scored, us = timed(ecrules_screener(matcher), queries)
    results["ecrules"] = scores_to_metrics(queries, scored, DEFAULT_THRESHOLD) | {"us_per_query": round(us, 1)}
    scored, us = timed(exact_screener(lst.entries), queries)
    results["exact"] = scores_to_metrics(queries, scored, 1.0) | {"us_per_query": round(us, 1)}
    scored, us = token_set_scores(lst.entries, queries)
    results["token_set"] = best_threshold(queries, scored, [t / 100 for t in range(60, 101)]) | {"us_per_query": round(us, 1)}
    if not args.no_logic_v1:
        got = logic_v1_scores(lst.entries, queries)
        if got is not None:
            results["logic_v1"] = best_threshold(queries, got[0], [t / 100 for t in range(30, 101)]) | {"us_per_query": round(got[1], 1)}
    exact_us = results["exact"]["us_per_query"] or 1e-9
    for r in results.values():
        r["us_ratio_to_exact"] = round(r["us_per_query"] / exact_us, 1)
    print(f"{'screener':10} {'thresh':>6} {'prec':>6} {'recall':>6} {'f1':>6} {'neg-alert':>9} {'µs/q':>8} {'×exact':>7}")
    for name, r in results.items():
        print(f"{name:10} {r['threshold']:6.2f} {r['precision']:6.3f} {r['recall']:6.3f} {r['f1']:6.3f} "
              f"{r['negatives_alerted']:9.3f} {r['us_per_query']:8.1f} {r['us_ratio_to_exact']:7.1f}")
    kinds = sorted({k for r in results.values() for k in r["recall_per_kind"]})
    print("\nrecall per kind: " + "  ".join(f"{n}" for n in results))
    for k in kinds:
        print(f"  {k:24} " + "  ".join(f"{results[n]['recall_per_kind'].get(k, 0):.3f}" for n in results))
    out: dict[str, Any] = {"queries": str(args.queries), "list": str(args.list), "screeners": results}
    if args.speed:
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            out["speed"] = speed(queries, Path(tmp))
        print("\nspeed (uncached, one name at a time):")
        for label, s in out["speed"].items():
            print(f"  {label:11} {s['names']:6} names  {s['us_per_query']:7.1f} µs/name ({s['cpu_us_per_query']:.1f} of CPU)  "
                  f"({s['ratio_to_exact']}× exact match's {s['exact_us_per_query']} µs)  "
                  f"index {s['index_peak_mb']} MB, built in {s['index_build_s']} s")
    if args.columnar:
        out["columnar"] = c = columnar(args.columnar, args.distinct, queries)
        print(f"\ncolumnar engine, policies/screening.ecp: {c['records']} records, {c['distinct_names']} distinct "
              f"names: {c['seconds']} s, {c['names_per_s']} names/s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
