"""The adaptive race: elimination, ties, the budget cap, heavy tails, "auto", the state machine step."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import replace

import pytest

from powertuning import adaptive
from powertuning.adaptive import (
    AdaptiveState,
    BatchItem,
    Settings,
    SizeSamples,
    advance_execution,
    batch_result,
    decide,
    estimates,
    kept_samples,
    record,
    size_results,
    start,
    t_quantile,
)
from powertuning.analysis import analyze_state, count_adaptive_transitions
from powertuning.errors import InvalidInputError, StateLimitError
from powertuning.limits import check_state_budget
from powertuning.logs import Report
from powertuning.models import AUTO_GRID, PublishState, TuningConfig, TuningRequest
from powertuning.pricing import lambda_price, step_functions_cost
from powertuning.stats import percentile

ARN = "arn:aws:lambda:us-east-1:123456789012:function:target"
PRICE = lambda_price("us-east-1")

# A duration model: (memory, invocation index at that size, rng) -> (duration ms, init ms).
Model = Callable[[int, int, random.Random], tuple[float, float]]


def report(memory: int, duration: float, init: float = 0.0) -> Report:
    return Report(
        duration_ms=duration,
        billed_duration_ms=math.ceil(duration + init),
        memory_size_mb=memory,
        init_duration_ms=init,
    )


def noisy(means: dict[int, float], spread: float = 0.05, cold_ms: float = 0.0) -> Model:
    """Log-normal durations around `means[memory]` (multiplicative, like real ones); optional cold start."""

    def model(memory: int, i: int, rng: random.Random) -> tuple[float, float]:
        duration = means[memory] * rng.lognormvariate(0.0, spread)
        return (duration * 3, cold_ms) if i == 0 and cold_ms else (duration, 0.0)

    return model


def race(
    model: Model, sizes: list[int], settings: Settings, seed: int = 1, max_rounds: int = 100
) -> AdaptiveState:
    """Run the race to the end with the pure functions, as the state machine would."""
    rng = random.Random(seed)
    state = start(sizes, settings)
    for _ in range(max_rounds):
        results = []
        for item in state.batch:
            reports = [
                report(item.value, *model(item.value, item.offset + k, rng)) for k in range(item.count)
            ]
            results.append(batch_result(item.value, reports, settings.price, settings.discard_top_bottom))
        state = decide(record(state, results), settings)
        if state.done:
            return state
    raise AssertionError("the race did not end")


def settings(**kw) -> Settings:
    return Settings(**{"strategy": "speed", "max_per_size": 50, **kw})


# -- the race ----------------------------------------------------------------------------------------


def test_a_clear_loser_is_eliminated_after_the_first_round():
    # GIVEN a size three times slower than the other, with 5% noise
    model = noisy({512: 100.0, 128: 300.0})
    # WHEN one round has been measured
    state = start([128, 512], settings())
    assert [b.to_dict() for b in state.batch] == [
        {"value": 128, "count": 3, "offset": 0},
        {"value": 512, "count": 3, "offset": 0},
    ]
    rng = random.Random(1)
    results = [
        batch_result(m, [report(m, *model(m, k, rng)) for k in range(3)], PRICE, 0.2) for m in (128, 512)
    ]
    state = decide(record(state, results), settings())
    # THEN the slow size is out and the race is over after 6 invocations
    assert state.done
    assert state.reason == "separated"
    assert state.candidates == (512,)
    assert state.eliminated == (128,)
    assert state.invocations == 6


def best_by_brute_force(means: dict[int, float], strategy: str) -> int:
    cost = {m: PRICE.invocation_cost(math.ceil(d), m) for m, d in means.items()}
    if strategy == "cost":
        return min(means, key=cost.__getitem__)
    if strategy == "speed":
        return min(means, key=means.__getitem__)
    top_cost, top_duration = max(cost.values()), max(means.values())
    return min(means, key=lambda m: 0.5 * cost[m] / top_cost + 0.5 * means[m] / top_duration)


@pytest.mark.parametrize("strategy", ["cost", "speed", "balanced"])
def test_every_strategy_finds_an_obvious_winner_early(strategy):
    # GIVEN 50 ms of waiting plus 500 ms of CPU work at one vCPU, 2% noise
    sizes = [256, 512, 1024, 1536, 3008]
    means = {m: 50 + 500 * 1769 / min(m, 1769) for m in sizes}
    # WHEN raced with num 50
    state = race(noisy(means, 0.02), sizes, settings(strategy=strategy))
    # THEN the best size wins, alone, for a quarter of fixed sampling's invocations at most
    assert state.reason == "separated"
    assert state.candidates == (best_by_brute_force(means, strategy),)
    assert state.invocations < 50 * len(sizes) / 4


def rounds(
    state: AdaptiveState, model: Model, settings: Settings, count: int, seed: int
) -> list[AdaptiveState]:
    """The state after each of `count` rounds."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        results = [
            batch_result(
                i.value,
                [report(i.value, *model(i.value, i.offset + k, rng)) for k in range(i.count)],
                PRICE,
                0.2,
            )
            for i in state.batch
        ]
        state = decide(record(state, results), settings)
        out.append(state)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_no_elimination_on_a_tie(seed):
    # GIVEN two sizes with the same duration distribution (10% noise) and no tolerance
    tie = settings(tolerance=0.0, confidence=0.99)
    model = noisy({512: 100.0, 1024: 100.0}, spread=0.1)
    # WHEN four rounds have been measured THEN neither has been dropped: nothing tells them apart
    for state in rounds(start([512, 1024], tie), model, tie, 4, seed):
        assert state.candidates == (512, 1024)
        assert not state.done


