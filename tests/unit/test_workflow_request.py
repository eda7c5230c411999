"""WorkflowRequest: the workflow tuner's input, every refusal naming the key and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from powertuning.errors import InvalidInputError, WorkflowInputError
from powertuning.workflow.request import REFUSED_TUNING_KEYS, WorkflowRequest

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:orders"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:orders:run-1"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:pick"


def _input(**extra: Any) -> dict[str, Any]:
    return {"stateMachineArn": MACHINE, "maxDurationMs": 1500, **extra}


def test_minimal_input_gets_the_defaults() -> None:
    # GIVEN only the state machine and the target
    request = WorkflowRequest.from_dict(_input())
    # THEN one recent execution, the average, cost strategy, fail on error, nothing applied
    assert request.state_machine_arn == MACHINE
    assert request.max_duration_ms == 1500.0
    assert request.recent_executions == 1
    assert request.execution_arn is None
    assert request.executions_wanted == 1
    assert request.duration_statistic == "average"
    assert request.tuning == {"strategy": "cost"}
    assert request.payloads == {}
    assert request.auto_optimize is False
    assert request.on_error == "fail"


def test_every_key_round_trips() -> None:
    data = _input(
        executionArn=EXECUTION,
        durationStatistic="p90",
        num=20,
        powerValues=[128, 512, 1024],
        strategy="balanced",
        balancedWeight=0.3,
        parallelInvocation=True,
        payload={
            FUNCTION: {"id": 7},
            "ship": [{"payload": {"a": 1}, "weight": 3}, {"payload": 2, "weight": 1}],
        },
        autoOptimize=True,
        onError="skip",
    )
    request = WorkflowRequest.from_dict(data)
    assert request.execution_arn == EXECUTION
    assert request.recent_executions is None
    assert request.tuning["strategy"] == "balanced"
    assert request.tuning["num"] == 20
    assert "payload" not in request.tuning
    assert "onError" not in request.tuning
    assert request.payloads[FUNCTION] == {"id": 7}
    assert WorkflowRequest.from_dict(request.to_dict()) == request


def test_recent_executions_and_qualified_machine() -> None:
    request = WorkflowRequest.from_dict(_input(stateMachineArn=f"{MACHINE}:prod", recentExecutions=20))
    assert request.recent_executions == 20
    assert request.executions_wanted == 20
    assert WorkflowRequest.from_dict(request.to_dict()) == request


def test_an_execution_of_a_qualified_machine_is_its_own() -> None:
    request = WorkflowRequest.from_dict(_input(stateMachineArn=f"{MACHINE}:3", executionArn=EXECUTION))
    assert request.execution_arn == EXECUTION


BAD: list[tuple[Any, str]] = [
    ("not an object", "must be a JSON object"),
    ({"maxDurationMs": 1}, "stateMachineArn is required"),
    (_input(stateMachineArn="orders"), "stateMachineArn must be a state machine ARN"),
    (_input(stateMachineArn=FUNCTION), "stateMachineArn must be a state machine ARN"),
    (_input(stateMachineArn=EXECUTION), "stateMachineArn must be a state machine ARN"),
    (_input(stateMachineArn="arn:aws:states:us-east-1:12345:stateMachine:m"), "stateMachineArn must be"),
    (_input(stateMachineArn=MACHINE + "\n"), "stateMachineArn must be"),
    (_input(stateMachineArn="arn:aws-cn:states:us-east-1:123456789012:stateMachine:m"), "not in partition"),
    (_input(stateMachineArn=7), "stateMachineArn must be"),
    (_input(executionArn="run-1"), "executionArn must be an execution ARN"),
    (_input(executionArn=MACHINE), "executionArn must be an execution ARN"),
    (
        _input(executionArn="arn:aws:states:us-east-1:123456789012:execution:other:run-1"),
        "another state machine",
    ),
    (
        _input(executionArn="arn:aws:states:eu-west-1:123456789012:execution:orders:run-1"),
        "another state machine",
    ),
    (
        _input(executionArn="arn:aws:states:us-east-1:210987654321:execution:orders:run-1"),
        "another state machine",
    ),
    (_input(executionArn=EXECUTION, recentExecutions=2), "exclusive"),
    (_input(recentExecutions=0), "recentExecutions must be an integer from 1 to 20"),
    (_input(recentExecutions=21), "recentExecutions must be an integer from 1 to 20"),
    (_input(recentExecutions=2.5), "recentExecutions must be an integer"),
    (_input(recentExecutions=True), "recentExecutions must be an integer"),
    ({"stateMachineArn": MACHINE}, "maxDurationMs (the end-to-end target) must be a number"),
    (_input(maxDurationMs=0), "greater than 0"),
    (_input(maxDurationMs=-5), "greater than 0"),
    (_input(maxDurationMs="100"), "maxDurationMs"),
    (_input(maxDurationMs=True), "maxDurationMs"),
    (_input(maxDurationMs=float("inf")), "maxDurationMs"),
    (_input(durationStatistic="p42"), "durationStatistic must be one of average, p50, p90, p95, p99"),
    (_input(durationStatistic="max"), "durationStatistic must be one of"),
    (_input(onError="retry"), "onError must be one of fail, skip"),
    (_input(autoOptimize="yes"), "autoOptimize must be true or false"),
    (_input(payload=[{"id": 1}]), "payload must be an object keyed by function ARN or name"),
    (_input(payload={"not a name!": {}}), "payload keys must be Lambda function ARNs or names"),
    (_input(payload={"arn:aws:s3:::bucket": {}}), "payload keys must be"),
    (_input(payload={"f": float("nan")}), "payload for f"),
    (_input(payload={"f": [{"payload": 1, "weight": 1}] * 11}), "payload for f: num must be at least"),
    (_input(num=3), "the tuning keys: num must be an integer"),
    (_input(strategy="cheapest"), "the tuning keys: strategy"),
    (_input(powerValues=[100]), "the tuning keys: powerValues"),
    (_input(maxConcurrency=3), "the tuning keys: maxConcurrency"),
    (_input(sampling="adaptive"), "adaptive sampling stops measuring"),
    (_input(powerValues="auto"), "adaptive sampling stops measuring"),
    (_input(includeOutputResults=False), "includeOutputResults must be true"),
    (_input(stateMachine=MACHINE), "unknown workflow input key 'stateMachine'"),
    (_input(statistic="p90"), "unknown workflow input key 'statistic'"),
]
BAD += [(_input(**{key: "x"}), f"{key} is not a workflow input key") for key in REFUSED_TUNING_KEYS]


@pytest.mark.parametrize(("data", "message"), BAD)
def test_bad_input_is_refused_naming_the_key(data: Any, message: str) -> None:
    with pytest.raises(WorkflowInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        WorkflowRequest.from_dict(data)


def test_refusals_are_input_errors() -> None:
    # The state machine's Catch on InvalidInputError (and the CLI's exit 2) covers the workflow too.
    assert issubclass(WorkflowInputError, InvalidInputError)


def test_a_function_name_key_is_a_payload_override() -> None:
    request = WorkflowRequest.from_dict(_input(payload={"id": 1, "pick:prod": None}))
    assert request.payloads == {"id": 1, "pick:prod": None}
