"""Every AWS call of a whole execution as IAM sees it: which role made it, the action, the resource ARN.

The local engine runs everything in one process, so the role is carried by a context variable:

- a tuner or fleet handler's calls (`_run_tuner`) are made by that function's role, and so are the
  log writes Lambda's runtime makes for it (CreateLogStream, PutLogEvents on its log group);
- whatever moto's Step Functions interpreter calls while it runs an execution (`ExecutionWorker`:
  the Lambda Tasks' InvokeFunction, `states:startExecution`, the S3 ItemReader and ResultWriter, the
  `.sync:2` poller's DescribeExecution) is made by that state machine's role, and so is what AWS does
  for it that moto leaves out: the managed events rule of `.sync` (PutTargets, PutRule, DescribeRule)
  and the StartExecution of a Distributed Map's child workflows on the state machine itself;
- threads inherit the role of the thread that started them (the interpreter's Map iterations, the
  Executor's parallel invocations).

Calls made with no role (the test's own set-up, the CLI acting as the user) are not recorded.

The seam is `botocore.client.BaseClient._make_api_call`, under every client (the handlers', moto's
interpreter's), before botocore's own `before-call` hooks: a call refused by an injected fault
still counts, as AWS evaluates IAM before it answers.

`POWERTUNING_IAM_CALLS=<folder>` turns recording on in tests/e2e (tests/e2e/conftest.py): each
pytest process writes `<folder>/<worker>-<pid>.jsonl`, one line per distinct call with its count.
"""

from __future__ import annotations

import contextvars
import json
import os
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from botocore.client import BaseClient

RECORD_ENV = "POWERTUNING_IAM_CALLS"
ACCOUNT = "123456789012"  # moto's default account, the local engine's
REGION = "us-east-1"
# The managed rule Step Functions creates for `.sync` integrations (AWS's documented name).
SYNC_EVENTS_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule"

PRINCIPAL: contextvars.ContextVar[str | None] = contextvars.ContextVar("iam_principal", default=None)


def function_principal(handler: str) -> str:
    """The principal of a tuner or fleet handler (`initializer`, `fleet_resolver`)."""
    return f"function:{handler}"


def state_machine_principal(name: str) -> str:
    """The principal of a state machine, by the name it has in the moto world."""
    return f"stateMachine:{name}"


def log_group_of(function_name: str) -> str:
    """The log group name a function writes to in the moto world (its template log group's stand-in)."""
    return f"/aws/lambda/{function_name}"


class UnmappedOperationError(KeyError):
    """An AWS operation this module does not know how IAM authorises."""


@dataclass(frozen=True, order=True)
class Call:
    """One authorisation request: principal, `service:Action`, resource ARN, and who made it
    (`sdk`: the code's own call; `runtime`: Lambda's runtime for the function; `service`: Step
    Functions for the state machine, where moto does not make the call)."""

    principal: str
    action: str
    resource: str
    source: str = "sdk"


# ------------------------------------------------------------------------------------------------
# Operations to IAM actions and resources


def _lambda_function(name: str, qualifier: str | None, region: str, account: str) -> str:
    # FunctionName: a name, `name:qualifier`, a partial ARN `account:function:name[:qualifier]`,
    # or a full ARN with or without a qualifier.
    parts = name.split(":")
    if name.startswith("arn:"):
        region, account, function = parts[3], parts[4], parts[6]
        qualifier = qualifier or (parts[7] if len(parts) > 7 else None)
    elif len(parts) >= 3 and parts[1] == "function":
        account, function = parts[0], parts[2]
        qualifier = qualifier or (parts[3] if len(parts) > 3 else None)
    else:
        function = parts[0]
        qualifier = qualifier or (parts[1] if len(parts) > 1 else None)
    arn = f"arn:aws:lambda:{region}:{account}:function:{function}"
    return f"{arn}:{qualifier}" if qualifier else arn


