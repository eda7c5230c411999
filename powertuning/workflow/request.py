"""The workflow tuner's execution input: `WorkflowRequest`, validated before anything is read or changed.

Keys (camelCase on the wire):
- `stateMachineArn` (required): the user's state machine (STANDARD), never one of the tuner's own.
- `executionArn`: a SUCCEEDED execution of it whose history supplies the model's inputs, or
  `recentExecutions`: N (1-20), the N most recent SUCCEEDED ones; neither given: recentExecutions 1.
- `maxDurationMs` (> 0, required) and `durationStatistic` (average, p50, p90, p95, p99; default
  average): the end-to-end target.
- the tuning keys every function's child tuning gets (`powerValues`, `num`, `strategy` with "cost"
  by default, `parallelInvocation`, ...: validated as the single-function tuner validates them),
- `payload`: per function (its ARN or name) the payload to measure with instead of the history's,
- `autoOptimize` (default false): apply every pick; `onError` ("fail", default, or "skip"): what a
  function whose tuning fails does to the run (skip: it keeps its size and its observed time).

Tuning keys that mean nothing for one child of a workflow are refused, naming what to do instead:
`lambdaARN` (the definition names the functions), `payloadS3` (one payload for every function: give
`payload` per function), `autoOptimizeAlias` (the workflow applies its joint pick with
`autoOptimize`), `dryRun` (one size measured cannot be solved over: the workflow command's plan
mode prices a run and starts nothing), `architectures` and `imageUris` (the joint pick sizes memory
on each function's own architecture), `sampling: "adaptive"` and `powerValues: "auto"` (they stop
measuring the sizes that lose alone, which the joint pick may need), `includeOutputResults: false`
(every child reports per-size stats). `maxDurationMs`, `durationStatistic` and `onError` are the
workflow's own (end to end, and per function), never passed to a child.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from powertuning.arns import FUNCTION_ARN, partition_of
from powertuning.errors import InvalidInputError, WorkflowInputError
from powertuning.input_keys import INPUT_KEYS
from powertuning.input_kinds import AUTO, DURATION_STATISTICS
from powertuning.inputs import TuningRequest

WORKFLOW_KEYS: Final = (
    "stateMachineArn",
    "executionArn",
    "recentExecutions",
    "maxDurationMs",
    "durationStatistic",
    "payload",
    "autoOptimize",
    "onError",
)
ON_ERROR: Final = ("fail", "skip")
MAX_RECENT_EXECUTIONS: Final = 20
# The child tuning keys a workflow refuses, and why (the message says what to do instead).
REFUSED_TUNING_KEYS: Final = {
    "lambdaARN": "the state machine's definition names the functions to tune",
    "payloadS3": "it would send one payload to every function: give payload per function instead",
    "autoOptimizeAlias": "the workflow applies its joint pick to each function with autoOptimize",
    "dryRun": "one size measured per function leaves nothing to choose from; "
    "the workflow command's plan mode prices a run and starts nothing",
    "architectures": "the workflow sizes memory on each function's own architecture",
    "imageUris": "the workflow sizes memory on each function's own architecture",
}
TUNING_KEYS: Final = tuple(k for k in INPUT_KEYS if k not in WORKFLOW_KEYS and k not in REFUSED_TUNING_KEYS)
ALL_KEYS: Final = WORKFLOW_KEYS + TUNING_KEYS

_NAME = r"[A-Za-z0-9_-]{1,80}"
_REGION = r"(?:[a-z]{2}|us-gov)(?:-[a-z]+)+-\d"
_HEAD = rf"^arn:(?P<partition>aws|aws-cn|aws-us-gov):states:(?P<region>{_REGION}):(?P<account>\d{{12}})"
# A state machine, or a version (":3") or alias (":prod") of one.
STATE_MACHINE_ARN: Final = re.compile(
    rf"{_HEAD}:stateMachine:(?P<name>{_NAME})(?::(?P<qualifier>{_NAME}))?\Z"
)
EXECUTION_ARN: Final = re.compile(rf"{_HEAD}:execution:(?P<name>{_NAME}):(?P<execution>{_NAME})\Z")
FUNCTION_NAME: Final = re.compile(r"^[a-zA-Z0-9_-]{1,64}(?::(?:\$LATEST|[a-zA-Z0-9_-]{1,128}))?\Z")
_PLACEHOLDER_ARN: Final = "arn:aws:lambda:us-east-1:123456789012:function:workflow-function"


def _fail(message: str) -> WorkflowInputError:
    return WorkflowInputError(message)


@dataclass(frozen=True)
class WorkflowRequest:
    """A validated workflow input (see the module's docstring for the keys)."""

    state_machine_arn: str
    max_duration_ms: float
    duration_statistic: str = "average"
    execution_arn: str | None = None
    recent_executions: int | None = None
    # The child tunings' keys, validated by TuningRequest.from_dict (strategy "cost" unless given).
    tuning: Mapping[str, Any] = field(default_factory=dict)
    # Function ARN (as the definition names it) -> payload, overriding the history's.
    payloads: Mapping[str, Any] = field(default_factory=dict)
    auto_optimize: bool = False
    on_error: str = "fail"

    @classmethod
    def from_dict(cls, data: Any) -> WorkflowRequest:
        """Validate an execution input; WorkflowInputError names the key and what is allowed."""
        if not isinstance(data, Mapping):
            raise _fail(f"the workflow input must be a JSON object, got {json.dumps(data)[:200]}")
        _refuse_keys(data)
        state_machine = _state_machine(data.get("stateMachineArn"))
        execution, recent = _executions(data, state_machine)
        target = data.get("maxDurationMs")
        if (
            isinstance(target, bool)
            or not isinstance(target, int | float)
            or not math.isfinite(target)
            or target <= 0
        ):
            raise _fail(
                "maxDurationMs (the end-to-end target) must be a number of milliseconds greater than 0, "
                f"got {json.dumps(target)}"
            )
        statistic = data.get("durationStatistic", "average")
        if statistic not in DURATION_STATISTICS:
            raise _fail(
                f"durationStatistic must be one of {', '.join(DURATION_STATISTICS)}, "
                f"got {json.dumps(statistic)}"
            )
        auto_optimize = data.get("autoOptimize", False)
        if not isinstance(auto_optimize, bool):
            raise _fail(f"autoOptimize must be true or false, got {json.dumps(auto_optimize)}")
        on_error = data.get("onError", "fail")
        if on_error not in ON_ERROR:
            raise _fail(f"onError must be one of {', '.join(ON_ERROR)}, got {json.dumps(on_error)}")
        tuning = {k: data[k] for k in TUNING_KEYS if k in data}
        tuning.setdefault("strategy", "cost")
        _child_rules(tuning)
        _validate_tuning("the tuning keys", tuning)
        payloads = _payloads(data.get("payload", {}), tuning)
        return cls(
            state_machine_arn=state_machine,
            max_duration_ms=float(target),
            duration_statistic=str(statistic),
            execution_arn=execution,
            recent_executions=recent,
            tuning=tuning,
            payloads=payloads,
            auto_optimize=auto_optimize,
            on_error=str(on_error),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form from_dict reads back."""
        out: dict[str, Any] = {"stateMachineArn": self.state_machine_arn}
        if self.execution_arn is not None:
            out["executionArn"] = self.execution_arn
        else:
            out["recentExecutions"] = self.recent_executions or 1
        out["maxDurationMs"] = self.max_duration_ms
        out["durationStatistic"] = self.duration_statistic
        out.update(self.tuning)
        if self.payloads:
            out["payload"] = dict(self.payloads)
        out["autoOptimize"] = self.auto_optimize
        out["onError"] = self.on_error
        return out

    @property
    def executions_wanted(self) -> int:
        """How many executions' histories are read (1 for a named execution)."""
        return 1 if self.execution_arn is not None else self.recent_executions or 1


def _refuse_keys(data: Mapping[str, Any]) -> None:
    for key in data:
        if key in REFUSED_TUNING_KEYS:
            raise _fail(f"{key} is not a workflow input key: {REFUSED_TUNING_KEYS[key]}")
        if key not in ALL_KEYS:
            raise _fail(
                f"unknown workflow input key {key!r}: allowed are {', '.join(WORKFLOW_KEYS)} "
                f"and the tuning keys {', '.join(TUNING_KEYS)}"
            )


def _state_machine(value: Any) -> str:
    if value is None:
        raise _fail(
            "stateMachineArn is required: the ARN of the state machine to tune, such as "
            "arn:aws:states:us-east-1:123456789012:stateMachine:name"
        )
    match = STATE_MACHINE_ARN.match(value) if isinstance(value, str) else None
    if match is None:
        raise _fail(
            "stateMachineArn must be a state machine ARN such as "
            f"arn:aws:states:us-east-1:123456789012:stateMachine:name, got {json.dumps(value)}"
        )
    if partition_of(match["region"]) != match["partition"]:
        raise _fail(
            f"stateMachineArn names region {match['region']}, which is not in partition {match['partition']}"
        )
    return str(value)


def _executions(data: Mapping[str, Any], state_machine: str) -> tuple[str | None, int | None]:
    if "executionArn" in data and "recentExecutions" in data:
        raise _fail("executionArn and recentExecutions are exclusive: give one execution or a count")
    if "executionArn" in data:
        value = data["executionArn"]
        match = EXECUTION_ARN.match(value) if isinstance(value, str) else None
        if match is None:
            raise _fail(
                "executionArn must be an execution ARN such as "
                f"arn:aws:states:us-east-1:123456789012:execution:machine:name, got {json.dumps(value)}"
            )
        machine = STATE_MACHINE_ARN.match(state_machine)
        assert machine is not None  # checked by _state_machine
        where = ("partition", "region", "account", "name")
        if any(match[k] != machine[k] for k in where):
            raise _fail(
                f"executionArn {value} is an execution of another state machine "
                f"(stateMachineArn is {state_machine}): give one of its own executions"
            )
        return str(value), None
    recent = data.get("recentExecutions", 1)
    if isinstance(recent, bool) or not isinstance(recent, int) or not 1 <= recent <= MAX_RECENT_EXECUTIONS:
        raise _fail(
            f"recentExecutions must be an integer from 1 to {MAX_RECENT_EXECUTIONS}, got {json.dumps(recent)}"
        )
    return None, recent


def _child_rules(tuning: Mapping[str, Any]) -> None:
    if tuning.get("sampling") == "adaptive" or tuning.get("powerValues") == AUTO:
        key = "sampling" if tuning.get("sampling") == "adaptive" else "powerValues"
        raise _fail(
            f"{key} {json.dumps(tuning[key])} is not for a workflow: adaptive sampling stops measuring "
            "the sizes that lose alone, and the joint pick may need them; give powerValues as a list"
        )
    if tuning.get("includeOutputResults", True) is not True:
        raise _fail(
            "includeOutputResults must be true (or left out) for a workflow: every child reports "
            f"per-size stats, got {json.dumps(tuning['includeOutputResults'])}"
        )


def _validate_tuning(where: str, data: Mapping[str, Any]) -> TuningRequest:
    try:
        return TuningRequest.from_dict({**data, "lambdaARN": _PLACEHOLDER_ARN})
    except InvalidInputError as exc:
        raise _fail(f"{where}: {exc}") from exc


def _payloads(value: Any, tuning: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(
            "payload must be an object keyed by function ARN or name, each value the payload to measure "
            f'that function with, such as {{"my-function": {{"id": 1}}}}, got {json.dumps(value)[:200]}'
        )
    out: dict[str, Any] = {}
    for key, payload in value.items():
        if not isinstance(key, str) or not (FUNCTION_ARN.match(key) or FUNCTION_NAME.match(key)):
            raise _fail(f"payload keys must be Lambda function ARNs or names, got {json.dumps(key)}")
        _validate_tuning(f"payload for {key}", {**tuning, "payload": payload})
        out[key] = payload
    return out
