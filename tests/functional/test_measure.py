"""Measuring one memory size: invocations, onError, allowedExceptions, payloads, parallelism, and
calls that stop before their Lambda's time runs out and continue from their progress."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

import pytest

from powertuning import lambda_api, measure
from powertuning.errors import LogParseError, ProcessorError, TargetFunctionError
from powertuning.inputs import TuningRequest
from powertuning.lifecycle.publish import publish_next
from powertuning.lifecycle.start import initialize
from powertuning.local.simulated import SimulatedRuntime, cpu_bound, report_line
from powertuning.local.target import FunctionSpec, InvokeResult
from powertuning.local.tuner_stack import RUNS_TABLE
from powertuning.logs import Report
from powertuning.measure import SAFETY_MS, FunctionFailure, Progress, payloads_for
from powertuning.pricing import lambda_price
from powertuning.run_state import PublishState, RunState
from powertuning.size_result import SizeResult

SECRET = {"card": "4111-1111-1111-1111"}


@dataclass
class ScriptedRuntime:
    """A target runtime answering each invocation with `answer(spec, event)`."""

    answer: Callable[[FunctionSpec, str], InvokeResult]
    mode: str = "scripted"

    def invoke(self, spec: FunctionSpec, event: str) -> InvokeResult:
        return self.answer(spec, event)

    def close(self) -> None:
        """Nothing to release."""


def failing_with(body: dict, below_mb: int = 10240) -> ScriptedRuntime:
    """Fails with `body` below `below_mb`, answers normally (10 ms) from there on."""

    def answer(spec: FunctionSpec, event: str) -> InvokeResult:
        if spec.memory_mb < below_mb:
            return InvokeResult(json.dumps(body), True, report_line("r", 3.0, spec.memory_mb, 60))
        return InvokeResult("null", False, report_line("r", 10.0, spec.memory_mb, 60))

    return ScriptedRuntime(answer)


@dataclass
class ConcurrencyProbe:
    """Records how many invocations run at once; each waits (up to 2 s) until `target` are running."""

    target: int
    active: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)
    mode: str = "probe"

    def invoke(self, spec: FunctionSpec, event: str) -> InvokeResult:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            if self.active >= self.target:
                self.enough.set()
        self.enough.wait(2)
        time.sleep(0.01)
        with self.lock:
            self.active -= 1
        return InvokeResult("null", False, report_line("r", 10.0, spec.memory_mb, 60))

    def close(self) -> None:
        """Nothing to release."""


def published(request: TuningRequest, lambda_client: Any, runs: Any) -> RunState:
    """The run's config, with every size published, as the Initializer and Publisher leave it."""
    config = initialize(request, lambda_client, (128,), runs_client=runs, runs_table=RUNS_TABLE)
    state = PublishState(power_values=config.power_values)
    while not state.done:
        state = publish_next(config, state, request, lambda_client, runs_client=runs, runs_table=RUNS_TABLE)
    return config


@pytest.fixture
def tune(aws, lambda_client, target_function):
    """`tune(**input)` -> (request, config) with every size published, ready to measure."""

    def setup(**extra):
        data = {"lambdaARN": target_function.arn, "num": 5, "powerValues": [128, 512], **extra}
        request = TuningRequest.from_dict(data)
        return request, published(request, lambda_client, aws.client("dynamodb"))

    return setup


def plenty() -> int:
    """The remaining time of an Executor call that has all the time it needs."""
    return 900_000


def measure_size(request, config, power, client, **kwargs) -> SizeResult:
    """One Executor call with all the time it needs: the size's result."""
    progress, result = measure.measure(request, config, power, client, remaining_ms=plenty, **kwargs)
    assert result is not None
    if not result.skipped:
        assert progress.completed == len(progress.reports) == result.invocations
    return result