def test_budget_caps_every_size_at_num():
    # GIVEN a tie that can never be separated (no tolerance, high confidence) and num 12
    tie = settings(tolerance=0.0, confidence=0.999, max_per_size=12)
    state = race(noisy({512: 100.0, 1024: 100.0}, spread=0.1), [512, 1024], tie)
    # THEN it stops on the budget with exactly num invocations per size, never more
    assert state.done
    assert state.reason == "budget"
    assert [s.count for s in state.sizes] == [12, 12]
    assert set(state.candidates) == {512, 1024}


def test_a_tie_within_tolerance_ends_before_the_budget():
    state = race(noisy({512: 100.0, 1024: 100.5}, spread=0.02), [512, 1024], settings(tolerance=0.05))
    assert state.done
    assert len(state.candidates) == 1
    assert state.invocations < 2 * 50 / 2


def test_heavy_tail_outliers_do_not_eliminate_the_best_size():
    # GIVEN the truly faster size (100 ms) stalls 30x now and then (1 in 8 after its first round,
    # and once in its first round: the worst case for a 3-invocation round); the other is a steady 130 ms
    def model(memory: int, i: int, rng: random.Random) -> tuple[float, float]:
        if memory == 512:
            stall = i == 1 or (i >= 3 and i % 8 == 0)
            return (3000.0 if stall else 100 * (1 + rng.uniform(-0.05, 0.05)), 0.0)
        return (130 * (1 + rng.uniform(-0.05, 0.05)), 0.0)

    for seed in range(20):
        state = race(model, [512, 1024], settings(), seed=seed)
        # THEN the stalls are trimmed away, not mistaken for the size's speed
        assert state.candidates == (512,), (seed, state.candidates)


def test_the_cold_first_invocation_is_left_out_of_the_estimate():
    samples = ((900.0, 1100.0, 200.0), (100.0, 100.0, 0.0), (102.0, 102.0, 0.0))
    assert kept_samples(samples) == list(samples[1:])
    # Every invocation cold (onlyColdStarts, or a function that never stays warm): keep them all.
    every_cold = ((900.0, 1100.0, 200.0), (950.0, 1150.0, 200.0))
    assert kept_samples(every_cold) == list(every_cold)
    # A later cold start belongs to the function's steady state.
    late = ((100.0, 100.0, 0.0), (900.0, 1100.0, 200.0), (101.0, 101.0, 0.0))
    assert kept_samples(late) == list(late)


