"""Progress of a workflow tuning: the workflow tuner's events told by what they carry."""

from __future__ import annotations

import io
import json
from typing import Any

from powertuning.cli.progress import Progress
from powertuning.cli.workflow_progress import WorkflowProgress

VALIDATE = "arn:aws:lambda:us-east-1:123456789012:function:validate"
RESIZE = "arn:aws:lambda:us-east-1:123456789012:function:resize"
FLEET = "arn:aws:states:us-east-1:123456789012:execution:PowerTuning-Fleet:workflow-abc-measure"


def entered(name: str, state: Any, event_id: int) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "TaskStateEntered",
        "stateEnteredEventDetails": {"name": name, "input": json.dumps(state)},
    }


def exited(name: str, state: Any, event_id: int, kind: str = "TaskStateExited") -> dict[str, Any]:
    return {
        "id": event_id,
        "type": kind,
        "stateExitedEventDetails": {"name": name, "output": json.dumps(state)},
    }


def told(events: list[dict[str, Any]]) -> list[str]:
    stream = io.StringIO()
    listener = WorkflowProgress(Progress(stream, quiet=False, interactive=False, clock=lambda: 0.0))
    for event in events:
        listener(event)
    return [line.split("] ", 1)[1] for line in stream.getvalue().splitlines()]


def test_each_step_of_the_workflow_tuner_is_told_by_what_it_carries() -> None:
    fleet = {"name": "workflow-abc-measure", "input": {"functions": [VALIDATE, f"{RESIZE}:live"]}}
    read = {"plan": {"bucket": "b", "key": "k"}, "fleet": fleet}
    measured = {**read, "fleet": {"executionArn": FLEET, "output": "{}"}}
    solved = {**measured, "solved": {"output": {"met": False}, "applyNeeded": False}}
    lines = told(
        [
            {"id": 1, "type": "ExecutionStarted"},
            exited("ReadWorkflow", read, 2),
            entered("TuneEachFunction", read, 3),
            exited("TuneEachFunction", measured, 4),
            exited("Solve", solved, 5),
            exited("ShouldApply", solved, 51, kind="ChoiceStateExited"),
            exited("Oddly", {"anything": 1}, 6),
            {"id": 7, "type": "ExecutionSucceeded"},
        ]
    )
    assert lines == [
        "execution started",
        "ReadWorkflow done: the workflow read, 2 functions to tune: validate, resize:live",
        "TuneEachFunction: tuning 2 functions, one child tuning each (fleet execution workflow-abc-measure)",
        f"TuneEachFunction done: every function tuned or tried ({FLEET})",
        "Solve done: sizes chosen, target NOT met",
        "Oddly       done",
        "execution succeeded",
    ]


def test_a_failed_fleet_run_is_told() -> None:
    state = {"plan": {}, "fleet": {"name": "n", "input": {}}, "fleetError": {"Error": "States.TaskFailed"}}
    assert told([exited("TuneEachFunction", state, 1)]) == ["TuneEachFunction failed: States.TaskFailed"]
