"""`powertune workflow`: flags -> the workflow input, refusals before anything starts (exit 2 naming
the flag), the exit code from a result (0 met, 3 unmet, 1 failed), what it prints, and `--plan` on a
plan object. The whole command against a deployed workflow tuner: tests/e2e/test_workflow_cli.py."""

from __future__ import annotations

import argparse
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from powertuning import aws
from powertuning.aws import executions
from powertuning.cli import build_parser, main
from powertuning.cli import workflow as command
from powertuning.cli.workflow_output import format_result, unmet_reason
from powertuning.cli.workflow_plan import price_plan
from powertuning.pricing import lambda_price
from powertuning.workflow.graph import Fixed, Map, Parallel, Sequence, Task
from powertuning.workflow.plan import PlannedFunction, WorkflowPlan
from powertuning.workflow.request import WorkflowRequest

ACCOUNT = "123456789012"
MACHINE = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:orders"
EXECUTION = f"arn:aws:states:us-east-1:{ACCOUNT}:execution:orders:run-1"
TUNER = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:PowerTuning-Workflow"
VALIDATE = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:validate"
RESIZE = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:resize"


def result(*, met: bool = True) -> dict[str, Any]:
    """A workflow result in the wire form WorkflowResult.to_dict() writes."""
    return {
        "met": met,
        "statistic": "p90",
        "maxDurationMs": 1500.0 if met else 100.0,
        "current": {"durationMs": 1800.0, "costPerExecution": 0.00004, "observedMs": 1790.5},
        "recommended": {"durationMs": 1400.0, "costPerExecution": 0.00003},
        "functions": [
            {
                "functionArn": VALIDATE,
                "currentMemory": 1024,
                "recommendedMemory": 256,
                "architecture": "x86_64",
                "costPerExecution": 0.000002,
                "shareOfTime": 0.1,
                "tuned": True,
            },
            {
                "functionArn": RESIZE,
                "currentMemory": 512,
                "recommendedMemory": 1536,
                "architecture": "arm64",
                "costPerExecution": 0.000025,
                "shareOfTime": 0.75,
                "tuned": True,
            },
        ],
        "criticalPath": ["Validate", "Images", "Resize"],
        "fixed": [{"state": "Wait", "reason": "Wait state", "ms": 200.0}],
        "steps": [
            {"state": "Validate", "type": "Task", "function": VALIDATE, "memory": 256, "shareOfTime": 0.1},
            {"state": "Wait", "type": "Fixed", "shareOfTime": 0.15},
            {"state": "Images", "type": "Map", "shareOfTime": 0.75},
            {
                "state": "Resize",
                "type": "Task",
                "function": RESIZE,
                "memory": 1536,
                "shareOfTime": 0.75,
                "parent": "Images",
            },
        ],
        "solver": {"method": "exact", "evaluated": 36, "maxGapPct": 0.0, "seconds": 0.25},
        "stateTransitions": 31.0,
        "executions": [EXECUTION],
    }


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["workflow", *argv])


class NoAws:
    """ClientFactory.client that fails the test: nothing may be called before the input is valid."""

    def __call__(self, *_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("an AWS client was created before the input was checked")


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aws.ClientFactory, "client", NoAws())
    monkeypatch.setattr(executions, "start_execution", NoAws())


def test_every_flag_becomes_its_workflow_input_key() -> None:
    # GIVEN every flag of a workflow input
    args = parse(
        MACHINE,
        "--execution-arn",
        EXECUTION,
        "--max-duration-ms",
        "1500",
        "--duration-statistic",
        "p90",
        "--power-values",
        "256,512,1024",
        "--num",
        "20",
        "--strategy",
        "balanced",
        "--payload",
        'validate={"id": 1}',
        "--payload",
        f"{RESIZE}=hello",
        "--auto-optimize",
        "--on-error",
        "skip",
    )
    # WHEN the input is built
    data = command.build_workflow_input(args)
    request = WorkflowRequest.from_dict(data)
    # THEN each flag set its key, and the tuner's validator reads them back
    assert request.state_machine_arn == MACHINE
    assert request.execution_arn == EXECUTION
    assert request.recent_executions is None
    assert (request.max_duration_ms, request.duration_statistic) == (1500.0, "p90")
    assert dict(request.tuning) == {"powerValues": [256, 512, 1024], "num": 20, "strategy": "balanced"}
    assert dict(request.payloads) == {"validate": {"id": 1}, RESIZE: "hello"}
    assert request.auto_optimize is True
    assert request.on_error == "skip"


