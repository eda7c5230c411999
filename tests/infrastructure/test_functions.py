"""The six tuner functions: runtime, architecture, tracing, logs, one asset, configuration."""

from __future__ import annotations

import json

from powertuning.deployment import RUNS_TABLE_ENV, TUNER_FUNCTIONS_ENV
from powertuning.pricing import DEFAULT_POWER_VALUES
from powertuning.visualization import DEFAULT_VISUALIZATION_URL
from tests.infrastructure.synthesis import (
    FLEET_FUNCTION_NAMES,
    FUNCTION_NAMES,
    WORKFLOW_FUNCTION_NAMES,
    Synthesized,
)


def test_six_functions_one_per_handler(default_stack: Synthesized) -> None:
    # GIVEN the default app WHEN listing its functions THEN there is one per handler module
    assert sorted(default_stack.functions()) == sorted(FUNCTION_NAMES)
    # and the fleet's two (deployed by default; tests/infrastructure/test_fleet.py)
    assert sorted(default_stack.functions(FLEET_FUNCTION_NAMES)) == sorted(FLEET_FUNCTION_NAMES)
    # and the workflow tuner's two (deployed with the fleet; tests/infrastructure/test_workflow.py)
    assert sorted(default_stack.functions(WORKFLOW_FUNCTION_NAMES)) == sorted(WORKFLOW_FUNCTION_NAMES)
    default_stack.template.resource_count_is("AWS::Lambda::Function", 10)


def test_runtime_architecture_tracing(default_stack: Synthesized) -> None:
    for name, (_, props) in default_stack.functions().items():
        assert props["Handler"] == f"lambdas.{name}.handler"
        assert props["Runtime"] == "python3.14", name
        assert props["Architectures"] == ["arm64"], name
        assert props["TracingConfig"] == {"Mode": "Active"}, name
        assert props["Timeout"] == 300, name


def test_functions_share_one_asset(default_stack: Synthesized) -> None:
    keys = {json.dumps(props["Code"], sort_keys=True) for _, props in default_stack.functions().values()}
    assert len(keys) == 1


def test_each_function_logs_to_its_own_group_with_retention(default_stack: Synthesized) -> None:
    groups = default_stack.of_type("AWS::Logs::LogGroup")
    used = []
    for name, (_, props) in default_stack.functions().items():
        log_group = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[log_group]["Properties"]["RetentionInDays"] == 30, name
        used.append(log_group)
    assert len(set(used)) == 6


def test_each_function_has_its_own_role(default_stack: Synthesized) -> None:
    roles = {default_stack.role_of_function(name) for name in FUNCTION_NAMES}
    assert len(roles) == 6
    for role in roles:
        assert default_stack.resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
            {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
        ]


def test_environment_defaults(default_stack: Synthesized) -> None:
    # GIVEN no options THEN the Initializer's default sizes come from powertuning.pricing
    functions = default_stack.functions()
    initializer_env = functions["initializer"][1]["Environment"]["Variables"]
    assert json.loads(initializer_env["defaultPowerValues"]) == list(DEFAULT_POWER_VALUES)
    analyzer_env = functions["analyzer"][1]["Environment"]["Variables"]
    assert analyzer_env == {"visualizationUrl": DEFAULT_VISUALIZATION_URL}
    # THEN the functions that register, end or recover runs know the run table, and the
    # Initializer knows the tuner's other functions, which no input may name
    for name in ("initializer", "publisher", "cleaner", "optimizer"):
        variables = functions[name][1]["Environment"]["Variables"]
        assert "Ref" in variables[RUNS_TABLE_ENV], name
    others = initializer_env[TUNER_FUNCTIONS_ENV]
    assert "Fn::Join" in json.dumps(others) or "Fn::ToJsonString" in json.dumps(others)
    assert "Environment" not in functions["executor"][1]


def test_no_vpc_and_no_boundary_by_default(default_stack: Synthesized) -> None:
    for name, (_, props) in default_stack.functions().items():
        assert "VpcConfig" not in props, name
    for role in default_stack.of_type("AWS::IAM::Role").values():
        assert "PermissionsBoundary" not in role["Properties"]
        assert "ManagedPolicyArns" not in role["Properties"]
