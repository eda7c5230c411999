"""Summary statistics of measured durations: trimmed mean and percentiles."""

from __future__ import annotations

import math
from collections.abc import Sequence


def trimmed(values: Sequence[float], discard_top_bottom: float) -> list[float]:
    """Sorted values without the lowest and highest `discard_top_bottom` fraction of each end.

    Same rule as aws-lambda-power-tuning: floor(n x fraction) values go from each end, and at
    least one value always stays.
    """
    ordered = sorted(values)
    cut = math.floor(len(ordered) * discard_top_bottom)
    kept = ordered[cut : len(ordered) - cut] if cut else ordered
    return kept or ordered[len(ordered) // 2 : len(ordered) // 2 + 1]


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