def test_flags_override_the_input_file_and_one_source_of_executions_wins(tmp_path: Path) -> None:
    # GIVEN an input file with recentExecutions, a target, a payload and a key that has no flag
    document = tmp_path / "workflow.json"
    document.write_text(
        json.dumps(
            {
                "recentExecutions": 5,
                "maxDurationMs": 900,
                "parallelInvocation": True,
                "payload": {"validate": {"id": 0}, "resize": {"size": 1}},
            }
        )
    )
    payload = tmp_path / "p.json"
    payload.write_text('{"id": 7}')
    # WHEN flags name one execution, another target and one function's payload from a file
    data = command.build_workflow_input(
        parse(
            MACHINE,
            "--input-file",
            str(document),
            "--execution-arn",
            EXECUTION,
            "--latency-target-ms",
            "700",
            "--payload",
            f"validate=@{payload}",
        )
    )
    # THEN the flags win, the file's other keys stay, and the file's recentExecutions is dropped
    assert data["executionArn"] == EXECUTION
    assert "recentExecutions" not in data
    assert data["maxDurationMs"] == 700.0
    assert data["parallelInvocation"] is True
    assert data["payload"] == {"validate": {"id": 7}, "resize": {"size": 1}}


def test_defaults_are_the_tuners() -> None:
    request = WorkflowRequest.from_dict(
        command.build_workflow_input(parse(MACHINE, "--max-duration-ms", "1"))
    )
    assert request.recent_executions == 1
    assert request.execution_arn is None
    assert request.duration_statistic == "average"
    assert dict(request.tuning) == {"strategy": "cost"}
    assert request.auto_optimize is False
    assert request.on_error == "fail"


OTHER_EXECUTION = f"arn:aws:states:us-east-1:{ACCOUNT}:execution:payments:run-1"


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        ([MACHINE, "--max-duration-ms", "0"], "--max-duration-ms"),
        ([MACHINE, "--max-duration-ms", "-5"], "--max-duration-ms"),
        ([MACHINE], "--max-duration-ms"),
        ([MACHINE, "--max-duration-ms", "100", "--num", "3"], "--num"),
        ([MACHINE, "--max-duration-ms", "100", "--power-values", "64"], "--power-values"),
        ([MACHINE, "--max-duration-ms", "100", "--recent-executions", "21"], "--recent-executions"),
        ([MACHINE, "--max-duration-ms", "100", "--execution-arn", OTHER_EXECUTION], "--execution-arn"),
        ([MACHINE, "--max-duration-ms", "100", "--execution-arn", "run-1"], "--execution-arn"),
        ([MACHINE, "--max-duration-ms", "100", "--payload", "not a name!={}"], "--payload"),
        ([f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f", "--max-duration-ms", "100"], "STATE_MACHINE_ARN"),
    ],
)
def test_invalid_input_exits_2_naming_the_flag_and_starts_nothing(
    argv: list[str], named: str, no_aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN the command runs with one bad value
    code = main(["workflow", *argv])
    err = capsys.readouterr().err
    # THEN it exits 2 with the flag named, and no AWS client was ever made (NoAws would have failed)
    assert code == 2
    assert named in err, err


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--duration-statistic", "p42"], "--duration-statistic"),
        (["--on-error", "ignore"], "--on-error"),
        (["--strategy", "cheapest"], "--strategy"),
        (["--num", "ten"], "--num"),
        (["--power-values", "128,big"], "--power-values"),
        (["--payload", "{}"], "--payload"),
        (["--poll-interval", "0"], "--poll-interval"),
        (["--execution-arn", EXECUTION, "--recent-executions", "2"], "--recent-executions"),
    ],
)
def test_malformed_flags_are_refused_by_the_parser(
    argv: list[str], named: str, no_aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["workflow", MACHINE, "--max-duration-ms", "100", *argv])
    assert done.value.code == 2
    assert named in capsys.readouterr().err


