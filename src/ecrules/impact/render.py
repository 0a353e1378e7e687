"""Reports of `impact` and `diff` for people: a plain-text summary and one self-contained HTML file.

The HTML needs no network: inline CSS and hand-written SVG (bars, dot-and-whisker intervals, a
flow from old outcomes to new). Every chart element carries a class (`bar-seg`, `di-point`,
`flow`) so a test can count what rendered.
"""

from __future__ import annotations

import html
import math
from typing import Any, Iterable

from .analysis import Disparity, ImpactReport
from .diff import DiffReport, Transition

COLOURS = {"allow": "#2e7d32", "license": "#f9a825", "hold": "#6a1b9a", "deny": "#c62828", "error": "#616161"}
ORDER = ("allow", "license", "hold", "deny", "error")
MAX_BARS = 30
MAX_POINTS = 40


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _label(value: Any) -> str:
    """A protected value as a chart shows it: an absent one is named, not left blank."""
    return "(absent)" if value is None else str(value)


def _ratio(d: Disparity) -> str:
    u = d.unexplained
    return "—" if u is None else f"{u.ratio:.2f} [{u.low:.2f}, {u.high:.2f}]"


# ---- text -------------------------------------------------------------------------------------


def impact_text(r: ImpactReport) -> str:
    lines = [f"impact of policy `{r.policy}` (version {r.version}) on {r.records} records",
             "outcomes: " + ", ".join(f"{o} {r.outcomes.get(o, 0)}" for o in ORDER)]
    for a in r.attributes:
        lines.append(f"protected: {a.name} ({a.category}; justified by {', '.join(sorted(a.admissible)) or 'nothing'})")
    lines.append("rules: " + ", ".join(f"{k} {v}" for k, v in r.rule_hits.items()))
    flagged = r.flagged
    th = r.thresholds
    lines.append(f"disparities flagged (unexplained ratio >= {th.high} or <= {th.low}, at least {th.min_count} "
                 f"records and {th.min_hits} unexplained firings for higher, "
                 f"{th.confidence:.0%} interval over {r.comparisons} comparisons excluding 1): {len(flagged)}")
    for d in flagged:
        lines.append(f"  rule {d.rule}: {d.attribute} {d.value!r} {d.direction}: unexplained ratio {_ratio(d)}; "
                     f"{d.hits} of {d.n} records, {d.explained} explained by a justified fact")
        for drv in d.drivers:
            tops = ", ".join(f"{t.value!r} {t.share:.0%}" for t in drv.top)
            lines.append(f"    driven by {drv.field} (Cramér's V {drv.cramers_v:.2f}): {tops}")
    proxies = r.flagged_proxies
    lines.append(f"proxies flagged: {len(proxies)}")
    for p in proxies:
        lines.append(f"  rule {p.rule} reads {p.field}, a proxy for {p.attribute} (Cramér's V {p.cramers_v:.2f})")
        for ev in p.evidence:
            lines.append(f"    {ev.sentence(p.field, p.attribute)}")
    return "\n".join(lines) + "\n"


def _transition(t: Transition) -> str:
    extra = f" (rules {', '.join(t.rules)})" if t.rules else ""
    why = f": {t.reason}" if t.reason and t.status == "unknown" else ""
    return f"  {t.old} -> {t.new}: {t.status}{extra}{why}"


def diff_text(r: DiffReport) -> str:
    lines = [f"diff `{r.old}` -> `{r.new}`"]
    if r.rules_added or r.rules_removed:
        lines.append(f"rules added: {', '.join(r.rules_added) or 'none'}; removed: {', '.join(r.rules_removed) or 'none'}")
    one_reason = {(t.status, t.reason) for t in r.transitions}
    if len(one_reason) == 1 and r.transitions[0].status == "unknown":  # said once, not per class
        lines.append(f"  every outcome change: unknown: {r.transitions[0].reason}")
    else:
        lines.extend(_transition(t) for t in r.transitions)
    if r.corpus is not None:
        c = r.corpus
        lines.append(f"on {c.records} records: {c.changed} changed")
        for (a, b), k in sorted(c.by_transition.items(), key=lambda x: -x[1]):
            lines.append(f"  {a} -> {b}: {k}")
        for rule, v in c.by_rule.items():
            lines.append(f"  rule {rule}: now fires on {v['added']}, no longer on {v['removed']} changed records")
    return "\n".join(lines) + "\n"