def test_estimates_pool_the_spread_but_keep_a_heavier_own_spread():
    sizes = (
        SizeSamples(128, ((100.0, 100.0, 0.0), (110.0, 110.0, 0.0), (105.0, 105.0, 0.0))),
        SizeSamples(256, ((50.0, 50.0, 0.0), (50.0, 50.0, 0.0), (50.0, 50.0, 0.0))),
        SizeSamples(512, ((10.0, 10.0, 0.0), (90.0, 90.0, 0.0), (50.0, 50.0, 0.0))),
    )
    state = AdaptiveState(sizes=sizes, candidates=(128, 256, 512))
    est = estimates(state, settings())
    # 256 MB had three identical samples: it borrows the pool's spread (and its degrees of freedom)
    assert est[256].variance > 0
    assert est[256].df == est[128].df == 6
    # 512 MB is far noisier than the pool: its own spread and its own 2 degrees of freedom
    assert est[512].df == 2
    assert est[512].mean == pytest.approx(50.0)


def test_skipped_sizes_leave_the_race():
    state = start([128, 512], settings())
    skipped = batch_result(512, [report(512, 10.0)] * 3, PRICE, 0.2)
    oom = replace(skipped, value=128, skipped=True, reason="Runtime.OutOfMemory: killed", samples=())
    state = decide(record(state, [oom, skipped]), settings())
    assert state.candidates == (512,)
    assert state.done
    results = {r.value: r for r in size_results(state, settings())}
    assert results[128].skipped
    assert (results[128].reason or "").startswith("Runtime.OutOfMemory")


def test_size_results_count_every_invocation_but_average_the_kept_ones():
    size = SizeSamples(
        1024, ((900.0, 1101.0, 200.0), (100.0, 100.0, 0.0), (102.0, 102.0, 0.0)), transitions=2
    )
    state = AdaptiveState(sizes=(size,), candidates=(1024,), done=True)
    (result,) = size_results(state, settings())
    assert result.invocations == 3
    assert result.cold_starts == 1
    assert result.transitions == 2
    assert result.average_duration == pytest.approx(101.0)
    assert result.total_cost == pytest.approx(sum(PRICE.invocation_cost(b, 1024) for b in (1101, 100, 102)))
    assert result.gb_seconds == pytest.approx((1101 + 100 + 102) / 1000)
    # Percentiles over every invocation, the cold one included (p95 as p90 and p99).
    durations = [1100.0, 100.0, 102.0]
    assert (result.p90, result.p95, result.p99) == pytest.approx(
        tuple(percentile(durations, q) for q in (90, 95, 99))
    )


def test_student_t_quantiles():
    assert t_quantile(0.975, 1) == pytest.approx(12.706, abs=1e-3)
    assert t_quantile(0.975, 10) == pytest.approx(2.228, abs=1e-3)
    assert t_quantile(0.95, 1000) == pytest.approx(1.646, abs=1e-3)
    assert t_quantile(0.5, 3) == pytest.approx(0.0, abs=1e-6)
    assert t_quantile(0.95, 0) == math.inf


def test_state_round_trips_through_its_wire_form():
    state = AdaptiveState(
        sizes=(
            SizeSamples(128, ((1.5, 2.0, 0.0),), transitions=1),
            SizeSamples(256, skipped=True, reason="x"),
        ),
        candidates=(128,),
        eliminated=(256,),
        batch=(BatchItem(128, 2, 1),),
        pending=(512,),
        unavailable=(4096,),
        rounds=1,
        decisions=2,
    )
    assert AdaptiveState.from_dict(state.to_dict()) == state


# -- powerValues "auto" -----------------------------------------------------------------------------


def test_auto_starts_with_a_coarse_ladder_up_to_one_vcpu():
    assert adaptive.auto_initial_sizes() == (128, 512, 1769)
    assert adaptive.auto_initial_sizes(1024) == (128, 512, 1024)
    assert adaptive.auto_grid(3008)[-1] == 3008
    assert set(adaptive.auto_grid()) == set(AUTO_GRID)


