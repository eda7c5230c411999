"""read_workflow on moto: a user's workflow of six Lambda functions, run by moto's ASL interpreter with
the functions answered in-process (moto's `LambdaFunction._invoke_lambda` seam), then read into a plan;
and the refusals that belong to the reader."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.awslambda.models import LambdaFunction

from powertuning import lambda_api
from powertuning.errors import WorkflowInputError
from powertuning.workflow import graph
from powertuning.workflow.reader import read_workflow
from powertuning.workflow.request import WorkflowRequest

REGION = "us-east-1"
ACCOUNT = "123456789012"
FUNCTIONS = ("validate", "enrich", "score", "resize", "notify", "ship")


def _arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


class Handlers:
    """The user's functions, in-process: what each returns, and every event each received."""

    def __init__(self) -> None:
        self.events: dict[str, list[Any]] = {name: [] for name in FUNCTIONS}
        self.fail_score_once = True

    def __call__(self, fn: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        name = fn.function_name
        self.events[name].append(event)
        if name == "validate":
            return (
                json.dumps({"order": event["order"], "items": list(range(10)), "route": event["route"]}),
                False,
                "",
            )
        if name == "score" and self.fail_score_once:
            self.fail_score_once = False  # one failure: the Retry calls it again
            return json.dumps({"errorType": "Flaky", "errorMessage": "try again"}), True, ""
        return json.dumps({"done": name, "got": event}), False, ""


WORKFLOW = {
    "Comment": "orders: a sequence, a Parallel of two branches, a Map over 10 items, a Choice",
    "StartAt": "Validate",
    "States": {
        "Validate": {"Type": "Task", "Resource": _arn("validate"), "Next": "Prepare"},
        "Prepare": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Enrich",
                    "States": {
                        "Enrich": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName": "enrich", "Payload": {"order.$": "$.order"}},
                            "OutputPath": "$.Payload",
                            "End": True,
                        }
                    },
                },
                {
                    "StartAt": "Score",
                    "States": {
                        "Score": {
                            "Type": "Task",
                            "Resource": _arn("score"),
                            "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                            "End": True,
                        }
                    },
                },
            ],
            "ResultPath": "$.prepared",
            "Next": "Resize",
        },
        "Resize": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 3,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "ResizeOne",
                "States": {
                    "ResizeOne": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": _arn("resize"), "Payload": {"item.$": "$"}},
                        "End": True,
                    }
                },
            },
            "ResultPath": "$.resized",
            "Next": "Route",
        },
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.route", "StringEquals": "notify", "Next": "Notify"}],
            "Default": "Ship",
        },
        "Notify": {"Type": "Task", "Resource": _arn("notify"), "ResultPath": "$.notified", "Next": "Pause"},
        "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Ship"},
        "Ship": {"Type": "Task", "Resource": _arn("ship"), "End": True},
    },
}


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto with its ASL interpreter on, the six functions, the user's state machine."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    handlers = Handlers()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        # A function, not the instance: moto calls the seam as a method of the function.
        monkeypatch.setattr(LambdaFunction, "_invoke_lambda", lambda fn, event=None: handlers(fn, event))
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="user", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = lambda_api.client("lambda", REGION)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("app.py", "def handler(event, context):\n    return event\n")
        for index, name in enumerate(FUNCTIONS):
            lam.create_function(
                FunctionName=name,
                Runtime="python3.13",
                Role=role,
                Handler="app.handler",
                Code={"ZipFile": buffer.getvalue()},
                MemorySize=128 * (index + 1),
                Architectures=["arm64" if name == "resize" else "x86_64"],
            )
        sfn = lambda_api.client("stepfunctions", REGION)
        machine = sfn.create_state_machine(name="orders", definition=json.dumps(WORKFLOW), roleArn=role)
        yield {
            "sfn": sfn,
            "lambda": lam,
            "role": role,
            "machine": machine["stateMachineArn"],
            "handlers": handlers,
        }


def _run(sfn: Any, machine: str, name: str, payload: Any) -> str:
    arn = str(
        sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(payload))["executionArn"]
    )
    deadline = time.monotonic() + 60
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{arn} still running"
        time.sleep(0.05)
    return arn


