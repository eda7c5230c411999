"""Estimators of measured values: the trimming rule, trimmed means, Yuen's standard error, Student's t.

Pure Python (the Lambda asset has no numpy).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass


def trim_count(n: int, discard_top_bottom: float, keep: int = 1) -> int:
    """How many values go from each end of `n`: floor(n x fraction), as aws-lambda-power-tuning.

    At least `keep` values always stay (fewer only when there are fewer than `keep`).
    """
    cut = math.floor(n * discard_top_bottom)
    if n - 2 * cut < keep:
        cut = max(0, (n - keep) // 2)
    return cut


def trimmed(values: Sequence[float], discard_top_bottom: float) -> list[float]:
    """Sorted values without the lowest and highest `discard_top_bottom` fraction of each end.

    Same rule as aws-lambda-power-tuning: floor(n x fraction) values go from each end, and at
    least one value always stays.
    """
    ordered = sorted(values)
    n = len(ordered)
    cut = trim_count(n, discard_top_bottom, keep=0)
    return ordered[cut : n - cut] or ordered[n // 2 : n // 2 + 1]


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean; 0 for no values."""
    return sum(values) / len(values) if values else 0.0


def trimmed_mean(values: Sequence[float], discard_top_bottom: float) -> float:
    """Mean after discarding the top and bottom fraction of the values."""
    return mean(trimmed(values, discard_top_bottom))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class TrimmedEstimate:
    """A trimmed mean with Yuen's squared standard error and its degrees of freedom."""

    mean: float
    variance: float
    df: float
    count: int
    kept: int


def yuen(values: Sequence[float], discard_top_bottom: float) -> TrimmedEstimate:
    """The trimmed mean of `values` (at least two kept) and Yuen's (1974) squared standard error.

    Yuen: (n-1) s_w^2 / (h (h-1)), where s_w is the standard deviation of the winsorized sample and
    h the number of values kept; h - 1 degrees of freedom.
    """
    ordered = sorted(values)
    n = len(ordered)
    cut = trim_count(n, discard_top_bottom, keep=2)
    kept = ordered[cut : n - cut]
    h = len(kept)
    centre = sum(kept) / h
    if h < 2:
        return TrimmedEstimate(centre, math.inf, 0.0, n, h)
    winsorized = [ordered[cut]] * cut + kept + [ordered[n - cut - 1]] * cut
    w_mean = sum(winsorized) / n
    s2 = sum((x - w_mean) ** 2 for x in winsorized) / (n - 1)
    return TrimmedEstimate(centre, (n - 1) * s2 / (h * (h - 1)), float(h - 1), n, h)


def welch_df(var_a: float, df_a: float, var_b: float, df_b: float) -> float:
    """Welch-Satterthwaite degrees of freedom of a difference of two means (at least 1)."""
    if df_a <= 0 or df_b <= 0:
        return 1.0
    num = (var_a + var_b) ** 2
    den = var_a**2 / df_a + var_b**2 / df_b
    return max(1.0, num / den) if den > 0 else min(df_a, df_b)


def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t distribution (df rounded down to 0.1: slightly conservative, cacheable)."""
    return _t_quantile(p, math.floor(df * 10) / 10)


@functools.lru_cache(maxsize=4096)
def _t_quantile(p: float, df: float) -> float:
    # Bisection on the CDF, which comes from the regularized incomplete beta function.
    if df <= 0:
        return math.inf
    low, high = -1e4, 1e4
    for _ in range(200):
        mid = (low + high) / 2
        if _t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-10:
            break
    return (low + high) / 2


def _t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _betainc(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t > 0 else tail


def _betainc(a: float, b: float, x: float) -> float:
    # Regularized incomplete beta I_x(a, b) by Lentz's continued fraction (Numerical Recipes 6.4).
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x > (a + 1) / (a + b + 2):
        return 1 - _betainc(b, a, 1 - x)
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < 1e-14:
            break
    return front * h / a
