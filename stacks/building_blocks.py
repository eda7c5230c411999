"""Resources the tuner's constructs build the same way: a function with its own role and log group,
a private bucket, the logging of a state machine, a state machine calling functions of its own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from aws_cdk import Aws, Duration, Fn, Names, RemovalPolicy, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from powertuning.asl import TASK_TIMEOUT_MARGIN_S, with_timeouts
from powertuning.deployment import TUNER_TAG

from .acknowledgements import acknowledge

# The latest Python runtime this aws-cdk-lib knows (cdk-nag AwsSolutions-L1 asks for the latest).
RUNTIME: Final = lambda_.Runtime.PYTHON_3_14

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


def function_construct_name(name: str) -> str:
    """`fleet_resolver` -> `FleetResolver`: the function's construct id, and its ASL placeholder's stem."""
    return "".join(part.title() for part in name.split("_"))


@dataclass(frozen=True)
class OwnFunction:
    """A function, its role (log writing and X-Ray only; the stack grants the rest) and its log group."""

    function: lambda_.Function
    role: iam.Role
    log_group: logs.LogGroup


def own_function(
    scope: Construct,
    name: str,
    *,
    code: lambda_.Code,
    memory_mb: int,
    timeout_s: int,
    log_retention_days: int,
    environment: dict[str, str] | None = None,
) -> OwnFunction:
    """The tuner function `lambdas/<name>.py`, with a role and a log group of its own."""
    construct_name = function_construct_name(name)
    log_group = logs.LogGroup(
        scope,
        f"{construct_name}Logs",
        retention=retention(log_retention_days),
        # The tuner's own logs are diagnostics, not records: they go with the stack.
        removal_policy=RemovalPolicy.DESTROY,
    )
    # No AWS managed basic-execution policy: the role may write to this log group only.
    role = iam.Role(
        scope,
        f"{construct_name}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"Power tuner {name}: only the calls the {name} makes.",
    )
    function = lambda_.Function(
        scope,
        construct_name,
        code=code,
        handler=f"lambdas.{name}.handler",
        runtime=RUNTIME,
        architecture=lambda_.Architecture.ARM_64,
        memory_size=memory_mb,
        timeout=Duration.seconds(timeout_s),
        tracing=lambda_.Tracing.ACTIVE,
        role=role,
        log_group=log_group,
        environment=environment,
        description=f"Lambda power tuner: {name}",
    )
    log_group.grant_write(role)
    # Every tuner (and fleet) function says whose it is: every tuner refuses and is denied acting on it.
    Tags.of(function).add(TUNER_TAG, Stack.of(scope).stack_name)
    acknowledge(
        role,
        "AwsSolutions-IAM5[Resource::*]",
        "X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support "
        "resource-level permissions, so AWS documents Resource '*' for them.",
    )
    return OwnFunction(function, role, log_group)


@dataclass(frozen=True)
class OwnFunctions:
    """Functions built by own_function, each with its role and log group, keyed by handler name."""

    functions: dict[str, lambda_.Function]
    roles: dict[str, iam.Role]
    log_groups: dict[str, logs.LogGroup]


def own_functions(
    scope: Construct,
    names: Sequence[str],
    *,
    code: lambda_.Code,
    memory_mb: Mapping[str, int],
    timeout_s: int,
    log_retention_days: int,
    environment: Mapping[str, dict[str, str]] | None = None,
) -> OwnFunctions:
    """own_function for each of `names`, with its memory size and environment (if any) by name."""
    built = OwnFunctions({}, {}, {})
    for name in names:
        own = own_function(
            scope,
            name,
            code=code,
            memory_mb=memory_mb[name],
            timeout_s=timeout_s,
            log_retention_days=log_retention_days,
            environment=(environment or {}).get(name),
        )
        built.functions[name] = own.function
        built.roles[name] = own.role
        built.log_groups[name] = own.log_group
    return built


def private_bucket(
    scope: Construct, construct_id: str, *, expire_after_days: int | None, why_no_access_logs: str
) -> s3.Bucket:
    """A bucket only the tuner's roles use: encrypted, no public access, TLS only, no ACLs, objects
    expired after `expire_after_days` (None: kept until deleted; incomplete uploads are always
    aborted after a day), kept when the stack is deleted (it may hold the only record)."""
    bucket = s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycle_rules=[
            s3.LifecycleRule(
                expiration=None if expire_after_days is None else Duration.days(expire_after_days),
                abort_incomplete_multipart_upload_after=Duration.days(1),
            )
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )
    acknowledge(bucket, "AwsSolutions-S1", why_no_access_logs)
    return bucket


@dataclass(frozen=True)
class LoggedStateMachine:
    """A standard state machine with tracing, its log group, and its name (known before it exists)."""

    state_machine: sfn.StateMachine
    log_group: logs.LogGroup
    name: str


def logged_state_machine(
    scope: Construct,
    *,
    name_prefix: str,
    definition: str,
    substitutions: dict[str, str],
    log_retention_days: int,
    log_execution_data: bool,
    what_events_carry: str,
) -> LoggedStateMachine:
    """A state machine named `<name_prefix>-<last 12 characters of the stack id>` (unique per stack,
    stable across updates), traced, logging errors only unless `log_execution_data`."""
    log_group = logs.LogGroup(
        scope,
        "Logs",
        # The /aws/vendedlogs/ prefix keeps CloudWatch Logs' resource policy small (AWS advice).
        log_group_name=f"/aws/vendedlogs/states/{Names.unique_id(scope)}",
        retention=retention(log_retention_days),
        removal_policy=RemovalPolicy.DESTROY,
    )
    stack_suffix = Fn.select(4, Fn.split("-", Fn.select(2, Fn.split("/", Stack.of(scope).stack_id))))
    name = Fn.join("-", [name_prefix, stack_suffix])
    state_machine = sfn.StateMachine(
        scope,
        "StateMachine",
        state_machine_name=name,
        definition_body=sfn.DefinitionBody.from_string(definition),
        definition_substitutions=substitutions,
        state_machine_type=sfn.StateMachineType.STANDARD,
        tracing_enabled=True,
        logs=sfn.LogOptions(
            destination=log_group,
            level=sfn.LogLevel.ALL if log_execution_data else sfn.LogLevel.ERROR,
            include_execution_data=log_execution_data,
        ),
    )
    if not log_execution_data:
        acknowledge(
            state_machine,
            "AwsSolutions-SF1",
            f"Errors only by default: {what_events_carry}, which users may keep private. The "
            "logExecutionData deploy option logs ALL events with their data.",
        )
    acknowledge(
        state_machine.role,
        "AwsSolutions-IAM5[Resource::*]",
        "Logging and tracing of the state machine: the CloudWatch Logs vended-log delivery actions "
        "(logs:CreateLogDelivery, ...) and xray:PutTraceSegments/GetSamplingRules do not support "
        "resource-level permissions; AWS documents Resource '*' for them.",
    )
    return LoggedStateMachine(state_machine, log_group, name)


@dataclass(frozen=True)
class FunctionsStateMachine:
    """A state machine and the functions of its own that it calls."""

    functions: OwnFunctions
    machine: LoggedStateMachine


def functions_state_machine(
    scope: Construct,
    names: Sequence[str],
    *,
    code: lambda_.Code,
    memory_mb: Mapping[str, int],
    environment: Mapping[str, str],
    timeout_s: int,
    log_retention_days: int,
    definition: str,
    integrations: Mapping[str, str],
    substitutions: Mapping[str, str],
    tuner_function_arns: Sequence[str],
    name_prefix: str,
    log_execution_data: bool,
    what_events_carry: str,
) -> FunctionsStateMachine:
    """Own functions for `names` (lambdas/<name>.py), each with `environment`, and a logged state
    machine calling them.

    The ASL `definition` gets every Task's TimeoutSeconds past the functions' timeout, and its
    placeholders: `<Name>FunctionArn` for each function, `substitutions`, each of `integrations`
    (placeholder -> service API) as the partition's `arn:...:states:::<api>`, and
    `TunerFunctionArns`: `tuner_function_arns` and these functions' ARNs, comma-separated (the
    functions the state machine refuses to act on).
    """
    functions = own_functions(
        scope,
        names,
        code=code,
        memory_mb=memory_mb,
        timeout_s=timeout_s,
        log_retention_days=log_retention_days,
        environment={name: dict(environment) for name in names},
    )
    machine = logged_state_machine(
        scope,
        name_prefix=name_prefix,
        definition=with_timeouts(definition, timeout_s + TASK_TIMEOUT_MARGIN_S),
        substitutions={
            **{
                f"{function_construct_name(name)}FunctionArn": function.function_arn
                for name, function in functions.functions.items()
            },
            **substitutions,
            **{
                name: Fn.join("", ["arn:", Aws.PARTITION, f":states:::{api}"])
                for name, api in integrations.items()
            },
            "TunerFunctionArns": Fn.join(
                ",", [*tuner_function_arns, *(f.function_arn for f in functions.functions.values())]
            ),
        },
        log_retention_days=log_retention_days,
        log_execution_data=log_execution_data,
        what_events_carry=what_events_carry,
    )
    return FunctionsStateMachine(functions, machine)
