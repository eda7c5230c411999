"""The AWS calls the tuner's functions make (Lambda, S3, Step Functions, CloudWatch metrics); each
function takes a client. Clients, the retry policy and the conflict wait are powertuning.aws's, the
one seam the CLI and the local engine use too; beside it, `aws.run_table` (the run registry in
DynamoDB) and `aws.function_code` (a function's code onto another architecture).

Updates wait until Lambda has applied the previous one (`aws.wait_until_updated`); a version is
invoked only once Active (boto3's `published_version_active` waiter).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, overload

from botocore.exceptions import ClientError, WaiterError

from powertuning import aws, limits
from powertuning.arns import S3_URI
from powertuning.aws import call, error_code, pages, wait_until_updated
from powertuning.errors import (
    FunctionNotFoundError,
    PayloadError,
    ProcessorError,
    VersionNotActiveError,
)

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_lambda.type_defs import WaiterConfigTypeDef
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient


@overload
def client(service: Literal["lambda"], region: str | None = None) -> LambdaClient: ...
@overload
def client(service: Literal["s3"], region: str | None = None) -> S3Client: ...
@overload
def client(service: Literal["dynamodb"], region: str | None = None) -> DynamoDBClient: ...
@overload
def client(service: Literal["stepfunctions"], region: str | None = None) -> SFNClient: ...
@overload
def client(service: Literal["cloudwatch"], region: str | None = None) -> CloudWatchClient: ...
@overload
def client(service: Literal["logs"], region: str | None = None) -> Any: ...
def client(service: str, region: str | None = None) -> Any:
    """A client for the tuner's functions (tests attach injected faults to exactly these)."""
    return aws.client(service, region)  # type: ignore[call-overload]


def is_memory_limit_error(exc: BaseException) -> bool:
    """True when Lambda refused a MemorySize above what the account allows."""
    return (
        isinstance(exc, ClientError)
        and error_code(exc) == "InvalidParameterValueException"
        and "MemorySize" in str(exc)
    )


def is_conflict(exc: BaseException) -> bool:
    """True for ResourceConflictException (e.g. deleting a version an alias points to)."""
    return isinstance(exc, ClientError) and error_code(exc) == "ResourceConflictException"


def get_configuration(
    client: LambdaClient, function_name: str, qualifier: str | None = None
) -> dict[str, Any]:
    """GetFunctionConfiguration of $LATEST or of a qualifier; a clear error if it does not exist."""
    kwargs: dict[str, Any] = {"FunctionName": function_name}
    if qualifier:
        kwargs["Qualifier"] = qualifier
    try:
        config: dict[str, Any] = call(client, "get_function_configuration", **kwargs)
    except ClientError as exc:
        if error_code(exc) in ("ResourceNotFoundException", "AccessDeniedException"):
            where = f"{function_name}:{qualifier}" if qualifier else function_name
            raise FunctionNotFoundError(f"cannot read function {where}: {exc}") from exc
        raise
    return config


def update_configuration(client: LambdaClient, function_name: str, **settings: Any) -> None:
    """UpdateFunctionConfiguration, then wait until Lambda has applied it."""
    wait_until_updated(client, function_name)
    call(client, "update_function_configuration", FunctionName=function_name, **settings)
    wait_until_updated(client, function_name)


def publish_version(client: LambdaClient, function_name: str, description: str) -> str:
    """Publish $LATEST as a new version and return its number."""
    wait_until_updated(client, function_name)
    response = call(client, "publish_version", FunctionName=function_name, Description=description)
    return str(response["Version"])


# A SnapStart version stays Pending while Lambda snapshots it (seconds to minutes): poll every 2 s
# for up to 15 minutes, the reference tool's limit too.
VERSION_ACTIVE_DELAY_S = 2
VERSION_ACTIVE_MAX_ATTEMPTS = 450


def wait_until_version_active(client: LambdaClient, function_name: str, version: str) -> None:
    """Block until a published version is Active (boto3's `published_version_active` waiter).

    A new version of a SnapStart function is Pending until its snapshot is ready, and invoking it
    meanwhile fails with ResourceConflictException; any other version is Active at once, so this
    costs one GetFunctionConfiguration call.
    """
    config: WaiterConfigTypeDef = {
        "Delay": VERSION_ACTIVE_DELAY_S,
        "MaxAttempts": VERSION_ACTIVE_MAX_ATTEMPTS,
    }
    try:
        client.get_waiter("published_version_active").wait(
            FunctionName=function_name, Qualifier=version, WaiterConfig=config
        )
    except WaiterError as exc:
        raise VersionNotActiveError(
            f"{function_name}:{version} did not become Active (SnapStart snapshot pending or failed): {exc}"
        ) from exc


def get_alias(client: LambdaClient, function_name: str, alias: str) -> dict[str, Any] | None:
    """The alias, or None when it does not exist."""
    try:
        found: dict[str, Any] = call(client, "get_alias", FunctionName=function_name, Name=alias)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    return found


