"""Cold starts priced at a rate (input `coldStartRate`): each size's warm and cold figures apart, and
the blended cost `(1 - rate) x warm + rate x cold` the strategies compare.

Without a rate none of this runs: a size's figures are the reference tool's (its cold start trimmed
away with the slowest invocations), and the output is unchanged.

With a rate, the Executor measures each size's cold starts (one per fresh version: `RAM<size>`, or
`RAM<size>-<i>` with `coldStartsPerSize`) apart from its warm invocations (`cold_figures`); the
Analyzer blends them at the run's rate (`blend`):
- warm: the trimmed means of the warm invocations only (price trimmed on its own, as always);
- cold: the median of the cold invocations, their cost with INIT billed as AWS bills on-demand
  functions since 1 August 2025 (`pricing.cold_billed_ms`); `initDuration` the median Init Duration;
- blended: `averagePrice` = (1 - rate) x warmPrice + rate x coldStartCost, `averageDuration` the same
  blend of warmDuration and coldStartDuration; so the strategies, the latency target (statistic
  "average") and the visualization all use it. Percentiles stay those of every invocation measured.
A size with no cold start seen is priced warm; one with no warm invocation, cold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from powertuning import stats
from powertuning.logs import Report
from powertuning.pricing import LambdaPrice, cold_billed_ms
from powertuning.size_result import SizeResult

# What the output's `coldStart.pricing` says each size's averagePrice and averageDuration are.
BLENDED = "(1 - rate) x warm + rate x cold"


@dataclass(frozen=True)
class ColdFigures:
    """One size's warm and cold figures, measured apart."""

    warm_price: float
    warm_duration: float
    init_duration: float | None = None
    cold_start_cost: float | None = None
    cold_start_duration: float | None = None
    # What the INIT of one cold start costs on its own (its billed ms at this size).
    init_cost: float | None = None


def cold_figures(
    value: int, reports: Sequence[Report], price: LambdaPrice, discard_top_bottom: float
) -> ColdFigures:
    """The warm figures (trimmed means of warm invocations) and cold ones (medians of cold ones)."""
    warm = [r for r in reports if not r.is_cold_start]
    cold = [r for r in reports if r.is_cold_start]
    cold_costs = [price.invocation_cost(cold_billed_ms(r), value) for r in cold]
    init_costs = [
        price.invocation_cost(cold_billed_ms(r), value) - price.invocation_cost(_without_init(r), value)
        for r in cold
    ]
    cold_durations = [r.measured_duration_ms for r in cold]
    basis = warm or cold
    return ColdFigures(
        warm_price=stats.trimmed_mean(
            [price.invocation_cost(r.billed_total_ms, value) for r in basis], discard_top_bottom
        ),
        warm_duration=stats.trimmed_mean([r.measured_duration_ms for r in basis], discard_top_bottom),
        init_duration=stats.percentile([r.init_duration_ms for r in cold], 50) if cold else None,
        cold_start_cost=stats.percentile(cold_costs, 50) if cold else None,
        cold_start_duration=stats.percentile(cold_durations, 50) if cold else None,
        init_cost=stats.percentile(init_costs, 50) if cold else None,
    )


def _without_init(report: Report) -> float:
    # The billed ms of the same invocation had it been warm: its Duration, rounded up, plus restore.
    return max(1, math.ceil(report.duration_ms)) + report.billed_restore_duration_ms


def with_cold_figures(result: SizeResult, figures: ColdFigures) -> SizeResult:
    """The size's result carrying its warm and cold figures (its averages unchanged until `blend`)."""
    return replace(
        result,
        warm_price=figures.warm_price,
        warm_duration=figures.warm_duration,
        init_duration=figures.init_duration,
        cold_start_cost=figures.cold_start_cost,
        cold_start_duration=figures.cold_start_duration,
        init_cost=figures.init_cost,
    )


def blend(result: SizeResult, rate: float) -> SizeResult:
    """The size's averages at a cold-start rate: (1 - rate) x warm + rate x cold.

    A result without warm figures (skipped, or measured without a rate) is returned as it is.
    """
    if result.skipped or result.warm_price is None or result.warm_duration is None:
        return result
    cold_price = result.warm_price if result.cold_start_cost is None else result.cold_start_cost
    cold_duration = result.warm_duration if result.cold_start_duration is None else result.cold_start_duration
    return replace(
        result,
        average_price=(1 - rate) * result.warm_price + rate * cold_price,
        average_duration=(1 - rate) * result.warm_duration + rate * cold_duration,
        # The blend's noise is not the warm invocations' alone: unknown.
        price_variance=None,
        duration_variance=None,
        kept_invocations=None,
    )


def init_share(result: SizeResult, rate: float) -> float | None:
    """The share of a size's blended cost that is INIT at this rate (None without cold figures)."""
    if result.init_cost is None or not result.average_price:
        return None
    return rate * result.init_cost / result.average_price


@dataclass(frozen=True)
class ColdStartRate:
    """The rate a run prices cold starts at: the input's number, or the function's own ("production").

    `$.run.coldStart` (written by the Initializer) and the output's `coldStart`.
    """

    rate: float
    source: str = "input"
    # "production": what the log group said, over which window (ISO 8601, UTC).
    log_group: str | None = None
    start: str | None = None
    end: str | None = None
    invocations: int | None = None
    cold_starts: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form; the production figures only when read from the logs."""
        out: dict[str, Any] = {"rate": self.rate, "source": self.source}
        if self.source == "production":
            out |= {
                "logGroup": self.log_group,
                "window": {"start": self.start, "end": self.end},
                "invocations": self.invocations,
                "coldStarts": self.cold_starts,
            }
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColdStartRate:
        """Parse the wire form (the tuner's own, or a saved output: ValueError when it is not one)."""
        rate = data.get("rate")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ValueError(f"coldStart.rate must be a number from 0 to 1, got {rate!r}")
        window = data.get("window") or {}
        invocations, cold = data.get("invocations"), data.get("coldStarts")
        return cls(
            rate=float(rate),
            source=str(data.get("source", "input")),
            log_group=None if data.get("logGroup") is None else str(data["logGroup"]),
            start=None if window.get("start") is None else str(window["start"]),
            end=None if window.get("end") is None else str(window["end"]),
            invocations=None if invocations is None else int(invocations),
            cold_starts=None if cold is None else int(cold),
        )
