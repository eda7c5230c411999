"""benchmarks/exploration.py: curve loaders, interpolation, ground truth, and a small seeded run."""

from __future__ import annotations

import json
import math
import random
import statistics
from pathlib import Path

import pytest

from benchmarks import exploration
from benchmarks.exploration import Curve, Obs, Population, Truth, load_curves
from powertuning.pricing import lambda_price

SUMMARY_FIXTURE = Path(__file__).resolve().parents[1] / "events" / "curve_summary.csv"
SEBS_HEADER = "memory,type,is_cold,exec_time,connection_time,client_time,provider_time,mem_used\n"


def write_plain_curve(path: Path, seed: int = 7) -> Path:
    """A plain CSV curve: 400 ms of waiting plus CPU work, 30 warm rows and 2 cold rows per size."""
    rng = random.Random(seed)
    lines = ["memory_mb,duration_ms,is_cold,init_ms"]
    for memory in (128, 256, 512, 1024, 2048):
        base = 400 + 4000 * 128 / min(memory, 1769)
        lines += [f"{memory},{base * rng.lognormvariate(0, 0.08):.2f},false," for _ in range(30)]
        lines += [f"{memory},{base * 2:.2f},true,250" for _ in range(2)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def plain_curve(tmp_path: Path) -> Path:
    return write_plain_curve(tmp_path / "small.csv")


# -- loaders -----------------------------------------------------------------------------------------


def test_sebs_rows_become_warm_steady_state_and_cold_first_invocations(tmp_path):
    path = tmp_path / "999_result.csv"
    path.write_text(
        SEBS_HEADER
        + "128,warm,False,1000000,0.4,1600000,1002000,50\n"
        + "128,warm,False,1100000,0.4,1700000,1102000,50\n"
        + "128,cold,True,3000000,0.4,3900000,3002000,50\n"
        + "256,warm,False,500000,0.4,1100000,502000,50\n"
        + "256,cold,True,1500000,0.4,2400000,1502000,50\n"
    )
    (curve,) = load_curves(str(path))
    assert curve.name == "sebs:999"
    assert curve.sizes == [128, 256]
    # Duration is what Lambda reported (provider_time), in ms
    assert [o.duration_ms for o in curve.measured[128].steady] == [1002.0, 1102.0]
    # INIT of a cold row: its client-provider gap beyond the warm rows' median gap (598 ms)
    (cold,) = curve.measured[128].first
    assert (cold.duration_ms, cold.init_ms) == (3002.0, pytest.approx(898.0 - 598.0))
    assert cold.report(128).billed_duration_ms == 3302


def test_mbwilding_json_gives_one_curve_per_runtime_and_architecture(tmp_path):
    samples = [{"duration": 100.0, "billed_duration": 101}, {"duration": 90.0, "init_duration": 20.0}]
    data = {
        rt: {arch: {"128": samples, "256": samples} for arch in ("arm64", "x86_64")}
        for rt in ("python311", "rust")
    }
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(data))
    assert [c.name for c in load_curves(str(path))] == [
        "mbwilding:python311/arm64",
        "mbwilding:python311/x86_64",
        "mbwilding:rust/arm64",
        "mbwilding:rust/x86_64",
    ]
    assert len(load_curves(f"{path}#rust")) == 2
    (curve,) = load_curves(f"{path}#rust/arm64")
    assert curve.architecture == "arm64"
    # One population: nearly every sample there is a cold start
    assert curve.measured[128].first == ()
    assert curve.measured[128].steady == (Obs(100.0, 0.0), Obs(90.0, 20.0))
    # Billed by the August 2025 rule: Duration + Init Duration, rounded up
    assert curve.measured[128].steady[1].report(128).billed_duration_ms == 110
    with pytest.raises(SystemExit, match="no runtime 'java'"):
        load_curves(f"{path}#java")
    with pytest.raises(SystemExit, match="no architecture 'ppc'"):
        load_curves(f"{path}#rust/ppc")


