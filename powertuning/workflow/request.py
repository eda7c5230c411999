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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

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
        raise NotImplementedError("wfread implements this")

    def to_dict(self) -> dict[str, Any]:
        """The wire form from_dict reads back."""
        raise NotImplementedError("wfread implements this")


def _unused(_: Mapping[str, Any]) -> None:  # pragma: no cover - placeholder removed by wfread
    return None
