"""Impact of a policy on a population, and what a change to a policy changes (docs/impact.md).

    report = ecrules.impact(policy, "orders.parquet")     # -> ImpactReport
    report.flagged, report.flagged_proxies, report.to_dict(), report.decisions (Arrow)
    change = ecrules.diff(old, new, "orders.parquet")     # -> DiffReport
    change.transitions, change.corpus.changes (Arrow)
"""

from __future__ import annotations

from typing import Any

from ..policy import Policy
from .analysis import Disparity, ImpactReport, Proxy, Thresholds, analyse
from .diff import CorpusDiff, DiffReport, Transition
from .diff import diff as _diff


def impact(policy: Policy, table: Any, *, thresholds: Thresholds | None = None, engine: str = "auto") -> ImpactReport:
    """Decide `table` (a path, Arrow table, DataFrame or list of records) and measure the impact."""
    return analyse(policy, table, thresholds=thresholds, engine=engine)


def diff(old: Policy, new: Policy, table: Any = None, *, timeout: float = 5.0, deadline: float = 60.0) -> DiffReport:
    """What changes from `old` to `new`: symbolically, and on `table` when given."""
    return _diff(old, new, table, timeout=timeout, deadline=deadline)


__all__ = ["CorpusDiff", "DiffReport", "Disparity", "ImpactReport", "Proxy", "Thresholds", "Transition", "diff",
           "impact"]