def test_plain_csv_with_and_without_the_optional_columns(tmp_path, plain_curve):
    (curve,) = load_curves(str(plain_curve))
    assert curve.sizes == [128, 256, 512, 1024, 2048]
    assert len(curve.measured[512].steady) == 30
    assert {o.init_ms for o in curve.measured[512].first} == {250.0}
    bare = tmp_path / "bare.csv"
    bare.write_text("128,100\n128,110\n256,60\n")
    (curve,) = load_curves(str(bare))
    assert curve.measured[128] == Population((Obs(100.0), Obs(110.0)))
    broken = tmp_path / "broken.csv"
    broken.write_text("128,100\n256,fast\n")
    with pytest.raises(SystemExit, match=r"broken\.csv:2"):
        load_curves(str(broken))


def test_a_summary_csv_becomes_a_lognormal_per_size_checked_against_the_mean(capsys):
    # GIVEN one row per size: n, mean, median, p5 and p95 (1024 MB with a tail heavier than lognormal)
    (curve,) = load_curves(str(SUMMARY_FIXTURE))
    assert curve.name == "summary:curve_summary"
    assert curve.sizes == [128, 256, 512, 1024, 2048]
    # THEN each size draws from the quantiles of a lognormal through the median and the p95
    steady = sorted(o.duration_ms for o in curve.measured[128].steady)
    assert len(steady) == exploration.SUMMARY_POINTS
    assert statistics.median(steady) == pytest.approx(1000, rel=0.005)
    assert steady[int(0.95 * len(steady))] == pytest.approx(1178.8, rel=0.01)
    assert steady[int(0.05 * len(steady))] == pytest.approx(848.3, rel=0.01)
    assert statistics.fmean(steady) == pytest.approx(1005.0, rel=0.005)
    # No cold start in a summary, and the mean the lognormal misses by more than 10% is reported
    assert curve.measured[128].first == ()
    warnings = capsys.readouterr().err.splitlines()
    assert len(warnings) == 1
    assert "1024 MB" in warnings[0]
    assert "mean 160.8 ms, measured 200.0 ms" in warnings[0]


def test_a_summary_csv_with_bad_rows_is_refused(tmp_path):
    header = "memory_mb,n,mean_ms,median_ms,p5_ms,p95_ms\n"
    for body, message in (
        ("128,10,100,100,90,fast\n", r"bad\.csv:2: expected memory_mb"),
        ("128,10,100,100,120,110\n", r"bad\.csv:2: needs 0 < p5_ms <= median_ms <= p95_ms"),
        ("128,10,100,100,90,110\n", "at least two memory sizes"),
    ):
        bad = tmp_path / "bad.csv"
        bad.write_text(header + body)
        with pytest.raises(SystemExit, match=message):
            load_curves(str(bad))
    partial = tmp_path / "partial.csv"
    partial.write_text("memory_mb,median_ms\n128,100\n")
    with pytest.raises(SystemExit, match="needs the columns"):
        exploration.load_summary(partial)


def test_a_curve_needs_two_sizes_and_only_json_takes_a_selector(tmp_path, plain_curve):
    single = tmp_path / "single.csv"
    single.write_text("128,100\n")
    with pytest.raises(SystemExit, match="at least two memory sizes"):
        load_curves(str(single))
    with pytest.raises(SystemExit, match="only JSON curves"):
        load_curves(f"{plain_curve}#python311")
    with pytest.raises(SystemExit, match="no such file"):
        load_curves(str(tmp_path / "missing.csv"))


# -- interpolation and ground truth ------------------------------------------------------------------


