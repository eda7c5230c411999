"""The Initializer handler against moto: validates the input, reads the function, registers the run.

Apart from the registration in the run table it changes nothing, and a refused input changes nothing
at all.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import boto3
import pytest

from lambdas.initializer import handler
from powertuning import lambda_api
from powertuning.aws import run_table
from powertuning.errors import (
    AliasConflictError,
    CodeMismatchError,
    FunctionNotFoundError,
    InvalidInputError,
    LeftoversError,
    RunInProgressError,
    SelfTargetError,
    StateLimitError,
)
from powertuning.local.tuner_stack import RUNS_TABLE
from powertuning.pricing import DEFAULT_POWER_VALUES

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:powertuning:first"


def initialize(execution_input, context, execution=EXECUTION):
    """The Initializer as the state machine calls it: the raw input and the execution's ARN."""
    return handler({"input": execution_input, "execution": execution}, context)


def registered(function_arn):
    """The run registered on a function in the run table (of the running mock), if any."""
    return run_table.get_run(lambda_api.client("dynamodb", "us-east-1"), RUNS_TABLE, function_arn)


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


def test_returns_the_whole_state_the_publisher_loop_needs(lambda_client, target_function, lambda_context):
    # GIVEN a valid input for an existing function
    event = {"lambdaARN": target_function.arn, "powerValues": [128, 512], "num": 5}
    before = function_state(lambda_client, "target")
    # WHEN the Initializer runs
    out = initialize(event, lambda_context)
    # THEN it returns the new state: the validated request (defaults written out) and the run
    assert json.loads(json.dumps(out)) == out
    assert set(out) == {"request", "run"}
    assert out["request"]["lambdaARN"] == target_function.arn
    assert out["request"]["powerValues"] == [128, 512]
    assert out["request"]["strategy"] == "cost"
    run = out["run"]
    assert run["functionArn"] == target_function.unqualified
    assert run["powerValues"] == [128, 512]
    assert run["original"] == {"memorySize": 1024, "description": "the user's own description"}
    assert run["architecture"] == "x86_64"
    assert run["executionArn"] == EXECUTION
    assert run["timeoutSeconds"] == 30
    assert re.fullmatch(r"[0-9a-f]{12}", run["runId"])
    assert not {"index", "published", "restored", "iterator"} & set(run)
    # AND the function is exactly as it was, the run registered with what to restore
    assert function_state(lambda_client, "target") == before
    record = registered(target_function.unqualified)
    assert record["runId"] == run["runId"]
    assert record["executionArn"] == EXECUTION
    assert record["original"] == run["original"]


def test_state_keys_in_the_input_are_refused(target_function, lambda_context):
    # The state is the tuner's own: an input can never set `run` (and so its original settings).
    forged = {"functionArn": target_function.arn, "original": {"memorySize": 10240}}
    with pytest.raises(InvalidInputError, match="run"):
        initialize({"lambdaARN": target_function.arn, "run": forged}, lambda_context)


def test_missing_power_values_use_the_built_in_default(target_function, lambda_context, monkeypatch):
    monkeypatch.delenv("defaultPowerValues", raising=False)
    out = initialize({"lambdaARN": target_function.arn}, lambda_context)
    assert out["run"]["powerValues"] == list(DEFAULT_POWER_VALUES)


def test_missing_power_values_use_the_deploy_time_default(target_function, lambda_context, monkeypatch):
    # GIVEN the CDK app configured defaultPowerValues WHEN the input has none THEN those are tested
    monkeypatch.setenv("defaultPowerValues", json.dumps([256, 1024, 2048]))
    out = initialize({"lambdaARN": target_function.arn}, lambda_context)
    assert out["run"]["powerValues"] == [256, 1024, 2048]


def test_empty_power_values_use_the_deploy_time_default(target_function, lambda_context, monkeypatch):
    # As the reference tool: `powerValues: []` means "not given", not an error
    monkeypatch.setenv("defaultPowerValues", json.dumps([256, 1024, 2048]))
    out = initialize({"lambdaARN": target_function.arn, "powerValues": []}, lambda_context)
    assert out["run"]["powerValues"] == [256, 1024, 2048]


