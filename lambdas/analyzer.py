"""Analyzer: pick the memory size the strategy recommends and price the run.

The same function also serves the state machine's AdaptiveDecision step, which calls it with
`{"step": "adaptive", "state": ...}`: that event goes to `lambdas/adaptive_decision.py` (one
deployed function, not a seventh: the decision needs no permission of its own and no extra cold
start or role).
"""

from __future__ import annotations

import os
from typing import Any

from powertuning.analyzer import analyze_state
from powertuning.visualization import DEFAULT_VISUALIZATION_URL

from . import adaptive_decision


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The execution output: `{power, cost, duration, stateMachine, constraint?, stats?, skipped?}`.

    Dispatch: an event with `step: "adaptive"` is the AdaptiveDecision step's, handled by
    `adaptive_decision.handler`; every other event is the Analyzer's.
    """
    if event.get("step") == adaptive_decision.STEP:
        return adaptive_decision.handler(event, context)
    # camelCase like the reference tool's settings; the CDK app sets it.
    url = os.environ.get("visualizationUrl") or DEFAULT_VISUALIZATION_URL  # noqa: SIM112
    return analyze_state(event, visualization_url=url).to_dict()
