"""What the CLI prints: the results table, the comparison, gates, progress lines, client settings."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import pytest

from powertuning.analysis import LatencyTarget, recommend
from powertuning.aws import ClientFactory, region_of
from powertuning.aws.executions import state_machine_from_stack
from powertuning.cli.output import dry_run_summary, format_comparison, format_table, render_rows
from powertuning.cli.progress import Progress
from powertuning.cli.run import gate_failures
from powertuning.errors import StateMachineNotFoundError
from powertuning.report import TuningResult
from powertuning.report.result import ResultFormatError
from powertuning.size_result import SizeResult


def measured(value: int, duration: float, price: float) -> SizeResult:
    """A measured size."""
    return SizeResult(
        value=value, average_price=price, average_duration=duration, p50=duration, p90=duration * 1.5,
        p99=duration * 2, invocations=10, total_cost=price * 10,
    )  # fmt: skip


SIZES = [measured(128, 800.0, 2.0e-6), measured(512, 150.0, 1.5e-6), measured(1024, 90.0, 1.8e-6)]


def output(include_stats: bool = True, extra: tuple[SizeResult, ...] = ()) -> dict[str, Any]:
    """An execution output made by the core's `recommend` (cost strategy: 512 MB)."""
    return recommend(
        [*SIZES, *extra], strategy="cost", balanced_weight=0.5, region="us-east-1", transitions=20,
        include_stats=include_stats,
    ).to_dict()  # fmt: skip


def test_table_marks_the_recommendation_and_the_current_memory():
    text = format_table(output(), current_memory=128)
    lines = text.splitlines()
    assert lines[0].split() == ["Memory", "Avg", "duration", "p90", "duration", "Cost/invocation",
                                "Cost/1M", "invocations", "Note"]  # fmt: skip
    rows = {line.split()[1] if line.startswith("*") else line.split()[0]: line for line in lines[2:5]}
    assert rows["512"].startswith("*  ")
    assert "150.00 ms" in rows["512"]
    assert "225.00 ms" in rows["512"]
    assert "$0.000001500" in rows["512"]
    assert "$1.50" in rows["512"]
    assert rows["128"].endswith("current")
    assert "* recommended: 512 MB (150.00 ms average, $0.000001500 per invocation, $1.50 per 1M)" in text
    assert "current memory: 128 MB (differs from recommended)" in text
    assert "Tuning cost: $0.000553 ($0.000500 Step Functions + $0.000053 Lambda)" in text


def test_costs_in_a_china_region_are_written_in_cny():
    # GIVEN an output priced in cn-north-1 (CNY; the visualization link says ?currency=CNY)
    china = recommend(
        SIZES, strategy="cost", balanced_weight=0.5, region="cn-north-1", transitions=20, include_stats=True
    ).to_dict()
    result = TuningResult.from_dict(china)
    # THEN the table and the report write ¥, never $
    assert result.currency == "CNY"
    text = format_table(result)
    assert "¥0.000001500" in text
    assert "$" not in text.replace(result.visualization, "")
    assert TuningResult.from_dict(output()).currency == "USD"


def test_a_dry_run_prints_a_line_and_has_no_table_or_report():
    dry = {"dryRun": True, "stateMachine": {"executionCost": 0.000225, "lambdaCost": 2.1e-7}}
    assert "no recommendation" in (dry_run_summary(dry) or "")
    assert dry_run_summary(output()) is None
    with pytest.raises(ResultFormatError, match="a dry run recommends nothing"):
        TuningResult.from_dict(dry)


def test_table_shows_skipped_sizes_and_unknown_percentiles():
    oom = SizeResult(value=64, skipped=True, reason="Runtime.OutOfMemory")
    text = format_table(output(include_stats=False, extra=(oom,)))
    assert "64 MB       skipped" in text
    assert "  64 MB skipped: Runtime.OutOfMemory" in text
    row = next(line for line in text.splitlines() if line.startswith("*"))
    assert " - " in row  # no p90 without stats


def test_render_rows_pads_and_aligns():
    text = render_rows(["a", "bb"], [["xxx", "1"], ["y", "22"]], [False, True])
    assert text.splitlines() == ["a    bb", "---  --", "xxx   1", "y    22"]


