"""One function's duration at one size as a distribution the Monte Carlo model draws from.

A child tuning does not return its raw samples: each `stats` item carries the trimmed mean
(`averageDuration`, trimmed by `discardTopBottom`) and the p50, p90, p95 and p99 of the invocations'
durations (Duration + Init + Restore, as the tuner measures them). The distribution is the inverse
CDF through those quantiles:

- linear between the knots (0, q0), (0.5, p50), (0.9, p90), (0.95, p95), (0.99, p99);
- above p99 an exponential tail, Q(p) = p99 + s ln(0.01 / (1 - p)), with the scale s the p95..p99
  spacing implies for an exponential (s = (p99 - p95) / ln 5): a long tail, unbounded, its mean
  p99 + s above p99, rather than a maximum nobody measured;
- the lowest knot q0 (no minimum is reported) solved so the distribution's mean over the same
  trimmed range [d, 1 - d] equals `averageDuration`: the mean is matched where the tuner measured
  it. q0 is kept within [0, p50]; when that cannot match the mean (a very skewed body), the knots win.

An item without percentiles (the reference tool's three keys only) is a constant at averageDuration.
A state whose time the history showed (a skipped function) is an empirical distribution of those
samples. Pure Python: the solver runs in a Lambda function whose runtime has no numpy.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from powertuning.size_stats import SizeStats

LEVELS: Final = (0.0, 0.5, 0.9, 0.95, 0.99)
TAIL_LEVEL: Final = 0.99
_LN5: Final = math.log(5.0)


@dataclass(frozen=True)
class Duration:
    """An inverse CDF: quantile knots at LEVELS plus an exponential tail of scale `tail_ms`, or, with
    `samples`, the empirical distribution of those samples."""

    knots: tuple[float, ...] = (0.0,) * len(LEVELS)
    tail_ms: float = 0.0
    samples: tuple[float, ...] = ()

    @classmethod
    def constant(cls, ms: float) -> Duration:
        """Always `ms`."""
        return cls((ms,) * len(LEVELS), 0.0)

    @classmethod
    def empirical(cls, samples: Sequence[float]) -> Duration:
        """Resampled from `samples` (each equally likely)."""
        if not samples:
            raise ValueError("an empirical duration needs at least one sample")
        return cls(samples=tuple(sorted(float(s) for s in samples)))

    @classmethod
    def from_stats(cls, item: SizeStats, discard_top_bottom: float = 0.2) -> Duration:
        """The distribution of one stats item (see the module docstring)."""
        if item.p50 is None or item.p90 is None or item.p95 is None or item.p99 is None:
            return cls.constant(item.average_duration)
        upper = [item.p50, item.p90, item.p95, item.p99]
        for i in range(1, len(upper)):  # rounding in a hand-edited file must not make Q decrease
            upper[i] = max(upper[i], upper[i - 1])
        tail = (upper[3] - upper[2]) / _LN5
        d = min(max(discard_top_bottom, 0.0), 0.49)
        # The trimmed mean is linear in q0: with q0 = 0 it is `base`, and q0's hat function adds
        # (0.5 - d)^2 / (1 - 2d) per ms of q0 (integral of 1 - 2p over [d, 0.5]).
        base = cls((0.0, *upper), tail).integral(d, 1 - d) / (1 - 2 * d)
        per_ms = (0.5 - d) ** 2 / (1 - 2 * d)
        q0 = min(max((item.average_duration - base) / per_ms, 0.0), upper[0])
        return cls((q0, *upper), tail)

    def quantile(self, p: float) -> float:
        """Q(p) for 0 <= p < 1."""
        if self.samples:
            return self.samples[min(int(p * len(self.samples)), len(self.samples) - 1)]
        segment, t = segment_of(p)
        return self.at(segment, t)

    def at(self, segment: int, t: float) -> float:
        """Q at a position from `segment_of` (the same for every size: the levels are shared)."""
        k = self.knots
        if segment < len(LEVELS) - 1:
            return k[segment] + t * (k[segment + 1] - k[segment])
        return k[-1] + t * self.tail_ms

    def values(self, us: Sequence[float], segments: Sequence[tuple[int, float]]) -> list[float]:
        """Q at every draw: `us` the uniforms, `segments` their segment_of (computed once per draw)."""
        if self.samples:
            n = len(self.samples)
            return [self.samples[min(int(u * n), n - 1)] for u in us]
        k, s = self.knots, self.tail_ms
        # Q = a[j] + t * b[j] per segment j, the tail's "t" being ln(0.01 / (1 - u)).
        b = (*tuple(k[j + 1] - k[j] for j in range(len(k) - 1)), s)
        return [k[j] + t * b[j] for j, t in segments]

    def integral(self, lo: float, hi: float) -> float:
        """The integral of Q over [lo, hi] (0 <= lo <= hi <= 1)."""
        if self.samples:
            n = len(self.samples)
            return sum(
                v * max(0.0, min(hi, (i + 1) / n) - max(lo, i / n)) for i, v in enumerate(self.samples)
            )
        total = 0.0
        for j in range(len(LEVELS) - 1):
            a, b = max(lo, LEVELS[j]), min(hi, LEVELS[j + 1])
            if a < b:
                total += (b - a) * (self.quantile_linear(j, a) + self.quantile_linear(j, b)) / 2
        if hi > TAIL_LEVEL:
            a = max(lo, TAIL_LEVEL)
            # The antiderivative of ln(0.01 / x) is x ln(0.01 / x) + x, with x = 1 - p.
            total += (hi - a) * self.knots[-1] + self.tail_ms * (
                _tail_antiderivative(1 - a) - _tail_antiderivative(1 - hi)
            )
        return total

    def quantile_linear(self, segment: int, p: float) -> float:
        """Q on a linear segment at level p."""
        lo, hi = LEVELS[segment], LEVELS[segment + 1]
        return self.at(segment, (p - lo) / (hi - lo))

    def mean(self) -> float:
        """The distribution's mean (ms)."""
        return self.integral(0.0, 1.0)

    def dominated_by(self, other: Duration) -> bool:
        """Whether `other` is at least as fast at every quantile (so, with the same draws, at every
        draw): true only for two quantile distributions."""
        if self.samples or other.samples:
            return False
        return (
            all(o <= s for o, s in zip(other.knots, self.knots, strict=True))
            and other.tail_ms <= self.tail_ms
        )

    def blend(self, other: Duration, weight: float) -> Duration:
        """The quantile-wise interpolation (1 - weight) x self + weight x other."""
        if self.samples or other.samples:
            raise ValueError("only quantile distributions blend")
        knots = tuple(a + (b - a) * weight for a, b in zip(self.knots, other.knots, strict=True))
        return Duration(knots, self.tail_ms + (other.tail_ms - self.tail_ms) * weight)


def _tail_antiderivative(x: float) -> float:
    return 0.0 if x <= 0 else x * math.log(0.01 / x) + x


def segments_of(us: Sequence[float]) -> list[tuple[int, float]]:
    """segment_of for every draw (bisect on the levels: the simulation's set-up draws many)."""
    last = len(LEVELS) - 1
    widths = [LEVELS[j + 1] - LEVELS[j] for j in range(last)]
    out = []
    for u in us:
        j = bisect_right(LEVELS, u) - 1
        if j >= last:
            out.append((last, math.log(0.01 / max(1 - u, 1e-12))))
        else:
            out.append((j, (u - LEVELS[j]) / widths[j]))
    return out


def segment_of(u: float) -> tuple[int, float]:
    """Which segment of the inverse CDF a uniform falls in, and its position there."""
    if u >= TAIL_LEVEL:
        return len(LEVELS) - 1, math.log(0.01 / max(1 - u, 1e-12))
    for j in range(len(LEVELS) - 2, -1, -1):
        if u >= LEVELS[j]:
            return j, (u - LEVELS[j]) / (LEVELS[j + 1] - LEVELS[j])
    return 0, 0.0
