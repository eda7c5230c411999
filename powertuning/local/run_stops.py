"""When one size of a local run fails, its other sizes stop as stopped, not as failed.

On AWS a Map whose iteration fails drops the others and the execution's Cause is that iteration's
error. moto's interpreter lets the other iterations run on (until the cleanup deletes their aliases,
or the engine closes the runtime under them, when they read as the function's own
`Runtime.ExitError ... signal: killed`). So the engine tells `RunStops` of every failed Executor call:
the first failure the state machine does not retry stops the run's other invocations with a reason
naming its size, and a later failure is held until the execution has ended, so that the Cause, the
progress line and the explanation all name the size that failed first.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

EXECUTOR_RESOURCE: Final = "${ExecutorFunctionArn}"
# How long a later failure waits for its execution to end (a run the engine does not wait for, such as
# a fleet's child execution, ends it anyway).
HOLD_S: Final = 10.0


@runtime_checkable
class Stoppable(Protocol):
    """A runtime that can end a function's invocations under way (WorkerRuntime)."""

    def stop(self, reason: str, function_name: str) -> None:
        """End the invocations of `function_name` under way and refuse new ones, with `reason`."""
        ...

    def resume(self, function_name: str) -> None:
        """Run `function_name`'s invocations again (its execution ended)."""
        ...


@dataclass(frozen=True)
class Failure:
    """The size whose failure stopped a run."""

    function_name: str
    memory_mb: int
    error_type: str
    architecture: str | None = None

    @property
    def reason(self) -> str:
        """Why the run's other invocations stopped, in the words they end with."""
        return f"the run stopped because {self.memory_mb} MB failed ({self.error_type})"


def _states(states: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for state in states.values():
        yield state
        for inner in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(inner), Mapping):
                yield from _states(state[inner].get("States", {}))
        for branch in state.get("Branches", []):
            yield from _states(branch.get("States", {}))


def executor_retried_errors(definition: Mapping[str, Any]) -> frozenset[str]:
    """The errors the state machine retries on an Executor call (read from the ASL, not restated)."""
    return frozenset(
        name
        for state in _states(definition.get("States", {}))
        if state.get("Resource") == EXECUTOR_RESOURCE
        for retrier in state.get("Retry", [])
        for name in retrier.get("ErrorEquals", [])
    )


class RunStops:
    """The first failure of each function's run; see the module's docstring."""

    def __init__(self, runtime: object, retried: frozenset[str], *, hold_s: float = HOLD_S) -> None:
        # A runtime without stop() (one whose invocations take no time) has nothing to stop.
        self._runtime = runtime if isinstance(runtime, Stoppable) else None
        self._retried = retried
        self._hold_s = hold_s
        self._lock = threading.Lock()
        self._failures: dict[str, Failure] = {}
        self._ended: dict[str, threading.Event] = {}

    def executor_failed(self, event: str, body: str) -> None:
        """An Executor call (`event`) failed with `body`: stop the run, or hold a later failure."""
        failure = _failure(event, body)
        if failure is None or failure.error_type in self._retried:
            return
        with self._lock:
            ended = self._ended.get(failure.function_name)
            first = ended is None or ended.is_set()
            if first:
                self._failures[failure.function_name] = failure
                self._ended[failure.function_name] = threading.Event()
        if first:
            if self._runtime is not None:
                self._runtime.stop(failure.reason, failure.function_name)
        elif ended is not None:
            ended.wait(self._hold_s)

    def ended(self, function_name: str) -> None:
        """The function's execution ended: release held failures, let its invocations run again."""
        with self._lock:
            ended = self._ended.get(function_name)
        if ended is None or ended.is_set():
            return
        ended.set()
        if self._runtime is not None:
            self._runtime.resume(function_name)

    def end_all(self) -> None:
        """Every execution ended (the engine exits)."""
        with self._lock:
            names = list(self._ended)
        for name in names:
            self.ended(name)

    def failure(self, function_name: str) -> Failure | None:
        """The failure that stopped the function's last stopped run, if one did."""
        with self._lock:
            return self._failures.get(function_name)


def _failure(event: str, body: str) -> Failure | None:
    try:
        item = json.loads(event)["item"]
        error_type = str(json.loads(body)["errorType"])
        function_arn = str(item["run"]["functionArn"])
        memory = int(item["value"])
    except (ValueError, KeyError, TypeError):
        return None
    architecture = item.get("architecture")
    return Failure(
        function_arn.split(":")[6], memory, error_type, str(architecture) if architecture else None
    )
