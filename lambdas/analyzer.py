"""Analyzer: pick the memory size the strategy recommends and price the run."""

from __future__ import annotations

import os
from typing import Any

from powertuning.adaptive import advance_execution
from powertuning.analysis import analyze_state
from powertuning.visualization import DEFAULT_VISUALIZATION_URL


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The execution output: `{power, cost, duration, stateMachine, constraint?, stats?, skipped?}`.

    As the AdaptiveDecision step (`{"step": "adaptive", "state": ...}`), the race's next `$.adaptive`.
    """
    if event.get("step") == "adaptive":
        return advance_execution(event["state"])
    # camelCase like the reference tool's settings; the CDK app sets it.
    url = os.environ.get("visualizationUrl") or DEFAULT_VISUALIZATION_URL  # noqa: SIM112
    return analyze_state(event, visualization_url=url).to_dict()
