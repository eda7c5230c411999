"""The workflow tuner's result: `WorkflowResult` (the execution's output, what the CLI prints) and
`recommend`, which turns the plan and the child tunings into it.

Wire form (camelCase): {met, statistic, maxDurationMs, current: {durationMs, costPerExecution,
observedMs}, recommended: {durationMs, costPerExecution}, functions: [...], criticalPath, fixed,
steps, solver: {method, evaluated, maxGapPct, seconds}, stateTransitions, executions}.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from powertuning.errors import ResultFormatError
from powertuning.output import finite_number
from powertuning.workflow.plan import WorkflowPlan


@dataclass(frozen=True)
class Prediction:
    """The model's end-to-end figures for one assignment of sizes: the statistic's value (ms) and the
    cost of one workflow execution (Lambda + state transitions); `observed_ms` is the same statistic
    over the executions the history showed (current only; None when none was read)."""

    duration_ms: float
    cost_per_execution: float
    observed_ms: float | None = None

    def to_dict(self, *, observed: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"durationMs": self.duration_ms, "costPerExecution": self.cost_per_execution}
        if observed:
            out["observedMs"] = self.observed_ms
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Prediction:
        observed = data.get("observedMs")
        return cls(
            duration_ms=finite_number(data["durationMs"]),
            cost_per_execution=finite_number(data["costPerExecution"]),
            observed_ms=None if observed is None else finite_number(observed),
        )


@dataclass(frozen=True)
class FunctionPick:
    """One function: its size now and the size recommended, the cost of its calls in one workflow
    execution at the recommended size, and its share of the end-to-end time (on the slowest path).

    `tuned` false: its child tuning failed (onError "skip"; `error` says why) and it keeps its size.
    `current_estimate`: "interpolated" or "nearest" when the current size was not among the sizes
    measured and its figures were derived from the measured ones (None: measured).
    """

    function_arn: str
    current_memory: int
    recommended_memory: int
    architecture: str
    cost_per_execution: float
    share_of_time: float
    tuned: bool = True
    error: str | None = None
    current_estimate: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "functionArn": self.function_arn,
            "currentMemory": self.current_memory,
            "recommendedMemory": self.recommended_memory,
            "architecture": self.architecture,
            "costPerExecution": self.cost_per_execution,
            "shareOfTime": self.share_of_time,
            "tuned": self.tuned,
        }
        if self.error is not None:
            out["error"] = self.error
        if self.current_estimate is not None:
            out["currentEstimate"] = self.current_estimate
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FunctionPick:
        return cls(
            function_arn=str(data["functionArn"]),
            current_memory=int(data["currentMemory"]),
            recommended_memory=int(data["recommendedMemory"]),
            architecture=str(data["architecture"]),
            cost_per_execution=finite_number(data["costPerExecution"]),
            share_of_time=finite_number(data["shareOfTime"]),
            tuned=bool(data.get("tuned", True)),
            error=None if data.get("error") is None else str(data["error"]),
            current_estimate=None if data.get("currentEstimate") is None else str(data["currentEstimate"]),
        )


@dataclass(frozen=True)
class FixedState:
    """A state the tuner does not size, with why and its mean observed time per visit."""

    state: str
    reason: str
    ms: float

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "reason": self.reason, "ms": self.ms}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FixedState:
        return cls(str(data["state"]), str(data["reason"]), finite_number(data["ms"]))


@dataclass(frozen=True)
class Step:
    """One named state of the graph, to draw the workflow: its type (graph class name), the function
    and recommended memory of a Task, its share of the end-to-end time, the enclosing named state."""

    state: str
    type: str
    share_of_time: float
    function: str | None = None
    memory: int | None = None
    parent: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state, "type": self.type}
        if self.function is not None:
            out["function"] = self.function
        if self.memory is not None:
            out["memory"] = self.memory
        out["shareOfTime"] = self.share_of_time
        if self.parent is not None:
            out["parent"] = self.parent
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Step:
        return cls(
            state=str(data["state"]),
            type=str(data["type"]),
            share_of_time=finite_number(data["shareOfTime"]),
            function=None if data.get("function") is None else str(data["function"]),
            memory=None if data.get("memory") is None else int(data["memory"]),
            parent=None if data.get("parent") is None else str(data["parent"]),
        )


@dataclass(frozen=True)
class SolverReport:
    """How the sizes were chosen: "exact" (every assignment accounted for) or "bounded" (a search
    stopped early: its pick costs at most `max_gap_pct` % more than the optimum), the assignments
    evaluated and the seconds spent."""

    method: str
    evaluated: int
    max_gap_pct: float
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "evaluated": self.evaluated,
            "maxGapPct": self.max_gap_pct,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SolverReport:
        return cls(
            method=str(data["method"]),
            evaluated=int(data["evaluated"]),
            max_gap_pct=finite_number(data["maxGapPct"]),
            seconds=finite_number(data["seconds"]),
        )


@dataclass(frozen=True)
class WorkflowResult:
    """The workflow tuner's output. `met` false: no assignment meets the target, and the
    recommendation is the one with the lowest statistic."""

    met: bool
    statistic: str
    max_duration_ms: float
    current: Prediction
    recommended: Prediction
    functions: tuple[FunctionPick, ...]
    critical_path: tuple[str, ...]
    fixed: tuple[FixedState, ...]
    steps: tuple[Step, ...]
    solver: SolverReport
    state_transitions: float
    executions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The wire form (the execution's output)."""
        return {
            "met": self.met,
            "statistic": self.statistic,
            "maxDurationMs": self.max_duration_ms,
            "current": self.current.to_dict(observed=True),
            "recommended": self.recommended.to_dict(observed=False),
            "functions": [f.to_dict() for f in self.functions],
            "criticalPath": list(self.critical_path),
            "fixed": [f.to_dict() for f in self.fixed],
            "steps": [s.to_dict() for s in self.steps],
            "solver": self.solver.to_dict(),
            "stateTransitions": self.state_transitions,
            "executions": list(self.executions),
        }

    @classmethod
    def from_dict(cls, data: Any) -> WorkflowResult:
        """Parse the wire form (ResultFormatError naming what is wrong: saved files get edited)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("met"), bool):
            raise ResultFormatError("a workflow result is a JSON object with met true or false")
        try:
            return cls(
                met=data["met"],
                statistic=str(data["statistic"]),
                max_duration_ms=finite_number(data["maxDurationMs"]),
                current=Prediction.from_dict(data["current"]),
                recommended=Prediction.from_dict(data["recommended"]),
                functions=tuple(FunctionPick.from_dict(f) for f in data["functions"]),
                critical_path=tuple(str(s) for s in data["criticalPath"]),
                fixed=tuple(FixedState.from_dict(f) for f in data["fixed"]),
                steps=tuple(Step.from_dict(s) for s in data["steps"]),
                solver=SolverReport.from_dict(data["solver"]),
                state_transitions=finite_number(data["stateTransitions"]),
                executions=tuple(str(e) for e in data["executions"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ResultFormatError(f"malformed workflow result: {exc!r}") from exc


def recommend(
    plan: WorkflowPlan,
    tunings: Mapping[str, Mapping[str, Any]],
    failures: Mapping[str, str],
    *,
    seed: int = 0,
) -> WorkflowResult:
    """One size per function, chosen jointly: the cheapest workflow execution whose end-to-end
    statistic is within the plan's target (see the module docstring and docs/workflow.md).

    `tunings`: function ARN (as plan.functions names it) -> its child tuning's output (with `stats`);
    `failures`: function ARN -> "Error: cause" of a child that failed. onError "fail" with any
    failure raises WorkflowTuningError naming them; "skip": that function keeps its size and the
    time the history showed for it (listed as not tuned).
    """
    raise NotImplementedError("in progress on branch wfsolve: the signature is final")
