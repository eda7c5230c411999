"""The six tuner functions: one shared asset, one role and one log group each."""

from __future__ import annotations

import json
from typing import Final, cast

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.acknowledgements import acknowledge
from stacks.lambda_asset import stage_asset
from stacks.options import TunerOptions

FUNCTION_NAMES: Final = ("initializer", "publisher", "executor", "cleaner", "analyzer", "optimizer")
# The latest Python runtime this aws-cdk-lib knows (cdk-nag AwsSolutions-L1 asks for the latest).
RUNTIME: Final = lambda_.Runtime.PYTHON_3_14
# The tuner's functions wait on the Lambda API and crunch a few hundred numbers: the smallest size does.
MEMORY_MB: Final = 128
VPC_ACCESS_POLICY: Final = "service-role/AWSLambdaVPCAccessExecutionRole"

_RETENTION: Final = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


def retention(days: int) -> logs.RetentionDays:
    """The RetentionDays member for a validated logRetentionDays value."""
    return _RETENTION[days]


class TunerFunctions(Construct):
    """Initializer, Publisher, Executor, Cleaner, Analyzer and Optimizer, built from one asset.

    Each function gets its own role, which holds only log writing and X-Ray here; PowerTuner grants
    the Lambda and S3 actions each one calls. `functions`, `roles` and `log_groups` are keyed by
    FUNCTION_NAMES.
    """

    def __init__(self, scope: Construct, construct_id: str, *, options: TunerOptions) -> None:
        super().__init__(scope, construct_id)
        code = lambda_.Code.from_asset(str(stage_asset()))
        # The one asset, shared with the fleet's functions.
        self.code = code
        environment = {
            "initializer": {"defaultPowerValues": json.dumps(list(options.power_values))},
            "analyzer": {"visualizationUrl": options.visualization_url},
        }
        self.functions: dict[str, lambda_.Function] = {}
        self.roles: dict[str, iam.Role] = {}
        self.log_groups: dict[str, logs.LogGroup] = {}
        for name in FUNCTION_NAMES:
            construct_name = name.title()
            log_group = logs.LogGroup(
                self,
                f"{construct_name}Logs",
                retention=retention(options.log_retention_days),
                # The tuner's own logs are diagnostics, not records: they go with the stack.
                removal_policy=RemovalPolicy.DESTROY,
            )
            # No AWS managed basic-execution policy: the role may write to this log group only.
            role = iam.Role(
                self,
                f"{construct_name}Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"Power tuner {name}: only the calls the {name} makes.",
            )
            function = lambda_.Function(
                self,
                construct_name,
                code=code,
                handler=f"lambdas.{name}.handler",
                runtime=RUNTIME,
                architecture=lambda_.Architecture.ARM_64,
                memory_size=MEMORY_MB,
                timeout=Duration.seconds(options.total_execution_timeout),
                tracing=lambda_.Tracing.ACTIVE,
                role=role,
                log_group=log_group,
                environment=environment.get(name),
                description=f"Lambda power tuner: {name}",
            )
            log_group.grant_write(role)
            acknowledge(
                role,
                "AwsSolutions-IAM5[Resource::*]",
                "X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support "
                "resource-level permissions, so AWS documents Resource '*' for them.",
            )
            if options.subnet_ids:
                self._attach_to_vpc(function, role, options)
            self.functions[name] = function
            self.roles[name] = role
            self.log_groups[name] = log_group

    @staticmethod
    def _attach_to_vpc(function: lambda_.Function, role: iam.Role, options: TunerOptions) -> None:
        # The L2 `vpc` prop wants an IVpc, which only a lookup (AWS credentials at synth time) can
        # build from bare subnet ids; the L1 property takes the ids as they are.
        cfn_function = cast(lambda_.CfnFunction, function.node.default_child)
        cfn_function.vpc_config = lambda_.CfnFunction.VpcConfigProperty(
            subnet_ids=list(options.subnet_ids), security_group_ids=list(options.security_group_ids)
        )
        policy = iam.ManagedPolicy.from_aws_managed_policy_name(VPC_ACCESS_POLICY)
        role.add_managed_policy(policy)
        acknowledge(
            role,
            f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{VPC_ACCESS_POLICY}]",
            "AWSLambdaVPCAccessExecutionRole holds only the ENI actions Lambda needs to place the "
            "function in the configured subnets; AWS keeps it in step with what Lambda requires.",
        )
