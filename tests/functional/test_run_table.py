"""The run registry (powertuning.aws.run_table): one run per function, held by conditional writes
against moto's DynamoDB, only the holder updates or releases it, and a scan that reads every page."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from powertuning.aws import run_table
from powertuning.local.tuner_stack import RUNS_TABLE
from tests.functional.test_lambda_api import FakeClient

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:target"
OTHER_FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:other"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:powertuning:first"


def record(run_id, execution=EXECUTION, function=FUNCTION):
    return {
        "runId": run_id,
        "executionArn": execution,
        "functionArn": function,
        "original": {"memorySize": 1},
    }


@pytest.fixture
def runs(aws):
    return aws.client("dynamodb")


def test_one_run_per_function(runs):
    # GIVEN a run registered on the function
    assert run_table.acquire_run(runs, RUNS_TABLE, FUNCTION, record("aaaaaaaaaaaa")) is None
    # WHEN another registers THEN it gets the holder's record, and the holder stays
    assert run_table.acquire_run(runs, RUNS_TABLE, FUNCTION, record("bbbbbbbbbbbb")) == record("aaaaaaaaaaaa")
    assert run_table.get_run(runs, RUNS_TABLE, FUNCTION) == record("aaaaaaaaaaaa")
    # AND another function is free
    assert run_table.acquire_run(runs, RUNS_TABLE, OTHER_FUNCTION, record("bbbbbbbbbbbb")) is None


def test_only_the_holder_updates_or_releases_its_registration(runs):
    run_table.acquire_run(runs, RUNS_TABLE, FUNCTION, record("aaaaaaaaaaaa"))
    with pytest.raises(ClientError, match="ConditionalCheckFailed"):
        run_table.update_run(runs, RUNS_TABLE, FUNCTION, {**record("bbbbbbbbbbbb"), "optimizeAlias": {}})
    assert not run_table.release_run(runs, RUNS_TABLE, FUNCTION, "bbbbbbbbbbbb")
    updated = {**record("aaaaaaaaaaaa"), "optimizeAlias": {"name": "prod", "previousVersion": "1"}}
    run_table.update_run(runs, RUNS_TABLE, FUNCTION, updated)
    assert run_table.get_run(runs, RUNS_TABLE, FUNCTION) == updated
    assert run_table.release_run(runs, RUNS_TABLE, FUNCTION, "aaaaaaaaaaaa")
    assert run_table.get_run(runs, RUNS_TABLE, FUNCTION) is None
    # releasing twice is safe
    assert not run_table.release_run(runs, RUNS_TABLE, FUNCTION, "aaaaaaaaaaaa")


def test_runs_of_an_execution(runs):
    other = "arn:aws:states:us-east-1:123456789012:execution:powertuning:second"
    run_table.acquire_run(runs, RUNS_TABLE, FUNCTION, record("aaaaaaaaaaaa"))
    run_table.acquire_run(runs, RUNS_TABLE, OTHER_FUNCTION, record("bbbbbbbbbbbb", other, OTHER_FUNCTION))
    assert run_table.runs_of_execution(runs, RUNS_TABLE, EXECUTION) == [record("aaaaaaaaaaaa")]
    assert run_table.runs_of_execution(runs, RUNS_TABLE, "arn:...:none") == []


def test_runs_of_an_execution_reads_every_page(no_backoff):
    item = {"record": {"S": json.dumps(record("aaaaaaaaaaaa"))}}
    client = FakeClient(scan=[{"Items": [item], "LastEvaluatedKey": {"k": 1}}, {"Items": [item]}])
    assert run_table.runs_of_execution(client, "t", EXECUTION) == [record("aaaaaaaaaaaa")] * 2
    assert client.calls[1][1]["ExclusiveStartKey"] == {"k": 1}