def create_or_update_alias(client: LambdaClient, function_name: str, alias: str, version: str) -> None:
    """Point an alias at a version, creating it if needed."""
    if get_alias(client, function_name, alias) is None:
        call(client, "create_alias", FunctionName=function_name, Name=alias, FunctionVersion=version)
    else:
        call(client, "update_alias", FunctionName=function_name, Name=alias, FunctionVersion=version)


def create_alias(client: LambdaClient, function_name: str, alias: str, version: str) -> bool:
    """Create an alias; False when one of that name exists already (never overwritten here)."""
    try:
        call(client, "create_alias", FunctionName=function_name, Name=alias, FunctionVersion=version)
    except ClientError as exc:
        # ResourceConflictException on AWS; moto 5.2 answers ConflictException.
        if error_code(exc) in ("ResourceConflictException", "ConflictException"):
            return False
        raise
    return True


def update_alias(
    client: LambdaClient, function_name: str, alias: str, version: str, revision_id: str | None
) -> None:
    """Repoint an alias, only while it is still at `revision_id` (the revision its owner check read:
    Lambda refuses the update with PreconditionFailedException if it changed since)."""
    extra = {"RevisionId": revision_id} if revision_id else {}
    call(client, "update_alias", FunctionName=function_name, Name=alias, FunctionVersion=version, **extra)


def delete_alias(client: LambdaClient, function_name: str, alias: str) -> bool:
    """Delete an alias; False if it was already gone (cleanup is safe to run twice)."""
    try:
        call(client, "delete_alias", FunctionName=function_name, Name=alias)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return False
        raise
    return True


def delete_version(client: LambdaClient, function_name: str, version: str) -> bool:
    """Delete one published version; False if it was already gone. Never $LATEST."""
    if not version.isdigit():
        raise ValueError(f"refusing to delete {function_name}:{version}: not a published version")
    try:
        call(client, "delete_function", FunctionName=function_name, Qualifier=version)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return False
        raise
    return True


def list_aliases(client: LambdaClient, function_arn: str) -> list[dict[str, Any]]:
    """Every alias of the function.

    Always by full ARN: a bare name would read a same-named function in the caller's own account.
    (Each operation is named literally: the IAM tests read the calls from this module's source.)
    """
    return [
        alias
        for page in pages(client, "list_aliases", FunctionName=function_arn)
        for alias in page["Aliases"]
    ]


def list_versions(client: LambdaClient, function_arn: str) -> list[dict[str, Any]]:
    """Every version of the function, $LATEST included (by full ARN, as list_aliases)."""
    listing = pages(client, "list_versions_by_function", FunctionName=function_arn)
    return [version for page in listing for version in page["Versions"]]


def provisioned_concurrency(client: LambdaClient, function_arn: str) -> dict[str, int]:
    """The function's aliases and versions with provisioned concurrency: qualifier -> requested count
    (by full unqualified ARN, as list_aliases)."""
    listing = pages(client, "list_provisioned_concurrency_configs", FunctionName=function_arn)
    return {
        str(config["FunctionArn"]).rsplit(":", 1)[-1]: int(
            config.get("RequestedProvisionedConcurrentExecutions", 0)
        )
        for page in listing
        for config in page.get("ProvisionedConcurrencyConfigs", [])
    }


@dataclass(frozen=True)
class Invocation:
    """An invoke response: the payload text, the function error if any, the base64 log tail."""

    payload: str
    function_error: str | None
    log_result: str


def invoke(client: LambdaClient, function_name: str, qualifier: str, payload: bytes) -> Invocation:
    """Invoke one alias synchronously with the log tail.

    The qualifier goes in the function name (`name:alias`), which every Lambda API accepts; moto
    5.2 ignores the separate Qualifier parameter.
    """
    response = call(
        client,
        "invoke",
        FunctionName=f"{function_name}:{qualifier}",
        InvocationType="RequestResponse",
        LogType="Tail",
        Payload=payload,
    )
    body = response["Payload"].read().decode("utf-8", errors="replace")
    return Invocation(body, response.get("FunctionError"), response.get("LogResult", ""))


def invoke_processor(
    client: LambdaClient,
    function_arn: str,
    payload: Any,
    *,
    private: bool = False,
    role: str = "processor",
) -> Any:
    """Invoke a pre- or post-processor and return its decoded JSON result.

    A failure names the processor (`role`: its input key) and, as aws-lambda-power-tuning's does,
    the payload it was given and what it answered. `private` (disablePayloadLogs) leaves both out:
    a processor's error often echoes its event.
    """
    response = call(client, "invoke", FunctionName=function_arn, Payload=json.dumps(payload).encode())
    body = response["Payload"].read().decode("utf-8", errors="replace")
    if response.get("FunctionError"):
        if private:
            detail = f": {response['FunctionError']} error (details hidden: disablePayloadLogs)"
        else:
            sent = limits.truncate(json.dumps(payload), 1000)
            detail = f" with payload {sent}: {limits.truncate(body, 1500)}"
        raise ProcessorError(f"{role} {function_arn} failed{detail}")
    return json.loads(body) if body else None


