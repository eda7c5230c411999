"""The grants of the workflow tuner: what each of its roles may do, and nothing more.

Called by the stack (grants live at the stack level). No statement has an action wildcard. The reads
of the user's workflow (its definition and history) are on every state machine of the stack's
account and region: the workflow is named in each execution's input. IAM cannot leave the tuner's
own machines out of that pattern, so the reader refuses them by ARN (OwnStateMachineArns).
"""

from __future__ import annotations

from typing import Final

from aws_cdk import ArnFormat, Fn, Stack
from aws_cdk import aws_iam as iam

from .acknowledgements import acknowledge, nag_resource
from .fleet_grants import SYNC_RULE
from .fleet_tuner import FleetTuner
from .power_tuner import PowerTuner
from .run_registry import executions_of
from .workflow_tuner import WORKFLOW_PREFIX, WorkflowTuner

# Reads of a user's workflow: its definition, its executions and their histories, a Distributed
# Map's runs (item counts), nested workflows alike.
WORKFLOW_READ_ACTIONS: Final = (
    "states:DescribeStateMachine",
    "states:ListExecutions",
    "states:DescribeExecution",
    "states:GetExecutionHistory",
    "states:DescribeMapRun",
)
# What each workflow function's code calls (tests/infrastructure check them against the handlers).
WORKFLOW_FUNCTION_ACTIONS: Final[dict[str, tuple[str, ...]]] = {
    "workflow_reader": (*WORKFLOW_READ_ACTIONS, "lambda:GetFunctionConfiguration", "s3:PutObject"),
    "workflow_solver": ("states:DescribeExecution", "s3:GetObject", "s3:PutObject"),
}
# The tuner functions that read a payloadS3 object: the Initializer checks it, the Executor sends it.
PAYLOAD_READERS: Final = ("initializer", "executor")
# Payloads too large for the fleet's input go here, one object per function (workflow_fleet.py).
PAYLOADS_KEY: Final = f"{WORKFLOW_PREFIX}*/payloads/*"


def grant_workflow(stack: Stack, tuner: PowerTuner, fleet: FleetTuner, workflow: WorkflowTuner) -> None:
    """Every permission of the workflow tuner's roles; and the tuner refuses and denies its functions."""
    bucket = fleet.bucket
    objects = bucket.arn_for_objects(f"{WORKFLOW_PREFIX}*")
    objects_reason = (
        "Each workflow tuning writes its plan, large payloads and result under its own key in the "
        "workflow/ prefix of the stack's results bucket; the keys are made at run time."
    )
    reader, solver = workflow.roles["workflow_reader"], workflow.roles["workflow_solver"]
    _grant_reads(stack, tuner, reader)
    reader.add_to_principal_policy(iam.PolicyStatement(actions=["s3:PutObject"], resources=[objects]))
    # The solver: the plan back, the fleet's summary, each child tuning's output, the result.
    summaries = bucket.arn_for_objects("fleet/*/summary.json")
    solver.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:GetObject"], resources=[objects, summaries])
    )
    solver.add_to_principal_policy(iam.PolicyStatement(actions=["s3:PutObject"], resources=[objects]))
    tuner_executions = executions_of(stack, tuner.tuner_state_machine.state_machine_name)
    solver.add_to_principal_policy(
        iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[tuner_executions])
    )
    for role in (reader, solver):
        acknowledge(role, f"AwsSolutions-IAM5[Resource::{nag_resource(stack, objects)}]", objects_reason)
    acknowledge(
        solver,
        f"AwsSolutions-IAM5[Resource::{nag_resource(stack, summaries)}]",
        "The solver reads the summary of the fleet execution it started (fleet/<execution>/summary.json), "
        "named at run time; only summaries, read-only.",
    )
    acknowledge(
        solver,
        f"AwsSolutions-IAM5[Resource::{nag_resource(stack, tuner_executions)}]",
        "The solver reads each function's tuning output (states:DescribeExecution) from the executions "
        "of this stack's tuner state machine that its fleet started; named at run time, read-only.",
    )
    _grant_payload_reads(stack, tuner, bucket.arn_for_objects(PAYLOADS_KEY))
    _grant_state_machine(stack, fleet, workflow)
    tuner.refuse_functions([f.function_arn for f in workflow.functions.values()], construct_id="DenyWorkflow")


