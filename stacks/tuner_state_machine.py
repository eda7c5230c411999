"""The tuner's state machine, defined by statemachine/power_tuning.asl.json (kept inline)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Tags
from constructs import Construct

from powertuning.deployment import ARCHITECTURES_TAG
from stacks.building_blocks import logged_state_machine
from statemachine import TASK_TIMEOUT_MARGIN_S, definition_text, with_timeouts


def render_definition(asl_text: str, function_timeout_seconds: int) -> str:
    """The ASL text with every Task's TimeoutSeconds set past the functions' own timeout;
    `${...FunctionArn}` placeholders stay."""
    return with_timeouts(asl_text, function_timeout_seconds + TASK_TIMEOUT_MARGIN_S)


class TunerStateMachine(Construct):
    """A standard state machine with X-Ray tracing, logging errors (or every event) to its own log group.

    `code_changes` (the deploy option `architectures`) is told by the tag ARCHITECTURES_TAG.
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
        code_changes: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        built = logged_state_machine(
            self,
            name_prefix=name_prefix,
            definition=render_definition(definition_text(), timeout_seconds),
            substitutions=dict(function_arns),
            log_retention_days=log_retention_days,
            log_execution_data=log_execution_data,
            what_events_carry="events of a tuning carry the function's payloads (disablePayloadLogs)",
        )
        self.state_machine, self.log_group = built.state_machine, built.log_group
        # Whether the deploy allows code changes: `powertune run --architectures` reads it first.
        Tags.of(self.state_machine).add(
            ARCHITECTURES_TAG,
            "true" if code_changes else "false",
            include_resource_types=["AWS::StepFunctions::StateMachine"],
        )
        # Known before the state machine exists: the fleet's role names its executions by it.
        self.state_machine_name = built.name
