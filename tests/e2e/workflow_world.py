"""A workflow world on moto: the tuner (LocalEngine), the fleet (fleet_world.py), the workflow tuner's
two functions and state machine, and a user's workflow whose functions are simulated.

The user's functions answer from duration curves (ms at a memory size, `SimulatedRuntime`'s REPORT
lines): the tunings measure them and the user's own executions record what ran at which size, so a
test can compose the workflow's simulated duration at any sizes. moto's history has real (tiny) wall
times, so what the reader sees as each state's time is moto's own; the model's durations are the
measured curves plus those small overheads.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from moto.awslambda.models import LambdaFunction

from powertuning import asl, deployment
from powertuning.local.engine import LocalEngine, _run_tuner, _zip_placeholder
from powertuning.local.simulated import SimulatedRuntime
from powertuning.local.target import FunctionSpec, InvokeResult

WORKFLOW_HANDLERS = ("workflow_reader", "workflow_solver")
WORKFLOW_MACHINE = "powertuning-workflow"


@dataclass
class WorkflowRuntime:
    """The user's functions: one SimulatedRuntime per name; `failing` names fail every call
    (flipped by a test after the user's own run); `calls` records (name, memory, ms) of every call."""

    curves: dict[str, Callable[[int, int], float]]
    failing: set[str] = field(default_factory=set)
    calls: list[tuple[str, int, float]] = field(default_factory=list)
    mode: str = "simulated"
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.runtimes = {name: SimulatedRuntime(curve) for name, curve in self.curves.items()}

    def invoke(self, spec: FunctionSpec, event: str) -> InvokeResult:
        name = spec.function_name
        if name in self.failing:
            body = {"errorType": "BrokenError", "errorMessage": f"{name} is broken"}
            return InvokeResult(json.dumps(body), True, "")
        with self._lock:
            self.calls.append((name, spec.memory_mb, self.curves[name](spec.memory_mb, 0)))
        return self.runtimes[name].invoke(spec, event)

    def close(self) -> None:
        for runtime in self.runtimes.values():
            runtime.close()


@contextmanager
def workflow_deployed(engine: LocalEngine, fleet_arn: str) -> Iterator[str]:
    """Deploy the workflow tuner into the engine's moto world, next to its fleet; yields its ARN.
    Use inside `fleet_deployed` (the results bucket and the fleet's handlers come from there)."""
    lam = engine.lambda_client
    role = engine._role()
    arns: dict[str, str] = {}
    for name in WORKFLOW_HANDLERS:
        created = lam.create_function(
            FunctionName=f"powertuning-{name}",
            Runtime="python3.13",
            Role=role,
            Handler=f"lambdas.{name}.handler",
            Code={"ZipFile": _zip_placeholder()},
            Timeout=300,
            MemorySize=512,
        )
        arns["".join(p.title() for p in name.split("_")) + "FunctionArn"] = created["FunctionArn"]
    tuner_functions = json.loads(os.environ[deployment.TUNER_FUNCTIONS_ENV]) + sorted(arns.values())
    previous: Callable[..., Any] = LambdaFunction._invoke_lambda  # the fleet world's dispatcher

    def invoke(fn: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        name = fn.function_name.removeprefix("powertuning-")
        if fn.function_name.startswith("powertuning-") and name in WORKFLOW_HANDLERS:
            return _run_tuner(name, json.dumps(event), str(fn.function_arn), float(fn.timeout))
        return previous(fn, event)

    account_region = engine.state_machine_arn.split(":stateMachine:")[0]
    own = [engine.state_machine_arn, fleet_arn]
    definition = asl.render_workflow(
        {
            "WorkflowReaderFunctionArn": arns["WorkflowReaderFunctionArn"],
            "WorkflowSolverFunctionArn": arns["WorkflowSolverFunctionArn"],
            "FleetStateMachineArn": fleet_arn,
            "OwnStateMachineArns": ",".join(own),
            "TunerFunctionArns": ",".join(tuner_functions),
            **asl.workflow_integrations("aws"),
        },
        function_timeout_s=300,
    )
    with (
        mock.patch.dict(os.environ, {deployment.TUNER_FUNCTIONS_ENV: json.dumps(tuner_functions)}),
        mock.patch.object(LambdaFunction, "_invoke_lambda", invoke),
    ):
        arn = engine.sfn_client.create_state_machine(
            name=WORKFLOW_MACHINE, definition=definition, roleArn=role
        )["stateMachineArn"]
        assert arn == f"{account_region}:stateMachine:{WORKFLOW_MACHINE}"
        yield arn
