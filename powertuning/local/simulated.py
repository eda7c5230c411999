"""A runtime that answers from a duration model instead of running code: fast, deterministic.

Used by the end-to-end tests, the CLI tests and simulations: the state machine, the tuner handlers
and moto all run for real; only the target function's work is replaced by a modelled duration.
"""

from __future__ import annotations

import json
import math
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from powertuning.local.target import FunctionSpec, InvokeResult

DurationModel = Callable[[int, int], float]


def cpu_bound(work_ms_at_1769: float, floor_ms: float = 1.0) -> DurationModel:
    """Duration of CPU-bound work: inversely proportional to CPU share, flat past one vCPU."""

    def model(memory_mb: int, _i: int) -> float:
        return max(floor_ms, work_ms_at_1769 * 1769 / min(memory_mb, 1769))

    return model


def report_line(
    request_id: str, duration_ms: float, memory_mb: int, max_used_mb: int, init_ms: float = 0.0
) -> str:
    """A REPORT line in Lambda's text format."""
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {math.ceil(duration_ms + init_ms)} ms\tMemory Size: {memory_mb} MB\t"
        f"Max Memory Used: {max_used_mb} MB\t"
    )
    if init_ms:
        line += f"Init Duration: {init_ms:.2f} ms\t"
    return line


@dataclass
class SimulatedRuntime:
    """Answers every invocation with `model(memory, n)` ms; fails below `min_memory_mb` like OOM."""

    model: DurationModel
    min_memory_mb: int = 0
    init_ms: float = 0.0
    fail_with: dict[int, tuple[str, str]] = field(default_factory=dict)
    # Per architecture (input `architectures`): its own duration model, or an error every call raises
    # there (a native dependency built for the other architecture).
    by_architecture: dict[str, DurationModel] = field(default_factory=dict)
    fail_on_architecture: dict[str, tuple[str, str]] = field(default_factory=dict)
    mode: str = "simulated"
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _warm: set[tuple[str, str, int]] = field(default_factory=set)

    def invoke(self, spec: FunctionSpec, event: str) -> InvokeResult:
        """Model one invocation of `spec`."""
        request_id = str(uuid.uuid4())
        with self._lock:
            n = len(self.calls)
            self.calls.append((spec.function_name, spec.version, spec.memory_mb))
            cold = spec.environment_key not in self._warm
            self._warm.add(spec.environment_key)
        init = self.init_ms if cold else 0.0
        if spec.memory_mb < self.min_memory_mb:
            body = {
                "errorType": "Runtime.OutOfMemory",
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
            }
            report = report_line(request_id, 50.0, spec.memory_mb, spec.memory_mb, init)
            return InvokeResult(json.dumps(body), True, report)
        failure = self.fail_with.get(spec.memory_mb) or self.fail_on_architecture.get(spec.architecture)
        if failure:
            error_type, message = failure
            body = {"errorType": error_type, "errorMessage": message}
            return InvokeResult(
                json.dumps(body), True, report_line(request_id, 5.0, spec.memory_mb, 60, init)
            )
        duration = self.by_architecture.get(spec.architecture, self.model)(spec.memory_mb, n)
        logs = f"START RequestId: {request_id}\n" + report_line(
            request_id, duration, spec.memory_mb, 60, init
        )
        return InvokeResult(json.dumps({"echo": json.loads(event or "null")}), False, logs)

    def close(self) -> None:
        """Nothing to release."""
