"""Least privilege: one role per function with only the calls its code makes, no action wildcard."""

from __future__ import annotations

import json
from typing import Any

import pytest

from powertuning.deployment import ARCHITECTURES_ENV, FLEET_BUCKET_ENV, STAGING_BUCKET_ENV, TUNER_TAG
from stacks.lambda_asset import asset_files
from stacks.tuner_actions import CODE_CHANGE_ACTIONS, LAYER_ACTIONS, SELF_DENIED_ACTIONS, STAGING_ACTIONS
from stacks.workflow_grants import PAYLOAD_READERS
from tests.infrastructure.code_calls import actions_by_handler
from tests.infrastructure.synthesis import (
    ASSETS,
    FLEET_FUNCTION_NAMES,
    FUNCTION_NAMES,
    LOG_DELIVERY_ACTIONS,
    REPO_ROOT,
    TRACING_ACTIONS,
    WORKFLOW_FUNCTION_NAMES,
    Synthesized,
    as_list,
    flatten,
)

DEFAULT_LAMBDA_RESOURCE = "arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:*"
# APIs without resource-level permissions, where AWS documents Resource "*".
RESOURCE_STAR_ACTIONS = {
    # The fleet: listing functions for a selector, reading their metrics (no resource-level permissions).
    "lambda:ListFunctions",
    "cloudwatch:GetMetricData",
    *TRACING_ACTIONS,
    *LOG_DELIVERY_ACTIONS,
}


def _all_statements(stack: Synthesized) -> list[dict[str, Any]]:
    statements = []
    for resource in stack.resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            statements.extend(props["PolicyDocument"]["Statement"])
        elif resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                statements.extend(policy["PolicyDocument"]["Statement"])
    return statements


def _granted(stack: Synthesized, name: str, service: str) -> dict[str, list[str]]:
    """service:Action -> flattened resources, for the statements of one function's role."""
    granted: dict[str, list[str]] = {}
    for statement in stack.statements_of_role(stack.role_of_function(name)):
        if statement["Effect"] != "Allow":
            continue
        for action in as_list(statement["Action"]):
            if action.startswith(f"{service}:"):
                granted.setdefault(action, []).extend(flatten(r) for r in as_list(statement["Resource"]))
    return granted


@pytest.fixture(scope="module")
def code_actions() -> dict[str, set[str]]:
    return actions_by_handler(REPO_ROOT, asset_files(ASSETS["tuner"]), FUNCTION_NAMES)


@pytest.mark.parametrize("stack_name", ["default_stack", "architectures_stack", "variant_stack"])
def test_no_action_wildcard_and_deny_only_on_the_tuner_itself(
    stack_name: str, request: pytest.FixtureRequest
) -> None:
    stack: Synthesized = request.getfixturevalue(stack_name)
    statements = _all_statements(stack)
    assert statements
    for statement in statements:
        if statement["Effect"] == "Deny":
            assert set(as_list(statement["Action"])) == set(SELF_DENIED_ACTIONS), statement
        else:
            assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement
        assert "NotResource" not in statement
        for action in as_list(statement["Action"]):
            assert not set(action) & {"*", "?"}, statement


@pytest.mark.parametrize("stack_name", ["default_stack", "architectures_stack", "variant_stack"])
def test_resource_star_only_where_aws_offers_nothing_narrower(
    stack_name: str, request: pytest.FixtureRequest
) -> None:
    stack: Synthesized = request.getfixturevalue(stack_name)
    for statement in _all_statements(stack):
        if "*" in as_list(statement["Resource"]):
            assert set(as_list(statement["Action"])) <= RESOURCE_STAR_ACTIONS, statement


def test_every_role_is_denied_acting_on_the_tuners_own_functions(default_stack: Synthesized) -> None:
    # GIVEN the template WHEN reading each role's statements
    every = FUNCTION_NAMES + FLEET_FUNCTION_NAMES + WORKFLOW_FUNCTION_NAMES
    functions = {name: props for name, (_, props) in default_stack.functions(every).items()}
    logical_ids = {name: _function_logical_id(default_stack, name) for name in functions}
    for name in FUNCTION_NAMES:
        denies = [
            s
            for s in default_stack.statements_of_role(default_stack.role_of_function(name))
            if s["Effect"] == "Deny"
        ]
        # THEN an explicit deny, which beats lambdaResource's allow, covers every tuner function
        # (and the fleet's), unqualified and qualified, for every mutating and invoking action
        by_arn = [d for d in denies if "Condition" not in d]
        assert len(by_arn) == 3, name  # the tuner's own functions; the fleet's; the workflow tuner's
        resources = json.dumps([d["Resource"] for d in by_arn])
        for other in logical_ids.values():
            assert resources.count(other) == 2, (name, other)
        # AND every function of any tuner stack, by the tag each one carries (another stack's too)
        (by_tag,) = [d for d in denies if "Condition" in d]
        assert by_tag["Condition"] == {"Null": {f"aws:ResourceTag/{TUNER_TAG}": "false"}}
        assert [flatten(r) for r in as_list(by_tag["Resource"])] == [
            "arn:<AWS::Partition>:lambda:*:*:function:*"
        ]
        for deny in denies:
            assert set(as_list(deny["Action"])) >= {
                "lambda:InvokeFunction",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
            }


