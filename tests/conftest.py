"""Fixtures shared by every test tier.

- `aws`: moto's `mock_aws()` with fake credentials and region us-east-1, real Lambda's rules moto
  lacks (powertuning/local/aws_rules.py) and the run table; no call leaves the process.
- `lambda_client`, `s3_client`: boto3 clients of the mock, built like the tuner builds its own.
- `lambda_role`: the ARN of an IAM role functions can be created with.
- `code_zip`: builds a deployment package, e.g. to change a function's code (and CodeSha256).
- `make_function` / `target_function`: functions created in the mock (`target_function` is the one
  a test tunes: 1,024 MB, with a description of its own).
- `target_runtime`: answers moto's Lambda `invoke` without Docker, through the seam
  `LambdaFunction._invoke_lambda` (see ../shared/ENVIRONMENT.md), with any `TargetRuntime`.
- `no_backoff`: `powertuning.aws.sleep` replaced by a recorder, so retries take no time.
- `start_engine`: (module scope) starts a `LocalEngine` on a given runtime with no retry backoff,
  stopped when the module's tests are done.
- `load_event`: reads a JSON fixture from tests/events/.
- `lambda_context`: a stand-in for the context object Lambda passes to a handler.

Fixtures in an inner conftest.py with the same name (tests/e2e/ has `runtime`, `engine`, `target`)
take precedence there; these names do not collide with them.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.awslambda.models import LambdaFunction

import powertuning.aws
from powertuning import deployment, lambda_api
from powertuning.arns import FunctionRef
from powertuning.local.aws_rules import real_aws_rules
from powertuning.local.engine import LocalEngine
from powertuning.local.simulated import SimulatedRuntime, cpu_bound
from powertuning.local.target import FunctionSpec, InvokeResult, TargetRuntime
from powertuning.local.tuner_stack import RUNS_TABLE, create_runs_table

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
EVENTS = Path(__file__).parent / "events"
TARGET_MEMORY_MB = 1024
TARGET_DESCRIPTION = "the user's own description"


@pytest.fixture
def load_event() -> Callable[[str], Any]:
    """`load_event("input_minimal.json")` -> the decoded JSON of a file in tests/events/."""

    def load(name: str) -> Any:
        return json.loads((EVENTS / name).read_text(encoding="utf-8"))

    return load


@pytest.fixture
def lambda_context() -> SimpleNamespace:
    """What a handler may read from Lambda's context: name, request id, remaining time."""
    return SimpleNamespace(
        function_name="powertuning-test",
        aws_request_id="00000000-0000-4000-8000-000000000000",
        get_remaining_time_in_millis=lambda: 300_000,
    )


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region in the environment, so boto3 can never reach a real account."""
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)


@dataclass(frozen=True)
class MockedAws:
    """The running mock: its region and account, and a way to get a client of it."""

    region: str = REGION
    account: str = ACCOUNT

    def client(self, service: str) -> Any:
        """A boto3 client of the mock, configured like the tuner's own (`lambda_api.client`)."""
        return lambda_api.client(service, self.region)


_shared_session: list[boto3.Session] = []


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[MockedAws]:
    """Every AWS service mocked by moto for one test (a fresh, empty account each time).

    moto sets `boto3.DEFAULT_SESSION` to None for each mock, so every test would load the service
    models again (0.1-0.5 s per test). The mock's backends are what hold state, not the session, so
    one session (created inside a mock, holding only the fake credentials) is reused by every test;
    moto puts the previous default session back when the mock stops.
    """
    with mock_aws(), real_aws_rules(), pytest.MonkeyPatch.context() as patch:
        if not _shared_session:
            _shared_session.append(boto3.Session(region_name=REGION))
        boto3.DEFAULT_SESSION = _shared_session[0]
        mocked = MockedAws()
        create_runs_table(mocked.client("dynamodb"), RUNS_TABLE)
        patch.setenv(deployment.RUNS_TABLE_ENV, RUNS_TABLE)
        yield mocked


@pytest.fixture
def lambda_client(aws: MockedAws) -> Any:
    """A Lambda client of the mock."""
    return aws.client("lambda")


@pytest.fixture
def s3_client(aws: MockedAws) -> Any:
    """An S3 client of the mock."""
    return aws.client("s3")


@pytest.fixture
def lambda_role(aws: MockedAws) -> str:
    """The ARN of an IAM role Lambda can assume (moto checks that the role exists)."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    iam = boto3.client("iam", region_name=aws.region)
    return str(
        iam.create_role(RoleName="tests-lambda", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    )


def _code_zip(source: str = "def handler(event, context):\n    return event\n") -> bytes:
    """A deployment package holding `app.py`; different sources give different CodeSha256."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