def test_output_paths_are_checked_before_anything_starts(
    tmp_path: Path, no_aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["workflow", MACHINE, "--max-duration-ms", "100", "--report", str(tmp_path)])
    assert code == 2
    assert "--report" in capsys.readouterr().err
    missing = tmp_path / "no-such-folder" / "result.json"
    code = main(["workflow", MACHINE, "--max-duration-ms", "100", "--output-file", str(missing)])
    assert code == 2
    assert "--output-file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra",
    [["--plan", "--report", "r.html"], ["--no-wait", "--output-file", "r.json"], ["--plan", "--no-wait"]],
)
def test_flags_that_need_a_result_are_refused_with_plan_or_no_wait(
    extra: list[str], no_aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["workflow", MACHINE, "--max-duration-ms", "100", *extra]) == 2
    assert "need" in capsys.readouterr().err


class Started:
    """Records the execution started; `follow` ends it with `described`."""

    def __init__(self, described: dict[str, Any]) -> None:
        self.described = described
        self.inputs: list[tuple[str, dict[str, Any]]] = []

    def start(self, _sfn: Any, arn: str, _name: str, execution_input: dict[str, Any]) -> str:
        self.inputs.append((arn, execution_input))
        return f"{arn.replace(':stateMachine:', ':execution:')}:x"

    def follow(self, _sfn: Any, _arn: str, _on_event: Any, **_kwargs: Any) -> executions.Followed:
        return executions.Followed(self.described)


def started(monkeypatch: pytest.MonkeyPatch, described: dict[str, Any]) -> Started:
    fake = Started(described)
    monkeypatch.setattr(aws.ClientFactory, "client", lambda _self, *_a, **_k: object())
    monkeypatch.setattr(executions, "stack_output", lambda _cfn, _stack, key: TUNER)
    monkeypatch.setattr(executions, "start_execution", fake.start)
    monkeypatch.setattr(executions, "follow", fake.follow)
    return fake


