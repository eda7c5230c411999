"""Whole executions with `sampling: "adaptive"` and `powerValues: "auto"` in moto's interpreter.

The target's duration is `model_duration(memory)` with 5% log-normal noise: cheapest at 512 MB by
far (memory pressure below, waiting billed at a higher rate above), fastest from one vCPU
(1,769 MB) up; it runs out of memory below 256 MB.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from powertuning import lambda_api, limits
from powertuning.local.simulated import SimulatedRuntime
from powertuning.pricing import lambda_price, step_functions_cost

POWERS = [256, 512, 1024, 1536, 3008]


def model_duration(memory_mb: int) -> float:
    """300 ms of waiting, 400 ms of CPU work at one vCPU, and memory pressure below 512 MB."""
    pressure = 2000.0 * 512 / memory_mb if memory_mb < 512 else 0.0
    return 300.0 + 400.0 * 1769 / min(memory_mb, 1769) + pressure


class Noisy:
    """`base(memory)` times 5% log-normal noise, drawn from one seeded stream per memory size.

    Per size, not per call: the Map runs sizes in parallel, and the draws must not depend on how
    their invocations interleave, so that every run of a test sees the same durations.
    """

    def __init__(self, base: Callable[[int], float], spread: float = 0.05) -> None:
        self.base = base
        self.spread = spread
        self.streams: dict[int, random.Random] = {}
        self.lock = threading.Lock()

    def __call__(self, memory_mb: int, _n: int) -> float:
        with self.lock:
            stream = self.streams.setdefault(memory_mb, random.Random(memory_mb))
            return self.base(memory_mb) * stream.lognormvariate(0.0, self.spread)


@pytest.fixture(scope="module")
def runtime() -> SimulatedRuntime:
    """Overrides the conftest's: this module's model with noise; out of memory below 256 MB."""
    return SimulatedRuntime(Noisy(model_duration), min_memory_mb=256, init_ms=150.0)


@pytest.fixture(autouse=True)
def fresh_noise(runtime: SimulatedRuntime) -> None:
    """Every test draws its noise from the start of each size's stream: no test's draws depend on
    which tests ran before it (or how many invocations they made)."""
    assert isinstance(runtime.model, Noisy)
    runtime.model.streams.clear()


def clean(state: dict[str, Any]) -> bool:
    return state["aliases"] == [] and state["versions"] == ["$LATEST"]


def invocations(runtime: SimulatedRuntime, since: int) -> int:
    return len(runtime.calls) - since


def expected_power(strategy: str, powers: list[int]) -> int:
    price = lambda_price("us-east-1", "x86_64")
    cost = {m: price.invocation_cost(math.ceil(model_duration(m)), m) for m in powers}
    if strategy == "cost":
        return min(powers, key=cost.__getitem__)
    if strategy == "speed":
        return min(powers, key=model_duration)
    top_cost, top_duration = max(cost.values()), max(model_duration(m) for m in powers)
    return min(powers, key=lambda m: 0.5 * cost[m] / top_cost + 0.5 * model_duration(m) / top_duration)


@pytest.mark.parametrize("strategy", ["cost", "speed"])
def test_adaptive_stops_early_on_an_obvious_winner_with_fewer_invocations_than_fixed(
    engine, target, runtime, leftovers, strategy
):
    # GIVEN a function whose cost and speed change a lot with memory, tuned with num 50
    execution_input = {"lambdaARN": target, "powerValues": POWERS, "num": 50, "strategy": strategy}
    before = len(runtime.calls)
    fixed = engine.run(execution_input)
    fixed_invocations = invocations(runtime, before)
    # WHEN it is tuned again with adaptive sampling
    before = len(runtime.calls)
    adaptive = engine.run({**execution_input, "sampling": "adaptive"})
    adaptive_invocations = invocations(runtime, before)
    # THEN both recommend the same, right, size, in the same output shape
    assert fixed.status == adaptive.status == "SUCCEEDED", adaptive.cause
    assert adaptive.output["power"] == fixed.output["power"] == expected_power(strategy, POWERS)
    assert set(fixed.output) == {"power", "cost", "duration", "stateMachine"}
    # the reference keys first; the race adds how sure it is of its pick
    assert list(adaptive.output) == ["power", "cost", "duration", "stateMachine", "confidence"]
    confidence = adaptive.output["confidence"]
    assert confidence["pick"] == adaptive.output["power"]
    assert confidence["confidence"] == 0.9
    assert str(adaptive.output["power"]) in confidence["text"]
    # AND adaptive stopped long before the budget: a tenth of fixed's invocations at most
    assert fixed_invocations == 50 * len(POWERS)
    assert adaptive_invocations <= fixed_invocations / 10
    # AND nothing is left behind
    assert clean(leftovers(target))


def test_adaptive_stats_and_execution_cost_count_what_ran(engine, target, runtime):
    before = len(runtime.calls)
    outcome = engine.run(
        {
            "lambdaARN": target,
            "powerValues": POWERS,
            "num": 50,
            "sampling": "adaptive",
            "strategy": "balanced",
            "includeOutputResults": True,
        }
    )
    assert outcome.status == "SUCCEEDED", outcome.cause
    stats = {row["value"]: row for row in outcome.output["stats"]}
    # Every size was measured (five: too few for the model to skip any), the losers only briefly;
    # every invocation is in the stats
    assert sorted(stats) == POWERS
    assert sum(row["invocations"] for row in stats.values()) == invocations(runtime, before)
    assert all(row["coldStarts"] == 1 for row in stats.values())
    assert all("samples" not in row for row in stats.values())
    assert outcome.output["power"] == expected_power("balanced", POWERS)
    # executionCost prices exactly the states this execution entered, loop included
    entered = sum(1 for e in outcome.events if e["type"].endswith("StateEntered"))
    assert entered > 3 + 2 * len(POWERS) + 4  # the loop ran: more states than one Map round
    assert outcome.output["stateMachine"]["executionCost"] == pytest.approx(
        step_functions_cost(entered, "us-east-1"), rel=1e-6
    )
    assert outcome.output["stateMachine"]["lambdaCost"] == pytest.approx(
        sum(r["totalCost"] for r in stats.values())
    )


def test_a_function_error_mid_race_fails_with_its_cause_and_cleans_up(engine, target, runtime, leftovers):
    runtime.fail_with[1024] = ("ValueError", "bad input for this size")
    try:
        outcome = engine.run({"lambdaARN": target, "powerValues": POWERS, "num": 50, "sampling": "adaptive"})
    finally:
        runtime.fail_with.clear()
    assert outcome.status == "FAILED"
    assert outcome.error == "TargetFunctionError"
    assert "at 1024 MB the function failed with ValueError: bad input for this size" in outcome.cause
    assert clean(leftovers(target))


# -- powerValues "auto" -----------------------------------------------------------------------------


def published_memory(runtime: SimulatedRuntime, since: int) -> set[int]:
    return {memory for _, _, memory in runtime.calls[since:]}


@pytest.mark.parametrize("strategy", ["cost", "speed"])
def test_auto_publishes_sizes_as_it_goes_and_deletes_every_one(engine, target, runtime, leftovers, strategy):
    before = len(runtime.calls)
    outcome = engine.run(
        {
            "lambdaARN": target,
            "powerValues": "auto",
            "num": 20,
            "sampling": "adaptive",
            "strategy": strategy,
            "includeOutputResults": True,
        }
    )
    assert outcome.status == "SUCCEEDED", outcome.cause
    measured = {row["value"] for row in outcome.output["stats"]}
    skipped = {row["value"] for row in outcome.output.get("skipped", [])}
    if strategy == "cost":
        # 128 MB runs out of memory: "auto" chose it, so it is skipped rather than failing the run
        assert min(skipped) == 128
        assert all(row["reason"].startswith("Runtime.OutOfMemory") for row in outcome.output["skipped"])
    else:
        # less memory is never faster: speed starts at one vCPU (and 3,008 MB) and never looks below
        # its leader unless a larger size measured slower
        assert min(measured | skipped) == 1769
    assert outcome.output["power"] in measured
    assert published_memory(runtime, before) == measured | skipped
    if strategy == "speed":
        # CPU stops scaling at 1 vCPU (1,769 MB): the search climbs past it, then stops at the plateau
        assert outcome.output["power"] >= 1769
        assert max(measured) <= 4096
    else:
        # Cheapest at 512 MB; nothing bigger than 1 vCPU was published: it could only cost more
        assert outcome.output["power"] == 512
        assert max(measured) <= 1769
    assert clean(leftovers(target))


@pytest.fixture
def memory_limit_3008() -> Iterator[list[int]]:
    """An account capped at 3,008 MB (like new accounts): larger MemorySize values are refused."""
    refused: list[int] = []
    original = lambda_api.update_configuration

    def update(client: Any, function_name: str, **settings: Any) -> None:
        memory = settings.get("MemorySize")
        if memory is not None and memory > 3008 and "powertuning-" not in function_name:
            refused.append(memory)
            raise ClientError(
                {
                    "Error": {
                        "Code": "InvalidParameterValueException",
                        "Message": "'MemorySize' value failed to satisfy constraint: "
                        "Member must have value less than or equal to 3008",
                    }
                },
                "UpdateFunctionConfiguration",
            )
        original(client, function_name, **settings)

    lambda_api.update_configuration = update  # type: ignore[assignment]
    try:
        yield refused
    finally:
        lambda_api.update_configuration = original  # type: ignore[assignment]


def test_auto_stays_under_the_accounts_memory_limit(engine, target, runtime, leftovers, memory_limit_3008):
    # GIVEN a CPU-bound function that keeps getting faster up to 1 vCPU, on an account capped at 3,008 MB
    original_model = runtime.model
    runtime.model = Noisy(lambda memory_mb: 5000.0 * 1769 / memory_mb, spread=0.02)
    before = len(runtime.calls)
    try:
        outcome = engine.run(
            {
                "lambdaARN": target,
                "powerValues": "auto",
                "num": 10,
                "sampling": "adaptive",
                "strategy": "speed",
            }
        )
    finally:
        runtime.model = original_model
    # THEN the search asked for more, was refused, and settled on the largest size the account allows
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert memory_limit_3008, "the search never asked for more than 3,008 MB"
    assert outcome.output["power"] == 3008
    assert max(published_memory(runtime, before)) == 3008
    assert clean(leftovers(target))


def _largest_state(events: list[dict[str, Any]]) -> int:
    """The largest state input or output in the execution's history, in bytes."""
    sizes = [
        len(details[key].encode())
        for event in events
        for name, details in event.items()
        if name.endswith("EventDetails") and isinstance(details, dict)
        for key in ("input", "output")
        if isinstance(details.get(key), str)
    ]
    return max(sizes, default=0)


