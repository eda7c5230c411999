"""Live progress of a tuning execution, told from its Step Functions history events.

One line per step, so it reads the same in a terminal and in a CI log: which states are done,
which memory sizes are being measured, what each measured size gave. Works with events from
boto3's GetExecutionHistory and with `LocalEngine.wait(on_event=...)`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TextIO

from powertuning.report.units import ms, usd_per_invocation


def _json(text: Any) -> Any:
    # Real AWS truncates large state inputs and outputs in history events; progress then says less.
    try:
        return json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        return None


def _message(cause: Any) -> str:
    body = _json(cause)
    if isinstance(body, dict) and "errorMessage" in body:
        return str(body["errorMessage"])
    return str(cause or "")


class Progress:
    """Writes a line to `stream` for each history event worth telling."""

    def __init__(self, stream: TextIO, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.clock = clock
        self.started = clock()
        self.sizes: list[int] = []
        self.measuring: set[int] = set()
        self.measured: set[int] = set()
        self._state_of: dict[int, str] = {}  # event id -> name of the state it belongs to

    def __call__(self, event: dict[str, Any]) -> None:
        """Handle one history event."""
        event_id, previous = int(event.get("id", 0)), int(event.get("previousEventId", 0))
        details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails") or {}
        name = details.get("name") or self._state_of.get(previous, "")
        self._state_of[event_id] = name
        handler = getattr(self, f"_on_{event.get('type', '')}", None)
        if handler is not None:
            handler(name, event)

    def say(self, text: str) -> None:
        """Write one progress line, prefixed by the time since the execution started."""
        self.stream.write(f"[{self.clock() - self.started:7.1f}s] {text}\n")
        self.stream.flush()

    # -- events ------------------------------------------------------------------------------
    def _on_ExecutionStarted(self, _name: str, _event: dict[str, Any]) -> None:  # noqa: N802
        self.say("execution started")

    def _on_TaskStateEntered(self, name: str, event: dict[str, Any]) -> None:  # noqa: N802
        if name == "Executor":
            value = (_json(event["stateEnteredEventDetails"].get("input")) or {}).get("value")
            if isinstance(value, int):
                self.measuring.add(value)
                self.say(f"Executor    measuring {value} MB")
        elif name == "CleanUpOnError":
            self.say("tuning failed: cleaning up what this run created")

    def _on_TaskStateExited(self, name: str, event: dict[str, Any]) -> None:  # noqa: N802
        output = _json(event["stateExitedEventDetails"].get("output"))
        state = output if isinstance(output, dict) else {}
        if name == "Initializer":
            self.sizes = [int(v) for v in (state.get("run") or {}).get("powerValues", [])]
            listed = ", ".join(str(v) for v in self.sizes)
            self.say(f"Initializer done: {len(self.sizes)} memory sizes to test ({listed} MB)")
        elif name == "Publisher":
            publish = state.get("publish") or {}
            sizes = publish.get("powerValues") or []
            index = int(publish.get("index", 0))
            last = sizes[index - 1] if 0 < index <= len(sizes) else "?"
            self.say(f"Publisher   done: {last} MB published ({index}/{len(sizes)})")
        elif name == "Executor":
            progress = state.get("progress") or {}
            if progress.get("done"):
                self._measured(progress.get("result") or {})
        elif name == "Cleaner":
            self.say("Cleaner     done: aliases and versions of this run deleted, $LATEST restored")
        elif name == "Analyzer":
            power = (state.get("analysis") or {}).get("power")
            self.say(f"Analyzer    done: recommends {power} MB")
        elif name == "Optimizer":
            self.say("Optimizer   done")

    def _measured(self, result: dict[str, Any]) -> None:
        value = result.get("value")
        if not isinstance(value, int):
            return
        self.measuring.discard(value)
        self.measured.add(value)
        if result.get("skipped"):
            text = f"{value} MB skipped: {result.get('reason', '')}"
        else:
            text = (
                f"{value} MB measured: {ms(float(result.get('averageDuration', 0.0)))} average, "
                f"{usd_per_invocation(float(result.get('averagePrice', 0.0)))} per invocation, "
                f"{result.get('invocations', '?')} invocations"
            )
        total = len(self.sizes) or len(self.measured | self.measuring)
        still = ", ".join(str(v) for v in sorted(self.measuring))
        tail = f"; still measuring {still} MB" if still else ""
        self.say(f"Executor    {text} [{len(self.measured)}/{total}{tail}]")

    def _on_LambdaFunctionFailed(self, name: str, event: dict[str, Any]) -> None:  # noqa: N802
        details = event.get("lambdaFunctionFailedEventDetails") or {}
        self.say(f"{name or 'task'} failed: {details.get('error', '')}: {_message(details.get('cause'))}")

    def _on_LambdaFunctionTimedOut(self, name: str, _event: dict[str, Any]) -> None:  # noqa: N802
        self.say(f"{name or 'task'} timed out")

    def _on_ExecutionSucceeded(self, _name: str, _event: dict[str, Any]) -> None:  # noqa: N802
        self.say("execution succeeded")

    def _on_ExecutionFailed(self, _name: str, _event: dict[str, Any]) -> None:  # noqa: N802
        self.say("execution failed")

    def _on_ExecutionTimedOut(self, _name: str, _event: dict[str, Any]) -> None:  # noqa: N802
        self.say("execution timed out")

    def _on_ExecutionAborted(self, _name: str, _event: dict[str, Any]) -> None:  # noqa: N802
        self.say("execution aborted")
