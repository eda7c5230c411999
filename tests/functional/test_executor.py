"""The Executor handler against moto, the target answered in-process through moto's invoke seam."""

from __future__ import annotations

import json
import math

import pytest

from lambdas import executor, initializer, publisher
from powertuning.errors import PayloadError, TargetFunctionError
from powertuning.local.simulated import SimulatedRuntime, cpu_bound
from powertuning.pricing import lambda_price


@pytest.fixture
def published(target_function, lambda_context):
    """`published(**input)` -> the state after the Initializer and the whole Publisher loop."""

    def run(**extra):
        event = {"lambdaARN": target_function.arn, "powerValues": [128, 512], "num": 5, **extra}
        state = {**event, "lambdaConfigurations": initializer.handler(event, lambda_context)}
        while state["lambdaConfigurations"]["iterator"]["continue"]:
            state = {**state, "lambdaConfigurations": publisher.handler(state, lambda_context)}
        return state

    return run


def map_item(state, value, attempt=0):
    """The Executor's event, as the Map state's ItemSelector and Parameters build it."""
    return {"value": value, "input": state, "attempt": attempt}


def test_measures_one_size(published, target_runtime, lambda_context):
    # GIVEN every size published WHEN the Map runs the Executor for 512 MB
    out = executor.handler(map_item(published(), 512), lambda_context)
    # THEN the target ran num times at 512 MB and the item of $.stats describes it
    assert target_runtime.memories() == [512] * 5
    duration = 100.0 * 1769 / 512
    assert out["value"] == 512
    assert out["invocations"] == 5
    assert out["averageDuration"] == pytest.approx(duration, abs=0.01)
    assert out["averagePrice"] == pytest.approx(
        lambda_price("us-east-1").invocation_cost(math.ceil(duration), 512)
    )
    assert {"p50", "p90", "p99", "coldStarts", "errors", "totalCost", "transitions"} <= set(out)
    assert json.loads(json.dumps(out)) == out


def test_retry_attempt_is_counted(published, target_runtime, lambda_context):
    assert executor.handler(map_item(published(), 128, attempt=1), lambda_context)["transitions"] == 2


def test_payload_from_s3(published, target_runtime, s3_client, lambda_context):
    # GIVEN a payload too big for the execution input, stored in S3
    s3_client.create_bucket(Bucket="tuning-payloads")
    s3_client.put_object(Bucket="tuning-payloads", Key="events/order.json", Body=json.dumps({"order": 42}))
    state = published(payloadS3="s3://tuning-payloads/events/order.json")
    # WHEN measuring THEN every invocation got the S3 object's JSON
    executor.handler(map_item(state, 128), lambda_context)
    assert target_runtime.events() == [{"order": 42}] * 5


def test_missing_s3_payload_is_a_payload_error(published, target_runtime, s3_client, lambda_context):
    s3_client.create_bucket(Bucket="tuning-payloads")
    state = published(payloadS3="s3://tuning-payloads/missing.json")
    with pytest.raises(PayloadError, match=r"cannot read s3://tuning-payloads/missing\.json"):
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
    small = executor.handler(map_item(state, 128), lambda_context)
    large = executor.handler(map_item(state, 512), lambda_context)
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


def test_allowed_exception_is_measured(published, target_runtime, lambda_context):
    target_runtime.use(SimulatedRuntime(cpu_bound(100.0), fail_with={512: ("KeyError", "'customer_id'")}))
    out = executor.handler(map_item(published(allowedExceptions=["KeyError"]), 512), lambda_context)
    assert (out["invocations"], out["errors"]) == (5, 5)


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
    assert out["invocations"] == 8
    assert target_runtime.memories() == [512] * 8


def test_cold_start_mode_counts_every_invocation_as_cold(published, target_runtime, lambda_context):
    target_runtime.use(SimulatedRuntime(cpu_bound(100.0), init_ms=300.0))
    out = executor.handler(map_item(published(onlyColdStarts=True), 512), lambda_context)
    assert out["coldStarts"] == 5


# -- payloads as the reference tool sends them -------------------------------------------------------


def test_no_payload_sends_null(published, target_runtime, lambda_context):
    executor.handler(map_item(published(), 128), lambda_context)
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


def test_a_non_json_s3_object_is_sent_as_a_string(published, target_runtime, s3_client, lambda_context):
    s3_client.create_bucket(Bucket="tuning-payloads")
    s3_client.put_object(Bucket="tuning-payloads", Key="rows.csv", Body=b"id,qty\n1,2\n")
    executor.handler(map_item(published(payloadS3="s3://tuning-payloads/rows.csv"), 128), lambda_context)
    assert target_runtime.events() == ["id,qty\n1,2\n"] * 5


def test_cold_start_mode_averages_every_invocation_with_its_init(published, target_runtime, lambda_context):
    # GIVEN every invocation a cold start with 300 ms of INIT and the default discardTopBottom 0.2
    target_runtime.use(SimulatedRuntime(cpu_bound(100.0), init_ms=300.0))
    out = executor.handler(map_item(published(onlyColdStarts=True), 512), lambda_context)
    # THEN the average duration holds the INIT (not a warm-like figure) and no invocation is trimmed
    assert out["averageDuration"] > 300.0
    assert out["coldStarts"] == out["invocations"] == 5
