"""The run table and the recovery rule: what makes every interrupted run recoverable."""

from __future__ import annotations

from aws_cdk import ArnFormat, Fn, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from powertuning.deployment import RECOVERED_STATUSES
from stacks.acknowledgements import acknowledge, nag_resource


def executions_of(scope: Construct, state_machine_name: str) -> str:
    """The ARN pattern of a state machine's executions, by its name (known before it exists, so a
    policy naming it does not depend on the state machine)."""
    return Stack.of(scope).format_arn(
        service="states",
        resource="execution",
        resource_name=Fn.join("", [state_machine_name, ":*"]),
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


class RunRegistry(Construct):
    """A table with one item per function being tuned (the lock, and its original configuration),
    and an EventBridge rule that sends every ended-badly execution to the recovery function."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.TableV2(
            self,
            "Runs",
            partition_key=dynamodb.Attribute(name="functionArn", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # An item is the only record of an interrupted run's original configuration.
            removal_policy=RemovalPolicy.RETAIN,
        )

    def recover_with(
        self, state_machine: sfn.IStateMachine, state_machine_name: str, function: lambda_.Function
    ) -> events.Rule:
        """Route the state machine's ABORTED, TIMED_OUT and FAILED executions to `function`, which may
        read their real status (it refuses to recover an execution still running)."""
        executions = executions_of(self, state_machine_name)
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[executions])
        )
        assert function.role is not None
        acknowledge(
            function.role,
            f"AwsSolutions-IAM5[Resource::{nag_resource(self, executions)}]",
            "The recovery rule's event names an execution at run time: the Cleaner may only read the "
            "status (states:DescribeExecution) of executions of this stack's tuner state machine, to "
            "refuse recovering one that still runs.",
        )
        return events.Rule(
            self,
            "Recovery",
            description="Cleans up after tuning executions that ended without their own cleanup.",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "status": list(RECOVERED_STATUSES),
                    "stateMachineArn": [state_machine.state_machine_arn],
                },
            ),
            targets=[targets.LambdaFunction(function, retry_attempts=8)],
        )
