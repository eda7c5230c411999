"""The race: elimination, ties, the budget cap, heavy tails, skipped sizes."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

from powertuning.adaptive.estimates import robust_count
from powertuning.adaptive.outcome import size_results
from powertuning.adaptive.race import decide, record, start
from powertuning.measure import batch_result
from tests.adaptive_sim import PRICE, noisy, race, report, settings


def test_a_clear_loser_is_eliminated_after_the_first_round():
    # GIVEN a size three times slower than the other, with 5% noise
    model = noisy({512: 100.0, 128: 300.0})
    # WHEN one round has been measured
    state = start([128, 512], settings())
    assert [b.to_dict() for b in state.batch] == [
        {"value": 128, "count": 3, "offset": 0},
        {"value": 512, "count": 3, "offset": 0},
    ]
    rng = random.Random(1)
    results = [
        batch_result(m, [report(m, *model(m, k, rng)) for k in range(3)], PRICE, 0.2) for m in (128, 512)
    ]
    state = decide(record(state, results, settings()), settings())
    # THEN the slow size is out and the race is over after 6 invocations
    assert state.done
    assert state.reason == "separated"
    assert state.candidates == (512,)
    assert state.eliminated == (128,)
    assert state.invocations == 6


def best_by_brute_force(means: dict[int, float], strategy: str) -> int:
    cost = {m: PRICE.invocation_cost(math.ceil(d), m) for m, d in means.items()}
    if strategy == "cost":
        return min(means, key=cost.__getitem__)
    if strategy == "speed":
        return min(means, key=means.__getitem__)
    top_cost, top_duration = max(cost.values()), max(means.values())
    return min(means, key=lambda m: 0.5 * cost[m] / top_cost + 0.5 * means[m] / top_duration)


@pytest.mark.parametrize("strategy", ["cost", "speed", "balanced"])
def test_every_strategy_finds_an_obvious_winner_early(strategy):
    # GIVEN 50 ms of waiting plus 500 ms of CPU work at one vCPU, 2% noise
    sizes = [256, 512, 1024, 1536, 3008]
    means = {m: 50 + 500 * 1769 / min(m, 1769) for m in sizes}
    # WHEN raced with num 50
    state = race(noisy(means, 0.02), sizes, settings(strategy=strategy))
    # THEN the best size wins, alone, for a quarter of fixed sampling's invocations at most
    assert state.reason == "separated"
    assert state.candidates == (best_by_brute_force(means, strategy),)
    assert state.invocations < 50 * len(sizes) / 4


@pytest.mark.parametrize("seed", range(5))
def test_no_elimination_on_a_tie(seed):
    # GIVEN two sizes with the same duration distribution (10% noise), no tolerance, a cap of 4 rounds
    # (at 99.9%: every look may drop a size by chance at 1 - confidence, and there are three looks)
    tie = settings(tolerance=0.0, confidence=0.999, max_per_size=12)
    model = noisy({512: 100.0, 1024: 100.0}, spread=0.1)
    # WHEN raced to the end
    log: list = []
    state = race(model, [512, 1024], tie, seed=seed, log=log)
    # THEN every round measured both: nothing told them apart
    assert len(log) == 4
    assert all([item.value for item in batch] == [512, 1024] for batch in log)
    assert state.candidates == (512, 1024)


def test_budget_caps_every_size_at_num():
    # GIVEN a tie that can never be separated (no tolerance, high confidence) and num 12
    tie = settings(tolerance=0.0, confidence=0.999, max_per_size=12)
    state = race(noisy({512: 100.0, 1024: 100.0}, spread=0.1), [512, 1024], tie)
    # THEN it stops on the budget with exactly num invocations per size, never more
    assert state.done
    assert state.reason == "budget"
    assert [s.count for s in state.sizes] == [12, 12]
    assert set(state.candidates) == {512, 1024}


def test_a_tie_within_tolerance_ends_before_the_budget():
    state = race(noisy({512: 100.0, 1024: 100.5}, spread=0.02), [512, 1024], settings(tolerance=0.05))
    assert state.done
    assert len(state.candidates) == 1
    assert state.invocations < 2 * 50 / 2


def test_heavy_tail_outliers_do_not_eliminate_the_best_size():
    # GIVEN the truly faster size (100 ms) stalls 30x now and then (1 in 8 after its first round,
    # and once in its first round: the worst case for a 3-invocation round); the other is a steady 130 ms
    def model(memory: int, i: int, rng: random.Random) -> tuple[float, float]:
        if memory == 512:
            stall = i == 1 or (i >= 3 and i % 8 == 0)
            return (3000.0 if stall else 100 * (1 + rng.uniform(-0.05, 0.05)), 0.0)
        return (130 * (1 + rng.uniform(-0.05, 0.05)), 0.0)

    for seed in range(20):
        state = race(model, [512, 1024], settings(), seed=seed)
        # THEN the stalls are trimmed away, not mistaken for the size's speed
        assert state.candidates == (512,), (seed, state.candidates)


def test_skipped_sizes_leave_the_race():
    state = start([128, 512], settings())
    skipped = batch_result(512, [report(512, 10.0)] * 3, PRICE, 0.2)
    oom = replace(skipped, value=128, skipped=True, reason="Runtime.OutOfMemory: killed", samples=())
    state = decide(record(state, [oom, skipped], settings()), settings())
    assert state.candidates == (512,)
    assert state.done
    results = {r.value: r for r in size_results(state, settings())}
    assert results[128].skipped
    assert (results[128].reason or "").startswith("Runtime.OutOfMemory")


def first_round(values: dict[int, list[float]], race_settings):
    """One round measured: per size a cold first invocation, then the given warm durations."""
    state = start(sorted(values), race_settings)
    results = [
        batch_result(m, [report(m, 1000.0, 300.0), *(report(m, d) for d in warm)], PRICE, 0.2)
        for m, warm in values.items()
    ]
    return decide(record(state, results, race_settings), race_settings)


def test_one_lucky_invocation_of_the_leader_does_not_drop_a_faster_size():
    # GIVEN SeBS's 210 compression benchmark, where 2,048 MB is truly 10% faster than 3,008 MB (a second
    # mode of slow runs at both sizes), and a first round in which 3,008 MB drew one of its fastest runs:
    # without the guard, 2,048 MB was dropped here with two warm samples each
    race_settings = settings(strategy="speed")
    state = first_round({2048: [196.0, 183.0], 3008: [148.0, 177.0]}, race_settings)
    # THEN the race goes on: without 3,008 MB's luckiest run the two are 3% apart, within the tolerance
    assert state.candidates == (2048, 3008)
    assert not state.done


def test_a_size_that_loses_even_without_its_slowest_invocation_is_dropped_on_two_samples():
    # GIVEN a size that is 30% slower in every invocation (the guard removes its slowest one)
    race_settings = settings(strategy="speed")
    state = first_round({1024: [131.0, 129.0], 2048: [100.0, 101.0]}, race_settings)
    # THEN it is out after the first round
    assert state.eliminated == (1024,)
    assert state.candidates == (2048,)


@pytest.mark.parametrize(
    ("discard", "count"),
    [(0.2, 5), (0.1, 10), (0.25, 4), (0.4, 3), (0.0, 2)],
)
def test_the_guard_lasts_until_the_trim_sets_a_value_aside_at_each_end(discard, count):
    assert robust_count(settings(discard_top_bottom=discard)) == count