def test_comparison_says_which_is_cheaper():
    a = TuningResult.from_dict(output(), label="x86_64")
    cheaper = [measured(s.value, s.average_duration, s.average_price * 0.8) for s in SIZES]
    b_output = recommend(
        cheaper, strategy="cost", balanced_weight=0.5, region="us-east-1", transitions=20, include_stats=True
    ).to_dict()
    b = TuningResult.from_dict(b_output, label="arm64")
    text = format_comparison([a, b])
    assert text.splitlines()[0].split()[:5] == ["Memory", "x86_64", "avg", "x86_64", "cost/1M"]
    assert "150.00 ms *" in text
    assert "arm64 at 512 MB costs 20.0% less per invocation than x86_64 at 512 MB" in text


@pytest.mark.parametrize(
    ("gates", "expected"),
    [
        ({}, []),
        ({"max_cost": 0.000002, "max_duration_ms": 150.0, "current_memory": 512}, []),
        ({"max_cost": 0.000001}, ["cost per invocation $0.000001500 at 512 MB is above"]),
        ({"max_duration_ms": 100.0}, ["average duration 150.00 ms at 512 MB is above --max-duration-ms 100"]),
        ({"current_memory": 1024}, ["the function has 1024 MB but 512 MB is recommended"]),
        ({"max_cost": 1e-9, "max_duration_ms": 1.0}, ["cost per invocation", "average duration"]),
    ],
)
def test_gate_failures(gates, expected):
    failures = gate_failures(TuningResult.from_dict(output()), **gates)
    assert len(failures) == len(expected)
    for failure, start in zip(failures, expected, strict=True):
        assert failure.startswith(start)


def _event(event_id: int, kind: str, previous: int = 0, **details: Any) -> dict[str, Any]:
    return {"id": event_id, "previousEventId": previous, "type": kind, **details}


def test_progress_tells_states_done_and_sizes_being_measured():
    # GIVEN history events as GetExecutionHistory returns them
    run = {"powerValues": [128, 512]}
    publish = {"powerValues": [128, 512], "index": 2, "continue": False}
    result = {"value": 512, "averageDuration": 150.0, "averagePrice": 1.5e-6, "invocations": 10}
    executor_out = {"value": 512, "run": run, "progress": {"done": True, "result": result}}
    events = [
        _event(1, "ExecutionStarted"),
        _event(2, "TaskStateExited", 1, stateExitedEventDetails={
            "name": "Initializer", "output": json.dumps({"run": run})}),
        _event(3, "TaskStateExited", 2, stateExitedEventDetails={
            "name": "Publisher", "output": json.dumps({"run": run, "publish": publish})}),
        _event(4, "TaskStateEntered", 3, stateEnteredEventDetails={
            "name": "Executor", "input": json.dumps({"value": 128, "run": {}})}),
        _event(5, "TaskStateEntered", 3, stateEnteredEventDetails={
            "name": "Executor", "input": json.dumps({"value": 512, "run": {}})}),
        _event(6, "TaskStateExited", 5, stateExitedEventDetails={
            "name": "Executor", "output": json.dumps(executor_out)}),
        _event(7, "LambdaFunctionScheduled", 4),
        _event(8, "LambdaFunctionFailed", 7, lambdaFunctionFailedEventDetails={
            "error": "TargetFunctionError", "cause": json.dumps({"errorMessage": "at 128 MB it broke"})}),
        _event(9, "TaskStateEntered", 8, stateEnteredEventDetails={
            "name": "CleanUpOnError", "input": json.dumps({"error": {"Error": "TargetFunctionError"}})}),
        _event(10, "ExecutionFailed", 9),
    ]  # fmt: skip
    stream = io.StringIO()
    ticks = iter(range(100))
    progress = Progress(stream, clock=lambda: float(next(ticks)))

    # WHEN each is handled
    for event in events:
        progress(event)

    # THEN one line per step worth telling, with the time since the start
    lines = stream.getvalue().splitlines()
    assert lines[0] == "[    1.0s] execution started"
    assert lines[1].endswith("Initializer done: 2 memory sizes to test (128, 512 MB)")
    assert lines[2].endswith("Publisher   done: 512 MB published (2/2)")
    assert lines[3].endswith("Executor    measuring 128 MB")
    assert lines[5].endswith(
        "Executor    512 MB measured: 150.00 ms average, $0.000001500 per invocation, 10 invocations "
        "[1/2; still measuring 128 MB]"
    )
    # A failing Lambda call is named after the state that scheduled it.
    assert lines[6].endswith("Executor failed: TargetFunctionError: at 128 MB it broke")
    assert lines[7].endswith("tuning failed: cleaning up what this run created")
    assert lines[8].endswith("execution failed")


