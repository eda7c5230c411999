"""Progress from history events: recognised by what they carry, as lines or as a live bar."""

from __future__ import annotations

import io
import json
import re
import sys
from typing import Any

import pytest

from powertuning.cli import console
from powertuning.cli.progress import Progress

# State names nobody has used yet: progress must not depend on the state machine's layout.
INIT, PUBLISH, DECIDE, MEASURE = "Setup", "PublishOne", "RaceDecision", "MeasureBatch"
SIZES = [512, 1024, 1536]


class History:
    """Builds history events as GetExecutionHistory returns them, ids in order."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, kind: str, previous: int | None = None, **details: Any) -> int:
        event_id = len(self.events) + 1
        prev = event_id - 1 if previous is None else previous
        self.events.append({"id": event_id, "previousEventId": prev, "type": kind, **details})
        return event_id

    def exited(
        self, name: str, output: Any, kind: str = "TaskStateExited", previous: int | None = None
    ) -> int:
        details = {"name": name, "output": json.dumps(output)}
        return self.add(kind, previous, stateExitedEventDetails=details)

    def entered(self, name: str, state: Any, previous: int | None = None) -> int:
        details = {"name": name, "input": json.dumps(state)}
        return self.add("TaskStateEntered", previous, stateEnteredEventDetails=details)


def state(num: int, published: int | None = None, **request: Any) -> dict[str, Any]:
    """The execution state after the Initializer and `published` Publisher calls."""
    out: dict[str, Any] = {"request": {"num": num, **request}, "run": {"powerValues": SIZES}}
    if published is not None:
        out["publish"] = {"powerValues": SIZES, "index": published, "continue": published < len(SIZES)}
    return out


def measured(value: int, **result: Any) -> dict[str, Any]:
    """A Map item's state after its last Executor call."""
    return {"value": value, "run": {}, "progress": {"done": True, "result": {"value": value, **result}}}


def race(decisions: int, candidates: list[int], eliminated: list[int], counts: dict[int, int], **more: Any):
    """`$.adaptive` after a decision."""
    return {
        "sizes": [{"value": v, "samples": [[100.0, 100.0, 0.0]] * n} for v, n in counts.items()],
        "candidates": candidates,
        "eliminated": eliminated,
        "batch": [{"value": v, "count": 2, "offset": counts.get(v, 0)} for v in candidates],
        "rounds": decisions - 1,
        "decisions": decisions,
        "done": False,
        "reason": "",
        **more,
    }


def adaptive_history() -> History:
    """An adaptive run: two rounds, 1536 MB dropped after the first, 512 MB wins."""
    h = History()
    h.add("ExecutionStarted", 0)
    h.exited(INIT, state(10, sampling="adaptive"))
    for n in range(1, 4):
        h.exited(PUBLISH, state(10, n, sampling="adaptive"))
    current = state(10, 3, sampling="adaptive")
    first = race(1, SIZES, [], {})
    h.exited(DECIDE, {**current, "adaptive": first})
    map_started = h.add("MapStateStarted")
    for v in SIZES:
        iteration = h.add("MapIterationStarted", map_started, mapIterationStartedEventDetails={"index": 0})
        item = {"value": v, "count": 3, "offset": 0, "request": current["request"], "run": current["run"]}
        h.entered(MEASURE, item, previous=iteration)
    for v in SIZES:
        h.exited(MEASURE, measured(v, averageDuration=100.0, averagePrice=1e-6, invocations=3))
    second = race(2, [512, 1024], [1536], {512: 3, 1024: 3, 1536: 3})
    h.exited(DECIDE, {**current, "adaptive": second})
    for v in (512, 1024):
        h.entered(
            MEASURE,
            {"value": v, "count": 2, "offset": 3, "request": current["request"], "run": current["run"]},
        )
        h.exited(MEASURE, measured(v, averageDuration=100.0, averagePrice=1e-6, invocations=2))
    done = race(3, [512], [1536, 1024], {512: 5, 1024: 5, 1536: 3}, done=True, reason="separated", batch=[])
    h.exited(DECIDE, {**current, "adaptive": done})
    h.exited("Tidy", {**current, "adaptive": done})  # the cleanup state, by any name
    h.exited("Decide", {**current, "adaptive": done, "analysis": {"power": 512}})
    h.add("ExecutionSucceeded")
    return h


def lines(progress_stream: io.StringIO) -> list[str]:
    """The lines without their time prefix."""
    return [re.sub(r"^\[\s*[\d.]+s\] ", "", line) for line in progress_stream.getvalue().splitlines()]


def test_adaptive_rounds_and_dropped_sizes_are_told_whatever_the_states_are_named():
    # GIVEN the history of an adaptive run whose states have names progress has never seen
    stream = io.StringIO()
    progress = Progress(stream, interactive=False, quiet=False)

    # WHEN each event is handled
    for event in adaptive_history().events:
        progress(event)

    # THEN each round says what is left, what was dropped, and how the race ended
    told = lines(stream)
    assert "Setup       done: 3 memory sizes to test (512, 1024, 1536 MB)" in told
    assert "PublishOne  done: 1536 MB published (3/3)" in told
    assert "RaceDecision round 1 next: 3 sizes left (512, 1024, 1536 MB), 2 invocations each" in told
    assert (
        "RaceDecision dropped 1536 MB (cannot win by more than the tolerance); "
        "round 2 next: 2 sizes left (512, 1024 MB), 2 invocations each" in told
    )
    assert (
        "RaceDecision dropped 1024 MB (cannot win by more than the tolerance); "
        "race over after 2 rounds (separated): 512 MB left" in told
    )
    assert "Tidy        done" in told
    assert "Decide      done: recommends 512 MB" in told
    assert told[-1] == "execution succeeded"
    # AND the invocation count follows the race: 13 made; the cap shrank as sizes were dropped
    assert (progress.invocations, progress.total) == (13, 13)


