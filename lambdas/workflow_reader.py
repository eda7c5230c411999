"""WorkflowReader: validate a workflow input, read the user's workflow, plan its functions' tunings."""

from __future__ import annotations

from typing import Any

from powertuning import deployment, lambda_api
from powertuning.workflow.deployed import prepare
from powertuning.workflow.reader import read_workflow
from powertuning.workflow.request import WorkflowRequest


def _listed(value: Any) -> list[str]:
    return [item for item in str(value or "").split(",") if item]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """`{input, execution, stateMachine, ownStateMachines, tunerFunctions}` -> where the plan is and the
    fleet run that tunes each function once; bad input fails here, before any tuning starts."""
    request = WorkflowRequest.from_dict(event.get("input"))
    plan = read_workflow(
        request,
        sfn=lambda_api.client("stepfunctions"),
        lambda_client=lambda_api.client("lambda"),
        # From the definition (not the caller's input): this state machine, the tuner's, the fleet's.
        own_state_machines=[str(event.get("stateMachine", "")), *_listed(event.get("ownStateMachines"))],
    )
    return prepare(
        plan,
        s3=lambda_api.client("s3"),
        bucket=deployment.fleet_bucket(),
        workflow_execution=str(event.get("execution", "local")),
        own_functions=deployment.tuner_functions(context) + _listed(event.get("tunerFunctions")),
    )
