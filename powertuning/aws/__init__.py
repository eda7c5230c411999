"""The one AWS seam: every boto3 client of the tuner, the CLI and the local engine is built here,
and every call goes through `call`, with one retry policy.

- Throttling (TooManyRequestsException, ThrottlingException, DynamoDB throughput, ...) and the
  services' transient errors are retried by `call` with exponential backoff and full jitter (0.2 s
  base, 10 s cap, 6 attempts), then raised as ThrottledError, a name the state machine's Retry knows.
- Lambda allows one configuration update at a time per function: a call refused with
  ResourceConflictException waits on boto3's `function_updated` waiter (it polls
  GetFunctionConfiguration; the v2 waiter polls GetFunction, whose code download link only the
  Initializer reads, for input `architectures`), then is made again.
- botocore's own retries are off (its standard mode with one attempt): with a second layer the
  attempts would multiply, and the last failure would not come out as ThrottledError.

Clients are typed with the mypy-boto3 stub packages (a development dependency, imported only for
type checking), so nothing here needs them at run time and the Lambda asset does not carry them.
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, WaiterError

from powertuning.errors import FunctionNotFoundError, ThrottledError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_lambda.type_defs import WaiterConfigTypeDef
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient

MAX_ATTEMPTS = 6
BASE_DELAY_S = 0.2
MAX_DELAY_S = 10.0
THROTTLED = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
    }
)
# Errors of the service itself that a later attempt may not meet (the ASL retries the same names).
TRANSIENT = frozenset(
    {
        "ServiceException",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
# total_max_attempts counts calls; botocore's max_attempts counts retries (1 would mean two calls).
# The read timeout covers a target function's 15-minute maximum run.
CLIENT_CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=910, connect_timeout=10
)

# Replaced in tests so backoff does not slow them down.
sleep: Callable[[float], None] = time.sleep
# Creating clients from a session is not thread-safe (clients are); the local engine runs handlers
# in threads.
_client_lock = threading.Lock()


@overload
def client(
    service: Literal["lambda"],
    region: str | None = None,
    *,
    session: Any = None,
    endpoint_url: str | None = None,
) -> LambdaClient: ...
@overload
def client(
    service: Literal["stepfunctions"],
    region: str | None = None,
    *,
    session: Any = None,
    endpoint_url: str | None = None,
) -> SFNClient: ...
@overload
def client(
    service: Literal["s3"], region: str | None = None, *, session: Any = None, endpoint_url: str | None = None
) -> S3Client: ...
@overload
def client(
    service: Literal["dynamodb"],
    region: str | None = None,
    *,
    session: Any = None,
    endpoint_url: str | None = None,
) -> DynamoDBClient: ...
@overload
def client(
    service: Literal["cloudformation"],
    region: str | None = None,
    *,
    session: Any = None,
    endpoint_url: str | None = None,
) -> CloudFormationClient: ...
@overload
def client(
    service: Literal["cloudwatch"],
    region: str | None = None,
    *,
    session: Any = None,
    endpoint_url: str | None = None,
) -> CloudWatchClient: ...
@overload
def client(
    service: Literal["iam"],
    region: str | None = None,
    *,
    session: Any = None,
    endpoint_url: str | None = None,
) -> IAMClient: ...
@overload
def client(
    service: Literal["logs"],
    region: str | None = None,
    *,
    session: Any = None,
    endpoint_url: str | None = None,
) -> Any: ...  # CloudWatch Logs (coldStartRate "production"): no stub package installed
def client(
    service: str, region: str | None = None, *, session: Any = None, endpoint_url: str | None = None
) -> Any:
    """A boto3 client whose retries are left to `call`; from `session`, else boto3's default one."""
    with _client_lock:
        return (session or boto3).client(
            service, region_name=region, endpoint_url=endpoint_url, config=CLIENT_CONFIG
        )


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
                if code in THROTTLED or code in TRANSIENT:
                    raise ThrottledError(
                        f"{operation} still failing with {code} after {MAX_ATTEMPTS} attempts"
                    ) from exc
                raise
            if code in THROTTLED or code in TRANSIENT:
                sleep(backoff_delay(attempt))
            elif code == "ResourceConflictException" and "FunctionName" in kwargs:
                wait_until_updated(client, kwargs["FunctionName"])
            else:
                raise
    raise AssertionError("unreachable")


def pages(
    client: Any, operation: str, *, token: tuple[str, str] = ("Marker", "NextMarker"), **kwargs: Any
) -> Iterator[dict[str, Any]]:
    """Every page of a listing, each through `call`. `token`: the names of the page token in the
    request and in the response (Lambda's Marker/NextMarker by default)."""
    more: dict[str, Any] = {}
    while True:
        page: dict[str, Any] = call(client, operation, **kwargs, **more)
        yield page
        if not page.get(token[1]):
            return
        more = {token[0]: page[token[1]]}


def wait_until_updated(client: LambdaClient, function_name: str, qualifier: str | None = None) -> None:
    """Block until the function's last update is no longer InProgress (boto3's `function_updated`)."""
    config: WaiterConfigTypeDef = {"Delay": 1, "MaxAttempts": 300}
    try:
        if qualifier:
            client.get_waiter("function_updated").wait(
                FunctionName=function_name, Qualifier=qualifier, WaiterConfig=config
            )
        else:
            client.get_waiter("function_updated").wait(FunctionName=function_name, WaiterConfig=config)
    except WaiterError as exc:
        raise FunctionNotFoundError(f"{function_name} did not finish updating: {exc}") from exc


def region_of(arn: str | None) -> str | None:
    """The region field of an ARN, or None."""
    parts = (arn or "").split(":")
    if len(parts) > 4 and parts[0] == "arn" and parts[3]:
        return parts[3]
    return None


@dataclass
class ClientFactory:
    """Clients from one session, with a region, a profile and an endpoint (the CLI's --region,
    --profile and --endpoint-url: moto server, LocalStack)."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    _session: Any = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ClientFactory:
        """A factory for --region, --profile and --endpoint-url."""
        return cls(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url)

    @overload
    def client(self, service: Literal["lambda"], region: str | None = None) -> LambdaClient: ...
    @overload
    def client(self, service: Literal["stepfunctions"], region: str | None = None) -> SFNClient: ...
    @overload
    def client(self, service: Literal["dynamodb"], region: str | None = None) -> DynamoDBClient: ...
    @overload
    def client(self, service: Literal["s3"], region: str | None = None) -> S3Client: ...
    @overload
    def client(self, service: Literal["cloudwatch"], region: str | None = None) -> CloudWatchClient: ...
    @overload
    def client(
        self, service: Literal["cloudformation"], region: str | None = None
    ) -> CloudFormationClient: ...
    def client(self, service: str, region: str | None = None) -> Any:
        """A client of `service` in `region` (else the factory's region, else the profile's)."""
        if self._session is None:
            # Raises ProfileNotFound for an unknown --profile: the caller reports it as bad usage.
            self._session = boto3.Session(profile_name=self.profile)
        return client(  # type: ignore[call-overload]
            service, self.region or region, session=self._session, endpoint_url=self.endpoint_url
        )
