"""read_history, combine, weighted_payload: from events shaped as AWS documents GetExecutionHistory's
HistoryEvent (id, previousEventId, timestamp, type, <type>EventDetails)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from powertuning import payloads
from powertuning.errors import WorkflowModelError
from powertuning.workflow.history import canonical, combine, read_history, weighted_payload

T0 = datetime(2026, 1, 1, tzinfo=UTC)
FN = "arn:aws:lambda:us-east-1:123456789012:function:"


class Events:
    """Builds a history: each event gets the next id; `prev` defaults to the last event's id."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, kind: str, ms: float, prev: int | None = None, **details: Any) -> int:
        ident = len(self.events) + 1
        event: dict[str, Any] = {
            "id": ident,
            "previousEventId": (ident - 1) if prev is None else prev,
            "timestamp": T0 + timedelta(milliseconds=ms),
            "type": kind,
        }
        if details:
            if kind.endswith("StateEntered"):
                key = "stateEnteredEventDetails"
            elif kind.endswith("StateExited"):
                key = "stateExitedEventDetails"
            else:
                key = kind[0].lower() + kind[1:] + "EventDetails"
            event[key] = details
        self.events.append(event)
        return ident


def _direct_task(history: Events, name: str, start: float, payload: Any, fail_first: bool = False) -> int:
    history.add(
        "TaskStateEntered", start, name=name, input=json.dumps(payload), inputDetails={"truncated": False}
    )
    if fail_first:
        history.add("LambdaFunctionScheduled", start + 1, resource=FN + name, input=json.dumps(payload))
        history.add("LambdaFunctionStarted", start + 2)
        history.add("LambdaFunctionFailed", start + 12, error="Flaky", cause="")
        start += 1000  # the Retry's interval
    history.add("LambdaFunctionScheduled", start + 1, resource=FN + name, input=json.dumps(payload))
    history.add("LambdaFunctionStarted", start + 2)
    history.add("LambdaFunctionSucceeded", start + 42, output="{}")
    return history.add("TaskStateExited", start + 45, name=name, output="{}")


def test_a_sequence_with_a_retry() -> None:
    history = Events()
    history.add("ExecutionStarted", 0, prev=0, input="{}", inputDetails={"truncated": False})
    _direct_task(history, "A", 5, {"id": 1}, fail_first=True)
    _direct_task(history, "B", 1100, {"id": 2})
    history.add("ExecutionSucceeded", 1200, output="{}")
    observed = read_history(history.events)
    a, b = observed.stats("A"), observed.stats("B")
    assert (a.visits, a.calls, b.calls) == (1, 2, 1)
    assert a.times_ms == [pytest.approx(1045.0)]
    assert a.call_ms == [pytest.approx(10.0), pytest.approx(40.0)]
    assert a.payloads == Counter({canonical({"id": 1}): 2})
    assert a.functions == Counter({FN + "A": 2})
    assert a.next == Counter({"B": 1})
    assert b.prev == Counter({"A": 1})
    assert a.prev == Counter({None: 1})
    assert observed.durations_ms == (1200.0,)
    assert observed.transitions == (3,)  # two states entered, one retry


def _invoke(history: Events, name: str, start: float, prev: int, parameters: Any) -> tuple[int, int]:
    entered = history.add("TaskStateEntered", start, prev=prev, name=name, input="{}")
    details: dict[str, Any] = {"resourceType": "lambda", "resource": "invoke", "region": "us-east-1"}
    if parameters is not None:
        details["parameters"] = json.dumps(parameters)
    scheduled = history.add("TaskScheduled", start + 1, **details)
    started = history.add("TaskStarted", start + 2, prev=scheduled, resourceType="lambda", resource="invoke")
    done = history.add(
        "TaskSucceeded", start + 30, prev=started, resourceType="lambda", resource="invoke", output="{}"
    )
    exited = history.add("TaskStateExited", start + 31, prev=done, name=name, output="{}")
    return entered, exited


