"""benchmarks/cold_start_rate.py: the picks and savings it prints come from these functions."""

from __future__ import annotations

import pytest

from benchmarks.cold_start_rate import SizeCost, changes, pick, tuning_extra


def sizes() -> list[SizeCost]:
    # Warm cost flat (CPU-bound), a 1.5 s INIT costing more at a bigger size; faster when bigger.
    return [
        SizeCost(128, 1.0e-5, 1.0e-5 + 3.1e-6, 1500, 4000, 5500),
        SizeCost(512, 1.0e-5, 1.0e-5 + 12.5e-6, 1500, 1000, 2500),
        SizeCost(1024, 1.0e-5, 1.0e-5 + 25e-6, 1500, 500, 2000),
    ]


def test_blended_cost_moves_the_balanced_pick_down_and_saves():
    # GIVEN today's balanced pick WHEN INIT is priced at 20% THEN a smaller size wins, saving money
    assert pick(sizes(), 0.0, "balanced").memory == 1024
    at = {c.rate: c for c in changes("curve", sizes(), "balanced")}
    assert at[0.001].blended == 1024
    assert at[0.20].blended == 512
    assert at[0.20].saving == pytest.approx((25e-6 - 12.5e-6) * 0.2 * 1_000_000)


def test_extra_cold_starts_cost_their_init_premium_per_size():
    extra, base = tuning_extra(sizes(), 10, 3)
    assert extra == pytest.approx(2 * (3.1e-6 + 12.5e-6 + 25e-6))
    assert base == pytest.approx(sum(9 * s.warm + s.cold for s in sizes()))
    assert tuning_extra(sizes(), 10, 1)[0] == 0
