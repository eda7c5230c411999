"""The state machine definitions (statemachine/*.asl.json) of the tuner, the fleet and the workflow
tuner: read and rendered.

The stack and the local engine both render them here, so both run the same definition with the same
Task timeouts. The JSON files are data: statemachine/ in the repository, package data when installed
(powertuning.layout says where).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from powertuning.layout import ASL_DIR

ASL_FILE: Final = "power_tuning.asl.json"
PLACEHOLDERS: Final = (
    "InitializerFunctionArn",
    "PublisherFunctionArn",
    "ExecutorFunctionArn",
    "CleanerFunctionArn",
    "AnalyzerFunctionArn",
    "OptimizerFunctionArn",
)


def definition_text() -> str:
    """The ASL JSON text with its `${...FunctionArn}` placeholders."""
    return (ASL_DIR / ASL_FILE).read_text(encoding="utf-8")


# The fleet state machine: a Distributed Map starting one execution of the tuner per function.
FLEET_ASL_FILE: Final = "fleet.asl.json"
FLEET_PLACEHOLDERS: Final = (
    "FleetResolverFunctionArn",
    "FleetSummaryFunctionArn",
    "TunerStateMachineArn",
    "ResultsBucketName",
    # The tuner's and the fleet's own functions, comma-separated: a fleet never includes them.
    "TunerFunctionArns",
    # Service integrations, named in the partition's own ARNs (arn:aws-cn:states:::... in China).
    "StartTuningResource",
    "ItemReaderResource",
    "ResultWriterResource",
)
# The service integrations' resources, by placeholder: `arn:<partition>:states:::<this>`.
FLEET_INTEGRATIONS: Final = {
    "StartTuningResource": "states:startExecution.sync:2",
    "ItemReaderResource": "s3:getObject",
    "ResultWriterResource": "s3:putObject",
}


def fleet_integrations(partition: str) -> dict[str, str]:
    """The integration placeholders' values in a partition."""
    return {name: f"arn:{partition}:states:::{api}" for name, api in FLEET_INTEGRATIONS.items()}


def fleet_definition_text() -> str:
    """The fleet ASL JSON text with its `${...}` placeholders."""
    return (ASL_DIR / FLEET_ASL_FILE).read_text(encoding="utf-8")


def render_fleet(arns: Mapping[str, str], *, function_timeout_s: int | None = None) -> str:
    """The fleet ASL with each placeholder replaced (keys: FLEET_PLACEHOLDERS) and, with
    `function_timeout_s`, its Lambda Tasks' timeouts set as the stack sets them."""
    return _render(fleet_definition_text(), FLEET_PLACEHOLDERS, arns, function_timeout_s)


# The workflow tuner: reads a user's workflow, tunes its functions through one fleet execution, solves.
WORKFLOW_ASL_FILE: Final = "workflow.asl.json"
WORKFLOW_PLACEHOLDERS: Final = (
    "WorkflowReaderFunctionArn",
    "WorkflowSolverFunctionArn",
    "FleetStateMachineArn",
    # The tuner's, the fleet's and the workflow tuner's state machines, comma-separated: never read.
    "OwnStateMachineArns",
    # Every function of the tuner's stack, comma-separated: a workflow calling one is refused.
    "TunerFunctionArns",
    "StartFleetResource",
)
WORKFLOW_INTEGRATIONS: Final = {"StartFleetResource": "states:startExecution.sync:2"}
# Tasks that start a child execution and wait for it: they run as long as the child takes.
_CHILD_EXECUTION_RESOURCES: Final = ("${StartTuningResource}", "${StartFleetResource}")


def workflow_integrations(partition: str) -> dict[str, str]:
    """The workflow tuner's integration placeholders' values in a partition."""
    return {name: f"arn:{partition}:states:::{api}" for name, api in WORKFLOW_INTEGRATIONS.items()}


def workflow_definition_text() -> str:
    """The workflow tuner's ASL JSON text with its `${...}` placeholders."""
    return (ASL_DIR / WORKFLOW_ASL_FILE).read_text(encoding="utf-8")


def render_workflow(values: Mapping[str, str], *, function_timeout_s: int | None = None) -> str:
    """The workflow tuner's ASL with each placeholder replaced (keys: WORKFLOW_PLACEHOLDERS) and,
    with `function_timeout_s`, its Lambda Tasks' timeouts set as the stack sets them."""
    return _render(workflow_definition_text(), WORKFLOW_PLACEHOLDERS, values, function_timeout_s)


# A Task outlives its function's own timeout by this much: the function is stopped by Lambda first,
# so no step of the tuner keeps acting after the state machine has moved on to cleanup.
TASK_TIMEOUT_MARGIN_S: Final = 30


def with_timeouts(asl_text: str, task_timeout_s: int) -> str:
    """The ASL text with every Task's TimeoutSeconds set; the stack and the local engine both use it."""
    definition = json.loads(asl_text)
    _set_task_timeouts(definition["States"], task_timeout_s)
    return json.dumps(definition, indent=2)


def _set_task_timeouts(states: Mapping[str, Any], timeout_s: int) -> None:
    for state in states.values():
        # Lambda Tasks only: a startExecution.sync:2 child runs as long as the tuning takes.
        if state["Type"] == "Task" and state["Resource"] not in _CHILD_EXECUTION_RESOURCES:
            state["TimeoutSeconds"] = timeout_s
        for nested in (state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", ())):
            if nested:
                _set_task_timeouts(nested["States"], timeout_s)


def render(function_arns: dict[str, str], *, function_timeout_s: int | None = None) -> str:
    """The ASL text with each placeholder replaced by a function ARN (keys: placeholder names),
    and with `function_timeout_s`, every Task's timeout set past it as the stack sets it."""
    return _render(definition_text(), PLACEHOLDERS, function_arns, function_timeout_s)


def _render(
    text: str, placeholders: Iterable[str], arns: Mapping[str, str], function_timeout_s: int | None
) -> str:
    if function_timeout_s is not None:
        text = with_timeouts(text, function_timeout_s + TASK_TIMEOUT_MARGIN_S)
    for name in placeholders:
        text = text.replace("${" + name + "}", arns[name])
    return text
