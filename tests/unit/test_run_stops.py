"""RunStops: the first unretried Executor failure of a run stops its other sizes; later ones wait."""

from __future__ import annotations

import json
import threading

import pytest

from powertuning import asl
from powertuning.local.run_stops import Failure, RunStops, executor_retried_errors

ARN = "arn:aws:lambda:us-east-1:123456789012:function:target"


class StoppableRuntime:
    """Records what RunStops asks of a runtime."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def stop(self, reason: str, function_name: str) -> None:
        self.calls.append(("stop", reason, function_name))

    def resume(self, function_name: str) -> None:
        self.calls.append(("resume", function_name))


def executor_event(memory: int, arn: str = ARN) -> str:
    return json.dumps({"item": {"value": memory, "run": {"functionArn": arn}, "request": {}}, "attempt": 0})


def error(error_type: str) -> str:
    return json.dumps({"errorType": error_type, "errorMessage": "..."})


def test_the_executors_retried_errors_come_from_the_state_machine():
    retried = executor_retried_errors(json.loads(asl.definition_text()))
    assert "ThrottledError" in retried
    assert "Lambda.TooManyRequestsException" in retried
    assert "TargetFunctionError" not in retried


def test_the_first_failure_stops_the_run_naming_its_size():
    runtime = StoppableRuntime()
    stops = RunStops(runtime, frozenset({"ThrottledError"}))
    stops.executor_failed(executor_event(256), error("TargetFunctionError"))
    reason = "the run stopped because 256 MB failed (TargetFunctionError)"
    assert runtime.calls == [("stop", reason, "target")]
    assert stops.failure("target") == Failure("target", 256, "TargetFunctionError")
    # WHEN its execution ends THEN the function runs again (another run of it may follow)
    stops.ended("target")
    assert runtime.calls[-1] == ("resume", "target")


@pytest.mark.parametrize(
    ("event", "body"),
    [
        (executor_event(256), error("ThrottledError")),  # retried: the run goes on
        ("not json", error("TargetFunctionError")),
        (json.dumps({"item": {"value": 256}}), error("TargetFunctionError")),
        (executor_event(256), "not json"),
    ],
)
def test_a_retried_or_unreadable_failure_stops_nothing(event, body):
    runtime = StoppableRuntime()
    stops = RunStops(runtime, frozenset({"ThrottledError"}))
    stops.executor_failed(event, body)
    assert runtime.calls == []
    assert stops.failure("target") is None


def test_a_later_failure_waits_for_the_execution_to_end():
    # GIVEN a run stopped by 256 MB
    runtime = StoppableRuntime()
    stops = RunStops(runtime, frozenset(), hold_s=60)
    stops.executor_failed(executor_event(256), error("TargetFunctionError"))
    # WHEN 512 MB fails too (stopped, or at the same moment)
    later = threading.Thread(
        target=stops.executor_failed, args=(executor_event(512), error("TargetFunctionError"))
    )
    later.start()
    later.join(0.2)
    # THEN it is held (the Map fails with 256 MB's error) until the execution ends, and stops nothing
    assert later.is_alive()
    stops.ended("target")
    later.join(60)  # a guard against a hang, not a timing check
    assert not later.is_alive()
    assert [call[0] for call in runtime.calls] == ["stop", "resume"]
    assert stops.failure("target") == Failure("target", 256, "TargetFunctionError")


def test_another_functions_run_is_not_held():
    runtime = StoppableRuntime()
    stops = RunStops(runtime, frozenset(), hold_s=60)
    stops.executor_failed(executor_event(256), error("TargetFunctionError"))
    other = ARN.replace(":target", ":other")
    stops.executor_failed(executor_event(1024, other), error("TargetFunctionError"))  # returns at once
    assert [call[2] for call in runtime.calls if call[0] == "stop"] == ["target", "other"]


def test_a_runtime_without_stop_is_left_alone():
    stops = RunStops(object(), frozenset())
    stops.executor_failed(executor_event(256), error("TargetFunctionError"))
    stops.ended("target")
    assert stops.failure("target") == Failure("target", 256, "TargetFunctionError")
