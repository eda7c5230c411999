"""What the reader found: the workflow's graph, each distinct function with its current size and the
payloads it received, and the child tuning input for each (one per function, as a fleet's).

Written to S3 by the reader (it may exceed a state's 256 KB), read back by the solver.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from powertuning.workflow.graph import Node, node_from_dict
from powertuning.workflow.request import WorkflowRequest


@dataclass(frozen=True)
class PlannedFunction:
    """One distinct function of the workflow.

    `arn` as the definition names it; `memory_mb` and `architecture` its configuration now;
    `payload` what its child tuning measures with (one payload, or a list of weighted payloads as the
    tuner's `payload` key takes them); `payload_source` "history", "input" or "empty";
    `calls_per_execution` the mean calls one workflow execution makes (Map items and retries included).
    """

    arn: str
    memory_mb: int
    architecture: str
    payload: Any
    payload_source: str
    calls_per_execution: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "memoryMb": self.memory_mb,
            "architecture": self.architecture,
            "payload": self.payload,
            "payloadSource": self.payload_source,
            "callsPerExecution": self.calls_per_execution,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlannedFunction:
        return cls(
            arn=str(data["arn"]),
            memory_mb=int(data["memoryMb"]),
            architecture=str(data["architecture"]),
            payload=data.get("payload"),
            payload_source=str(data["payloadSource"]),
            calls_per_execution=float(data["callsPerExecution"]),
        )


@dataclass(frozen=True)
class WorkflowPlan:
    """The request, the executions read, the graph, the functions and what the history measured.

    `observed_ms` are the end-to-end durations of the executions read; `state_transitions` the mean
    billed state transitions per execution the history showed (Standard workflows bill them).
    """

    request: WorkflowRequest
    executions: tuple[str, ...]
    graph: Node
    functions: tuple[PlannedFunction, ...]
    observed_ms: tuple[float, ...]
    state_transitions: float
    region: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "request": self.request.to_dict(),
            "executions": list(self.executions),
            "graph": self.graph.to_dict(),
            "functions": [f.to_dict() for f in self.functions],
            "observedMs": list(self.observed_ms),
            "stateTransitions": self.state_transitions,
            "region": self.region,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkflowPlan:
        return cls(
            request=WorkflowRequest.from_dict(data["request"]),
            executions=tuple(str(e) for e in data["executions"]),
            graph=node_from_dict(data["graph"]),
            functions=tuple(PlannedFunction.from_dict(f) for f in data["functions"]),
            observed_ms=tuple(float(v) for v in data["observedMs"]),
            state_transitions=float(data["stateTransitions"]),
            region=str(data["region"]),
        )

    def function(self, arn: str) -> PlannedFunction:
        """The planned function of that ARN (KeyError if the workflow does not call it)."""
        for planned in self.functions:
            if planned.arn == arn:
                return planned
        raise KeyError(arn)

    def tuning_input(self, planned: PlannedFunction) -> dict[str, Any]:
        """The child tuning's input: the request's tuning keys, this function and its payload; never
        applied by the child (the joint pick is applied afterwards), always with per-size stats."""
        return {
            **self.request.tuning,
            "lambdaARN": planned.arn,
            "payload": planned.payload,
            "autoOptimize": False,
            "includeOutputResults": True,
        }