def test_measures_num_invocations_at_the_alias_memory(tune, lambda_client, target_runtime):
    request, config = tune()
    result = measure_size(request, config, 512, lambda_client)
    # the default runtime models 100 ms of CPU work at 1,769 MB
    expected = 100.0 * 1769 / 512
    assert target_runtime.memories() == [512] * 5
    assert result.value == 512
    assert result.invocations == 5
    assert result.average_duration == pytest.approx(expected, abs=0.01)
    assert result.average_price == pytest.approx(
        lambda_price("us-east-1").invocation_cost(math.ceil(expected), 512)
    )
    assert result.errors == 0
    # the Executor call, the Choice after it, the Pass that ends the iteration
    assert result.transitions == 3


def test_first_invocation_of_an_alias_is_a_cold_start(tune, lambda_client, target_runtime):
    target_runtime.use(SimulatedRuntime(cpu_bound(100.0), init_ms=250.0))
    request, config = tune()
    result = measure_size(request, config, 512, lambda_client)
    assert result.cold_starts == 1
    # the cold start is paid for (INIT is billed) but trimmed out of the average
    assert result.total_cost > 5 * result.average_price


def test_json_log_format_is_measured_like_text(tune, lambda_client, target_runtime):
    def answer(spec, event):
        record = {
            "type": "platform.report",
            "record": {
                "metrics": {"durationMs": 42.5, "billedDurationMs": 43, "memorySizeMB": spec.memory_mb}
            },
        }
        return InvokeResult("null", False, json.dumps(record) + "\n")

    target_runtime.use(ScriptedRuntime(answer))
    request, config = tune()
    assert measure_size(request, config, 128, lambda_client).average_duration == 42.5


def test_missing_report_is_a_log_parse_error(tune, lambda_client, target_runtime):
    target_runtime.use(ScriptedRuntime(lambda spec, event: InvokeResult("null", False, "START\nEND\n")))
    request, config = tune()
    with pytest.raises(LogParseError, match="no REPORT"):
        measure_size(request, config, 128, lambda_client)


def test_region_and_architecture_set_the_price(aws, tune, lambda_client, target_runtime, lambda_role):
    request, config = tune()
    here = measure_size(request, config, 512, lambda_client)
    arm = measure_size(request, replace(config, architecture="arm64"), 512, lambda_client)
    # the same function in Hong Kong, priced there
    faraway = lambda_api.client("lambda", "ap-east-1")
    arn = faraway.create_function(
        FunctionName="target",
        Runtime="python3.13",
        Role=lambda_role,
        Handler="app.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        MemorySize=1024,
    )["FunctionArn"]
    remote = TuningRequest.from_dict({"lambdaARN": arn, "num": 5, "powerValues": [512]})
    dearer = measure_size(remote, published(remote, faraway, aws.client("dynamodb")), 512, faraway)
    assert dearer.average_duration == here.average_duration
    assert dearer.average_price > here.average_price > arm.average_price


def test_attempt_counts_as_transitions(tune, lambda_client, target_runtime):
    # two retries of the call before this one: three attempts, the Choice and the Pass
    request, config = tune()
    assert measure_size(request, config, 512, lambda_client, attempt=2).transitions == 5


def test_dry_run_invokes_once(tune, lambda_client, target_runtime):
    request, config = tune(dryRun=True)
    assert measure_size(request, config, 128, lambda_client).invocations == 1


# -- onError and allowedExceptions ------------------------------------------------------------------


def test_out_of_memory_fails_the_size_by_default(tune, lambda_client, target_runtime):
    # GIVEN a function that runs out of memory below 256 MB
    target_runtime.use(SimulatedRuntime(cpu_bound(100.0), min_memory_mb=256))
    request, config = tune()
    # WHEN measuring 128 MB with onError "fail" THEN the error names the size and the function's error
    with pytest.raises(TargetFunctionError, match=r"at 128 MB the function failed with Runtime.OutOfMemory"):
        measure_size(request, config, 128, lambda_client)


def test_out_of_memory_skips_the_size_with_on_error_skip(tune, lambda_client, target_runtime):
    target_runtime.use(SimulatedRuntime(cpu_bound(100.0), min_memory_mb=256))
    request, config = tune(onError="skip")
    result = measure_size(request, config, 128, lambda_client, attempt=1)
    assert result.skipped
    assert result.reason.startswith("Runtime.OutOfMemory: ")
    assert result.invocations == 0
    # the two attempts of the call, its Choice and the Pass, like a measured size
    assert result.transitions == 4
    # and the next size is measured normally
    assert not measure_size(request, config, 512, lambda_client).skipped