def test_progress_survives_truncated_history_payloads():
    stream = io.StringIO()
    progress = Progress(stream)
    progress(_event(1, "TaskStateExited", stateExitedEventDetails={"name": "Initializer", "output": '{"lam'}))
    assert stream.getvalue().endswith("] Initializer done\n")


def test_client_factory_honours_region_and_endpoint(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    default = ClientFactory(endpoint_url="http://localhost:5000").client("stepfunctions", "eu-west-3")
    assert default.meta.endpoint_url == "http://localhost:5000"
    assert default.meta.region_name == "eu-west-3"
    pinned = ClientFactory(region="ap-south-1").client("lambda", "eu-west-3")
    assert pinned.meta.region_name == "ap-south-1"  # --region wins over the ARN's region


def test_region_of():
    assert region_of("arn:aws:lambda:eu-west-1:123456789012:function:f") == "eu-west-1"
    assert region_of("not-an-arn") is None
    assert region_of(None) is None


class _Stacks:
    def __init__(self, outputs: dict[str, str]) -> None:
        self.outputs = outputs

    def describe_stacks(self, StackName: str) -> dict[str, Any]:  # noqa: N803 (boto3's keyword)
        outputs = [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()]
        return {"Stacks": [{"StackName": StackName, "Outputs": outputs}]}


def test_state_machine_output_is_found_by_its_key():
    assert (
        state_machine_from_stack(_Stacks({"TunerStateMachineArn1A2B": "arn:1", "Url": "x"}), "s") == "arn:1"
    )
    assert (
        state_machine_from_stack(_Stacks({"StateMachineArn": "arn:2", "OtherStateMachineArn": "x"}), "s")
        == "arn:2"
    )
    with pytest.raises(StateMachineNotFoundError, match="several state machine outputs"):
        state_machine_from_stack(_Stacks({"AStateMachineArn": "a", "BStateMachineArn": "b"}), "s")


def test_table_shows_the_latency_targets_percentile_and_whether_it_was_met():
    # GIVEN a cost run whose p99 target only 1024 MB meets (p99 180 ms)
    document = recommend(
        SIZES, strategy="cost", balanced_weight=0.5, region="us-east-1", transitions=20,
        include_stats=True, target=LatencyTarget(200.0, "p99"),
    ).to_dict()  # fmt: skip
    text = format_table(document)
    # THEN the percentile column is the target's, and a line says the target was met
    assert "p99 duration" in text.splitlines()[0]
    assert "* recommended: 1024 MB" in text
    assert "latency target p99 <= 200 ms met (1024 MB: p99 180.00 ms)" in text
    result = TuningResult.from_dict(document)
    assert gate_failures(result) == []
    # AND an unmet target is a gate failure with the closest size
    unmet = TuningResult.from_dict(
        {**document, "constraint": {**document["constraint"], "met": False, "sizesMeetingTarget": []}}
    )
    assert gate_failures(unmet) == [
        "latency target not met: no size has p99 <= 200 ms (maxDurationMs, --latency-target-ms); "
        "the closest, 1024 MB, has p99 180.00 ms"
    ]


def test_speed_missing_a_target_other_sizes_meet_says_which_do():
    # GIVEN speed picks 1024 MB (fastest average, p99 180 ms) but only 512 MB has p99 <= 150 ms
    sizes = [SIZES[0], replace(SIZES[1], p99=140.0), SIZES[2]]
    document = recommend(
        sizes, strategy="speed", balanced_weight=0.5, region="us-east-1", transitions=20,
        include_stats=True, target=LatencyTarget(150.0, "p99"),
    ).to_dict()  # fmt: skip
    result = TuningResult.from_dict(document)
    # THEN the table and the gate say the recommendation misses it and which sizes meet it
    assert "latency target p99 <= 150 ms NOT met by the recommended size (met by 512 MB)" in format_table(
        result
    )
    assert gate_failures(result) == [
        "latency target not met: 1024 MB has p99 180.00 ms, above 150 ms (maxDurationMs, "
        "--latency-target-ms); 512 MB would meet it (strategy speed ignores the target)"
    ]
