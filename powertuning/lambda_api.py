"""Every AWS call the tuner makes. The only module that talks to boto3; each function takes a client.

Lambda allows one configuration update at a time per function: an update while `LastUpdateStatus`
is InProgress raises ResourceConflictException, so updates wait on boto3's `function_updated`
waiter (it polls GetFunctionConfiguration; the v2 waiter polls GetFunction, whose code download
link only the Initializer reads, for input `architectures`) and conflicts are retried after
waiting. Throttling (TooManyRequestsException) is retried with exponential backoff and full jitter.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, WaiterError

from powertuning.errors import (
    FunctionNotFoundError,
    PayloadError,
    ProcessorError,
    ThrottledError,
    VersionNotActiveError,
)
from powertuning.models import S3_URI

MAX_ATTEMPTS = 6
BASE_DELAY_S = 0.2
MAX_DELAY_S = 10.0
_THROTTLED = {
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
}
# Errors of the service itself that a later attempt may not meet (the ASL retries the same names).
_TRANSIENT = {
    "ServiceException",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
}

# Replaced in tests so backoff does not slow them down.
sleep: Callable[[float], None] = time.sleep
# Creating clients from boto3's default session is not thread-safe (clients are); the local engine
# runs handlers in threads.
_client_lock = threading.Lock()


def client(service: str, region: str | None = None) -> Any:
    """A boto3 client whose retries are left to `call` (botocore's would multiply them).

    The read timeout covers a target function's 15-minute maximum run.
    """
    # total_max_attempts counts calls; botocore's max_attempts counts retries (1 would mean two calls).
    retries: Any = {"total_max_attempts": 1, "mode": "standard"}
    config = Config(retries=retries, read_timeout=910, connect_timeout=10)
    with _client_lock:
        return boto3.client(service, region_name=region, config=config)


def error_code(exc: ClientError) -> str:
    """The AWS error code of a botocore ClientError."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def backoff_delay(attempt: int) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base x 2^attempt)]."""
    return random.uniform(0, min(MAX_DELAY_S, BASE_DELAY_S * 2**attempt))


def call(client: Any, operation: str, **kwargs: Any) -> Any:
    """Call a client operation: throttling and transient service errors are retried with capped
    exponential backoff and full jitter, configuration conflicts waited out."""
    for attempt in range(MAX_ATTEMPTS):
        try:
            return getattr(client, operation)(**kwargs)
        except ClientError as exc:
            code = error_code(exc)
            if attempt == MAX_ATTEMPTS - 1:
                if code in _THROTTLED or code in _TRANSIENT:
                    raise ThrottledError(
                        f"{operation} still failing with {code} after {MAX_ATTEMPTS} attempts"
                    ) from exc
                raise
            if code in _THROTTLED or code in _TRANSIENT:
                sleep(backoff_delay(attempt))
            elif code == "ResourceConflictException" and "FunctionName" in kwargs:
                wait_until_updated(client, kwargs["FunctionName"])
            else:
                raise
    raise AssertionError("unreachable")


def wait_until_updated(client: Any, function_name: str, qualifier: str | None = None) -> None:
    """Block until the function's last update is no longer InProgress (boto3 waiter)."""
    kwargs: dict[str, Any] = {"FunctionName": function_name, "WaiterConfig": {"Delay": 1, "MaxAttempts": 300}}
    if qualifier:
        kwargs["Qualifier"] = qualifier
    try:
        client.get_waiter("function_updated").wait(**kwargs)
    except WaiterError as exc:
        raise FunctionNotFoundError(f"{function_name} did not finish updating: {exc}") from exc


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


def get_configuration(client: Any, function_name: str, qualifier: str | None = None) -> dict[str, Any]:
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


def update_configuration(client: Any, function_name: str, **settings: Any) -> None:
    """UpdateFunctionConfiguration, then wait until Lambda has applied it."""
    wait_until_updated(client, function_name)
    call(client, "update_function_configuration", FunctionName=function_name, **settings)
    wait_until_updated(client, function_name)


def publish_version(client: Any, function_name: str, description: str) -> str:
    """Publish $LATEST as a new version and return its number."""
    wait_until_updated(client, function_name)
    response = call(client, "publish_version", FunctionName=function_name, Description=description)
    return str(response["Version"])


# A SnapStart version stays Pending while Lambda snapshots it (seconds to minutes): poll every 2 s
# for up to 15 minutes, the reference tool's limit too.
VERSION_ACTIVE_DELAY_S = 2
VERSION_ACTIVE_MAX_ATTEMPTS = 450


def wait_until_version_active(client: Any, function_name: str, version: str) -> None:
    """Block until a published version is Active (boto3's `published_version_active` waiter).

    A new version of a SnapStart function is Pending until its snapshot is ready, and invoking it
    meanwhile fails with ResourceConflictException; any other version is Active at once, so this
    costs one GetFunctionConfiguration call.
    """
    config = {"Delay": VERSION_ACTIVE_DELAY_S, "MaxAttempts": VERSION_ACTIVE_MAX_ATTEMPTS}
    try:
        client.get_waiter("published_version_active").wait(
            FunctionName=function_name, Qualifier=version, WaiterConfig=config
        )
    except WaiterError as exc:
        raise VersionNotActiveError(
            f"{function_name}:{version} did not become Active (SnapStart snapshot pending or failed): {exc}"
        ) from exc


def get_alias(client: Any, function_name: str, alias: str) -> dict[str, Any] | None:
    """The alias, or None when it does not exist."""
    try:
        found: dict[str, Any] = call(client, "get_alias", FunctionName=function_name, Name=alias)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    return found


def create_or_update_alias(client: Any, function_name: str, alias: str, version: str) -> None:
    """Point an alias at a version, creating it if needed."""
    if get_alias(client, function_name, alias) is None:
        call(client, "create_alias", FunctionName=function_name, Name=alias, FunctionVersion=version)
    else:
        call(client, "update_alias", FunctionName=function_name, Name=alias, FunctionVersion=version)


def delete_alias(client: Any, function_name: str, alias: str) -> bool:
    """Delete an alias; False if it was already gone (cleanup is safe to run twice)."""
    try:
        call(client, "delete_alias", FunctionName=function_name, Name=alias)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return False
        raise
    return True


def delete_version(client: Any, function_name: str, version: str) -> bool:
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


def list_aliases(client: Any, function_arn: str) -> list[dict[str, Any]]:
    """Every alias of the function.

    Always by full ARN: a bare name would read a same-named function in the caller's own account.
    (Each operation is named literally: the IAM tests read the calls from this module's source.)
    """
    aliases: list[dict[str, Any]] = []
    marker: dict[str, str] = {}
    while True:
        page = call(client, "list_aliases", FunctionName=function_arn, **marker)
        aliases.extend(page["Aliases"])
        if not page.get("NextMarker"):
            return aliases
        marker = {"Marker": page["NextMarker"]}


def list_versions(client: Any, function_arn: str) -> list[dict[str, Any]]:
    """Every version of the function, $LATEST included (by full ARN, as list_aliases)."""
    versions: list[dict[str, Any]] = []
    marker: dict[str, str] = {}
    while True:
        page = call(client, "list_versions_by_function", FunctionName=function_arn, **marker)
        versions.extend(page["Versions"])
        if not page.get("NextMarker"):
            return versions
        marker = {"Marker": page["NextMarker"]}


@dataclass(frozen=True)
class Invocation:
    """An invoke response: the payload text, the function error if any, the base64 log tail."""

    payload: str
    function_error: str | None
    log_result: str


def invoke(client: Any, function_name: str, qualifier: str, payload: bytes) -> Invocation:
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


def invoke_processor(client: Any, function_arn: str, payload: Any, *, private: bool = False) -> Any:
    """Invoke a pre- or post-processor and return its decoded JSON result.

    `private` (disablePayloadLogs): a processor's error often echoes its event, so it is left out.
    """
    response = call(client, "invoke", FunctionName=function_arn, Payload=json.dumps(payload).encode())
    body = response["Payload"].read().decode("utf-8", errors="replace")
    if response.get("FunctionError"):
        detail = (
            f"{response['FunctionError']} error (details hidden: disablePayloadLogs)" if private else body
        )
        raise ProcessorError(f"{function_arn} failed: {detail}")
    return json.loads(body) if body else None


def read_s3_text(client: Any, uri: str, max_bytes: int) -> str:
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


def execution_status(client: Any, execution_arn: str) -> str:
    """The status of a Step Functions execution (RUNNING, SUCCEEDED, ABORTED, ...)."""
    return str(call(client, "describe_execution", executionArn=execution_arn)["status"])


# -- another architecture (input `architectures`): the code, its layers, its staged copy ----------------


def get_function(client: Any, function_arn: str) -> dict[str, Any]:
    """GetFunction of $LATEST: its configuration and where its code can be downloaded (`Code`)."""
    found: dict[str, Any] = call(client, "get_function", FunctionName=function_arn)
    return found


def layer_architectures(client: Any, layer_version_arn: str) -> tuple[str, ...]:
    """The architectures a layer version declares itself compatible with (() when it declares none)."""
    # GetLayerVersion takes the layer's ARN as its name (a layer may be another account's).
    layer, _, version = layer_version_arn.rpartition(":")
    found = call(client, "get_layer_version", LayerName=layer, VersionNumber=int(version))
    return tuple(str(a) for a in found.get("CompatibleArchitectures") or ())


def _open_url(url: str, timeout_s: float) -> Any:
    # Only https: the URL is Code.Location from GetFunction, a presigned S3 link.
    if not url.startswith("https://"):
        raise ValueError(f"refusing to download code from a non-https location: {url[:60]}")
    return urllib.request.urlopen(url, timeout=timeout_s)


# Replaced by powertuning/local/aws_rules.py, where Code.Location points into moto rather than S3.
open_url: Callable[[str, float], Any] = _open_url


def download_code(url: str, sink: Any, max_bytes: int) -> None:
    """Copy the function's deployment package from GetFunction's Code.Location (valid for 10
    minutes) into `sink`, 1 MB at a time: a package can be larger than the tuner's memory."""
    copied = 0
    with open_url(url, 60.0) as response:
        while chunk := response.read(1 << 20):
            copied += len(chunk)
            if copied > max_bytes:
                raise ValueError(f"the deployment package is larger than {max_bytes} bytes")
            sink.write(chunk)


def put_object(client: Any, bucket: str, key: str, body: Any) -> None:
    """Store an object (the staged copy of a function's code), encrypted by the bucket's default."""
    call(client, "put_object", Bucket=bucket, Key=key, Body=body)


def delete_object(client: Any, bucket: str, key: str) -> None:
    """Delete an object; deleting one already gone succeeds (S3 answers 204 either way)."""
    call(client, "delete_object", Bucket=bucket, Key=key)


def update_code(client: Any, function_name: str, bucket: str, key: str, architecture: str) -> None:
    """UpdateFunctionCode from an S3 object on one architecture, then wait until Lambda applied it.

    Lambda reads the object with the caller's permissions (s3:GetObject on the staging bucket).
    """
    wait_until_updated(client, function_name)
    call(
        client,
        "update_function_code",
        FunctionName=function_name,
        S3Bucket=bucket,
        S3Key=key,
        Architectures=[architecture],
    )
    wait_until_updated(client, function_name)


# -- the run registry: one item per function being tuned (a DynamoDB table of the stack) ----------


def acquire_run(client: Any, table: str, function_arn: str, record: dict[str, Any]) -> dict[str, Any] | None:
    """Register a run on a function unless one is registered; None if acquired, else the holder's record."""
    item = {"functionArn": {"S": function_arn}, "runId": {"S": str(record["runId"])}}
    item["record"] = {"S": json.dumps(record)}
    try:
        call(
            client,
            "put_item",
            TableName=table,
            Item=item,
            ConditionExpression="attribute_not_exists(functionArn)",
        )
    except ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise
        return get_run(client, table, function_arn) or {"runId": "?", "executionArn": "?"}
    return None


def get_run(client: Any, table: str, function_arn: str) -> dict[str, Any] | None:
    """The record of the run registered on a function, if any."""
    response = call(
        client, "get_item", TableName=table, Key={"functionArn": {"S": function_arn}}, ConsistentRead=True
    )
    item = response.get("Item")
    return None if item is None else dict(json.loads(item["record"]["S"]))


def update_run(client: Any, table: str, function_arn: str, record: dict[str, Any]) -> None:
    """Replace the record of the run registered on a function (only while that run holds it)."""
    call(
        client,
        "put_item",
        TableName=table,
        Item={
            "functionArn": {"S": function_arn},
            "runId": {"S": str(record["runId"])},
            "record": {"S": json.dumps(record)},
        },
        ConditionExpression="runId = :run",
        ExpressionAttributeValues={":run": {"S": str(record["runId"])}},
    )


def release_run(client: Any, table: str, function_arn: str, run_id: str) -> bool:
    """Remove a run's registration; False if that run held none."""
    try:
        call(
            client,
            "delete_item",
            TableName=table,
            Key={"functionArn": {"S": function_arn}},
            ConditionExpression="runId = :run",
            ExpressionAttributeValues={":run": {"S": run_id}},
        )
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def runs_of_execution(client: Any, table: str, execution_arn: str) -> list[dict[str, Any]]:
    """Records of the runs an execution registered (the table holds one item per function tuned now)."""
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = call(client, "scan", TableName=table, ConsistentRead=True, **kwargs)
        for item in page.get("Items", []):
            record = json.loads(item["record"]["S"])
            if record.get("executionArn") == execution_arn:
                found.append(record)
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
