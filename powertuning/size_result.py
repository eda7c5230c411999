"""What the Executor measured at one memory size: `SizeResult`, the items of `$.results` and `$.round`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from powertuning import samples as sample_store
from powertuning.samples import Sample


@dataclass(frozen=True)
class SizeResult:
    """What the Executor measured at one memory size.

    The items of `$.results` (fixed sampling) and of `$.round` (an adaptive batch, with its samples);
    the output's `stats` items (`size_stats.SizeStats`, `$.analysis.stats`: there is no `$.stats` path)
    are their wire form without the state-only keys.
    """

    value: int
    average_price: float = 0.0
    average_duration: float = 0.0
    total_cost: float = 0.0
    p50: float = 0.0
    p90: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    invocations: int = 0
    cold_starts: int = 0
    errors: int = 0
    gb_seconds: float = 0.0
    transitions: int = 1
    skipped: bool = False
    reason: str | None = None
    # Adaptive rounds only: (duration, billed, init[, weight]) ms of the invocations, for the
    # decision step (powertuning/samples.py).
    samples: tuple[Sample, ...] = ()
    # Input `architectures`: which one this size was measured on (None: the function's own only).
    architecture: str | None = None
    # Input `coldStartRate` only (powertuning/cold_starts.py): the warm invocations' trimmed means,
    # the cold ones' medians (INIT billed), and what one cold start's INIT costs on its own.
    warm_price: float | None = None
    warm_duration: float | None = None
    init_duration: float | None = None
    cold_start_cost: float | None = None
    cold_start_duration: float | None = None
    init_cost: float | None = None
    # SnapStart on Python/.NET: its cache charge per invocation (in averagePrice, production rate) or
    # for an hour of one version (not in it); True when no cold start was seen at a rate (priced warm).
    snap_start_cache_cost: float | None = None
    snap_start_cache_hourly: float | None = None
    no_cold_start_seen: bool | None = None
    # Fixed sampling: Yuen's squared standard errors of averagePrice and averageDuration (trimmed as
    # they are) and the invocations they kept (degrees of freedom: kept - 1); None where not known.
    price_variance: float | None = None
    duration_variance: float | None = None
    kept_invocations: int | None = None

    def statistic(self, name: str) -> float:
        """A duration statistic of DURATION_STATISTICS: "average" (trimmed) or a percentile."""
        return self.average_duration if name == "average" else float(getattr(self, name))

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form; the first four keys are aws-lambda-power-tuning's."""
        out: dict[str, Any] = {
            "value": self.value,
            "averagePrice": self.average_price,
            "averageDuration": self.average_duration,
            "totalCost": self.total_cost,
            "p50": self.p50,
            "p90": self.p90,
            "p95": self.p95,
            "p99": self.p99,
            "invocations": self.invocations,
            "coldStarts": self.cold_starts,
            "errors": self.errors,
            "gbSeconds": self.gb_seconds,
            "transitions": self.transitions,
        }
        if self.architecture is not None:
            out["architecture"] = self.architecture
        # Input `coldStartRate` only: a run without one writes none of these.
        for key, name in COLD_KEYS + NOISE_KEYS:
            if getattr(self, name) is not None:
                out[key] = getattr(self, name)
        if self.skipped:
            out.update(skipped=True, reason=self.reason)
        if self.samples:
            out["samples"] = [list(s) for s in self.samples]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SizeResult:
        """Parse the wire form (unknown keys ignored)."""
        names = {f.name: f for f in fields(cls)}
        camel = {_snake(k): v for k, v in data.items()}
        if "samples" in camel:
            camel["samples"] = tuple(sample_store.parse(s) for s in camel["samples"])
        return cls(**{k: v for k, v in camel.items() if k in names})


# The figures a run with input `coldStartRate` adds to each size, in wire order.
COLD_KEYS = (
    ("warmPrice", "warm_price"),
    ("warmDuration", "warm_duration"),
    ("initDuration", "init_duration"),
    ("coldStartCost", "cold_start_cost"),
    ("coldStartDuration", "cold_start_duration"),
    ("initCost", "init_cost"),
    ("snapStartCacheCost", "snap_start_cache_cost"),
    ("snapStartCacheHourly", "snap_start_cache_hourly"),
    ("noColdStartSeen", "no_cold_start_seen"),
)


# How noisy the averages are (fixed sampling): what says whether two sizes can be told apart.
NOISE_KEYS = (
    ("priceVariance", "price_variance"),
    ("durationVariance", "duration_variance"),
    ("keptInvocations", "kept_invocations"),
)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
