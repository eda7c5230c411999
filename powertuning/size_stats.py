"""One measured size as the execution output's `stats` lists it (`SizeStats`), read tolerantly: the
reference tool's items carry only `value`, `averagePrice` and `averageDuration`, so a figure an item
lacks stays None; an output without `stats` gets its sizes from the visualization link.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from powertuning.errors import ResultFormatError
from powertuning.visualization import decode
from powertuning.wire import Keys, finite_number, read_keys, required, true_value, whole_number, written_keys

# A stats item's figures past the reference tool's three.
_FIGURES: Final[Keys] = (
    ("totalCost", "total_cost", finite_number),
    ("p50", "p50", finite_number),
    ("p90", "p90", finite_number),
    ("p95", "p95", finite_number),
    ("p99", "p99", finite_number),
    ("invocations", "invocations", whole_number),
    ("coldStarts", "cold_starts", whole_number),
    ("errors", "errors", whole_number),
    ("gbSeconds", "gb_seconds", finite_number),
    ("transitions", "transitions", whole_number),
    ("architecture", "architecture", str),
    # Input `coldStartRate` only (powertuning/cold_starts.py).
    ("warmPrice", "warm_price", finite_number),
    ("warmDuration", "warm_duration", finite_number),
    ("initDuration", "init_duration", finite_number),
    ("coldStartCost", "cold_start_cost", finite_number),
    ("coldStartDuration", "cold_start_duration", finite_number),
    ("initCost", "init_cost", finite_number),
    ("snapStartCacheCost", "snap_start_cache_cost", finite_number),
    ("snapStartCacheHourly", "snap_start_cache_hourly", finite_number),
    ("noColdStartSeen", "no_cold_start_seen", true_value),
    # Fixed sampling only (analysis.summarize).
    ("priceVariance", "price_variance", finite_number),
    ("durationVariance", "duration_variance", finite_number),
    ("keptInvocations", "kept_invocations", whole_number),
)


@dataclass(frozen=True)
class SizeStats:
    """One item of the output's `stats`: what the output says of one measured size; None where it
    does not say.

    The Analyzer writes the measured `SizeResult`s (size_result.py, the execution state's items) through
    their wire form, so an item is a `SizeResult` without its state-only keys (`samples`, `skipped`).
    """

    value: int
    average_price: float
    average_duration: float
    total_cost: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    invocations: int | None = None
    cold_starts: int | None = None
    errors: int | None = None
    gb_seconds: float | None = None
    transitions: int | None = None
    # Input `architectures`: which one this size was measured on.
    architecture: str | None = None
    # Input `coldStartRate`: warm and cold apart (averagePrice and averageDuration are then blended).
    warm_price: float | None = None
    warm_duration: float | None = None
    init_duration: float | None = None
    cold_start_cost: float | None = None
    cold_start_duration: float | None = None
    init_cost: float | None = None
    snap_start_cache_cost: float | None = None
    snap_start_cache_hourly: float | None = None
    # A rate was given but this size showed no cold start: priced warm (the CLI and report say so).
    no_cold_start_seen: bool | None = None
    # Fixed sampling: how noisy the averages are (size_result.NOISE_KEYS).
    price_variance: float | None = None
    duration_variance: float | None = None
    kept_invocations: int | None = None

    @property
    def has_percentiles(self) -> bool:
        """Whether p50 and p99 are both known (the chart's bar needs both)."""
        return self.p50 is not None and self.p99 is not None

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form; the first three keys are the reference tool's; unknown figures left out."""
        first = {
            "value": self.value,
            "averagePrice": self.average_price,
            "averageDuration": self.average_duration,
        }
        return first | written_keys(self, _FIGURES)

    @classmethod
    def from_dict(cls, item: Any) -> SizeStats:
        """Parse one item; keys it lacks stay None, unknown keys are ignored."""
        if not isinstance(item, Mapping):
            raise ResultFormatError(f"a stats item is a JSON object, got {type(item).__name__}")
        missing = [k for k in ("value", "averagePrice", "averageDuration") if k not in item]
        if missing:
            raise ResultFormatError(f"malformed execution output: a stats item has no {', '.join(missing)}")
        try:
            return cls(
                value=required(item, "value", whole_number),
                average_price=required(item, "averagePrice", finite_number),
                average_duration=required(item, "averageDuration", finite_number),
                **read_keys(item, _FIGURES),
            )
        except (TypeError, ValueError) as exc:
            raise ResultFormatError(f"malformed execution output: {exc}") from exc


def sizes_from_visualization(url: str) -> tuple[SizeStats, ...]:
    """Sizes, average durations and costs from a visualization link (an output without `stats`)."""
    if "#" not in url:
        return ()
    points = decode(url.split("#", 1)[1])
    # Float32 in the link: round back to the precision the tuner reports.
    return tuple(
        SizeStats(value=p.power, average_duration=round(p.duration, 2), average_price=p.cost)
        for p in sorted(points, key=lambda p: p.power)
    )
