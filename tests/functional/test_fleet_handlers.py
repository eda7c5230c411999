"""The fleet's handlers on moto: what the Distributed Map cannot show there (selector by tags,
ResultWriter's FAILED files, batched metrics) is checked at the handler level."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lambdas import fleet_resolver, fleet_summary
from powertuning import deployment, fleet_steps, lambda_api
from powertuning.arns import FunctionRef
from powertuning.errors import FleetInputError

BUCKET = "fleet-results"
FLEET_SUMMARY = "arn:aws:lambda:us-east-1:123456789012:function:powertuning-fleet_summary"


@pytest.fixture
def bucket(aws: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    aws.client("s3").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv(deployment.FLEET_BUCKET_ENV, BUCKET)
    return BUCKET


def test_a_tag_selector_resolves_writes_the_items_and_leaves_out_the_tuner(
    aws: Any, bucket: str, make_function: Callable[..., FunctionRef], lambda_context: Any
) -> None:
    # GIVEN two functions of the team, one of another team, and a tuner function carrying the tag
    pay = make_function("pay-api", MemorySize=512, Tags={"team": "payments"})
    make_function("pay-worker", Architectures=["arm64"], Tags={"team": "payments"})
    make_function("search", Tags={"team": "search"})
    tuner = make_function("powertuning-executor", Tags={"team": "payments"})
    event = {
        "input": {"selector": {"tags": {"team": "payments"}}, "overrides": {pay.arn: {"num": 20}}},
        "execution": "arn:aws:states:us-east-1:123456789012:execution:fleet:run-1",
        "tunerFunctions": f"{tuner.arn},{FLEET_SUMMARY}",
    }
    # WHEN the resolver runs
    out = fleet_resolver.handler(event, lambda_context)
    # THEN the state stays small; the items are in S3, the tuner's function left out and reported
    assert out["count"] == 2
    assert out["excluded"] == [{"functionArn": tuner.arn, "reason": "one of the tuner's own functions"}]
    assert out["items"] == {"bucket": BUCKET, "key": "fleet/run-1/items.json"}
    items = lambda_api.read_s3_json(aws.client("s3"), BUCKET, out["items"]["key"])
    by_name = {FunctionRef.parse(i["functionArn"]).name: i for i in items}
    assert sorted(by_name) == ["pay-api", "pay-worker"]
    assert by_name["pay-api"]["input"] == {
        "autoOptimize": False,
        "includeOutputResults": True,
        "num": 20,
        # Each function at its own production rate unless told otherwise (its logs permitting)
        "coldStartRate": "production-if-available",
        "lambdaARN": pay.arn,
    }
    assert by_name["pay-api"]["memorySize"] == 512
    assert by_name["pay-worker"]["architecture"] == "arm64"


def test_one_function_named_two_ways_is_refused_before_the_item_list_is_written(
    aws: Any, bucket: str, make_function: Callable[..., FunctionRef], lambda_context: Any
) -> None:
    # GIVEN a function listed unqualified and by its $LATEST ARN (two child runs on one function)
    pay = make_function("pay-api")
    event = {"input": {"functions": [pay.arn, f"{pay.arn}:$LATEST"]}, "execution": "x:run-2"}
    # WHEN the resolver runs THEN it refuses, naming both entries, and writes nothing
    with pytest.raises(FleetInputError, match=rf"lists {pay.arn} twice, as {pay.arn} and {pay.arn}:\$LATEST"):
        fleet_resolver.handler(event, lambda_context)
    assert aws.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_an_alias_entry_is_one_item_with_the_override_of_its_function(
    aws: Any, bucket: str, make_function: Callable[..., FunctionRef], lambda_context: Any
) -> None:
    # GIVEN a function listed by its alias ARN, its override keyed by the unqualified ARN
    pay = make_function("pay-api", MemorySize=512)
    version = aws.client("lambda").publish_version(FunctionName=pay.arn)["Version"]
    aws.client("lambda").create_alias(FunctionName=pay.arn, Name="prod", FunctionVersion=version)
    event = {
        "input": {"functions": [f"{pay.arn}:prod"], "overrides": {pay.arn: {"num": 20}}},
        "execution": "x:run-3",
    }
    # WHEN the resolver runs
    out = fleet_resolver.handler(event, lambda_context)
    # THEN one item: the alias ARN as written (the child run checks prod runs $LATEST's code), the override
    assert out["count"] == 1
    (item,) = lambda_api.read_s3_json(aws.client("s3"), BUCKET, out["items"]["key"])
    assert item["functionArn"] == f"{pay.arn}:prod"
    assert item["input"]["lambdaARN"] == f"{pay.arn}:prod"
    assert item["input"]["num"] == 20
    assert item["memorySize"] == 512


def test_an_unknown_function_is_refused_by_name(aws: Any, bucket: str, lambda_context: Any) -> None:
    missing = "arn:aws:lambda:us-east-1:123456789012:function:gone"
    with pytest.raises(
        Exception, match="cannot read function arn:aws:lambda:us-east-1:123456789012:function:gone"
    ):
        fleet_resolver.handler({"input": {"functions": [missing]}, "execution": "x"}, lambda_context)
    with pytest.raises(FleetInputError, match="selector is empty"):
        fleet_resolver.handler({"input": {"selector": {}}, "execution": "x"}, lambda_context)


def test_the_summary_reads_results_written_in_aws_layout_failed_files_included(
    aws: Any, bucket: str, lambda_context: Any
) -> None:
    # GIVEN ResultWriter output as AWS writes it: a manifest, a SUCCEEDED and a FAILED file
    s3 = aws.client("s3")
    arn = "arn:aws:lambda:us-east-1:123456789012:function:{}"
    tuned = {
        "functionArn": arn.format("ok"),
        "memorySize": 1024,
        "architecture": "x86_64",
        "status": "SUCCEEDED",
        "executionArn": "arn:child",
        "output": {"power": 256, "cost": 1e-6, "stateMachine": {"executionCost": 0.001, "lambdaCost": 0.001}},
    }
    succeeded = [
        {"ExecutionArn": "arn:w1", "Input": "{}", "Output": json.dumps(tuned), "Status": "SUCCEEDED"}
    ]
    failed = [
        {
            "ExecutionArn": "arn:w2",
            "Input": json.dumps(
                {"functionArn": arn.format("lost"), "memorySize": 128, "architecture": "arm64"}
            ),
            "Status": "FAILED",
            "Error": "States.DataLimitExceeded",
            "Cause": "The state output exceeded the maximum size",
        }
    ]
    for key, body in (
        ("fleet/results/m/SUCCEEDED_0.json", succeeded),
        ("fleet/results/m/FAILED_0.json", failed),
    ):
        s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(body))
    manifest = {
        "DestinationBucket": BUCKET,
        "MapRunArn": "arn:maprun",
        "ResultFiles": {
            "FAILED": [{"Key": "fleet/results/m/FAILED_0.json", "Size": 1}],
            "PENDING": [],
            "SUCCEEDED": [{"Key": "fleet/results/m/SUCCEEDED_0.json", "Size": 1}],
        },
    }
    s3.put_object(Bucket=BUCKET, Key="fleet/results/m/manifest.json", Body=json.dumps(manifest))
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    dimensions = [{"Name": "FunctionName", "Value": "ok"}]
    aws.client("cloudwatch").put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": dimensions,
                "Value": 1400.0,
                "Timestamp": an_hour_ago,
            },
            {"MetricName": "Duration", "Dimensions": dimensions, "Value": 50.0, "Timestamp": an_hour_ago},
        ],
    )
    fleet = {"results": {"bucket": BUCKET, "prefix": "fleet/run-1"}, "toleratedFailurePercentage": 40.0}
    event = {
        "fleet": fleet,
        "mapRun": {"ResultWriterDetails": {"Bucket": BUCKET, "Key": "fleet/results/m/manifest.json"}},
    }
    # WHEN the summary runs
    out = fleet_summary.handler(event, lambda_context)
    # THEN the failed item keeps its function and cause, and the tolerance is applied
    summary = lambda_api.read_s3_json(s3, BUCKET, out["summary"]["key"])
    assert out["summary"]["key"] == "fleet/run-1/summary.json"
    assert summary["failed"][0]["functionArn"] == arn.format("lost")
    assert summary["failed"][0]["error"] == "States.DataLimitExceeded"
    (row,) = summary["functions"]
    assert row["invocations14d"] == 1400.0
    assert row["averageDurationMs"] == 50.0
    assert out["totals"]["withinTolerance"] is False
    assert "1 of 2 functions failed (50.0%)" in out["cause"]


class _CountingCloudWatch:
    """An in-memory stand-in: answers every query with one value and counts the calls."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def get_metric_data(self, **kwargs: Any) -> dict[str, Any]:
        queries = kwargs["MetricDataQueries"]
        assert len(queries) <= 500
        self.calls.append(len(queries))
        return {"MetricDataResults": [{"Id": q["Id"], "Values": [2.0]} for q in queries]}


def test_metrics_of_300_functions_take_two_calls() -> None:
    client = _CountingCloudWatch()
    arns = [f"arn:aws:lambda:us-east-1:123456789012:function:f{i}" for i in range(300)]
    usage = fleet_steps.usage(client, arns, now=datetime(2026, 11, 29, tzinfo=UTC))
    assert client.calls == [500, 100]
    assert usage[arns[299]].invocations == 2.0
    assert usage[arns[299]].average_duration_ms == 2.0