@pytest.mark.parametrize("fixture", ["error_timeout.json", "error_timeout_old_runtime.json"])
def test_timeouts_skip_the_size_on_every_runtime(tune, lambda_client, target_runtime, load_event, fixture):
    # GIVEN a timeout reported with an errorType (current runtimes) or only in the message (older ones)
    target_runtime.use(failing_with(load_event(fixture)["payload"]))
    request, config = tune(onError="skip")
    result = measure_size(request, config, 128, lambda_client)
    assert result.skipped
    assert result.reason.startswith("Sandbox.Timedout: ")
    assert "Task timed out after 3.00 seconds" in result.reason


def test_skip_does_not_hide_a_bug_in_the_function(tune, lambda_client, target_runtime, load_event):
    # GIVEN an error raised by the function's own code (not a resource limit)
    target_runtime.use(failing_with(load_event("error_handled.json")["payload"]))
    request, config = tune(onError="skip")
    # THEN onError "skip" does not apply: the run fails with the function's error
    with pytest.raises(TargetFunctionError, match="ValidationError: order 42 has no items"):
        measure_size(request, config, 128, lambda_client)


def test_allowed_exceptions_are_measured_and_counted(tune, lambda_client, target_runtime, load_event):
    # GIVEN a function failing its first two invocations with an allowed exception
    error = load_event("error_handled.json")["payload"]
    calls = []

    def answer(spec, event):
        calls.append(spec)
        if len(calls) <= 2:
            return InvokeResult(json.dumps(error), True, report_line("r", 3.0, spec.memory_mb, 60))
        return InvokeResult("null", False, report_line("r", 10.0, spec.memory_mb, 60))

    target_runtime.use(ScriptedRuntime(answer))
    request, config = tune(allowedExceptions=["ValidationError"], discardTopBottom=0.0)
    result = measure_size(request, config, 128, lambda_client)
    # THEN the failed invocations are measured (they were billed) and counted
    assert (result.invocations, result.errors) == (5, 2)
    assert not result.skipped
    assert result.average_duration == pytest.approx((2 * 3.0 + 3 * 10.0) / 5)


def test_a_size_whose_every_invocation_failed_is_skipped(tune, lambda_client, target_runtime, load_event):
    # Nothing measured the size working: it must never be recommended.
    target_runtime.use(failing_with(load_event("error_handled.json")["payload"]))
    request, config = tune(allowedExceptions=["ValidationError"])
    result = measure_size(request, config, 128, lambda_client)
    assert result.skipped
    assert result.reason == "every invocation failed with ValidationError (allowedExceptions)"
    assert result.invocations == 0
    assert result.transitions == 3
    assert target_runtime.memories() == [128] * 5


def test_allowed_exceptions_allow_only_the_named_types(tune, lambda_client, target_runtime, load_event):
    target_runtime.use(failing_with(load_event("error_handled.json")["payload"]))
    request, config = tune(allowedExceptions=["KeyError"])
    with pytest.raises(TargetFunctionError, match="ValidationError"):
        measure_size(request, config, 128, lambda_client)


def test_error_message_includes_the_payload_by_default(tune, lambda_client, target_runtime, load_event):
    target_runtime.use(failing_with(load_event("error_handled.json")["payload"]))
    request, config = tune(payload=SECRET)
    with pytest.raises(TargetFunctionError, match="4111-1111-1111-1111"):
        measure_size(request, config, 128, lambda_client)