@pytest.mark.parametrize("stack_name", ["default_stack", "architectures_stack", "variant_stack"])
def test_every_tuner_and_fleet_function_carries_the_tuner_tag(
    stack_name: str, request: pytest.FixtureRequest
) -> None:
    stack: Synthesized = request.getfixturevalue(stack_name)
    functions = stack.functions(FUNCTION_NAMES + FLEET_FUNCTION_NAMES)
    assert set(functions) >= set(FUNCTION_NAMES)
    for name, (_, props) in functions.items():
        tags = {t["Key"]: t["Value"] for t in props.get("Tags", [])}
        assert tags.get(TUNER_TAG) == ("UserStack" if stack_name == "variant_stack" else "PowerTuning"), name


def _function_logical_id(stack: Synthesized, name: str) -> str:
    (logical_id,) = [
        lid
        for lid, resource in stack.resources.items()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource["Properties"].get("Handler") == f"lambdas.{name}.handler"
    ]
    return logical_id


def test_run_table_access_is_what_each_handler_calls(
    default_stack: Synthesized, code_actions: dict[str, set[str]]
) -> None:
    for name in FUNCTION_NAMES:
        expected = {action for action in code_actions[name] if action.startswith("dynamodb:")}
        granted = _granted(default_stack, name, "dynamodb")
        assert set(granted) == expected, name
        for resources in granted.values():
            (table,) = resources
            assert "Runs" in table, (name, resources)


def _code_changing(name: str) -> set[str]:
    """The Lambda actions only the deploy option `architectures` grants a function."""
    return {f"lambda:{a}" for a in CODE_CHANGE_ACTIONS.get(name, ())} | set(LAYER_ACTIONS.get(name, ()))


def test_lambda_grants_equal_what_each_handler_calls(
    default_stack: Synthesized, architectures_stack: Synthesized, code_actions: dict[str, set[str]]
) -> None:
    # GIVEN the calls each handler's code can reach, error paths included
    for name in FUNCTION_NAMES:
        expected = {action for action in code_actions[name] if action.startswith("lambda:")}
        # THEN with `-c architectures=true` its role allows exactly those Lambda actions
        assert set(_granted(architectures_stack, name, "lambda")) == expected, name
        # AND by default those minus the ones that change or read code (refused before they are reached)
        assert set(_granted(default_stack, name, "lambda")) == expected - _code_changing(name), name


def test_by_default_no_role_can_change_or_read_any_functions_code(default_stack: Synthesized) -> None:
    code = {"lambda:UpdateFunctionCode", "lambda:GetFunction", "lambda:GetLayerVersion"}
    for name in FUNCTION_NAMES + FLEET_FUNCTION_NAMES:
        assert not set(_granted(default_stack, name, "lambda")) & code, name
    for name in FUNCTION_NAMES:
        # (no payload bucket in the default either: no S3 but the payloads the workflow tuner moves)
        assert _granted(default_stack, name, "s3") == _workflow_payloads(default_stack, name), name
    # no staging bucket, and the Initializer is told code changes are off
    assert not any(STAGING_BUCKET_ENV in json.dumps(r) for r in default_stack.resources.values())
    (_, initializer) = default_stack.functions()["initializer"]
    assert initializer["Environment"]["Variables"][ARCHITECTURES_ENV] == "false"


def test_the_optimizer_reads_only_this_stacks_own_executions(default_stack: Synthesized) -> None:
    (resources,) = _granted(default_stack, "optimizer", "states").values()
    machine_name = flatten(default_stack.state_machine()["StateMachineName"])
    assert resources == [
        f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{machine_name}:*"
    ]
    assert "*" not in machine_name


