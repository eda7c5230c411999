"""The six tuner functions: one asset (shared with the fleet's), one role and one log group each."""

from __future__ import annotations

import json
from typing import Final, cast

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from .acknowledgements import acknowledge
from .building_blocks import own_functions
from .fleet_tuner import FLEET_FUNCTION_NAMES
from .lambda_asset import lambda_code
from .options import TunerOptions

FUNCTION_NAMES: Final = ("initializer", "publisher", "executor", "cleaner", "analyzer", "optimizer")
# The handlers whose import closure is the tuner's asset: its own and the fleet's, which shares it
# (FleetTuner takes `code`). The workflow tuner's functions have an asset of their own (WorkflowTuner).
ASSET_HANDLERS: Final = FUNCTION_NAMES + FLEET_FUNCTION_NAMES
# The tuner's functions wait on the Lambda API and crunch a few hundred numbers: the smallest size does.
MEMORY_MB: Final = 128
VPC_ACCESS_POLICY: Final = "service-role/AWSLambdaVPCAccessExecutionRole"


class TunerFunctions(Construct):
    """Initializer, Publisher, Executor, Cleaner, Analyzer and Optimizer, built from one asset (`code`).

    Each function gets its own role, which holds only log writing and X-Ray here; PowerTuner grants
    the Lambda and S3 actions each one calls. `functions`, `roles` and `log_groups` are keyed by
    FUNCTION_NAMES.
    """

    def __init__(self, scope: Construct, construct_id: str, *, options: TunerOptions) -> None:
        super().__init__(scope, construct_id)
        code = lambda_code(ASSET_HANDLERS)
        # Shared with the fleet's functions.
        self.code = code
        environment = {
            "initializer": {"defaultPowerValues": json.dumps(list(options.power_values))},
            "analyzer": {"visualizationUrl": options.visualization_url},
        }
        own = own_functions(
            self,
            FUNCTION_NAMES,
            code=code,
            memory_mb=dict.fromkeys(FUNCTION_NAMES, MEMORY_MB),
            timeout_s=options.total_execution_timeout,
            log_retention_days=options.log_retention_days,
            environment=environment,
        )
        self.functions, self.roles, self.log_groups = own.functions, own.roles, own.log_groups
        if options.subnet_ids:
            for name in FUNCTION_NAMES:
                self._attach_to_vpc(self.functions[name], self.roles[name], options)

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
