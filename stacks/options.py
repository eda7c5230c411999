"""Deploy options of the tuner: one validated dataclass, built from props or from CDK context.

Every option has a camelCase name, used with `cdk deploy -c name=value` and in cdk.json, and a
snake_case field on `TunerOptions`. A bad value raises InvalidOptionError naming the camelCase key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Final
from urllib.parse import urlparse

from aws_cdk import Token

from powertuning.arns import REPOSITORY_URI
from powertuning.errors import InvalidOptionError
from powertuning.input_kinds import MemorySizesError, check_memory_sizes
from powertuning.pricing import DEFAULT_POWER_VALUES, MAX_MEMORY_MB, MIN_MEMORY_MB
from powertuning.visualization import DEFAULT_VISUALIZATION_URL

MIN_TIMEOUT_S: Final = 10
MAX_TIMEOUT_S: Final = 900  # Lambda's maximum function timeout.
# The values CloudWatch Logs accepts for RetentionInDays.
LOG_RETENTION_DAYS: Final = (
    *(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731),
    *(1096, 1827, 2192, 2557, 2922, 3288, 3653),
)
# The state machine is named "<prefix>-<12 characters of the stack id>" and names allow 80 characters.
MAX_PREFIX_LENGTH: Final = 80 - 13

# `*` and `?` are IAM wildcards; everything else must read as a Lambda function ARN.
LAMBDA_RESOURCE = re.compile(r"^arn:[a-z*?-]+:lambda:[a-z0-9*?-]+:[0-9*?]+:function:[A-Za-z0-9_*?:$-]+$")
PERMISSIONS_BOUNDARY_ARN = re.compile(r"^arn:[a-z-]+:iam::(\d{12}|aws):policy/[\w+=,.@/-]{1,128}$")
POLICY_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8,17}$")
SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8,17}$")
NAME_PREFIX = re.compile(rf"^[A-Za-z0-9_-]{{1,{MAX_PREFIX_LENGTH}}}$")


def _fail(key: str, expected: str, value: Any) -> InvalidOptionError:
    return InvalidOptionError(f"{key} must be {expected}, got {json.dumps(value, default=str)}")


def _is_token(value: Any) -> bool:
    """True for CDK tokens (e.g. another construct's ARN), which resolve at deploy time."""
    return isinstance(value, str) and Token.is_unresolved(value)


def _strings(key: str, value: Any, pattern: re.Pattern[str], expected: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise _fail(key, f"a list of {expected}", value)
    for item in value:
        if not (_is_token(item) or (isinstance(item, str) and pattern.match(item))):
            raise _fail(key, f"a list of {expected}", item)
    if len(set(value)) != len(value):
        raise _fail(key, "a list without duplicates", list(value))
    return tuple(value)


@dataclass(frozen=True, kw_only=True)
class TunerOptions:
    """The deploy options of a PowerTuner; validated on construction."""

    # Memory sizes (MB) the Initializer uses when an execution input has no powerValues.
    power_values: tuple[int, ...] = DEFAULT_POWER_VALUES
    # ARN patterns of the functions the tuner may read, publish, invoke and clean up.
    # None means every function in the stack's account and region.
    lambda_resource: tuple[str, ...] | None = None
    # Timeout (s) of every tuner function and of every Task state that calls one.
    total_execution_timeout: int = 300
    visualization_url: str = DEFAULT_VISUALIZATION_URL
    # Managed policy ARN or name applied as permissions boundary to every role of the tuner.
    permissions_boundary: str | None = None
    # Where execution inputs may keep large payloads (payloadS3); the Executor may read only there.
    payload_s3_bucket: str | None = None
    payload_s3_key: str = "*"
    log_retention_days: int = 30
    # Run the tuner functions in these subnets (both lists or neither).
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    state_machine_name_prefix: str = "powerTuningStateMachine"
    # Log every state machine event with its input and output (payloads included); errors only otherwise.
    log_execution_data: bool = False
    # Deploy the fleet state machine (a Distributed Map tuning many functions) and its results bucket.
    fleet: bool = True
    # Deploy the workflow tuner (a state machine that tunes every function of a user's workflow
    # through the fleet). None: on whenever `fleet` is (it needs the fleet); validated to a bool.
    workflow: bool | None = None
    # Let executions change a function's code (input `architectures`, `imageUris`): the staging
    # bucket, UpdateFunctionCode and GetFunction. Off: no role can change any function's code.
    architectures: bool = False
    # More ECR repositories (<account>.dkr.ecr.<region>.amazonaws.com/<name>) imageUris may name,
    # besides each function's own. Needs architectures.
    image_repositories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for item in fields(self):
            _VALIDATORS[item.name](self)

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> TunerOptions:
        """Options from CDK context (`node.try_get_context`); strings from `-c key=value` are parsed."""
        values: dict[str, Any] = {}
        for item in fields(cls):
            key = CONTEXT_KEYS[item.name]
            raw = get(key)
            if raw is None or raw == "":
                continue
            values[item.name] = _PARSERS.get(item.name, lambda _key, value: value)(key, raw)
        return cls(**values)


def _parse_list(key: str, raw: Any) -> Any:
    """A JSON list (`[128,256]`) or a comma-separated string (`128,256`) from context."""
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise _fail(key, "a JSON list or comma-separated values", raw) from None
    return [part.strip() for part in text.split(",") if part.strip()]


def _parse_ints(key: str, raw: Any) -> Any:
    items = _parse_list(key, raw)
    if isinstance(items, list):
        return [int(item) if isinstance(item, str) and item.isdigit() else item for item in items]
    return items


def _parse_bool(_key: str, raw: Any) -> Any:
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    return raw


def _parse_int(_key: str, raw: Any) -> Any:
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    return raw


_PARSERS: Final[dict[str, Callable[[str, Any], Any]]] = {
    "power_values": _parse_ints,
    "lambda_resource": _parse_list,
    "total_execution_timeout": _parse_int,
    "log_retention_days": _parse_int,
    "subnet_ids": _parse_list,
    "security_group_ids": _parse_list,
    "log_execution_data": _parse_bool,
    "fleet": _parse_bool,
    "workflow": _parse_bool,
    "architectures": _parse_bool,
    "image_repositories": _parse_list,
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


CONTEXT_KEYS: Final = {item.name: _camel(item.name) for item in fields(TunerOptions)}


def _power_values(options: TunerOptions) -> None:
    key, value = "powerValues", options.power_values
    expected = f"a non-empty list of integers from {MIN_MEMORY_MB} to {MAX_MEMORY_MB} (MB)"
    try:
        sizes = check_memory_sizes(value)
    except MemorySizesError as exc:
        if exc.problem == "repeated":
            raise _fail(key, "a list without duplicates", list(value)) from None
        raise _fail(key, expected, exc.item) from None
    object.__setattr__(options, "power_values", sizes)


def _lambda_resource(options: TunerOptions) -> None:
    if options.lambda_resource is None:
        return
    value = _strings(
        "lambdaResource",
        options.lambda_resource,
        LAMBDA_RESOURCE,
        "Lambda function ARN patterns (arn:<partition>:lambda:<region>:<account>:function:<name>)",
    )
    if not value:
        raise _fail("lambdaResource", "a non-empty list of Lambda function ARN patterns", [])
    object.__setattr__(options, "lambda_resource", value)


def _int_between(key: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(key, f"an integer from {low} to {high}", value)


def _total_execution_timeout(options: TunerOptions) -> None:
    _int_between("totalExecutionTimeout", options.total_execution_timeout, MIN_TIMEOUT_S, MAX_TIMEOUT_S)


def _visualization_url(options: TunerOptions) -> None:
    value = options.visualization_url
    url = urlparse(value) if isinstance(value, str) else None
    if url is None or url.scheme not in ("https", "http") or not url.netloc:
        raise _fail("visualizationUrl", "an http(s) URL", value)


def _permissions_boundary(options: TunerOptions) -> None:
    value = options.permissions_boundary
    if value is None or _is_token(value):
        return
    if not isinstance(value, str) or not (PERMISSIONS_BOUNDARY_ARN.match(value) or POLICY_NAME.match(value)):
        raise _fail("permissionsBoundary", "an IAM managed policy ARN or policy name", value)


def _payload_s3(options: TunerOptions) -> None:
    bucket, key = options.payload_s3_bucket, options.payload_s3_key
    if not (bucket is None or _is_token(bucket) or _is_bucket_name(bucket)):
        raise _fail("payloadS3Bucket", "an S3 bucket name", bucket)
    if not isinstance(key, str) or not key or key.startswith("/") or len(key) > 1024:
        raise _fail("payloadS3Key", "an S3 key or key pattern without a leading slash (default *)", key)
    if bucket is None and key != "*":
        raise InvalidOptionError("payloadS3Key needs payloadS3Bucket: set both or neither")


def _is_bucket_name(value: Any) -> bool:
    return isinstance(value, str) and BUCKET_NAME.match(value) is not None and ".." not in value


def _log_retention_days(options: TunerOptions) -> None:
    value = options.log_retention_days
    if isinstance(value, bool) or value not in LOG_RETENTION_DAYS:
        raise _fail("logRetentionDays", f"one of {', '.join(map(str, LOG_RETENTION_DAYS))}", value)


def _vpc(options: TunerOptions) -> None:
    subnets = _strings("subnetIds", options.subnet_ids, SUBNET_ID, "subnet ids (subnet-...)")
    groups = _strings("securityGroupIds", options.security_group_ids, SECURITY_GROUP_ID, "security group ids")
    if bool(subnets) != bool(groups):
        missing = "securityGroupIds" if subnets else "subnetIds"
        raise InvalidOptionError(
            f"{missing} is required when the other VPC option is set: set both or neither"
        )
    object.__setattr__(options, "subnet_ids", subnets)
    object.__setattr__(options, "security_group_ids", groups)


def _state_machine_name_prefix(options: TunerOptions) -> None:
    value = options.state_machine_name_prefix
    if not isinstance(value, str) or not NAME_PREFIX.match(value):
        raise _fail(
            "stateMachineNamePrefix",
            f"1 to {MAX_PREFIX_LENGTH} letters, digits, hyphens or underscores",
            value,
        )


def _log_execution_data(options: TunerOptions) -> None:
    if not isinstance(options.log_execution_data, bool):
        raise _fail("logExecutionData", "true or false", options.log_execution_data)


def _fleet(options: TunerOptions) -> None:
    if not isinstance(options.fleet, bool):
        raise _fail("fleet", "true or false", options.fleet)


def _workflow(options: TunerOptions) -> None:
    value = options.workflow
    if value is None:
        # Default: deployed with the fleet, whose state machine tunes the workflow's functions.
        object.__setattr__(options, "workflow", options.fleet)
        return
    if not isinstance(value, bool):
        raise _fail("workflow", "true or false", value)
    if value and not options.fleet:
        raise InvalidOptionError(
            "workflow needs fleet=true: the workflow tuner tunes a workflow's functions through the fleet "
            "state machine (set workflow=false, or leave fleet on)"
        )


def _architectures(options: TunerOptions) -> None:
    if not isinstance(options.architectures, bool):
        raise _fail("architectures", "true or false", options.architectures)


def _image_repositories(options: TunerOptions) -> None:
    value = _strings(
        "imageRepositories",
        options.image_repositories,
        REPOSITORY_URI,
        "ECR repositories (<account>.dkr.ecr.<region>.amazonaws.com/<repository>, no tag or digest)",
    )
    if value and not options.architectures:
        raise InvalidOptionError(
            "imageRepositories needs architectures=true: without it no execution may run another image"
        )
    object.__setattr__(options, "image_repositories", value)


def _none(options: TunerOptions) -> None:
    """Checked together with another field."""


_VALIDATORS: Final[dict[str, Callable[[TunerOptions], None]]] = {
    "power_values": _power_values,
    "lambda_resource": _lambda_resource,
    "total_execution_timeout": _total_execution_timeout,
    "visualization_url": _visualization_url,
    "permissions_boundary": _permissions_boundary,
    "payload_s3_bucket": _payload_s3,
    "payload_s3_key": _none,
    "log_retention_days": _log_retention_days,
    "subnet_ids": _vpc,
    "security_group_ids": _none,
    "state_machine_name_prefix": _state_machine_name_prefix,
    "log_execution_data": _log_execution_data,
    "fleet": _fleet,
    "workflow": _workflow,
    "architectures": _architectures,
    "image_repositories": _image_repositories,
}
