"""Live progress of a tuning execution, told from its Step Functions history events.

Events are recognised by what they carry, not by state names, so a state machine whose states are
renamed or rearranged is still followed: a Task state entered with a memory size (`value`) and the
run (`run`) is a measurement starting; one exited with a finished `progress` (its `result` holding
`averageDuration` or `skipped`) is a size measured; an output whose `adaptive.decisions` grew is an
adaptive round decided (sizes dropped, sizes left); a larger `publish.index` is a size published;
a new `analysis` is the recommendation; a Task entered with `error` in its input is the cleanup after
a failure. Any other Task state is told as "<name> done".

Where stderr is a terminal, a progress bar counts invocations with an ETA (an upper bound with
adaptive sampling, whose race can end early) and the lines are printed above it; elsewhere (CI
logs, pipes) the same lines are written one by one with the time since the start. Works with events
from boto3's GetExecutionHistory and with `LocalEngine.wait(on_event=...)`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from powertuning import samples
from powertuning.cli import console
from powertuning.report.units import ms, usd_per_invocation

# The Initializer's default `num` (README "Execution input"), for an input that leaves it out.
_DEFAULT_NUM = 10
_TERMINAL = ("ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted")


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


def _mb(values: Any) -> str:
    return ", ".join(str(v) for v in sorted(values)) + " MB"


class _Lines:
    """Plain lines, each prefixed by the seconds since the start: for CI logs and pipes."""

    def __init__(self, stream: TextIO, clock: Callable[[], float], started: float) -> None:
        self.stream, self.clock, self.started = stream, clock, started

    def note(self, text: str) -> None:
        self.stream.write(f"[{self.clock() - self.started:7.1f}s] {text}\n")
        self.stream.flush()

    def update(self, done: int, total: int | None, description: str) -> None:
        """Plain lines have no bar."""

    def close(self) -> None:
        """Nothing to stop."""


class _Bar:
    """A rich progress bar of invocations with an ETA, the lines printed above it."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        # Only made for a terminal (see console.is_interactive); rich reads NO_COLOR itself, and
        # highlight=False keeps numbers in the lines uncoloured too.
        self.console = Console(file=stream, force_terminal=True, highlight=False)
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("invocations"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.task = self.bar.add_task("starting", total=None)
        self.closed = False
        self.bar.start()
        console.track(self)

    def note(self, text: str) -> None:
        self.console.print(text, markup=False)

    def update(self, done: int, total: int | None, description: str) -> None:
        self.bar.update(self.task, completed=done, total=total, description=description)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.bar.stop()


class Progress:
    """Tells each history event worth telling: as lines, and on a terminal with a progress bar.

    `quiet` (default: `--quiet`) silences it; `interactive` (default: whether `stream` is a
    terminal) chooses the bar. Use it as a context manager, or call `close()`, to stop the bar.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        clock: Callable[[], float] = time.monotonic,
        quiet: bool | None = None,
        interactive: bool | None = None,
    ) -> None:
        self.stream = stream
        self.clock = clock
        self.started = clock()
        self.quiet = console.settings().quiet if quiet is None else quiet
        self.interactive = console.is_interactive(stream) if interactive is None else interactive
        self.sizes: list[int] = []
        self.measuring: set[int] = set()
        self.measured: set[int] = set()
        self.per_size = _DEFAULT_NUM
        self.invocations = 0
        self.total: int | None = None
        self.phase = "starting"
        self.adaptive: dict[str, Any] | None = None
        self._state_of: dict[int, str] = {}  # event id -> name of the state it belongs to
        self._published = 0
        self._decisions = 0
        self._analysed = False
        self._cleaning_up = False
        self._view: _Lines | _Bar | None = None
        self._live_invocations = 0
        self._lock = threading.RLock()

    # -- output --------------------------------------------------------------------------------
    def _get_view(self) -> _Lines | _Bar:
        if self._view is None:
            self._view = _Lines(self.stream, self.clock, self.started)
            if self.interactive:
                try:
                    self._view = _Bar(self.stream)
                except ImportError:
                    hint = console.install_hint("rich")
                    self._view.note(f"(plain progress lines: for a progress bar, {hint})")
        return self._view

    def say(self, text: str) -> None:
        """Write one progress line (above the bar on a terminal); nothing with --quiet."""
        if self.quiet or console.settings().interrupted:
            return
        with self._lock:
            self._get_view().note(text)

    def invocation_done(self) -> None:
        """Count one invocation as it ends, for a runtime that reports them (the local one).

        History events tell a size's invocations only when the size is done; this moves the bar
        (and its ETA) on between them. Safe to call from the runtime's threads.
        """
        with self._lock:
            self._live_invocations += 1
        self._refresh()

    def _refresh(self) -> None:
        if self.quiet or not self.interactive:
            return
        with self._lock:
            done = max(self.invocations, self._live_invocations)
            total = max(self.total, done) if self.total is not None else None
            self._get_view().update(done, total, self.phase)

    def close(self) -> None:
        """Stop the bar (idempotent); lines written so far stay."""
        with self._lock:
            if self._view is not None:
                self._view.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- events --------------------------------------------------------------------------------
    def __call__(self, event: dict[str, Any]) -> None:
        """Handle one history event."""
        kind = str(event.get("type", ""))
        event_id, previous = int(event.get("id", 0)), int(event.get("previousEventId", 0))
        details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails") or {}
        name = str(details.get("name") or self._state_of.get(previous, ""))
        self._state_of[event_id] = name
        if kind == "ExecutionStarted":
            self.say("execution started")
        elif kind == "TaskStateEntered":
            self._entered(name, _json(details.get("input")))
        elif kind.endswith("StateExited"):
            self._exited(name, kind, _json(details.get("output")))
        elif kind in ("LambdaFunctionFailed", "TaskFailed"):
            failed = (
                event.get("lambdaFunctionFailedEventDetails") or event.get("taskFailedEventDetails") or {}
            )
            self.say(f"{name or 'task'} failed: {failed.get('error', '')}: {_message(failed.get('cause'))}")
        elif kind in ("LambdaFunctionTimedOut", "TaskTimedOut"):
            self.say(f"{name or 'task'} timed out")
        elif kind in _TERMINAL:
            if kind == "ExecutionSucceeded" and self.total is not None:
                self.total = self.invocations  # an adaptive race ends below its cap
            self.phase = kind.removeprefix("Execution").lower()
            self._refresh()
            self.close()
            self.say(f"execution {kind.removeprefix('Execution').lower().replace('timedout', 'timed out')}")
        self._refresh()

    def _entered(self, name: str, state: Any) -> None:
        if not isinstance(state, dict):
            return
        value = state.get("value")
        if isinstance(value, int) and isinstance(state.get("run"), dict) and not state.get("progress"):
            # A measurement starts: the Map's item selector hands a size, the request and the run.
            self.measuring.add(value)
            if self.adaptive is None:
                self.phase = f"measuring {len(self.measuring)} sizes"
                self.say(f"{name:<11} measuring {value} MB")
        elif "error" in state and not self._cleaning_up:
            self._cleaning_up = True
            self.phase = "cleaning up"
            self.say("tuning failed: cleaning up what this run created")

    def _exited(self, name: str, kind: str, state: Any) -> None:
        if not isinstance(state, dict):
            # A truncated or unreadable output: still say which state finished.
            if kind == "TaskStateExited":
                self.say(f"{name:<11} done")
            return
        told = False
        progress = state.get("progress")
        if isinstance(progress, dict) and isinstance(state.get("value"), int):
            if kind != "TaskStateExited":
                return  # the Choice after an Executor call carries the same state: told once
            # An Executor call: a size measured once its progress is done, else more calls follow.
            result = progress.get("result")
            if progress.get("done") and isinstance(result, dict):
                self._measured(name, result)
            return
        if not self.sizes:
            request = state.get("request")
            if isinstance(request, dict) and isinstance(request.get("num"), int):
                self.per_size = request["num"]
            told = self._initialized(name, state)
        told = self._published_size(name, state) or told
        told = self._adaptive_round(name, state) or told
        analysis = state.get("analysis")
        if isinstance(analysis, dict) and not self._analysed:
            self._analysed = True
            self.phase = "analysed"
            self.say(f"{name:<11} done: recommends {analysis.get('power')} MB")
            told = True
        if not told and kind == "TaskStateExited":
            if name == "Cleaner":
                self.say("Cleaner     done: aliases and versions of this run deleted, $LATEST restored")
            else:
                self.say(f"{name:<11} done")

    def _initialized(self, name: str, state: Mapping[str, Any]) -> bool:
        config = state.get("run")
        if not isinstance(config, dict):
            return False
        self.sizes = [int(v) for v in config.get("powerValues", []) if isinstance(v, int)]
        self.total = len(self.sizes) * self.per_size or None
        self.phase = "publishing"
        self.say(f"{name:<11} done: {len(self.sizes)} memory sizes to test ({_mb(self.sizes)})")
        return True

    def _published_size(self, name: str, state: Mapping[str, Any]) -> bool:
        publish = state.get("publish")
        index = publish.get("index") if isinstance(publish, dict) else None
        if not isinstance(index, int) or index <= self._published:
            return False
        self._published = index
        # "auto" sizes are added to the Publisher's list as the race goes on.
        sizes = [int(v) for v in (publish or {}).get("powerValues", []) if isinstance(v, int)]
        if len(sizes) > len(self.sizes):
            self.sizes = sizes
        last = sizes[index - 1] if 0 < index <= len(sizes) else "?"
        self.phase = f"publishing {index}/{len(sizes)}"
        self.say(f"{name:<11} done: {last} MB published ({index}/{len(sizes)})")
        return True

    def _adaptive_round(self, name: str, state: Mapping[str, Any]) -> bool:
        race = state.get("adaptive")
        if not isinstance(race, dict) or int(race.get("decisions", 0)) <= self._decisions:
            return False
        self._decisions = int(race.get("decisions", 0))
        previous = self.adaptive
        self.adaptive = race
        # Merged samples carry a weight (powertuning/samples.py): count invocations, not entries.
        counts = {
            int(s["value"]): samples.count([samples.parse(x) for x in s.get("samples", [])])
            for s in race.get("sizes", [])
            if "value" in s
        }
        candidates = [int(v) for v in race.get("candidates", [])]
        dropped = sorted(set(race.get("eliminated", [])) - set((previous or {}).get("eliminated", [])))
        skipped = sorted(
            set(race.get("skippedByModel", [])) - set((previous or {}).get("skippedByModel", []))
        )
        self.invocations = sum(counts.values())
        # What is left at most: every size still in the race (or held back) measured up to `num`.
        waiting = [*candidates, *(int(v) for v in race.get("reserve", []))]
        self.total = self.invocations + sum(max(0, self.per_size - counts.get(v, 0)) for v in waiting)
        rounds = int(race.get("rounds", 0))
        parts = []
        if dropped:
            parts.append(f"dropped {_mb(dropped)} (cannot win by more than the tolerance)")
        if skipped:
            parts.append(
                f"not measuring {_mb(skipped)} (the model of the measured sizes shows them clearly worse)"
            )
        if race.get("done"):
            reason = f" ({race['reason']})" if race.get("reason") else ""
            self.phase = "race over"
            parts.append(f"race over after {rounds} rounds{reason}: {_mb(candidates)} left")
        else:
            batch = race.get("batch") or []
            each = sorted({int(b.get("count", 0)) for b in batch if isinstance(b, dict)})
            per = f", {'/'.join(str(n) for n in each)} invocations each" if each else ""
            self.phase = f"round {rounds + 1} · {len(candidates)} sizes left"
            parts.append(f"round {rounds + 1} next: {len(candidates)} sizes left ({_mb(candidates)}){per}")
            if race.get("pending"):
                parts.append(f"new sizes to publish: {_mb(race['pending'])}")
        self.say(f"{name:<11} " + "; ".join(parts))
        self.measuring.clear()
        return True

    def _measured(self, name: str, result: dict[str, Any]) -> None:
        value = int(result["value"])
        self.measuring.discard(value)
        if self.adaptive is not None:
            # One batch of a round: the round's decision line says what it meant.
            count = result.get("invocations")
            self.invocations += count if isinstance(count, int) else 0
            return
        self.measured.add(value)
        count = result.get("invocations")
        self.invocations += count if isinstance(count, int) and not result.get("skipped") else self.per_size
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
        self.phase = f"measured {len(self.measured)}/{total} sizes"
        self.say(f"{name:<11} {text} [{len(self.measured)}/{total}{tail}]")
