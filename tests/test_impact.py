"""`ecrules impact` and `ecrules diff`: statistics, planted proxies, explained disparities, the
symbolic diff against corpus replay, row vs columnar, the command line and the HTML report."""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ecrules
from ecrules.impact import Thresholds
from ecrules.impact.stats import cramers_v, rate_ratio

SCHEMA = """
schema {
  type party {
    name: string
    region: string?
  }
  record transaction {
    id: string
    destination: country
    end_user: party
    value: number
  }
}
"""

PROXY_POLICY = f"""policy "proxy-demo" version "1"
combine deny_overrides
default allow
{SCHEMA}
rule REGION deny {{
  title "reads no protected field, yet singles out Somalia"
  when has end_user.region and end_user.region == "Puntland"
}}

rule BIG license {{
  when value > 100000
}}

constraint nondiscrimination {{
  protect destination unless basis UNSC
}}
"""

DESTINATIONS = ["DE", "FR", "SO", "KP", "US", "CN", "IN", "BR"]


def population(n: int, seed: int, puntland: float = 0.5) -> list[dict[str, object]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        d = rng.choice(DESTINATIONS)
        eu: dict[str, object] = {"name": f"Co {i}"}
        if d == "SO" and rng.random() < puntland:
            eu["region"] = "Puntland"
        elif rng.random() < 0.3:
            eu["region"] = rng.choice(["Bavaria", "Normandy", "Texas", "Hebei"])
        out.append({"id": f"T{i}", "destination": d, "end_user": eu, "value": round(rng.uniform(100, 200000), 2)})
    return out


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


# ---- statistics -------------------------------------------------------------------------------


def test_rate_ratio_katz_interval() -> None:
    r = rate_ratio(20, 100, 10, 100)
    assert r is not None and not r.corrected
    assert r.ratio == pytest.approx(2.0)
    se = math.sqrt(1 / 20 - 1 / 100 + 1 / 10 - 1 / 100)
    assert r.low == pytest.approx(2.0 * math.exp(-1.959963984540054 * se))
    assert r.high == pytest.approx(2.0 * math.exp(1.959963984540054 * se))


def test_rate_ratio_zero_cells_are_corrected_and_empty_groups_say_nothing() -> None:
    r = rate_ratio(5, 50, 0, 500)
    assert r is not None and r.corrected and math.isfinite(r.ratio) and r.low > 1
    assert rate_ratio(0, 50, 0, 500) is None
    assert rate_ratio(3, 0, 1, 10) is None


def test_cramers_v_bounds() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 5000)
    assert cramers_v(x, x) == pytest.approx(1.0, abs=1e-3)
    assert cramers_v(x, rng.integers(0, 5, 5000)) < 0.05
    assert cramers_v(x, np.zeros(5000, dtype=np.int64)) == 0.0


# ---- impact -----------------------------------------------------------------------------------


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), share=st.floats(0.3, 1.0), n=st.integers(1500, 4000))
def test_a_planted_proxy_is_flagged_with_evidence(seed: int, share: float, n: int) -> None:
    policy = ecrules.loads(PROXY_POLICY)
    report = ecrules.impact(policy, population(n, seed, share))
    assert report.records == n == report.decisions.num_rows
    flagged = {(d.rule, d.value, d.direction) for d in report.flagged}
    assert ("REGION", "SO", "higher") in flagged
    assert not any(d.rule == "BIG" for d in report.flagged)  # value does not stand for a destination
    proxies = report.flagged_proxies
    assert [(p.rule, p.field, p.attribute) for p in proxies] == [("REGION", "end_user.region", "destination")]
    ev = proxies[0].evidence[0]
    assert (ev.value, ev.attribute_value, ev.share) == ("Puntland", "SO", 1.0)
    assert "occurs only with destination SO" in ev.sentence("end_user.region", "destination")
    region = next(d for d in report.flagged if d.rule == "REGION")
    assert region.drivers[0].field == "end_user.region" and region.drivers[0].top[0].value == "Puntland"


def test_no_alarm_for_small_groups() -> None:
    records = population(3000, 7, puntland=0.0)
    for k in range(10):  # ten Puntland records: below the minimum count of 30 per value
        records.append({"id": f"P{k}", "destination": "SO", "end_user": {"name": "x", "region": "Puntland"},
                        "value": 5})
    rows = [r for r in records if not (r["destination"] == "SO" and not str(r["id"]).startswith("P"))]
    report = ecrules.impact(ecrules.loads(PROXY_POLICY), rows)
    assert not [d for d in report.flagged if d.rule == "REGION"]
    assert not report.flagged_proxies