def _grant_reads(stack: Stack, tuner: PowerTuner, reader: iam.Role) -> None:
    """The user's workflow, read only: state machines, executions and map runs of this account and
    region; the configuration of the functions it calls, within lambdaResource."""
    resources = [
        stack.format_arn(
            service="states", resource=kind, resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        for kind in ("stateMachine", "execution", "mapRun")
    ]
    reader.add_to_principal_policy(
        iam.PolicyStatement(actions=list(WORKFLOW_READ_ACTIONS), resources=resources)
    )
    for resource in resources:
        acknowledge(
            reader,
            f"AwsSolutions-IAM5[Resource::{nag_resource(stack, resource)}]",
            "The workflow to tune is named in each execution's input, so it cannot be listed at deploy "
            "time: the reader may only describe state machines, list and read executions and their "
            "histories, and describe map runs, of this account and region. It refuses the tuner's own.",
        )
    reader.add_to_principal_policy(
        iam.PolicyStatement(actions=["lambda:GetFunctionConfiguration"], resources=tuner.lambda_resources)
    )
    for resource in tuner.lambda_resources:
        if "*" in resource:
            acknowledge(
                reader,
                f"AwsSolutions-IAM5[Resource::{nag_resource(stack, resource)}]",
                "The workflow's functions are known only from its definition at run time: the reader may "
                "only read the configuration of functions within lambdaResource, the tuner's own bound.",
            )


def _grant_payload_reads(stack: Stack, tuner: PowerTuner, payloads: str) -> None:
    """A payload too large for the fleet's input is passed as payloadS3: the Initializer and the
    Executor may read those objects, and no other object of the bucket."""
    for name in PAYLOAD_READERS:
        role = tuner.functions.roles[name]
        role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[payloads]))
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{nag_resource(stack, payloads)}]",
            "A workflow tuning writes the payloads too large for its fleet's input under "
            "workflow/<execution>/payloads/ of the stack's results bucket, named at run time; the tuner "
            "may read those objects only.",
        )


def _grant_state_machine(stack: Stack, fleet: FleetTuner, workflow: WorkflowTuner) -> None:
    machine = workflow.state_machine
    machine.add_to_role_policy(
        iam.PolicyStatement(
            actions=["lambda:InvokeFunction"], resources=[f.function_arn for f in workflow.functions.values()]
        )
    )
    # The children: executions of the fleet's state machine, started and waited for (sync:2).
    fleet_executions = stack.format_arn(
        service="states",
        resource="execution",
        resource_name=Fn.join("", [fleet.state_machine_name, ":*"]),
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    machine.add_to_role_policy(
        iam.PolicyStatement(
            actions=["states:StartExecution"], resources=[fleet.state_machine.state_machine_arn]
        )
    )
    machine.add_to_role_policy(
        iam.PolicyStatement(
            actions=["states:DescribeExecution", "states:StopExecution"], resources=[fleet_executions]
        )
    )
    rule = stack.format_arn(service="events", resource="rule", resource_name=SYNC_RULE)
    machine.add_to_role_policy(
        iam.PolicyStatement(
            actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"], resources=[rule]
        )
    )
    acknowledge(
        machine.role,
        f"AwsSolutions-IAM5[Resource::{nag_resource(stack, fleet_executions)}]",
        "The workflow tuner starts executions of the fleet's state machine and waits for them "
        "(startExecution.sync:2): it may describe and stop executions of that one state machine only.",
    )
