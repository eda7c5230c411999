"""What a finished race reports: per-size results and how sure the pick is."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from powertuning.adaptive.estimates import estimates, welch_df
from powertuning.adaptive.outcome import confidence_statement, size_results
from powertuning.adaptive.state import AdaptiveState, SizeSamples
from powertuning.stats import percentile, t_quantile
from tests.adaptive_sim import PRICE, noisy, race, settings


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


def test_a_separated_pick_is_stated_with_the_tolerance_and_confidence():
    # GIVEN a race that ended with one size left
    state = race(noisy({512: 100.0, 128: 300.0}), [128, 512], settings())
    assert state.reason == "separated"
    # WHEN its confidence is stated
    statement = confidence_statement(state, settings())
    # THEN nothing is left unseparated, and the dict is JSON as it stands
    assert statement["pick"] == 512
    assert statement["confidence"] == 0.9
    assert statement["notSeparated"] == []
    assert statement["text"] == "512 MB; no other size measured is more than 5% better at 90%"
    assert json.loads(json.dumps(statement)) == statement


def test_sizes_left_at_the_budget_are_listed_with_how_much_better_they_could_be():
    # GIVEN a near-tie the race could not separate within num 12 (no tolerance): 1024 MB measured
    # 1% slower on average than 512 MB, with 10% spread on both
    tie = settings(tolerance=0.0, confidence=0.9, max_per_size=12)
    spread = (0.9, 1.1, 0.95, 1.05, 1.0, 0.85, 1.15, 1.0, 0.92, 1.08, 0.97, 1.03)
    state = AdaptiveState(
        sizes=tuple(
            SizeSamples(m, tuple((mean * f, math.ceil(mean * f), 0.0) for f in spread))
            for m, mean in ((512, 100.0), (1024, 101.0))
        ),
        candidates=(512, 1024),
        done=True,
        reason="budget",
    )
    statement = confidence_statement(state, tie)
    # THEN the other size is not separated, by the t bound of the race's own estimates
    pick = statement["pick"]
    (other,) = statement["notSeparated"]
    assert other["value"] == ({512, 1024} - {pick}).pop()
    est = estimates(state, tie)
    a, b = est[other["value"]], est[pick]
    df = welch_df(a, b)
    bound = (b.mean - a.mean + t_quantile(0.9, df) * math.sqrt(a.variance + b.variance)) / b.mean
    assert other["withinPct"] == round(bound * 100, 1)
    assert 0 < other["withinPct"] < 30
    assert statement["text"] == f"{pick} MB; {other['value']} MB is within {other['withinPct']:g}% at 90%"
    # A higher confidence widens the bound
    surer = confidence_statement(state, replace(tie, confidence=0.99))
    assert surer["notSeparated"][0]["withinPct"] > other["withinPct"]
    assert surer["text"].endswith("at 99%")


def test_a_size_with_too_few_samples_is_named_and_no_measurement_is_stated():
    sizes = (
        SizeSamples(512, ((100.0, 100.0, 0.0), (101.0, 101.0, 0.0), (99.0, 99.0, 0.0))),
        SizeSamples(1024, ((300.0, 300.0, 0.0),)),
    )
    state = AdaptiveState(sizes=sizes, candidates=(512, 1024), done=True, reason="budget")
    statement = confidence_statement(state, settings())
    assert statement["notSeparated"] == [{"value": 1024, "withinPct": None}]
    assert "1024 MB has too few samples to compare" in statement["text"]
    empty = confidence_statement(AdaptiveState(done=True, reason="no size could be measured"), settings())
    assert empty["pick"] is None
    assert empty["text"] == "no size could be measured"
