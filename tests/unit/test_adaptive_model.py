"""One model of duration against memory over the sizes measured: the fit, its check, skipping, jumping."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from powertuning.adaptive.auto import propose
from powertuning.adaptive.model import DurationModel, Point, fit, probes, skip_margin
from powertuning.adaptive.outcome import confidence_statement
from powertuning.input_kinds import AUTO_GRID
from powertuning.local.cpu_model import cpu_duration_ms
from tests.adaptive_sim import PRICE, measured_state, noisy, race, settings

SIZES = [128, 256, 384, 512, 768, 1024, 1536, 1769, 2048, 3008]


def io_heavy(memory: int) -> float:
    """400 ms of waiting and 400 ms of work at one vCPU: more memory soon costs more than it saves."""
    return 400 + 400 * 1769 / min(memory, 1769)


def cpu_bound(memory: int) -> float:
    """50 ms of waiting and 400 ms of single-threaded work at one vCPU: a plateau from 1,769 MB."""
    return 50 + 400 * 1769 / min(memory, 1769)


def test_the_fit_is_exact_on_a_cpu_bound_curve():
    # GIVEN the exact durations of the CPU-share model at six sizes, with a tiny standard error
    points = [Point(m, cpu_bound(m), 1e-6) for m in (128, 512, 1024, 1769, 2048, 3008)]
    # WHEN fitted
    result = fit(points)
    # THEN the parameters are the curve's, and it fits
    assert result.fits
    assert result.model == DurationModel(pytest.approx(50), pytest.approx(400 * 1769), 1769)
    assert result.worst == pytest.approx(0, abs=1e-3)
    assert result.model.duration(3008) == pytest.approx(cpu_bound(3008))


def test_no_plateau_is_claimed_at_the_largest_size_measured():
    # GIVEN a function still CPU-bound at the largest size measured
    points = [Point(m, cpu_bound(m), 1e-6) for m in (128, 256, 384, 512)]
    # THEN nothing above 512 MB shows a plateau: the fit predicts larger sizes faster still
    result = fit(points)
    assert result.fits
    assert result.model.plateau == math.inf
    assert result.model.duration(1024) < result.model.duration(512)


def test_the_fastest_a_size_can_be_allows_one_quota_slice_of_burst():
    # GIVEN 8 ms of CPU work at one vCPU and 5 ms of waiting (a short function)
    model = DurationModel(steady=5.0, cpu=8.0 * 1769, plateau=math.inf)
    # THEN below one vCPU a burst can save up to a slice's wait on the linear share, never running
    # faster than at one vCPU; from one vCPU on, the share is never the limit
    assert model.fastest(752) == pytest.approx(max(model.duration(752) - 20.0, model.duration(1769)))
    assert model.fastest(752) == pytest.approx(13.0)
    assert model.fastest(256) == pytest.approx(model.duration(256) - 20.0)
    assert model.fastest(3008) == model.duration(3008)


def test_a_stepped_cost_curve_keeps_the_step_edge_the_smooth_fit_would_skip():
    # GIVEN a short function under Lambda's CPU quota (the local runtime's model): cost rises within
    # each step and drops where the burst fits in one slice, so the cheapest size is a step's edge
    sizes = [128 + 52 * k for k in range(20)]
    durations = {m: 5.0 + cpu_duration_ms(8.0, m) for m in sizes}
    cheapest = min(sizes, key=lambda m: PRICE.invocation_cost(math.ceil(durations[m]), m))
    assert cheapest > 512  # above every cost probe
    # WHEN raced for cost
    state = race(noisy(durations, spread=0.03), sizes, settings(strategy="cost"))
    # THEN the edge was not skipped on the smooth model's word, and it is the pick
    assert cheapest not in state.skipped_by_model
    assert confidence_statement(state, settings(strategy="cost"))["pick"] == cheapest


def test_a_stepped_curve_does_not_fit_and_three_sizes_cannot_be_checked():
    # GIVEN durations in steps (short CPU bursts: the quota is enforced per 20 ms slice), 1% standard error
    stepped = {128: 400.0, 256: 400.0, 512: 100.0, 1024: 100.0, 1769: 25.0, 3008: 25.0}
    result = fit([Point(m, d, (0.01 * d) ** 2) for m, d in stepped.items()])
    # THEN the model notices it is off and says by how much
    assert not result.fits
    assert result.worst > 3
    assert "standard errors off" in result.reason
    # AND three sizes determine the model without a check: not trusted either
    few = fit([Point(m, cpu_bound(m), 1.0) for m in (128, 512, 1769)])
    assert (few.fits, few.checked) == (False, False)


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        # balanced: the optimum is inside, so the probes spread on a log scale, ends included
        ("balanced", (128, 384, 1024, 3008)),
        # cost: CPU at most proportional to memory makes a bigger size dearer, so the smallest
        # first, over a factor of 4 of memory (enough leverage to fit the CPU part)
        ("cost", (128, 256, 384, 512)),
    ],
)
def test_probes_go_where_the_strategy_can_win(strategy, expected):
    assert probes(SIZES, strategy) == expected
    # five sizes or fewer: all measured, the model could skip none
    assert probes([128, 256, 512, 1024, 2048], strategy) == (128, 256, 512, 1024, 2048)


def test_speed_probes_the_two_largest_sizes_of_any_list():
    # more memory is never slower on Lambda: the fastest size is the largest or as fast as it
    assert probes(SIZES, "speed") == (2048, 3008)
    assert probes([128, 256, 512, 1024, 2048], "speed") == (1024, 2048)
    assert probes([512, 1024], "speed") == (512, 1024)


def test_cost_probes_span_a_factor_of_four_of_memory():
    # never a narrow cluster at the small end of a long list: the fit would extrapolate its noise
    assert probes(list(range(128, 3009, 64)), "cost") == (128, 192, 320, 512)
    # a short list with fewer than four sizes in that span: its four smallest
    assert probes([128, 256, 1024, 1536, 2048, 3008], "cost") == (128, 256, 1024, 1536)


def test_listed_sizes_the_model_shows_clearly_worse_are_never_measured():
    # GIVEN ten listed sizes of a function that waits half the time, cost strategy
    model = noisy({m: io_heavy(m) for m in SIZES}, spread=0.03)
    log: list = []
    state = race(model, SIZES, settings(strategy="cost"), log=log)
    # THEN the first round measured only the probes, and the sizes the fit put far behind were skipped
    assert [item.value for item in log[0]] == [128, 256, 384, 512]
    assert state.skipped_by_model
    measured = {s.value for s in state.sizes if s.count}
    assert not measured & set(state.skipped_by_model)
    assert set(state.skipped_by_model) | measured == set(SIZES)
    # AND the pick is the cheapest size, and the statement names what was skipped and the cold starts
    statement = confidence_statement(state, settings(strategy="cost"))
    assert statement["pick"] == 128
    assert statement["skippedByModel"] == list(state.skipped_by_model)
    assert statement["coldStarts"] == 0  # the simulated target has no cold starts
    # WITHOUT the model every listed size is measured
    plain = race(model, SIZES, settings(strategy="cost", model=False))
    assert {s.value for s in plain.sizes if s.count} == set(SIZES)


def test_a_super_linear_speed_up_past_the_cost_probes_sends_every_listed_size_to_the_race():
    # GIVEN cost falling with memory up to 1,024 MB: a super-linear speed-up (the function thrashes
    # its memory below that), which Lambda's CPU model does not predict, then the usual rise
    def starved(memory: int) -> float:
        return 200 + 400 * 1769 / min(memory, 1769) * (4096 / memory if memory < 1024 else 1)

    log: list = []
    state = race(
        noisy({m: starved(m) for m in SIZES}, spread=0.03), SIZES, settings(strategy="cost"), log=log
    )
    # THEN the probes were the smallest sizes; cost falling over them does not fit the model, so
    # nothing was skipped on its word: the walk climbed the list while cost surely fell, found the
    # cheapest size above the probes, and spent no cold start on the sizes above it
    assert [item.value for item in log[0]] == [128, 256, 384, 512]
    measured = {s.value for s in state.sizes if s.count}
    assert {768, 1024} <= measured
    assert set(state.skipped_by_model) == set(SIZES) - measured
    assert all(m > 1024 for m in state.skipped_by_model)
    assert confidence_statement(state, settings(strategy="cost"))["pick"] == 1024


def test_a_stepped_curve_falls_back_to_measuring_every_listed_size():
    stepped = {m: (400.0 if m < 512 else 100.0 if m < 1769 else 25.0) for m in SIZES}
    state = race(noisy(stepped, spread=0.01), SIZES, settings(strategy="balanced"))
    assert state.skipped_by_model == ()
    assert {s.value for s in state.sizes if s.count} == set(SIZES)


def test_speed_measures_only_the_largest_sizes_of_a_curve_that_never_slows_with_memory():
    # GIVEN a single-threaded function (a plateau from one vCPU) and a stepped one, raced for speed
    stepped = {m: (400.0 if m < 512 else 100.0 if m < 1769 else 25.0) for m in SIZES}
    for means in ({m: cpu_bound(m) for m in SIZES}, stepped):
        log: list = []
        state = race(noisy(means, spread=0.05, cold_ms=300), SIZES, settings(strategy="speed"), log=log)
        # THEN only the two largest were ever invoked: no smaller size can be faster
        assert [item.value for item in log[0]] == [2048, 3008]
        assert {s.value for s in state.sizes if s.count} == {2048, 3008}
        assert set(state.skipped_by_model) == set(SIZES) - {2048, 3008}
        assert confidence_statement(state, settings(strategy="speed"))["pick"] in (2048, 3008)


def test_speed_walks_down_where_a_larger_size_measured_slower():
    # GIVEN a curve that is not monotone past the plateau (another host at the largest size, as on
    # SeBS 210): 3,008 MB 20% slower than 2,048 MB, and 1,769 MB faster still
    means = {m: cpu_bound(m) for m in SIZES}
    means[3008] = means[2048] * 1.2
    means[1769] = means[2048] * 0.8
    state = race(noisy(means, spread=0.03), SIZES, settings(strategy="speed"))
    # THEN the walk went below the leader while its larger neighbour measured slower, found 1,769 MB,
    # and stopped there: 1,536 MB is slower, so nothing below it was invoked
    measured = {s.value for s in state.sizes if s.count}
    assert {1769, 2048, 3008} <= measured
    assert all(m >= 1536 for m in measured)
    assert confidence_statement(state, settings(strategy="speed"))["pick"] == 1769


def test_auto_jumps_to_the_predicted_optimum_instead_of_walking():
    # GIVEN a function still CPU-bound at one vCPU, measured at the first ladder of "auto"
    means = {m: 50 + 400 * 1769 / m for m in (128, 512, 1769)}
    state = measured_state(means, (512,))
    balanced = settings(strategy="balanced", auto=True)
    # WHEN balanced asks where to look next
    jumped = propose(state, balanced)
    walked = propose(state, replace(balanced, model=False))
    # THEN the model jumps to the grid size with the best balanced score on its curve (normalised by
    # the measured sizes, as the race does), where the walk looks one grid step each side of the leader
    price = balanced.price

    def score(m: int, d: float) -> float:
        return 0.5 * price.invocation_cost(math.ceil(d), m) / top_cost + 0.5 * d / top_duration

    top_cost = max(price.invocation_cost(math.ceil(d), m) for m, d in means.items())
    top_duration = max(means.values())
    best = min(AUTO_GRID, key=lambda m: (score(m, 50 + 400 * 1769 / m), m))
    assert best not in means
    assert jumped == (best,)
    assert walked == (256, 1024)


def test_the_skip_is_the_race_s_drop_test_but_for_balanced():
    # cost and speed: a size that cannot beat the leader by more than the tolerance is skipped, as
    # the race drops it measured; balanced's objective moves with the sizes measured: clearly worse
    assert skip_margin(settings(strategy="cost", tolerance=0.05)) == -0.05
    assert skip_margin(settings(strategy="speed", tolerance=0.1)) == -0.1
    assert skip_margin(settings(strategy="balanced", tolerance=0.05)) == 0.05
