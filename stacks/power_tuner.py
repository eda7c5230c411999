"""PowerTuner: the whole tuner (six functions and the state machine) as one reusable construct.

Drop it into any CDK app:

    from stacks import PowerTuner, TunerOptions
    tuner = PowerTuner(self, "Tuner", options=TunerOptions(power_values=(128, 512, 1024)))
    tuner.state_machine.state_machine_arn

It composes TunerFunctions and TunerStateMachine and owns the grants between them and towards the
functions being tuned, so those grants are in one place to review.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import ArnFormat, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.acknowledgements import acknowledge, nag_resource
from stacks.options import TunerOptions
from stacks.tuner_functions import FUNCTION_NAMES, TunerFunctions
from stacks.tuner_state_machine import TunerStateMachine
from statemachine import PLACEHOLDERS

# The Lambda API actions each function's code can call on the functions being tuned, error paths
# included (tests/infrastructure check this table against the handlers' code). lambda_api waits for
# updates with boto3's `function_updated` waiter, which polls GetFunctionConfiguration.
TARGET_ACTIONS: Final[dict[str, tuple[str, ...]]] = {
    "initializer": ("GetFunctionConfiguration", "ListAliases"),
    "publisher": (
        "CreateAlias",
        # Rolls back a half-published size before failing.
        "DeleteAlias",
        "DeleteFunction",
        "GetAlias",
        "GetFunctionConfiguration",
        "PublishVersion",
        "UpdateAlias",
        "UpdateFunctionConfiguration",
    ),
    # Invokes the aliases under test and the optional pre-/post-processor functions.
    "executor": ("GetFunctionConfiguration", "InvokeFunction"),
    "cleaner": (
        "DeleteAlias",
        # Always with a version number as Qualifier: deletes one published version, never the function.
        "DeleteFunction",
        "GetFunctionConfiguration",
        "ListAliases",
        "ListVersionsByFunction",
        "UpdateFunctionConfiguration",
    ),
    "analyzer": (),
    "optimizer": (
        "CreateAlias",
        "GetAlias",
        "GetFunctionConfiguration",
        "PublishVersion",
        "UpdateAlias",
        "UpdateFunctionConfiguration",
    ),
}


_LAMBDA_RESOURCE_REASON: Final = (
    "The function to tune is named in each execution's input, so it cannot be listed at deploy time: "
    "the deployer bounds it with lambdaResource (by default every function in this account and region). "
    "A pattern also covers the function's versions and aliases (name:*), which the tuner creates and "
    "deletes as RAM<size>. Only the calls this function's code makes are allowed; no action wildcard."
)


class PowerTuner(Construct):
    """The Lambda power tuner: six functions and the state machine that drives them."""

    def __init__(self, scope: Construct, construct_id: str, *, options: TunerOptions | None = None) -> None:
        super().__init__(scope, construct_id)
        self.options = options or TunerOptions()
        self.functions = TunerFunctions(self, "Functions", options=self.options)
        self.tuner_state_machine = TunerStateMachine(
            self,
            "StateMachine",
            function_arns=self._placeholders(self.functions.functions),
            timeout_seconds=self.options.total_execution_timeout,
            name_prefix=self.options.state_machine_name_prefix,
            log_retention_days=self.options.log_retention_days,
        )
        self.state_machine: sfn.StateMachine = self.tuner_state_machine.state_machine
        self.lambda_resources = self._lambda_resources()
        self.version_resources = self._version_resources()
        self._grant_state_machine_invoke()
        self._grant_target_access()
        if self.options.payload_s3_bucket is not None:
            self._grant_payload_read(self.options.payload_s3_bucket, self.options.payload_s3_key)
        if self.options.permissions_boundary is not None:
            iam.PermissionsBoundary.of(self).apply(self._boundary(self.options.permissions_boundary))

    @staticmethod
    def _placeholders(functions: dict[str, lambda_.Function]) -> dict[str, str]:
        arns = {f"{name.title()}FunctionArn": function.function_arn for name, function in functions.items()}
        if set(arns) != set(PLACEHOLDERS):
            raise ValueError(f"the ASL placeholders {sorted(PLACEHOLDERS)} do not match {sorted(arns)}")
        return arns

    def _lambda_resources(self) -> list[str]:
        """lambdaResource patterns, each with `:*` added so versions and aliases match too."""
        if self.options.lambda_resource is None:
            # Every function in this account and region; `*` also matches `name:RAM512`.
            default = Stack.of(self).format_arn(
                service="lambda",
                resource="function",
                resource_name="*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            return [default]
        resources: list[str] = []
        for pattern in self.options.lambda_resource:
            resources.append(pattern)
            if Token.is_unresolved(pattern) or not pattern.endswith("*"):
                resources.append(f"{pattern}:*")
        return resources

    def _version_resources(self) -> list[str]:
        """Qualified-ARN patterns (`pattern:*`): DeleteFunction may remove a version, never a function.

        A DeleteFunction call with a Qualifier is authorised against `name:<version>`, which
        `pattern:*` matches; the unqualified `name` (the whole function) does not.
        """
        bases = self.options.lambda_resource or (self.lambda_resources[0],)
        return [f"{pattern}:*" for pattern in bases]

    def _grant_state_machine_invoke(self) -> None:
        # Unqualified ARNs only: the definition calls the functions themselves, never a version.
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[function.function_arn for function in self.functions.functions.values()],
            )
        )

    def _grant_target_access(self) -> None:
        for name in FUNCTION_NAMES:
            actions = TARGET_ACTIONS[name]
            if not actions:
                continue
            role = self.functions.roles[name]
            scoped = [f"lambda:{action}" for action in actions if action != "DeleteFunction"]
            role.add_to_principal_policy(iam.PolicyStatement(actions=scoped, resources=self.lambda_resources))
            if "DeleteFunction" in actions:
                role.add_to_principal_policy(
                    iam.PolicyStatement(actions=["lambda:DeleteFunction"], resources=self.version_resources)
                )
            for resource in dict.fromkeys(self.lambda_resources + self.version_resources):
                if "*" in resource:
                    acknowledge(
                        role,
                        f"AwsSolutions-IAM5[Resource::{nag_resource(self, resource)}]",
                        _LAMBDA_RESOURCE_REASON,
                    )

    def _grant_payload_read(self, bucket: str, key: str) -> None:
        role = self.functions.roles["executor"]
        resource = Stack.of(self).format_arn(
            service="s3",
            region="",
            account="",
            resource=bucket,
            resource_name=key,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[resource]))
        if "*" in key:
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{nag_resource(self, resource)}]",
                "payloadS3 names an object per execution; read-only access is limited to the bucket and "
                "key pattern the deployer configured with payloadS3Bucket/payloadS3Key.",
            )

    def _boundary(self, boundary: str) -> iam.IManagedPolicy:
        if boundary.startswith("arn:") or Token.is_unresolved(boundary):
            return iam.ManagedPolicy.from_managed_policy_arn(self, "PermissionsBoundary", boundary)
        return iam.ManagedPolicy.from_managed_policy_name(self, "PermissionsBoundary", boundary)
