"""Each size's estimated objective, from its own samples and the spread pooled over every size.

Each invocation gets its objective (its cost, its duration, or its balanced score); a size's
estimate is the same `discardTopBottom` trimmed mean the Analyzer reports, with Yuen's standard
error (`stats.yuen`), so heavy tails neither drag the estimate nor make it look surer than it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from powertuning import samples as sample_store
from powertuning import stats
from powertuning.adaptive.state import AdaptiveState, RaceSettings
from powertuning.pricing import LambdaPrice
from powertuning.samples import Sample


@dataclass(frozen=True)
class Estimate:
    """A size's estimated objective: trimmed mean, Yuen's squared standard error, degrees of freedom."""

    value: int
    mean: float
    variance: float
    df: float
    count: int
    kept: int


def kept_samples(samples: Sequence[Sample]) -> list[Sample]:
    """The samples a size is judged on: all but a cold first invocation (unless all are cold).

    A freshly published version always starts cold; later cold starts are the function's own.
    """
    if len(samples) > 1 and samples[0][2] > 0 and any(s[2] <= 0 for s in samples):
        return list(samples[1:])
    return list(samples)


def cost(sample: Sample, value: int, price: LambdaPrice) -> float:
    """One invocation's cost: billed duration and the request fee."""
    return price.invocation_cost(sample[1], value)


def duration(sample: Sample) -> float:
    """Duration + Init + Restore Duration: `Report.measured_duration_ms`, the Analyzer's figure."""
    return sample[0] + sample[2]


def objective_values(
    value: int, samples: Sequence[Sample], settings: RaceSettings, norms: tuple[float, float]
) -> list[float]:
    """The strategy's objective of every invocation (weighted samples expanded)."""
    every = sample_store.expand(samples)
    if settings.strategy == "cost":
        return [cost(s, value, settings.price) for s in every]
    if settings.strategy == "speed":
        return [duration(s) for s in every]
    # aws-lambda-power-tuning's balanced score, per invocation: linear, so its mean is the score.
    max_cost, max_duration = norms
    weight = settings.balanced_weight
    return [
        weight * (cost(s, value, settings.price) / max_cost if max_cost else 0.0)
        + (1 - weight) * (duration(s) / max_duration if max_duration else 0.0)
        for s in every
    ]


def trimmed_estimate(value: int, values: Sequence[float], gamma: float) -> Estimate:
    """`stats.yuen` of one size's values."""
    e = stats.yuen(values, gamma)
    return Estimate(value, e.mean, e.variance, e.df, e.count, e.kept)


def norms(state: AdaptiveState, settings: RaceSettings) -> tuple[float, float]:
    """Normalisers of the balanced score: the largest mean cost and duration measured (as `choose`)."""
    costs, durations = [], []
    for size in state.sizes:
        kept = sample_store.expand(kept_samples(size.samples))
        if kept and not size.skipped:
            gamma = settings.discard_top_bottom
            costs.append(stats.yuen([cost(s, size.value, settings.price) for s in kept], gamma).mean)
            durations.append(stats.yuen([duration(s) for s in kept], gamma).mean)
    return (max(costs, default=0.0), max(durations, default=0.0))


def own_estimates(state: AdaptiveState, settings: RaceSettings) -> dict[int, Estimate]:
    """Every measured size's estimate from its own samples alone."""
    scale = norms(state, settings)
    own: dict[int, Estimate] = {}
    for size in state.sizes:
        kept = kept_samples(size.samples)
        if kept and not size.skipped:
            values = objective_values(size.value, kept, settings, scale)
            own[size.value] = trimmed_estimate(size.value, values, settings.discard_top_bottom)
    return own


def pooled_relative_variance(own: dict[int, Estimate]) -> tuple[float, float]:
    """The relative variance of one invocation, pooled over sizes, and its degrees of freedom."""
    pool = [(e.df, e.variance * e.kept / e.mean**2) for e in own.values() if e.df > 0 and e.mean > 0]
    pooled_df = sum(df for df, _ in pool)
    relative = sum(df * v for df, v in pool) / pooled_df if pooled_df else math.inf
    return relative, pooled_df


def estimates(state: AdaptiveState, settings: RaceSettings) -> dict[int, Estimate]:
    """Estimated objective of every candidate with samples (lower is better).

    The spread is pooled: the relative variance of one invocation, averaged over every measured
    size weighted by degrees of freedom (a pooled-variance t test on the relative scale, since
    durations vary multiplicatively), so two or three samples per size already carry the degrees
    of freedom of all of them. A size whose own spread is larger (a heavier tail, or an outlier
    among few samples) keeps its own spread and its own degrees of freedom (Welch): it is never
    judged surer than its own samples allow.
    """
    own = own_estimates(state, settings)
    relative, pooled_df = pooled_relative_variance(own)
    out = {}
    for value in state.candidates:
        if value in own:
            e = own[value]
            pooled = relative * e.mean**2 / e.kept
            out[value] = replace(e, variance=pooled, df=pooled_df) if pooled >= e.variance else e
    return out


def robust_count(settings: RaceSettings) -> int:
    """Fewest values at which the trimmed mean sets aside one value at each end (5 at the default 0.2)."""
    gamma = settings.discard_top_bottom
    return max(2, math.ceil(1 / gamma - 1e-9)) if gamma > 0 else 2


def guarded(state: AdaptiveState, settings: RaceSettings, e: Estimate, *, drop_largest: bool) -> Estimate:
    """`e` without its most favourable value for the other side, while the trim cannot set one aside yet.

    With fewer values than `robust_count` the trimmed mean is a plain mean, and one invocation from a
    heavy tail or a second mode among two or three can make a faster size look slower by more than
    a t test allows for. A size is then dropped only if it would be even without its largest value,
    against a leader without its smallest: what the trim does once it can.
    """
    if e.count >= robust_count(settings) or e.count < 2:
        return e
    size = state.size(e.value)
    values = sorted(objective_values(e.value, kept_samples(size.samples), settings, norms(state, settings)))
    rest = values[:-1] if drop_largest else values[1:]
    mean = sum(rest) / len(rest)
    return replace(e, mean=mean, variance=e.variance * len(values) / len(rest))


def best_estimate(est: Iterable[Estimate]) -> Estimate:
    """The best estimate (lower is better; ties to the smaller size)."""
    return min(est, key=lambda e: (e.mean, e.value))


def welch_df(a: Estimate, b: Estimate) -> float:
    """Welch-Satterthwaite degrees of freedom of the difference of two estimates."""
    return stats.welch_df(a.variance, a.df, b.variance, b.df)


def lower_bound(a: Estimate, b: Estimate, level: float) -> float | None:
    """One-sided Student-t lower bound of a - b at `level`; None when either has too few samples."""
    variance = a.variance + b.variance
    if not math.isfinite(variance):
        return None
    return a.mean - b.mean - stats.t_quantile(level, welch_df(a, b)) * math.sqrt(variance)


def surely_worse(a: Estimate, b: Estimate, settings: RaceSettings) -> bool:
    """a is worse than b by more than the tolerance, at the chosen confidence."""
    lower = lower_bound(a, b, settings.confidence)
    return lower is not None and lower > settings.tolerance * b.mean


def surely_within(a: Estimate, b: Estimate, settings: RaceSettings) -> bool:
    """a is worse than b by less than the tolerance (or better), at the chosen confidence."""
    lower = lower_bound(b, a, settings.confidence)
    return lower is not None and lower > -settings.tolerance * b.mean