def _measured(means: dict[int, float], candidates: tuple[int, ...]) -> AdaptiveState:
    sizes = tuple(
        SizeSamples(m, tuple((d * f, d * f, 0.0) for f in (0.99, 1.0, 1.01, 1.0, 0.995)))
        for m, d in means.items()
    )
    return AdaptiveState(sizes=sizes, candidates=candidates)


def test_auto_speed_never_looks_below_the_leader_and_climbs_while_it_improves():
    # GIVEN 1,769 MB is much faster than 512 MB and is the largest size measured
    state = _measured({128: 4000.0, 512: 1000.0, 1769: 300.0}, (1769,))
    # THEN speed looks above it (not below: less memory is never faster)
    assert adaptive.propose(state, settings(auto=True)) == (3008,)
    # AND once a plateau is reached (3,008 MB no faster), it only fills the gap
    state = _measured({128: 4000.0, 512: 1000.0, 1769: 300.0, 3008: 300.0}, (1769,))
    assert adaptive.propose(state, settings(auto=True)) == (2048,)
    state = _measured({512: 1000.0, 1769: 300.0, 2048: 301.0, 3008: 300.0}, (1769,))
    assert adaptive.propose(state, settings(auto=True)) == ()


def test_auto_cost_looks_below_the_leader_and_above_only_after_a_super_linear_speedup():
    # Cost falls from 128 to 512 MB (super-linear speed-up): both neighbours of 512 are worth a look
    falling = _measured({128: 4000.0, 512: 500.0, 1769: 200.0}, (512,))
    assert adaptive.propose(falling, settings(strategy="cost", auto=True)) == (256, 1024)
    # Cheapest at the smallest size: nothing above is worth publishing
    flat = _measured({128: 400.0, 512: 100.0, 1769: 29.0}, (128,))
    assert adaptive.propose(flat, settings(strategy="cost", auto=True)) == ()


def test_auto_never_asks_again_for_a_size_the_account_refused():
    state = replace(_measured({128: 4000.0, 512: 1000.0, 1769: 300.0}, (1769,)), unavailable=(3008,))
    assert adaptive.propose(state, settings(auto=True)) == (2048,)


# -- the state machine step --------------------------------------------------------------------------


def execution_state(sizes, published=None, refused=(), **execution_input):
    """The state the decision step reads: `$.request`, `$.run`, `$.publish` (sizes published so far)."""
    published = list(sizes) if published is None else published
    config = TuningConfig(ARN, tuple(sizes), "0123456789ab", 1024, "", "x86_64", sampling="adaptive")
    request = TuningRequest.from_dict(
        {"lambdaARN": ARN, "sampling": "adaptive", "num": 10, **execution_input}
    )
    publish = PublishState(power_values=tuple(published), index=len(published), refused=tuple(refused))
    return {"request": request.to_dict(), "run": config.to_dict(), "publish": publish.to_dict()}


def test_the_first_step_starts_the_race_on_the_published_sizes():
    out = advance_execution(execution_state([128, 512, 1024], published=[128, 512]))
    # the step returns only `$.adaptive`: the rest of the state is left as it was
    assert set(out) == set(AdaptiveState().to_dict())
    assert out["batch"] == [
        {"value": 128, "count": 3, "offset": 0},
        {"value": 512, "count": 3, "offset": 0},
    ]
    assert out["candidates"] == [128, 512]
    assert out["decisions"] == 1
    assert (out["done"], out["publishPending"]) == (False, False)