@pytest.mark.parametrize("stack_name", ["default_stack", "architectures_stack"])
def test_lambda_grants_scoped_to_same_account_and_region_by_default(
    stack_name: str, request: pytest.FixtureRequest
) -> None:
    stack: Synthesized = request.getfixturevalue(stack_name)
    for name in FUNCTION_NAMES:
        for action, resources in _granted(stack, name, "lambda").items():
            if action in ("lambda:DeleteFunction", "lambda:GetLayerVersion"):
                continue
            assert resources == [DEFAULT_LAMBDA_RESOURCE], (name, action)


def test_layer_reads_only_by_the_initializer_on_this_accounts_layer_versions(
    architectures_stack: Synthesized,
) -> None:
    # Input `architectures`: the layers' CompatibleArchitectures are checked before anything changes.
    for name in FUNCTION_NAMES:
        granted = _granted(architectures_stack, name, "lambda").get("lambda:GetLayerVersion")
        if name == "initializer":
            assert granted == ["arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:layer:*:*"]
        else:
            assert granted is None, name


def test_delete_function_reaches_versions_only_never_a_whole_function(default_stack: Synthesized) -> None:
    # DeleteFunction with a Qualifier is authorised on `name:<version>`; `function:*:*` needs that
    # qualifier, so no role can delete an unqualified function.
    for name in ("publisher", "cleaner", "optimizer"):
        assert _granted(default_stack, name, "lambda")["lambda:DeleteFunction"] == [
            f"{DEFAULT_LAMBDA_RESOURCE}:*"
        ]


def test_least_privilege_spot_checks(default_stack: Synthesized, architectures_stack: Synthesized) -> None:
    granted = {name: set(_granted(architectures_stack, name, "lambda")) for name in FUNCTION_NAMES}
    assert granted["analyzer"] == set()
    assert {name for name, actions in granted.items() if "lambda:InvokeFunction" in actions} == {"executor"}
    # Those that undo their own work by the run's marker (versions only: see the test above).
    assert {name for name, actions in granted.items() if "lambda:DeleteFunction" in actions} == {
        "publisher",
        "cleaner",
        "optimizer",
    }
    # Input `architectures`: the code switch and its restore (the Optimizer's undo path is the cleanup).
    assert {name for name, actions in granted.items() if "lambda:UpdateFunctionCode" in actions} == {
        "publisher",
        "cleaner",
        "optimizer",
    }
    assert {name for name, actions in granted.items() if "lambda:GetFunction" in actions} == {"initializer"}
    # By default none of them
    for name in FUNCTION_NAMES:
        actions = set(_granted(default_stack, name, "lambda"))
        assert not actions & {"lambda:UpdateFunctionCode", "lambda:GetFunction"}, name


def _workflow_payloads(stack: Synthesized, name: str) -> dict[str, list[str]]:
    """The workflow tuner's payloadS3 objects, which the Initializer and the Executor may read."""
    if name not in PAYLOAD_READERS:
        return {}
    (bucket,) = {
        ref["Ref"]
        for r in stack.of_type("AWS::Lambda::Function").values()
        if (ref := r["Properties"].get("Environment", {}).get("Variables", {}).get(FLEET_BUCKET_ENV))
    }
    return {"s3:GetObject": [f"<{bucket}.Arn>/workflow/*/payloads/*"]}


def _staging_bucket(stack: Synthesized) -> str:
    # The bucket the functions are told to stage code in (the fleet's results bucket is another).
    (bucket,) = {
        ref["Ref"]
        for r in stack.of_type("AWS::Lambda::Function").values()
        if (ref := r["Properties"].get("Environment", {}).get("Variables", {}).get(STAGING_BUCKET_ENV))
    }
    return str(bucket)


def _staging_objects(stack: Synthesized) -> str:
    return f"<{_staging_bucket(stack)}.Arn>/*"


def test_without_payload_bucket_s3_reaches_only_the_staging_bucket(
    architectures_stack: Synthesized, code_actions: dict[str, set[str]]
) -> None:
    objects = _staging_objects(architectures_stack)
    for name in FUNCTION_NAMES:
        granted = _granted(architectures_stack, name, "s3")
        expected = {action: [objects] for action in STAGING_ACTIONS.get(name, ())}
        for action, resources in _workflow_payloads(architectures_stack, name).items():
            expected[action] = [*expected.get(action, []), *resources]
        assert granted == expected, name
        # the writes the code makes are granted (GetObject is granted more widely: Lambda reads the
        # object with the permissions of whoever calls UpdateFunctionCode from it; the code's own
        # GetObject is payloadS3's, granted only with a payload bucket)
        writes = {a for a in code_actions[name] if a in ("s3:PutObject", "s3:DeleteObject")}
        assert writes == {a for a in granted if a != "s3:GetObject"}, name