def test_fixed_sizes_measured_in_a_map_are_found_by_their_content():
    stream = io.StringIO()
    progress = Progress(stream, interactive=False, quiet=False)
    h = History()
    h.exited(INIT, state(5))
    h.entered("Measure", {"value": 512, "request": {}, "run": {}})
    h.exited("Measure", measured(512, averageDuration=150.0, averagePrice=1.5e-6, invocations=5))
    # the Choice after the Executor call exits with the same state: not told twice
    h.exited(
        "IsMeasured",
        measured(512, averageDuration=150.0, averagePrice=1.5e-6, invocations=5),
        "ChoiceStateExited",
    )
    h.exited("Measure", measured(1024, skipped=True, reason="Runtime.OutOfMemory"))
    for event in h.events:
        progress(event)
    told = lines(stream)
    assert told[1] == "Measure     measuring 512 MB"
    assert told[2].startswith("Measure     512 MB measured: 150.00 ms average, $0.000001500 per invocation")
    assert told[2].endswith("[1/3]")
    assert told[3] == "Measure     1024 MB skipped: Runtime.OutOfMemory [2/3]"
    assert (progress.invocations, progress.total) == (10, 15)


def test_quiet_says_nothing():
    stream = io.StringIO()
    progress = Progress(stream, quiet=True, interactive=True)
    for event in adaptive_history().events:
        progress(event)
    progress.close()
    assert stream.getvalue() == ""


def test_quiet_comes_from_the_invocations_settings():
    console.configure(quiet=True)
    try:
        stream = io.StringIO()
        Progress(stream).say("hello")
    finally:
        console.configure()
    assert stream.getvalue() == ""


def test_a_stream_that_is_not_a_terminal_gets_plain_lines():
    # StringIO, a pipe or a CI log: no bar, no escape sequences
    stream = io.StringIO()
    progress = Progress(stream, quiet=False)
    for event in adaptive_history().events:
        progress(event)
    assert "\x1b" not in stream.getvalue()
    assert "ETA" not in stream.getvalue()


@pytest.mark.parametrize("no_color", [False, True])
def test_terminal_gets_a_bar_with_an_eta_and_no_colour_with_no_color(no_color, monkeypatch):
    # GIVEN a terminal (forced: the bar is drawn only for one), with or without NO_COLOR
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    stream = io.StringIO()

    # WHEN a run is followed
    with Progress(stream, interactive=True, quiet=False) as progress:
        for event in adaptive_history().events:
            progress(event)

    # THEN the bar counts invocations with an ETA, and the lines are printed above it
    text = stream.getvalue()
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    assert "13/13 invocations" in plain
    assert "ETA" in plain
    assert "race over after 2 rounds (separated): 512 MB left" in plain
    # AND colours (SGR 30-37, 90-97, 38;...) appear only without NO_COLOR
    colours = re.findall(r"\x1b\[(?:\d+;)*(?:3[0-8]|9[0-7])(?:;\d+)*m", text)
    assert (colours == []) is no_color


def test_without_rich_a_terminal_gets_plain_lines_and_the_extra_to_install(monkeypatch):
    # GIVEN rich is not installed
    for name in [n for n in sys.modules if n == "rich" or n.startswith("rich.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "rich", None)
    stream = io.StringIO()

    # WHEN progress is shown on a terminal
    with Progress(stream, interactive=True, quiet=False) as progress:
        progress.say("hello")

    # THEN the lines come plain, after one saying how to get the bar
    assert lines(stream) == [
        "(plain progress lines: for a progress bar, pip install -e '.[cli]' (in the repository's folder))",
        "hello",
    ]


def test_invocations_reported_by_the_runtime_move_the_bar_between_sizes(monkeypatch):
    # GIVEN a run of 3 sizes x 5 invocations on a terminal
    monkeypatch.setenv("COLUMNS", "120")
    stream = io.StringIO()
    h = History()
    h.exited(INIT, state(5))

    # WHEN the runtime reports four invocations before any size is done
    with Progress(stream, interactive=True, quiet=False) as progress:
        progress(h.events[0])
        for _ in range(4):
            progress.invocation_done()

    # THEN the bar shows them
    assert "4/15 invocations" in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stream.getvalue())


def test_sizes_the_model_skips_are_told_and_merged_samples_count_as_their_invocations():
    # GIVEN a decision that skipped 3008 MB by the model, with 1024 MB's samples merged (weight 20)
    h = History()
    h.add("ExecutionStarted", 0)
    h.exited(INIT, state(60, sampling="adaptive"))
    decided = race(2, [512, 1024], [], {512: 3}, skippedByModel=[3008], reserve=[])
    decided["sizes"].append({"value": 1024, "samples": [[100.0, 100.0, 0.0], [100.0, 100.0, 0.0, 20]]})
    h.exited(DECIDE, {**state(60, 3, sampling="adaptive"), "adaptive": decided})
    stream = io.StringIO()
    progress = Progress(stream, interactive=False, quiet=False)
    # WHEN each event is handled
    for event in h.events:
        progress(event)
    # THEN the skip is told, and 1024 MB counts 21 invocations, not 2 entries
    told = " ".join(lines(stream))
    assert "not measuring 3008 MB (the model of the measured sizes shows them clearly worse)" in told
    assert progress.invocations == 3 + 21