def test_disable_payload_logs_keeps_the_payload_out_of_errors_and_logs(
    tune, lambda_client, target_runtime, load_event, caplog
):
    # GIVEN a sensitive payload and disablePayloadLogs
    target_runtime.use(failing_with(load_event("error_handled.json")["payload"], below_mb=256))
    request, config = tune(payload=SECRET, disablePayloadLogs=True)
    caplog.set_level(logging.DEBUG, logger="powertuning")
    # WHEN a size is measured and another fails
    measure_size(request, config, 512, lambda_client)
    with pytest.raises(TargetFunctionError) as caught:
        measure_size(request, config, 128, lambda_client)
    # THEN the error still says what failed, but the payload is nowhere
    assert "ValidationError: order 42 has no items" in str(caught.value)
    assert "4111" not in str(caught.value)
    assert not [r for r in caplog.records if "4111" in r.getMessage()]
    # while the function did receive it
    assert target_runtime.events()[0] == SECRET


def test_payloads_are_logged_without_disable_payload_logs(tune, lambda_client, target_runtime, caplog):
    request, config = tune(payload=SECRET)
    caplog.set_level(logging.INFO, logger="powertuning.measure")
    measure_size(request, config, 512, lambda_client)
    assert "4111-1111-1111-1111" in caplog.text


# -- payloads --------------------------------------------------------------------------------------


def test_the_same_payload_goes_to_every_invocation(tune, lambda_client, target_runtime):
    request, config = tune(payload={"order": 42})
    measure_size(request, config, 512, lambda_client)
    assert target_runtime.events() == [{"order": 42}] * 5


def test_a_payload_read_from_s3_replaces_the_input_payload(tune, lambda_client, target_runtime):
    request, config = tune()
    measure_size(request, config, 512, lambda_client, payload={"from": "s3"})
    assert target_runtime.events() == [{"from": "s3"}] * 5


def test_weighted_payloads_are_distributed_by_weight(tune, lambda_client, target_runtime):
    # GIVEN weights 3:1 over 8 invocations
    small, large = {"size": "small"}, {"size": "large"}
    request, config = tune(num=8, payload=[{"payload": small, "weight": 3}, {"payload": large, "weight": 1}])
    measure_size(request, config, 512, lambda_client)
    # THEN 6 invocations get the first payload and 2 the second
    counts = Counter(json.dumps(e, sort_keys=True) for e in target_runtime.events())
    assert counts == {json.dumps(small): 6, json.dumps(large): 2}


def test_payloads_for_plain_and_weighted():
    arn = "arn:aws:lambda:us-east-1:123456789012:function:target"
    plain = TuningRequest.from_dict({"lambdaARN": arn, "num": 5})
    assert payloads_for(plain, {"a": 1}) == [{"a": 1}] * 5
    weighted = TuningRequest.from_dict(
        {
            "lambdaARN": arn,
            "num": 5,
            "payload": [{"payload": "a", "weight": 1}, {"payload": "b", "weight": 4}],
        }
    )
    assert payloads_for(weighted, None) == ["a", "b", "b", "b", "b"]
    dry = TuningRequest.from_dict(
        {
            "lambdaARN": arn,
            "dryRun": True,
            "payload": [{"payload": "a", "weight": 1}, {"payload": "b", "weight": 4}],
        }
    )
    assert payloads_for(dry, None) == ["b"]


def test_pre_and_post_processors(tune, lambda_client, target_runtime, make_function):
    # GIVEN a pre-processor that adds a token and a post-processor that records what it saw
    make_function("pre")
    make_function("post")
    seen_by_post = []

    def pre(spec, event):
        return InvokeResult(json.dumps({**json.loads(event), "token": "t1"}), False, "")

    def post(spec, event):
        seen_by_post.append(json.loads(event))
        return InvokeResult("null", False, "")

    target_runtime.use(ScriptedRuntime(pre), "pre")
    target_runtime.use(ScriptedRuntime(post), "post")
    arn = "arn:aws:lambda:us-east-1:123456789012:function:"
    request, config = tune(payload={"n": 1}, preProcessorARN=arn + "pre", postProcessorARN=arn + "post")
    # WHEN measuring
    measure_size(request, config, 512, lambda_client)
    # THEN the target got the processed payload and the post-processor got the target's output
    assert target_runtime.events() == [{"n": 1, "token": "t1"}] * 5
    assert seen_by_post == [{"echo": {"n": 1, "token": "t1"}}] * 5