def test_ephemeral_storage_is_recorded_for_its_price(make_function, lambda_context):
    big = make_function("big-tmp", EphemeralStorage={"Size": 10240})
    assert initialize({"lambdaARN": big.arn}, lambda_context)["run"]["ephemeralStorageMB"] == 10240


def test_all_power_values(target_function, lambda_context):
    out = initialize({"lambdaARN": target_function.arn, "powerValues": "ALL"}, lambda_context)
    assert out["run"]["powerValues"][0] == 128
    assert out["run"]["powerValues"][-1] == 3008
    assert len(out["run"]["powerValues"]) == (3008 - 128) // 64 + 1


def test_reference_tool_input_is_accepted(load_event, target_function, lambda_context):
    out = initialize(load_event("input_reference_v4.json"), lambda_context)
    assert out["run"]["powerValues"] == [128, 256, 512, 1024, 1536, 3008]


def test_every_key_input_with_a_qualified_arn(load_event, lambda_client, target_function, lambda_context):
    # GIVEN alias `live` on a version running $LATEST's code
    version = lambda_client.publish_version(FunctionName="target")["Version"]
    lambda_client.create_alias(FunctionName="target", Name="live", FunctionVersion=version)
    execution_input = load_event("input_every_key.json")
    out = initialize(execution_input, lambda_context)
    assert out["run"]["functionArn"] == target_function.unqualified
    assert out["run"]["powerValues"] == [256, 512]
    # every key of the input survives validation, as given
    assert {k: out["request"][k] for k in execution_input} == execution_input


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
    out = initialize({"lambdaARN": arn, "powerValues": [512]}, lambda_context)
    assert out["run"]["original"]["memorySize"] == 2048


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
        initialize({"lambdaARN": target_function.arn, **overrides}, lambda_context)
    assert message in str(caught.value)
    # the class name is the errorType Step Functions sees
    assert type(caught.value).__name__ == "InvalidInputError"
    assert function_state(lambda_client, "target") == before
    assert registered(target_function.unqualified) is None


def test_missing_function(aws, lambda_context):
    with pytest.raises(FunctionNotFoundError, match="cannot read function"):
        initialize({"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:ghost"}, lambda_context)


def test_code_mismatch_of_a_qualified_arn(lambda_client, target_function, lambda_context, code_zip):
    # GIVEN version 1, then new code on $LATEST
    lambda_client.publish_version(FunctionName="target")
    lambda_client.update_function_code(FunctionName="target", ZipFile=code_zip("def handler(e, c): return 2"))
    # WHEN tuning version 1 THEN it fails saying $LATEST runs other code, and registers nothing
    with pytest.raises(CodeMismatchError, match=r"\$LATEST runs"):
        initialize({"lambdaARN": target_function.qualified("1")}, lambda_context)
    assert registered(target_function.unqualified) is None


def test_a_users_ram_alias_is_a_conflict(lambda_client, target_function, lambda_context):
    # GIVEN the user's own alias RAM512 (on an unmarked version): a run would take it over
    version = lambda_client.publish_version(FunctionName="target")["Version"]
    lambda_client.create_alias(FunctionName="target", Name="RAM512", FunctionVersion=version)
    with pytest.raises(AliasConflictError, match="RAM512"):
        initialize({"lambdaARN": target_function.arn, "powerValues": [128, 512]}, lambda_context)
    assert registered(target_function.unqualified) is None


def test_a_second_run_on_the_function_is_refused_naming_the_first(
    lambda_client, target_function, lambda_context
):
    # GIVEN a run registered by a first execution
    first = initialize({"lambdaARN": target_function.arn, "powerValues": [128]}, lambda_context)
    before = function_state(lambda_client, "target")
    # WHEN a second execution starts on the same function (even by a qualified ARN)
    other = "arn:aws:states:us-east-1:123456789012:execution:powertuning:second"
    with pytest.raises(RunInProgressError) as caught:
        initialize({"lambdaARN": target_function.qualified("$LATEST")}, lambda_context, execution=other)
    # THEN it is refused, naming the execution and run that hold the function; nothing changes
    assert EXECUTION in str(caught.value)
    assert first["run"]["runId"] in str(caught.value)
    assert function_state(lambda_client, "target") == before
    assert registered(target_function.unqualified)["runId"] == first["run"]["runId"]


