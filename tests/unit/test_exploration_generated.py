"""benchmarks/exploration_generated.py and exploration_robustness.py: the generated curves and coverage."""

from __future__ import annotations

import math

from benchmarks import exploration
from benchmarks.exploration_generated import Shape, generate
from benchmarks.exploration_robustness import claim_holds, fixed50_gb_seconds
from benchmarks.exploration_simulation import Run, Truth
from powertuning.pricing import lambda_price


def test_a_single_thread_curve_is_linear_to_one_vcpu_then_flat():
    shape = Shape("cpu", cpu_ms=1000, off_ms=0)
    assert math.isclose(shape.duration(885), 2 * shape.duration(1769), rel_tol=0.01)
    assert shape.duration(3008) == shape.duration(1769)


def test_threads_gain_above_one_vcpu_and_an_early_plateau_stops_the_gain():
    threads = Shape("threads", cpu_ms=1000, off_ms=0, parallelism=4, parallel=0.9)
    assert threads.duration(6000) < threads.duration(1769) * 0.6
    flat = Shape("plateau", cpu_ms=1000, off_ms=0, plateau=512)
    assert flat.duration(1024) == flat.duration(512) < flat.duration(256)


def test_a_starved_function_speeds_up_more_than_its_cpu_share_below_the_limit():
    shape = Shape("cpu", cpu_ms=1000, off_ms=0, starved_below=512, starved_power=1.0)
    # Half the memory: twice the CPU time and twice again for the starvation.
    assert math.isclose(shape.duration(256), 4 * shape.duration(512), rel_tol=0.01)


def test_a_short_burst_gets_a_stepped_curve():
    shape = Shape("burst", cpu_ms=8, off_ms=0)
    # 8 ms of CPU fits the 20 ms quota of ~708 MB: full speed from there on.
    assert shape.duration(768) == shape.duration(1769) == 8


def test_generated_curves_are_seeded_and_hold_every_listed_and_grid_size():
    pools = [tuple(1 + i / 100 for i in range(50))]
    a, listed, _shape = generate(3, 11, pools)
    b, _, _ = generate(3, 11, pools)
    assert a.name == b.name
    assert a.measured == b.measured
    assert set(listed) <= set(a.sizes)
    assert 1769 in a.sizes
    for memory in a.sizes:
        population = a.at(memory)
        assert population.first
        assert all(o.init_ms > 0 for o in population.first)
        assert all(o.duration_ms > 0 for o in population.steady)
    assert generate(4, 11, pools)[0].measured != a.measured


def test_fixed50_is_one_cold_and_49_steady_invocations_per_listed_size():
    pools = [(1.0,)]
    curve, listed, _ = generate(0, 1, pools)
    one = fixed50_gb_seconds(curve, listed[:1], num=1)
    first = curve.at(listed[0]).first
    cold = sum(o.report(listed[0]).billed_total_ms for o in first) / len(first)
    assert math.isclose(one, cold * listed[0] / 1024 / 1000)


def truth_of(costs):
    curve, _, _ = generate(0, 1, [(1.0,)])
    return Truth.of(curve, list(costs), lambda_price("us-east-1"))


def run_claiming(pick, not_separated, measured):
    claim = {"pick": pick, "notSeparated": not_separated}
    return Run(pick, dict.fromkeys(measured, 5), 0, 0, 0, 0, claim=claim)


def test_a_statement_holds_when_no_size_beats_the_pick_by_more_than_it_says():
    truth = truth_of([128, 256, 512])
    ordered = sorted([128, 256, 512], key=lambda m: truth.objective("speed", m))
    best, second = ordered[0], ordered[1]
    gap = truth.objective("speed", second) / truth.objective("speed", best) - 1
    assert gap > 0.05
    # Picking the second-best and claiming the best was dropped within 5%: false.
    assert claim_holds(run_claiming(second, [], ordered), truth, "speed", 0.05) is False
    # Saying the best could still be better by more than the gap: true.
    within = [{"value": best, "withinPct": round(gap * 100 + 1, 1)}]
    assert claim_holds(run_claiming(second, within, ordered), truth, "speed", 0.05) is True
    assert claim_holds(run_claiming(best, [], ordered), truth, "speed", 0.05) is True
    # Without a statement: nothing to check.
    assert claim_holds(Run(best, {}, 0, 0, 0, 0), truth, "speed", 0.05) is None


def test_the_generated_mode_reports_cost_regret_and_coverage_per_method_and_shape(plain_curve, capsys):
    argv = [
        "--generated",
        "3",
        "--runs",
        "2",
        "--seed",
        "5",
        "--strategy",
        "cost",
        "--curve",
        str(plain_curve),
    ]
    report = exploration.main(argv)
    assert "statement holds" in capsys.readouterr().out
    for method in ("adaptive", "adaptive-auto"):
        figures = report["methods"][method]
        assert figures["pairs"] == 3
        assert 0 < figures["gbSecondsVsFixed50"]["geomean"] < 2
        assert figures["regret"]["median"] >= 0
        assert 0 <= figures["coverage"] <= 1
        assert sum(f["pairs"] for f in report["byShape"][method].values()) == 3
    # Parrotfish beside them on the cost curves, and how often each spent at least its GB-s.
    parrotfish = report["methods"]["parrotfish"]
    assert parrotfish["pairs"] == 3
    assert parrotfish["coverage"] is None
    for method in ("adaptive", "adaptive-auto"):
        vs = report["vsParrotfish"][method]
        assert vs["costCurves"] == 3
        assert 0 <= vs["notBelow"] <= 3
        assert vs["ratioMax"] >= vs["ratioGeomean"] > 0


def test_ours_are_held_against_parrotfish_on_the_cost_curves_only(plain_curve):
    argv = ["--generated", "2", "--runs", "1", "--seed", "5", "--strategy", "cost,speed"]
    report = exploration.main([*argv, "--curve", str(plain_curve)])
    # two cost curves, although each method ran four curve x strategy pairs
    assert report["methods"]["adaptive"]["pairs"] == 4
    assert report["vsParrotfish"]["adaptive"]["costCurves"] == 2


def test_parrotfish_runs_only_on_cost_in_the_generated_mode(plain_curve):
    argv = ["--generated", "2", "--runs", "1", "--seed", "5", "--strategy", "speed"]
    report = exploration.main([*argv, "--curve", str(plain_curve)])
    assert report["methods"]["parrotfish"] == {}
    assert report["vsParrotfish"] == {}
