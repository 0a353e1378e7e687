"""Benchmarks of the core evaluator: a documented command, not a test.

    PYTHONPATH=src python benchmarks/run.py [--records N] [--repeat R] [--json FILE]

1. Loads reference/policy.ecp (10 rules, a 500-name denied-party set) with ecrules.
2. Generates N records (default 20,000; 1 to 5 items each; gen.py, seeded) plus a few hundred
   records with a planted record error, and checks that ecrules and the hand-written Python
   version of the same policy (reference/handwritten.py) agree on every one of them: outcome,
   fired rules and, for errors, the field named. Any disagreement stops the run (exit 1).
3. Times, best of R repeats (default 5), time.perf_counter: the hand-written policy per record,
   `policy.evaluate` per record (a Python loop), `policy.evaluate_many` per record; prints
   µs/record and the ratios evaluate/handwritten (target <= 1.5) and
   evaluate_many/evaluate (target <= 1, not slower).
4. Times loading (`ecrules.loads`: parse + check + compile) of a generated 1,000-rule policy,
   best of 3 (target < 1 s).

See benchmarks/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import platform
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "reference"
POLICY_FILE = REFERENCE / "policy.ecp"

sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REFERENCE))
try:
    import ecrules
except ImportError:  # running from a checkout without PYTHONPATH=src
    sys.path.insert(0, str(HERE.parent / "src"))
    import ecrules

import gen  # noqa: E402
import handwritten  # noqa: E402
import plain  # noqa: E402

TARGET_EVAL_RATIO = 1.5
TARGET_PLAIN_RATIO = 1.5  # ecrules on json.loads records vs plain Python that does not validate
TARGET_MANY_RATIO = 1.0
TARGET_LOAD_SECONDS = 1.0
NOISE = 0.03  # a ratio within 3 % above its target is reported as "~" (within timing noise)


# ----------------------------------------------------------------------------------------------
# Agreement


def _fired(d: dict[str, Any]) -> list[str]:
    return list(d.get("fired") or [])


def _error_field(d: dict[str, Any]) -> Any:
    err = d.get("error")
    return err.get("field") if isinstance(err, dict) else None


def _basis_set(d: dict[str, Any]) -> set[tuple[Any, Any, Any]]:
    return {(b.get("rule"), b.get("kind"), b.get("citation")) for b in d.get("basis") or []}


def _show(x: Any) -> str:
    return json.dumps(x, default=str, ensure_ascii=False)


def check_agreement(policy: Any, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Compare ecrules with handwritten.py on every record; exit 1 on a disagreement."""
    snapshot = copy.deepcopy(records)
    mismatches: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any], str]] = []
    soft: Counter[str] = Counter()
    soft_example: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {}
    outcomes: Counter[str] = Counter()
    fired_counts: Counter[str] = Counter()
    many = list(policy.evaluate_many(records))
    if len(many) != len(records):
        sys.exit(f"evaluate_many gave {len(many)} decisions for {len(records)} records")
    for pos, record in enumerate(records):
        hand = handwritten.evaluate(record)
        dec = policy.evaluate(record)
        got = dec.to_dict()
        outcomes[hand["outcome"]] += 1
        fired_counts.update(hand["fired"])
        why = []
        if getattr(dec, "outcome", got.get("outcome")) != got.get("outcome"):
            why.append("decision.outcome differs from to_dict()['outcome']")
        if got.get("outcome") != hand["outcome"]:
            why.append("outcome")
        if _fired(got) != hand["fired"]:
            why.append("fired")
        if list(getattr(dec, "fired", _fired(got)) or []) != _fired(got):
            why.append("decision.fired differs from to_dict()['fired']")
        if hand["outcome"] == "error" and got.get("outcome") == "error":
            if _error_field(got) != _error_field(hand):
                why.append("error field")
        m = many[pos].to_dict()
        if m != got:
            why.append("evaluate_many differs from evaluate")
        if why:
            mismatches.append((record, got, hand, ", ".join(why)))
            continue
        # Finer points that the contract leaves some room on: reported, never fatal.
        if hand["outcome"] != "error":
            if set(got.get("obligations") or []) != set(hand["obligations"]):
                soft["obligations"] += 1
                soft_example.setdefault("obligations", (record, got, hand))
            if _basis_set(got) != _basis_set(hand):
                soft["basis"] += 1
                soft_example.setdefault("basis", (record, got, hand))
            if got.get("id") != hand["id"] or got.get("policy") != handwritten.POLICY \
                    or got.get("version") != handwritten.VERSION:
                soft["id/policy/version"] += 1
                soft_example.setdefault("id/policy/version", (record, got, hand))
    if snapshot != records:
        sys.exit("ecrules modified the records it evaluated")
    if mismatches:
        print(f"\nDISAGREEMENT: ecrules and handwritten.py differ on {len(mismatches)} of "
              f"{len(records)} records. First ones:\n")
        for record, got, hand, why in mismatches[:5]:
            print(f"  differs in: {why}")
            print(f"  record:      {_show(record)}")
            print(f"  ecrules:     {_show(got)}")
            print(f"  handwritten: {_show(hand)}\n")
        sys.exit(1)
    return {
        "records": len(records),
        "outcomes": dict(outcomes),
        "fired": dict(sorted(fired_counts.items())),
        "soft_differences": dict(soft),
        "soft_examples": {k: {"record": v[0], "ecrules": v[1], "handwritten": v[2]}
                          for k, v in soft_example.items()},
    }