# ---- HTML ---------------------------------------------------------------------------------------

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:18px;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.flag{color:#c62828;font-weight:600}
.legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
svg text{font:11px system-ui,sans-serif}code{background:#f5f5f5;padding:0 3px}
"""


def _page(title: str, body: Iterable[str]) -> str:
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
            + "".join(body) + "</body></html>\n")


def _legend() -> str:
    return "<p class=\"legend\">" + "".join(
        f"<span><i style=\"background:{COLOURS[o]}\"></i>{o}</span>" for o in ORDER) + "</p>"


def _bars(r: ImpactReport, attribute: str) -> str:
    groups = sorted((g for g in r.rates if g.attribute == attribute), key=lambda g: -g.n)[:MAX_BARS]
    if not groups:
        return "<p>no records</p>"
    width, label, row = 720, 90, 18
    height = row * len(groups) + 20
    parts = [f"<svg class=\"chart outcome-rates\" width=\"{width + label + 60}\" height=\"{height}\" "
             f"role=\"img\" aria-label=\"outcome rates by {_e(attribute)}\">"]
    for k, g in enumerate(groups):
        y = 10 + k * row
        parts.append(f"<text x=\"{label - 6}\" y=\"{y + 12}\" text-anchor=\"end\">{_e(_label(g.value))}</text>")
        x = float(label)
        for o in ORDER:
            share = g.outcomes.get(o, 0) / g.n if g.n else 0.0
            if share <= 0:
                continue
            w = share * width
            parts.append(f"<rect class=\"bar-seg\" data-outcome=\"{o}\" x=\"{x:.1f}\" y=\"{y}\" width=\"{w:.1f}\" "
                         f"height=\"{row - 4}\" fill=\"{COLOURS[o]}\"><title>{_e(_label(g.value))}: {o} "
                         f"{g.outcomes.get(o, 0)} of {g.n} ({share:.1%})</title></rect>")
            x += w
        parts.append(f"<text x=\"{label + width + 6}\" y=\"{y + 12}\">{g.n}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _intervals(r: ImpactReport) -> str:
    ds = [d for d in r.disparities if d.unexplained is not None and d.n >= r.thresholds.min_count]
    ds.sort(key=lambda d: (not d.flagged, -abs(math.log(d.unexplained.ratio)) if d.unexplained else 0))
    ds = ds[:MAX_POINTS]
    if not ds:
        return "<p>no rule fired on a group large enough to measure</p>"
    width, label, row = 600, 220, 18
    lo, hi = math.log(1 / 64), math.log(64)

    def x(v: float) -> float:
        return label + (min(max(math.log(max(v, 1e-9)), lo), hi) - lo) / (hi - lo) * width

    height = row * len(ds) + 40
    parts = [f"<svg class=\"chart disparities\" width=\"{width + label + 20}\" height=\"{height}\" role=\"img\" "
             "aria-label=\"disparate-impact ratios\">"]
    for ref, dash in ((1.0, ""), (r.thresholds.high, "4 3"), (r.thresholds.low, "4 3")):
        parts.append(f"<line class=\"ref\" x1=\"{x(ref):.1f}\" x2=\"{x(ref):.1f}\" y1=\"0\" y2=\"{height - 20}\" "
                     f"stroke=\"#999\" stroke-dasharray=\"{dash}\"/>")
    for tick, name in ((1 / 64, "1/64"), (1 / 8, "1/8"), (1, "1"), (8, "8"), (64, "≥ 64")):
        parts.append(f"<text x=\"{x(tick):.1f}\" y=\"{height - 5}\" text-anchor=\"middle\">{name}</text>")
    for k, d in enumerate(ds):
        u = d.unexplained
        assert u is not None
        y = 10 + k * row
        colour = "#c62828" if d.flagged else "#455a64"
        parts.append(f"<text x=\"{label - 6}\" y=\"{y + 4}\" text-anchor=\"end\">{_e(d.rule)} · {_e(_label(d.value))}</text>")
        parts.append(f"<line class=\"di-ci\" x1=\"{x(u.low):.1f}\" x2=\"{x(u.high):.1f}\" y1=\"{y}\" y2=\"{y}\" "
                     f"stroke=\"{colour}\" stroke-width=\"2\"/>")
        parts.append(f"<circle class=\"di-point{' flagged' if d.flagged else ''}\" cx=\"{x(u.ratio):.1f}\" cy=\"{y}\" "
                     f"r=\"4\" fill=\"{colour}\"><title>{_e(d.rule)}, {_e(d.attribute)} {_e(_label(d.value))}: "
                     f"{_ratio(d)}</title></circle>")
    parts.append("</svg>")
    return "".join(parts)


def impact_html(r: ImpactReport) -> str:
    body = [f"<h1>Impact of <code>{_e(r.policy)}</code> (version {_e(r.version)})</h1>",
            f"<p>{r.records} records: " + ", ".join(f"{o} {r.outcomes.get(o, 0)}" for o in ORDER) + "</p>"]
    for a in r.attributes:
        body.append(f"<h2>Outcome rates by {_e(a.name)}</h2>{_legend()}{_bars(r, a.name)}")
    th = r.thresholds
    body.append(f"<h2>Disparate-impact ratios (unexplained firings, simultaneous {th.confidence:.0%} interval "
                f"over {r.comparisons} comparisons, log scale)</h2>"
                f"<p>Flagged: ratio ≥ {th.high} or ≤ {th.low}, at least {th.min_count} records (and {th.min_hits} unexplained firings for higher), interval excluding 1. "
                "Firings explained by a justified fact (a cited member with an admissible instrument in force) are "
                "left out of the unexplained ratio.</p>" + _intervals(r))
    rows = "".join(
        f"<tr class=\"flagged-row\"><td>{_e(d.rule)}</td><td>{_e(d.attribute)}</td><td>{_e(_label(d.value))}</td>"
        f"<td>{d.direction}</td><td class=\"n\">{d.hits}/{d.n}</td><td class=\"n\">{d.explained}</td>"
        f"<td class=\"n\">{_ratio(d)}</td><td>"
        + "; ".join(f"{_e(x.field)}: " + ", ".join(f"{_e(t.value)} ({t.share:.0%})" for t in x.top) for x in d.drivers)
        + "</td></tr>" for d in r.flagged)
    body.append("<h2>Flagged rules</h2><table><tr><th>rule</th><th>attribute</th><th>value</th><th>direction</th>"
                "<th>hits</th><th>explained</th><th>unexplained ratio</th><th>driven by</th></tr>" + rows + "</table>")
    prow = "".join(
        f"<tr class=\"proxy-row\"><td>{_e(p.rule)}</td><td>{_e(p.field)}</td><td>{_e(p.attribute)}</td>"
        f"<td class=\"n\">{p.cramers_v:.2f}</td><td>" + "<br>".join(_e(ev.sentence(p.field, p.attribute)) for ev in p.evidence)
        + "</td></tr>" for p in r.flagged_proxies)
    body.append("<h2>Proxies</h2><table><tr><th>rule</th><th>field</th><th>stands for</th><th>Cramér's V</th>"
                "<th>evidence</th></tr>" + prow + "</table>")
    return _page(f"impact of {r.policy}", body)


def _flow(r: DiffReport) -> str:
    assert r.corpus is not None
    flows = sorted(r.corpus.by_transition.items(), key=lambda x: (ORDER.index(x[0][0]) if x[0][0] in ORDER else 9,
                                                                 ORDER.index(x[0][1]) if x[0][1] in ORDER else 9))
    total = sum(k for _, k in flows)
    if not total:
        return "<p>no decision changed</p>"
    width, height, bar = 600, 320, 16
    scale = (height - 40) / total
    left: dict[str, float] = {}
    right: dict[str, float] = {}
    ly, ry = 10.0, 10.0
    lsum: dict[str, int] = {}
    rsum: dict[str, int] = {}
    for (a, b), k in flows:
        lsum[a] = lsum.get(a, 0) + k
        rsum[b] = rsum.get(b, 0) + k
    for o in ORDER:
        if o in lsum:
            left[o] = ly
            ly += lsum[o] * scale + 8
        if o in rsum:
            right[o] = ry
            ry += rsum[o] * scale + 8
    parts = [f"<svg class=\"chart flow\" width=\"{width}\" height=\"{max(ly, ry) + 10:.0f}\" role=\"img\" "
             "aria-label=\"changed decisions, old outcome to new\">"]
    lpos, rpos = dict(left), dict(right)
    for (a, b), k in flows:
        h = k * scale
        x0, x1 = 120 + bar, width - 120 - bar
        y0, y1 = lpos[a], rpos[b]
        mid = (x0 + x1) / 2
        parts.append(f"<path class=\"flow\" d=\"M{x0},{y0:.1f} C{mid},{y0:.1f} {mid},{y1:.1f} {x1},{y1:.1f} "
                     f"L{x1},{y1 + h:.1f} C{mid},{y1 + h:.1f} {mid},{y0 + h:.1f} {x0},{y0 + h:.1f} Z\" "
                     f"fill=\"{COLOURS.get(b, '#999')}\" fill-opacity=\"0.45\"><title>{a} → {b}: {k}</title></path>")
        lpos[a] += h
        rpos[b] += h
    for side, pos, sums, x, anchor, tx in (("old", left, lsum, 120, "end", 114), ("new", right, rsum, width - 120 - bar,
                                                                                  "start", width - 114)):
        for o, y0 in pos.items():
            h = sums[o] * scale
            parts.append(f"<rect class=\"flow-node\" data-side=\"{side}\" x=\"{x}\" y=\"{y0:.1f}\" width=\"{bar}\" "
                         f"height=\"{max(h, 1):.1f}\" fill=\"{COLOURS.get(o, '#999')}\"/>")
            parts.append(f"<text x=\"{tx}\" y=\"{y0 + h / 2 + 4:.1f}\" text-anchor=\"{anchor}\">{o} {sums[o]}</text>")
    parts.append("</svg>")
    return "".join(parts)


def diff_html(r: DiffReport) -> str:
    body = [f"<h1>What changes from <code>{_e(r.old)}</code> to <code>{_e(r.new)}</code></h1>"]
    if r.rules_added or r.rules_removed:
        body.append(f"<p>Rules added: {_e(', '.join(r.rules_added) or 'none')}; removed: "
                    f"{_e(', '.join(r.rules_removed) or 'none')}.</p>")
    rows = "".join(f"<tr class=\"transition-row\"><td>{t.old} → {t.new}</td><td>{t.status}</td>"
                   f"<td>{_e(', '.join(t.rules))}</td><td>{_e(t.reason or '')}</td></tr>" for t in r.transitions)
    body.append("<h2>Every record, symbolically</h2><table><tr><th>change</th><th>possible?</th><th>rules</th>"
                "<th>why</th></tr>" + rows + "</table>")
    if r.corpus is not None:
        c = r.corpus
        body.append(f"<h2>On {c.records} records: {c.changed} changed</h2>{_flow(r)}")
        body.append("<table><tr><th>rule</th><th>now fires</th><th>no longer fires</th></tr>" + "".join(
            f"<tr><td>{_e(k)}</td><td class=\"n\">{v['added']}</td><td class=\"n\">{v['removed']}</td></tr>"
            for k, v in c.by_rule.items()) + "</table>")
    return _page(f"diff {r.old} → {r.new}", body)


__all__ = ["diff_html", "diff_text", "impact_html", "impact_text"]
