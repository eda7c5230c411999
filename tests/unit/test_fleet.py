"""The fleet core: input validation (the single-function tuner's messages), selection, savings, ranking."""

from __future__ import annotations

import json
from typing import Any

import pytest

from powertuning.errors import FleetInputError, InvalidInputError, SelfTargetError
from powertuning.fleet import (
    DAYS_PER_MONTH,
    DEFAULT_MAX_CONCURRENCY,
    FleetRequest,
    FunctionInfo,
    FunctionOutcome,
    Usage,
    child_execution_name,
    select,
    summarize,
)
from powertuning.models import TuningRequest
from powertuning.pricing import lambda_price

ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"
A, B = ARN.format("a"), ARN.format("b")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "the fleet input must be a JSON object"),
        ({}, "give either functions"),
        ({"functions": [A], "selector": {"namePrefix": "x"}}, "give either functions"),
        ({"functions": []}, "functions must be a non-empty list"),
        ({"functions": ["checkout"]}, "functions must hold Lambda function ARNs"),
        ({"functions": [A, A]}, f"functions lists {A} twice"),
        ({"selector": {}}, "selector is empty"),
        ({"selector": {"tag": {"team": "x"}}}, "selector has unknown key 'tag'"),
        ({"selector": {"tags": {"team": 1}}}, "selector.tags must be an object of strings"),
        (
            {"functions": [A], "overrides": {B: {"num": 20}}},
            f"overrides name a function that is not in the fleet: {B}",
        ),
        ({"functions": [A], "defaults": {"lambdaARN": A}}, "defaults must not hold lambdaARN"),
        ({"functions": [A], "maxConcurrency": 0}, "maxConcurrency must be an integer from 1 to 100"),
        (
            {"functions": [A], "toleratedFailurePercentage": 101},
            "toleratedFailurePercentage must be a number",
        ),
        ({"functions": [A], "concurrency": 3}, "unknown key 'concurrency'"),
    ],
)
def test_bad_fleet_input_is_refused_with_a_message(data: Any, message: str) -> None:
    with pytest.raises(FleetInputError, match=None) as raised:
        FleetRequest.from_dict(data)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "defaults",
    [
        {"strategy": "cheapest"},
        {"num": 2},
        {"balanceWeight": 0.3},
        {"powerValues": [64]},
        {"payload": 1, "payloadS3": "s3://b/k"},
    ],
)
def test_invalid_defaults_carry_the_single_function_tuners_own_message(defaults: dict[str, Any]) -> None:
    # GIVEN what the Initializer says about the same keys
    with pytest.raises(InvalidInputError) as single:
        TuningRequest.from_dict({**defaults, "lambdaARN": A})
    # WHEN the fleet validates them as defaults THEN the message is the same, said of the defaults
    with pytest.raises(FleetInputError) as fleet:
        FleetRequest.from_dict({"functions": [A], "defaults": defaults})
    assert str(fleet.value) == f"defaults: {single.value}"


def test_an_override_is_validated_merged_with_the_defaults() -> None:
    with pytest.raises(FleetInputError, match=f"overrides for {A}: maxConcurrency needs parallelInvocation"):
        FleetRequest.from_dict({"functions": [A], "overrides": {A: {"maxConcurrency": 5}}})


def test_auto_optimize_is_off_unless_given_and_stats_are_on() -> None:
    request = FleetRequest.from_dict(
        {"functions": [A, B], "defaults": {"num": 20}, "overrides": {B: {"autoOptimize": True}}}
    )
    assert request.tuning_input(A) == {
        "autoOptimize": False,
        "includeOutputResults": True,
        "num": 20,
        "lambdaARN": A,
    }
    assert request.tuning_input(B)["autoOptimize"] is True
    assert request.max_concurrency == DEFAULT_MAX_CONCURRENCY
    assert FleetRequest.from_dict(request.to_dict()) == request


def _info(name: str, memory: int = 1024) -> FunctionInfo:
    return FunctionInfo(arn=ARN.format(name), name=name, memory_size=memory)


def test_a_selector_leaves_out_the_tuners_own_functions_and_says_so() -> None:
    request = FleetRequest.from_dict({"selector": {"namePrefix": "p"}})
    own = ARN.format("powertuning-initializer")
    selection = select(
        request, [_info("a"), _info("powertuning-initializer")], own_functions=[own], fleet_execution="x"
    )
    assert [i.function.arn for i in selection.items] == [A]
    assert selection.excluded == ({"functionArn": own, "reason": "one of the tuner's own functions"},)


