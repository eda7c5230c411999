"""The Analyzer handler: the execution output from the state after the Map and the Cleaner."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from lambdas import analyzer
from powertuning.analysis import count_transitions
from powertuning.errors import TargetFunctionError
from powertuning.inputs import TuningRequest
from powertuning.pricing import step_functions_cost
from powertuning.run_state import PublishState, RunState
from powertuning.size_result import SizeResult
from powertuning.visualization import decode

ARN = "arn:aws:lambda:us-east-1:123456789012:function:target"
# A CPU-bound curve: cheapest at 512 MB, fastest at 3008 MB.
CURVE = [
    SizeResult(value=128, average_price=4.0e-6, average_duration=1600.0, total_cost=2.0e-5, invocations=5),
    SizeResult(value=512, average_price=2.5e-6, average_duration=300.0, total_cost=1.3e-5, invocations=5),
    SizeResult(value=1024, average_price=3.5e-6, average_duration=200.0, total_cost=1.8e-5, invocations=5),
    SizeResult(value=3008, average_price=9.0e-6, average_duration=150.0, total_cost=4.5e-5, invocations=5),
]


def state_after_the_map(stats, arn=ARN, **execution_input):
    """The state the Analyzer receives: `$.request`, `$.run`, `$.publish` and `$.results` from the Map."""
    powers = tuple(s.value for s in stats)
    config = RunState(
        function_arn=arn,
        power_values=powers,
        run_id="0123456789ab",
        original_memory=1024,
        original_description="",
        architecture="x86_64",
    )
    request = TuningRequest.from_dict({"lambdaARN": arn, "num": 5, **execution_input})
    return {
        "request": request.to_dict(),
        "run": config.to_dict(),
        "publish": PublishState(power_values=powers, index=len(powers)).to_dict(),
        "results": [s.to_dict() for s in stats],
        "cleanup": {"deletedAliases": [], "deletedVersions": [], "restoredLatest": False},
    }


@pytest.mark.parametrize(
    ("execution_input", "power"),
    [
        ({}, 512),
        ({"strategy": "cost"}, 512),
        ({"strategy": "speed"}, 3008),
        ({"strategy": "balanced"}, 512),
        ({"strategy": "balanced", "balancedWeight": 0.2}, 1024),
        ({"strategy": "balanced", "balancedWeight": 0.0}, 3008),
    ],
)
def test_recommends_by_strategy(execution_input, power, lambda_context, monkeypatch):
    monkeypatch.delenv("visualizationUrl", raising=False)
    out = analyzer.handler(state_after_the_map(CURVE, **execution_input), lambda_context)
    assert out["power"] == power


def test_output_is_drop_in_compatible_with_the_reference_tool(lambda_context, monkeypatch):
    monkeypatch.delenv("visualizationUrl", raising=False)
    out = analyzer.handler(state_after_the_map(CURVE), lambda_context)
    assert set(out) == {"power", "cost", "duration", "stateMachine"}
    assert (out["power"], out["cost"], out["duration"]) == (512, 2.5e-6, 300.0)
    machine = out["stateMachine"]
    assert machine["lambdaCost"] == pytest.approx(sum(s.total_cost for s in CURVE))
    assert machine["executionCost"] == pytest.approx(
        step_functions_cost(count_transitions(4, CURVE), "us-east-1"), abs=1e-8
    )
    assert machine["visualization"].startswith("https://lambda-power-tuning.show/#")
    assert [p.power for p in decode(machine["visualization"].split("#")[1])] == [128, 512, 1024, 3008]
    assert json.loads(json.dumps(out)) == out


def test_execution_cost_uses_the_region_of_the_function(lambda_context):
    arn = "arn:aws:lambda:sa-east-1:123456789012:function:target"
    here = analyzer.handler(state_after_the_map(CURVE), lambda_context)
    there = analyzer.handler(state_after_the_map(CURVE, arn=arn), lambda_context)
    assert there["stateMachine"]["executionCost"] > here["stateMachine"]["executionCost"]


def test_retries_count_in_the_execution_cost(lambda_context):
    retried = [CURVE[0], replace(CURVE[1], transitions=3), *CURVE[2:]]
    plain = analyzer.handler(state_after_the_map(CURVE), lambda_context)["stateMachine"]["executionCost"]
    more = analyzer.handler(state_after_the_map(retried), lambda_context)["stateMachine"]["executionCost"]
    assert more > plain


def test_stats_with_include_output_results(lambda_context):
    out = analyzer.handler(state_after_the_map(CURVE, includeOutputResults=True), lambda_context)
    assert [s["value"] for s in out["stats"]] == [128, 512, 1024, 3008]
    assert {
        "averagePrice",
        "averageDuration",
        "p50",
        "p90",
        "p99",
        "invocations",
        "coldStarts",
        "errors",
    } <= set(out["stats"][0])


def test_visualization_url_is_configurable_at_deploy_time(lambda_context, monkeypatch):
    monkeypatch.setenv("visualizationUrl", "https://viz.example.com/")
    out = analyzer.handler(state_after_the_map(CURVE), lambda_context)
    assert out["stateMachine"]["visualization"].startswith("https://viz.example.com/#")


def test_skipped_sizes_are_listed_and_never_recommended(lambda_context):
    # GIVEN onError "skip" and the two smallest sizes out of memory, the cheapest of the rest at 1024
    skipped = [
        SizeResult(value=128, skipped=True, reason="Runtime.OutOfMemory: killed"),
        SizeResult(value=512, skipped=True, reason="Runtime.OutOfMemory: killed"),
    ]
    state = state_after_the_map([*skipped, *CURVE[2:]], onError="skip", includeOutputResults=True)
    out = analyzer.handler(state, lambda_context)
    assert out["power"] == 1024
    assert out["skipped"] == [
        {"value": 128, "reason": "Runtime.OutOfMemory: killed"},
        {"value": 512, "reason": "Runtime.OutOfMemory: killed"},
    ]
    assert [s["value"] for s in out["stats"]] == [1024, 3008]
    assert [p.power for p in decode(out["stateMachine"]["visualization"].split("#")[1])] == [1024, 3008]


def test_every_size_skipped_fails_with_the_reasons(lambda_context):
    skipped = [
        SizeResult(value=128, skipped=True, reason="Runtime.OutOfMemory: killed"),
        SizeResult(value=256, skipped=True, reason="Sandbox.Timedout: Task timed out after 3.00 seconds"),
    ]
    with pytest.raises(TargetFunctionError, match=r"no memory size could be measured \(128 MB: Runtime"):
        analyzer.handler(state_after_the_map(skipped, onError="skip"), lambda_context)


def test_the_adaptive_decision_step_returns_only_the_race(lambda_context):
    # GIVEN the state after the Publisher loop of an adaptive run
    state = state_after_the_map(CURVE[:2], sampling="adaptive")
    del state["results"], state["cleanup"]
    state["run"]["sampling"] = "adaptive"
    # WHEN the AdaptiveDecision step calls the Analyzer THEN its output is the new `$.adaptive`
    out = analyzer.handler({"step": "adaptive", "state": state}, lambda_context)
    assert out["batch"] == [{"value": 128, "count": 3, "offset": 0}, {"value": 512, "count": 3, "offset": 0}]
    assert (out["done"], out["publishPending"], out["decisions"]) == (False, False, 1)
    assert json.loads(json.dumps(out)) == out