# Lambda operations authorised on the function (the qualified ARN when a qualifier is given),
# with the IAM action where it differs from the operation's name.
_LAMBDA_ON_FUNCTION = {
    "Invoke": "InvokeFunction",
    "GetFunction": "GetFunction",
    "GetFunctionConfiguration": "GetFunctionConfiguration",
    "UpdateFunctionConfiguration": "UpdateFunctionConfiguration",
    "UpdateFunctionCode": "UpdateFunctionCode",
    "PublishVersion": "PublishVersion",
    "ListAliases": "ListAliases",
    "ListVersionsByFunction": "ListVersionsByFunction",
    "DeleteFunction": "DeleteFunction",
    "CreateAlias": "CreateAlias",
    "GetAlias": "GetAlias",
    "UpdateAlias": "UpdateAlias",
    "DeleteAlias": "DeleteAlias",
    "GetFunctionConcurrency": "GetFunctionConcurrency",
    "GetFunctionUrlConfig": "GetFunctionUrlConfig",
    "CreateFunctionUrlConfig": "CreateFunctionUrlConfig",
    "AddPermission": "AddPermission",
    "GetPolicy": "GetPolicy",
}
# The alias APIs name the alias in `Name`: IAM authorises them on the function.
_ALIAS_APIS = {"CreateAlias", "GetAlias", "UpdateAlias", "DeleteAlias"}
_S3_OBJECT = {
    "GetObject": "GetObject",
    "HeadObject": "GetObject",
    "PutObject": "PutObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "DeleteObject": "DeleteObject",
    "AbortMultipartUpload": "AbortMultipartUpload",
    "ListParts": "ListMultipartUploadParts",
    "GetObjectTagging": "GetObjectTagging",
}
_S3_BUCKET = {"ListObjectsV2": "ListBucket", "ListObjects": "ListBucket", "HeadBucket": "ListBucket"}
_STATES = {
    "StartExecution": "stateMachineArn",
    "ListExecutions": "stateMachineArn",
    "DescribeStateMachine": "stateMachineArn",
    "DescribeExecution": "executionArn",
    "StopExecution": "executionArn",
    "GetExecutionHistory": "executionArn",
    "DescribeStateMachineForExecution": "executionArn",
    "DescribeMapRun": "mapRunArn",
}
_STAR = {("cloudwatch", "GetMetricData"), ("cloudwatch", "PutMetricData"), ("lambda", "ListFunctions")}


def iam_requests(
    service: str, operation: str, params: dict[str, Any], region: str, account: str = ACCOUNT
) -> list[tuple[str, str]]:
    """The (`service:Action`, resource ARN) pairs IAM evaluates for one API call."""
    if (service, operation) in _STAR:
        return [(f"{service}:{operation}", "*")]
    if service == "lambda" and operation in _LAMBDA_ON_FUNCTION:
        qualifier = None if operation in _ALIAS_APIS else params.get("Qualifier")
        resource = _lambda_function(str(params["FunctionName"]), qualifier, region, account)
        found = [(f"lambda:{_LAMBDA_ON_FUNCTION[operation]}", resource)]
        if operation == "UpdateFunctionCode" and "S3Bucket" in params:
            # Lambda reads the code object with the permissions of whoever calls UpdateFunctionCode.
            found.append(("s3:GetObject", f"arn:aws:s3:::{params['S3Bucket']}/{params['S3Key']}"))
        return found
    if service == "lambda" and operation == "ListTags":
        return [("lambda:ListTags", str(params["Resource"]))]
    if service == "lambda" and operation == "GetLayerVersion":
        layer = str(params["LayerName"])
        if not layer.startswith("arn:"):
            layer = f"arn:aws:lambda:{region}:{account}:layer:{layer}"
        return [("lambda:GetLayerVersion", f"{layer}:{params['VersionNumber']}")]
    if service == "lambda" and operation == "GetLayerVersionByArn":
        return [("lambda:GetLayerVersion", str(params["Arn"]))]
    if service == "s3" and operation in _S3_OBJECT:
        return [(f"s3:{_S3_OBJECT[operation]}", f"arn:aws:s3:::{params['Bucket']}/{params['Key']}")]
    if service == "s3" and operation == "DeleteObjects":
        return [
            ("s3:DeleteObject", f"arn:aws:s3:::{params['Bucket']}/{o['Key']}")
            for o in params["Delete"]["Objects"]
        ]
    if service == "s3" and operation in _S3_BUCKET:
        return [(f"s3:{_S3_BUCKET[operation]}", f"arn:aws:s3:::{params['Bucket']}")]
    if service == "dynamodb" and "TableName" in params:
        return [(f"dynamodb:{operation}", f"arn:aws:dynamodb:{region}:{account}:table/{params['TableName']}")]
    if service == "stepfunctions" and operation in _STATES:
        return [(f"states:{operation}", str(params[_STATES[operation]]))]
    raise UnmappedOperationError(f"{service}.{operation}")