@pytest.fixture
def code_zip() -> Callable[[str], bytes]:
    """`code_zip(source)` -> a zip with `app.py` holding that source (CreateFunction, UpdateFunctionCode)."""
    return _code_zip


@pytest.fixture
def make_function(lambda_client: Any, lambda_role: str) -> Callable[..., FunctionRef]:
    """`make_function("name", MemorySize=512, ...)` creates a function in the mock.

    Keyword arguments go to CreateFunction and override the defaults (python3.13, handler
    `app.handler`, 128 MB). Returns the parsed, unqualified ARN.
    """

    def make(name: str, **settings: Any) -> FunctionRef:
        kwargs: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": "python3.13",
            "Role": lambda_role,
            "Handler": "app.handler",
            "Code": {"ZipFile": _code_zip()},
            "MemorySize": 128,
            "Timeout": 30,
        }
        kwargs.update(settings)
        return FunctionRef.parse(lambda_client.create_function(**kwargs)["FunctionArn"])

    return make


@pytest.fixture
def target_function(make_function: Callable[..., FunctionRef]) -> FunctionRef:
    """The function to tune: `target`, 1,024 MB, described as TARGET_DESCRIPTION."""
    return make_function("target", MemorySize=TARGET_MEMORY_MB, Description=TARGET_DESCRIPTION)


@dataclass
class RuntimeSeam:
    """Routes moto's Lambda invocations to runtimes and records each one.

    `default` answers every function unless `routes[function_name]` names another runtime.
    `invocations` holds `(spec, event)` per call, in call order, with the event decoded.
    """

    default: TargetRuntime
    routes: dict[str, TargetRuntime] = field(default_factory=dict)
    invocations: list[tuple[FunctionSpec, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def use(self, runtime: TargetRuntime, function_name: str | None = None) -> TargetRuntime:
        """Answer `function_name` (or every function) with `runtime`; returns it."""
        if function_name is None:
            self.default = runtime
        else:
            self.routes[function_name] = runtime
        return runtime

    def dispatch(self, fn: LambdaFunction, event: Any) -> tuple[str, bool, str]:
        """The replacement of `LambdaFunction._invoke_lambda`: (payload, errored, logs)."""
        # moto has already decoded the JSON body (`null` -> None, `"text"` -> str): encode it back.
        text = json.dumps(event)
        spec = FunctionSpec(
            function_name=fn.function_name,
            version=str(fn.version),
            memory_mb=int(fn.memory_size),
            timeout_s=float(fn.timeout),
            handler=str(fn.handler),
            environment={str(k): str(v) for k, v in (fn.environment_vars or {}).items()},
            function_arn=str(fn.function_arn),
        )
        with self._lock:
            self.invocations.append((spec, json.loads(text) if text else None))
        result: InvokeResult = self.routes.get(fn.function_name, self.default).invoke(spec, text)
        return result.payload, result.errored, result.logs

    def memories(self, function_name: str = "target") -> list[int]:
        """The memory size each invocation of a function ran with, in call order."""
        return [spec.memory_mb for spec, _ in self.invocations if spec.function_name == function_name]

    def events(self, function_name: str = "target") -> list[Any]:
        """The decoded event of each invocation of a function, in call order."""
        return [event for spec, event in self.invocations if spec.function_name == function_name]


@pytest.fixture
def target_runtime(aws: MockedAws, monkeypatch: pytest.MonkeyPatch) -> RuntimeSeam:
    """moto's Lambda invoke answered in-process, no Docker.

    By default a SimulatedRuntime: CPU-bound work taking 100 ms at 1,769 MB (twice as long at half
    the memory), text REPORT lines. Swap it with `target_runtime.use(other_runtime)`.
    """
    seam = RuntimeSeam(SimulatedRuntime(cpu_bound(100.0)))

    def _invoke_lambda(fn: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        return seam.dispatch(fn, event)

    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", _invoke_lambda)
    return seam


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """`aws.sleep` replaced by a recorder: returns the list of delays it was asked to sleep."""
    delays: list[float] = []
    monkeypatch.setattr(powertuning.aws, "sleep", delays.append)
    return delays


@pytest.fixture(scope="module")
def start_engine() -> Iterator[Callable[[TargetRuntime], LocalEngine]]:
    """Starts one moto world with the tuner deployed, for a whole module, with no retry backoff."""
    with ExitStack() as stack:

        def start(runtime: TargetRuntime) -> LocalEngine:
            patch = stack.enter_context(pytest.MonkeyPatch.context())
            patch.setattr(powertuning.aws, "sleep", lambda _s: None)
            return stack.enter_context(LocalEngine(runtime))

        yield start
