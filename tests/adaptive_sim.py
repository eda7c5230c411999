"""Simulated targets for the adaptive race's tests, raced with the one driver (`adaptive.step.drive`)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from powertuning.adaptive.state import AdaptiveState, BatchItem, RaceSettings, SizeSamples
from powertuning.adaptive.step import drive
from powertuning.logs import Report
from powertuning.measure import batch_result
from powertuning.pricing import lambda_price
from powertuning.size_result import SizeResult

ARN = "arn:aws:lambda:us-east-1:123456789012:function:target"
PRICE = lambda_price("us-east-1")

# A duration model: (memory, invocation index at that size, rng) -> (duration ms, init ms).
Model = Callable[[int, int, random.Random], tuple[float, float]]


def report(memory: int, duration: float, init: float = 0.0) -> Report:
    return Report(
        duration_ms=duration,
        billed_duration_ms=math.ceil(duration + init),
        memory_size_mb=memory,
        init_duration_ms=init,
    )


def noisy(means: dict[int, float], spread: float = 0.05, cold_ms: float = 0.0) -> Model:
    """Log-normal durations around `means[memory]` (multiplicative, like real ones); optional cold start."""

    def model(memory: int, i: int, rng: random.Random) -> tuple[float, float]:
        duration = means[memory] * rng.lognormvariate(0.0, spread)
        return (duration * 3, cold_ms) if i == 0 and cold_ms else (duration, 0.0)

    return model


def measurer(model: Model, settings: RaceSettings, seed: int, log: list[tuple[BatchItem, ...]] | None = None):
    """The AdaptiveRound Map over `model`; `log` collects every batch."""
    rng = random.Random(seed)

    def measure(batch: Sequence[BatchItem]) -> list[SizeResult]:
        if log is not None:
            log.append(tuple(batch))
        return [
            batch_result(
                item.value,
                [report(item.value, *model(item.value, item.offset + k, rng)) for k in range(item.count)],
                settings.price,
                settings.discard_top_bottom,
            )
            for item in batch
        ]

    return measure


def race(
    model: Model,
    sizes: Sequence[int],
    settings: RaceSettings,
    seed: int = 1,
    log: list[tuple[BatchItem, ...]] | None = None,
) -> AdaptiveState:
    """Run the race to the end, as the state machine would (sizes "auto" asks for are all published)."""
    return drive(settings, sizes, measurer(model, settings, seed, log))


def settings(**kw) -> RaceSettings:
    return RaceSettings(**{"strategy": "speed", "max_per_size": 50, **kw})


def measured_state(means: dict[int, float], candidates: tuple[int, ...]) -> AdaptiveState:
    """Five close samples per size around `means`."""
    sizes = tuple(
        SizeSamples(m, tuple((d * f, d * f, 0.0) for f in (0.99, 1.0, 1.01, 1.0, 0.995)))
        for m, d in means.items()
    )
    return AdaptiveState(sizes=sizes, candidates=candidates)
