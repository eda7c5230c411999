"""AdaptiveDecision (sampling "adaptive"): record the last round, drop sizes, plan the next round.

Deployed inside the Analyzer function (`lambdas/analyzer.py` dispatches `{"step": "adaptive"}`
here); its result is the state machine's `$.adaptive`.
"""

from __future__ import annotations

from typing import Any, Final

from powertuning.adaptive.step import advance_execution

# The value of `step` in the events the state machine's AdaptiveDecision state sends.
STEP: Final = "adaptive"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """`{"step": "adaptive", "state": <the execution state>}` → the race's next `$.adaptive`."""
    return advance_execution(event["state"])
