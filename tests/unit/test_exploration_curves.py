"""benchmarks/exploration_curves.py: the four curve formats and interpolation between sizes."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from benchmarks import exploration_curves
from benchmarks.exploration_curves import Curve, Obs, Population, load_curves

SUMMARY_FIXTURE = Path(__file__).resolve().parents[1] / "events" / "curve_summary.csv"
SEBS_HEADER = "memory,type,is_cold,exec_time,connection_time,client_time,provider_time,mem_used\n"


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
    assert len(steady) == exploration_curves.SUMMARY_POINTS
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
        exploration_curves.load_summary(partial)


def test_a_curve_needs_two_sizes_and_only_json_takes_a_selector(tmp_path, plain_curve):
    single = tmp_path / "single.csv"
    single.write_text("128,100\n")
    with pytest.raises(SystemExit, match="at least two memory sizes"):
        load_curves(str(single))
    with pytest.raises(SystemExit, match="only JSON curves"):
        load_curves(f"{plain_curve}#python311")
    with pytest.raises(SystemExit, match="no such file"):
        load_curves(str(tmp_path / "missing.csv"))


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


def test_the_synthetic_stepped_curve_is_a_plain_csv_with_steps(tmp_path):
    from benchmarks import stepped_curve

    path = tmp_path / "stepped.csv"
    # 8 ms of CPU at one vCPU: it fits in one 20 ms slice's quota from 8 / 20 x 1769 = 708 MB on
    stepped_curve.main(["--cpu-ms", "8", "--off-cpu-ms", "5", "--sigma", "0", "--out", str(path)])
    (curve,) = load_curves(str(path))
    assert curve.sizes == list(stepped_curve.SIZES)
    assert len(curve.sizes) == 195

    def duration(memory: int) -> float:
        return statistics.fmean(o.report(memory).duration_ms for o in curve.at(memory).steady)

    # a step down where the burst starts to fit (full speed: 13 ms), flat above it
    assert duration(700) > duration(752) + 10
    assert duration(752) == pytest.approx(13.0, abs=0.01)
    assert duration(curve.sizes[-1]) == pytest.approx(13.0, abs=0.01)
    # every size starts cold, with an Init Duration
    assert all(o.report(752).init_duration_ms > 0 for o in curve.at(752).first)
    with pytest.raises(SystemExit):
        stepped_curve.main(["--cpu-ms", "0", "--out", str(path)])
