"""Trimmed mean by discardTopBottom, percentiles and small samples."""

from __future__ import annotations

import math
import statistics

import pytest

from powertuning.stats import mean, percentile, t_quantile, trim_count, trimmed, trimmed_mean, yuen

TEN = [10.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0, 4.0, 6.0, 5.0]


def test_mean_of_nothing_is_zero():
    assert mean([]) == 0.0
    assert mean([2, 4]) == 3.0


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [
        (0.0, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        (0.1, [2, 3, 4, 5, 6, 7, 8, 9]),
        (0.2, [3, 4, 5, 6, 7, 8]),
        (0.25, [3, 4, 5, 6, 7, 8]),  # floor(10 x 0.25) = 2 from each end
        (0.4, [5, 6]),
    ],
)
def test_trimmed_drops_floor_n_times_fraction_from_each_end(fraction, expected):
    assert trimmed(TEN, fraction) == expected


def test_trimmed_sorts_and_leaves_its_input_alone():
    values = [3.0, 1.0, 2.0]
    assert trimmed(values, 0.0) == [1.0, 2.0, 3.0]
    assert values == [3.0, 1.0, 2.0]


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([7.0], 0.4, [7.0]),  # one value: floor(0.4) = 0, nothing goes
        ([9.0, 1.0], 0.4, [1.0, 9.0]),  # two values: floor(0.8) = 0
        ([4.0, 1.0, 30.0, 2.0], 0.2, [1.0, 2.0, 4.0, 30.0]),  # floor(0.8) = 0
    ],
)
def test_trimmed_small_samples_keep_everything_when_the_cut_rounds_to_zero(values, fraction, expected):
    assert trimmed(values, fraction) == expected


def test_trimmed_of_three_at_forty_percent_keeps_the_median():
    # floor(3 x 0.4) = 1 value from each end: the middle one stays
    assert trimmed([30.0, 1.0, 2.0], 0.4) == [2.0]


def test_trimmed_always_keeps_at_least_one_value():
    # GIVEN a fraction that would cut everything (only reachable outside the input's 0-0.4 range)
    # WHEN trimming THEN the median value stays
    assert trimmed([1.0, 2.0, 3.0, 4.0], 0.5) == [3.0]
    assert trimmed([], 0.2) == []


def test_trimmed_mean_ignores_outliers():
    # GIVEN one cold start 100x slower than the rest WHEN trimming 20% THEN it does not count
    durations = [10.0] * 9 + [1000.0]
    assert trimmed_mean(durations, 0.2) == 10.0
    assert trimmed_mean(durations, 0.0) == pytest.approx(109.0)


def test_trimmed_mean_default_reference_example():
    assert trimmed_mean(TEN, 0.2) == pytest.approx(5.5)
    assert trimmed_mean(TEN, 0.4) == pytest.approx(5.5)


@pytest.mark.parametrize(
    ("q", "expected"),
    [(0, 1.0), (50, 5.5), (90, 9.1), (99, 9.91), (100, 10.0)],
)
def test_percentile_interpolates_between_closest_ranks(q, expected):
    assert percentile(TEN, q) == pytest.approx(expected)


def test_percentile_small_samples():
    assert percentile([], 50) == 0.0
    assert percentile([4.0], 99) == 4.0
    assert percentile([1.0, 3.0], 50) == 2.0
    assert percentile([3.0, 1.0], 99) == pytest.approx(2.98)


def test_student_t_quantiles():
    assert t_quantile(0.975, 1) == pytest.approx(12.706, abs=1e-3)
    assert t_quantile(0.975, 10) == pytest.approx(2.228, abs=1e-3)
    assert t_quantile(0.95, 1000) == pytest.approx(1.646, abs=1e-3)
    assert t_quantile(0.5, 3) == pytest.approx(0.0, abs=1e-6)
    assert t_quantile(0.95, 0) == math.inf


def test_trimming_keeps_one_value_and_yuen_keeps_two():
    assert trim_count(5, 0.4) == 2
    assert trim_count(5, 0.4, keep=2) == 1
    assert trim_count(2, 0.4, keep=2) == 0


def test_yuen_is_the_trimmed_mean_with_the_winsorized_variance():
    # GIVEN ten values with one stall; 20% trimmed: two from each end
    values = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 1000.0]
    e = yuen(values, 0.2)
    assert e.mean == pytest.approx(statistics.fmean(values[2:8]))
    winsorized = [12.0] * 2 + values[2:8] + [17.0] * 2
    assert e.variance == pytest.approx(9 * statistics.variance(winsorized) / (6 * 5))
    assert (e.df, e.count, e.kept) == (5.0, 10, 6)
