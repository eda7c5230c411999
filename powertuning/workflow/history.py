"""What executions' histories show, per state: visits and their times, Lambda calls (retries included)
and the payloads they sent, Map item counts, which state followed which (Choice frequencies, Catch
transitions), child executions, the end-to-end duration and the state transitions billed.

Events are GetExecutionHistory's `HistoryEvent`s as AWS documents them (`id`, `previousEventId`,
`timestamp`, `type` and the `<type>EventDetails` of that type). Events of parallel branches and Map
iterations interleave, so nothing here pairs events by order: each event is tied to the state visit
it belongs to by following `previousEventId` back to the nearest `*StateEntered` (an exit to the
entry of the same name, which for a Parallel or Map state lies behind its branches' events).

Payloads: a direct-ARN Lambda task's is `LambdaFunctionScheduled`'s `input`; a `lambda:invoke`
task's is the `Payload` of `TaskScheduled`'s `parameters` (absent: the function received `{}`).
A history read without execution data (`includeExecutionData` false, or a state machine whose data
the reader may not decrypt) has neither field: such a call counts as `unlogged`, and one whose data
says `truncated` counts as `truncated`; neither is ever used as a payload.

Transitions billed: one per state entered, plus one per retry (Step Functions bills retries as
transitions).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from powertuning import payloads as payload_rules
from powertuning.errors import WorkflowModelError

# Payloads a child tuning is given at most: its own input must stay far below a state's 256 KB.
MAX_PAYLOAD_BYTES: Final = 64 * 1024
_CALL_ENDS: Final = {
    "LambdaFunctionSucceeded",
    "LambdaFunctionFailed",
    "LambdaFunctionTimedOut",
    "TaskSucceeded",
    "TaskFailed",
    "TaskTimedOut",
}


@dataclass
class StateStats:
    """One state's observations (summed over the visits and executions read)."""

    visits: int = 0
    times_ms: list[float] = field(default_factory=list)
    calls: int = 0
    call_ms: list[float] = field(default_factory=list)
    # Canonical JSON of each payload sent -> how many calls sent it.
    payloads: Counter[str] = field(default_factory=Counter)
    unlogged: int = 0
    truncated: int = 0
    # The functions the calls named (FunctionName or the direct ARN).
    functions: Counter[str] = field(default_factory=Counter)
    # The state entered right after each exit of this one (in its own branch or iteration).
    next: Counter[str] = field(default_factory=Counter)
    # The state whose exit led to each visit (None: the first state of its branch or workflow).
    prev: Counter[str | None] = field(default_factory=Counter)
    items: Counter[int] = field(default_factory=Counter)
    children: list[str] = field(default_factory=list)
    map_runs: list[str] = field(default_factory=list)
    # Most iterations of one visit of a Map state seen running at once.
    concurrency: int = 0

    def merge(self, other: StateStats) -> None:
        """Add another execution's observations of the same state."""
        self.visits += other.visits
        self.times_ms += other.times_ms
        self.calls += other.calls
        self.call_ms += other.call_ms
        self.payloads.update(other.payloads)
        self.unlogged += other.unlogged
        self.truncated += other.truncated
        self.functions.update(other.functions)
        self.next.update(other.next)
        self.prev.update(other.prev)
        self.items.update(other.items)
        self.children += other.children
        self.map_runs += other.map_runs
        self.concurrency = max(self.concurrency, other.concurrency)

    @property
    def mean_ms(self) -> float:
        """Mean time per visit (0 without one)."""
        return sum(self.times_ms) / len(self.times_ms) if self.times_ms else 0.0


@dataclass(frozen=True)
class Observations:
    """What one or more executions showed. `runs` holds each execution's own per-state stats
    (loops draw their iteration counts from them); `bodies` the observations of a Distributed Map's
    child executions, by Map state name (the reader adds them; a Map without one uses these)."""

    states: Mapping[str, StateStats]
    durations_ms: tuple[float, ...]
    transitions: tuple[int, ...]
    runs: tuple[Mapping[str, StateStats], ...] = ()
    bodies: Mapping[str, Observations] = field(default_factory=dict)

    @property
    def executions(self) -> int:
        """How many executions were read."""
        return len(self.durations_ms)

    def stats(self, name: str) -> StateStats:
        """The state's stats (empty if it was never entered)."""
        return self.states.get(name) or StateStats()

    def body(self, name: str) -> Observations:
        """Observations for a Map state's item processor: its child executions', else these."""
        return self.bodies.get(name, self)

    def with_bodies(self, bodies: Mapping[str, Observations]) -> Observations:
        """These observations with Distributed Map child executions' added."""
        return Observations(
            self.states, self.durations_ms, self.transitions, self.runs, {**self.bodies, **bodies}
        )

    @property
    def mean_transitions(self) -> float:
        """Mean billed state transitions per execution."""
        return sum(self.transitions) / len(self.transitions) if self.transitions else 0.0


