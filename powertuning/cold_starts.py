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
A size with no cold start seen is priced warm and says so (`noColdStartSeen`); one with no warm
invocation, cold.

What a cold start costs depends on how the function starts (`ColdStartRate`, read by the Initializer
from the function's configuration):
- on demand: INIT billed (`pricing.cold_billed_ms`);
- SnapStart (`SnapStart.ApplyOn` "PublishedVersions"): no INIT per invocation (it runs when a version
  is published) but the Billed Restore Duration, and for Python and .NET the restoration charge per
  GB (`pricing.snap_start_price`); their cache charge accrues per second a version is cached, not per
  invocation, so it is in each size's cost only where the function's own traffic is known ("production":
  the window's cache cost over its invocations, `snapStartCacheCost`), else shown per hour
  (`snapStartCacheHourly`) and left out;
- provisioned concurrency on the tuned alias or version: INIT is billed when Lambda readies the
  provisioned environments, not per invocation, so a cold start is priced without it (its duration
  still counts in the blended duration).
"""

from __future__ import annotations

import calendar
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from powertuning import stats
from powertuning.logs import Report
from powertuning.pricing import LambdaPrice, SnapStartPrice, cold_billed_ms
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
    value: int,
    reports: Sequence[Report],
    price: LambdaPrice,
    discard_top_bottom: float,
    *,
    snap_start: SnapStartPrice | None = None,
    init_billed: bool = True,
) -> ColdFigures:
    """The warm figures (trimmed means of warm invocations) and cold ones (medians of cold ones).

    `snap_start`: SnapStart's restoration charge is added to each cold start; `init_billed` False
    (provisioned concurrency): a cold start is billed its Duration (and restore) only.
    """
    warm = [r for r in reports if not r.is_cold_start]
    cold = [r for r in reports if r.is_cold_start]
    restore = 0.0 if snap_start is None else snap_start.restore_cost(value)

    def billed(report: Report) -> float:
        return cold_billed_ms(report) if init_billed else _without_init(report)

    cold_costs = [price.invocation_cost(billed(r), value) + restore for r in cold]
    # The start-up alone: INIT, or SnapStart's billed restore and restoration charge.
    init_costs = [
        price.invocation_cost(billed(r), value)
        + restore
        - price.invocation_cost(max(1, math.ceil(r.duration_ms)), value)
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
    """The size's result carrying its warm and cold figures (its averages unchanged until `blend`);
    a size where no cold start was seen is flagged (`noColdStartSeen`), not silently priced warm."""
    return replace(
        result,
        no_cold_start_seen=True if figures.cold_start_cost is None else None,
        warm_price=figures.warm_price,
        warm_duration=figures.warm_duration,
        init_duration=figures.init_duration,
        cold_start_cost=figures.cold_start_cost,
        cold_start_duration=figures.cold_start_duration,
        init_cost=figures.init_cost,
    )


def blend(result: SizeResult, rate: float, cold_start: ColdStartRate | None = None) -> SizeResult:
    """The size's averages at a cold-start rate: (1 - rate) x warm + rate x cold, plus SnapStart's
    cache charge per invocation where the function's own traffic is known.

    A result without warm figures (skipped, or measured without a rate) is returned as it is.
    """
    if result.skipped or result.warm_price is None or result.warm_duration is None:
        return result
    cold_price = result.warm_price if result.cold_start_cost is None else result.cold_start_cost
    cold_duration = result.warm_duration if result.cold_start_duration is None else result.cold_start_duration
    cache = None if cold_start is None else cold_start.cache_cost(result.value)
    hourly = None if cold_start is None or cache is not None else cold_start.cache_hourly(result.value)
    return replace(
        result,
        average_price=(1 - rate) * result.warm_price + rate * cold_price + (cache or 0.0),
        average_duration=(1 - rate) * result.warm_duration + rate * cold_duration,
        snap_start_cache_cost=cache,
        snap_start_cache_hourly=hourly,
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
    # SnapStart on the versions the run publishes: the runtime family and its charges.
    snap_start: str | None = None
    snap_start_price: SnapStartPrice | None = None
    # Provisioned concurrency: the function's qualifiers that have it, and whether the tuned one does
    # (then INIT is billed when environments are readied, not per invocation).
    provisioned: tuple[str, ...] = ()
    provisioned_tuned: bool = False

    @property
    def init_billed(self) -> bool:
        """Whether a cold start pays its INIT per invocation (not on provisioned concurrency)."""
        return not self.provisioned_tuned

    @property
    def priced(self) -> str:
        """What one cold start's cost (`coldStartCost`) holds, in words: the output's `coldStart.priced`."""
        if self.provisioned_tuned:
            return (
                f"Duration only: INIT is billed by provisioned concurrency on {', '.join(self.provisioned)} "
                "when Lambda readies its environments, not per invocation"
            )
        if self.snap_start is None:
            return "Billed Duration with INIT, as AWS bills on-demand functions since 1 August 2025"
        charges = self.snap_start_price or SnapStartPrice()
        if not charges.restore_gb:
            return (
                f"Billed Duration + Billed Restore Duration (SnapStart, {self.snap_start}: no other charge)"
            )
        cache = (
            "in each size's cost over the production window (snapStartCacheCost)"
            if self._cache_window_s is not None
            else "not in the cost: it accrues per second a version is cached, not per invocation "
            '(snapStartCacheHourly; coldStartRate "production" spreads it over the function\'s own '
            "invocations)"
        )
        return (
            f"Billed Duration + Billed Restore Duration + SnapStart restoration ({self.snap_start}) "
            f"{charges.restore_gb} per GB; cache {charges.cache_gb_second} per GB-second {cache}"
        )

    @property
    def _cache_window_s(self) -> float | None:
        # The production window, when its invocations are known: the cache cost spreads over them.
        if self.start is None or self.end is None or not self.invocations:
            return None
        return _epoch(self.end) - _epoch(self.start)

    def cache_cost(self, memory_mb: int) -> float | None:
        """SnapStart's cache charge per invocation at this size (None when not charged or not known)."""
        window = self._cache_window_s
        price = self.snap_start_price
        if price is None or not price.cache_gb_second or window is None or not self.invocations:
            return None
        return price.cache_cost(memory_mb, window) / self.invocations

    def cache_hourly(self, memory_mb: int) -> float | None:
        """SnapStart's cache charge for one version at this size for an hour (None when not charged)."""
        price = self.snap_start_price
        if price is None or not price.cache_gb_second:
            return None
        return price.cache_cost(memory_mb, 3600)

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form; the production figures only when read from the logs, SnapStart and
        provisioned concurrency only when the function has them."""
        out: dict[str, Any] = {"rate": self.rate, "source": self.source}
        if self.source == "production":
            out |= {
                "logGroup": self.log_group,
                "window": {"start": self.start, "end": self.end},
                "invocations": self.invocations,
                "coldStarts": self.cold_starts,
            }
        if self.snap_start is not None:
            price = self.snap_start_price or SnapStartPrice()
            out["snapStart"] = {
                "runtime": self.snap_start,
                "restorePerGb": price.restore_gb,
                "cachePerGbSecond": price.cache_gb_second,
            }
        if self.provisioned:
            out["provisionedConcurrency"] = {
                "qualifiers": list(self.provisioned),
                "initBilledPerInvocation": self.init_billed,
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
        snap, provisioned = data.get("snapStart"), data.get("provisionedConcurrency") or {}
        return cls(
            rate=float(rate),
            source=str(data.get("source", "input")),
            log_group=None if data.get("logGroup") is None else str(data["logGroup"]),
            start=None if window.get("start") is None else str(window["start"]),
            end=None if window.get("end") is None else str(window["end"]),
            invocations=None if invocations is None else int(invocations),
            cold_starts=None if cold is None else int(cold),
            snap_start=None if snap is None else str(snap["runtime"]),
            snap_start_price=None
            if snap is None
            else SnapStartPrice(float(snap["restorePerGb"]), float(snap["cachePerGbSecond"])),
            provisioned=tuple(str(q) for q in provisioned.get("qualifiers", ())),
            provisioned_tuned=provisioned.get("initBilledPerInvocation") is False,
        )


def _epoch(iso: str) -> float:
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))
