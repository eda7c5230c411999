"""Each size's estimate: the cold first invocation left out, the spread pooled over sizes."""

from __future__ import annotations

import pytest

from powertuning.adaptive.estimates import estimates, kept_samples
from powertuning.adaptive.state import AdaptiveState, SizeSamples
from tests.adaptive_sim import settings


def test_the_cold_first_invocation_is_left_out_of_the_estimate():
    samples = ((900.0, 1100.0, 200.0), (100.0, 100.0, 0.0), (102.0, 102.0, 0.0))
    assert kept_samples(samples) == list(samples[1:])
    # Every invocation cold (onlyColdStarts, or a function that never stays warm): keep them all.
    every_cold = ((900.0, 1100.0, 200.0), (950.0, 1150.0, 200.0))
    assert kept_samples(every_cold) == list(every_cold)
    # A later cold start belongs to the function's steady state.
    late = ((100.0, 100.0, 0.0), (900.0, 1100.0, 200.0), (101.0, 101.0, 0.0))
    assert kept_samples(late) == list(late)


def test_estimates_pool_the_spread_but_keep_a_heavier_own_spread():
    sizes = (
        SizeSamples(128, ((100.0, 100.0, 0.0), (110.0, 110.0, 0.0), (105.0, 105.0, 0.0))),
        SizeSamples(256, ((50.0, 50.0, 0.0), (50.0, 50.0, 0.0), (50.0, 50.0, 0.0))),
        SizeSamples(512, ((10.0, 10.0, 0.0), (90.0, 90.0, 0.0), (50.0, 50.0, 0.0))),
    )
    state = AdaptiveState(sizes=sizes, candidates=(128, 256, 512))
    est = estimates(state, settings())
    # 256 MB had three identical samples: it borrows the pool's spread (and its degrees of freedom)
    assert est[256].variance > 0
    assert est[256].df == est[128].df == 6
    # 512 MB is far noisier than the pool: its own spread and its own 2 degrees of freedom
    assert est[512].df == 2
    assert est[512].mean == pytest.approx(50.0)
