"""Per-size results from REPORT records, the three strategies with their tie-breaking, the output."""

from __future__ import annotations

import pytest

from powertuning.analysis import (
    LatencyTarget,
    choose,
    choose_survivor,
    choose_within_target,
    count_transitions,
    discard_for,
    recommend,
    summarize,
)
from powertuning.inputs import TuningRequest
from powertuning.logs import Report
from powertuning.output import TuningOutput
from powertuning.pricing import lambda_price, step_functions_cost
from powertuning.size_result import SizeResult
from powertuning.visualization import decode

ARN = "arn:aws:lambda:us-east-1:123456789012:function:target"
PRICE = lambda_price("us-east-1")


def report(duration, memory=128, init=0.0, billed=None, restore_billed=0.0):
    return Report(
        duration_ms=duration,
        billed_duration_ms=billed if billed is not None else -(-(duration + init) // 1),
        memory_size_mb=memory,
        init_duration_ms=init,
        billed_restore_duration_ms=restore_billed,
    )


def size(value, price, duration, **kw):
    return SizeResult(value=value, average_price=price, average_duration=duration, invocations=5, **kw)


# -- summarize -------------------------------------------------------------------------------------


def test_summarize_trims_durations_and_costs_the_same_invocations():
    # GIVEN ten invocations, one of them a slow cold start
    reports = [report(10.0) for _ in range(9)] + [report(500.0, init=200.0)]
    # WHEN summarised with the default 20% trim
    result = summarize(128, reports, PRICE, 0.2)
    # THEN the cold start counts in neither the average duration nor the average price
    assert result.average_duration == 10.0
    assert result.average_price == pytest.approx(PRICE.invocation_cost(10, 128))
    # but it is counted, and it is paid for in the total
    assert (result.invocations, result.cold_starts) == (10, 1)
    assert result.total_cost == pytest.approx(
        9 * PRICE.invocation_cost(10, 128) + PRICE.invocation_cost(700, 128)
    )
    assert result.p99 > 400


def test_summarize_average_price_includes_the_request_fee():
    result = summarize(1024, [report(1.0, 1024)] * 5, PRICE, 0.0)
    assert result.average_price == pytest.approx(PRICE.duration_cost(1, 1024) + PRICE.request)
    assert result.average_price > PRICE.duration_cost(1, 1024)


def test_summarize_bills_init_and_snapstart_restore():
    # Billed Duration already holds INIT since Aug 2025; a SnapStart restore is billed on top
    result = summarize(512, [report(10.0, 512, billed=160, restore_billed=150)], PRICE, 0.0)
    assert result.average_price == pytest.approx(PRICE.invocation_cost(310, 512))
    assert result.gb_seconds == pytest.approx(PRICE.gb_seconds(310, 512))


def test_summarize_uses_the_architecture_price_it_is_given():
    arm = lambda_price("us-east-1", "arm64")
    reports = [report(100.0, 1024)] * 5
    assert (
        summarize(1024, reports, arm, 0.2).average_price < summarize(1024, reports, PRICE, 0.2).average_price
    )


def test_summarize_percentiles_are_untrimmed():
    durations = [float(d) for d in range(1, 11)]
    result = summarize(128, [report(d) for d in durations], PRICE, 0.2)
    assert result.average_duration == pytest.approx(5.5)
    assert (result.p50, result.p90, result.p95, result.p99) == pytest.approx((5.5, 9.1, 9.55, 9.91))


def test_summarize_carries_errors_and_transitions():
    result = summarize(128, [report(5.0)] * 5, PRICE, 0.2, errors=2, transitions=3)
    assert (result.errors, result.transitions) == (2, 3)


def test_summarize_of_no_reports():
    result = summarize(128, [], PRICE, 0.2)
    assert (result.invocations, result.average_price, result.total_cost) == (0, 0.0, 0)


# -- choose ----------------------------------------------------------------------------------------

# A CPU-bound curve: cheapest at 512, fastest at 3008, balanced in between.
CURVE = [
    size(128, 4.0e-6, 1600.0),
    size(256, 3.0e-6, 700.0),
    size(512, 2.5e-6, 300.0),
    size(1024, 3.5e-6, 200.0),
    size(3008, 9.0e-6, 150.0),
]


def test_cost_strategy_picks_the_cheapest():
    assert choose(CURVE, "cost").value == 512


def test_speed_strategy_picks_the_fastest():
    assert choose(CURVE, "speed").value == 3008


def test_balanced_weight_one_is_cost_and_zero_is_speed():
    assert choose(CURVE, "balanced", 1.0).value == choose(CURVE, "cost").value
    assert choose(CURVE, "balanced", 0.0).value == choose(CURVE, "speed").value


def test_balanced_half_weighs_normalised_cost_and_duration():
    # score = 0.5 x price/max_price + 0.5 x duration/max_duration
    # 512: 0.5 x 2.5/9 + 0.5 x 300/1600 = 0.2326; 1024: 0.5 x 3.5/9 + 0.5 x 200/1600 = 0.2569
    assert choose(CURVE, "balanced", 0.5).value == 512
    # leaning to speed moves the pick to a bigger size
    assert choose(CURVE, "balanced", 0.2).value == 1024


def test_cost_tie_goes_to_the_faster_size_then_the_smaller():
    tied = [size(1024, 2e-6, 100.0), size(512, 2e-6, 200.0), size(2048, 2e-6, 100.0)]
    assert choose(tied, "cost").value == 1024


def test_speed_tie_goes_to_the_cheaper_size_then_the_smaller():
    tied = [size(2048, 4e-6, 50.0), size(1024, 2e-6, 50.0), size(1536, 2e-6, 50.0)]
    assert choose(tied, "speed").value == 1024


def test_balanced_tie_goes_to_the_cheaper_size():
    # equal scores at weight 0.5: (1/2 + 1)/2 = (1 + 1/2)/2
    tied = [size(2048, 4e-6, 50.0), size(256, 2e-6, 100.0)]
    assert choose(tied, "balanced", 0.5).value == 256


def test_skipped_sizes_and_unmeasured_sizes_are_never_chosen():
    results = [
        SizeResult(value=128, skipped=True, reason="Runtime.OutOfMemory: killed"),
        SizeResult(value=256, invocations=0),
        size(512, 9e-6, 900.0),
    ]
    for strategy in ("cost", "speed", "balanced"):
        assert choose(results, strategy).value == 512


def test_a_race_survivor_is_chosen_with_the_scores_of_every_size_measured():
    # GIVEN a race that kept 512 and 1024 MB, and dropped 128 (slowest) and 3008 MB (dearest)
    results = [
        size(128, 1.0e-6, 1000.0),
        size(512, 1.1e-6, 200.0),
        size(1024, 2.0e-6, 100.0),
        size(3008, 8.0e-6, 100.0),
    ]
    # THEN balanced normalises by the largest cost and duration of every size measured, as the race
    # did: 512 MB (0.5 x 1.1/8 + 0.5 x 200/1000) beats 1024 MB (0.5 x 2/8 + 0.5 x 100/1000)
    assert choose_survivor(results, (512, 1024), "balanced", 0.5).value == 512
    # (normalised over the two survivors alone, the weights shift and the other would win)
    assert choose([r for r in results if r.value in (512, 1024)], "balanced", 0.5).value == 1024
    # AND the dropped sizes are never chosen, whatever their score
    assert choose_survivor(results, (512, 1024), "speed", 0.5).value == 1024
    assert choose_survivor(results, (512, 1024), "cost", 0.5).value == 512


def test_nothing_to_choose_from_is_an_error():
    with pytest.raises(ValueError, match="no memory size"):
        choose([SizeResult(value=128, skipped=True, reason="x")], "cost")


def test_unknown_strategy_is_an_error():
    with pytest.raises(ValueError, match="'fastest'"):
        choose(CURVE, "fastest")


def test_balanced_with_all_zero_measurements_does_not_divide_by_zero():
    zeros = [size(128, 0.0, 0.0), size(256, 0.0, 0.0)]
    assert choose(zeros, "balanced").value == 128


# -- recommend and the output ----------------------------------------------------------------------


def test_recommendation_has_the_reference_output_shape():
    rec = recommend(
        CURVE, strategy="cost", balanced_weight=0.5, region="us-east-1", transitions=30, include_stats=False
    )
    out = rec.to_dict()
    assert set(out) == {"power", "cost", "duration", "stateMachine"}
    assert set(out["stateMachine"]) == {"executionCost", "lambdaCost", "visualization"}
    assert (out["power"], out["cost"], out["duration"]) == (512, 2.5e-6, 300.0)


def test_execution_cost_prices_the_transitions_in_the_region():
    for region in ("us-east-1", "sa-east-1"):
        rec = recommend(
            CURVE, strategy="cost", balanced_weight=0.5, region=region, transitions=40, include_stats=False
        )
        assert rec.execution_cost == pytest.approx(step_functions_cost(40, region))


def test_lambda_cost_sums_every_size():
    results = [
        SizeResult(value=128, total_cost=1e-5, invocations=5),
        SizeResult(value=256, total_cost=2e-5, invocations=5),
    ]
    rec = recommend(
        results, strategy="cost", balanced_weight=0.5, region="us-east-1", transitions=1, include_stats=False
    )
    assert rec.lambda_cost == pytest.approx(3e-5)


def test_visualization_lists_measured_sizes_only_sorted():
    results = [*reversed(CURVE), SizeResult(value=192, skipped=True, reason="Sandbox.Timedout: slow")]
    rec = recommend(
        results, strategy="cost", balanced_weight=0.5, region="us-east-1", transitions=1, include_stats=False
    )
    points = decode(rec.visualization.split("#", 1)[1])
    assert [p.power for p in points] == [128, 256, 512, 1024, 3008]
    assert points[2].duration == 300.0
    assert rec.visualization.startswith("https://lambda-power-tuning.show/#")


def test_visualization_base_url_is_configurable():
    rec = recommend(
        CURVE,
        strategy="cost",
        balanced_weight=0.5,
        region="us-east-1",
        transitions=1,
        include_stats=False,
        visualization_url="https://viz.example.com/",
    )
    assert rec.visualization.startswith("https://viz.example.com/#")


def test_stats_only_when_asked_and_skipped_sizes_listed_with_their_reason():
    results = [*CURVE, SizeResult(value=192, skipped=True, reason="Runtime.OutOfMemory: killed")]
    kwargs = {"strategy": "cost", "balanced_weight": 0.5, "region": "us-east-1", "transitions": 1}
    without = recommend(results, include_stats=False, **kwargs).to_dict()
    assert "stats" not in without
    assert without["skipped"] == [{"value": 192, "reason": "Runtime.OutOfMemory: killed"}]
    with_stats = recommend(results, include_stats=True, **kwargs).to_dict()
    assert [s["value"] for s in with_stats["stats"]] == [128, 256, 512, 1024, 3008]
    assert {"p50", "p90", "p99", "invocations", "coldStarts", "errors"} <= set(with_stats["stats"][0])


def test_no_skipped_key_when_nothing_was_skipped():
    out = TuningOutput(
        power=128, cost=1.0, duration=1.0, execution_cost=0, lambda_cost=0, visualization=""
    ).to_dict()
    assert "skipped" not in out


def test_count_transitions_of_a_run():
    # Initializer 1 + (Publisher + Choice) x 3 + Map 1 + each size's own + 3 at the end. A size's own:
    # Executor + Choice + Pass (3); with its call retried once, 4; measured in two calls, 5.
    results = [SizeResult(value=v, transitions=t) for v, t in ((128, 3), (256, 4), (512, 5))]
    assert count_transitions(3, results) == 1 + 6 + 1 + (3 + 4 + 5) + 3


# -- cold starts, as aws-lambda-power-tuning v4.4.0 measures them -----------------------------------


def test_cold_start_duration_includes_init_and_restore():
    # GIVEN five cold starts, each 10 ms of handler after 150-190 ms of INIT
    reports = [report(10.0, 512, init=150.0 + 10 * i) for i in range(5)]
    # WHEN summarised without trimming THEN the average is handler + INIT, not a warm-like 10 ms
    result = summarize(512, reports, PRICE, 0.0)
    assert result.average_duration == pytest.approx(10.0 + 170.0)
    assert result.p50 == pytest.approx(180.0)
    assert result.cold_starts == 5


def test_only_cold_starts_uses_every_invocation_without_trimming():
    # GIVEN onlyColdStarts with the default discardTopBottom 0.2
    request = TuningRequest.from_dict({"lambdaARN": ARN, "onlyColdStarts": True, "num": 5})
    assert request.discard_top_bottom == 0.2
    # THEN nothing is trimmed, as in the reference (its Executor sets discardTopBottom to 0)
    assert discard_for(request) == 0.0
    reports = [report(10.0, 512, init=init) for init in (100.0, 110.0, 120.0, 130.0, 400.0)]
    result = summarize(512, reports, PRICE, discard_for(request))
    assert result.average_duration == pytest.approx(10.0 + (100 + 110 + 120 + 130 + 400) / 5)
    costs = [PRICE.invocation_cost(-(-(10.0 + i) // 1), 512) for i in (100.0, 110.0, 120.0, 130.0, 400.0)]
    assert result.average_price == pytest.approx(sum(costs) / 5)


def test_without_only_cold_starts_the_trim_is_the_input_s():
    request = TuningRequest.from_dict({"lambdaARN": ARN, "discardTopBottom": 0.3})
    assert discard_for(request) == 0.3


def test_price_is_trimmed_on_its_own_like_the_reference():
    # GIVEN a fast invocation billed long (e.g. a cold start with a long billed INIT) and slow ones
    reports = [report(100.0, billed=100) for _ in range(4)] + [report(1.0, billed=900)]
    result = summarize(128, reports, PRICE, 0.2)
    # THEN the 900 ms bill is the most expensive one and is trimmed from the price, as the
    # reference trims billed durations separately from durations
    assert result.average_price == pytest.approx(PRICE.invocation_cost(100, 128))


# -- China regions -----------------------------------------------------------------------------------


def test_china_regions_link_the_visualization_in_cny():
    sizes = [size(128, 1.0e-5, 100.0), size(256, 2.0e-5, 60.0)]
    cny = recommend(
        sizes, strategy="cost", balanced_weight=0.5, region="cn-north-1", transitions=10, include_stats=False
    )
    usd = recommend(
        sizes, strategy="cost", balanced_weight=0.5, region="us-east-1", transitions=10, include_stats=False
    )
    assert cny.visualization.startswith("https://lambda-power-tuning.show/?currency=CNY#")
    assert usd.visualization.startswith("https://lambda-power-tuning.show/#")
    assert cny.visualization.split("#")[1] == usd.visualization.split("#")[1]
    assert cny.execution_cost == pytest.approx(10 * 0.0001891)


# -- dry run -----------------------------------------------------------------------------------------


def test_a_dry_run_recommends_nothing():
    out = TuningOutput(
        power=128,
        cost=1e-6,
        duration=5.0,
        execution_cost=1e-4,
        lambda_cost=2e-7,
        visualization="x",
        dry_run=True,
    ).to_dict()
    assert out == {"dryRun": True, "stateMachine": {"executionCost": 1e-4, "lambdaCost": 2e-7}}


# -- latency target (maxDurationMs, durationStatistic) ---------------------------------------------

# Cheaper at less memory; each statistic crosses 500 ms at a different size.
#           value  price    avg    p50    p90    p95    p99
TAILS = [
    size(128, 1.0e-6, 520.0, p50=490.0, p90=1200.0, p95=1400.0, p99=2000.0),
    size(256, 1.2e-6, 480.0, p50=450.0, p90=700.0, p95=900.0, p99=1500.0),
    size(512, 1.5e-6, 260.0, p50=240.0, p90=400.0, p95=520.0, p99=1100.0),
    size(1024, 2.5e-6, 150.0, p50=140.0, p90=220.0, p95=300.0, p99=600.0),
    size(3008, 7.0e-6, 100.0, p50=95.0, p90=130.0, p95=160.0, p99=250.0),
]


@pytest.mark.parametrize(
    ("statistic", "expected"),
    [("average", 256), ("p50", 128), ("p90", 512), ("p95", 1024), ("p99", 3008)],
)
def test_cost_picks_the_cheapest_size_whose_statistic_meets_the_target(statistic, expected):
    # GIVEN sizes whose statistics cross 500 ms at different sizes
    # WHEN cost chooses under a 500 ms target on one statistic
    best, outcome = choose_within_target(TAILS, "cost", 0.5, LatencyTarget(500.0, statistic))
    # THEN it is the cheapest size that meets it, and the outcome says so
    assert best.value == expected
    assert outcome.met is True
    assert outcome.value == best.statistic(statistic)
    assert all(r.statistic(statistic) <= 500.0 for r in TAILS if r.value in outcome.meeting)
    assert expected == min(outcome.meeting)


def test_balanced_chooses_among_the_sizes_that_meet_the_target_with_unchanged_scores():
    # GIVEN a weight that favours cost: 128 MB wins without a target
    assert choose(TAILS, "balanced", 0.9).value == 128
    # WHEN only sizes with p90 <= 500 ms may win (512, 1024, 3008)
    best, outcome = choose_within_target(TAILS, "balanced", 0.9, LatencyTarget(500.0, "p90"))
    # THEN the best score among them wins, scored as without the target (normalised by all sizes)
    assert best.value == 512
    assert outcome.met
    assert outcome.meeting == (512, 1024, 3008)


def test_speed_ignores_the_target_and_says_whether_the_fastest_meets_it():
    best, outcome = choose_within_target(TAILS, "speed", 0.5, LatencyTarget(100.0, "p99"))
    assert best.value == 3008
    assert (outcome.met, outcome.value, outcome.meeting) == (False, 250.0, ())


def test_unmet_target_recommends_the_size_closest_to_it():
    # GIVEN no size with p99 <= 200 ms; 1024 MB is faster on average but 3008 MB has the shorter tail
    sizes = [
        size(512, 1.5e-6, 260.0, p99=1100.0),
        size(1024, 2.5e-6, 90.0, p99=400.0),
        size(3008, 7.0e-6, 100.0, p99=250.0),
    ]
    # WHEN cost chooses under the target
    best, outcome = choose_within_target(sizes, "cost", 0.5, LatencyTarget(200.0, "p99"))
    # THEN the size with the smallest p99 is recommended, and the outcome says plainly it is not met
    assert best.value == 3008
    assert outcome.to_dict() == {
        "met": False,
        "statistic": "p99",
        "maxDurationMs": 200.0,
        "value": 250.0,
        "sizesMeetingTarget": [],
    }


def test_skipped_sizes_never_meet_a_target():
    sizes = [size(128, 1.0e-6, 50.0, skipped=True, reason="Runtime.OutOfMemory"), size(512, 2e-6, 300.0)]
    best, outcome = choose_within_target(sizes, "cost", 0.5, LatencyTarget(100.0))
    assert (best.value, outcome.met, outcome.meeting) == (512, False, ())


def test_constraint_follows_the_reference_keys_in_the_output():
    out = recommend(
        TAILS,
        strategy="cost",
        balanced_weight=0.5,
        region="us-east-1",
        transitions=10,
        include_stats=True,
        target=LatencyTarget(500.0, "p90"),
    ).to_dict()
    assert list(out)[:5] == ["power", "cost", "duration", "stateMachine", "constraint"]
    assert out["power"] == 512
    assert out["constraint"] == {
        "met": True,
        "statistic": "p90",
        "maxDurationMs": 500.0,
        "value": 400.0,
        "sizesMeetingTarget": [512, 1024, 3008],
    }
    assert all("p95" in item for item in out["stats"])


def test_no_constraint_key_without_a_target():
    out = recommend(
        TAILS, strategy="cost", balanced_weight=0.5, region="us-east-1", transitions=1, include_stats=False
    ).to_dict()
    assert "constraint" not in out
    assert out["power"] == 128
