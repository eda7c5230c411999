"""benchmarks/exploration.py: a small seeded run, its figures, tables and goals."""

from __future__ import annotations

import json

import pytest

from benchmarks import exploration


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    report = exploration.main(argv)
    printed = capsys.readouterr().out
    if "--json" in argv:
        assert json.loads(printed) == json.loads(json.dumps(report))
    return report


def test_a_small_seeded_run_reports_every_figure_per_curve_and_method(plain_curve, capsys):
    argv = ["--curve", str(plain_curve), "--strategy", "cost,speed", "--runs", "4", "--seed", "1", "--json"]
    argv += ["--method", "fixed-5,fixed-50,adaptive,adaptive-auto"]
    report = run(argv, capsys)
    figures = report["curves"]["csv:small"]
    assert set(figures) == {"cost", "speed"}
    for strategy, per_strategy in figures.items():
        methods = per_strategy["methods"]
        assert set(methods) == {"fixed-5", "fixed-50", "adaptive", "adaptive-auto"}
        for f in methods.values():
            assert f["gbSeconds"] > 0
            assert f["invocations"] > 0
            assert f["lambdaUsd"] > 0
            assert f["stepFunctionsUsd"] > 0
            assert f["wallSeconds"] > 0
            assert set(f["regret"]) == {"median", "p90", "mean", "max"}
            assert sum(f["picks"].values()) == 4
        assert methods["fixed-50"]["invocations"] == 50 * 5
        # Adaptive spends far less than fixed num=50 on this clear curve and chooses as well
        assert methods["adaptive"]["gbSecondsVsFixed50"] < 0.5
        best = 128 if strategy == "cost" else 2048
        assert per_strategy["best"] == best
        assert methods["adaptive"]["regret"]["median"] == 0.0
        assert methods["adaptive"]["picks"].get(str(best), 0) >= 3
        assert "regretGoalMet" in methods["adaptive"]
        # Every adaptive run states how sure its pick is; on this clear curve the statement holds.
        # Fixed sampling states nothing.
        assert methods["adaptive"]["coverage"] == 1.0
        assert methods["fixed-50"]["coverage"] is None
        # Fewer rounds of fewer invocations: less wall time than fixed num=50, one invocation at a time
        assert methods["adaptive"]["wallVsFixed50"] < 1
    assert set(report["goals"]) == {"adaptive", "adaptive-auto"}


def test_runs_are_reproducible_from_the_seed(plain_curve, capsys):
    argv = [
        "--curve",
        str(plain_curve),
        "--strategy",
        "balanced",
        "--runs",
        "3",
        "--method",
        "fixed-10,adaptive",
    ]
    first = run([*argv, "--seed", "5", "--json"], capsys)
    second = run([*argv, "--seed", "5", "--json"], capsys)
    for report in (first, second):
        for methods in report["curves"]["csv:small"].values():
            for f in methods["methods"].values():
                f.pop("seconds")
    assert first["curves"] == second["curves"]


def test_the_table_has_a_row_per_curve_strategy_and_method(plain_curve, capsys):
    exploration.main(
        ["--curve", str(plain_curve), "--strategy", "cost", "--runs", "2", "--method", "fixed-50,adaptive"]
    )
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| csv:small")]
    assert len(rows) == 2
    assert "| 100.0% |" in rows[0]


def test_bad_options_are_refused(plain_curve):
    with pytest.raises(SystemExit, match="--strategy 'fastest'"):
        exploration.main(["--curve", str(plain_curve), "--strategy", "fastest"])
    with pytest.raises(SystemExit, match="--method 'fixed-7'"):
        exploration.main(["--curve", str(plain_curve), "--method", "fixed-7"])


def test_the_oracle_is_a_lower_bound_that_meets_the_regret_goal(plain_curve, capsys):
    # GIVEN an oracle that knows the two best sizes and pays no cold start
    report = run(
        [
            "--curve",
            str(plain_curve),
            "--strategy",
            "cost",
            "--runs",
            "20",
            "--method",
            "fixed-50,oracle",
            "--json",
        ],
        capsys,
    )
    oracle = report["curves"]["csv:small"]["cost"]["methods"]["oracle"]
    # THEN it measures just those two, as few times as the goal allows, and meets the regret goal
    assert set(oracle["invocationsPerSize"]) == {"128", "256"}
    assert oracle["invocations"] == 2 * oracle["num"]
    assert oracle["regret"]["p90"] <= 0.03
    assert oracle["gbSecondsVsFixed50"] < 0.1


def test_parrotfish_runs_for_cost_only_in_the_benchmark(plain_curve, capsys):
    argv = ["--curve", str(plain_curve), "--strategy", "cost,speed", "--runs", "3", "--json"]
    report = run([*argv, "--method", "fixed-50,adaptive,parrotfish"], capsys)
    figures = report["curves"]["csv:small"]
    assert "parrotfish" in figures["cost"]["methods"]
    assert "parrotfish" not in figures["speed"]["methods"]
    assert figures["cost"]["methods"]["parrotfish"]["gbSecondsVsFixed50"] > 0
    assert report["goals"]["adaptive"]["notBelowParrotfish"] in ([], ["csv:small"])
    exploration.main(
        [*argv[:-1], "--method", "fixed-50,adaptive,adaptive-auto,parrotfish,oracle", "--compact"]
    )
    out = capsys.readouterr().out
    assert "| csv:small | cost |" in out
    assert "- adaptive: GB-s geomean vs fixed-50" in out
    assert "statement holds in fewer runs than the confidence on: none" in out
    assert ", holds 100%" in out


def test_the_plain_race_draws_what_the_race_with_the_model_draws(plain_curve, capsys):
    # GIVEN five listed sizes: too few for the model to probe and skip (it needs six)
    argv = ["--curve", str(plain_curve), "--strategy", "cost", "--runs", "3", "--json"]
    report = run([*argv, "--method", "fixed-50,adaptive,adaptive-plain"], capsys)
    methods = report["curves"]["csv:small"]["cost"]["methods"]
    # THEN with and without the model the runs are the same draws, so the same figures
    same = ("gbSeconds", "invocations", "regret", "picks", "invocationsPerSize")
    assert {k: methods["adaptive"][k] for k in same} == {k: methods["adaptive-plain"][k] for k in same}