@pytest.mark.parametrize("private", [False, True])
def test_a_failing_pre_processor_hides_what_it_said_with_disable_payload_logs(
    tune, lambda_client, target_runtime, make_function, private
):
    # GIVEN a pre-processor whose error echoes the (sensitive) event it was given
    make_function("pre")

    def pre(spec, event):
        return InvokeResult(json.dumps({"errorMessage": f"bad event {event}"}), True, "")

    target_runtime.use(ScriptedRuntime(pre), "pre")
    arn = "arn:aws:lambda:us-east-1:123456789012:function:pre"
    request, config = tune(payload=SECRET, preProcessorARN=arn, disablePayloadLogs=private)
    with pytest.raises(ProcessorError) as caught:
        measure_size(request, config, 512, lambda_client)
    # THEN the error names the processor, and the payload only when payload logs are allowed
    assert str(caught.value).startswith(f"preProcessorARN {arn} failed")
    assert ("4111-1111-1111-1111" in str(caught.value)) is not private
    assert target_runtime.memories() == []


def test_only_cold_starts_invokes_each_alias_once(tune, lambda_client, target_runtime):
    target_runtime.use(SimulatedRuntime(cpu_bound(100.0), init_ms=200.0))
    request, config = tune(onlyColdStarts=True, powerValues=[512])
    result = measure_size(request, config, 512, lambda_client)
    versions = [spec.version for spec, _ in target_runtime.invocations]
    assert len(set(versions)) == 5
    assert result.cold_starts == 5


def test_sleep_between_runs(tune, lambda_client, target_runtime, monkeypatch):
    slept = []
    monkeypatch.setattr(measure.time, "sleep", slept.append)
    request, config = tune(sleepBetweenRunsMs=250)
    measure_size(request, config, 512, lambda_client)
    # after every invocation, the last one too, as the reference tool sleeps
    assert slept == [0.25] * 5


def test_sleep_has_no_effect_with_parallel_invocation(tune, lambda_client, target_runtime, monkeypatch):
    slept = []
    monkeypatch.setattr(measure.time, "sleep", slept.append)
    request, config = tune(sleepBetweenRunsMs=250, parallelInvocation=True)
    measure_size(request, config, 512, lambda_client)
    assert slept == []


# -- parallel invocations --------------------------------------------------------------------------


def test_parallel_invocations_respect_max_concurrency(tune, lambda_client, target_runtime):
    # GIVEN a runtime in which each invocation waits until two are running at once
    probe = target_runtime.use(ConcurrencyProbe(target=2))
    request, config = tune(num=6, parallelInvocation=True, maxConcurrency=2)
    # WHEN measuring in parallel with maxConcurrency 2
    result = measure_size(request, config, 512, lambda_client)
    # THEN two ran at once and never more
    assert probe.peak == 2
    assert result.invocations == 6


def test_parallel_invocations_without_a_cap_run_all_at_once(tune, lambda_client, target_runtime):
    probe = target_runtime.use(ConcurrencyProbe(target=5))
    request, config = tune(num=5, parallelInvocation=True)
    assert measure_size(request, config, 512, lambda_client).invocations == 5
    assert probe.peak == 5


def test_sequential_invocations_run_one_at_a_time(tune, lambda_client, target_runtime):
    probe = target_runtime.use(ConcurrencyProbe(target=1))
    request, config = tune()
    measure_size(request, config, 512, lambda_client)
    assert probe.peak == 1


def test_parallel_failure_still_fails_the_size(tune, lambda_client, target_runtime):
    target_runtime.use(SimulatedRuntime(cpu_bound(100.0), min_memory_mb=256))
    request, config = tune(parallelInvocation=True, maxConcurrency=3)
    with pytest.raises(TargetFunctionError, match=r"Runtime\.OutOfMemory"):
        measure_size(request, config, 128, lambda_client)


# -- FunctionFailure -------------------------------------------------------------------------------


