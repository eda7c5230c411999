"""Cold starts priced at a rate (input coldStartRate): warm and cold apart, the blend, the pick."""

from __future__ import annotations

import json

import pytest

from powertuning.analysis import summarize
from powertuning.analyzer import analyze_state
from powertuning.cold_starts import ColdStartRate, blend, cold_figures, init_share, with_cold_figures
from powertuning.inputs import TuningRequest
from powertuning.logs import Report
from powertuning.output import TuningOutput
from powertuning.pricing import cold_billed_ms, lambda_price
from powertuning.run_state import PublishState, RunState

ARN = "arn:aws:lambda:us-east-1:123456789012:function:target"
PRICE = lambda_price("us-east-1")
INIT_MS = 1500.0


def work_ms(memory: int) -> float:
    # A CPU-bound body: 400 ms at one vCPU, inversely proportional to CPU below it.
    return 400.0 * 1769 / min(memory, 1769)


def reports(memory: int, num: int = 10, cold: int = 1, init_ms: float = INIT_MS) -> list[Report]:
    """`cold` cold starts (Billed Duration holding INIT, as AWS writes it now), then warm invocations."""
    out = []
    for i in range(num):
        init = init_ms if i < cold else 0.0
        duration = work_ms(memory) + (5.0 if i % 2 else 0.0)
        out.append(Report(duration, float(-(-(duration + init) // 1)), memory, 60, init))
    return out


def measured(memory: int, **kwargs: float) -> dict:
    rs = reports(memory, **kwargs)  # type: ignore[arg-type]
    result = summarize(memory, rs, PRICE, 0.2)
    return with_cold_figures(result, cold_figures(memory, rs, PRICE, 0.2)).to_dict()


def analysis(stats: list[dict], rate: float | None, **request) -> TuningOutput:
    powers = tuple(s["value"] for s in stats)
    config = RunState(
        function_arn=ARN,
        power_values=powers,
        run_id="0123456789ab",
        original_memory=1024,
        original_description="",
        architecture="x86_64",
        cold_start=None if rate is None else ColdStartRate(rate),
    )
    extra = {} if rate is None else {"coldStartRate": rate}
    state = {
        "request": TuningRequest.from_dict(
            {"lambdaARN": ARN, "includeOutputResults": True, **extra, **request}
        ).to_dict(),
        "run": config.to_dict(),
        "publish": PublishState(power_values=powers, index=len(powers)).to_dict(),
        "results": stats,
    }
    return analyze_state(state)


def test_cold_billed_ms_holds_init_whether_or_not_the_report_line_did():
    # GIVEN a REPORT line written since August 2025 (Billed Duration holds INIT) and an older one
    now = Report(100.2, 1601.0, 512, init_duration_ms=1500.3)
    before = Report(100.2, 101.0, 512, init_duration_ms=1500.3)
    # THEN both are billed Duration + Init Duration, rounded up once
    assert cold_billed_ms(now) == cold_billed_ms(before) == 1601.0
    # THEN SnapStart's restore is billed on top, as its REPORT line says
    restored = Report(100.2, 101.0, 512, restore_duration_ms=300.0, billed_restore_duration_ms=250.0)
    assert cold_billed_ms(restored) == 101.0 + 250.0


def test_cold_figures_keep_warm_and_cold_apart():
    rs = reports(512, num=10, cold=2)
    figures = cold_figures(512, rs, PRICE, 0.2)
    # THEN INIT is the cold starts' median Init Duration
    assert figures.init_duration == INIT_MS
    # THEN the warm figures are the warm invocations' alone
    warm = [r for r in rs if not r.is_cold_start]
    assert figures.warm_duration == pytest.approx(sum(r.duration_ms for r in warm[1:-1]) / 6)
    # THEN one cold start costs its billed ms with INIT, and INIT's part is that minus the body
    cold = rs[0], rs[1]
    costs = sorted(PRICE.invocation_cost(cold_billed_ms(r), 512) for r in cold)
    assert figures.cold_start_cost == pytest.approx(sum(costs) / 2)
    assert figures.init_cost == pytest.approx(PRICE.duration_cost(INIT_MS, 512), rel=1e-3)
    assert figures.cold_start_duration == pytest.approx(sum(r.measured_duration_ms for r in cold) / 2)


def test_blend_is_one_minus_rate_warm_plus_rate_cold():
    result = SizeFromDict(measured(1024))
    blended = blend(result, 0.25)
    assert blended.average_price == pytest.approx(0.75 * result.warm_price + 0.25 * result.cold_start_cost)
    assert blended.average_duration == pytest.approx(
        0.75 * result.warm_duration + 0.25 * result.cold_start_duration
    )
    # THEN at rate 0 the blend is the warm figures, at 1 the cold ones
    assert blend(result, 0.0).average_price == result.warm_price
    assert blend(result, 1.0).average_price == result.cold_start_cost
    # THEN the INIT share is INIT's cost at the rate over the blended cost
    assert init_share(blended, 0.25) == pytest.approx(0.25 * result.init_cost / blended.average_price)


def SizeFromDict(data):
    from powertuning.size_result import SizeResult

    return SizeResult.from_dict(data)


def test_a_size_without_a_cold_start_seen_is_priced_warm():
    result = SizeFromDict(measured(1024, cold=0))
    assert result.cold_start_cost is None
    assert result.init_duration is None
    assert blend(result, 0.5).average_price == result.warm_price


SIZES = (128, 256, 512, 1024, 2048)


def balanced_pick(cost: dict[int, float], duration: dict[int, float]) -> int:
    # The balanced strategy's score at weight 0.5, each objective normalised by its largest.
    top_cost, top_duration = max(cost.values()), max(duration.values())
    return min(cost, key=lambda m: 0.5 * cost[m] / top_cost + 0.5 * duration[m] / top_duration)


def test_at_rate_zero_the_pick_is_unchanged_and_at_a_high_rate_it_moves_to_the_blended_cheapest():
    # GIVEN a CPU-bound body (its cost flat up to one vCPU) and an INIT of 1.5 s whatever the memory
    stats = [measured(m) for m in SIZES]
    plain = [summarize(m, reports(m), PRICE, 0.2).to_dict() for m in SIZES]
    today = analysis(plain, None, strategy="balanced")
    assert analysis(stats, 0.0, strategy="balanced").power == today.power
    # WHEN a 30% cold-start rate is priced in: INIT costs a big size more per ms
    truth_cost = {
        m: 0.7 * PRICE.invocation_cost(-(-work_ms(m) // 1), m)
        + 0.3 * PRICE.invocation_cost(-(-(work_ms(m) + INIT_MS) // 1), m)
        for m in SIZES
    }
    truth_duration = {m: work_ms(m) + 0.3 * INIT_MS for m in SIZES}
    moved = analysis(stats, 0.3, strategy="balanced")
    # THEN the pick is the one the simulated truth's blended figures give, and not today's
    assert moved.power == balanced_pick(truth_cost, truth_duration)
    assert moved.power < today.power
    # THEN the output says the costs are blended, at which rate, and how much of the cost INIT is
    out = moved.to_dict()
    assert out["coldStart"]["rate"] == 0.3
    assert out["coldStart"]["pricing"] == "(1 - rate) x warm + rate x cold"
    assert 0 < out["coldStart"]["initShare"] < 1
    pick = next(s for s in out["stats"] if s["value"] == moved.power)
    assert (
        out["cost"]
        == pick["averagePrice"]
        == pytest.approx(0.7 * pick["warmPrice"] + 0.3 * pick["coldStartCost"])
    )
    # THEN the saved output reads back with its cold-start figures
    again = TuningOutput.from_dict(json.loads(json.dumps(out)))
    assert again.cold_start == ColdStartRate(0.3)
    assert again.recommended is not None
    assert again.recommended.init_duration == INIT_MS


def test_the_latency_target_limits_the_blended_duration():
    stats = [measured(m) for m in SIZES]
    # GIVEN a target every size meets warm, but only sizes whose blend with INIT stays under it
    limit = work_ms(1024) + 0.1 * INIT_MS + 10
    out = analysis(stats, 0.1, maxDurationMs=limit).to_dict()
    assert set(out["constraint"]["sizesMeetingTarget"]) == {m for m in SIZES if m >= 1024}


def test_without_a_rate_no_cold_start_key_appears_anywhere():
    # GIVEN a run without coldStartRate WHEN analysed THEN its output is the one it always was
    plain = [summarize(m, reports(m), PRICE, 0.2).to_dict() for m in SIZES]
    out = analysis(plain, None).to_dict()
    text = json.dumps(out)
    for key in ('coldStart"', "warmPrice", "initDuration", "coldStartCost", "initCost"):
        assert key not in text
    request = TuningRequest.from_dict({"lambdaARN": ARN}).to_dict()
    assert not {"coldStartRate", "coldStartsPerSize", "monthlyGbSeconds"} & set(request)


def test_the_cli_and_the_report_show_warm_and_cold_apart():
    from powertuning.cli.output import format_table
    from powertuning.report.explain import explain
    from powertuning.report.result import TuningResult

    stats = [measured(m) for m in SIZES]
    out = analysis(stats, 0.032, strategy="balanced").to_dict()
    pick = next(s for s in out["stats"] if s["value"] == out["power"])
    share = 0.032 * pick["initCost"] / pick["averagePrice"]
    # THEN the table's notes say the rate, INIT's share of the cost, and warm and cold apart
    table = format_table(out)
    assert (
        f"At a 3.2% cold-start rate, INIT is {share:.0%} of this function's cost at {out['power']} MB"
        in table
    )
    assert "warm $" in table
    assert "cold $" in table
    assert "(INIT 1,500.00 ms)" in table
    # THEN the report's explanation says the same
    explanation = explain(TuningResult.from_dict(out))
    assert explanation is not None
    assert any("3.2% cold-start rate" in sentence for sentence in explanation.sentences)
    # THEN without a rate neither says anything of cold starts
    plain = analysis([summarize(m, reports(m), PRICE, 0.2).to_dict() for m in SIZES], None).to_dict()
    assert "cold-start rate" not in format_table(plain)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--cold-start-rate", "production"], {"coldStartRate": "production"}),
        (
            ["--cold-start-rate", "0.05", "--cold-starts-per-size", "2"],
            {"coldStartRate": 0.05, "coldStartsPerSize": 2},
        ),
        (["--monthly-gb-seconds", "7e9"], {"monthlyGbSeconds": 7e9}),
    ],
)
def test_the_cli_flags_set_the_keys(flags, expected):
    import argparse

    from powertuning.cli.options import add_input_options, build_input

    parser = argparse.ArgumentParser()
    add_input_options(parser)
    data = build_input(parser.parse_args(flags), ARN)
    assert {k: data[k] for k in expected} == expected


def test_a_bad_rate_flag_is_refused_naming_the_key():
    import argparse

    from powertuning.cli.options import add_input_options, build_input
    from powertuning.errors import InvalidInputError

    parser = argparse.ArgumentParser()
    add_input_options(parser)
    with pytest.raises(InvalidInputError, match="coldStartRate must be a number from 0 to 1"):
        build_input(parser.parse_args(["--cold-start-rate", "sometimes"]), ARN)