def _request(machine: str, **extra: Any) -> WorkflowRequest:
    return WorkflowRequest.from_dict({"stateMachineArn": machine, "maxDurationMs": 5000, **extra})


def _read(world: dict[str, Any], request: WorkflowRequest, own: tuple[str, ...] = ()) -> Any:
    return read_workflow(request, sfn=world["sfn"], lambda_client=world["lambda"], own_state_machines=own)


def test_a_real_workflow_is_read_into_a_plan(world: dict[str, Any]) -> None:
    # GIVEN three executions: two take the Choice's notify branch, one its default
    sfn, machine = world["sfn"], world["machine"]
    for index, route in enumerate(("notify", "ship", "notify")):
        execution = _run(sfn, machine, f"run-{index}", {"order": f"o-{index % 2}", "route": route})
        assert sfn.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"

    # WHEN the reader reads the three most recent
    plan = _read(world, _request(machine, recentExecutions=3, num=20))

    # THEN the graph has the workflow's shape
    steps = plan.graph.steps
    assert [type(s).__name__ for s in steps] == ["Task", "Parallel", "Map", "Choice", "Task"]
    validate, prepare, resize, route, ship = steps
    assert validate.function == _arn("validate")
    enrich, score = (branch.steps[0] for branch in prepare.branches)
    assert enrich.function == _arn("enrich")  # a bare FunctionName resolved in the machine's account
    # the Retry: the first execution called score twice, so 4 calls over 3 visits
    assert score.calls == pytest.approx(4 / 3)
    assert score.overhead_ms >= 1000 / 3 - 50  # one 1 s retry interval over three visits
    assert resize.max_concurrency == 3
    assert resize.items == ((10, 3.0),)
    assert resize.body.steps[0].function == _arn("resize")
    # the Choice: notify then the Wait, 2 of 3; the default (straight to Ship) 1 of 3
    options = {round(p, 3): o for p, o in route.options}
    assert set(options) == {round(2 / 3, 3), round(1 / 3, 3)}
    notify_branch = options[round(2 / 3, 3)]
    assert [s.name for s in notify_branch.steps] == ["Notify", "Pause"]
    assert isinstance(notify_branch.steps[1], graph.Fixed)
    assert len(notify_branch.steps[1].samples_ms) == 2
    assert min(notify_branch.steps[1].samples_ms) >= 900  # Wait 1 s
    assert options[round(1 / 3, 3)].steps == ()
    assert ship.function == _arn("ship")

    # THEN every function with its configuration, calls per execution and the payloads it received
    by_arn = {f.arn: f for f in plan.functions}
    assert list(by_arn) == [_arn(n) for n in ("validate", "enrich", "score", "resize", "notify", "ship")]
    assert by_arn[_arn("resize")].memory_mb == 512
    assert by_arn[_arn("resize")].architecture == "arm64"
    assert by_arn[_arn("score")].memory_mb == 384
    assert by_arn[_arn("resize")].calls_per_execution == pytest.approx(10)
    assert by_arn[_arn("notify")].calls_per_execution == pytest.approx(2 / 3)
    # Two orders, o-0 twice and o-1 once: a weighted list, identical payloads merged
    enrich_payload = by_arn[_arn("enrich")].payload
    assert sorted((p["payload"]["order"], p["weight"]) for p in enrich_payload) == [("o-0", 2), ("o-1", 1)]
    assert by_arn[_arn("enrich")].payload_source == "history"
    # The payloads are what the handlers received
    received = {json.dumps(e, sort_keys=True) for e in world["handlers"].events["resize"]}
    assert {json.dumps(p["payload"], sort_keys=True) for p in by_arn[_arn("resize")].payload} == received
    assert len(plan.executions) == 3
    assert len(plan.observed_ms) == 3
    assert sorted(plan.observed_ms)[1] >= 900  # the two that waited 1 s in Pause
    # 3 executions: 9 or 7 states entered (+ the Map's 10 items), and one retry
    assert plan.state_transitions == pytest.approx((2 * (9 + 10) + (7 + 10) + 1) / 3)
    assert plan.region == REGION
    # AND the plan survives its wire form
    assert type(plan).from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


