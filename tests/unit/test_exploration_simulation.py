"""benchmarks/exploration_simulation.py: ground truth, the simulated target, wall time, Parrotfish."""

from __future__ import annotations

import math
import random

import pytest

from benchmarks import exploration_simulation
from benchmarks.exploration_curves import Curve, Obs, Population, load_curves
from benchmarks.exploration_simulation import Truth
from powertuning.pricing import lambda_price


def test_truth_and_regret_follow_the_analyzer():
    flat = {m: Population(tuple(Obs(d) for d in (100.0, 100.0, 100.0, 100.0, 5000.0))) for m in (128, 256)}
    truth = Truth.of(Curve("flat", "x86_64", flat), [128, 256], lambda_price("us-east-1"))
    # The outlier is trimmed away (discardTopBottom 0.2), as the Analyzer does
    assert truth.results[128].average_duration == 100.0
    assert truth.best("cost") == 128
    assert truth.regret("cost", 256) == pytest.approx(
        truth.results[256].average_price / truth.results[128].average_price - 1
    )
    assert truth.regret("speed", 256) == 0.0


def test_wall_time_follows_the_state_machine_parallelism(plain_curve):
    (curve,) = load_curves(str(plain_curve))
    price = lambda_price("us-east-1")
    # GIVEN fixed sampling: every size at once (the Map), each size's invocations one after the other
    run = exploration_simulation.run_fixed(curve, "cost", 5, random.Random(3), price, cold=True)
    target = exploration_simulation.Target(curve, random.Random(3))
    per_size = [exploration_simulation.sequential_ms(target.invoke(m, 5)) for m in curve.sizes]
    # THEN the wall time is the slowest size's sum
    assert run.wall_ms == pytest.approx(max(per_size))
    assert exploration_simulation.concurrent_ms([]) == 0.0


def test_the_exponential_fit_recovers_parrotfish_model():
    # GIVEN durations that follow a0 + a1 exp(-m / a2) exactly
    memories = [128, 128, 1089, 1089, 3008, 3008, 600]
    durations = [80 + 2000 * math.exp(-m / 400) for m in memories]
    fit = exploration_simulation.fit_exponential(memories, durations)
    # THEN the least-squares fit is that curve
    assert (fit.a0, fit.a1, fit.a2) == pytest.approx((80, 2000, 400), rel=1e-4)
    # A flat sample is a constant
    flat = exploration_simulation.fit_exponential([128, 1024, 2048], [50.0, 50.0, 50.0])
    assert flat(512) == pytest.approx(50.0)


def test_parrotfish_explores_as_its_defaults_say_and_recommends_from_the_fit(plain_curve):
    (curve,) = load_curves(str(plain_curve))
    price = lambda_price("us-east-1")
    truth = Truth.of(curve, curve.sizes, price)
    for seed in range(5):
        run = exploration_simulation.run_parrotfish(curve, random.Random(seed), price, cold=True)
        sizes = sorted(run.per_size)
        # GIVEN its first probes: the smallest size, a third of the way up the space, the largest
        assert {128, 128 + math.ceil((2048 - 128 + 1) / 3), 2048} <= set(sizes)
        # 4 cold + 4 measured per size, up to 8 more; at most 6 sizes (more than 20 data points stop it)
        assert all(8 <= n <= 16 for n in run.per_size.values())
        assert 3 <= len(sizes) <= 6
        # THEN it recommends a size of its space, as cheap as the best measured one within 5%
        assert 128 <= run.chosen <= 2048
        picked = Truth.of(curve, [*curve.sizes, run.chosen], price)
        assert picked.regret("cost", run.chosen) < 0.05, (seed, run.chosen)
        assert run.step_functions_usd == 0.0
        assert run.wall_ms > 0
    assert truth.best("cost") == 128
