"""PowerTuner: the whole tuner (six functions and the state machine) as one reusable construct.

Drop it into any CDK app (`pip install 'powertuning[cdk]'`; in this repository, `from stacks import`):

    from powertuning.cdk import PowerTuner, TunerOptions
    tuner = PowerTuner(self, "Tuner", options=TunerOptions(power_values=(128, 512, 1024)))
    tuner.state_machine.state_machine_arn

It composes TunerFunctions and TunerStateMachine and owns the grants between them and towards the
functions being tuned, so those grants are in one place to review; the actions each function is
granted are tables in tuner_actions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from aws_cdk import ArnFormat, Fn, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from powertuning import deployment
from powertuning.asl import PLACEHOLDERS

from .acknowledgements import acknowledge, acknowledge_scanner_findings, nag_resource
from .code_staging import CodeStaging
from .options import TunerOptions
from .run_registry import RunRegistry, executions_of
from .tuner_actions import (
    CODE_CHANGE_ACTIONS,
    LAYER_ACTIONS,
    RUN_TABLE_ACTIONS,
    SELF_DENIED_ACTIONS,
    STAGING_ACTIONS,
    TARGET_ACTIONS,
)
from .tuner_functions import FUNCTION_NAMES, TunerFunctions
from .tuner_state_machine import TunerStateMachine

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
        acknowledge_scanner_findings(self)
        self.options = options or TunerOptions()
        self.functions = TunerFunctions(self, "Functions", options=self.options)
        self.tuner_state_machine = TunerStateMachine(
            self,
            "StateMachine",
            function_arns=self._placeholders(self.functions.functions),
            timeout_seconds=self.options.total_execution_timeout,
            name_prefix=self.options.state_machine_name_prefix,
            log_retention_days=self.options.log_retention_days,
            log_execution_data=self.options.log_execution_data,
            code_changes=self.options.architectures,
        )
        self.state_machine: sfn.StateMachine = self.tuner_state_machine.state_machine
        self.registry = RunRegistry(self, "Runs")
        # Only with the deploy option `architectures`: nothing else stages or changes code.
        self.staging = CodeStaging(self, "CodeStaging") if self.options.architectures else None
        self.recovery_rule = self.registry.recover_with(
            self.state_machine,
            self.tuner_state_machine.state_machine_name,
            self.functions.functions["cleaner"],
        )
        self.lambda_resources = self._lambda_resources()
        self.version_resources = self._version_resources()
        self._grant_state_machine_invoke()
        self._grant_target_access()
        self._grant_run_table()
        self._tell_code_changes()
        if self.staging is not None:
            self._grant_code_changes(self.staging)
        self._grant_execution_read()
        self._grant_production_rate()
        self._deny_self()
        self._deny_tagged()
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
            if self.options.architectures:
                actions = tuple(sorted((*actions, *CODE_CHANGE_ACTIONS.get(name, ()))))
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

    def _grant_run_table(self) -> None:
        table = self.registry.table
        for name, actions in RUN_TABLE_ACTIONS.items():
            self.functions.roles[name].add_to_principal_policy(
                iam.PolicyStatement(actions=list(actions), resources=[table.table_arn])
            )
            self.functions.functions[name].add_environment(deployment.RUNS_TABLE_ENV, table.table_name)
        self._refused = [f.function_arn for n, f in self.functions.functions.items() if n != "initializer"]
        self._set_refused()

    def _set_refused(self) -> None:
        # The Initializer refuses any input naming these (and itself, from its context).
        self.functions.functions["initializer"].add_environment(
            deployment.TUNER_FUNCTIONS_ENV, Fn.to_json_string(self._refused)
        )

    def refuse_functions(self, arns: list[str], *, construct_id: str = "DenyFleet") -> None:
        """Treat more functions as the tuner's own (the fleet's, the workflow tuner's): the Initializer
        refuses them as targets and every tuner role is denied changing or invoking them (a policy
        named `construct_id`, one per call)."""
        self._refused = [*self._refused, *arns]
        self._set_refused()
        self._deny(construct_id, arns)

    def _tell_code_changes(self) -> None:
        """The Initializer refuses input the deploy does not allow (deployment.code_changes)."""
        changes = deployment.CodeChanges(
            enabled=self.options.architectures, image_repositories=self.options.image_repositories
        )
        for key, value in changes.to_env().items():
            self.functions.functions["initializer"].add_environment(key, value)

    def _grant_code_changes(self, staging: CodeStaging) -> None:
        """The deploy option `architectures`: the staging bucket and the layer reads (the Lambda
        actions are CODE_CHANGE_ACTIONS, granted with the others)."""
        self._grant_staging(staging)
        self._grant_layer_reads()

    def _grant_staging(self, staging: CodeStaging) -> None:
        bucket = staging.bucket
        self._grant_wildcard(
            STAGING_ACTIONS,
            bucket.arn_for_objects("*"),
            "Staged code copies are named per run (<runId>/<function>.zip), decided at run time; access "
            "is limited to the tuner's own staging bucket.",
        )
        self.functions.functions["initializer"].add_environment(
            deployment.STAGING_BUCKET_ENV, bucket.bucket_name
        )

    def _grant_layer_reads(self) -> None:
        """Layer versions of this account and region (another account's layer is not checked)."""
        layers = Stack.of(self).format_arn(
            service="lambda",
            resource="layer",
            resource_name="*:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self._grant_wildcard(
            LAYER_ACTIONS,
            layers,
            "The layers a function uses are known only at run time: only GetLayerVersion (read) on "
            "layer versions of this account and region.",
        )

    def _grant_wildcard(self, actions: Mapping[str, Sequence[str]], resource: str, reason: str) -> None:
        """Grant each named role its actions on `resource`, a pattern cdk-nag flags: acknowledged with why."""
        for name, granted in actions.items():
            role = self.functions.roles[name]
            role.add_to_principal_policy(iam.PolicyStatement(actions=list(granted), resources=[resource]))
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{nag_resource(self, resource)}]", reason)

    def _production_log_groups(self) -> list[str]:
        """The tuned functions' default log groups, `/aws/lambda/<name>`, scoped as lambdaResource
        scopes the functions (the same account, region and name pattern)."""
        stack = Stack.of(self)
        bases = self.options.lambda_resource or (None,)
        groups: list[str] = []
        for pattern in bases:
            if pattern is None:
                region, account, name = stack.region, stack.account, "*"
            elif Token.is_unresolved(pattern):
                parts = Fn.split(":", pattern)
                region, account, name = Fn.select(3, parts), Fn.select(4, parts), Fn.select(6, parts)
            else:
                parts_list = pattern.split(":")
                region, account, name = parts_list[3], parts_list[4], parts_list[6]
            group = Fn.join(
                "", [f"arn:{stack.partition}:logs:", region, ":", account, ":log-group:/aws/lambda/", name]
            )
            groups += [group, Fn.join("", [group, ":*"])]
        return groups

    def _grant_production_rate(self) -> None:
        """coldStartRate "production": the Initializer counts the function's REPORT lines with Logs
        Insights. StartQuery and GetQueryResults on the tuned functions' log groups only (both take
        the log-group resource type in the Service Authorization Reference)."""
        role = self.functions.roles["initializer"]
        groups = self._production_log_groups()
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["logs:StartQuery", "logs:GetQueryResults"], resources=groups)
        )
        for group in groups:
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{nag_resource(self, group)}]",
                "The function to tune is named in each execution's input: its log group "
                "/aws/lambda/<name> is bounded by lambdaResource's name pattern, as the function is.",
            )

    def _grant_execution_read(self) -> None:
        """The Optimizer applies nothing for an execution that was stopped meanwhile: it reads its
        own execution's status (a separate policy: the state machine depends on the functions)."""
        # This stack's executions only, by the state machine's name (made of the stack's id).
        executions = executions_of(self, self.tuner_state_machine.state_machine_name)
        policy = iam.Policy(
            self,
            "OptimizerReadsItsExecution",
            roles=[self.functions.roles["optimizer"]],
            statements=[iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[executions])],
        )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{nag_resource(self, executions)}]",
            "Executions are named at start time; the Optimizer may only read the status "
            "(states:DescribeExecution) of executions of this tuner's own state machine, to apply "
            "nothing for a stopped one.",
        )

    def _deny_self(self) -> None:
        """An explicit deny beats lambdaResource's allow: no tuner role may act on a tuner function.

        A separate policy (not the roles' default policies, which the functions depend on), so
        naming the functions' ARNs makes no dependency cycle.
        """
        self._deny("DenySelf", [f.function_arn for f in self.functions.functions.values()])

    def _deny_tagged(self) -> None:
        """No tuner role may act on any function tagged as a power tuner's own (deployment.TUNER_TAG):
        this tuner's, its fleet's, and another tuner stack's in the same account."""
        every_function = Stack.of(self).format_arn(
            service="lambda",
            region="*",
            account="*",
            resource="function",
            resource_name="*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        iam.Policy(
            self,
            "DenyTunerFunctions",
            roles=list(self.functions.roles.values()),
            statements=[
                iam.PolicyStatement(
                    effect=iam.Effect.DENY,
                    actions=list(SELF_DENIED_ACTIONS),
                    resources=[every_function],
                    conditions={"Null": {f"aws:ResourceTag/{deployment.TUNER_TAG}": "false"}},
                )
            ],
        )

    def _deny(self, construct_id: str, arns: list[str]) -> None:
        # Every tuner role is denied SELF_DENIED_ACTIONS on these functions and their versions.
        iam.Policy(
            self,
            construct_id,
            roles=list(self.functions.roles.values()),
            statements=[
                iam.PolicyStatement(
                    effect=iam.Effect.DENY,
                    actions=list(SELF_DENIED_ACTIONS),
                    resources=arns + [f"{arn}:*" for arn in arns],
                )
            ],
        )

    def _grant_payload_read(self, bucket: str, key: str) -> None:
        self._grant_payload_read_to("executor", bucket, key)
        # The Initializer checks the object (exists, JSON, size) before anything changes.
        self._grant_payload_read_to("initializer", bucket, key)

    def _grant_payload_read_to(self, name: str, bucket: str, key: str) -> None:
        role = self.functions.roles[name]
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
