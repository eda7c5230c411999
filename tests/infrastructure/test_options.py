"""Deploy options: parsed from `-c key=value` and cdk.json, validated with a message naming the key,
and each one changing the template as docs/deploy.md says."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import CfnParameter, Stack

from powertuning.asl import TASK_TIMEOUT_MARGIN_S
from powertuning.deployment import ARCHITECTURES_ENV, IMAGE_REPOSITORIES_ENV
from powertuning.errors import InvalidOptionError
from stacks import PowerTuningStack, TunerOptions
from stacks.options import CONTEXT_KEYS
from tests.infrastructure.synthesis import (
    FUNCTION_NAMES,
    VARIANT_OPTIONS,
    Synthesized,
    as_list,
    build_app,
    cdk_json_context,
    flatten,
    synth_construct,
)

REPOSITORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app"
# (context, words the error must contain): each fails before any resource is built.
BAD_CONTEXT = [
    ({"powerValues": "64,128"}, "powerValues"),
    ({"powerValues": "128,20000"}, "powerValues"),
    ({"powerValues": "128,128"}, "powerValues must be a list without duplicates"),
    ({"powerValues": "[]"}, "powerValues"),
    ({"powerValues": "128,big"}, "powerValues"),
    ({"powerValues": "[128,"}, "powerValues must be a JSON list"),
    ({"lambdaResource": "*"}, "lambdaResource"),
    ({"lambdaResource": "arn:aws:s3:::bucket/*"}, "lambdaResource"),
    ({"lambdaResource": "arn:aws:lambda:::function:x"}, "lambdaResource"),
    ({"totalExecutionTimeout": "9"}, "totalExecutionTimeout must be an integer from 10 to 900"),
    ({"totalExecutionTimeout": "901"}, "totalExecutionTimeout must be an integer from 10 to 900"),
    ({"totalExecutionTimeout": "five"}, "totalExecutionTimeout"),
    ({"visualizationUrl": "ftp://example.com/"}, "visualizationUrl"),
    ({"visualizationUrl": "lambda-power-tuning.show"}, "visualizationUrl"),
    ({"permissionsBoundary": "arn:aws:iam::123:policy/x y"}, "permissionsBoundary"),
    ({"payloadS3Bucket": "Not_A_Bucket"}, "payloadS3Bucket"),
    ({"payloadS3Key": "payloads/*"}, "payloadS3Key needs payloadS3Bucket"),
    ({"payloadS3Bucket": "bucket", "payloadS3Key": "/abs"}, "payloadS3Key"),
    ({"logRetentionDays": "10"}, "logRetentionDays must be one of 1, 3, 5, 7, 14, 30"),
    ({"subnetIds": "subnet-0123456789abcdef0"}, "securityGroupIds is required"),
    ({"securityGroupIds": "sg-0123456789abcdef0"}, "subnetIds is required"),
    ({"subnetIds": "vpc-123", "securityGroupIds": "sg-0123456789abcdef0"}, "subnetIds"),
    ({"stateMachineNamePrefix": "has space"}, "stateMachineNamePrefix"),
    ({"stateMachineNamePrefix": "x" * 68}, "stateMachineNamePrefix must be 1 to 67"),
    ({"architectures": "yes"}, "architectures must be true or false"),
    ({"workflow": "yes"}, "workflow must be true or false"),
    ({"fleet": "false", "workflow": "true"}, "workflow needs fleet=true"),
    (
        {"imageRepositories": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app"},
        "imageRepositories needs architectures=true",
    ),
    (
        {"architectures": "true", "imageRepositories": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1"},
        "imageRepositories must be a list of ECR repositories",
    ),
    (
        {
            "architectures": "true",
            "imageRepositories": '["123456789012.dkr.ecr.us-east-1.amazonaws.com/a b"]',
        },
        "imageRepositories must be a list of ECR repositories",
    ),
    ({"architectures": "true", "imageRepositories": "docker.io/library/python"}, "imageRepositories"),
]

# (props, key named in the error): the same checks for PowerTuner(options=TunerOptions(...)).
BAD_PROPS: list[tuple[dict[str, Any], str]] = [
    ({"power_values": (128, True)}, "powerValues"),
    ({"power_values": "128"}, "powerValues"),
    ({"lambda_resource": ()}, "lambdaResource"),
    ({"total_execution_timeout": 30.5}, "totalExecutionTimeout"),
    ({"log_retention_days": None}, "logRetentionDays"),
    (
        {"subnet_ids": "subnet-0123456789abcdef0", "security_group_ids": ("sg-0123456789abcdef0",)},
        "subnetIds",
    ),
]


@pytest.mark.parametrize(("context", "message"), BAD_CONTEXT, ids=[str(c) for c, _ in BAD_CONTEXT])
def test_bad_context_fails_synth_naming_the_option(context: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidOptionError, match=message.replace("[", r"\[")):
        build_app(context)


@pytest.mark.parametrize(("props", "key"), BAD_PROPS, ids=[str(p) for p, _ in BAD_PROPS])
def test_bad_props_fail_naming_the_option(props: dict[str, Any], key: str) -> None:
    with pytest.raises(InvalidOptionError, match=key):
        TunerOptions(**props)


def test_cdk_json_holds_every_option_with_its_default() -> None:
    context = cdk_json_context()
    assert set(CONTEXT_KEYS.values()) <= set(context)
    assert TunerOptions.from_context(context.get) == TunerOptions()


def test_context_strings_are_parsed_like_props() -> None:
    context = {
        "powerValues": "256, 1024,2048",
        "lambdaResource": '["arn:aws:lambda:eu-west-1:123456789012:function:checkout"]',
        "totalExecutionTimeout": "600",
        "logRetentionDays": "7",
        "subnetIds": "subnet-0123456789abcdef0,subnet-0fedcba9876543210",
        "securityGroupIds": '["sg-0123456789abcdef0"]',
        "payloadS3Bucket": "tuning-payloads",
        "payloadS3Key": "payloads/*",
        "architectures": "true",
        "imageRepositories": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shared/base",
    }
    options = TunerOptions.from_context(context.get)
    assert options.architectures is True
    assert options.image_repositories == ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/shared/base",)
    assert options.power_values == (256, 1024, 2048)
    assert options.lambda_resource == ("arn:aws:lambda:eu-west-1:123456789012:function:checkout",)
    assert options.total_execution_timeout == 600
    assert options.log_retention_days == 7
    assert options.subnet_ids == ("subnet-0123456789abcdef0", "subnet-0fedcba9876543210")
    assert options.security_group_ids == ("sg-0123456789abcdef0",)
    assert (options.payload_s3_bucket, options.payload_s3_key) == ("tuning-payloads", "payloads/*")


def test_context_overrides_reach_the_template() -> None:
    # GIVEN the app built with `-c powerValues=... -c totalExecutionTimeout=...` (no synth needed)
    app = build_app({"powerValues": "512,1024", "totalExecutionTimeout": "120"})
    (stack,) = [child for child in app.node.children if isinstance(child, PowerTuningStack)]
    # THEN the stack's tuner carries the options
    assert stack.tuner.options.power_values == (512, 1024)
    assert stack.tuner.options.total_execution_timeout == 120


def test_power_values_and_visualization_url(variant_stack: Synthesized) -> None:
    functions = variant_stack.functions()
    env = functions["initializer"][1]["Environment"]["Variables"]
    assert json.loads(env["defaultPowerValues"]) == [256, 1024, 2048]
    assert (
        functions["analyzer"][1]["Environment"]["Variables"]["visualizationUrl"] == "https://viz.example.com/"
    )


def test_total_execution_timeout_sets_functions_and_tasks(variant_stack: Synthesized) -> None:
    for name, (_, props) in variant_stack.functions().items():
        assert props["Timeout"] == 600, name
    definition = json.loads(variant_stack.state_machine()["DefinitionString"])
    tasks = [state for state in definition["States"].values() if state["Type"] == "Task"]
    tasks += [
        state
        for map_state in definition["States"].values()
        if "ItemProcessor" in map_state
        for state in map_state["ItemProcessor"]["States"].values()
        if state["Type"] == "Task"
    ]
    assert len(tasks) >= 7
    assert {task["TimeoutSeconds"] for task in tasks} == {600 + TASK_TIMEOUT_MARGIN_S}


def test_lambda_resource_patterns_cover_versions_and_aliases(variant_stack: Synthesized) -> None:
    checkout = "arn:aws:lambda:eu-west-1:123456789012:function:checkout"
    team = "arn:aws:lambda:eu-west-1:123456789012:function:team-*"
    for name in FUNCTION_NAMES:
        role = variant_stack.role_of_function(name)
        for statement in variant_stack.statements_of_role(role):
            if statement["Effect"] == "Deny":
                continue
            resources = [flatten(r) for r in statement["Resource"]]
            if as_list(statement["Action"]) == ["lambda:GetLayerVersion"]:
                continue  # layers, not functions (test_iam)
            if as_list(statement["Action"]) == ["lambda:DeleteFunction"]:
                # Versions only: every pattern qualified, so no whole function matches.
                assert resources == [f"{checkout}:*", f"{team}:*"]
            elif as_list(statement["Action"])[0].startswith("lambda:"):
                # An exact name also needs `name:*` for RAM<size> aliases; `team-*` matches them already.
                assert resources == [checkout, f"{checkout}:*", team]


def test_permissions_boundary_on_every_role(variant_stack: Synthesized) -> None:
    roles = variant_stack.of_type("AWS::IAM::Role")
    assert len(roles) == 7
    for role in roles.values():
        assert (
            role["Properties"]["PermissionsBoundary"] == "arn:aws:iam::123456789012:policy/developer-boundary"
        )


def test_image_repositories_reach_the_initializer(variant_stack: Synthesized) -> None:
    (_, initializer) = variant_stack.functions()["initializer"]
    variables = initializer["Environment"]["Variables"]
    assert json.loads(variables[IMAGE_REPOSITORIES_ENV]) == list(VARIANT_OPTIONS.image_repositories)
    assert variables[ARCHITECTURES_ENV] == "true"


def test_log_retention_days(variant_stack: Synthesized) -> None:
    groups = variant_stack.of_type("AWS::Logs::LogGroup")
    assert len(groups) == 7
    assert {group["Properties"]["RetentionInDays"] for group in groups.values()} == {7}


def test_vpc_subnets_and_security_groups(variant_stack: Synthesized) -> None:
    for name, (_, props) in variant_stack.functions().items():
        assert props["VpcConfig"] == {
            "SubnetIds": list(VARIANT_OPTIONS.subnet_ids),
            "SecurityGroupIds": list(VARIANT_OPTIONS.security_group_ids),
        }, name
        role = variant_stack.resources[variant_stack.role_of_function(name)]["Properties"]
        assert [flatten(arn) for arn in role["ManagedPolicyArns"]] == [
            "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
        ]


def test_state_machine_name_prefix(variant_stack: Synthesized) -> None:
    name = variant_stack.state_machine()["StateMachineName"]
    assert name["Fn::Join"][1][0] == "checkoutTuner"


def test_construct_is_reusable_without_the_app(variant_stack: Synthesized) -> None:
    # GIVEN a PowerTuner in a plain user stack THEN it brings everything, and no stack outputs
    variant_stack.template.resource_count_is("AWS::Lambda::Function", 6)
    variant_stack.template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
    assert "Outputs" not in variant_stack.json


@pytest.fixture(scope="module")
def token_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Options holding deploy-time values (a parameter's Ref), a boundary by name, an exact payload key."""

    def options(stack: Stack) -> TunerOptions:
        target = CfnParameter(stack, "TargetFunctionArn").value_as_string
        return TunerOptions(
            lambda_resource=(target,),
            permissions_boundary="developer-boundary",
            payload_s3_bucket="tuning-payloads",
            payload_s3_key="payloads/checkout.json",
        )

    return synth_construct(tmp_path_factory.mktemp("cdk-tokens"), options)


