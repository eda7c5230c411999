"""The grants between the fleet and the tuner: what each fleet role may do, and nothing more.

Called by the stack (grants live at the stack level). No statement has an action wildcard.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import ArnFormat, Fn, Stack
from aws_cdk import aws_iam as iam

from .acknowledgements import acknowledge, nag_resource
from .fleet_tuner import RESULTS_PREFIX, FleetTuner
from .power_tuner import PowerTuner

# What each fleet function's code calls (tests/infrastructure check them against the handlers).
FLEET_FUNCTION_ACTIONS: Final[dict[str, tuple[str, ...]]] = {
    "fleet_resolver": ("lambda:GetFunctionConfiguration", "lambda:ListTags", "s3:PutObject"),
    "fleet_summary": ("cloudwatch:GetMetricData", "s3:GetObject", "s3:PutObject"),
}
# The managed rule Step Functions creates to learn that a startExecution.sync:2 child has ended.
SYNC_RULE: Final = "StepFunctionsGetEventsForStepFunctionsExecutionRule"
# What a Distributed Map's ItemReader and ResultWriter need on the bucket (AWS's documented policy).
MAP_S3_ACTIONS: Final = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListMultipartUploadParts",
    "s3:AbortMultipartUpload",
)


def grant_fleet(stack: Stack, tuner: PowerTuner, fleet: FleetTuner) -> None:
    """Every permission of the fleet's roles; and the tuner refuses and denies the fleet's functions."""
    objects = fleet.bucket.arn_for_objects(f"{RESULTS_PREFIX}*")
    objects_id = f"AwsSolutions-IAM5[Resource::{nag_resource(stack, objects)}]"
    objects_reason = (
        "Each fleet execution writes its item list, the Map's result files and its summary under its own "
        "key in the fleet/ prefix of the stack's results bucket; the keys are made at run time."
    )
    # FleetResolver: reads the functions it selects, lists them for a selector, writes the item list.
    resolver = fleet.roles["fleet_resolver"]
    resolver.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["lambda:GetFunctionConfiguration", "lambda:ListTags"], resources=tuner.lambda_resources
        )
    )
    resolver.add_to_principal_policy(iam.PolicyStatement(actions=["lambda:ListFunctions"], resources=["*"]))
    resolver.add_to_principal_policy(iam.PolicyStatement(actions=["s3:PutObject"], resources=[objects]))
    for resource in tuner.lambda_resources:
        if "*" in resource:
            acknowledge(
                resolver,
                f"AwsSolutions-IAM5[Resource::{nag_resource(stack, resource)}]",
                "The fleet's functions are named in each execution's input or matched by its selector, so "
                "they cannot be listed at deploy time: the resolver may only read the configuration and tags "
                "of functions within lambdaResource, the tuner's own bound.",
            )
    acknowledge(resolver, objects_id, objects_reason)
    # FleetSummary: reads the Map's results and the functions' metrics, writes the summary.
    summary = fleet.roles["fleet_summary"]
    summary.add_to_principal_policy(
        iam.PolicyStatement(actions=["cloudwatch:GetMetricData"], resources=["*"])
    )
    summary.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:GetObject", "s3:PutObject"], resources=[objects])
    )
    acknowledge(summary, objects_id, objects_reason)
    # Both: lambda:ListFunctions and cloudwatch:GetMetricData have no resource-level permissions.
    for role in (resolver, summary):
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray's PutTraceSegments/PutTelemetryRecords, lambda:ListFunctions (the resolver, for a "
            "selector) and cloudwatch:GetMetricData (the summary) do not support resource-level "
            "permissions; AWS documents Resource '*' for them. Only these read-only actions use it.",
        )
    _grant_state_machine(
        stack, tuner, fleet, objects=objects, objects_id=objects_id, objects_reason=objects_reason
    )
    tuner.refuse_functions([f.function_arn for f in fleet.functions.values()])


def _grant_state_machine(
    stack: Stack, tuner: PowerTuner, fleet: FleetTuner, *, objects: str, objects_id: str, objects_reason: str
) -> None:
    role = fleet.state_machine.role
    fleet.state_machine.add_to_role_policy(
        iam.PolicyStatement(
            actions=["lambda:InvokeFunction"], resources=[f.function_arn for f in fleet.functions.values()]
        )
    )
    # The children: executions of the tuner's state machine, started and waited for (sync:2).
    tuner_executions = stack.format_arn(
        service="states",
        resource="execution",
        resource_name=Fn.join("", [tuner.tuner_state_machine.state_machine_name, ":*"]),
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    own_arn = stack.format_arn(
        service="states",
        resource="stateMachine",
        resource_name=fleet.state_machine_name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    # A Distributed Map's child workflows are executions of this state machine, named <name>/<map run>:<id>.
    own_executions = stack.format_arn(
        service="states",
        resource="execution",
        resource_name=Fn.join("", [fleet.state_machine_name, "/*"]),
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    rule = stack.format_arn(service="events", resource="rule", resource_name=SYNC_RULE)
    fleet.state_machine.add_to_role_policy(
        iam.PolicyStatement(
            actions=["states:StartExecution"], resources=[tuner.state_machine.state_machine_arn, own_arn]
        )
    )
    fleet.state_machine.add_to_role_policy(
        iam.PolicyStatement(
            actions=["states:DescribeExecution", "states:StopExecution"],
            resources=[tuner_executions, own_executions],
        )
    )
    fleet.state_machine.add_to_role_policy(
        iam.PolicyStatement(
            actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"], resources=[rule]
        )
    )
    fleet.state_machine.add_to_role_policy(
        iam.PolicyStatement(actions=list(MAP_S3_ACTIONS), resources=[objects])
    )
    acknowledge(role, objects_id, objects_reason)
    for resource, reason in (
        (
            tuner_executions,
            "The fleet starts one execution of the tuner's state machine per function and waits for it "
            "(startExecution.sync:2): it may describe and stop executions of that one state machine only.",
        ),
        (
            own_executions,
            "A Distributed Map runs each item as a child execution of this state machine, named at run time "
            "(<name>/<map run>:<id>); the role may describe and stop its own children only.",
        ),
    ):
        acknowledge(role, f"AwsSolutions-IAM5[Resource::{nag_resource(stack, resource)}]", reason)