def test_outcome_rates_add_up() -> None:
    records = population(2000, 3)
    report = ecrules.impact(ecrules.loads(PROXY_POLICY), records)
    by_dest = {g.value: g for g in report.rates if g.attribute == "destination"}
    assert sum(g.n for g in by_dest.values()) == 2000
    for d, g in by_dest.items():
        assert sum(g.outcomes.values()) == g.n == sum(1 for r in records if r["destination"] == d)
    assert report.outcomes["deny"] == sum(1 for r in records if r["end_user"].get("region") == "Puntland")  # type: ignore[union-attr]


def test_row_and_columnar_corpora_agree(tmp_path: Path) -> None:
    records = population(2500, 11)
    jsonl = write_jsonl(tmp_path / "pop.jsonl", records)
    parquet = tmp_path / "pop.parquet"
    pq.write_table(pa.Table.from_pylist(records), parquet)
    policy = ecrules.loads(PROXY_POLICY)
    a = ecrules.impact(policy, str(jsonl)).to_dict()
    b = ecrules.impact(policy, str(parquet)).to_dict()
    assert a == b


def test_bad_records_are_counted_as_errors(tmp_path: Path) -> None:
    records = population(200, 5)
    path = tmp_path / "pop.jsonl"
    lines = [json.dumps(r) for r in records] + ["not json", json.dumps({"id": "X", "destination": "ZZ"})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ecrules.impact(ecrules.loads(PROXY_POLICY), str(path))
    assert report.records == 202 and report.outcomes["error"] == 2


# ---- diff -------------------------------------------------------------------------------------

VARIANTS = {
    "threshold": lambda s: s.replace("value > 100000", "value > 50000"),
    "stricter": lambda s: s.replace("value > 100000", "value > 150000"),
    "more-regions": lambda s: s.replace('end_user.region == "Puntland"',
                                        'end_user.region in { "Puntland", "Hebei" }'),
    "rule-removed": lambda s: s.replace('rule BIG license {\n  when value > 100000\n}', ''),
    "deny-to-license": lambda s: s.replace("rule REGION deny", "rule REGION license"),
}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variant=st.sampled_from(sorted(VARIANTS)), seed=st.integers(0, 1000))
def test_symbolic_diff_agrees_with_corpus_replay(variant: str, seed: int) -> None:
    old = ecrules.loads(PROXY_POLICY)
    new = ecrules.loads(VARIANTS[variant](PROXY_POLICY))
    report = ecrules.diff(old, new, population(1500, seed))
    assert report.corpus is not None
    status = {(t.old, t.new): t for t in report.transitions}
    for pair, count in report.corpus.by_transition.items():
        assert count > 0
        assert status[pair].status != "impossible", (variant, pair)
    for t in report.transitions:
        if t.status == "possible":  # the witness really changes that way on both evaluators
            assert old.evaluate(t.witness).outcome == t.old and new.evaluate(t.witness).outcome == t.new
        assert t.status in ("possible", "impossible")
    assert report.corpus.changes.num_rows == report.corpus.changed


def test_diff_names_the_rules_and_matches_rules_by_id() -> None:
    old = ecrules.loads(PROXY_POLICY)
    new = ecrules.loads(VARIANTS["rule-removed"](PROXY_POLICY))
    report = ecrules.diff(old, new, population(600, 1))
    assert report.rules_removed == ("BIG",) and report.rules_added == ()
    t = report.transition("license", "allow")
    assert t is not None and t.status == "possible" and t.rules == ("BIG",)
    assert report.transition("allow", "license") is None  # the new policy never licenses
    assert report.corpus is not None and report.corpus.by_rule["BIG"]["removed"] == report.corpus.changed


