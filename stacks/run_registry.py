"""The run table and the recovery rule: what makes every interrupted run recoverable."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from powertuning.deployment import RECOVERED_STATUSES


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

    def recover_with(self, state_machine: sfn.IStateMachine, function: lambda_.IFunction) -> events.Rule:
        """Route the state machine's ABORTED, TIMED_OUT and FAILED executions to `function`."""
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
