"""benchmarks/exploration_loo.py: the grid, the constants it sets, the choice without the held-out curve."""

from __future__ import annotations

import pytest

from benchmarks import exploration
from benchmarks import exploration_loo as loo
from powertuning.adaptive import model


def test_the_grid_starts_with_the_shipped_constants_and_moves_one_at_a_time():
    configs = loo.grid()
    assert configs[0] == loo.shipped()
    for config in configs[1:]:
        assert len(loo._diff(config, configs[0])) == 1


def test_applied_sets_the_model_constants_and_restores_them_even_on_error():
    before = model.FIT_Z
    with loo.applied({**loo.shipped(), "fitZ": 7.0}):
        assert model.FIT_Z == 7.0
    assert before == model.FIT_Z

    def fails() -> None:
        with loo.applied({"probes": 9}):
            assert model.PROBES == 9
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fails()
    assert model.PROBES == 4


def cell(gbs, median=0.0, p90=0.0):
    return {"gbs": gbs, "median": median, "p90": p90}


def scores(a, b, c):
    # Three curves, one strategy, one method each.
    return {("x", "cost"): {"adaptive": a}, ("y", "cost"): {"adaptive": b}, ("z", "cost"): {"adaptive": c}}


def test_each_held_out_curve_gets_the_configuration_chosen_on_the_others():
    configs = [{"slack": 0.03}, {"slack": 0.05}]
    # Config 1 is cheaper on x and y but misses the regret goal on z: chosen in-sample it loses
    # (a miss outweighs any cost); held out z, it wins on x and y.
    all_scores = [
        scores(cell(0.2), cell(0.2), cell(0.2)),
        scores(cell(0.1), cell(0.1), cell(0.1, p90=0.05)),
    ]
    result = loo.leave_one_out(configs, all_scores)
    assert result["inSampleConfig"] == "shipped"
    assert result["heldOut"]["z"]["config"] == {"slack": 0.05}
    assert result["heldOut"]["x"]["config"] == "shipped"
    assert result["pairs"]["z cost"]["leaveOneOut"]["adaptive"]["p90"] == 0.05
    assert result["summary"]["leaveOneOut"]["adaptive"]["regretMissed"] == ["z cost"]
    assert result["summary"]["inSample"]["adaptive"]["regretMissed"] == []
    assert "| z |" in loo.loo_table(result)


def test_by_function_holds_out_every_mbwilding_curve_together():
    assert loo.unit("mbwilding:rust/arm64", "function") == loo.unit("mbwilding:dotnet6/x86_64", "function")
    assert loo.unit("mbwilding:rust/arm64", "curve") != loo.unit("mbwilding:dotnet6/x86_64", "curve")
    assert loo.unit("sebs:311", "function") == "sebs:311"


def test_the_loo_mode_runs_every_configuration_and_restores_the_constants(plain_curve, capsys):
    before = loo.shipped()
    argv = ["--loo", "--curve", str(plain_curve), "--strategy", "cost", "--runs", "2", "--seed", "3"]
    result = exploration.main(argv)
    assert loo.shipped() == before
    assert len(result["configs"]) == len(loo.grid())
    assert set(result["heldOut"]) == {"csv:small"}
    for key in ("shipped", "inSample", "leaveOneOut"):
        assert set(result["summary"][key]) == {"adaptive", "adaptive-auto"}
    assert "LOO / in-sample" in capsys.readouterr().out
