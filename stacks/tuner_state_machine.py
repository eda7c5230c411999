"""The tuner's state machine, defined by statemachine/power_tuning.asl.json (kept inline)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_cdk import Fn, Names, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.acknowledgements import acknowledge
from stacks.tuner_functions import retention
from statemachine import definition_text


def render_definition(asl_text: str, timeout_seconds: int) -> str:
    """The ASL text with every Task's TimeoutSeconds set; `${...FunctionArn}` placeholders stay."""
    definition = json.loads(asl_text)
    _set_task_timeouts(definition["States"], timeout_seconds)
    return json.dumps(definition, indent=2)


def _set_task_timeouts(states: Mapping[str, Any], timeout_seconds: int) -> None:
    for state in states.values():
        if state["Type"] == "Task":
            state["TimeoutSeconds"] = timeout_seconds
        for nested in (state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", ())):
            if nested:
                _set_task_timeouts(nested["States"], timeout_seconds)


class TunerStateMachine(Construct):
    """A standard state machine with X-Ray tracing and every event logged to its own log group.

    `function_arns` maps the ASL placeholders (`InitializerFunctionArn`, ...) to function ARNs;
    they are passed as DefinitionSubstitutions so the definition stays inline in the template.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function_arns: Mapping[str, str],
        timeout_seconds: int,
        name_prefix: str,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            # The /aws/vendedlogs/ prefix keeps CloudWatch Logs' resource policy small (AWS advice).
            log_group_name=f"/aws/vendedlogs/states/{Names.unique_id(self)}",
            retention=retention(log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        # "<prefix>-<last 12 characters of the stack id>": unique per stack, stable across updates.
        stack_suffix = Fn.select(4, Fn.split("-", Fn.select(2, Fn.split("/", stack.stack_id))))
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=Fn.join("-", [name_prefix, stack_suffix]),
            definition_body=sfn.DefinitionBody.from_string(
                render_definition(definition_text(), timeout_seconds)
            ),
            definition_substitutions=dict(function_arns),
            state_machine_type=sfn.StateMachineType.STANDARD,
            tracing_enabled=True,
            # Inputs and outputs are logged too: they are the tuning requests and results to debug.
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
        )
        acknowledge(
            self.state_machine.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Logging and tracing of the state machine: the CloudWatch Logs vended-log delivery actions "
            "(logs:CreateLogDelivery, ...) and xray:PutTraceSegments/GetSamplingRules do not support "
            "resource-level permissions; AWS documents Resource '*' for them.",
        )
