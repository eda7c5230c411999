"""powertuning/workflow/duration.py and simulate.py: the distribution of a stats item and the Monte
Carlo composition along the graph."""

from __future__ import annotations

import math
import random

import pytest

from powertuning import stats
from powertuning.size_stats import SizeStats
from powertuning.workflow import graph as g
from powertuning.workflow.duration import LEVELS, Duration, segment_of
from powertuning.workflow.simulate import (
    FASTEST,
    INLINE_MAP_LIMIT,
    Option,
    Simulation,
    expected_calls,
    statistic,
)


def constant(ms: float, memory: int = 128) -> Option:
    return Option(memory, "x86_64", 1e-6, Duration.constant(ms))


def fixed(name: str, *samples: float) -> g.Fixed:
    return g.Fixed(name, tuple(samples), "Wait")


def lognormal_item(seed: int = 1, n: int = 4000) -> tuple[SizeStats, list[float]]:
    rng = random.Random(seed)
    xs = [rng.lognormvariate(4, 0.5) for _ in range(n)]
    item = SizeStats(
        value=512,
        average_price=1e-6,
        average_duration=stats.trimmed_mean(xs, 0.2),
        p50=stats.percentile(xs, 50),
        p90=stats.percentile(xs, 90),
        p95=stats.percentile(xs, 95),
        p99=stats.percentile(xs, 99),
    )
    return item, xs


# -- the distribution of one stats item ---------------------------------------------------------------


def test_the_inverse_cdf_passes_through_the_measured_quantiles() -> None:
    item, _ = lognormal_item()
    duration = Duration.from_stats(item)
    for level, value in zip(LEVELS[1:], (item.p50, item.p90, item.p95, item.p99), strict=True):
        assert duration.quantile(level) == pytest.approx(value)


@pytest.mark.parametrize("discard", [0.0, 0.1, 0.2, 0.3])
def test_the_lowest_knot_matches_the_trimmed_mean_the_tuner_reported(discard: float) -> None:
    _, xs = lognormal_item(seed=2)
    item = SizeStats(
        value=512,
        average_price=1e-6,
        average_duration=stats.trimmed_mean(xs, discard),
        p50=stats.percentile(xs, 50),
        p90=stats.percentile(xs, 90),
        p95=stats.percentile(xs, 95),
        p99=stats.percentile(xs, 99),
    )
    duration = Duration.from_stats(item, discard)
    trimmed = duration.integral(discard, 1 - discard) / (1 - 2 * discard)
    assert trimmed == pytest.approx(item.average_duration, rel=1e-9)
    assert 0 <= duration.knots[0] <= item.p50  # type: ignore[operator]


def test_the_model_of_a_lognormal_sample_is_close_to_the_sample() -> None:
    # GIVEN a skewed measured sample WHEN only its stats item is known
    item, xs = lognormal_item(seed=3)
    duration = Duration.from_stats(item)
    # THEN the model's mean is within 5% of the sample's (the exponential tail stands in for the rest)
    assert duration.mean() == pytest.approx(sum(xs) / len(xs), rel=0.05)


def test_the_tail_above_p99_is_exponential_with_the_p95_p99_scale() -> None:
    item = SizeStats(value=128, average_price=1e-6, average_duration=50, p50=50, p90=80, p95=90, p99=100)
    duration = Duration.from_stats(item)
    assert duration.tail_ms == pytest.approx(10 / math.log(5))
    # Q(0.999) = p99 + s ln(0.01 / 0.001)
    assert duration.quantile(0.999) == pytest.approx(100 + duration.tail_ms * math.log(10))
    # the integral of the tail is 0.01 (p99 + s), checked against a fine midpoint sum
    steps = 200_000
    numeric = sum(duration.quantile(0.99 + 0.01 * (i + 0.5) / steps) for i in range(steps)) * 0.01 / steps
    assert duration.integral(0.99, 1.0) == pytest.approx(0.01 * (100 + duration.tail_ms), rel=1e-3)
    assert numeric == pytest.approx(duration.integral(0.99, 1.0), rel=1e-3)


def test_an_item_without_percentiles_is_a_constant() -> None:
    duration = Duration.from_stats(SizeStats(value=128, average_price=1e-6, average_duration=42.0))
    assert {duration.quantile(u) for u in (0.0, 0.3, 0.99, 0.9999)} == {42.0}


