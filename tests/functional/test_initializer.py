"""The Initializer handler against moto: validates the input, reads the function, changes nothing."""

from __future__ import annotations

import json

import boto3
import pytest

from lambdas.initializer import handler
from powertuning.errors import AliasConflictError, CodeMismatchError, FunctionNotFoundError, InvalidInputError
from powertuning.pricing import DEFAULT_POWER_VALUES


def function_state(lambda_client, name):
    latest = lambda_client.get_function_configuration(FunctionName=name)
    return {
        "memory": latest["MemorySize"],
        "description": latest["Description"],
        "aliases": lambda_client.list_aliases(FunctionName=name)["Aliases"],
        "versions": [
            v["Version"] for v in lambda_client.list_versions_by_function(FunctionName=name)["Versions"]
        ],
    }


def test_returns_the_configuration_the_publisher_loop_needs(lambda_client, target_function, lambda_context):
    # GIVEN a valid input for an existing function
    event = {"lambdaARN": target_function.arn, "powerValues": [128, 512], "num": 5}
    before = function_state(lambda_client, "target")
    # WHEN the Initializer runs
    out = handler(event, lambda_context)
    # THEN it returns the sizes, what to restore and the loop's iterator, as JSON
    assert json.loads(json.dumps(out)) == out
    assert out["functionArn"] == target_function.unqualified
    assert out["powerValues"] == [128, 512]
    assert out["original"] == {"memorySize": 1024, "description": "the user's own description"}
    assert out["iterator"] == {"index": 0, "count": 2, "continue": True}
    assert out["published"] == []
    assert out["architecture"] == "x86_64"
    assert out["runId"]
    # AND the function is exactly as it was
    assert function_state(lambda_client, "target") == before


def test_missing_power_values_use_the_built_in_default(target_function, lambda_context, monkeypatch):
    monkeypatch.delenv("defaultPowerValues", raising=False)
    out = handler({"lambdaARN": target_function.arn}, lambda_context)
    assert out["powerValues"] == list(DEFAULT_POWER_VALUES)


def test_missing_power_values_use_the_deploy_time_default(target_function, lambda_context, monkeypatch):
    # GIVEN the CDK app configured defaultPowerValues WHEN the input has none THEN those are tested
    monkeypatch.setenv("defaultPowerValues", json.dumps([256, 1024, 2048]))
    out = handler({"lambdaARN": target_function.arn}, lambda_context)
    assert out["powerValues"] == [256, 1024, 2048]


def test_empty_power_values_use_the_deploy_time_default(target_function, lambda_context, monkeypatch):
    # As the reference tool: `powerValues: []` means "not given", not an error
    monkeypatch.setenv("defaultPowerValues", json.dumps([256, 1024, 2048]))
    out = handler({"lambdaARN": target_function.arn, "powerValues": []}, lambda_context)
    assert out["powerValues"] == [256, 1024, 2048]


def test_ephemeral_storage_is_recorded_for_its_price(make_function, lambda_context):
    big = make_function("big-tmp", EphemeralStorage={"Size": 10240})
    assert handler({"lambdaARN": big.arn}, lambda_context)["ephemeralStorageMB"] == 10240


def test_all_power_values(target_function, lambda_context):
    out = handler({"lambdaARN": target_function.arn, "powerValues": "ALL"}, lambda_context)
    assert out["powerValues"][0] == 128
    assert out["powerValues"][-1] == 3008
    assert len(out["powerValues"]) == (3008 - 128) // 64 + 1


def test_reference_tool_input_is_accepted(load_event, target_function, lambda_context):
    out = handler(load_event("input_reference_v4.json"), lambda_context)
    assert out["powerValues"] == [128, 256, 512, 1024, 1536, 3008]


def test_every_key_input_with_a_qualified_arn(load_event, lambda_client, target_function, lambda_context):
    # GIVEN alias `live` on a version running $LATEST's code
    version = lambda_client.publish_version(FunctionName="target")["Version"]
    lambda_client.create_alias(FunctionName="target", Name="live", FunctionVersion=version)
    out = handler(load_event("input_every_key.json"), lambda_context)
    assert out["functionArn"] == target_function.unqualified
    assert out["powerValues"] == [256, 512]


def test_function_in_another_region_is_read_there(lambda_role, lambda_context, code_zip, aws):
    # GIVEN a function in eu-west-1 (the Lambda client must follow the ARN's region)
    client = boto3.client("lambda", region_name="eu-west-1")
    arn = client.create_function(
        FunctionName="faraway",
        Runtime="python3.13",
        Role=lambda_role,
        Handler="app.handler",
        Code={"ZipFile": code_zip("def handler(e, c): return e")},
        MemorySize=2048,
    )["FunctionArn"]
    out = handler({"lambdaARN": arn, "powerValues": [512]}, lambda_context)
    assert out["original"]["memorySize"] == 2048


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"balanceWeight": 0.3}, "did you mean balancedWeight?"),
        ({"num": 4}, "num must be an integer from 5 to 1000, got 4"),
        ({"powerValues": [100]}, "powerValues must be a list of integers from 128 to 10240"),
        ({"strategy": "fastest"}, 'strategy must be one of "cost", "speed", "balanced"'),
        ({"onError": "ignore"}, 'onError must be one of "fail", "skip"'),
        ({"payloadS3": "bucket/key"}, "payloadS3 must look like s3://bucket/key"),
    ],
)
def test_invalid_input_fails_fast_and_changes_nothing(
    lambda_client, target_function, lambda_context, overrides, message
):
    before = function_state(lambda_client, "target")
    with pytest.raises(InvalidInputError) as caught:
        handler({"lambdaARN": target_function.arn, **overrides}, lambda_context)
    assert message in str(caught.value)
    # the class name is the errorType Step Functions sees
    assert type(caught.value).__name__ == "InvalidInputError"
    assert function_state(lambda_client, "target") == before


def test_missing_function(aws, lambda_context):
    with pytest.raises(FunctionNotFoundError, match="cannot read function"):
        handler({"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:ghost"}, lambda_context)


def test_code_mismatch_of_a_qualified_arn(lambda_client, target_function, lambda_context, code_zip):
    # GIVEN version 1, then new code on $LATEST
    lambda_client.publish_version(FunctionName="target")
    lambda_client.update_function_code(FunctionName="target", ZipFile=code_zip("def handler(e, c): return 2"))
    # WHEN tuning version 1 THEN it fails saying $LATEST runs other code
    with pytest.raises(CodeMismatchError, match=r"\$LATEST runs"):
        handler({"lambdaARN": target_function.qualified("1")}, lambda_context)


def test_leftover_ram_alias_from_an_interrupted_run(lambda_client, target_function, lambda_context):
    version = lambda_client.publish_version(FunctionName="target")["Version"]
    lambda_client.create_alias(FunctionName="target", Name="RAM512", FunctionVersion=version)
    with pytest.raises(AliasConflictError, match="RAM512"):
        handler({"lambdaARN": target_function.arn, "powerValues": [128, 512]}, lambda_context)