def test_a_finished_race_leaves_the_results_for_the_analyzer():
    state = execution_state([128, 512], strategy="speed")
    state["adaptive"] = advance_execution(state)
    state["round"] = [
        batch_result(m, [report(m, d) for d in (3 * base, base, base * 1.01)], PRICE, 0.2).to_dict()
        for m, base in ((128, 800.0), (512, 100.0))
    ]
    out = advance_execution(state)
    assert out["done"]
    assert out["candidates"] == [512]
    assert out["rounds"] == 1
    assert out["decisions"] == 2
    # the Analyzer computes each size's result from the race (every sample kept in `$.adaptive`)
    state["adaptive"] = out
    assert [s["value"] for s in out["sizes"]] == [128, 512]
    analysis = analyze_state(state)
    assert analysis.power == 512
    results = size_results(AdaptiveState.from_dict(out), settings(strategy="speed"))
    assert [r.value for r in analysis.stats] == [128, 512] == [r.value for r in results]
    # priced as 2 Publisher calls, 2 decisions, 1 round and each size's own transitions
    transitions = count_adaptive_transitions(2, 2, 1, results)
    assert analysis.execution_cost == pytest.approx(step_functions_cost(transitions, "us-east-1"), abs=1e-9)


def test_auto_sends_new_sizes_to_the_publisher_and_admits_what_was_published():
    # GIVEN a race that wants 3,008 MB next
    race_state = _measured({128: 4000.0, 512: 1000.0, 1769: 300.0}, (1769,))
    state = execution_state([128, 512, 1769], powerValues="auto", strategy="speed")
    state["adaptive"] = race_state.to_dict()
    state["round"] = []
    # WHEN the decision step runs THEN the size goes to the Publisher loop
    out = advance_execution(state)
    assert out["pending"] == [3008]
    assert out["publishPending"] is True
    assert not out["done"]
    # WHEN the Publisher refused it (above the account's limit) THEN it is remembered and never asked again
    refused = {
        **state,
        "adaptive": out,
        "publish": execution_state([128, 512, 1769], refused=[3008])["publish"],
    }
    after = advance_execution(refused)
    assert after["unavailable"] == [3008]
    assert after["pending"] == [2048]
    assert after["publishPending"] is True
    # WHEN the Publisher published that one THEN it enters the race with a batch of its own
    published = {
        **state,
        "adaptive": after,
        "publish": execution_state([128, 512, 1769, 2048], refused=[3008])["publish"],
    }
    admitted = advance_execution(published)
    assert admitted["pending"] == []
    assert admitted["publishPending"] is False
    assert 2048 in admitted["candidates"]
    assert [b["value"] for b in admitted["batch"]] == [2048]


# -- the input keys ----------------------------------------------------------------------------------


def test_adaptive_keys_have_documented_defaults_and_round_trip():
    request = TuningRequest.from_dict({"lambdaARN": ARN, "sampling": "adaptive"})
    assert (request.confidence, request.tolerance, request.auto_power_values) == (0.9, 0.05, False)
    auto = TuningRequest.from_dict({"lambdaARN": ARN, "sampling": "adaptive", "powerValues": "auto"})
    assert auto.auto_power_values
    assert auto.power_values is None
    assert TuningRequest.from_dict(auto.to_dict()) == auto
    # A fixed run's input does not grow the adaptive keys
    assert "confidence" not in TuningRequest.from_dict({"lambdaARN": ARN}).to_dict()


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        ({"confidence": 0.95}, ["confidence", 'sampling: "adaptive"']),
        ({"tolerance": 0.01}, ["tolerance", 'sampling: "adaptive"']),
        ({"powerValues": "auto"}, ['powerValues "auto"', 'sampling: "adaptive"']),
        ({"sampling": "adaptive", "confidence": 1.0}, ["confidence", "from 0.5 to 0.999", "1.0"]),
        ({"sampling": "adaptive", "confidence": "high"}, ["confidence", "number"]),
        ({"sampling": "adaptive", "tolerance": -0.1}, ["tolerance", "from 0.0 to 0.5"]),
        ({"sampling": "adaptive", "powerValues": "Auto"}, ["powerValues", '"auto" or "ALL"']),
    ],
)
def test_invalid_adaptive_input_names_the_field(data, fragments):
    with pytest.raises(InvalidInputError) as caught:
        TuningRequest.from_dict({"lambdaARN": ARN, **data})
    for fragment in fragments:
        assert fragment in str(caught.value)