def test_a_listed_tuner_function_is_refused() -> None:
    own = ARN.format("powertuning-initializer")
    request = FleetRequest.from_dict({"functions": [own]})
    with pytest.raises(SelfTargetError, match="tuner's own functions"):
        select(request, [_info("powertuning-initializer")], own_functions=[own], fleet_execution="x")


def test_a_selector_matching_nothing_is_refused() -> None:
    request = FleetRequest.from_dict({"selector": {"runtime": "java21"}})
    with pytest.raises(FleetInputError, match=r'the selector \{"runtime": "java21"\} matched no function'):
        select(request, [], own_functions=[], fleet_execution="x")


def test_selector_overrides_must_name_a_selected_function() -> None:
    request = FleetRequest.from_dict({"selector": {"namePrefix": "a"}, "overrides": {B: {"num": 20}}})
    with pytest.raises(FleetInputError, match=f"not in the fleet: {B}"):
        select(request, [_info("a")], own_functions=[], fleet_execution="x")


def test_child_execution_names_are_valid_unique_and_readable() -> None:
    long = ARN.format("f" * 64)
    name = child_execution_name("arn:aws:states:us-east-1:123456789012:execution:fleet:one", long)
    assert len(name) <= 80
    assert name.startswith("fleet-")
    assert name != child_execution_name("arn:aws:states:us-east-1:123456789012:execution:fleet:two", long)


def _outcome(name: str, power: int, costs: dict[int, float], memory: int = 1024) -> FunctionOutcome:
    output = {
        "power": power,
        "cost": costs[power],
        "duration": 1.0,
        "stateMachine": {"executionCost": 0.001, "lambdaCost": 0.002},
        "stats": [{"value": v, "averagePrice": c, "averageDuration": 1.0} for v, c in costs.items()],
    }
    return FunctionOutcome.from_record(
        {
            "functionArn": ARN.format(name),
            "memorySize": memory,
            "architecture": "x86_64",
            "status": "SUCCEEDED",
            "output": output,
        }
    )


def test_savings_scale_the_real_traffic_by_the_measured_ratio_and_rank_largest_first() -> None:
    usage = {ARN.format("a"): Usage(14_000, 100.0), ARN.format("b"): Usage(1_400_000, 100.0)}
    outcomes = [_outcome("a", 256, {256: 1e-6, 1024: 4e-6}), _outcome("b", 512, {512: 2e-6, 1024: 4e-6})]
    summary = summarize(outcomes, usage, region="us-east-1").to_dict()
    assert [row["functionArn"] for row in summary["functions"]] == [B, A]
    b = summary["functions"][0]
    current = 1_400_000 * DAYS_PER_MONTH / 14 * lambda_price("us-east-1").invocation_cost(100.0, 1024)
    assert b["currentMonthlyCost"] == pytest.approx(current, abs=1e-4)
    assert b["recommendedMonthlyCost"] == pytest.approx(current / 2, abs=1e-4)
    assert b["basis"] == "measured ratio"
    assert summary["totals"]["tuningCost"] == pytest.approx(0.006)


def test_without_the_current_size_measured_the_tuning_payload_prices_the_recommendation() -> None:
    outcome = _outcome("a", 256, {256: 1e-6, 512: 2e-6}, memory=1000)
    (row,) = summarize([outcome], {A: Usage(14, 5.0)}, region="us-east-1").to_dict()["functions"]
    assert row["basis"] == "tuning payload"
    assert row["recommendedMonthlyCost"] == pytest.approx(DAYS_PER_MONTH * 1e-6, abs=1e-4)


def test_a_child_that_was_already_being_tuned_is_skipped_and_a_failure_keeps_its_cause() -> None:
    def failed(name: str, error: str) -> FunctionOutcome:
        cause = json.dumps(
            {"ExecutionArn": "arn:x", "Status": "FAILED", "Error": error, "Cause": f"{error} said why"}
        )
        return FunctionOutcome.from_record(
            {
                "functionArn": ARN.format(name),
                "memorySize": 128,
                "architecture": "arm64",
                "status": "FAILED",
                "error": "States.TaskFailed",
                "cause": cause,
            }
        )

    busy, broken = failed("a", "RunInProgressError"), failed("b", "TargetFunctionError")
    assert (busy.status, broken.status) == ("SKIPPED", "FAILED")
    summary = summarize([busy, broken], {}, region="us-east-1", tolerated_failure_percentage=40)
    assert summary.failed_percentage == 50.0
    assert not summary.within_tolerance
    data = summary.to_dict()
    assert data["failed"] == [
        {
            "functionArn": B,
            "error": "TargetFunctionError",
            "cause": "TargetFunctionError said why",
            "executionArn": "arn:x",
        }
    ]
    assert data["skipped"][0]["error"] == "RunInProgressError"
