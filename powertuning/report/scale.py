"""Axis arithmetic for the inline SVG chart: round tick values and their labels."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from powertuning.size_stats import SizeStats

_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)
# A p99 past this many times the curve's highest average or p90 is an outlier the axis does not reach.
OUTLIER_FACTOR = 1.5


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round, evenly spaced values covering [low, high]."""
    if not math.isfinite(low) or not math.isfinite(high):
        raise ValueError(f"axis bounds must be finite, got {low}, {high}")
    if high < low:
        low, high = high, low
    if high == low:
        # A flat series still gets an axis around its value.
        pad = abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in _STEPS if m * magnitude >= raw * (1 - 1e-9))
    start = math.floor(low / step + 1e-9) * step
    end = math.ceil(high / step - 1e-9) * step
    n = round((end - start) / step)
    return [_clean(start + i * step) for i in range(n + 1)]


def _clean(value: float) -> float:
    # 0.30000000000000004 -> 0.3: tick labels are built from these values.
    return float(f"{value:.12g}")


def decimals_for(ticks: Sequence[float]) -> int:
    """The fewest decimals that tell every tick apart exactly."""
    for places in range(0, 10):
        if all(abs(round(t, places) - t) < 1e-9 * max(1.0, abs(t)) for t in ticks):
            return places
    return 10


@dataclass(frozen=True)
class Linear:
    """Maps data values in [low, high] to pixels in [start, end] (end < start for a y axis)."""

    low: float
    high: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        """The pixel of a value."""
        span = self.high - self.low or 1.0
        return self.start + (value - self.low) / span * (self.end - self.start)


def label_every(count: int, room: int = 14) -> int:
    """Label one category in this many so that at most about `room` labels fit."""
    return max(1, math.ceil(count / room))


def duration_reach(sizes: Iterable[SizeStats]) -> float:
    """The highest duration the chart's axis must show: each size's average (and warm average) and
    p90, the curve a reader compares, and the p99s within `OUTLIER_FACTOR` of that.

    A p99 further out is, with a few invocations per size, usually one cold start, whose INIT would
    squash the curve into the bottom of the chart: it is drawn as an outlier marker instead.
    """
    listed = list(sizes)
    curve = max((max(s.average_duration, s.warm_duration or 0.0, s.p90 or 0.0) for s in listed), default=0.0)
    tails = [s.p99 for s in listed if s.p99 is not None and s.p99 <= curve * OUTLIER_FACTOR]
    return max([curve, *tails])
