"""The tuner's state machine, defined by statemachine/power_tuning.asl.json (kept inline)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Fn, Names, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.acknowledgements import acknowledge
from stacks.building_blocks import retention
from statemachine import TASK_TIMEOUT_MARGIN_S, definition_text, with_timeouts


def render_definition(asl_text: str, function_timeout_seconds: int) -> str:
    """The ASL text with every Task's TimeoutSeconds set past the functions' own timeout;
    `${...FunctionArn}` placeholders stay."""
    return with_timeouts(asl_text, function_timeout_seconds + TASK_TIMEOUT_MARGIN_S)


class TunerStateMachine(Construct):
    """A standard state machine with X-Ray tracing, logging errors (or every event) to its own log group.

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
        log_execution_data: bool = False,
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
        # Known before the state machine exists: the fleet's role names its executions by it.
        self.state_machine_name = Fn.join("-", [name_prefix, stack_suffix])
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=self.state_machine_name,
            definition_body=sfn.DefinitionBody.from_string(
                render_definition(definition_text(), timeout_seconds)
            ),
            definition_substitutions=dict(function_arns),
            state_machine_type=sfn.StateMachineType.STANDARD,
            tracing_enabled=True,
            # Errors only, without execution data: inputs carry payloads (disablePayloadLogs). The
            # logExecutionData deploy option logs every event with its data, for debugging.
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel.ALL if log_execution_data else sfn.LogLevel.ERROR,
                include_execution_data=log_execution_data,
            ),
        )
        if not log_execution_data:
            acknowledge(
                self.state_machine,
                "AwsSolutions-SF1",
                "Errors only by default: events of a tuning carry the function's payloads, which users may "
                "keep private (disablePayloadLogs). The logExecutionData deploy option logs ALL events with "
                "their data.",
            )
        acknowledge(
            self.state_machine.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Logging and tracing of the state machine: the CloudWatch Logs vended-log delivery actions "
            "(logs:CreateLogDelivery, ...) and xray:PutTraceSegments/GetSamplingRules do not support "
            "resource-level permissions; AWS documents Resource '*' for them.",
        )