def test_parallel_branches_interleaved_are_tied_to_their_own_visits() -> None:
    history = Events()
    history.add("ExecutionStarted", 0, prev=0, input="{}")
    history.add("ParallelStateEntered", 1, name="P", input="{}")
    p_started = history.add("ParallelStateStarted", 2)
    # Both branches' first events before either finishes
    left = history.add("TaskStateEntered", 3, prev=p_started, name="L", input="{}")
    right = history.add("TaskStateEntered", 4, prev=p_started, name="R", input="{}")
    ls = history.add(
        "TaskScheduled",
        5,
        prev=left,
        resourceType="lambda",
        resource="invoke",
        parameters=json.dumps({"FunctionName": "l", "Payload": {"side": "left"}}),
    )
    rs = history.add(
        "LambdaFunctionScheduled", 6, prev=right, resource=FN + "r", input=json.dumps({"side": "right"})
    )
    lst = history.add("TaskStarted", 7, prev=ls, resourceType="lambda", resource="invoke")
    rst = history.add("LambdaFunctionStarted", 8, prev=rs)
    rd = history.add("LambdaFunctionSucceeded", 108, prev=rst, output="{}")
    ld = history.add("TaskSucceeded", 207, prev=lst, resourceType="lambda", resource="invoke", output="{}")
    history.add("TaskStateExited", 109, prev=rd, name="R", output="{}")
    last = history.add("TaskStateExited", 208, prev=ld, name="L", output="{}")
    history.add("ParallelStateSucceeded", 209, prev=last)
    history.add("ParallelStateExited", 210, prev=last, name="P", output="[]")
    history.add("ExecutionSucceeded", 211, output="[]")
    observed = read_history(history.events)
    assert observed.stats("L").call_ms == [pytest.approx(200.0)]
    assert observed.stats("R").call_ms == [pytest.approx(100.0)]
    assert observed.stats("L").times_ms == [pytest.approx(205.0)]
    assert observed.stats("R").times_ms == [pytest.approx(105.0)]
    assert observed.stats("P").times_ms == [pytest.approx(209.0)]
    assert observed.stats("L").payloads == Counter({canonical({"side": "left"}): 1})
    assert observed.stats("L").functions == Counter({"l": 1})
    assert observed.stats("R").payloads == Counter({canonical({"side": "right"}): 1})


def test_a_map_counts_items_and_how_many_ran_at_once() -> None:
    history = Events()
    history.add("ExecutionStarted", 0, prev=0, input="{}")
    history.add("MapStateEntered", 1, name="M", input="[]")
    started = history.add("MapStateStarted", 2, length=3)
    ends = []
    for index, (begin, length) in enumerate([(3, 100), (4, 100), (150, 100)]):
        it = history.add("MapIterationStarted", begin, prev=started, name="M", index=index)
        _, exited = _invoke(history, "Item", begin + 1, it, {"FunctionName": "item", "Payload": index})
        ends.append(history.add("MapIterationSucceeded", begin + length, prev=exited, name="M", index=index))
    history.add("MapStateSucceeded", 300, prev=ends[-1])
    history.add("MapStateExited", 301, prev=ends[-1], name="M", output="[]")
    history.add("ExecutionSucceeded", 302, output="[]")
    observed = read_history(history.events)
    assert observed.stats("M").items == Counter({3: 1})
    assert observed.stats("M").concurrency == 2
    assert observed.stats("Item").visits == 3
    assert observed.stats("Item").payloads == Counter({"0": 1, "1": 1, "2": 1})
    assert observed.transitions == (4,)


def test_payloads_not_logged_or_truncated_are_counted_never_used() -> None:
    history = Events()
    history.add("ExecutionStarted", 0, prev=0)
    # includeExecutionData false: no input, no parameters
    history.add("TaskStateEntered", 1, name="A")
    history.add("LambdaFunctionScheduled", 2, resource=FN + "a")
    history.add("LambdaFunctionStarted", 3)
    history.add("LambdaFunctionSucceeded", 4)
    history.add("TaskStateExited", 5, name="A")
    history.add("TaskStateEntered", 6, name="B")
    history.add("TaskScheduled", 7, resourceType="lambda", resource="invoke")
    history.add("TaskStateExited", 8, name="B")
    history.add("TaskStateEntered", 9, name="C")
    history.add(
        "LambdaFunctionScheduled", 10, resource=FN + "c", input='{"cut', inputDetails={"truncated": True}
    )
    history.add("TaskStateExited", 11, name="C")
    history.add("ExecutionSucceeded", 12)
    observed = read_history(history.events)
    assert (observed.stats("A").unlogged, observed.stats("B").unlogged, observed.stats("C").truncated) == (
        1,
        1,
        1,
    )
    assert not any(observed.stats(n).payloads for n in "ABC")
    found = weighted_payload(observed.stats("A").payloads, 1, 10)
    assert found.source == "not-logged"
    assert found.payload == payloads.no_payload()
    assert "1 calls without a usable payload" in found.note


