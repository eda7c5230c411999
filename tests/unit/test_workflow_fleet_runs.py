"""The deployed workflow tuner's fleet runs: the measuring and applying fleet inputs, the payloads
moved to S3 when the input would be too large, and the refusals before anything starts."""

from __future__ import annotations

from typing import Any

import pytest

from powertuning.errors import SelfTargetError, WorkflowInputError
from powertuning.fleet_request import FleetRequest
from powertuning.workflow import fleet_runs, graph
from powertuning.workflow.plan import PlannedFunction, WorkflowPlan
from powertuning.workflow.request import WorkflowRequest

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:orders"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:wf:run-1"


def arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:123456789012:function:{name}"


def plan(*functions: tuple[str, Any], **request: Any) -> WorkflowPlan:
    tasks = tuple(graph.Task(name, f) for name, (f, _) in zip("abcdef", functions, strict=False))
    return WorkflowPlan(
        request=WorkflowRequest.from_dict({"stateMachineArn": MACHINE, "maxDurationMs": 1000, **request}),
        executions=(EXECUTION,),
        graph=graph.Sequence(tasks),
        functions=tuple(PlannedFunction(f, 1024, "x86_64", p, "history", 1.0) for f, p in functions),
        observed_ms=(900.0,),
        state_transitions=8.0,
        region="us-east-1",
    )


def test_the_measuring_run_gives_each_function_the_plans_child_input() -> None:
    # GIVEN two functions with their payloads and the request's tuning keys
    p = plan((arn("a"), {"x": 1}), (arn("b"), [{"payload": 1, "weight": 1}]), num=7, powerValues=[128, 512])
    run = fleet_runs.measure_run(p, EXECUTION)
    request = FleetRequest.from_dict(run.input)
    # THEN the fleet hands each function exactly what plan.tuning_input says, and tolerates failures
    for planned in p.functions:
        assert request.tuning_input(planned.arn) == p.tuning_input(planned)
    assert request.tolerated_failure_percentage == 100
    assert run.name == fleet_runs.run_name(EXECUTION, "measure") != fleet_runs.run_name(EXECUTION, "apply")
    assert len(run.name) <= 80


def test_large_payloads_go_to_s3_largest_first_until_the_input_fits() -> None:
    big, bigger, small = "x" * 100_000, "x" * 150_000, "y" * 1_000
    p = plan((arn("a"), big), (arn("b"), small), (arn("c"), bigger), (arn("d"), big))
    stored: dict[str, str] = {}

    def store(function_arn: str, payload: str) -> str:
        stored[function_arn] = payload
        return f"s3://bucket/{function_arn.rsplit(':', 1)[-1]}.json"

    run = fleet_runs.with_payloads_in_s3(fleet_runs.measure_run(p, EXECUTION), store)
    # THEN the largest two moved (as payloadS3), the rest stayed inline, and the input fits
    assert sorted(stored) == [arn("a"), arn("c")]
    overrides = run.input["overrides"]
    assert overrides[arn("c")] == {"payloadS3": "s3://bucket/c.json"}
    assert overrides[arn("a")] == {"payloadS3": "s3://bucket/a.json"}
    assert overrides[arn("b")] == {"payload": small}
    assert overrides[arn("d")] == {"payload": big}
    assert fleet_runs.input_size(run) <= fleet_runs.FLEET_INPUT_BUDGET_BYTES
    FleetRequest.from_dict(run.input)
    # AND an input that fits is left as it is
    fits = fleet_runs.measure_run(plan((arn("a"), small)), EXECUTION)
    assert fleet_runs.with_payloads_in_s3(fits, store) == fits


def test_an_input_that_cannot_fit_even_with_payloads_in_s3_is_refused() -> None:
    run = fleet_runs.measure_run(plan((arn("a"), "x" * 10)), EXECUTION)
    with pytest.raises(WorkflowInputError, match="even with every payload in S3"):
        fleet_runs.with_payloads_in_s3(run, lambda a, _p: "s3://b/k", budget=50)


@pytest.mark.parametrize(
    ("functions", "own", "error", "match"),
    [
        ([arn("a")], [arn("a")], SelfTargetError, "one of the tuner's own functions"),
        ([arn("a") + ":prod"], [arn("a")], SelfTargetError, "one of the tuner's own functions"),
        ([arn("a") + ":prod", arn("a") + ":live"], [], WorkflowInputError, "cannot size them apart"),
    ],
)
def test_own_and_repeated_functions_are_refused(
    functions: list[str], own: list[str], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        fleet_runs.refuse_own_and_repeated(plan(*((f, {}) for f in functions)), own)


def test_the_apply_run_sizes_only_the_changed_functions_at_their_pick_and_applies() -> None:
    p = plan((arn("a"), {"x": 1}), (arn("b"), {"y": 2}), powerValues=[128, 512, 1024], num=20)
    measure = fleet_runs.measure_run(p, EXECUTION)
    result = {
        "functions": [
            {"functionArn": arn("a"), "currentMemory": 1024, "recommendedMemory": 512, "tuned": True},
            {"functionArn": arn("b"), "currentMemory": 1024, "recommendedMemory": 1024, "tuned": True},
        ]
    }
    picks = fleet_runs.picks_to_apply(result)
    assert picks == {arn("a"): 512}
    run = fleet_runs.apply_run(measure, picks, EXECUTION)
    assert run is not None
    request = FleetRequest.from_dict(run.input)
    child = request.tuning_input(arn("a"))
    # THEN one size, applied by the tuner's Optimizer, the fewest invocations, the same payload
    assert child["powerValues"] == [512]
    assert (child["autoOptimize"], child["strategy"], child["num"]) == (True, "cost", 5)
    assert child["payload"] == {"x": 1}
    assert request.functions == (arn("a"),)
    assert request.tolerated_failure_percentage == 0
    assert fleet_runs.apply_run(measure, {}, EXECUTION) is None


def test_a_skipped_function_is_never_applied() -> None:
    result = {
        "functions": [
            {"functionArn": arn("a"), "currentMemory": 1024, "recommendedMemory": 512, "tuned": False}
        ]
    }
    assert fleet_runs.picks_to_apply(result) == {}