def test_a_retried_initializer_keeps_the_run_its_first_attempt_registered(
    lambda_client, target_function, lambda_context
):
    # GIVEN an Initializer call that registered the run, then failed with a Lambda error the state
    # machine retries (Lambda.ServiceException can follow a call that succeeded)
    event = {"lambdaARN": target_function.arn, "powerValues": [128]}
    first = initialize(event, lambda_context)
    # WHEN the retry runs for the same execution THEN it goes on with the same run
    again = initialize(event, lambda_context)
    assert again == first
    assert registered(target_function.unqualified)["runId"] == first["run"]["runId"]


def test_leftovers_of_an_interrupted_run_are_refused(lambda_client, target_function, lambda_context):
    # GIVEN what a run killed mid-publish left: a marked version, its RAM alias, a marked $LATEST
    marker = "powertuning 0123456789ab RAM512"
    lambda_client.update_function_configuration(FunctionName="target", MemorySize=512, Description=marker)
    version = lambda_client.publish_version(FunctionName="target", Description=marker)["Version"]
    lambda_client.create_alias(FunctionName="target", Name="RAM512", FunctionVersion=version)
    before = function_state(lambda_client, "target")
    # WHEN a new run starts THEN it is refused, saying what is left and how to remove it
    with pytest.raises(LeftoversError) as caught:
        initialize({"lambdaARN": target_function.arn, "powerValues": [128, 512]}, lambda_context)
    message = str(caught.value)
    assert marker in message
    assert f"version(s) {version}" in message
    assert "RAM512" in message
    assert "powertune clean" in message
    # AND nothing changed: no registration, the leftovers as they were
    assert function_state(lambda_client, "target") == before
    assert registered(target_function.unqualified) is None


@pytest.mark.parametrize("key", ["lambdaARN", "preProcessorARN", "postProcessorARN"])
def test_the_tuners_own_functions_are_refused(make_function, lambda_context, monkeypatch, key):
    # GIVEN the stack's list of the tuner's functions, and a function to tune
    executor = make_function("powertuning-executor")
    target = make_function("tuned")
    monkeypatch.setenv("POWERTUNING_TUNER_FUNCTIONS", json.dumps([executor.arn]))
    # WHEN an input names the Executor (qualified, as any ARN may be) under `key`
    execution_input = {"lambdaARN": target.arn, key: executor.qualified("$LATEST")}
    # THEN the run is refused before anything is read or registered
    with pytest.raises(SelfTargetError, match=key):
        initialize(execution_input, lambda_context)
    assert registered(target.unqualified) is None
    assert registered(executor.unqualified) is None


def test_the_initializer_refuses_itself(make_function, lambda_context):
    # Its own ARN comes from the context, whatever the stack's list says.
    me = make_function("powertuning-initializer")
    context = SimpleNamespace(**vars(lambda_context), invoked_function_arn=me.qualified("live"))
    with pytest.raises(SelfTargetError, match="lambdaARN"):
        initialize({"lambdaARN": me.arn}, context)
    assert registered(me.unqualified) is None


@pytest.mark.parametrize(
    ("overrides", "hint"),
    [
        # an adaptive race over 151 sizes: their results alone, twice, would fill the state
        (
            {"powerValues": list(range(128, 9729, 64)), "num": 150, "sampling": "adaptive"},
            "fewer powerValues",
        ),
        # a large inline payload, copied into every state
        ({"powerValues": [128, 256], "payload": {"blob": "x" * 230_000}}, "payloadS3"),
    ],
)
def test_a_state_that_could_pass_256_kb_is_refused(
    lambda_client, target_function, lambda_context, overrides, hint
):
    before = function_state(lambda_client, "target")
    with pytest.raises(StateLimitError, match="Step Functions allows 262144") as caught:
        initialize({"lambdaARN": target_function.arn, **overrides}, lambda_context)
    assert hint in str(caught.value)
    assert function_state(lambda_client, "target") == before
    assert registered(target_function.unqualified) is None
