"""Run the real state machine and the real tuner Lambdas on this machine, with no AWS account.

moto (pinned 5.2.x) interprets statemachine/power_tuning.asl.json. Its Lambda `invoke` would need
Docker; the seam `LambdaFunction._invoke_lambda(self, event) -> (payload, errored, logs)` is
replaced so that the six tuner handlers run in-process (their boto3 calls hit the same mock) and
every invocation of a target function goes to a `TargetRuntime`.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import boto3
from moto import mock_aws
from moto.awslambda.models import LambdaFunction

import statemachine
from powertuning.local.target import FunctionSpec, TargetRuntime
from powertuning.pricing import DEFAULT_POWER_VALUES

TUNERS = ("initializer", "publisher", "executor", "cleaner", "analyzer", "optimizer")
ACCOUNT = "123456789012"
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass(frozen=True)
class ExecutionOutcome:
    """How an execution ended: status, output or error and cause, and its history."""

    execution_arn: str
    status: str
    output: dict[str, Any] | None
    error: str | None
    cause: str | None
    events: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def _zip_placeholder() -> bytes:
    # moto stores the code it is given; the local runtime reads the handler's folder instead.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "code runs from its local folder")
    return buffer.getvalue()


class LocalEngine:
    """moto with the Step Functions interpreter, the six tuner functions and the state machine."""

    def __init__(
        self,
        runtime: TargetRuntime,
        *,
        region: str = "us-east-1",
        default_power_values: tuple[int, ...] = DEFAULT_POWER_VALUES,
        visualization_url: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.region = region
        self.default_power_values = default_power_values
        self.visualization_url = visualization_url
        self._targets: dict[str, tuple[Path | None, str, tuple[str, ...]]] = {}
        self._stack: list[Any] = []  # started patchers and mocks, stopped in reverse
        self.state_machine_arn = ""
        self.invocations = 0
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> LocalEngine:
        env = {**_FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": self.region}
        env["defaultPowerValues"] = json.dumps(list(self.default_power_values))
        if self.visualization_url:
            env["visualizationUrl"] = self.visualization_url
        patchers: list[Any] = [
            mock.patch.dict(os.environ, env),
            mock_aws(config={"stepfunctions": {"execute_state_machine": True}}),
            mock.patch.object(LambdaFunction, "_invoke_lambda", _make_dispatcher(self)),
        ]
        for patcher in patchers:
            patcher.start()
            self._stack.append(patcher)
        # The interpreter logs a full state dump at ERROR for every failed state; the execution's
        # own Error and Cause say what matters.
        interpreter_log = logging.getLogger("moto.stepfunctions.parser")
        self._stack.append(_LogLevel(interpreter_log, logging.CRITICAL))
        try:
            self._deploy()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._clients.clear()
        while self._stack:
            self._stack.pop().stop()
        self.runtime.close()

    # -- clients -----------------------------------------------------------------------------
    def _client(self, service: str) -> Any:
        # One client per service for the engine's life: creating one costs more than the calls.
        with self._lock:
            if service not in self._clients:
                self._clients[service] = boto3.client(service, region_name=self.region)
            return self._clients[service]

    @property
    def lambda_client(self) -> Any:
        """A Lambda client of the mock."""
        return self._client("lambda")

    @property
    def sfn_client(self) -> Any:
        """A Step Functions client of the mock."""
        return self._client("stepfunctions")

    # -- deployment --------------------------------------------------------------------------
    def _role(self) -> str:
        iam = self._client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        name = "powertuning-local"
        try:
            return str(iam.get_role(RoleName=name)["Role"]["Arn"])
        except iam.exceptions.NoSuchEntityException:
            return str(
                iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
            )

    def _deploy(self) -> None:
        role = self._role()
        arns = {}
        for name in TUNERS:
            created = self.lambda_client.create_function(
                FunctionName=f"powertuning-{name}",
                Runtime="python3.13",
                Role=role,
                Handler=f"lambdas.{name}.handler",
                Code={"ZipFile": _zip_placeholder()},
                Timeout=900,
                MemorySize=256,
            )
            arns[f"{name.capitalize()}FunctionArn"] = created["FunctionArn"]
        definition = statemachine.render(arns)
        self.state_machine_arn = self.sfn_client.create_state_machine(
            name="powertuning-local", definition=definition, roleArn=role
        )["stateMachineArn"]

    def create_target(
        self,
        *,
        name: str,
        handler: str,
        code_dir: Path | None,
        memory_mb: int = 128,
        timeout_s: int = 30,
        environment: dict[str, str] | None = None,
        log_format: str = "Text",
        architecture: str = "x86_64",
        python_path: tuple[str, ...] = (),
    ) -> str:
        """Create the function to tune; its code is run from `code_dir` by the runtime.

        `python_path`: folders after the code on the function's `sys.path` (its installed requirements).
        """
        kwargs: dict[str, Any] = {}
        if environment:
            kwargs["Environment"] = {"Variables": environment}
        if log_format == "JSON":
            kwargs["LoggingConfig"] = {"LogFormat": "JSON"}
        created = self.lambda_client.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=self._role(),
            Handler=handler,
            Code={"ZipFile": _zip_placeholder()},
            MemorySize=memory_mb,
            Timeout=timeout_s,
            Architectures=[architecture],
            **kwargs,
        )
        self._targets[name] = (code_dir, log_format, python_path)
        return str(created["FunctionArn"])

    # -- executions --------------------------------------------------------------------------
    def start(self, execution_input: dict[str, Any], name: str | None = None) -> str:
        """Start an execution; always named, since moto collides on unnamed ones."""
        response = self.sfn_client.start_execution(
            stateMachineArn=self.state_machine_arn,
            name=name or f"local-{uuid.uuid4().hex[:12]}",
            input=json.dumps(execution_input),
        )
        return str(response["executionArn"])

    def wait(
        self,
        execution_arn: str,
        *,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        poll_s: float = 0.05,
        timeout_s: float = 3600,
    ) -> ExecutionOutcome:
        """Block until the execution ends, passing each new history event to `on_event`."""
        started = time.monotonic()
        seen = 0
        events: list[dict[str, Any]] = []
        while True:
            description = self.sfn_client.describe_execution(executionArn=execution_arn)
            history = self.sfn_client.get_execution_history(executionArn=execution_arn, maxResults=1000)
            events = _all_events(self.sfn_client, execution_arn, history)
            for event in events[seen:]:
                if on_event:
                    on_event(event)
            seen = len(events)
            if description["status"] in TERMINAL:
                break
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"{execution_arn} still running after {timeout_s} s")
            time.sleep(poll_s)
        output = description.get("output")
        return ExecutionOutcome(
            execution_arn=execution_arn,
            status=description["status"],
            output=json.loads(output) if output else None,
            error=description.get("error"),
            cause=description.get("cause"),
            events=events,
            seconds=time.monotonic() - started,
        )

    def run(
        self, execution_input: dict[str, Any], *, on_event: Callable[[dict[str, Any]], None] | None = None
    ) -> ExecutionOutcome:
        """Start one execution and wait for it."""
        return self.wait(self.start(execution_input), on_event=on_event)

    # -- the seam ----------------------------------------------------------------------------
    def spec_for(self, fn: LambdaFunction) -> FunctionSpec:
        """What the runtime needs to know about a moto function version."""
        code_dir, log_format, python_path = self._targets.get(fn.function_name, (None, "Text", ()))
        return FunctionSpec(
            function_name=fn.function_name,
            version=str(fn.version),
            memory_mb=int(fn.memory_size),
            timeout_s=float(fn.timeout),
            handler=str(fn.handler),
            code_dir=code_dir,
            environment={str(k): str(v) for k, v in (fn.environment_vars or {}).items()},
            log_format=log_format,
            function_arn=str(fn.function_arn),
            python_path=python_path,
        )


class _LogLevel:
    """Sets a logger's level until stopped, like the patchers it is stacked with."""

    def __init__(self, logger: logging.Logger, level: int) -> None:
        self.logger, self.previous = logger, logger.level
        logger.setLevel(level)

    def stop(self) -> None:
        self.logger.setLevel(self.previous)


