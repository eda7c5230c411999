"""Progress of a workflow tuning, told from the workflow tuner's history events.

As for a single tuning (progress.py), events are recognised by what they carry, not by state names:
a Task exited with a `plan` and a `fleet` input is the workflow read (how many functions, which);
a Task entered with a `fleet` run not yet started is the child tunings starting; one exited with the
fleet's `executionArn` is every function tuned once; one exited with `solved.output` is the sizes
chosen. Anything else is told as `progress.Progress` tells it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from powertuning.cli.progress import Progress
from powertuning.cli.workflow_output import function_name


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        return None


class WorkflowProgress:
    """A history event listener for `executions.follow`: workflow steps, then Progress's lines."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def __call__(self, event: dict[str, Any]) -> None:
        kind = str(event.get("type", ""))
        details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails") or {}
        name = str(details.get("name", ""))
        if kind == "TaskStateEntered":
            told = self._entered(name, _json(details.get("input")))
        elif kind == "TaskStateExited":
            # Only a Task's exit: the Choice after Solve carries the same state, told once.
            told = self._exited(name, _json(details.get("output")))
        else:
            told = False
        if not told:
            self.progress(event)

    def _entered(self, name: str, state: Any) -> bool:
        fleet = state.get("fleet") if isinstance(state, Mapping) else None
        if not isinstance(fleet, Mapping) or "executionArn" in fleet or "name" not in fleet:
            return False
        functions = (fleet.get("input") or {}).get("functions", [])
        self.progress.say(
            f"{name}: tuning {len(functions)} functions, one child tuning each "
            f"(fleet execution {fleet['name']})"
        )
        return True

    def _exited(self, name: str, state: Any) -> bool:
        if not isinstance(state, Mapping):
            return False
        fleet = state.get("fleet")
        solved = state.get("solved")
        if isinstance(solved, Mapping) and isinstance(solved.get("output"), Mapping):
            output = solved["output"]
            verdict = "target met" if output.get("met") else "target NOT met"
            self.progress.say(f"{name} done: sizes chosen, {verdict}")
            return True
        if "fleetError" in state:
            error = state["fleetError"]
            cause = error.get("Error", "failed") if isinstance(error, Mapping) else "failed"
            self.progress.say(f"{name} failed: {cause}")
            return True
        if isinstance(fleet, Mapping) and "executionArn" in fleet:
            self.progress.say(f"{name} done: every function tuned or tried ({fleet['executionArn']})")
            return True
        if isinstance(fleet, Mapping) and "plan" in state:
            functions = (fleet.get("input") or {}).get("functions", [])
            names = ", ".join(function_name(str(f)) for f in functions)
            self.progress.say(f"{name} done: the workflow read, {len(functions)} functions to tune: {names}")
            return True
        return False