def read_s3_text(client: S3Client, uri: str, max_bytes: int) -> str:
    """The object at s3://bucket/key as UTF-8 text (payloadS3), refusing one larger than `max_bytes`."""
    match = S3_URI.match(uri)
    if not match:
        raise PayloadError(f"payloadS3 must look like s3://bucket/key, got {uri!r}")
    try:
        head = call(client, "head_object", Bucket=match["bucket"], Key=match["key"])
        if int(head.get("ContentLength", 0)) > max_bytes:
            raise PayloadError(
                f"payloadS3 {uri} has {head['ContentLength']} bytes; a Lambda invocation takes at most "
                f"{max_bytes}"
            )
        body = call(client, "get_object", Bucket=match["bucket"], Key=match["key"])["Body"].read(
            max_bytes + 1
        )
    except ClientError as exc:
        raise PayloadError(f"payloadS3 {uri} cannot be read: {error_code(exc)}") from exc
    if len(body) > max_bytes:
        raise PayloadError(f"payloadS3 {uri} is larger than {max_bytes} bytes")
    try:
        return str(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PayloadError(f"payloadS3 {uri} is not UTF-8 text: {exc}") from exc


def execution_status(client: SFNClient, execution_arn: str) -> str:
    """The status of a Step Functions execution (RUNNING, SUCCEEDED, ABORTED, ...)."""
    return str(call(client, "describe_execution", executionArn=execution_arn)["status"])


# -- S3 objects: the staged copy of a function's code (input `architectures`), a workflow's payloads --


def put_object(client: Any, bucket: str, key: str, body: Any) -> None:
    """Store an object (the staged copy of a function's code), encrypted by the bucket's default."""
    call(client, "put_object", Bucket=bucket, Key=key, Body=body)


def read_object(client: Any, bucket: str, key: str, sink: Any, max_bytes: int) -> None:
    """Copy an object (the staged copy of a function's code) into `sink`, 1 MB at a time."""
    body = call(client, "get_object", Bucket=bucket, Key=key)["Body"]
    copied = 0
    while chunk := body.read(1 << 20):
        copied += len(chunk)
        if copied > max_bytes:
            raise ValueError(f"s3://{bucket}/{key} is larger than {max_bytes} bytes")
        sink.write(chunk)


def delete_object(client: Any, bucket: str, key: str) -> None:
    """Delete an object; deleting one already gone succeeds (S3 answers 204 either way)."""
    call(client, "delete_object", Bucket=bucket, Key=key)


# -- fleets: selecting functions, reading their metrics, the results bucket -----------------------


def list_functions(client: Any) -> list[dict[str, Any]]:
    """Every function's $LATEST configuration in the client's region (ListFunctions, all pages)."""
    return [
        function
        for page in pages(client, "list_functions", MaxItems=50)
        for function in page.get("Functions", [])
    ]


def list_tags(client: Any, function_arn: str) -> dict[str, str]:
    """A function's tags (ListTags on the unqualified ARN)."""
    return dict(call(client, "list_tags", Resource=function_arn).get("Tags", {}))


# GetMetricData takes at most 500 queries per call.
METRIC_QUERIES_PER_CALL = 500


def get_metric_data(
    client: Any, queries: list[dict[str, Any]], start: Any, end: Any
) -> dict[str, list[float]]:
    """Values of CloudWatch metric queries by query Id: batched 500 a call, every page read."""
    values: dict[str, list[float]] = {}
    for first in range(0, len(queries), METRIC_QUERIES_PER_CALL):
        batch = queries[first : first + METRIC_QUERIES_PER_CALL]
        listing = pages(
            client,
            "get_metric_data",
            token=("NextToken", "NextToken"),
            MetricDataQueries=batch,
            StartTime=start,
            EndTime=end,
        )
        for page in listing:
            for result in page.get("MetricDataResults", []):
                values.setdefault(str(result["Id"]), []).extend(float(v) for v in result.get("Values", []))
    return values


def put_s3_json(client: Any, bucket: str, key: str, body: Any) -> None:
    """Write a JSON document to S3 (the fleet's items and summary)."""
    data = json.dumps(body, separators=(",", ":")).encode()
    call(client, "put_object", Bucket=bucket, Key=key, Body=data, ContentType="application/json")


def read_s3_json(client: Any, bucket: str, key: str) -> Any:
    """Read a JSON document from S3 (a Distributed Map's ResultWriter manifest and result files)."""
    return json.loads(call(client, "get_object", Bucket=bucket, Key=key)["Body"].read())
