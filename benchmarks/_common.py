"""Helpers shared by the local-mode benchmarks: machine load, and running one local tuning."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from powertuning.local.cpu import CFS_PERIOD_US
from powertuning.local.engine import ExecutionOutcome, LocalEngine
from powertuning.local.runtime import InvocationRecord, WorkerRuntime

REPO = Path(__file__).resolve().parent.parent


def load_average() -> str:
    """The 1/5/15-minute load averages and the core count, to print beside the figures."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} cores"


@dataclass
class LocalRun:
    """One local execution and what the runtime saw of it."""

    outcome: ExecutionOutcome
    mode: str
    wall_s: float
    records: list[InvocationRecord] = field(default_factory=list)
    ended_at: list[float] = field(default_factory=list)  # time.perf_counter() as each invocation ended


def tune(
    handler_file: Path,
    execution_input: dict[str, Any],
    *,
    cpu_mode: str = "model",
    timeout_s: int = 900,
    cfs_period_us: int = CFS_PERIOD_US,
) -> LocalRun:
    """Run one execution of the real state machine against `handler_file`'s `handler`."""
    records: list[InvocationRecord] = []
    ended_at: list[float] = []

    def seen(record: InvocationRecord) -> None:
        ended_at.append(time.perf_counter())
        records.append(record)

    runtime = WorkerRuntime(cpu_mode, on_invocation=seen, cfs_period_us=cfs_period_us)
    with LocalEngine(runtime) as engine:
        arn = engine.create_target(
            name=handler_file.parent.name,
            handler=f"{handler_file.stem}.handler",
            code_dir=handler_file.parent,
            timeout_s=timeout_s,
        )
        started = time.perf_counter()
        outcome = engine.run({**execution_input, "lambdaARN": arn})
        wall = time.perf_counter() - started
    if outcome.status != "SUCCEEDED":
        raise SystemExit(f"execution {outcome.status}: {outcome.error}: {outcome.cause}")
    return LocalRun(outcome, runtime.mode, wall, records, ended_at)
