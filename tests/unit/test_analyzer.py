"""The Analyzer step over the execution state."""

from __future__ import annotations

import pytest

from powertuning.adaptive.outcome import size_results
from powertuning.adaptive.state import AdaptiveState
from powertuning.adaptive.step import advance_execution
from powertuning.analysis import count_adaptive_transitions, count_transitions
from powertuning.analyzer import analyze_state
from powertuning.errors import TargetFunctionError
from powertuning.inputs import TuningRequest
from powertuning.measure import batch_result
from powertuning.pricing import step_functions_cost
from powertuning.run_state import PublishState, RunState
from powertuning.size_result import SizeResult
from tests.adaptive_sim import PRICE, report, settings
from tests.unit.test_adaptive_step import execution_state
from tests.unit.test_analysis import ARN, CURVE, TAILS


def test_a_finished_race_leaves_the_results_for_the_analyzer():
    state = execution_state([128, 512], strategy="speed")
    state["adaptive"] = advance_execution(state)
    state["round"] = [
        # a fresh version's cold first invocation (its INIT), then two warm ones
        batch_result(
            m, [report(m, base, 2 * base), report(m, base), report(m, base * 1.01)], PRICE, 0.2
        ).to_dict()
        for m, base in ((128, 800.0), (512, 100.0))
    ]
    out = advance_execution(state)
    assert out["done"]
    assert out["candidates"] == [512]
    assert out["rounds"] == 1
    assert out["decisions"] == 2
    # the Analyzer computes each size's result from the race (every sample kept in `$.adaptive`)
    state["adaptive"] = out
    assert [s["value"] for s in out["sizes"]] == [128, 512]
    analysis = analyze_state(state)
    assert analysis.power == 512
    results = size_results(AdaptiveState.from_dict(out), settings(strategy="speed"))
    assert [r.value for r in analysis.sizes] == [128, 512] == [r.value for r in results]
    # priced as 2 Publisher calls, 2 decisions, 1 round and each size's own transitions
    transitions = count_adaptive_transitions(2, 2, 1, results)
    assert analysis.execution_cost == pytest.approx(step_functions_cost(transitions, "us-east-1"), abs=1e-9)


def state(stats, refused=(), **request):
    """The state the Analyzer reads: `$.request`, `$.run`, `$.publish` and the Map's `$.results`."""
    powers = tuple(s["value"] for s in stats)
    config = RunState(
        function_arn=ARN,
        power_values=powers,
        run_id="0123456789ab",
        original_memory=1024,
        original_description="",
        architecture="x86_64",
    )
    return {
        "request": TuningRequest.from_dict({"lambdaARN": ARN, **request}).to_dict(),
        "run": config.to_dict(),
        "publish": PublishState(power_values=powers, index=len(powers), refused=tuple(refused)).to_dict(),
        "results": stats,
    }


def test_analyze_state_reads_the_strategy_from_the_input():
    stats = [s.to_dict() for s in CURVE]
    assert analyze_state(state(stats)).power == 512
    assert analyze_state(state(stats, strategy="speed")).power == 3008
    assert analyze_state(state(stats, strategy="balanced", balancedWeight=0.2)).power == 1024


def test_analyze_state_prices_transitions_in_the_function_region():
    stats = [s.to_dict() for s in CURVE]
    out = analyze_state(state(stats))
    assert out.execution_cost == pytest.approx(
        step_functions_cost(count_transitions(5, CURVE), "us-east-1"), abs=1e-8
    )


def test_every_publisher_call_is_priced_refused_sizes_too():
    stats = [s.to_dict() for s in CURVE]
    plain = analyze_state(state(stats)).execution_cost
    refused = analyze_state(state(stats, refused=[4096])).execution_cost
    assert refused == pytest.approx(
        step_functions_cost(count_transitions(len(CURVE) + 1, CURVE), "us-east-1"), abs=1e-8
    )
    assert refused > plain


def test_analyze_state_fails_when_every_size_was_skipped():
    stats = [
        SizeResult(value=128, skipped=True, reason="Runtime.OutOfMemory: killed").to_dict(),
        SizeResult(value=256, skipped=True, reason="Sandbox.Timedout: Task timed out").to_dict(),
    ]
    with pytest.raises(TargetFunctionError, match=r"128 MB: Runtime.OutOfMemory.*256 MB: Sandbox.Timedout"):
        analyze_state(state(stats, onError="skip"))


def test_analyze_state_reads_the_target_from_the_input():
    stats = [s.to_dict() for s in TAILS]
    met = analyze_state(state(stats, num=40, maxDurationMs=500, durationStatistic="p95")).to_dict()
    assert (met["power"], met["constraint"]["met"]) == (1024, True)
    unmet = analyze_state(state(stats, num=200, maxDurationMs=200, durationStatistic="p99")).to_dict()
    assert (unmet["power"], unmet["constraint"]["met"], unmet["constraint"]["value"]) == (3008, False, 250.0)