# ---- command line and HTML ----------------------------------------------------------------------


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("ecrules")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_cli_impact_and_diff(tmp_path: Path) -> None:
    (tmp_path / "old.ecp").write_text(PROXY_POLICY, encoding="utf-8")
    (tmp_path / "new.ecp").write_text(VARIANTS["threshold"](PROXY_POLICY), encoding="utf-8")
    write_jsonl(tmp_path / "pop.jsonl", population(1000, 2))
    r = run("impact", "old.ecp", "pop.jsonl", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "rule REGION: destination 'SO' higher" in r.stdout and "Traceback" not in r.stderr
    assert run("impact", "old.ecp", "pop.jsonl", "--strict", cwd=tmp_path).returncode == 3
    r = run("impact", "old.ecp", "pop.jsonl", "--format", "json", "-o", "impact.json", cwd=tmp_path)
    assert r.returncode == 0 and json.loads((tmp_path / "impact.json").read_text())["records"] == 1000
    r = run("diff", "old.ecp", "new.ecp", "pop.jsonl", "--changes", "changes.jsonl", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    lines = (tmp_path / "changes.jsonl").read_text().splitlines()
    assert len(lines) == out["corpus"]["changed"] > 0
    assert {json.loads(x)["from"] for x in lines} == {"allow"} and {json.loads(x)["to"] for x in lines} == {"license"}
    assert run("impact", "old.ecp", "missing.jsonl", cwd=tmp_path).returncode == 2
    (tmp_path / "bad.ecp").write_text("rule", encoding="utf-8")
    r = run("diff", "bad.ecp", "new.ecp", cwd=tmp_path)
    assert r.returncode == 1 and "bad.ecp:1:" in r.stderr and "Traceback" not in r.stderr


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def render(html_file: Path, out: Path) -> str:
    """The DOM after Chromium rendered the page, and a screenshot beside it."""
    assert CHROMIUM is not None
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={out / 'profile'}", "--window-size=1200,1400"]
    subprocess.run([CHROMIUM, *flags, f"--screenshot={out / (html_file.stem + '.png')}", html_file.as_uri()],
                   capture_output=True, timeout=120, check=True)
    return subprocess.run([CHROMIUM, *flags, "--dump-dom", html_file.as_uri()], capture_output=True, text=True,
                          timeout=120, check=True).stdout


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian package `chromium`)")
def test_html_reports_render_in_chromium(tmp_path: Path) -> None:
    (tmp_path / "old.ecp").write_text(PROXY_POLICY, encoding="utf-8")
    (tmp_path / "new.ecp").write_text(VARIANTS["more-regions"](PROXY_POLICY), encoding="utf-8")
    records = population(1200, 4)
    write_jsonl(tmp_path / "pop.jsonl", records)
    assert run("impact", "old.ecp", "pop.jsonl", "--format", "html", "-o", "impact.html", cwd=tmp_path).returncode == 0
    assert run("diff", "old.ecp", "new.ecp", "pop.jsonl", "--format", "html", "-o", "diff.html",
               cwd=tmp_path).returncode == 0
    dom = render(tmp_path / "impact.html", tmp_path)
    report = ecrules.impact(ecrules.loads(PROXY_POLICY), records)
    segments = sum(1 for g in report.rates for v in g.outcomes.values() if v)
    assert dom.count('class="bar-seg"') == segments
    points = [d for d in report.disparities if d.unexplained is not None and d.n >= 30]
    assert dom.count('class="di-point') == min(len(points), 40)
    assert dom.count('class="di-point flagged"') == len(report.flagged)
    assert dom.count('class="proxy-row"') == 1
    assert (tmp_path / "impact.png").stat().st_size > 10_000
    dom = render(tmp_path / "diff.html", tmp_path)
    changed = ecrules.diff(ecrules.loads(PROXY_POLICY), ecrules.loads(VARIANTS["more-regions"](PROXY_POLICY)),
                           records, deadline=30)
    assert changed.corpus is not None
    assert dom.count('class="flow"') == len(changed.corpus.by_transition) > 0
    assert (tmp_path / "diff.png").stat().st_size > 5_000


LAW_POLICY = f"""policy "law-demo" version "1"
combine deny_overrides
default allow
{SCHEMA}
instrument UNSCR_1718 {{
  kind UNSC
  citation "S/RES/1718 (2006)"
  adopted 2006-10-14
  scope destination "KP"
}}

instrument WA_DUAL_USE {{
  kind REGIME
  citation "Wassenaar Arrangement, Dual-Use List"
  adopted 1996-07-12
  scope item
}}

set embargo: country = {{ "KP" basis UNSCR_1718 "para. 8" }}

set watched: country = {{ "SO" basis WA_DUAL_USE "Cat. 5" }}

rule EMB deny {{
  when destination in embargo
}}

rule WATCH license {{
  when destination in watched
}}

constraint nondiscrimination {{
  protect destination unless basis UNSC, REGIME
}}
"""


def test_a_disparity_explained_by_justified_members_is_not_flagged() -> None:
    report = ecrules.impact(ecrules.loads(LAW_POLICY), population(3000, 9))
    emb = [d for d in report.disparities if d.rule == "EMB" and d.value == "KP"]
    assert emb and emb[0].hits == emb[0].explained > 0 and not emb[0].flagged
    assert not [d for d in report.flagged if d.rule == "EMB"]
    # an item-control regime singles out no destination: its member explains nothing
    watch = [d for d in report.flagged if d.rule == "WATCH"]
    assert [(d.value, d.explained) for d in watch] == [("SO", 0)]


# ---- what counts as singling out ------------------------------------------------------------------

FAIR_SCHEMA = """
schema {
  type party {
    name: string
    country: country
    type: enum { commercial, government, individual }
    nationality: country?
  }
  record transaction {
    id: string
    destination: country
    end_user: party
    military: bool
  }
}
"""

FAIR_POLICY = f"""policy "fair-demo" version "1"
combine deny_overrides
default allow
{FAIR_SCHEMA}
instrument UNSCR_1970 {{
  kind UNSC
  citation "S/RES/1970 (2011)"
  adopted 2011-02-26
  scope destination "LY"
}}

instrument UNSCR_2095 {{
  kind UNSC
  citation "S/RES/2095 (2013)"
  adopted 2013-03-14
  scope destination "LY"
}}

set embargo: country = {{ "LY" basis UNSCR_1970 "para. 9" }}

rule EMB deny {{
  when military and destination in embargo
}}

rule LY_GOV allow {{
  basis UNSCR_2095 "para. 9"
  waives EMB
  when destination == "LY" and end_user.type == "government"
}}

constraint nondiscrimination {{
  protect destination, end_user.country, end_user.nationality unless basis UNSC
}}
"""


def fair_population(n: int, seed: int) -> list[dict[str, object]]:
    """Mostly trade at home; shipments to LY sometimes go through a consignee in AE."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        d = rng.choice(["DE", "FR", "US", "JP", "LY", "BR"])
        kind = rng.choice(["commercial"] * 8 + ["government", "individual"])
        eu: dict[str, object] = {"name": f"Co {i}", "country": "AE" if d == "LY" and rng.random() < 0.3 else d,
                                 "type": kind}
        if kind == "individual":
            eu["nationality"] = eu["country"]
        out.append({"id": f"F{i}", "destination": d, "end_user": eu, "military": rng.random() < 0.3})
    return out


def test_justified_rules_and_waived_firings_raise_no_alarm() -> None:
    """The bundled UN policy's shapes: a rule-level basis whose scope lists the value explains its
    firings, a waived firing counts toward nothing, and a consignee country that only comes with an
    embargoed destination is not singled out (the firing is justified by the destination)."""
    records = fair_population(2000, 3)
    report = ecrules.impact(ecrules.loads(FAIR_POLICY), records)
    assert not report.flagged and not report.flagged_proxies
    gov = [d for d in report.disparities if d.rule == "LY_GOV" and d.attribute == "destination" and d.value == "LY"]
    assert gov and gov[0].hits == gov[0].explained > 0
    emb_ae = [d for d in report.disparities if d.rule == "EMB" and d.attribute == "end_user.country" and d.value == "AE"]
    assert emb_ae and emb_ae[0].hits == emb_ae[0].explained > 0
    # EMB fired on LY government records too, but the waiver cancelled those: they are not counted
    emb_ly = [d for d in report.disparities if d.rule == "EMB" and d.attribute == "destination" and d.value == "LY"][0]
    decided = report.decisions.column("fired").to_pylist()
    fired = sum("EMB" in f for f in decided)
    waived = sum("EMB" in f and "LY_GOV" in f for f in decided)
    assert waived > 0 and emb_ly.hits == fired - waived


def test_an_absent_protected_value_is_no_evidence_of_a_proxy() -> None:
    """`nationality` is only given for individuals: a field's value that only occurs where the
    nationality is absent (`type = commercial`) is not a proxy for a nationality."""
    report = ecrules.impact(ecrules.loads(FAIR_POLICY), fair_population(2000, 5))
    for p in report.proxies:
        assert all(ev.attribute_value is not None for ev in p.evidence), p


def test_a_handful_of_unexplained_firings_is_not_a_disparity() -> None:
    """One or two events give an interval excluding 1 only through the continuity correction."""
    records = population(3000, 4)
    punt = sorted(float(str(r["value"])) for r in records if "Puntland" in str(r["end_user"]))
    few = PROXY_POLICY.replace('end_user.region == "Puntland"', f'end_user.region == "Puntland" and value >= {punt[-3]}')
    assert ecrules.impact(ecrules.loads(few), records).rule_hits["REGION"] == 3
    report = ecrules.impact(ecrules.loads(few), records)
    assert not [d for d in report.flagged if d.rule == "REGION"]
    lenient = ecrules.impact(ecrules.loads(few), records, thresholds=Thresholds(min_hits=1, confidence=0.5))
    assert [d for d in lenient.flagged if d.rule == "REGION"]


def test_a_rule_blind_to_destination_raises_no_alarm_by_chance() -> None:
    """`BIG` (here value > 185000) fires on 7.5% of records whatever the destination: with 8
    destinations, a plain 95% interval per comparison flags one of them by chance in some
    populations; the simultaneous intervals must flag none in any of ten."""
    policy = ecrules.loads(PROXY_POLICY.replace("value > 100000", "value > 185000"))
    for seed in range(10):
        report = ecrules.impact(policy, population(2000, 100 + seed, puntland=0.0))
        assert report.comparisons >= 8
        assert not [d for d in report.flagged if d.rule == "BIG"], seed
    naive = [seed for seed in range(10)
             if [d for d in ecrules.impact(policy, population(2000, 100 + seed, puntland=0.0),
                                           thresholds=Thresholds(confidence=1 - 0.05 * 8)).flagged if d.rule == "BIG"]]
    assert naive  # the same populations do show chance disparities at a per-comparison 95%
