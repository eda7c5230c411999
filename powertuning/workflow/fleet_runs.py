"""The deployed workflow tuner's fleet runs: the fleet input that tunes each distinct function once,
and the one that applies the picks (autoOptimize), both validated before any tuning starts.

Pure: the handlers (lambdas/workflow_reader.py, workflow_solver.py) do the I/O through
powertuning/workflow/deployed.py. A fleet input is an execution input (256 KB at most): payloads too
large for it are passed as payloadS3 objects instead (`with_payloads_in_s3`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from powertuning.arns import FunctionRef
from powertuning.errors import FleetInputError, InvalidInputError, SelfTargetError, WorkflowInputError
from powertuning.fleet_request import FleetRequest, function_of
from powertuning.input_kinds import MIN_NUM
from powertuning.inputs import TuningRequest
from powertuning.workflow.plan import WorkflowPlan

# Step Functions caps an execution's input at 256 KiB; the fleet's first state carries the input and
# its execution id: leave room for them.
FLEET_INPUT_BUDGET_BYTES: Final = 200_000
# The fleet's child defaults the measuring run must keep whatever the request says.
MEASURE_KEYS: Final = {"autoOptimize": False, "includeOutputResults": True}
# Step Functions execution names: 1-80 characters.
MAX_EXECUTION_NAME: Final = 80


@dataclass(frozen=True)
class FleetRun:
    """One execution of the fleet state machine: its name and its input."""

    name: str
    input: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "input": dict(self.input)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FleetRun:
        return cls(str(data["name"]), dict(data["input"]))


def run_name(workflow_execution: str, purpose: str) -> str:
    """A fleet execution name unique per workflow execution and purpose ("measure", "apply")."""
    digest = hashlib.sha256(workflow_execution.encode()).hexdigest()[:16]
    return f"workflow-{digest}-{purpose}"[:MAX_EXECUTION_NAME]


def refuse_own_and_repeated(plan: WorkflowPlan, own_functions: Sequence[str]) -> None:
    """A workflow that calls one of the tuner's own functions, or one function under two ARNs (two
    aliases: the tuner sizes the function, so both would get one size), is refused."""
    own = {FunctionRef.parse(arn).unqualified for arn in own_functions if arn}
    seen: dict[str, str] = {}
    for planned in plan.functions:
        function = function_of(planned.arn)
        if function in own:
            raise SelfTargetError(
                f"{planned.arn} is one of the tuner's own functions, which it never tunes: "
                f"the workflow {plan.request.state_machine_arn} calls it"
            )
        if function in seen:
            raise WorkflowInputError(
                f"the workflow calls {function} as {seen[function]} and as {planned.arn}: a function has one "
                "memory size whichever alias or version is called, so the tuner cannot size them apart"
            )
        seen[function] = planned.arn


def measure_run(plan: WorkflowPlan, workflow_execution: str, max_concurrency: int | None = None) -> FleetRun:
    """The fleet input that tunes each function once with the child input `plan.tuning_input` gives
    (the request's tuning keys as defaults, each function's payload as its override); failures are
    tolerated by the fleet and judged by the solver (onError)."""
    defaults = {**dict(plan.request.tuning), **MEASURE_KEYS}
    # The model composes warm quantiles: a rate only when the request asks for one (the fleet would
    # otherwise give each function its production rate).
    defaults.setdefault("coldStartRate", None)
    overrides: dict[str, dict[str, Any]] = {}
    for planned in plan.functions:
        child = plan.tuning_input(planned)
        overrides[planned.arn] = {
            k: v for k, v in child.items() if k != "lambdaARN" and (k not in defaults or defaults[k] != v)
        }
    fleet_input: dict[str, Any] = {
        "functions": [p.arn for p in plan.functions],
        "defaults": defaults,
        "overrides": {arn: o for arn, o in overrides.items() if o},
        "toleratedFailurePercentage": 100,
    }
    if max_concurrency is not None:
        fleet_input["maxConcurrency"] = max_concurrency
    return FleetRun(run_name(workflow_execution, "measure"), fleet_input)


def apply_defaults(tuning: Mapping[str, Any]) -> dict[str, Any]:
    """The apply run's defaults: the request's tuning keys, applied (autoOptimize) by the cost
    strategy over the one size given, with as few invocations as the tuner allows (MIN_NUM) unless
    the request's keys need more."""
    defaults = {**dict(tuning), "autoOptimize": True, "strategy": "cost", "num": MIN_NUM}
    defaults.pop("powerValues", None)
    if defaults.get("coldStartRate", 0) is None:
        del defaults["coldStartRate"]  # the fleet's "no rate", which a single tuning does not take
    try:
        TuningRequest.from_dict({**defaults, "lambdaARN": _PLACEHOLDER_ARN, "powerValues": [1024]})
    except InvalidInputError:
        if "num" in tuning:
            defaults["num"] = tuning["num"]
        else:
            defaults.pop("num")
    # Applying measures nothing worth a Logs Insights query (the fleet's null: no rate).
    defaults.setdefault("coldStartRate", None)
    return defaults


