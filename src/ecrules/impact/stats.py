"""The statistics behind `ecrules impact`: rate ratios with intervals, and association of two columns.

Kept free of policies and records: plain counts and integer codes in, numbers out, so each formula
is tested on its own against known values.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

#: z for a two-sided 95% interval
Z95 = 1.959963984540054


@attrs.frozen
class RateRatio:
    """How much more often something happens to a group than to everyone else.

    `ratio` is rate(group) / rate(others); `low`/`high` bound it (Katz log interval). When a cell is
    zero, 0.5 is added to every cell (Haldane–Anscombe) so that the ratio and its interval stay
    finite; `corrected` says so.
    """

    hits: int
    n: int
    other_hits: int
    other_n: int
    ratio: float
    low: float
    high: float
    corrected: bool

    @property
    def rate(self) -> float:
        return self.hits / self.n if self.n else 0.0

    @property
    def other_rate(self) -> float:
        return self.other_hits / self.other_n if self.other_n else 0.0


def rate_ratio(hits: int, n: int, other_hits: int, other_n: int, z: float = Z95) -> RateRatio | None:
    """The rate ratio of `hits/n` against `other_hits/other_n`; None when either group is empty or
    nothing happened at all (a ratio of two zero rates says nothing)."""
    if n <= 0 or other_n <= 0 or hits + other_hits == 0:
        return None
    a, m, b, k = float(hits), float(n), float(other_hits), float(other_n)
    corrected = hits == 0 or other_hits == 0 or hits == n or other_hits == other_n
    if corrected:
        a, m, b, k = a + 0.5, m + 1.0, b + 0.5, k + 1.0
    ratio = (a / m) / (b / k)
    se = math.sqrt(max(0.0, 1 / a - 1 / m + 1 / b - 1 / k))
    return RateRatio(hits, n, other_hits, other_n, ratio, ratio * math.exp(-z * se), ratio * math.exp(z * se), corrected)


def cramers_v(x: np.ndarray, y: np.ndarray) -> float:
    """Bias-corrected Cramér's V (Bergsma 2013) of two integer-coded categorical columns.

    0 means no association, 1 means each value of one column determines the other. The
    correction keeps many rare categories from looking associated by chance.
    """
    n = len(x)
    if n < 2:
        return 0.0
    xs, xi = np.unique(x, return_inverse=True)
    ys, yi = np.unique(y, return_inverse=True)
    r, c = len(xs), len(ys)
    if r < 2 or c < 2:
        return 0.0
    table = np.bincount(xi * c + yi, minlength=r * c).reshape(r, c).astype(np.float64)
    expected = table.sum(axis=1, keepdims=True) @ table.sum(axis=0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    phi2 = chi2 / n
    phi2c = max(0.0, phi2 - (r - 1) * (c - 1) / (n - 1))
    rc = r - (r - 1) ** 2 / (n - 1)
    cc = c - (c - 1) ** 2 / (n - 1)
    denom = min(rc - 1, cc - 1)
    return math.sqrt(phi2c / denom) if denom > 0 else 0.0


def codes(values: list[object] | np.ndarray) -> np.ndarray:
    """Integer codes for a column of hashable values (None is a value of its own)."""
    index: dict[object, int] = {}
    return np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.int64, count=len(values))


__all__ = ["RateRatio", "Z95", "codes", "cramers_v", "rate_ratio"]
