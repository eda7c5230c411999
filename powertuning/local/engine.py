"""Run the real state machine and the real tuner Lambdas on this machine, with no AWS account.

moto (pinned 5.2.x) interprets statemachine/power_tuning.asl.json. Its Lambda `invoke` would need
Docker; the seam `LambdaFunction._invoke_lambda(self, event) -> (payload, errored, logs)` is
replaced so that the six tuner handlers run in-process (their boto3 calls hit the same mock) and
every invocation of a target function goes to a `TargetRuntime`.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Literal
from unittest import mock

from moto import mock_aws
from moto.awslambda.models import LambdaFunction

from powertuning import asl, aws, deployment, layout
from powertuning.aws import executions
from powertuning.local import tuner_stack
from powertuning.local.aws_rules import real_aws_rules
from powertuning.local.run_stops import RunStops, executor_retried_errors
from powertuning.local.target import FunctionSpec, TargetRuntime
from powertuning.local.tuner_stack import STAGING_BUCKET, TUNERS, zip_placeholder
from powertuning.pricing import DEFAULT_POWER_VALUES

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_stepfunctions import SFNClient

# As the stack's default totalExecutionTimeout (cdk.json).
DEFAULT_FUNCTION_TIMEOUT_S = 300
# The local world is the user's own: the tuner is deployed as with `-c architectures=true`.
LOCAL_CODE_CHANGES = deployment.CodeChanges(enabled=True)
# How long the interpreter's threads get to wind down after their executions are stopped.
_INTERPRETER_EXIT_S = 5.0
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
    # What the recovery rule's cleanup returned, for an execution that ended badly.
    recovery: dict[str, Any] | None = None


# The e2e worlds deploy functions of their own with the tuner's placeholder and handler runner.
_zip_placeholder = zip_placeholder


class LocalEngine:
    """moto with the Step Functions interpreter, the six tuner functions and the state machine."""

    def __init__(
        self,
        runtime: TargetRuntime,
        *,
        region: str = "us-east-1",
        default_power_values: tuple[int, ...] = DEFAULT_POWER_VALUES,
        visualization_url: str | None = None,
        recovery: bool = True,
        function_timeout_s: int = DEFAULT_FUNCTION_TIMEOUT_S,
        code_changes: deployment.CodeChanges = LOCAL_CODE_CHANGES,
        interpreter_log: bool = False,
    ) -> None:
        self.runtime = runtime
        # moto's interpreter logs a state dump of several KB per failed state: shown only on request
        # (powertune local -v); the execution's Error and Cause say what a user needs.
        self.interpreter_log = interpreter_log
        # Set at deploy, once the state machine's retries are known.
        self.stops = RunStops(runtime, frozenset())
        # The deploy option `architectures` (and imageRepositories) of this local deployment.
        self.code_changes = code_changes
        # Emulate the stack's EventBridge recovery rule on ABORTED, TIMED_OUT and FAILED executions.
        self.recovery = recovery
        # The tuner functions' timeout; Task timeouts are set past it exactly as the stack sets them.
        self.function_timeout_s = function_timeout_s
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
        env[deployment.RUNS_TABLE_ENV] = tuner_stack.RUNS_TABLE
        env.update(self.code_changes.to_env())
        if self.code_changes.enabled:
            env[deployment.STAGING_BUCKET_ENV] = STAGING_BUCKET
        if self.visualization_url:
            env["visualizationUrl"] = self.visualization_url
        patchers: list[Any] = [
            mock.patch.dict(os.environ, env),
            self._services(),
            real_aws_rules(),
            mock.patch.object(LambdaFunction, "_invoke_lambda", _make_dispatcher(self)),
        ]
        for patcher in patchers:
            if hasattr(patcher, "start"):
                patcher.start()
                self._stack.append(patcher)
            else:
                patcher.__enter__()
                self._stack.append(_Exit(patcher))
        if not self.interpreter_log:
            interpreter_log = logging.getLogger("moto.stepfunctions.parser")
            self._stack.append(_LogLevel(interpreter_log, logging.CRITICAL))
        try:
            self._deploy()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            with contextlib.suppress(Exception):  # a cleanup problem must not hide why it exits
                self._end_executions()
            # A failed run's other iterations may still be in the interpreter: they end here, while
            # the mock (and the interpreter's quiet log) are still in place.
            self.stops.end_all()
            self.runtime.close()
            self._join_interpreter()
        finally:
            self._clients.clear()
            while self._stack:
                self._stack.pop().stop()
            self.runtime.close()

    def _end_executions(self) -> None:
        """Stop what still runs (an interrupt, a failed wait) while the services are still here.

        The interpreter runs each execution in a daemon thread: one that outlived the mock would
        send its next call to AWS itself, with whatever credentials the machine has, and log it.
        """
        if not self._stack:
            return
        stopped = False
        client = self.sfn_client
        for machine in client.list_state_machines().get("stateMachines", []):
            arn = machine["stateMachineArn"]
            listed = client.list_executions(stateMachineArn=arn, statusFilter="RUNNING")
            for execution in listed.get("executions", []):
                with contextlib.suppress(Exception):  # ended meanwhile
                    client.stop_execution(executionArn=execution["executionArn"], cause="the local run ended")
                    stopped = True
        if not stopped:
            return
        self.runtime.close()  # an invocation under way ends now
        self._join_interpreter()

    @staticmethod
    def _join_interpreter() -> None:
        deadline = time.monotonic() + _INTERPRETER_EXIT_S
        for thread in threading.enumerate():
            # The interpreter's threads run its components' eval (named "Thread-N (eval)").
            if thread is not threading.current_thread() and thread.name.endswith("(eval)"):
                thread.join(max(0.0, deadline - time.monotonic()))

    def _services(self) -> Any:
        """Where the AWS services run: moto in this process, with the Step Functions interpreter
        (a subclass may serve the same backends over HTTP instead: moto's server mode)."""
        return mock_aws(config={"stepfunctions": {"execute_state_machine": True}})

    # -- clients -----------------------------------------------------------------------------
    def _client(self, service: Literal["lambda", "stepfunctions", "dynamodb", "iam", "s3"]) -> Any:
        # One client per service for the engine's life: creating one costs more than the calls.
        with self._lock:
            if service not in self._clients:
                self._clients[service] = aws.client(service, self.region)
            return self._clients[service]

    @property
    def lambda_client(self) -> LambdaClient:
        """A Lambda client of the mock."""
        client: LambdaClient = self._client("lambda")
        return client

    @property
    def sfn_client(self) -> SFNClient:
        """A Step Functions client of the mock."""
        client: SFNClient = self._client("stepfunctions")
        return client

    # -- deployment --------------------------------------------------------------------------
    def _role(self) -> str:
        """The role every function of this engine runs with (the tests' functions too)."""
        return tuner_stack.lambda_role(self._client("iam"))

    def _deploy(self) -> None:
        deployed = tuner_stack.deploy(
            self._client, function_timeout_s=self.function_timeout_s, code_changes=self.code_changes
        )
        # As the stack does: the Initializer knows the tuner's functions, and refuses them as targets.
        os.environ[deployment.TUNER_FUNCTIONS_ENV] = json.dumps(list(deployed.function_arns))
        self.stops = RunStops(self.runtime, executor_retried_errors(json.loads(asl.definition_text())))
        self.state_machine_arn = deployed.state_machine_arn

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
        ephemeral_storage_mb: int = 512,
    ) -> str:
        """Create the function to tune; its code is run from `code_dir` by the runtime.

        `python_path`: folders after the code on the function's `sys.path` (its installed requirements).
        """
        kwargs: dict[str, Any] = {}
        if environment:
            kwargs["Environment"] = {"Variables": environment}
        if log_format == "JSON":
            kwargs["LoggingConfig"] = {"LogFormat": "JSON"}
        # Lambda checks the value; the stubs' Literal cannot see it through the parameter.
        kwargs["Architectures"] = [architecture]
        kwargs["EphemeralStorage"] = {"Size": ephemeral_storage_mb}
        created = self.lambda_client.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=self._role(),
            Handler=handler,
            Code={"ZipFile": zip_placeholder()},
            MemorySize=memory_mb,
            Timeout=timeout_s,
            **kwargs,
        )
        self._targets[name] = (code_dir, log_format, python_path)
        return str(created["FunctionArn"])

    def put_object(self, bucket: str, key: str, body: bytes) -> None:
        """An object in the tuner's own S3 (a payloadS3 the Initializer and Executor read)."""
        s3 = self._client("s3")
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key=key, Body=body)

    # -- executions --------------------------------------------------------------------------
    def start(self, execution_input: dict[str, Any], name: str | None = None) -> str:
        """Start an execution; always named, since moto collides on unnamed ones."""
        return executions.start_execution(
            self.sfn_client, self.state_machine_arn, name or f"local-{uuid.uuid4().hex[:12]}", execution_input
        )

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
        followed = executions.follow(
            self.sfn_client,
            execution_arn,
            on_event,
            poll_s=poll_s,
            timeout_s=timeout_s,
            read_history=self._history,
        )
        description, events = followed.description, followed.events
        with contextlib.suppress(ValueError, KeyError, IndexError, TypeError):
            self.stops.ended(str(json.loads(description["input"])["lambdaARN"]).split(":")[6])
        output = description.get("output")
        recovery = None
        if description["status"] in deployment.RECOVERED_STATUSES and self.recovery:
            # EventBridge retries a target that fails (the stack allows 8 retries).
            for _attempt in range(3):
                recovery = self.recover(execution_arn, description["status"])
                if "error" not in recovery:
                    break
                time.sleep(0.2)
        return ExecutionOutcome(
            execution_arn=execution_arn,
            status=description["status"],
            output=json.loads(output) if output else None,
            error=description.get("error"),
            cause=description.get("cause"),
            events=events,
            seconds=time.monotonic() - started,
            recovery=recovery,
        )

    def _history(self, sfn: SFNClient, execution_arn: str) -> list[dict[str, Any]]:
        # moto 5.2 can fail to serialize a history: a failed Map's other iterations finish late
        # (read again a moment later), and once in a while an event is recorded with a malformed
        # field (timeoutInSeconds holding the state). The history is informational here (status,
        # output, error and cause come from DescribeExecution), so after a few tries, go without.
        for attempt in range(4):
            try:
                return executions.history(sfn, execution_arn)
            except TypeError:
                time.sleep(0.1 * (attempt + 1))
        logging.getLogger(__name__).warning("moto could not serialize the history of %s", execution_arn)
        return []

    def recover(self, execution_arn: str, status: str) -> dict[str, Any]:
        """What the stack's recovery rule does: send the execution's end to the Cleaner."""
        event = {
            "source": "aws.states",
            "detail-type": "Step Functions Execution Status Change",
            "detail": {
                "executionArn": execution_arn,
                "status": status,
                "stateMachineArn": self.state_machine_arn,
            },
        }
        response = self.lambda_client.invoke(
            FunctionName="powertuning-cleaner", Payload=json.dumps(event).encode()
        )
        body: dict[str, Any] = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            body = {"error": body}
        return body

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
            architecture=str((fn.architectures or ["x86_64"])[0]),
            ephemeral_storage_mb=int(fn.ephemeral_storage or 512),
        )


