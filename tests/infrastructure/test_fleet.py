"""The fleet state machine, its two functions, its results bucket and what each role may do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from powertuning.asl import FLEET_PLACEHOLDERS, fleet_definition_text
from stacks.fleet_grants import SYNC_RULE
from stacks.lambda_asset import asset_files
from tests.infrastructure.code_calls import actions_by_handler
from tests.infrastructure.synthesis import (
    ASSETS,
    FLEET_FUNCTION_NAMES,
    REPO_ROOT,
    Synthesized,
    as_list,
    flatten,
    synth_app,
)

# Actions granted on Resource "*" because AWS offers nothing narrower, by fleet function.
STAR_ACTIONS = {"fleet_resolver": {"lambda:ListFunctions"}, "fleet_summary": {"cloudwatch:GetMetricData"}}
TRACING = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def _allowed(stack: Synthesized, role: str) -> dict[str, list[str]]:
    granted: dict[str, list[str]] = {}
    for statement in stack.statements_of_role(role):
        if statement["Effect"] == "Allow":
            for action in as_list(statement["Action"]):
                granted.setdefault(action, []).extend(flatten(r) for r in as_list(statement["Resource"]))
    return granted


def test_the_fleet_state_machine_is_the_file_inline_with_its_substitutions(
    default_stack: Synthesized,
) -> None:
    machine = default_stack.fleet_state_machine()
    assert sorted(machine["DefinitionSubstitutions"]) == sorted(FLEET_PLACEHOLDERS)
    definition = json.loads(machine["DefinitionString"])
    source = json.loads(fleet_definition_text())
    assert definition["StartAt"] == source["StartAt"]
    assert set(definition["States"]) == set(source["States"])
    mapped = definition["States"]["TuneEachFunction"]
    # A Distributed Map of standard child workflows, fed from S3, results written to S3
    assert mapped["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert mapped["ItemReader"]["Resource"] == "${ItemReaderResource}"
    assert mapped["ResultWriter"]["Parameters"]["Bucket"] == "${ResultsBucketName}"
    assert mapped["MaxConcurrencyPath"] == "$.maxConcurrency"
    assert mapped["ToleratedFailurePercentagePath"] == "$.toleratedFailurePercentage"
    child = mapped["ItemProcessor"]["States"]["TuneFunction"]
    assert child["Resource"] == "${StartTuningResource}"
    assert child["Parameters"]["StateMachineArn"] == "${TunerStateMachineArn}"
    # The child runs as long as a tuning takes: no Task timeout of the Lambda kind on it
    assert "TimeoutSeconds" not in child
    subs = machine["DefinitionSubstitutions"]
    assert (
        flatten(subs["StartTuningResource"]) == "arn:<AWS::Partition>:states:::states:startExecution.sync:2"
    )
    assert subs["TunerStateMachineArn"] == {"Ref": _tuner_state_machine_id(default_stack)}


def _tuner_state_machine_id(stack: Synthesized) -> str:
    (machine_id,) = [
        key
        for key, resource in stack.of_type("AWS::StepFunctions::StateMachine").items()
        if "InitializerFunctionArn" in resource["Properties"]["DefinitionSubstitutions"]
    ]
    return machine_id


def test_the_results_bucket_is_encrypted_private_ssl_only_and_expires(default_stack: Synthesized) -> None:
    bucket_id = default_stack.json["Outputs"]["FleetResultsBucket"]["Value"]["Ref"]
    bucket = default_stack.resources[bucket_id]
    props = bucket["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ] == {"SSEAlgorithm": "AES256"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 90
    assert rule["Status"] == "Enabled"
    (deny,) = default_stack.bucket_policy_statements(bucket_id)
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_fleet_functions_hold_only_what_their_code_calls(default_stack: Synthesized) -> None:
    called = actions_by_handler(REPO_ROOT, asset_files(ASSETS["tuner"]), FLEET_FUNCTION_NAMES)
    # The scanner follows lambda_api.call's conflict branch (a wait on GetFunctionConfiguration),
    # taken only for calls with a FunctionName: the summary makes S3 and CloudWatch calls only.
    called["fleet_summary"].discard("lambda:GetFunctionConfiguration")
    for name in FLEET_FUNCTION_NAMES:
        granted = _allowed(default_stack, default_stack.role_of_function(name))
        own = {a for a in granted if not a.startswith("logs:")} - TRACING
        # THEN every call the code makes is granted, and nothing else (no wildcard, no extra action)
        assert own == called[name], name
        for action, resources in granted.items():
            assert "*" not in action.split(":")[1], action
            if "*" in resources:
                assert action in STAR_ACTIONS[name] | TRACING, (name, action)


def test_the_fleet_role_starts_and_reads_only_the_tuner_and_its_own_children(
    default_stack: Synthesized,
) -> None:
    machine = default_stack.fleet_state_machine()
    granted = _allowed(default_stack, machine["RoleArn"]["Fn::GetAtt"][0])
    tuner = _tuner_state_machine_id(default_stack)
    start = granted.pop("states:StartExecution")
    assert start[0] == f"<{tuner}>"
    assert start[1].endswith(":stateMachine:powerTuningStateMachineFleet-" + start[1].split("Fleet-")[1])
    for action in ("states:DescribeExecution", "states:StopExecution"):
        executions = granted.pop(action)
        assert [r.split(":execution:")[1][:28] for r in executions] == [
            'powerTuningStateMachine-{"Fn',
            "powerTuningStateMachineFleet",
        ]
        assert executions[0].endswith(":*")
        assert executions[1].endswith("/*")
    for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
        assert granted.pop(action) == [
            f"arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/{SYNC_RULE}"
        ]
    invoke = granted.pop("lambda:InvokeFunction")
    fleet_ids = sorted(lid for lid, _ in default_stack.functions(FLEET_FUNCTION_NAMES).values())
    assert sorted(r.strip("<>").split(".")[0] for r in invoke) == fleet_ids
    for action in ("s3:GetObject", "s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"):
        (objects,) = granted.pop(action)
        assert objects.endswith(".Arn>/fleet/*")
    # AND the rest is logging and tracing, on Resource "*" where AWS offers nothing narrower
    assert {a.split(":")[0] for a in granted} <= {"logs", "xray"}


def test_no_fleet_option_leaves_it_out(tmp_path: Path) -> None:
    stack = synth_app(tmp_path, {"fleet": "false"})
    assert len(stack.state_machines()) == 1
    assert "FleetResultsBucket" not in stack.json["Outputs"]
    # (no bucket left: the code staging bucket exists only with `-c architectures=true`)
    assert stack.of_type("AWS::S3::Bucket") == {}
    assert stack.functions(FLEET_FUNCTION_NAMES) == {}
    assert "FleetArn" not in stack.json["Outputs"]


def test_the_fleet_output_names_its_state_machine(default_stack: Synthesized) -> None:
    outputs: dict[str, Any] = default_stack.json["Outputs"]
    fleet_id = [
        key
        for key, resource in default_stack.of_type("AWS::StepFunctions::StateMachine").items()
        if "FleetResolverFunctionArn" in resource["Properties"]["DefinitionSubstitutions"]
    ]
    assert outputs["FleetArn"]["Value"] == {"Ref": fleet_id[0]}
    # `powertune run --stack-name` still finds exactly one output named like StateMachineArn
    assert [k for k in outputs if "StateMachineArn" in k] == ["StateMachineArn"]


@pytest.mark.parametrize("name", FLEET_FUNCTION_NAMES)
def test_the_tuner_refuses_and_denies_the_fleets_functions(default_stack: Synthesized, name: str) -> None:
    logical_id, _ = default_stack.functions(FLEET_FUNCTION_NAMES)[name]
    _, initializer = default_stack.functions()["initializer"]
    refused = json.dumps(initializer["Environment"]["Variables"]["POWERTUNING_TUNER_FUNCTIONS"])
    assert logical_id in refused
