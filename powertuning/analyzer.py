"""The Analyzer step: the execution state in, the execution output out.

Above both `analysis` (strategies, prices, the output) and `adaptive` (the race), which it reads when
the run sampled adaptively.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from powertuning.adaptive.outcome import confidence_statement, size_results
from powertuning.adaptive.state import AdaptiveState, RaceSettings
from powertuning.analysis import LatencyTarget, count_adaptive_transitions, count_transitions, recommend
from powertuning.cold_starts import blend, init_share
from powertuning.errors import RecommendationError, TargetFunctionError
from powertuning.inputs import TuningRequest
from powertuning.output import Confidence, TuningOutput
from powertuning.pricing import MAX_MEMORY_MB, MIN_MEMORY_MB
from powertuning.run_state import PublishState, RunState
from powertuning.size_result import SizeResult
from powertuning.visualization import DEFAULT_VISUALIZATION_URL


def analyze_state(
    state: Mapping[str, Any], *, visualization_url: str = DEFAULT_VISUALIZATION_URL
) -> TuningOutput:
    """The Analyzer's work on the execution state: `$.request`, `$.run`, `$.publish` and the
    results (`$.results`, or the race in `$.adaptive`)."""
    request = TuningRequest.from_dict(state["request"])
    config = RunState.from_dict(state["run"])
    publish = PublishState.from_dict(state["publish"])
    publisher_calls = len(publish.slots) + len(publish.refused)
    candidates: list[int] | None = None
    confidence = None
    if config.sampling == "adaptive":
        current = AdaptiveState.from_dict(state["adaptive"])
        settings = RaceSettings.from_execution(request, config)
        results = size_results(current, settings)
        transitions = count_adaptive_transitions(publisher_calls, current.decisions, current.rounds, results)
        candidates = list(current.candidates)
        if any(not r.skipped and r.invocations for r in results):
            confidence = Confidence.from_dict(confidence_statement(current, settings))
    else:
        results = [SizeResult.from_dict(item) for item in state["results"]]
        transitions = count_transitions(publisher_calls, results)
    if config.cold_start is not None:
        # Input `coldStartRate`: every size at (1 - rate) x warm + rate x cold (powertuning/cold_starts.py).
        results = [blend(r, config.cold_start.rate, config.cold_start) for r in results]
    if not any(not r.skipped and r.invocations for r in results):
        reasons = "; ".join(
            f"{r.value} MB{'' if r.architecture is None else ' on ' + r.architecture}: {r.reason}"
            for r in results
            if r.skipped
        )
        raise TargetFunctionError(f"no memory size could be measured ({reasons or 'no results'})")
    recommendation = recommend(
        results,
        strategy=request.strategy,
        balanced_weight=request.balanced_weight,
        region=request.function.region,
        transitions=transitions,
        include_stats=request.include_output_results,
        visualization_url=visualization_url,
        candidates=candidates,
        target=(
            None
            if request.max_duration_ms is None
            else LatencyTarget(request.max_duration_ms, request.duration_statistic)
        ),
    )
    if config.cold_start is not None:
        pick = next(
            r
            for r in results
            if r.value == recommendation.power and r.architecture == recommendation.architecture
        )
        recommendation = replace(
            recommendation, cold_start=config.cold_start, init_share=init_share(pick, config.cold_start.rate)
        )
    return replace(
        recommendation,
        dry_run=request.dry_run,
        confidence=confidence,
        cold_start_unavailable=config.cold_start_unavailable,
    )


def recommended_power(analysis: Any, request: TuningRequest, config: RunState) -> int | None:
    """The size the Optimizer applies: `$.analysis.power`, checked; None for a dry run.

    A dry run recommends nothing (its output has no `power`). Any other run must carry the
    Analyzer's pick, whatever `autoOptimize` says, as the reference's Optimizer refuses a missing
    one ("Missing or empty optimal value"): an output without a pick is a broken state, not a result.
    The pick is one of the run's sizes (any size from 128 to 10,240 MB when it sampled adaptively).
    """
    if request.dry_run:
        return None
    power = analysis.get("power") if isinstance(analysis, Mapping) else None
    adaptive = request.auto_power_values or config.sampling == "adaptive"
    sizes = () if adaptive else config.power_values
    valid = (
        isinstance(power, int)
        and not isinstance(power, bool)
        and MIN_MEMORY_MB <= power <= MAX_MEMORY_MB
        and (not sizes or power in sizes)
    )
    if not valid:
        allowed = (
            f"an integer from {MIN_MEMORY_MB} to {MAX_MEMORY_MB}"
            if not sizes
            else f"one of the sizes measured ({', '.join(map(str, sizes))})"
        )
        got = "no analysis" if not isinstance(analysis, Mapping) else f"got {json.dumps(power)}"
        raise RecommendationError(
            f"analysis.power must be the recommended memory size, {allowed}; {got}: nothing was applied"
        )
    return power
