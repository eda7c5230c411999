"""The Executor handler against moto, the target answered in-process through moto's invoke seam."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest

from lambdas import executor
from powertuning import measure
from powertuning.errors import PayloadError, TargetFunctionError
from powertuning.local.simulated import SimulatedRuntime, cpu_bound
from powertuning.pricing import lambda_price


@pytest.fixture
def published(start_run, publish):
    """`published(**input)` -> the state after the Initializer and the whole Publisher loop."""

    def run(**extra):
        return publish(start_run(**{"powerValues": [128, 512], "num": 5, **extra}))

    return run


def map_item(state, value, attempt=0, progress=None):
    """The Executor's event, as the Map state's ItemSelector and Parameters build it."""
    item = {"value": value, "request": state["request"], "run": state["run"]}
    if progress is not None:
        item["progress"] = progress
    return {"item": item, "attempt": attempt}


def measured(out):
    """The SizeResult dict of a call that finished its size."""
    assert out["done"] is True
    return out["result"]


def test_measures_one_size(published, target_runtime, lambda_context):
    # GIVEN every size published WHEN the Map runs the Executor for 512 MB
    out = executor.handler(map_item(published(), 512), lambda_context)
    # THEN the target ran num times at 512 MB and the item of $.results describes it
    assert target_runtime.memories() == [512] * 5
    result = measured(out)
    duration = 100.0 * 1769 / 512
    assert result["value"] == 512
    assert result["invocations"] == 5
    assert result["averageDuration"] == pytest.approx(duration, abs=0.01)
    assert result["averagePrice"] == pytest.approx(
        lambda_price("us-east-1").invocation_cost(math.ceil(duration), 512)
    )
    assert {"p50", "p90", "p99", "coldStarts", "errors", "totalCost", "transitions"} <= set(result)
    assert json.loads(json.dumps(out)) == out


def test_transitions_count_the_call_its_choice_and_the_final_pass(published, target_runtime, lambda_context):
    assert measured(executor.handler(map_item(published(), 128), lambda_context))["transitions"] == 3


def test_retry_attempt_is_counted(published, target_runtime, lambda_context):
    assert (
        measured(executor.handler(map_item(published(), 128, attempt=1), lambda_context))["transitions"] == 4
    )


class Clock:
    """A Lambda clock: each invocation of the target takes `step_ms`; each Executor call is given
    `timeout_ms` from the moment it starts."""

    def __init__(self, step_ms: float) -> None:
        self.now_ms = 0.0
        self.step_ms = step_ms

    def monotonic(self) -> float:
        return self.now_ms / 1000

    def context(self, timeout_ms: float) -> SimpleNamespace:
        deadline = self.now_ms + timeout_ms
        return SimpleNamespace(get_remaining_time_in_millis=lambda: int(deadline - self.now_ms))

    def advancing(self, runtime):
        clock = self

        class Advancing:
            mode = "simulated"

            def invoke(self, spec, event):
                clock.now_ms += clock.step_ms
                return runtime.invoke(spec, event)

            def close(self):
                pass

        return Advancing()


def test_a_call_short_of_time_stops_and_the_next_continues_to_the_same_result(
    published, target_runtime, lambda_context, monkeypatch
):
    # GIVEN invocations of 30 s and Executor calls of 100 s (80 s once the safety margin is kept)
    clock = Clock(step_ms=30_000)
    monkeypatch.setattr(measure, "time", SimpleNamespace(monotonic=clock.monotonic, sleep=lambda _s: None))
    target_runtime.use(clock.advancing(target_runtime.default))
    state = published(num=5)
    # WHEN the first call runs, its remaining time dropping with each invocation
    first = executor.handler(map_item(state, 512), clock.context(100_000))
    # THEN it stops before a third invocation could outlast it, and returns its progress
    assert first["done"] is False
    assert first["completed"] == 2
    assert len(first["reports"]) == 2
    assert target_runtime.memories() == [512] * 2
    # WHEN the Choice sends it back with that progress, as often as it takes
    calls = [first]
    while not calls[-1]["done"]:
        # the Executor's output goes to `$.progress` of the iteration, whole
        calls.append(executor.handler(map_item(state, 512, progress=calls[-1]), clock.context(100_000)))
    # THEN every invocation ran once, and the result is the one a single long call gives
    assert [c.get("completed") for c in calls[:-1]] == [2, 4]
    assert target_runtime.memories() == [512] * 5
    result = calls[-1]["result"]
    target_runtime.invocations.clear()
    whole = measured(executor.handler(map_item(state, 512), clock.context(900_000)))
    assert target_runtime.memories() == [512] * 5
    assert {k: v for k, v in result.items() if k != "transitions"} == {
        k: v for k, v in whole.items() if k != "transitions"
    }
    # AND each call and the Choice after it are counted, then the final Pass
    assert (result["transitions"], whole["transitions"]) == (3 * 2 + 1, 3)


def test_payload_from_s3(published, target_runtime, s3_client, lambda_context):
    # GIVEN a payload too big for the execution input, stored in S3
    s3_client.create_bucket(Bucket="tuning-payloads")
    s3_client.put_object(Bucket="tuning-payloads", Key="events/order.json", Body=json.dumps({"order": 42}))
    state = published(payloadS3="s3://tuning-payloads/events/order.json")
    # WHEN measuring THEN every invocation got the S3 object's JSON
    executor.handler(map_item(state, 128), lambda_context)
    assert target_runtime.events() == [{"order": 42}] * 5


def test_missing_s3_payload_is_a_payload_error(published, target_runtime, s3_client, lambda_context):
    # GIVEN an object that was there when the run started, deleted since
    s3_client.create_bucket(Bucket="tuning-payloads")
    s3_client.put_object(Bucket="tuning-payloads", Key="missing.json", Body=b"{}")
    state = published(payloadS3="s3://tuning-payloads/missing.json")
    s3_client.delete_object(Bucket="tuning-payloads", Key="missing.json")
    with pytest.raises(PayloadError, match=r"payloadS3 s3://tuning-payloads/missing\.json cannot be read"):
        executor.handler(map_item(state, 128), lambda_context)
    assert target_runtime.invocations == []


def test_out_of_memory_fails_the_execution_by_default(published, target_runtime, lambda_context):
    target_runtime.use(SimulatedRuntime(cpu_bound(100.0), min_memory_mb=256))
    with pytest.raises(TargetFunctionError, match=r"at 128 MB the function failed with Runtime\.OutOfMemory"):
        executor.handler(map_item(published(), 128), lambda_context)


def test_out_of_memory_is_skipped_with_on_error_skip(published, target_runtime, lambda_context):
    # GIVEN a function that needs 256 MB and onError "skip"
    target_runtime.use(SimulatedRuntime(cpu_bound(100.0), min_memory_mb=256))
    state = published(onError="skip")
    # WHEN both sizes are measured
    small = measured(executor.handler(map_item(state, 128), lambda_context))
    large = measured(executor.handler(map_item(state, 512), lambda_context))
    # THEN the small one is marked skipped with its reason and the large one is measured
    assert small["skipped"] is True
    assert small["reason"].startswith("Runtime.OutOfMemory")
    assert "skipped" not in large
    assert large["invocations"] == 5


def test_function_error_is_reported_with_its_type(published, target_runtime, lambda_context):
    target_runtime.use(SimulatedRuntime(cpu_bound(100.0), fail_with={512: ("KeyError", "'customer_id'")}))
    with pytest.raises(
        TargetFunctionError, match="at 512 MB the function failed with KeyError: 'customer_id'"
    ):
        executor.handler(map_item(published(payload={"id": 1}), 512), lambda_context)


def test_allowed_exception_on_every_invocation_skips_the_size(published, target_runtime, lambda_context):
    # Every invocation failed: nothing measured the size working, so it cannot be recommended.
    target_runtime.use(SimulatedRuntime(cpu_bound(100.0), fail_with={512: ("KeyError", "'customer_id'")}))
    out = measured(executor.handler(map_item(published(allowedExceptions=["KeyError"]), 512), lambda_context))
    assert out["skipped"] is True
    assert out["reason"] == "every invocation failed with KeyError (allowedExceptions)"
    assert target_runtime.memories() == [512] * 5


def test_allowed_exception_on_some_invocations_is_measured(published, target_runtime, lambda_context):
    class FailsTwice(SimulatedRuntime):
        calls = 0

        def invoke(self, spec, event):
            FailsTwice.calls += 1
            if FailsTwice.calls <= 2:
                return SimulatedRuntime(cpu_bound(100.0), fail_with={512: ("KeyError", "x")}).invoke(
                    spec, event
                )
            return super().invoke(spec, event)

    target_runtime.use(FailsTwice(cpu_bound(100.0)))
    out = measured(executor.handler(map_item(published(allowedExceptions=["KeyError"]), 512), lambda_context))
    assert (out["invocations"], out["errors"]) == (5, 2)
    assert "skipped" not in out


def test_disable_payload_logs_keeps_the_payload_out_of_the_error(published, target_runtime, lambda_context):
    target_runtime.use(SimulatedRuntime(cpu_bound(100.0), fail_with={512: ("KeyError", "'customer_id'")}))
    state = published(payload={"password": "hunter2"}, disablePayloadLogs=True)
    with pytest.raises(TargetFunctionError) as caught:
        executor.handler(map_item(state, 512), lambda_context)
    assert "KeyError" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_parallel_invocation(published, target_runtime, lambda_context):
    out = executor.handler(
        map_item(published(num=8, parallelInvocation=True, maxConcurrency=4), 512), lambda_context
    )
    assert measured(out)["invocations"] == 8
    assert target_runtime.memories() == [512] * 8


def test_cold_start_mode_counts_every_invocation_as_cold(published, target_runtime, lambda_context):
    target_runtime.use(SimulatedRuntime(cpu_bound(100.0), init_ms=300.0))
    out = executor.handler(map_item(published(onlyColdStarts=True), 512), lambda_context)
    assert measured(out)["coldStarts"] == 5


def test_an_adaptive_batch_measures_its_slice_and_returns_every_sample(
    published, target_runtime, lambda_context
):
    # GIVEN an adaptive round's item: 3 invocations of 512 MB, from the size's 4th
    state = published(sampling="adaptive", num=10)
    event = map_item(state, 512)
    event["item"].update(count=3, offset=3)
    result = measured(executor.handler(event, lambda_context))
    # THEN it invoked 3 times and returned each invocation's figures for the decision step
    assert target_runtime.memories() == [512] * 3
    assert result["invocations"] == 3
    assert len(result["samples"]) == 3
    assert all(
        duration == pytest.approx(100.0 * 1769 / 512, abs=0.01) for duration, _, _ in result["samples"]
    )


# -- payloads as the reference tool sends them -------------------------------------------------------


def test_no_payload_sends_an_empty_object(published, target_runtime, lambda_context):
    executor.handler(map_item(published(), 128), lambda_context)
    assert target_runtime.events() == [{}] * 5


def test_an_explicit_null_payload_sends_null(published, target_runtime, lambda_context):
    executor.handler(map_item(published(payload=None), 128), lambda_context)
    assert target_runtime.events() == [None] * 5


def test_an_array_of_objects_with_weights_is_sent_whole(published, target_runtime, lambda_context):
    # GIVEN a list payload whose items carry a `weight` but no `payload` (not a weighted list)
    lines = [{"sku": "A", "weight": 3}, {"sku": "B", "weight": 1}]
    # WHEN measured THEN every invocation gets the whole list, as the reference sends it
    executor.handler(map_item(published(payload=lines), 128), lambda_context)
    assert target_runtime.events() == [lines] * 5


def test_weighted_payloads_from_s3_are_weighted(published, target_runtime, s3_client, lambda_context):
    # GIVEN a weighted list stored in S3, weights 3:1 over num 8
    s3_client.create_bucket(Bucket="tuning-payloads")
    document = [{"payload": {"size": "small"}, "weight": 3}, {"payload": {"size": "large"}, "weight": 1}]
    s3_client.put_object(Bucket="tuning-payloads", Key="weighted.json", Body=json.dumps(document))
    state = published(num=8, payloadS3="s3://tuning-payloads/weighted.json")
    # WHEN measured THEN the payloads are sent in blocks, 6 then 2, like an inline weighted list
    executor.handler(map_item(state, 128), lambda_context)
    assert target_runtime.events() == [{"size": "small"}] * 6 + [{"size": "large"}] * 2


def test_a_non_json_s3_object_is_refused_not_sent(published, target_runtime, s3_client, lambda_context):
    # Kept difference: the reference sends such an object as a string (docs/migrating.md).
    s3_client.create_bucket(Bucket="tuning-payloads")
    s3_client.put_object(Bucket="tuning-payloads", Key="rows.csv", Body=b"id,qty\n1,2\n")
    with pytest.raises(PayloadError, match="is not valid JSON"):
        executor.handler(map_item(published(payloadS3="s3://tuning-payloads/rows.csv"), 128), lambda_context)
    assert target_runtime.events() == []


def test_cold_start_mode_averages_every_invocation_with_its_init(published, target_runtime, lambda_context):
    # GIVEN every invocation a cold start with 300 ms of INIT and the default discardTopBottom 0.2
    target_runtime.use(SimulatedRuntime(cpu_bound(100.0), init_ms=300.0))
    out = measured(executor.handler(map_item(published(onlyColdStarts=True), 512), lambda_context))
    # THEN the average duration holds the INIT (not a warm-like figure) and no invocation is trimmed
    assert out["averageDuration"] > 300.0
    assert out["coldStarts"] == out["invocations"] == 5
