"""benchmarks/fleet.py: the figures it prints come from these functions (no timing asserted)."""

from __future__ import annotations

import pytest

from benchmarks import fleet as bench
from benchmarks.exploration_curves import DATA


def test_the_parent_history_does_not_grow_with_the_fleet() -> None:
    # ExecutionStarted/Succeeded, two Lambda Tasks (5 each), the Map (6), a Choice and a Pass (2 each)
    assert bench.parent_history_events() == 2 + 5 + 6 + 5 + 2 + 2


def test_makespan_runs_tunings_concurrency_at_a_time() -> None:
    assert bench.makespan_s([10.0, 10.0, 10.0, 10.0], 2) == 20.0
    assert bench.makespan_s([30.0, 10.0, 10.0, 10.0], 2) == 30.0
    assert bench.makespan_s([], 5) == 0.0


@pytest.mark.skipif(not DATA.is_dir(), reason="needs ../shared/data")
def test_a_small_fleet_simulates_and_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    bench.simulate(12, seed=3, concurrencies=[5])
    out = capsys.readouterr().out
    assert "Parent execution: 22 history events for 12 functions" in out
    assert "maxConcurrency   5" in out
    assert "Summary of 12 functions ranked" in out