def test_a_payload_override_and_a_named_execution(world: dict[str, Any]) -> None:
    sfn, machine = world["sfn"], world["machine"]
    execution = _run(sfn, machine, "only", {"order": "o-9", "route": "ship"})
    plan = _read(world, _request(machine, executionArn=execution, payload={"ship": {"fixed": True}}))
    assert plan.executions == (execution,)
    ship = plan.function(_arn("ship"))
    assert ship.payload == {"fixed": True}
    assert ship.payload_source == "input"
    # notify never ran in that execution: its branch is not in the plan
    assert _arn("notify") not in [f.arn for f in plan.functions]
    child = plan.tuning_input(plan.function(_arn("validate")))
    assert child["payload"] == {"order": "o-9", "route": "ship"}
    assert child["strategy"] == "cost"
    assert child["autoOptimize"] is False


def _machine(world: dict[str, Any], name: str, definition: dict[str, Any]) -> str:
    created = world["sfn"].create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=world["role"]
    )
    return str(created["stateMachineArn"])


def test_refusals(world: dict[str, Any]) -> None:
    sfn, machine = world["sfn"], world["machine"]
    # not a state machine (none by that name)
    missing = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:nothing-here"
    with pytest.raises(WorkflowInputError, match="cannot read state machine"):
        _read(world, _request(missing))
    # one of the tuner's own
    with pytest.raises(WorkflowInputError, match="one of the tuner's own"):
        _read(world, _request(machine), own=(machine,))
    # no SUCCEEDED execution yet
    with pytest.raises(WorkflowInputError, match="no SUCCEEDED execution"):
        _read(world, _request(machine))
    # no Lambda task
    passes = _machine(world, "passes", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    _run(sfn, passes, "p-1", {})
    with pytest.raises(WorkflowInputError, match="no Lambda task"):
        _read(world, _request(passes))
    # an execution that did not succeed
    failing = _machine(world, "failing", {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "No"}}})
    failed = _run(sfn, failing, "f-1", {})
    with pytest.raises(WorkflowInputError, match="is FAILED: give a SUCCEEDED execution"):
        _read(world, _request(failing, executionArn=failed))
    # an execution of another state machine (built past from_dict, which refuses it by name already)
    foreign = WorkflowRequest(state_machine_arn=machine, max_duration_ms=100, execution_arn=failed)
    with pytest.raises(WorkflowInputError, match=r"is an execution of .*:failing, not of"):
        _read(world, foreign)
    # a nested workflow in another account
    other = "arn:aws:states:us-east-1:210987654321:stateMachine:theirs"
    nesting = {
        "StartAt": "Child",
        "States": {
            "Child": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": other, "Input": {}},
                "End": True,
            }
        },
    }
    with pytest.raises(WorkflowInputError, match="a workflow in another account"):
        _read(world, _request(_machine(world, "nesting", nesting)))
    # an EXPRESS state machine
    express = world["sfn"].create_state_machine(
        name="fast", definition=json.dumps(WORKFLOW), roleArn=world["role"], type="EXPRESS"
    )["stateMachineArn"]
    with pytest.raises(WorkflowInputError, match="EXPRESS"):
        _read(world, _request(express))


def test_a_function_that_cannot_be_read_names_its_state(world: dict[str, Any]) -> None:
    sfn, machine = world["sfn"], world["machine"]
    _run(sfn, machine, "r", {"order": "o", "route": "ship"})
    world["lambda"].delete_function(FunctionName="ship")
    with pytest.raises(WorkflowInputError, match=r"state Ship calls .*:function:ship, which cannot be read"):
        _read(world, _request(machine))


def test_a_payload_override_of_no_function_is_refused(world: dict[str, Any]) -> None:
    sfn, machine = world["sfn"], world["machine"]
    _run(sfn, machine, "r", {"order": "o", "route": "ship"})
    with pytest.raises(WorkflowInputError, match="payload names billing, which no Lambda task"):
        _read(world, _request(machine, payload={"billing": {}}))