def test_failure_from_lambda_error_payloads(load_event):
    oom = FunctionFailure.from_payload(
        "Unhandled", json.dumps(load_event("error_out_of_memory.json")["payload"])
    )
    assert oom.error_type == "Runtime.OutOfMemory"
    assert oom.is_resource_limit
    old = FunctionFailure.from_payload(
        "Unhandled", json.dumps(load_event("error_timeout_old_runtime.json")["payload"])
    )
    assert old.error_type == "Sandbox.Timedout"
    assert old.is_resource_limit
    handled = FunctionFailure.from_payload("Handled", json.dumps(load_event("error_handled.json")["payload"]))
    assert (handled.error_type, handled.message) == ("ValidationError", "order 42 has no items")
    assert not handled.is_resource_limit


def test_failure_from_a_payload_that_is_not_json():
    failure = FunctionFailure.from_payload("Unhandled", "segfault")
    assert (failure.error_type, failure.message) == ("Unhandled", "segfault")
    assert FunctionFailure.from_payload("Unhandled", "Task timed out after 1.00 seconds").is_resource_limit


def test_python_memory_error_is_a_resource_limit():
    body = json.dumps({"errorType": "MemoryError", "errorMessage": ""})
    assert FunctionFailure.from_payload("Unhandled", body).is_resource_limit


@pytest.mark.parametrize(
    ("payload", "body"),
    [
        (None, b"null"),
        ({"id": 1}, b'{"id": 1}'),
        ('{"id": 1}', b'{"id": 1}'),
        ("hello", b'"hello"'),
        ([1, 2], b"[1, 2]"),
        (42, b"42"),
    ],
)
def test_payloads_are_encoded_as_the_reference_tool_sends_them(payload, body):
    # A string that holds JSON is sent as it is; anything else is JSON-encoded; nothing sends null.
    assert measure.encode_payload(payload) == body


# -- calls that stop before their time runs out --------------------------------------------------------


@dataclass
class LambdaClock:
    """The Executor's clock: each invocation of the target takes `step_ms` of it."""

    step_ms: float
    now_ms: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def monotonic(self) -> float:
        return self.now_ms / 1000

    def remaining(self, timeout_ms: float) -> Callable[[], int]:
        """`remaining_ms` of a call given `timeout_ms` from now: it drops as invocations run."""
        deadline = self.now_ms + timeout_ms
        return lambda: int(deadline - self.now_ms)

    def runtime(self, inner: Any) -> ScriptedRuntime:
        def answer(spec: FunctionSpec, event: str) -> InvokeResult:
            with self.lock:
                self.now_ms += self.step_ms
            return inner.invoke(spec, event)

        return ScriptedRuntime(answer)


@pytest.fixture
def clock(target_runtime, monkeypatch):
    """Invocations of 10 s on the Executor's clock (the target itself answers as usual)."""
    lambda_clock = LambdaClock(step_ms=10_000)
    monkeypatch.setattr(
        measure, "time", SimpleNamespace(monotonic=lambda_clock.monotonic, sleep=lambda _s: None)
    )
    target_runtime.use(lambda_clock.runtime(target_runtime.default))
    return lambda_clock


def run_calls(request, config, power, client, clock, *, timeout_ms, **kwargs):
    """Call `measure` as the state machine does until the size is done, progress on the wire between
    calls; returns (the progress of each call that stopped, the result)."""
    stopped: list[Progress] = []
    progress = None
    for _ in range(50):
        progress, result = measure.measure(
            request,
            config,
            power,
            client,
            remaining_ms=clock.remaining(timeout_ms),
            progress=progress,
            **kwargs,
        )
        if result is not None:
            return stopped, result
        stopped.append(progress)
        progress = Progress.from_dict(json.loads(json.dumps(progress.to_dict())), power)
    raise AssertionError(f"no result after {len(stopped)} calls")