@pytest.mark.parametrize(("met", "code"), [(True, 0), (False, 3)])
def test_the_exit_code_says_whether_the_target_is_met(
    met: bool, code: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a tuner whose execution succeeds with a met or an unmet result
    fake = started(monkeypatch, {"status": "SUCCEEDED", "output": json.dumps(result(met=met))})
    out_file = tmp_path / "result.json"
    # WHEN the workflow is tuned (the tuner found in the stack's output WorkflowArn)
    exit_code = main(
        [
            "workflow",
            MACHINE,
            "--max-duration-ms",
            "100",
            "--output-file",
            str(out_file),
            "--poll-interval",
            "1",
        ]
    )
    out, err = capsys.readouterr()
    # THEN the validated input went to the tuner, the result is printed and saved, and the code says met
    assert exit_code == code
    ((arn, sent),) = fake.inputs
    assert arn == TUNER
    assert sent["stateMachineArn"] == MACHINE
    assert sent["maxDurationMs"] == 100.0
    assert re.search(r"resize\s+512 MB\s+1536 MB", out)
    assert json.loads(out_file.read_text()) == result(met=met)
    assert ("latency target not met" in err) is (not met)


def test_a_failed_tuning_exits_1_with_its_error_and_cause(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started(monkeypatch, {"status": "FAILED", "error": "WorkflowTuningError", "cause": "resize: boom"})
    assert main(["workflow", MACHINE, "--max-duration-ms", "100", "--tuner-arn", TUNER]) == 1
    err = capsys.readouterr().err
    assert "Error: WorkflowTuningError" in err
    assert "Cause: resize: boom" in err


def test_an_output_that_is_no_result_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started(monkeypatch, {"status": "SUCCEEDED", "output": json.dumps({"power": 128})})
    assert main(["workflow", MACHINE, "--max-duration-ms", "100", "--tuner-arn", TUNER]) == 1
    assert "not a workflow result" in capsys.readouterr().err


def test_json_output_prints_the_result_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started(monkeypatch, {"status": "SUCCEEDED", "output": json.dumps(result())})
    assert (
        main(["workflow", MACHINE, "--max-duration-ms", "100", "--tuner-arn", TUNER, "--output", "json"]) == 0
    )
    assert json.loads(capsys.readouterr().out) == result()


def test_the_text_shows_each_function_now_and_recommended_and_the_end_to_end_figures() -> None:
    text = format_result(result())
    lines = text.splitlines()
    # a row per function: size now, recommended, architecture, share of time, cost
    assert re.search(
        r"^validate\s+1024 MB\s+256 MB\s+x86_64\s+10\.0%\s+\$0\.000002000\s+smaller$", text, re.M
    )
    assert re.search(r"^resize\s+512 MB\s+1536 MB\s+arm64\s+75\.0%\s+\$0\.000025000\s+larger$", text, re.M)
    assert (
        "End-to-end p90: 1,800.00 ms now (observed 1,790.50 ms) -> 1,400.00 ms recommended; "
        "target 1,500.00 ms: met" in lines
    )
    assert "Cost per execution: $0.000040000 now -> $0.000030000 recommended (25.0% less)" in lines
    assert "Critical path: Validate > Images > Resize" in lines
    assert "Held fixed: Wait (Wait state, 200.00 ms)" in lines
    assert "Solver: exact, 36 assignments evaluated in 0.25 s" in lines
    assert "Model read from 1 execution(s) of the workflow; 31 state transitions each" in lines


def test_an_unmet_target_and_a_skipped_function_are_said() -> None:
    unmet = result(met=False)
    unmet["functions"][1].update(tuned=False, error="TargetFunctionError: boom", recommendedMemory=512)
    unmet["solver"] = {"method": "bounded", "evaluated": 5000, "maxGapPct": 2.5, "seconds": 1.5}
    text = format_result(unmet)
    assert "target 100.00 ms: NOT met" in text
    assert "not tuned: TargetFunctionError: boom; keeps its size" in text
    assert "at most 2.5% dearer than the optimum" in text
    assert unmet_reason(unmet) == (
        "latency target not met: no assignment of the measured sizes has an end-to-end p90 <= 100 ms "
        "(--max-duration-ms); the fastest found, recommended above, has 1,400.00 ms"
    )


class FakeLambda:
    def __init__(self, timeouts: dict[str, int]) -> None:
        self.timeouts = timeouts

    def get_function_configuration(self, FunctionName: str) -> dict[str, Any]:  # noqa: N803 - boto3's
        name = FunctionName.split(":")[6]
        return {
            "FunctionArn": FunctionName,
            "FunctionName": name,
            "MemorySize": 1024,
            "Architectures": ["x86_64"],
            "Timeout": self.timeouts[name],
        }


class FakeCloudWatch:
    """validate: 1,000 calls of 200 ms on average in 14 days; resize: none."""

    def get_metric_data(self, MetricDataQueries: list[dict[str, Any]], **_kwargs: Any) -> dict[str, Any]:  # noqa: N803
        results = []
        for query in MetricDataQueries:
            name = query["MetricStat"]["Metric"]["Dimensions"][0]["Value"]
            values = {"i": [1000.0], "d": [200.0]}[query["Id"][0]] if name == "validate" else []
            results.append({"Id": query["Id"], "Values": values})
        return {"MetricDataResults": results}


def plan() -> WorkflowPlan:
    request = WorkflowRequest.from_dict(
        {"stateMachineArn": MACHINE, "maxDurationMs": 1500, "powerValues": [256, 512, 1024], "num": 10}
    )
    graph = Sequence(
        (
            Task("Validate", VALIDATE),
            Fixed("Wait", (200.0, 220.0), "Wait state"),
            Parallel(
                "Both", (Map("Images", Task("Resize", RESIZE), ((10, 1.0),), 3), Task("Again", VALIDATE))
            ),
        )
    )
    return WorkflowPlan(
        request=request,
        executions=(EXECUTION,),
        graph=graph,
        functions=(
            PlannedFunction(VALIDATE, 1024, "x86_64", {"id": 1}, "history", 2.0),
            PlannedFunction(RESIZE, 1024, "x86_64", [{"payload": {"s": 1}, "weight": 1}], "history", 10.0),
        ),
        observed_ms=(1700.0, 1900.0),
        state_transitions=31.0,
        region="us-east-1",
    )


def test_plan_prices_each_function_once_as_the_fleet_plan_does() -> None:
    # GIVEN a plan of two functions, one with recent traffic (200 ms average) and one without (timeout 3 s)
    priced = price_plan(
        plan(), lambda_client=FakeLambda({"validate": 30, "resize": 3}), cloudwatch=FakeCloudWatch()
    )
    validate, resize = priced.functions
    # THEN each child tuning is 3 sizes x 10 invocations, priced at the traffic's duration, else the timeout
    assert (validate.invocations, resize.invocations) == (30, 30)
    assert validate.duration_basis == "200.00 ms (CloudWatch, 14 days)"
    assert resize.duration_basis == "timeout 3 s (no recent traffic)"
    price = lambda_price("us-east-1", "x86_64")
    for priced_function, duration in ((validate, 200.0), (resize, 3000.0)):
        expected = sum(10 * price.invocation_cost(duration, size) for size in (256, 512, 1024))
        assert priced_function.lambda_cost == pytest.approx(expected, rel=1e-9)
        assert 0 < priced_function.step_functions_cost < 0.001
    document = priced.to_dict()
    assert document["totalEstimatedTuningCost"] == pytest.approx(validate.cost + resize.cost, abs=1e-6)
    assert document["fixed"] == [{"state": "Wait", "reason": "Wait state", "ms": 210.0}]
    assert [f["functionArn"] for f in document["functions"]] == [VALIDATE, RESIZE]
    text = priced.format()
    assert re.search(r"^validate\s+1024 MB\s+2\s+history\s+3\s+30\s+\$", text, re.M)
    assert "Held fixed: Wait (Wait state, 210.00 ms)" in text
    assert text.endswith("Nothing was started.")


def test_plan_mode_reads_the_workflow_and_starts_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a reader that returns the plan, and clients that are fakes
    from powertuning.workflow import reader

    seen: dict[str, Any] = {}

    def read_workflow(request: WorkflowRequest, **kwargs: Any) -> WorkflowPlan:
        seen.update(request=request, **kwargs)
        return plan()

    fakes = {"lambda": FakeLambda({"validate": 30, "resize": 3}), "cloudwatch": FakeCloudWatch()}
    monkeypatch.setattr(reader, "read_workflow", read_workflow)
    monkeypatch.setattr(aws.ClientFactory, "client", lambda _self, service, *_a: fakes.get(service, object()))
    monkeypatch.setattr(executions, "stack_output", lambda _cfn, _stack, key: f"{TUNER}-{key}")
    monkeypatch.setattr(executions, "start_execution", NoAws())
    # WHEN the plan is asked for as JSON
    code = main(["workflow", MACHINE, "--max-duration-ms", "1500", "--plan", "--output", "json"])
    # THEN it is printed, the reader was told the tuner's own machines, and nothing was started
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert len(printed["functions"]) == 2
    assert seen["request"].state_machine_arn == MACHINE
    assert f"{TUNER}-WorkflowArn" in seen["own_state_machines"]


class FakeS3:
    def __init__(self, objects: dict[tuple[str, str], Any]) -> None:
        self.objects = objects

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        return {"Body": io.BytesIO(json.dumps(self.objects[(Bucket, Key)]).encode())}


def test_a_result_too_large_for_the_output_is_read_whole_from_s3(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an output that left its steps out, pointing at the whole result in S3
    whole = result()
    trimmed = {k: v for k, v in whole.items() if k != "steps"}
    started(
        monkeypatch, {"status": "SUCCEEDED", "output": json.dumps({**trimmed, "resultS3": "s3://b/w/r.json"})}
    )
    s3 = FakeS3({("b", "w/r.json"): whole})
    monkeypatch.setattr(
        aws.ClientFactory, "client", lambda _self, service, *_a: s3 if service == "s3" else object()
    )
    out_file = tmp_path / "r.json"
    # WHEN the command ends
    code = main(
        ["workflow", MACHINE, "--max-duration-ms", "1", "--tuner-arn", TUNER, "--output-file", str(out_file)]
    )
    # THEN the whole result, steps included, is what it saved
    assert code == 0
    assert json.loads(out_file.read_text()) == whole