# ------------------------------------------------------------------------------------------------
# The recorder


@dataclass
class Recorder:
    """The distinct calls made under a principal, with how often each was made."""

    calls: Counter[Call]
    unmapped: Counter[str]
    _lock: threading.Lock

    def __init__(self) -> None:
        self.calls, self.unmapped, self._lock = Counter(), Counter(), threading.Lock()

    def add(self, call: Call) -> None:
        with self._lock:
            self.calls[call] += 1

    def api_call(
        self, principal: str, service: str, operation: str, params: dict[str, Any], region: str
    ) -> None:
        try:
            requests = iam_requests(service, operation, params, region)
        except (UnmappedOperationError, KeyError):
            with self._lock:
                self.unmapped[f"{principal} {service}.{operation}"] += 1
            return
        for action, resource in requests:
            self.add(Call(principal, action, resource))

    def lines(self) -> list[str]:
        rows = [{**asdict(call), "count": count} for call, count in sorted(self.calls.items())]
        rows += [{"unmapped": what, "count": count} for what, count in sorted(self.unmapped.items())]
        return [json.dumps(row, sort_keys=True) for row in rows]

    def write(self, folder: Path) -> Path:
        """Appends this recorder's lines to the process's file in `folder`; returns the file."""
        folder.mkdir(parents=True, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        path = folder / f"{worker}-{os.getpid()}.jsonl"
        with path.open("a", encoding="utf-8") as out:
            out.writelines(line + "\n" for line in self.lines())
        return path


def read_calls(folder: Path) -> tuple[Counter[Call], Counter[str]]:
    """Every call recorded in `folder`'s files, summed over them; and the unmapped operations."""
    calls: Counter[Call] = Counter()
    unmapped: Counter[str] = Counter()
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            count = int(row.pop("count"))
            if "unmapped" in row:
                unmapped[row["unmapped"]] += count
            else:
                calls[Call(**row)] += count
    return calls, unmapped


@contextmanager
def _as(principal: str) -> Iterator[None]:
    token = PRINCIPAL.set(principal)
    try:
        yield
    finally:
        PRINCIPAL.reset(token)


@contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    """Record every AWS call made under a principal while inside; the seams are patched back after."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component as distributed,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_sfn as sfn_service,
    )
    from moto.stepfunctions.parser.backend import execution_worker

    import tests.e2e.fleet_world
    import tests.e2e.workflow_world
    from powertuning.local import engine

    make_api_call = BaseClient._make_api_call
    # The engine's own clients are the test's (set-up, gates, the user's view), never a role's.
    users_clients: weakref.WeakSet[BaseClient] = weakref.WeakSet()

    def _make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        principal = PRINCIPAL.get()
        if principal is not None and client not in users_clients:
            service = client.meta.service_model.service_name
            recorder.api_call(principal, service, operation, params, client.meta.region_name or REGION)
        return make_api_call(client, operation, params)

    run_tuner = engine._run_tuner

    def _run_tuner(name: str, payload: str, function_arn: str, timeout_s: float) -> tuple[str, bool, str]:
        principal = function_principal(name)
        _, _, _, region, account, _, function = function_arn.split(":")[:7]
        stream = f"arn:aws:logs:{region}:{account}:log-group:{log_group_of(function)}:log-stream:local"
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            recorder.add(Call(principal, action, stream, "runtime"))
        with _as(principal):
            return run_tuner(name, payload, function_arn, timeout_s)

    engine_client = engine.LocalEngine._client

    def _client(local: Any, service: Any) -> Any:
        client = engine_client(local, service)
        users_clients.add(client)
        return client

    make_dispatcher = engine._make_dispatcher

    def _make_dispatcher(local: Any) -> Callable[..., tuple[str, bool, str]]:
        dispatch = make_dispatcher(local)

        def invoke(fn: Any, event: Any = None) -> tuple[str, bool, str]:
            # A target function's code runs with the target's own role, not the Executor's.
            if fn.function_name.startswith("powertuning-"):
                return dispatch(fn, event)
            token = PRINCIPAL.set(None)
            try:
                return dispatch(fn, event)
            finally:
                PRINCIPAL.reset(token)

        return invoke

    execution_logic = execution_worker.ExecutionWorker._execution_logic

    def _execution_logic(worker: Any) -> None:
        name = worker._evaluation_details.state_machine_details.arn.split(":")[6]
        with _as(state_machine_principal(name)):
            execution_logic(worker)

    build_sync2 = sfn_service.StateTaskServiceSfn._build_sync2_resolver

    def _build_sync2_resolver(service: Any, *args: Any, **kwargs: Any) -> Any:
        part = kwargs["resource_runtime_part"] if "resource_runtime_part" in kwargs else args[1]
        principal = PRINCIPAL.get()
        if principal is not None:
            rule = f"arn:aws:events:{part.region}:{part.account}:rule/{SYNC_EVENTS_RULE}"
            for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
                recorder.add(Call(principal, action, rule, "service"))
        return build_sync2(service, *args, **kwargs)

    map_run = distributed.DistributedIterationComponent._map_run

    def _map_run(component: Any, env: Any, eval_input: Any) -> None:
        # mapRun:<state machine>/<label>:<id>: the child workflows are executions of that machine.
        map_run_arn = eval_input.map_run_record.map_run_arn
        prefix, name = map_run_arn.split(":mapRun:")
        machine = f"{prefix}:stateMachine:{name.split('/')[0]}"
        principal = PRINCIPAL.get()
        if principal is not None:
            recorder.add(Call(principal, "states:StartExecution", machine, "service"))
        map_run(component, env, eval_input)

    thread_start = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        # A thread acts for whoever started it (Map iterations, parallel invocations).
        context = contextvars.copy_context()
        run: Callable[[], None] = thread.run
        thread.run = lambda: context.run(run)  # type: ignore[method-assign]
        thread_start(thread)

    with ExitStack() as stack:
        for target, attribute, replacement in (
            (BaseClient, "_make_api_call", _make_api_call),
            (engine, "_run_tuner", _run_tuner),
            (engine, "_make_dispatcher", _make_dispatcher),
            (engine.LocalEngine, "_client", _client),
            (tests.e2e.fleet_world, "_run_tuner", _run_tuner),
            (tests.e2e.workflow_world, "_run_tuner", _run_tuner),
            (execution_worker.ExecutionWorker, "_execution_logic", _execution_logic),
            (sfn_service.StateTaskServiceSfn, "_build_sync2_resolver", _build_sync2_resolver),
            (distributed.DistributedIterationComponent, "_map_run", _map_run),
            (threading.Thread, "start", start),
        ):
            stack.enter_context(mock.patch.object(target, attribute, replacement))
        yield recorder