_PLACEHOLDER_ARN: Final = "arn:aws:lambda:us-east-1:123456789012:function:workflow-default"


def apply_run(measure: FleetRun, picks: Mapping[str, int], workflow_execution: str) -> FleetRun | None:
    """The fleet input that applies each pick (function ARN -> memory MB) that differs from the
    function's size now, as one tuning at that size only with autoOptimize (the tuner's Optimizer,
    marker, lock and recovery); None when nothing changes. Any failure fails that fleet."""
    if not picks:
        return None
    measured = measure.input
    overrides = {
        arn: {**dict(measured.get("overrides", {}).get(arn, {})), "powerValues": [memory]}
        for arn, memory in picks.items()
    }
    for override in overrides.values():
        for key in MEASURE_KEYS:
            override.pop(key, None)
    fleet_input: dict[str, Any] = {
        "functions": list(picks),
        "defaults": apply_defaults({k: v for k, v in measured["defaults"].items() if k not in MEASURE_KEYS}),
        "overrides": overrides,
        "toleratedFailurePercentage": 0,
    }
    if "maxConcurrency" in measured:
        fleet_input["maxConcurrency"] = measured["maxConcurrency"]
    return FleetRun(run_name(workflow_execution, "apply"), fleet_input)


def validate(run: FleetRun) -> None:
    """The fleet input as the fleet's resolver will validate it, before anything starts
    (WorkflowInputError with the fleet's message)."""
    try:
        FleetRequest.from_dict(run.input)
    except FleetInputError as exc:
        raise WorkflowInputError(f"the functions' tuning input is refused: {exc}") from exc


def input_size(run: FleetRun) -> int:
    """The fleet input's size as Step Functions counts it (UTF-8 JSON)."""
    return len(json.dumps(run.input, separators=(",", ":")).encode())


def with_payloads_in_s3(
    run: FleetRun, store: Callable[[str, str], str], budget: int = FLEET_INPUT_BUDGET_BYTES
) -> FleetRun:
    """The run with its largest payloads moved to S3 (payloadS3) until its input fits `budget`.

    `store(function_arn, payload_json)` writes one payload and returns its s3:// URI. A run that
    still does not fit (too many functions) is refused before anything starts.
    """
    if input_size(run) <= budget:
        return run
    overrides = {arn: dict(o) for arn, o in run.input.get("overrides", {}).items()}
    by_size = sorted(
        (arn for arn, o in overrides.items() if "payload" in o),
        key=lambda arn: -len(json.dumps(overrides[arn]["payload"])),
    )
    moved = FleetRun(run.name, run.input)
    for arn in by_size:
        override = overrides[arn]
        override["payloadS3"] = store(arn, json.dumps(override.pop("payload"), separators=(",", ":")))
        moved = FleetRun(run.name, {**run.input, "overrides": overrides})
        if input_size(moved) <= budget:
            return moved
    raise WorkflowInputError(
        f"the fleet input for {len(run.input['functions'])} functions is {input_size(moved)} bytes even with "
        f"every payload in S3; an execution input holds at most {budget} bytes here"
    )


def picks_to_apply(result: Mapping[str, Any]) -> dict[str, int]:
    """Function ARN -> recommended memory, for each tuned function whose pick is not its size now
    (from WorkflowResult.to_dict()'s `functions`)."""
    return {
        str(f["functionArn"]): int(f["recommendedMemory"])
        for f in result.get("functions", [])
        if f.get("tuned", True) and int(f["recommendedMemory"]) != int(f["currentMemory"])
    }
