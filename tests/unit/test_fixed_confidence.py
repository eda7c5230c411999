"""How sure a fixed-sampling pick is: the adaptive race's statement, from the averages' noise."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from powertuning import stats
from powertuning.adaptive.estimates import Estimate, lower_bound
from powertuning.analysis import recommend, summarize
from powertuning.cli.output import format_table
from powertuning.fixed_confidence import fixed_confidence, invocations_to_separate
from powertuning.logs import Report
from powertuning.pricing import lambda_price
from powertuning.size_stats import SizeStats

PRICE = lambda_price("us-east-1")
# A fixed, deterministic spread of +-10 % around each size's centre (the order does not matter).
SPREAD = [0.90, 1.10, 0.95, 1.05, 0.97, 1.03, 0.92, 1.08, 1.0, 1.0]


def measured(value: int, centre_ms: float, n: int = 10, discard: float = 0.2) -> SizeStats:
    reports = [
        Report(duration_ms=centre_ms * f, billed_duration_ms=math.ceil(centre_ms * f), memory_size_mb=value)
        for f in (SPREAD * (n // len(SPREAD) + 1))[:n]
    ]
    return SizeStats.from_dict(summarize(value, reports, PRICE, discard).to_dict())


def test_summarize_records_yuens_noise_of_both_averages():
    reports = [
        Report(duration_ms=100 * f, billed_duration_ms=math.ceil(100 * f), memory_size_mb=512) for f in SPREAD
    ]
    result = summarize(512, reports, PRICE, 0.2)
    assert result.duration_variance == pytest.approx(
        stats.yuen([r.duration_ms for r in reports], 0.2).variance
    )
    assert result.kept_invocations == stats.yuen([1.0] * 10, 0.2).kept == 6
    assert result.price_variance is not None
    assert result.price_variance > 0
    # AND one invocation has no spread to tell: nothing is recorded (never an infinity in the state)
    assert summarize(512, reports[:1], PRICE, 0.2).duration_variance is None


def test_a_runner_up_within_the_noise_is_named_with_what_would_separate_it():
    # GIVEN 1024 MB 1 % slower than 512 MB, with a 10 % spread, 10 invocations each
    sizes = [measured(512, 100.0), measured(1024, 101.0), measured(2048, 300.0)]
    confidence = fixed_confidence(sizes, 512, "speed")
    assert confidence is not None
    # THEN 1024 MB is not separated from the pick (2048 MB is), and how many invocations would do it
    assert [value for value, _ in confidence.not_separated] == [1024]
    assert confidence.text.startswith("512 MB; 1024 MB is within ")
    assert " at 95%; " in confidence.text
    assert "invocations per size" in confidence.text
    assert "2048" not in confidence.text


def test_sizes_far_apart_are_said_to_be_separated():
    confidence = fixed_confidence([measured(512, 100.0), measured(1024, 150.0)], 512, "speed")
    assert confidence is not None
    assert confidence.not_separated == ()
    assert confidence.text == "512 MB; no other size measured is better at 95%"


def test_the_invocations_it_names_would_separate_the_two():
    # GIVEN two estimates 2 % apart; WHEN as many invocations as it names are made (the same spread)
    a = Estimate(1024, 102.0, 4.0, 9.0, 10, 10)
    b = Estimate(512, 100.0, 4.0, 9.0, 10, 10)
    needed = invocations_to_separate(a, b, 0.95)
    assert needed is not None
    spread = a.variance * a.kept

    def at(n: int, e: Estimate) -> Estimate:
        return replace(e, variance=spread / n, df=n - 1.0, count=n, kept=n)

    # THEN the bound separates them there, and not at a third of it
    lower = lower_bound(at(needed, a), at(needed, b), 0.95)
    assert lower is not None
    assert lower > 0
    fewer = lower_bound(at(needed // 3, a), at(needed // 3, b), 0.95)
    assert fewer is not None
    assert fewer < 0
    assert invocations_to_separate(b, b, 0.95) is None


@pytest.mark.parametrize(
    ("strategy", "sizes"),
    [
        ("balanced", [measured(512, 100.0), measured(1024, 101.0)]),
        (None, [measured(512, 100.0), measured(1024, 101.0)]),
        ("speed", [measured(512, 100.0)]),  # nothing to compare with
        ("speed", [replace(measured(512, 100.0), duration_variance=None), measured(1024, 101.0)]),
        ("speed", [replace(measured(512, 100.0), architecture="arm64"), measured(1024, 101.0)]),
        ("cost", [replace(measured(512, 100.0), warm_price=1e-6), measured(1024, 101.0)]),
    ],
)
def test_no_statement_where_one_noise_figure_cannot_be_had(strategy, sizes):
    assert fixed_confidence(sizes, 512, strategy) is None


def test_the_table_says_how_sure_a_fixed_pick_is():
    results = [
        summarize(
            value,
            [
                Report(duration_ms=c * f, billed_duration_ms=math.ceil(c * f), memory_size_mb=value)
                for f in SPREAD
            ],
            PRICE,
            0.2,
        )
        for value, c in ((512, 100.0), (1024, 101.0))
    ]
    out = recommend(
        results, strategy="speed", balanced_weight=0.5, region="us-east-1", transitions=20, include_stats=True
    )
    text = format_table(out.to_dict(), strategy="speed")
    assert "  How sure: 512 MB; 1024 MB is within " in text
    # AND without the strategy (an output on its own) it says nothing it cannot back
    assert "How sure" not in format_table(out.to_dict())