class _Exit:
    """Leaves a context manager when stopped, like the patchers it is stacked with."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager

    def stop(self) -> None:
        self.manager.__exit__(None, None, None)


class _LogLevel:
    """Sets a logger's level until stopped, like the patchers it is stacked with."""

    def __init__(self, logger: logging.Logger, level: int) -> None:
        self.logger, self.previous = logger, logger.level
        logger.setLevel(level)

    def stop(self) -> None:
        self.logger.setLevel(self.previous)


def _make_dispatcher(engine: LocalEngine) -> Callable[[LambdaFunction, Any], tuple[str, bool, str]]:
    def _invoke_lambda(fn: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        # moto has already decoded the JSON body (`null` -> None, `"text"` -> str): encode it back.
        payload = json.dumps(event)
        if fn.function_name.startswith("powertuning-") and fn.function_name[12:] in TUNERS:
            name = fn.function_name[12:]
            answer = _run_tuner(name, payload, str(fn.function_arn), float(fn.timeout))
            if name == "executor" and answer[1]:
                engine.stops.executor_failed(payload, answer[0])
            return answer
        with engine._lock:
            engine.invocations += 1
        result = engine.runtime.invoke(engine.spec_for(fn), payload)
        return result.payload, result.errored, result.logs

    return _invoke_lambda


def _run_tuner(name: str, payload: str, function_arn: str, timeout_s: float) -> tuple[str, bool, str]:
    module = importlib.import_module(f"{layout.handlers_package()}.{name}")
    deadline = time.monotonic() + timeout_s
    context = SimpleNamespace(
        function_name=f"powertuning-{name}",
        invoked_function_arn=function_arn,
        aws_request_id=str(uuid.uuid4()),
        get_remaining_time_in_millis=lambda: max(0, int((deadline - time.monotonic()) * 1000)),
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