def test_a_call_stops_before_its_time_runs_out_and_the_next_continues(tune, lambda_client, clock):
    # GIVEN invocations of 10 s and Executor calls of 60 s (40 s usable once SAFETY_MS is kept)
    assert SAFETY_MS == 20_000
    request, config = tune(num=7)
    # WHEN the size is measured call after call
    stopped, result = run_calls(request, config, 512, lambda_client, clock, timeout_ms=60_000)
    # THEN each call stopped while one more invocation (taken as 1.5 x the slowest) could still fit
    assert [p.completed for p in stopped] == [3, 6]
    assert [len(p.reports) for p in stopped] == [3, 6]
    # AND every invocation ran exactly once, with the same result as one long call
    assert clock.now_ms == 7 * 10_000
    assert result.invocations == 7
    single = measure_size(request, config, 512, lambda_client)
    assert replace(result, transitions=0) == replace(single, transitions=0)
    # AND the transitions count all three calls with their Choice, then the Pass
    assert (result.transitions, single.transitions) == (3 * 2 + 1, 3)


def test_a_call_always_makes_progress_even_when_short_of_time(tune, lambda_client, clock):
    # A call that starts with less than SAFETY_MS left still runs one invocation (else no progress).
    request, config = tune()
    progress, result = measure.measure(
        request, config, 512, lambda_client, remaining_ms=clock.remaining(SAFETY_MS - 5_000)
    )
    assert result is None
    assert progress.completed == 1


def test_parallel_calls_stop_between_waves(tune, lambda_client, clock):
    # GIVEN waves of 2 parallel invocations (each wave 20 s on this clock) and 65 s calls
    request, config = tune(num=8, parallelInvocation=True, maxConcurrency=2)
    stopped, result = run_calls(request, config, 512, lambda_client, clock, timeout_ms=65_000)
    # THEN a call ends on a whole wave: 2 waves fit in 45 s (20 + 1.5 x 20 = 50 > 45 after one)
    assert [p.completed for p in stopped] == [2, 4, 6]
    assert result.invocations == 8


def test_errors_and_cold_starts_carry_over_between_calls(tune, lambda_client, target_runtime, monkeypatch):
    # GIVEN a cold start at each alias's first invocation and an allowed error on the 2nd and 5th
    lambda_clock = LambdaClock(step_ms=10_000)
    monkeypatch.setattr(
        measure, "time", SimpleNamespace(monotonic=lambda_clock.monotonic, sleep=lambda _s: None)
    )
    seen: list[int] = []

    def answer(spec, event):
        seen.append(spec.memory_mb)
        init = 250.0 if len(seen) == 1 else 0.0
        log = report_line("r", 40.0 + len(seen), spec.memory_mb, 60, init_ms=init)
        failed = len(seen) in (2, 5)
        body = json.dumps({"errorType": "ValidationError", "errorMessage": "x"}) if failed else "null"
        return InvokeResult(body, failed, log)

    target_runtime.use(lambda_clock.runtime(ScriptedRuntime(answer)))
    request, config = tune(num=6, allowedExceptions=["ValidationError"])
    stopped, result = run_calls(request, config, 512, lambda_client, lambda_clock, timeout_ms=50_000)
    assert [p.completed for p in stopped] == [2, 4]
    assert stopped[0].errors == 1
    assert stopped[0].error_type == "ValidationError"
    # THEN the result counts every error and the one cold start, whichever call saw them
    assert (result.invocations, result.errors, result.cold_starts) == (6, 2, 1)


def test_progress_wire_form_is_compact_and_round_trips():
    reports = (
        Report(duration_ms=12.345, billed_duration_ms=13, memory_size_mb=512, max_memory_used_mb=70),
        Report(
            duration_ms=10.0,
            billed_duration_ms=11,
            memory_size_mb=512,
            max_memory_used_mb=71,
            init_duration_ms=250.5,
        ),
    )
    progress = Progress(completed=2, reports=reports, errors=1, error_type="KeyError", transitions=4)
    wire = progress.to_dict()
    # each report a short list: trailing zeros dropped, whole numbers as integers
    assert wire["reports"] == [[12.35, 13, 0, 70], [10, 11, 250.5, 71]]
    assert json.loads(json.dumps(wire)) == wire
    back = Progress.from_dict(wire, 512)
    assert (back.completed, back.errors, back.error_type, back.transitions) == (2, 1, "KeyError", 4)
    assert back.reports[1] == reports[1]
    assert back.reports[0].duration_ms == 12.35
    assert Progress.from_dict({}, 512) == Progress()
