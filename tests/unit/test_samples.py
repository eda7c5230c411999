"""The race's samples: wire form, weights, and the merging that bounds them in the state."""

from __future__ import annotations

import random

import pytest

from powertuning import stats
from powertuning.samples import compact, count, expand, parse


def test_a_weighted_sample_round_trips_and_expands_to_its_count():
    assert parse([1.5, 2, 0]) == (1.5, 2.0, 0.0)
    assert parse([1.5, 2, 0, 4]) == (1.5, 2.0, 0.0, 4)
    assert count([(1.0, 1.0, 0.0), (2.0, 2.0, 0.0, 3)]) == 4
    assert expand([(2.0, 2.0, 0.0, 3)]) == [(2.0, 2.0, 0.0)] * 3


def test_up_to_the_cap_nothing_is_merged():
    samples = tuple((float(i), float(i), 0.0) for i in range(11))
    assert compact(samples, 10) == samples


def test_past_the_cap_samples_merge_into_half_as_many_keeping_the_first_and_the_count():
    # GIVEN a cold first invocation and 120 warm ones with a heavy tail
    rng = random.Random(4)
    warm = [(d, float(round(d)), 0.0) for d in (100 * rng.lognormvariate(0, 0.3) for _ in range(120))]
    samples = ((900.0, 1100.0, 200.0), *warm)
    merged = compact(samples, 50)
    # THEN the cold first stays apart, 25 weighted groups stand for the 120 others
    assert merged[0] == samples[0]
    assert len(merged) == 26
    assert count(merged) == 121
    # AND the trimmed mean the race uses moves by well under a percent
    exact = stats.yuen([s[0] for s in warm], 0.2)
    approx = stats.yuen([s[0] for s in expand(merged[1:])], 0.2)
    assert approx.mean == pytest.approx(exact.mean, rel=0.01)
    # merging again (more rounds) keeps the bound and the count
    again = compact((*merged, *warm[:40]), 50)
    assert len(again) <= 51
    assert count(again) == 161