def test_percentiles_out_of_order_are_made_monotone() -> None:
    item = SizeStats(value=128, average_price=1e-6, average_duration=50, p50=50, p90=80, p95=79, p99=100)
    knots = Duration.from_stats(item).knots
    assert list(knots) == sorted(knots)


def test_values_and_quantile_agree() -> None:
    item, _ = lognormal_item()
    duration = Duration.from_stats(item)
    us = [i / 1000 for i in range(1000)] + [0.9995, 0.99999]
    assert duration.values(us, [segment_of(u) for u in us]) == pytest.approx(
        [duration.quantile(u) for u in us]
    )


def test_dominance_needs_every_quantile_and_the_tail() -> None:
    slow = Duration((10, 20, 30, 40, 50), 5)
    assert slow.dominated_by(Duration((9, 20, 30, 40, 50), 5))
    assert not slow.dominated_by(Duration((9, 20, 30, 40, 51), 5))
    assert not slow.dominated_by(Duration((9, 20, 30, 40, 50), 6))


# -- the composition ----------------------------------------------------------------------------------


def simulate(root: g.Node, options: dict[str, list[Option]], draws: int = 4000) -> list[float]:
    sim = Simulation(root, options, draws=draws, seed=11)
    return sim.durations(dict.fromkeys(sim.functions, 0))


def test_a_sequence_adds_calls_times_duration_plus_overhead() -> None:
    root = g.Sequence((g.Task("A", "a", calls=2.0, overhead_ms=5.0), g.Task("B", "b"), fixed("W", 7.0)))
    values = simulate(root, {"a": [constant(100)], "b": [constant(30)]})
    assert set(values) == {2 * 100 + 5 + 30 + 7}


def test_a_parallel_takes_its_slowest_branch() -> None:
    root = g.Parallel("P", (g.Task("A", "a"), g.Sequence((g.Task("B", "b"), g.Task("C", "c")))))
    values = simulate(root, {"a": [constant(100)], "b": [constant(30)], "c": [constant(50)]})
    assert set(values) == {100}


@pytest.mark.parametrize(
    ("items", "concurrency", "distributed", "waves"),
    [
        (10, 3, False, 4),
        (9, 3, False, 3),
        (50, 0, False, 2),  # an inline Map runs at most 40 at once on AWS
        (50, 100, False, 2),
        (50, 0, True, 1),  # a distributed one runs each item as its own child workflow
        (0, 3, False, 0),
    ],
)
def test_a_map_runs_in_waves_of_its_concurrency(
    items: int, concurrency: int, distributed: bool, waves: int
) -> None:
    assert INLINE_MAP_LIMIT == 40
    root = g.Map("M", g.Task("A", "a"), ((items, 1.0),), concurrency, distributed)
    assert set(simulate(root, {"a": [constant(100)]}, draws=50)) == {100 * waves}


def test_a_wave_lasts_as_long_as_its_slowest_item() -> None:
    # GIVEN an item that takes 0 or 100 ms with even odds, 3 items at once
    root = g.Map("M", fixed("W", 0.0, 100.0), ((3, 1.0),), 3)
    values = simulate(root, {})
    # THEN the wave takes 100 ms unless all three took 0: 1 - 0.5^3
    assert sum(v == 100 for v in values) / len(values) == pytest.approx(0.875, abs=0.02)


def test_item_counts_are_drawn_by_their_weights() -> None:
    root = g.Map("M", g.Task("A", "a"), ((1, 3.0), (2, 1.0)), 1)
    values = simulate(root, {"a": [constant(10)]})
    assert sum(v == 20 for v in values) / len(values) == pytest.approx(0.25, abs=0.02)


def test_a_choice_runs_one_option_by_its_frequency() -> None:
    root = g.Choice("C", ((0.25, fixed("Slow", 100.0)), (0.75, fixed("Fast", 0.0))))
    values = simulate(root, {})
    assert sum(values) / len(values) == pytest.approx(25, abs=2)


def test_a_fixed_state_is_resampled_from_the_history() -> None:
    values = simulate(fixed("W", 10.0, 20.0, 30.0), {})
    assert set(values) == {10.0, 20.0, 30.0}
    assert sum(values) / len(values) == pytest.approx(20, abs=0.5)