# ----------------------------------------------------------------------------------------------
# Timing


def check_plain_agreement(policy: Any, records: list[dict[str, Any]]) -> None:
    """plain.py (no validation, float arithmetic) must decide valid records as ecrules does."""
    bad = [(r, d) for r, d in zip(records, policy.evaluate_many(records))
           if (p := plain.evaluate(r))["outcome"] != d.outcome or p["fired"] != list(d.fired)]
    if bad:
        record, dec = bad[0]
        print(f"\nDISAGREEMENT: ecrules and plain.py differ on {len(bad)} of {len(records)} "
              f"json.loads records; first:\n  record: {_show(record)}\n  ecrules: {_show(dec.to_dict())}"
              f"\n  plain:   {_show(plain.evaluate(record))}")
        sys.exit(1)


def _timed(fn: Callable[[], None]) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def time_evaluation(policy: Any, records: list[dict[str, Any]], floats: list[dict[str, Any]],
                    repeat: int) -> dict[str, float]:
    hand_eval = handwritten.evaluate
    plain_eval = plain.evaluate
    evaluate = policy.evaluate
    evaluate_many = policy.evaluate_many

    def run_hand() -> None:
        for r in records:
            hand_eval(r)

    def run_evaluate() -> None:
        for r in records:
            evaluate(r)

    def run_many() -> None:
        for _ in evaluate_many(records):
            pass

    def run_evaluate_to_dict() -> None:
        for r in records:
            evaluate(r).to_dict()

    def run_plain_floats() -> None:
        for r in floats:
            plain_eval(r)

    def run_evaluate_floats() -> None:
        for r in floats:
            evaluate(r)

    def run_hand_floats() -> None:
        for r in floats:
            hand_eval(r)

    runs = {
        "handwritten": run_hand,
        "evaluate": run_evaluate,
        "evaluate_many": run_many,
        "evaluate_to_dict": run_evaluate_to_dict,
        "plain_floats": run_plain_floats,
        "evaluate_floats": run_evaluate_floats,
        "handwritten_floats": run_hand_floats,
    }
    best = {k: float("inf") for k in runs}
    warm = records[: min(len(records), 1000)]
    for r in warm:  # warm-up, untimed
        hand_eval(r)
        evaluate(r).to_dict()
    for _ in evaluate_many(warm):
        pass
    for r in floats[:1000]:
        plain_eval(r)
        evaluate(r)
    for _ in range(repeat):  # interleaved, so drift in machine speed hits all alike
        for k, fn in runs.items():
            best[k] = min(best[k], _timed(fn))
    n = len(records)
    return {k: v / n * 1e6 for k, v in best.items()}  # µs per record