def test_many_sizes_race_to_a_large_num_within_the_state_limit(engine, target, runtime, leftovers):
    # GIVEN every size of "ALL" (46 sizes), num 150, and near-ties the race cannot separate (balanced,
    # no tolerance: 640-1,024 MB within a percent or two of each other), so several sizes run to the
    # cap. Every size may run to it: every raw sample kept twice (the race and a round) would need
    # about 46 x 150 x 2 x 20 bytes, more than 256 KB. (Speed no longer ties many sizes: it
    # measures the largest sizes only, more memory being never slower.)
    assert limits.MAX_STATE_BYTES < 46 * 150 * 2 * 20
    before = len(runtime.calls)
    outcome = engine.run(
        {
            "lambdaARN": target,
            "powerValues": "ALL",
            "num": 150,
            "sampling": "adaptive",
            "strategy": "balanced",
            "tolerance": 0.0,
            "confidence": 0.999,
            "onError": "skip",
            "includeOutputResults": True,
        }
    )
    # THEN it is accepted and ends well, every state within the budget the Initializer keeps
    assert outcome.status == "SUCCEEDED", (outcome.error, (outcome.cause or "")[:500])
    assert _largest_state(outcome.events) <= limits.MAX_STATE_BYTES * limits.MARGIN
    stats = {row["value"]: row for row in outcome.output["stats"]}
    # AND the tied sizes got their num, counted exactly although their samples were merged
    capped = [m for m, row in stats.items() if row["invocations"] == 150]
    assert len(capped) >= 5
    # (128 and 192 MB ran out of memory on their first invocation and were skipped)
    assert [s["value"] for s in outcome.output["skipped"]] == [128, 192]
    assert sum(row["invocations"] for row in stats.values()) + 2 == invocations(runtime, before)
    assert clean(leftovers(target))