def test_the_staging_bucket_is_private_encrypted_tls_only_and_keeps_copies(
    architectures_stack: Synthesized,
) -> None:
    bucket_id = _staging_bucket(architectures_stack)
    bucket = architectures_stack.resources[bucket_id]
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    # A copy is kept while its run is registered (each run's cleanup deletes its own): no expiry,
    # only incomplete uploads aborted.
    assert "ExpirationInDays" not in rule
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    (deny,) = architectures_stack.bucket_policy_statements(bucket_id)
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_only_the_initializer_and_executor_read_the_configured_payload_objects(
    variant_stack: Synthesized, code_actions: dict[str, set[str]]
) -> None:
    # The Initializer checks the object before anything changes; the Executor sends it.
    payloads = "arn:<AWS::Partition>:s3:::tuning-payloads/payloads/*"
    for name in FUNCTION_NAMES:
        granted = _granted(variant_stack, name, "s3")
        readers = [r for r in granted.get("s3:GetObject", []) if r == payloads]
        assert readers == ([payloads] if name in ("initializer", "executor") else []), name
        if name in ("initializer", "executor"):
            assert "s3:GetObject" in code_actions[name]


def test_functions_write_only_their_own_log_group(default_stack: Synthesized) -> None:
    for name, (_, props) in default_stack.functions().items():
        log_group = props["LoggingConfig"]["LogGroup"]["Ref"]
        granted = _granted(default_stack, name, "logs")
        # The Initializer also reads the tuned function's log group (coldStartRate "production").
        for action in ("logs:StartQuery", "logs:GetQueryResults"):
            assert (action in granted) == (name == "initializer"), (name, action)
            granted.pop(action, None)
        assert granted == {
            "logs:CreateLogStream": [f"<{log_group}.Arn>"],
            "logs:PutLogEvents": [f"<{log_group}.Arn>"],
        }, name


@pytest.mark.parametrize(
    ("stack_name", "groups"),
    [
        (
            "default_stack",
            ["arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/lambda/*"],
        ),
        (
            "variant_stack",
            [
                "arn:<AWS::Partition>:logs:eu-west-1:123456789012:log-group:/aws/lambda/checkout",
                "arn:<AWS::Partition>:logs:eu-west-1:123456789012:log-group:/aws/lambda/team-*",
            ],
        ),
    ],
)
def test_only_the_initializer_queries_logs_and_only_the_tuned_functions_groups(
    stack_name: str, groups: list[str], request: pytest.FixtureRequest, code_actions: dict[str, set[str]]
) -> None:
    stack: Synthesized = request.getfixturevalue(stack_name)
    granted = _granted(stack, "initializer", "logs")
    # THEN the query and its results reach the log groups lambdaResource's functions write, nothing
    # else (GetQueryResults takes the log-group resource type too: no Resource "*")
    for action in ("logs:StartQuery", "logs:GetQueryResults"):
        assert sorted(granted[action]) == sorted([*groups, *(f"{g}:*" for g in groups)]), action
    # THEN the grants are what the Initializer's code calls, and no other function has them
    assert {"logs:StartQuery", "logs:GetQueryResults"} <= code_actions["initializer"]
    for name in FUNCTION_NAMES:
        if name != "initializer":
            assert not {a for a in code_actions[name] if a.startswith("logs:")}, name


def test_state_machine_role_may_invoke_only_the_six_functions(default_stack: Synthesized) -> None:
    machine = default_stack.state_machine()
    role = machine["RoleArn"]["Fn::GetAtt"][0]
    lambda_statements = [
        statement
        for statement in default_stack.statements_of_role(role)
        if any(action.startswith("lambda:") for action in as_list(statement["Action"]))
    ]
    function_arns = sorted(f"<{logical_id}.Arn>" for logical_id, _ in default_stack.functions().values())
    assert len(lambda_statements) == 1
    assert as_list(lambda_statements[0]["Action"]) == ["lambda:InvokeFunction"]
    assert sorted(flatten(r) for r in as_list(lambda_statements[0]["Resource"])) == function_arns
    assert default_stack.resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0][
        "Principal"
    ] == {"Service": "states.amazonaws.com"}


def test_arns_are_partition_aware(default_stack: Synthesized) -> None:
    text = json.dumps(default_stack.json)
    assert '"arn:aws:' not in text
    assert "arn:aws-" not in text