@pytest.mark.parametrize(("power_values", "num"), [("ALL", 200), ("auto", 400)])
def test_a_race_whose_samples_could_pass_256_kb_is_refused(power_values, num):
    # The race keeps every sample in the execution state: the Initializer refuses it, saying what to lower.
    request = TuningRequest.from_dict(
        {"lambdaARN": ARN, "sampling": "adaptive", "powerValues": power_values, "num": num}
    )
    sizes = request.power_values or adaptive.auto_initial_sizes()
    config = TuningConfig(ARN, sizes, "0123456789ab", 1024, "", "x86_64", sampling="adaptive")
    with pytest.raises(StateLimitError, match="lower num or list fewer powerValues"):
        check_state_budget(request, config)


def test_a_race_that_fits_is_accepted():
    request = TuningRequest.from_dict(
        {"lambdaARN": ARN, "sampling": "adaptive", "powerValues": "auto", "num": 50}
    )
    config = TuningConfig(
        ARN, adaptive.auto_initial_sizes(), "0123456789ab", 1024, "", "x86_64", sampling="adaptive"
    )
    check_state_budget(request, config)


# -- how sure the pick is ----------------------------------------------------------------------------


def test_a_separated_pick_is_stated_with_the_tolerance_and_confidence():
    # GIVEN a race that ended with one size left
    state = race(noisy({512: 100.0, 128: 300.0}), [128, 512], settings())
    assert state.reason == "separated"
    # WHEN its confidence is stated
    statement = adaptive.confidence_statement(state, settings())
    # THEN nothing is left unseparated, and the dict is JSON as it stands
    assert statement["pick"] == 512
    assert statement["confidence"] == 0.9
    assert statement["notSeparated"] == []
    assert statement["text"] == "512 MB; no other size measured is more than 5% better at 90%"
    assert json.loads(json.dumps(statement)) == statement


def test_sizes_left_at_the_budget_are_listed_with_how_much_better_they_could_be():
    # GIVEN a near-tie the race could not separate within num 12 (no tolerance)
    tie = settings(tolerance=0.0, confidence=0.9, max_per_size=12)
    state = race(noisy({512: 100.0, 1024: 101.0}, spread=0.1), [512, 1024], tie, seed=3)
    assert state.reason == "budget"
    statement = adaptive.confidence_statement(state, tie)
    # THEN the other size is not separated, by the t bound of the race's own estimates
    pick = statement["pick"]
    (other,) = statement["notSeparated"]
    assert other["value"] == ({512, 1024} - {pick}).pop()
    est = estimates(state, tie)
    a, b = est[other["value"]], est[pick]
    df = adaptive._welch_df(a, b)
    bound = (b.mean - a.mean + t_quantile(0.9, df) * math.sqrt(a.variance + b.variance)) / b.mean
    assert other["withinPct"] == round(bound * 100, 1)
    assert 0 < other["withinPct"] < 30
    assert statement["text"] == f"{pick} MB; {other['value']} MB is within {other['withinPct']:g}% at 90%"
    # A higher confidence widens the bound
    surer = adaptive.confidence_statement(state, replace(tie, confidence=0.99))
    assert surer["notSeparated"][0]["withinPct"] > other["withinPct"]
    assert surer["text"].endswith("at 99%")


def test_a_size_with_too_few_samples_is_named_and_no_measurement_is_stated():
    sizes = (
        SizeSamples(512, ((100.0, 100.0, 0.0), (101.0, 101.0, 0.0), (99.0, 99.0, 0.0))),
        SizeSamples(1024, ((300.0, 300.0, 0.0),)),
    )
    state = AdaptiveState(sizes=sizes, candidates=(512, 1024), done=True, reason="budget")
    statement = adaptive.confidence_statement(state, settings())
    assert statement["notSeparated"] == [{"value": 1024, "withinPct": None}]
    assert "1024 MB has too few samples to compare" in statement["text"]
    empty = adaptive.confidence_statement(
        AdaptiveState(done=True, reason="no size could be measured"), settings()
    )
    assert empty["pick"] is None
    assert empty["text"] == "no size could be measured"