def _all_events(client: Any, execution_arn: str, first: dict[str, Any]) -> list[dict[str, Any]]:
    events = list(first["events"])
    token = first.get("nextToken")
    while token:
        page = client.get_execution_history(executionArn=execution_arn, maxResults=1000, nextToken=token)
        events.extend(page["events"])
        token = page.get("nextToken")
    return events


def _make_dispatcher(engine: LocalEngine) -> Callable[[LambdaFunction, Any], tuple[str, bool, str]]:
    def _invoke_lambda(fn: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        payload = event if isinstance(event, str) else json.dumps(event if event is not None else {})
        if fn.function_name.startswith("powertuning-") and fn.function_name[12:] in TUNERS:
            return _run_tuner(fn.function_name[12:], payload)
        # moto hands over the request body already JSON-decoded (an empty body as the text "{}"): a
        # JSON string event such as "hello" arrives as a str and must be encoded again.
        payload = "{}" if event is None or event == "{}" else json.dumps(event)
        with engine._lock:
            engine.invocations += 1
        result = engine.runtime.invoke(engine.spec_for(fn), payload)
        return result.payload, result.errored, result.logs

    return _invoke_lambda


def _run_tuner(name: str, payload: str) -> tuple[str, bool, str]:
    module = importlib.import_module(f"lambdas.{name}")
    context = SimpleNamespace(
        function_name=f"powertuning-{name}",
        aws_request_id=str(uuid.uuid4()),
        get_remaining_time_in_millis=lambda: 900_000,
    )
    try:
        result = module.handler(json.loads(payload), context)
    except Exception as exc:
        body = {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": traceback.format_exception(exc)[-5:],
        }
        return json.dumps(body), True, ""
    return json.dumps(result), False, ""


@contextmanager
def engine(runtime: TargetRuntime, **kwargs: Any) -> Iterator[LocalEngine]:
    """`with engine(runtime) as e:` shorthand for LocalEngine."""
    with LocalEngine(runtime, **kwargs) as started:
        yield started
