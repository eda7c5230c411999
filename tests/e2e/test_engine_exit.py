"""The local engine leaves no execution running behind it when it exits mid-run (Ctrl-C, SIGTERM).

moto's interpreter runs each execution in daemon threads. One that outlived the mock would send its
next call to AWS itself, with whatever credentials the machine has (a CI run once printed such a
call's connection error after `powertune: interrupted`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from powertuning.local.engine import LocalEngine
from powertuning.local.simulated import SimulatedRuntime, cpu_bound
from powertuning.local.target import FunctionSpec, InvokeResult


@dataclass
class _Slow(SimulatedRuntime):
    """Each invocation takes real time, so that an execution is still running when the engine exits."""

    def invoke(self, spec: FunctionSpec, event: str) -> InvokeResult:
        time.sleep(0.02)
        return super().invoke(spec, event)


def _interpreter_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.endswith("(eval)") and t.is_alive()]


def test_exiting_mid_run_stops_the_execution_and_leaves_no_interpreter_thread() -> None:
    # GIVEN an execution that measures for a while
    runtime = _Slow(cpu_bound(100.0))
    engine = LocalEngine(runtime).__enter__()
    try:
        arn = engine.create_target(name="slow", handler="app.handler", code_dir=None, memory_mb=1024)
        engine.start({"lambdaARN": arn, "powerValues": [128, 256, 512, 1024], "num": 50})
        deadline = time.monotonic() + 60
        while not runtime.calls and time.monotonic() < deadline:
            time.sleep(0.01)
        assert runtime.calls, "the execution never invoked the target"
        assert _interpreter_threads(), "the execution ended before the engine exited: nothing is tested"
    finally:
        # WHEN the engine exits while it runs (as on an interrupt)
        engine.__exit__(KeyboardInterrupt, KeyboardInterrupt(), None)
    # THEN no interpreter thread is left, and the target is invoked no more
    assert _interpreter_threads() == []
    invoked = len(runtime.calls)
    time.sleep(0.2)
    assert len(runtime.calls) == invoked