def _ms(stamp: Any) -> float:
    """A history timestamp (a datetime from boto3, epoch seconds, or ISO 8601 text) in ms."""
    if isinstance(stamp, datetime):
        return stamp.timestamp() * 1000.0
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        return float(stamp) * 1000.0
    if isinstance(stamp, str):
        try:
            return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000.0
        except ValueError:
            pass
    raise WorkflowModelError(f"a history event has no readable timestamp: {stamp!r:.60}")


def _details(event: Mapping[str, Any]) -> Mapping[str, Any]:
    kind = str(event.get("type", ""))
    key = kind[:1].lower() + kind[1:] + "EventDetails"
    if kind.endswith("StateEntered"):
        key = "stateEnteredEventDetails"
    elif kind.endswith("StateExited"):
        key = "stateExitedEventDetails"
    details = event.get(key)
    return details if isinstance(details, Mapping) else {}


def canonical(payload: Any) -> str:
    """One text per JSON value (identical payloads merge)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class _History:
    """One execution's events, indexed for walking `previousEventId` back."""

    def __init__(self, events: Iterable[Mapping[str, Any]]) -> None:
        self.events = sorted(events, key=lambda e: int(e["id"]))
        self.by_id = {int(e["id"]): e for e in self.events}
        self.after: dict[int, list[Mapping[str, Any]]] = {}
        for event in self.events:
            self.after.setdefault(int(event.get("previousEventId") or 0), []).append(event)
        self._owner: dict[int, Mapping[str, Any] | None] = {}

    def previous(self, event: Mapping[str, Any]) -> Mapping[str, Any] | None:
        prev = int(event.get("previousEventId") or 0)
        return self.by_id.get(prev) if prev < int(event["id"]) else None

    def owner(self, event: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The `*StateEntered` event of the visit an event belongs to."""
        path: list[int] = []
        current: Mapping[str, Any] | None = self.previous(event)
        found: Mapping[str, Any] | None = None
        while current is not None:
            ident = int(current["id"])
            if ident in self._owner:
                found = self._owner[ident]
                break
            path.append(ident)
            if str(current["type"]).endswith("StateEntered"):
                found = current
                break
            current = self.previous(current)
        for ident in path:
            self._owner[ident] = found
        return found

    def entry_of(self, exit_event: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
        """The entry of the visit an exit ends: the nearest `*StateEntered` of that name behind it."""
        current = self.previous(exit_event)
        while current is not None:
            if str(current["type"]).endswith("StateEntered") and _details(current).get("name") == name:
                return current
            current = self.previous(current)
        return None


def _payload_of(event: Mapping[str, Any]) -> tuple[str, Any]:
    """("ok", payload), ("unlogged", None) or ("truncated", None) for a Lambda call's scheduling."""
    details = _details(event)
    if event["type"] == "LambdaFunctionScheduled":
        if (details.get("inputDetails") or {}).get("truncated"):
            return "truncated", None
        if "input" not in details:
            return "unlogged", None
        text = details["input"]
    else:
        if "parameters" not in details:
            return "unlogged", None
        try:
            parameters = json.loads(details["parameters"])
        except (TypeError, ValueError):
            return "truncated", None
        return "ok", parameters.get("Payload", payload_rules.no_payload())
    try:
        return "ok", json.loads(text)
    except (TypeError, ValueError):
        return "truncated", None


def _function_of(event: Mapping[str, Any]) -> str | None:
    details = _details(event)
    if event["type"] == "LambdaFunctionScheduled":
        return str(details.get("resource")) if details.get("resource") else None
    try:
        name = json.loads(details.get("parameters") or "{}").get("FunctionName")
    except (TypeError, ValueError, AttributeError):
        return None
    return str(name) if name else None


def _is_lambda_call(event: Mapping[str, Any]) -> bool:
    if event["type"] == "LambdaFunctionScheduled":
        return True
    return event["type"] == "TaskScheduled" and _details(event).get("resourceType") == "lambda"


def _child_execution(event: Mapping[str, Any]) -> str | None:
    """The child execution a `states:startExecution` task started (its TaskSucceeded output)."""
    details = _details(event)
    if details.get("resourceType") != "states" or not str(details.get("resource", "")).startswith(
        "startExecution"
    ):
        return None
    try:
        output = json.loads(details.get("output") or "{}")
    except (TypeError, ValueError):
        return None
    arn = output.get("ExecutionArn") if isinstance(output, Mapping) else None
    return str(arn) if arn else None


def read_history(events: Sequence[Mapping[str, Any]]) -> Observations:
    """One execution's observations from its events (any order, all pages)."""
    history = _History(events)
    states: dict[str, StateStats] = {}
    started = finished = None
    entered = retries = 0
    call_started: dict[int, float] = {}
    iterations: dict[int, list[tuple[float, float]]] = {}
    iteration_start: dict[tuple[int, int], float] = {}

    def stats_of(event: Mapping[str, Any] | None) -> StateStats | None:
        name = _details(event).get("name") if event is not None else None
        return states.setdefault(str(name), StateStats()) if name else None

    for event in history.events:
        kind = str(event["type"])
        details = _details(event)
        if kind == "ExecutionStarted":
            started = _ms(event["timestamp"])
        elif kind == "ExecutionSucceeded":
            finished = _ms(event["timestamp"])
        elif kind.endswith("StateEntered"):
            entered += 1
            stats = stats_of(event)
            assert stats is not None
            stats.visits += 1
            before = history.previous(event)
            came_from = None
            if before is not None and str(before["type"]).endswith("StateExited"):
                came_from = str(_details(before).get("name"))
            stats.prev[came_from] += 1
        elif kind.endswith("StateExited"):
            name = str(details.get("name"))
            entry = history.entry_of(event, name)
            stats = states.setdefault(name, StateStats())
            if entry is not None:
                stats.times_ms.append(_ms(event["timestamp"]) - _ms(entry["timestamp"]))
            for follower in history.after.get(int(event["id"]), []):
                if str(follower["type"]).endswith("StateEntered"):
                    stats.next[str(_details(follower).get("name"))] += 1
        elif _is_lambda_call(event):
            stats = stats_of(history.owner(event))
            if stats is None:
                continue
            retries += _is_retry(history, event)
            stats.calls += 1
            function = _function_of(event)
            if function:
                stats.functions[function] += 1
            status, payload = _payload_of(event)
            if status == "ok":
                stats.payloads[canonical(payload)] += 1
            elif status == "unlogged":
                stats.unlogged += 1
            else:
                stats.truncated += 1
        elif kind in ("LambdaFunctionStarted", "TaskStarted"):
            call_started[int(event["id"])] = _ms(event["timestamp"])
        elif kind == "MapStateStarted":
            stats = stats_of(history.owner(event))
            if stats is not None and isinstance(details.get("length"), int):
                stats.items[int(details["length"])] += 1
        elif kind == "MapRunStarted":
            stats = stats_of(history.owner(event))
            if stats is not None and details.get("mapRunArn"):
                stats.map_runs.append(str(details["mapRunArn"]))
        elif kind == "MapIterationStarted":
            iteration_start[(int(event.get("previousEventId") or 0), int(details.get("index", -1)))] = _ms(
                event["timestamp"]
            )
        elif kind in ("MapIterationSucceeded", "MapIterationFailed", "MapIterationAborted"):
            _end_iteration(history, event, iteration_start, iterations)
        if kind in _CALL_ENDS:
            before = history.previous(event)
            if before is not None and int(before["id"]) in call_started:
                stats = stats_of(history.owner(event))
                if stats is not None:
                    stats.call_ms.append(_ms(event["timestamp"]) - call_started[int(before["id"])])
            if kind == "TaskSucceeded":
                child = _child_execution(event)
                stats = stats_of(history.owner(event))
                if child and stats is not None:
                    stats.children.append(child)
    for map_started, spans in iterations.items():
        stats = stats_of(history.owner(history.by_id[map_started]))
        if stats is not None:
            stats.concurrency = max(stats.concurrency, _overlap(spans))
    if started is None or finished is None:
        raise WorkflowModelError(
            "an execution history without ExecutionStarted and ExecutionSucceeded events"
        )
    return Observations(states, (finished - started,), (entered + retries,), (states,))


def _is_retry(history: _History, event: Mapping[str, Any]) -> int:
    """1 when a call follows a failed call of the same visit (a Retry), not another item's call."""
    before = history.previous(event)
    return int(before is not None and str(before["type"]).endswith(("Failed", "TimedOut")))


def _end_iteration(
    history: _History,
    event: Mapping[str, Any],
    starts: Mapping[tuple[int, int], float],
    iterations: dict[int, list[tuple[float, float]]],
) -> None:
    index = int(_details(event).get("index", -1))
    current = history.previous(event)
    while current is not None:
        if current["type"] == "MapIterationStarted" and int(_details(current).get("index", -2)) == index:
            key = (int(current.get("previousEventId") or 0), index)
            if key in starts:
                iterations.setdefault(key[0], []).append((starts[key], _ms(event["timestamp"])))
            return
        current = history.previous(current)


def _overlap(spans: Sequence[tuple[float, float]]) -> int:
    """Most spans open at once."""
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    running = best = 0
    for _, step in edges:
        running += step
        best = max(best, running)
    return best


def combine(observations: Sequence[Observations]) -> Observations:
    """Several executions' observations as one (visits, times, payloads and frequencies summed)."""
    states: dict[str, StateStats] = {}
    for observed in observations:
        for name, stats in observed.states.items():
            states.setdefault(name, StateStats()).merge(stats)
    bodies: dict[str, Observations] = {}
    for observed in observations:
        for name, body in observed.bodies.items():
            bodies[name] = combine([bodies[name], body]) if name in bodies else body
    return Observations(
        states,
        tuple(d for o in observations for d in o.durations_ms),
        tuple(t for o in observations for t in o.transitions),
        tuple(r for o in observations for r in o.runs),
        bodies,
    )


@dataclass(frozen=True)
class HistoryPayload:
    """The payload a function's child tuning measures with, from the history, and what was left out."""

    payload: Any
    # "history", or "not-logged" when the history holds none of this function's payloads.
    source: str
    distinct: int
    kept: int
    unusable: int

    @property
    def note(self) -> str:
        """What the history gave and what was not used."""
        parts = [f"{self.kept} of {self.distinct} distinct payloads kept"]
        if self.unusable:
            parts.append(f"{self.unusable} calls without a usable payload (not logged or truncated)")
        return "; ".join(parts)


def weighted_payload(counts: Counter[str], unusable: int, num: int) -> HistoryPayload:
    """The payloads seen as the tuner's `payload` key takes them: one payload, or a weighted list.

    Identical payloads are one item weighted by how often they were sent. A weighted list gives each
    payload floor(num x weight / total) invocations, so only the most frequent payloads that each
    get at least one invocation of `num` are kept, up to MAX_PAYLOAD_BYTES; payloads JavaScript
    deems falsy (null, false, 0, "") cannot be items of a weighted list, so beside other payloads
    they are left out (alone, they are sent as they are).
    """
    if not counts:
        return HistoryPayload(payload_rules.no_payload(), "not-logged", 0, 0, unusable)
    ranked = counts.most_common()
    if len(ranked) == 1:
        only = json.loads(ranked[0][0])
        if payload_rules.is_weighted(only):  # a list that would read as weighted: send it as one item
            only = [{"payload": only, "weight": 1}]
        return HistoryPayload(only, "history", 1, 1, unusable)
    kept: list[tuple[Any, int]] = []
    size = 2
    for text, count in ranked:
        value = json.loads(text)
        if not payload_rules.js_truthy(value):
            continue
        trial = [*kept, (value, count)]
        total = sum(c for _, c in trial)
        if (
            any(math.floor(num * c / total) < 1 for _, c in trial)
            or size + len(text) + 30 > MAX_PAYLOAD_BYTES
        ):
            break
        kept = trial
        size += len(text) + 30
    if not kept:  # only falsy payloads, or the most frequent one alone is too large
        value = json.loads(ranked[0][0])
        return HistoryPayload(value, "history", len(ranked), 1, unusable)
    if len(kept) == 1:
        value = kept[0][0]
        if payload_rules.is_weighted(value):
            value = [{"payload": value, "weight": 1}]
        return HistoryPayload(value, "history", len(ranked), 1, unusable)
    listed = [{"payload": value, "weight": count} for value, count in kept]
    return HistoryPayload(listed, "history", len(ranked), len(kept), unusable)
