"""benchmarks/workflow.py: the figures it prints come from these functions (no timing asserted)."""

from __future__ import annotations

import pytest

from benchmarks import workflow as bench
from benchmarks.exploration_curves import DATA
from powertuning.workflow import graph as g


@pytest.mark.parametrize("count", [5, 15, 30])
def test_each_workflow_calls_as_many_functions_as_it_says(count: int) -> None:
    root = bench.workflow(count)
    assert len(g.functions(root)) == count
    kinds = {type(n).__name__ for n in g.walk(root)}
    assert {"Sequence", "Parallel"} <= kinds
    if count > 5:
        assert {"Map", "Choice"} <= kinds


@pytest.mark.skipif(not DATA.is_dir(), reason="needs ../shared/data")
def test_a_tiny_run_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    bench.run((5,), num=5, draws=200, seed=3, seconds=0.3)
    out = capsys.readouterr().out
    assert "== 5 functions" in out
    assert "each alone for cost:" in out
    assert "each alone for speed:" in out
    assert out.count("target p90 <=") == 3
    assert "solver: " in out or "unreachable" in out
    assert "tuning: 5 child tunings, simulated $" in out
    assert "fleet --plan estimate $" in out