def test_interpolation_is_exact_for_cpu_bound_time():
    # GIVEN durations proportional to 1/memory, WHEN a size between two measured ones is asked for
    work = 1000.0 * 128
    curve = Curve(
        "cpu",
        "x86_64",
        {m: Population(tuple(Obs(work / m * f) for f in (0.9, 1.0, 1.1))) for m in (128, 512)},
    )
    # THEN every quantile is the CPU-bound duration at that size
    assert [o.duration_ms for o in curve.at(256).steady] == pytest.approx(
        [work / 256 * f for f in (0.9, 1.0, 1.1)]
    )
    with pytest.raises(ValueError, match="outside the curve"):
        curve.at(1024)


def test_truth_and_regret_follow_the_analyzer():
    flat = {m: Population(tuple(Obs(d) for d in (100.0, 100.0, 100.0, 100.0, 5000.0))) for m in (128, 256)}
    truth = Truth.of(Curve("flat", "x86_64", flat), [128, 256], lambda_price("us-east-1"))
    # The outlier is trimmed away (discardTopBottom 0.2), as the Analyzer does
    assert truth.results[128].average_duration == 100.0
    assert truth.best("cost") == 128
    assert truth.regret("cost", 256) == pytest.approx(
        truth.results[256].average_price / truth.results[128].average_price - 1
    )
    assert truth.regret("speed", 256) == 0.0


# -- the benchmark -----------------------------------------------------------------------------------


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


# -- wall time ---------------------------------------------------------------------------------------


def test_wall_time_follows_the_state_machine_parallelism(plain_curve):
    (curve,) = load_curves(str(plain_curve))
    price = lambda_price("us-east-1")
    # GIVEN fixed sampling: every size at once (the Map), each size's invocations one after the other
    run = exploration.run_fixed(curve, "cost", 5, random.Random(3), price, cold=True)
    target = exploration.Target(curve, random.Random(3))
    per_size = [exploration.sequential_ms(target.invoke(m, 5)) for m in curve.sizes]
    # THEN the wall time is the slowest size's sum
    assert run.wall_ms == pytest.approx(max(per_size))
    assert exploration.concurrent_ms([]) == 0.0


# -- Parrotfish --------------------------------------------------------------------------------------


def test_the_exponential_fit_recovers_parrotfish_model():
    # GIVEN durations that follow a0 + a1 exp(-m / a2) exactly
    memories = [128, 128, 1089, 1089, 3008, 3008, 600]
    durations = [80 + 2000 * math.exp(-m / 400) for m in memories]
    fit = exploration.fit_exponential(memories, durations)
    # THEN the least-squares fit is that curve
    assert (fit.a0, fit.a1, fit.a2) == pytest.approx((80, 2000, 400), rel=1e-4)
    # A flat sample is a constant
    flat = exploration.fit_exponential([128, 1024, 2048], [50.0, 50.0, 50.0])
    assert flat(512) == pytest.approx(50.0)


def test_parrotfish_explores_as_its_defaults_say_and_recommends_from_the_fit(plain_curve):
    (curve,) = load_curves(str(plain_curve))
    price = lambda_price("us-east-1")
    truth = Truth.of(curve, curve.sizes, price)
    for seed in range(5):
        run = exploration.run_parrotfish(curve, random.Random(seed), price, cold=True)
        sizes = sorted(run.per_size)
        # GIVEN its first probes: the smallest size, a third of the way up the space, the largest
        assert {128, 128 + math.ceil((2048 - 128 + 1) / 3), 2048} <= set(sizes)
        # 4 cold + 4 measured per size, up to 8 more; at most 6 sizes (more than 20 data points stop it)
        assert all(8 <= n <= 16 for n in run.per_size.values())
        assert 3 <= len(sizes) <= 6
        # THEN it recommends a size of its space, as cheap as the best measured one within 5%
        assert 128 <= run.chosen <= 2048
        picked = Truth.of(curve, [*curve.sizes, run.chosen], price)
        assert picked.regret("cost", run.chosen) < 0.05, (seed, run.chosen)
        assert run.step_functions_usd == 0.0
        assert run.wall_ms > 0
    assert truth.best("cost") == 128


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