def time_loading(text: str, path: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        best = min(best, _timed(lambda: ecrules.loads(text, path=str(path))))
    return best


def stream_child(n: int, out: str) -> None:
    """In a child process: n decisions through evaluate_many, written to `out` as JSON Lines."""
    policy = ecrules.load(str(POLICY_FILE))
    base = gen.json_records(10_000)

    def records() -> Any:
        for k in range(n):
            rec = base[k % len(base)]
            yield {**rec, "id": f"S{k:09d}"}

    t0 = time.perf_counter()
    count = 0
    with open(out, "w", encoding="utf-8") as fh:
        for d in policy.evaluate_many(records()):
            fh.write(json.dumps(d.to_dict()) + "\n")
            count += 1
    print(json.dumps({"decisions": count, "seconds": time.perf_counter() - t0,
                      "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def stream_memory(n: int) -> list[dict[str, Any]]:
    """Peak RSS streaming n/10 and n decisions to a file, each in a fresh process."""
    out = HERE / "out" / "stream-decisions.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    runs = []
    for m in (max(1, n // 10), n):
        proc = subprocess.run([sys.executable, __file__, "--stream-child", str(m), str(out)],
                              capture_output=True, text=True, check=True)
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    out.unlink(missing_ok=True)
    return runs


# ----------------------------------------------------------------------------------------------


def _verdict(value: float, target: float) -> str:
    if value <= target:
        return "ok"
    if value <= target * (1 + NOISE):
        return "~ (within noise)"
    return "OVER TARGET"


def _fmt_counts(c: dict[str, int], keys: Iterable[str]) -> str:
    return " · ".join(f"{k} {c.get(k, 0):,}" for k in keys if c.get(k, 0))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Benchmark the ecrules evaluator against the same policy hand-written "
                    "in Python, and the loading of a 1,000-rule policy.")
    ap.add_argument("--records", type=int, default=20_000, metavar="N",
                    help="generated records to time (default 20,000)")
    ap.add_argument("--repeat", type=int, default=5, metavar="R",
                    help="timed repeats, the best is kept (default 5)")
    ap.add_argument("--invalid", type=int, default=500, metavar="M",
                    help="records with a planted error, checked for agreement but not timed "
                         "(default 500)")
    ap.add_argument("--rules", type=int, default=1000,
                    help="rules in the generated policy for the load benchmark (default 1,000)")
    ap.add_argument("--load-repeat", type=int, default=3, metavar="R",
                    help="load repeats, the best is kept (default 3)")
    ap.add_argument("--stream", type=int, default=1_000_000, metavar="N",
                    help="decisions streamed through evaluate_many to a file for the memory figure "
                         "(default 1,000,000; 0 skips it)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    ap.add_argument("--stream-child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.stream_child:
        stream_child(int(a.stream_child[0]), a.stream_child[1])
        return 0
    if a.records < 1 or a.repeat < 1 or a.load_repeat < 1:
        ap.error("--records, --repeat and --load-repeat must be at least 1")

    version = getattr(ecrules, "__version__", "?")
    print(f"ecrules {version} benchmarks · Python {platform.python_version()} "
          f"({platform.python_implementation()}) · {platform.system()} {platform.machine()}")

    if gen.denied_parties_text() != (REFERENCE / "denied_parties.txt").read_text(encoding="utf-8"):
        print("warning: reference/denied_parties.txt differs from `python benchmarks/gen.py "
              "denied-parties`; the figures still hold for the file as it is")

    t0 = time.perf_counter()
    policy = ecrules.load(str(POLICY_FILE))
    reference_load = time.perf_counter() - t0
    records = gen.records(a.records)
    invalid = (gen.invalid_records(a.invalid) if a.invalid else []) + gen.edge_records()
    items = sum(len(r["items"]) for r in records)
    print(f"reference policy: {POLICY_FILE.relative_to(HERE.parent)} (10 rules, "
          f"{len(handwritten.DENIED_PARTIES)} denied parties)")
    print(f"records: {len(records):,} generated (seed {gen.RECORD_SEED}), 1-5 items "
          f"(mean {items / len(records):.2f}); timings: best of {a.repeat}")

    # -- agreement -------------------------------------------------------------------------------
    agreement = check_agreement(policy, records + invalid)
    print(f"\nagreement: ecrules == handwritten on all {agreement['records']:,} records "
          f"({len(records):,} generated + {len(invalid):,} with a planted error or a corner "
          f"case): outcome, fired, "
          f"error field")
    print("  outcomes: " + _fmt_counts(agreement["outcomes"], ["deny", "license", "allow", "error"]))
    print("  fired:    " + " · ".join(f"{k} {v:,}" for k, v in agreement["fired"].items()))
    for what, count in agreement["soft_differences"].items():
        ex = agreement["soft_examples"][what]
        print(f"  note: {what} differ on {count:,} records (not fatal), e.g. id "
              f"{ex['record'].get('id')}: ecrules {_show(ex['ecrules'].get(what.split('/')[0]))} "
              f"vs handwritten {_show(ex['handwritten'].get(what.split('/')[0]))}")

    # -- evaluation ------------------------------------------------------------------------------
    floats = gen.json_records(a.records)
    check_plain_agreement(policy, floats)
    print(f"agreement: ecrules == plain.py (no validation) on all {len(floats):,} records as "
          f"json.loads returns them (float amounts): outcome, fired")
    us = time_evaluation(policy, records, floats, a.repeat)
    eval_ratio = us["evaluate"] / us["handwritten"]
    many_ratio = us["evaluate_many"] / us["evaluate"]
    todict_ratio = us["evaluate_to_dict"] / us["handwritten"]
    print()
    print(f"  {'evaluation, per record':<34}{'µs/record':>10}   {'ratio':<22}{'target':<9}")
    print(f"  {'handwritten Python':<34}{us['handwritten']:>10.2f}")
    print(f"  {'policy.evaluate (loop)':<34}{us['evaluate']:>10.2f}   "
          f"{eval_ratio:>5.2f} × handwritten     {'≤ ' + str(TARGET_EVAL_RATIO):<9}"
          f"{_verdict(eval_ratio, TARGET_EVAL_RATIO)}")
    print(f"  {'policy.evaluate_many':<34}{us['evaluate_many']:>10.2f}   "
          f"{many_ratio:>5.2f} × evaluate        {'≤ 1':<9}"
          f"{_verdict(many_ratio, TARGET_MANY_RATIO)}")
    print(f"  {'(evaluate + to_dict, for scale)':<34}{us['evaluate_to_dict']:>10.2f}   "
          f"{todict_ratio:>5.2f} × handwritten")
    plain_ratio = us["evaluate_floats"] / us["plain_floats"]
    print(f"\n  {'json.loads records (float amounts)':<34}{'µs/record':>10}   {'ratio':<22}{'target':<9}")
    print(f"  {'plain Python, no validation':<34}{us['plain_floats']:>10.2f}")
    print(f"  {'handwritten Python (validating)':<34}{us['handwritten_floats']:>10.2f}   "
          f"{us['handwritten_floats'] / us['plain_floats']:>5.2f} × plain")
    print(f"  {'policy.evaluate (loop)':<34}{us['evaluate_floats']:>10.2f}   "
          f"{plain_ratio:>5.2f} × plain           {'≤ ' + str(TARGET_PLAIN_RATIO):<9}"
          f"{_verdict(plain_ratio, TARGET_PLAIN_RATIO)}")

    # -- loading ---------------------------------------------------------------------------------
    text = gen.generated_policy(a.rules)
    virtual = REFERENCE / f"generated-{a.rules}.ecp"  # never written; resolves the file set
    load_s = time_loading(text, virtual, a.load_repeat)
    big = ecrules.loads(text, path=str(virtual))
    big_decisions = list(big.evaluate_many(records[:1000]))
    big_outcomes = Counter(d.outcome for d in big_decisions)
    big_fired = sum(len(d.fired) for d in big_decisions) / max(1, len(big_decisions))
    print()
    print(f"  {'loading (parse + check + compile)':<34}{'seconds':>10}   {'':<22}{'target':<9}")
    print(f"  {'reference policy (ecrules.load)':<34}{reference_load:>10.4f}   "
          f"{'first load, once':<22}")
    print(f"  {f'generated, {a.rules:,} rules (loads)':<34}{load_s:>10.4f}   "
          f"{f'best of {a.load_repeat}, {len(text) / 1024:.0f} KiB':<22}"
          f"{'< ' + str(TARGET_LOAD_SECONDS) + ' s':<9}{_verdict(load_s, TARGET_LOAD_SECONDS)}")
    print(f"  (generated policy on the first {min(1000, len(records)):,} records: "
          + _fmt_counts(big_outcomes, ["deny", "license", "allow", "error"])
          + f"; {big_fired:.0f} rules fired per record on average)")

    streamed: list[dict[str, Any]] = []
    if a.stream:
        streamed = stream_memory(a.stream)
        small, big = streamed
        growth = big["peak_rss_kib"] / small["peak_rss_kib"]
        print(f"\n  streaming evaluate_many to a file: {small['decisions']:,} decisions peak RSS "
              f"{small['peak_rss_kib'] / 1024:,.0f} MiB, {big['decisions']:,} decisions "
              f"{big['peak_rss_kib'] / 1024:,.0f} MiB ({growth:.2f} ×; flat is ≤ 1.1 ×) "
              f"{'ok' if growth <= 1.1 else 'GROWS'}")

    if a.json:
        figures = {
            "ecrules_version": version,
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": f"{platform.system()} {platform.machine()}",
            "records": len(records),
            "checked_only_records": len(invalid),  # planted errors + corner cases
            "mean_items": items / len(records),
            "repeat": a.repeat,
            "us_per_record": us,
            "ratio_evaluate_vs_handwritten": eval_ratio,
            "ratio_evaluate_many_vs_evaluate": many_ratio,
            "ratio_evaluate_vs_plain_floats": plain_ratio,
            "targets": {"evaluate_vs_handwritten": TARGET_EVAL_RATIO,
                        "evaluate_many_vs_evaluate": TARGET_MANY_RATIO,
                        "load_seconds": TARGET_LOAD_SECONDS},
            "load_reference_seconds": reference_load,
            "load_generated_rules": a.rules,
            "load_generated_seconds": load_s,
            "load_repeat": a.load_repeat,
            "agreement": {k: v for k, v in agreement.items() if k != "soft_examples"},
            "stream": streamed,
        }
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"\nfigures written to {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