def test_invoke_without_payload_sent_an_empty_event() -> None:
    history = Events()
    history.add("ExecutionStarted", 0, prev=0)
    _invoke(history, "A", 1, 1, {"FunctionName": "a"})
    history.add("ExecutionSucceeded", 50)
    assert read_history(history.events).stats("A").payloads == Counter({"{}": 1})


def test_children_and_map_runs_are_found() -> None:
    child = "arn:aws:states:us-east-1:123456789012:execution:child:1"
    run = "arn:aws:states:us-east-1:123456789012:mapRun:wf/M:1"
    history = Events()
    history.add("ExecutionStarted", 0, prev=0)
    history.add("TaskStateEntered", 1, name="N")
    history.add("TaskScheduled", 2, resourceType="states", resource="startExecution.sync:2", parameters="{}")
    history.add("TaskStarted", 3, resourceType="states", resource="startExecution.sync:2")
    history.add("TaskSubmitted", 4, resourceType="states", resource="startExecution.sync:2", output="{}")
    history.add(
        "TaskSucceeded",
        50,
        resourceType="states",
        resource="startExecution.sync:2",
        output=json.dumps({"ExecutionArn": child}),
    )
    history.add("TaskStateExited", 51, name="N")
    history.add("MapStateEntered", 52, name="M")
    history.add("MapRunStarted", 53, mapRunArn=run)
    history.add("MapRunSucceeded", 90)
    history.add("MapStateExited", 91, name="M")
    history.add("ExecutionSucceeded", 92)
    observed = read_history(history.events)
    assert observed.stats("N").children == [child]
    assert observed.stats("N").calls == 0  # not a Lambda call
    assert observed.stats("M").map_runs == [run]


def test_a_history_that_did_not_succeed_is_refused() -> None:
    history = Events()
    history.add("ExecutionStarted", 0, prev=0)
    history.add("ExecutionFailed", 5, error="x")
    with pytest.raises(WorkflowModelError, match="ExecutionSucceeded"):
        read_history(history.events)


def test_combine_sums_executions() -> None:
    def one(payload: Any) -> Any:
        history = Events()
        history.add("ExecutionStarted", 0, prev=0)
        _direct_task(history, "A", 1, payload)
        history.add("ExecutionSucceeded", 100)
        return read_history(history.events)

    observed = combine([one({"x": 1}), one({"x": 1}), one({"x": 2})])
    assert observed.executions == 3
    assert observed.stats("A").visits == 3
    assert observed.stats("A").payloads == Counter({canonical({"x": 1}): 2, canonical({"x": 2}): 1})
    assert len(observed.runs) == 3
    assert observed.mean_transitions == 1.0


WEIGHTED = [
    # (payload counts, num, expected payload)
    ({"a": 3}, 10, "a"),
    ({"a": 3, "b": 1}, 10, [{"payload": "a", "weight": 3}, {"payload": "b", "weight": 1}]),
    # b would get floor(4 x 1/31) = 0 of num 4: only the most frequent kept
    ({"a": 30, "b": 1}, 4, "a"),
    # a falsy payload cannot be an item of a weighted list
    ({"a": 2, "null": 5}, 10, "a"),
    ({"null": 5}, 10, None),
    # a single payload that reads as a weighted list is sent as one item
    ([[{"payload": 1, "weight": 2}], 1], 10, [{"payload": [{"payload": 1, "weight": 2}], "weight": 1}]),
]


@pytest.mark.parametrize(("counts", "num", "expected"), WEIGHTED)
def test_weighted_payload(counts: Any, num: int, expected: Any) -> None:
    if isinstance(counts, list):
        counter = Counter({canonical(counts[0]): counts[1]})
    else:
        counter = Counter({canonical(k) if k != "null" else "null": v for k, v in counts.items()})
    found = weighted_payload(counter, 0, num)
    assert found.payload == expected
    assert found.source == "history"
    if payloads.is_weighted(found.payload):
        payloads.parse_weighted(found.payload, num)  # the tuner's own rule accepts it