def test_token_lambda_resource_gets_versions_and_aliases(token_stack: Synthesized) -> None:
    for name in ("initializer", "executor", "cleaner"):
        role = token_stack.role_of_function(name)
        (statement,) = [
            s
            for s in token_stack.statements_of_role(role)
            if s["Effect"] == "Allow"
            and as_list(s["Action"])[0].startswith("lambda:")
            and as_list(s["Action"]) not in (["lambda:DeleteFunction"], ["lambda:GetLayerVersion"])
        ]
        assert [flatten(r) for r in statement["Resource"]] == ["<TargetFunctionArn>", "<TargetFunctionArn>:*"]


def test_boundary_by_name_and_exact_payload_key(token_stack: Synthesized) -> None:
    for role in token_stack.of_type("AWS::IAM::Role").values():
        boundary = flatten(role["Properties"]["PermissionsBoundary"])
        assert boundary == "arn:<AWS::Partition>:iam::<AWS::AccountId>:policy/developer-boundary"
    executor_role = token_stack.role_of_function("executor")
    statements = token_stack.statements_of_role(executor_role)
    (statement,) = [s for s in statements if s["Action"] == "s3:GetObject"]
    payload = "arn:<AWS::Partition>:s3:::tuning-payloads/payloads/checkout.json"
    assert flatten(statement["Resource"]) == payload
