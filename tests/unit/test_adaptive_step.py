"""The state machine's decision step, and the driver that runs its loop."""

from __future__ import annotations

from powertuning.adaptive.state import AdaptiveState
from powertuning.adaptive.step import advance_execution
from powertuning.inputs import TuningRequest
from powertuning.run_state import PublishState, RunState
from tests.adaptive_sim import ARN, measured_state


def execution_state(sizes, published=None, refused=(), **execution_input):
    """The state the decision step reads: `$.request`, `$.run`, `$.publish` (sizes published so far)."""
    published = list(sizes) if published is None else published
    config = RunState(ARN, tuple(sizes), "0123456789ab", 1024, "", "x86_64", sampling="adaptive")
    request = TuningRequest.from_dict(
        {"lambdaARN": ARN, "sampling": "adaptive", "num": 10, **execution_input}
    )
    publish = PublishState(power_values=tuple(published), index=len(published), refused=tuple(refused))
    return {"request": request.to_dict(), "run": config.to_dict(), "publish": publish.to_dict()}


def test_the_first_step_starts_the_race_on_the_published_sizes():
    out = advance_execution(execution_state([128, 512, 1024], published=[128, 512]))
    # the step returns only `$.adaptive`: the rest of the state is left as it was
    assert set(out) == set(AdaptiveState().to_dict())
    assert out["batch"] == [
        {"value": 128, "count": 3, "offset": 0},
        {"value": 512, "count": 3, "offset": 0},
    ]
    assert out["candidates"] == [128, 512]
    assert out["decisions"] == 1
    assert (out["done"], out["publishPending"]) == (False, False)


def test_auto_sends_new_sizes_to_the_publisher_and_admits_what_was_published():
    # GIVEN a race that wants 3,008 MB next
    race_state = measured_state({128: 4000.0, 512: 1000.0, 1769: 300.0}, (1769,))
    state = execution_state([128, 512, 1769], powerValues="auto", strategy="speed")
    state["adaptive"] = race_state.to_dict()
    state["round"] = []
    # WHEN the decision step runs THEN the size goes to the Publisher loop
    out = advance_execution(state)
    assert out["pending"] == [3008]
    assert out["publishPending"] is True
    assert not out["done"]
    # WHEN the Publisher refused it (above the account's limit) THEN it is remembered and never asked again
    refused = {
        **state,
        "adaptive": out,
        "publish": execution_state([128, 512, 1769], refused=[3008])["publish"],
    }
    after = advance_execution(refused)
    assert after["unavailable"] == [3008]
    assert after["pending"] == [2048]
    assert after["publishPending"] is True
    # WHEN the Publisher published that one THEN it enters the race with a batch of its own
    published = {
        **state,
        "adaptive": after,
        "publish": execution_state([128, 512, 1769, 2048], refused=[3008])["publish"],
    }
    admitted = advance_execution(published)
    assert admitted["pending"] == []
    assert admitted["publishPending"] is False
    assert 2048 in admitted["candidates"]
    assert [b["value"] for b in admitted["batch"]] == [2048]