def test_a_nested_workflow_is_its_body() -> None:
    root = g.Nested("N", "arn:aws:states:us-east-1:123456789012:stateMachine:child", g.Task("A", "a"))
    assert set(simulate(root, {"a": [constant(12)]}, draws=10)) == {12}


def test_the_statistic_is_taken_on_the_whole_not_summed() -> None:
    # GIVEN two independent steps each with its own p90
    item, _ = lognormal_item()
    option = Option(512, "x86_64", 1e-6, Duration.from_stats(item))
    values = simulate(
        g.Sequence((g.Task("A", "a"), g.Task("B", "b"))), {"a": [option], "b": [option]}, 20_000
    )
    # THEN the sequence's p90 is below the sum of their p90s (a sum of p90s is not a p90)
    assert statistic(values, "p90") < 2 * item.p90 * 0.95  # type: ignore[operator]
    assert statistic(values, "average") == pytest.approx(2 * option.duration.mean(), rel=0.03)


def test_common_random_numbers_make_comparisons_repeatable() -> None:
    item, _ = lognormal_item()
    slow = Option(128, "x86_64", 1e-6, Duration.from_stats(item))
    fast = Option(256, "x86_64", 2e-6, slow.duration.blend(Duration.constant(0), 0.5))
    root = g.Sequence((g.Task("A", "a"), g.Task("B", "b")))
    options = {"a": [slow, fast], "b": [slow, fast]}
    one, two = Simulation(root, options, seed=5), Simulation(root, options, seed=5)
    first = one.durations({"a": 0, "b": 0})
    # the same seed gives the same draws; changing a's size moves every draw by a's difference only
    assert two.durations({"a": 0, "b": 0}) == first
    changed = one.durations({"a": 1, "b": 0})
    assert all(c <= f for c, f in zip(changed, first, strict=True))
    assert one.durations({"a": 0, "b": 0}) == first


def test_fastest_is_the_fastest_option_at_every_draw() -> None:
    a = Option(128, "x86_64", 1e-6, Duration((0, 100, 100, 100, 100), 0))
    b = Option(256, "x86_64", 2e-6, Duration((50, 50, 200, 200, 200), 0))
    sim = Simulation(g.Task("A", "a"), {"a": [a, b]}, draws=500)
    low = sim.durations({"a": FASTEST})
    assert low == [min(x, y) for x, y in zip(sim.durations({"a": 0}), sim.durations({"a": 1}), strict=True)]


def test_expected_calls_multiply_by_items_and_choice_frequencies() -> None:
    root = g.Sequence(
        (
            g.Task("A", "a", calls=1.5),
            g.Map("M", g.Task("B", "b"), ((10, 1.0), (20, 1.0)), 3),
            g.Choice("C", ((0.2, g.Task("D", "a")), (0.8, fixed("W", 1.0)))),
        )
    )
    assert expected_calls(root) == pytest.approx({"a": 1.7, "b": 15.0})


def test_explain_shares_add_up_and_name_the_slowest_path() -> None:
    root = g.Sequence(
        (
            g.Task("A", "a"),
            g.Parallel("P", (g.Task("Slow", "b"), g.Task("Quick", "c"))),
            g.Map("M", g.Task("Item", "d"), ((4, 1.0),), 2),
        )
    )
    options = {"a": [constant(10)], "b": [constant(100)], "c": [constant(1)], "d": [constant(20)]}
    sim = Simulation(root, options, draws=200)
    explained = sim.explain(dict.fromkeys(sim.functions, 0))
    shares = {node.name: share for node, _, share in explained.steps}  # type: ignore[union-attr]
    assert shares == pytest.approx(
        {"A": 10 / 150, "P": 100 / 150, "Slow": 100 / 150, "Quick": 0, "M": 40 / 150, "Item": 40 / 150}
    )
    assert explained.critical_path == ("A", "P", "Slow", "M", "Item")
    parents = {node.name: parent for node, parent, _ in explained.steps}  # type: ignore[union-attr]
    assert parents == {"A": None, "P": None, "Slow": "P", "Quick": "P", "M": None, "Item": "M"}


def test_a_function_without_options_is_refused() -> None:
    with pytest.raises(ValueError, match="no sizes to choose from for a"):
        Simulation(g.Task("A", "a"), {})
