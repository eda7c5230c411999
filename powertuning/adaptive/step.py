"""The state machine's decision step, and the one driver of the adaptive loop.

The state machine runs the loop: AdaptiveDecision (`advance_execution`) → IsRaceOver → the
Publisher (new "auto" sizes) or AdaptiveRound (the batch, measured by the Executor) → AdaptiveDecision.
`drive` runs the same loop in-process, with the Publisher's and the Executor's work given as
functions, for the benchmark and the tests; both go through `advance`, and the race state goes
through its wire form between decisions, as it does between states.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from powertuning.adaptive.race import admit, decide, record, start
from powertuning.adaptive.state import AdaptiveState, BatchItem, RaceSettings
from powertuning.inputs import TuningRequest
from powertuning.run_state import PublishState, RunState
from powertuning.size_result import SizeResult

# A race ends long before this many decisions (every round adds half a size's samples).
MAX_DECISIONS: Final = 10_000


def advance(
    current: AdaptiveState | None,
    settings: RaceSettings,
    published: Sequence[int],
    round_results: Sequence[SizeResult],
) -> AdaptiveState:
    """One decision: start the race, admit the sizes just published, or record a round and decide."""
    if current is None:
        state = start(published, settings)
    elif current.pending:
        state = admit(current, published, settings)
        if not state.batch:
            state = decide(state, settings)
    else:
        state = decide(record(current, round_results, settings), settings)
    return replace(state, decisions=state.decisions + 1)


def advance_execution(state: Mapping[str, Any]) -> dict[str, Any]:
    """The adaptive decision step: the execution state in, its own path `$.adaptive` out.

    First call: start the race on the published sizes. After a round: record `$.round` (the
    round's results) and decide. After the Publisher added sizes the race asked for: admit them.
    `batch` feeds the next round's Map, `publishPending` sends new "auto" sizes to the Publisher,
    and `done` ends the race; the Analyzer reads the results from the race itself.
    """
    request = TuningRequest.from_dict(state["request"])
    config = RunState.from_dict(state["run"])
    published = PublishState.from_dict(state["publish"]).published
    settings = RaceSettings.from_execution(request, config)
    current = AdaptiveState.from_dict(state["adaptive"]) if state.get("adaptive") is not None else None
    results = [SizeResult.from_dict(item) for item in state.get("round") or []]
    return advance(current, settings, published, results).to_dict()


Measure = Callable[[Sequence[BatchItem]], Sequence[SizeResult]]
"""The AdaptiveRound Map: one result (with its samples) per batch item."""
Publish = Callable[[Sequence[int]], Sequence[int]]
"""The Publisher loop: the sizes asked for in, every size published so far out."""


def drive(
    settings: RaceSettings, sizes: Sequence[int], measure: Measure, publish: Publish | None = None
) -> AdaptiveState:
    """Run the adaptive loop to its end as the state machine does, with the rounds measured by `measure`.

    `sizes` are the sizes published before the first decision; `publish` adds those "auto" asks for
    (default: all of them are published).
    """
    published = list(sizes)
    current: AdaptiveState | None = None
    results: Sequence[SizeResult] = ()
    for _ in range(MAX_DECISIONS):
        current = AdaptiveState.from_dict(advance(current, settings, published, results).to_dict())
        results = ()
        if current.done:
            return current
        if current.pending:
            published = list(publish(current.pending)) if publish else [*published, *current.pending]
            continue
        results = [SizeResult.from_dict(r.to_dict()) for r in measure(current.batch)]
    raise RuntimeError(f"the adaptive race did not end within {MAX_DECISIONS} decisions")
