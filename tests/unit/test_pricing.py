"""Prices per region and architecture, the request fee in every cost, Step Functions transitions."""

from __future__ import annotations

import pytest

from powertuning import pricing
from powertuning.pricing import (
    DEFAULT_POWER_VALUES,
    REQUEST_PRICE_USD,
    LambdaPrice,
    lambda_price,
    step_functions_cost,
    transition_price,
)

# Regions whose prices the module documents as different from the default.
EXPENSIVE_REGIONS = ["af-south-1", "ap-east-1", "ap-northeast-3", "eu-south-1", "me-south-1"]


def test_documented_us_east_1_prices():
    # These figures are the published ones (us-east-1, first tier), checked on purpose.
    assert lambda_price("us-east-1", "x86_64").gb_second == 0.0000166667
    assert lambda_price("us-east-1", "arm64").gb_second == 0.0000133334
    assert lambda_price("us-east-1").request * 1_000_000 == pytest.approx(0.20)
    assert transition_price("us-east-1") == pytest.approx(0.025 / 1000)


def test_architecture_defaults_to_x86_64():
    assert lambda_price("us-east-1") == lambda_price("us-east-1", "x86_64")


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", *EXPENSIVE_REGIONS])
def test_arm64_costs_less_than_x86_64_everywhere(region):
    arm = lambda_price(region, "arm64").gb_second
    x86 = lambda_price(region, "x86_64").gb_second
    assert arm < x86
    assert arm == pytest.approx(x86 * 0.8, rel=1e-4)


@pytest.mark.parametrize("region", EXPENSIVE_REGIONS)
@pytest.mark.parametrize("architecture", pricing.ARCHITECTURES)
def test_some_regions_cost_more_than_us_east_1(region, architecture):
    assert lambda_price(region, architecture).gb_second > lambda_price("us-east-1", architecture).gb_second


def test_unknown_region_gets_the_default_price():
    # GIVEN a region the table does not list WHEN pricing it THEN the default applies
    assert lambda_price("xx-nowhere-9") == lambda_price("us-east-1")
    assert transition_price("xx-nowhere-9") == transition_price("us-east-1")


def test_unknown_architecture_is_rejected_naming_the_allowed_ones():
    with pytest.raises(ValueError, match=r"x86_64, arm64.*'ppc64'"):
        lambda_price("us-east-1", "ppc64")


@pytest.mark.parametrize("region", ["us-east-1", *EXPENSIVE_REGIONS])
@pytest.mark.parametrize("architecture", pricing.ARCHITECTURES)
def test_every_invocation_cost_includes_the_request_fee(region, architecture):
    price = lambda_price(region, architecture)
    assert price.request == REQUEST_PRICE_USD
    assert price.invocation_cost(0, 128) == REQUEST_PRICE_USD
    assert price.invocation_cost(100, 1024) == pytest.approx(
        price.duration_cost(100, 1024) + REQUEST_PRICE_USD
    )


def test_duration_cost_is_gb_seconds_times_price():
    price = lambda_price("us-east-1")
    # 1 s at 1,024 MB is one GB-second.
    assert price.gb_seconds(1000, 1024) == 1.0
    assert price.duration_cost(1000, 1024) == pytest.approx(price.gb_second)
    # Linear in memory and in time.
    assert price.duration_cost(1000, 2048) == pytest.approx(2 * price.duration_cost(1000, 1024))
    assert price.duration_cost(2000, 128) == pytest.approx(2 * price.duration_cost(1000, 128))


def test_duration_is_billed_in_whole_milliseconds_rounded_up():
    price = lambda_price("us-east-1")
    assert price.duration_cost(12.01, 128) == price.duration_cost(13, 128)
    assert price.gb_seconds(0.2, 1024) == pytest.approx(0.001)
    assert price.duration_cost(13, 128) > price.duration_cost(12, 128)


def test_a_price_object_can_carry_another_request_fee():
    free_requests = LambdaPrice(gb_second=lambda_price("us-east-1").gb_second, request=0.0)
    assert free_requests.invocation_cost(100, 512) == free_requests.duration_cost(100, 512)


@pytest.mark.parametrize("region", ["sa-east-1", "eu-west-3", "us-west-1"])
def test_step_functions_costs_more_in_some_regions(region):
    assert transition_price(region) > transition_price("us-east-1")


def test_documented_step_functions_regional_figures():
    # Checked on purpose against the figures quoted in DESIGN.md (per 1,000 transitions).
    assert transition_price("sa-east-1") * 1000 == pytest.approx(0.0375)
    assert transition_price("eu-west-3") * 1000 == pytest.approx(0.0297)
    assert transition_price("us-west-1") * 1000 == pytest.approx(0.0279)


@pytest.mark.parametrize("region", ["us-east-1", "sa-east-1", "eu-west-3"])
def test_step_functions_cost_is_transitions_times_price(region):
    assert step_functions_cost(0, region) == 0
    assert step_functions_cost(1000, region) == pytest.approx(1000 * transition_price(region))


def test_vcpus_one_at_1769_mb_and_linear():
    assert pricing.vcpus(pricing.MB_PER_VCPU) == 1.0
    assert pricing.vcpus(10240) == pytest.approx(5.79, abs=0.01)
    assert pricing.vcpus(128) < pricing.vcpus(256)


def test_memory_bounds_and_default_power_values():
    assert (pricing.MIN_MEMORY_MB, pricing.MAX_MEMORY_MB) == (128, 10240)
    assert list(DEFAULT_POWER_VALUES) == sorted(set(DEFAULT_POWER_VALUES))
    assert all(pricing.MIN_MEMORY_MB <= p <= pricing.MAX_MEMORY_MB for p in DEFAULT_POWER_VALUES)


def test_cost_per_invocation_follows_memory_times_billed_time():
    # GIVEN CPU-bound work that runs 8x faster with 8x the memory
    # WHEN costing each size THEN both cost the same, request fee included
    price = lambda_price("us-east-1")
    assert price.invocation_cost(800, 128) == pytest.approx(price.invocation_cost(100, 1024))
    # GIVEN sub-millisecond work WHEN rounded up to 1 ms THEN the big size pays for a whole ms
    assert price.invocation_cost(0.4, 1024) > price.invocation_cost(3.2, 128)


# -- one invocation's cost, per case, against figures computed by hand --------------------------------
# LambdaPrice.invocation_cost is the only place an invocation is priced: the Executor and the Analyzer
# (analysis.summarize), the adaptive race (adaptive._cost), the reports (which read averagePrice) and
# the benchmarks (through summarize) all go through it.


def test_cost_warm_x86_us_east_1():
    # 100 ms x 1 GB x $0.0000166667 + $0.0000002 = $0.00000186667
    assert lambda_price("us-east-1", "x86_64").invocation_cost(100, 1024) == pytest.approx(
        1.86667e-6, rel=1e-9
    )


def test_cost_warm_arm64_us_east_1():
    # 250 ms x 0.5 GB x $0.0000133334 + $0.0000002 = $0.0000018666750
    assert lambda_price("us-east-1", "arm64").invocation_cost(250, 512) == pytest.approx(
        1.866675e-6, rel=1e-9
    )


def test_cost_cold_start_with_init_billed():
    # A ZIP function on a managed runtime since 1 Aug 2025: Duration 12.34 ms + Init 150.00 ms is
    # billed as Billed Duration 163 ms. 163 ms x 0.125 GB x $0.0000166667 + $0.0000002
    # = $0.000000339584 + $0.0000002 = $0.000000539584
    assert lambda_price("us-east-1").invocation_cost(163, 128) == pytest.approx(5.3958396e-7, rel=1e-7)


def test_cost_snapstart_restore():
    # Billed Duration 17 ms + Billed Restore Duration 154 ms = 171 ms at 512 MB:
    # 171 ms x 0.5 GB x $0.0000166667 + $0.0000002 = $0.00000142500 + $0.0000002 = $0.00000162500
    assert lambda_price("us-east-1").invocation_cost(17 + 154, 512) == pytest.approx(1.62500285e-6, rel=1e-7)


def test_cost_ephemeral_storage_above_512_mb():
    # 10,240 MB of /tmp: 9.5 GB above the free 512 MB x 1 s x $0.0000000309 = $0.00000029355, on top
    # of 1 s x 1 GB x $0.0000166667 and the request fee: $0.0000171602
    price = lambda_price("us-east-1", "x86_64", ephemeral_storage_mb=10240)
    assert price.storage_cost(1000) == pytest.approx(2.9355e-7, rel=1e-9)
    assert price.invocation_cost(1000, 1024) == pytest.approx(1.716025e-5, rel=1e-9)
    # the free 512 MB cost nothing
    assert lambda_price("us-east-1", ephemeral_storage_mb=512).storage_cost(1000) == 0.0


def test_cost_request_fee_alone():
    # 0 ms billed (nothing ran): $0.20 per 1M requests
    assert lambda_price("us-east-1").invocation_cost(0, 128) == pytest.approx(2.0e-7, rel=1e-12)


def test_cost_rounds_up_to_one_millisecond():
    # 0.4 ms is billed as 1 ms: 1 ms x 1 GB x $0.0000166667 + $0.0000002 = $0.0000002166667
    assert lambda_price("us-east-1").invocation_cost(0.4, 1024) == pytest.approx(2.166667e-7, rel=1e-7)


def test_cost_in_a_dearer_region():
    # af-south-1: 1 s x 1 GB x $0.0000221 + $0.0000002 = $0.0000223
    assert lambda_price("af-south-1").invocation_cost(1000, 1024) == pytest.approx(2.23e-5, rel=1e-9)


@pytest.mark.parametrize("region", ["cn-north-1", "cn-northwest-1"])
def test_cost_in_china_is_in_cny(region):
    # 100 ms x 1 GB x CNY 0.000113477 + CNY 1.36 per 1M = CNY 0.0000113477 + 0.00000136 = CNY 0.0000127077
    price = lambda_price(region)
    assert price.currency == "CNY"
    assert pricing.currency(region) == "CNY"
    assert price.invocation_cost(100, 1024) == pytest.approx(1.27077e-5, rel=1e-9)
    # the reference's figure: CNY 1.42e-8 per ms at 128 MB (rounded)
    assert price.duration_cost(1, 128) == pytest.approx(1.42e-8, rel=0.01)
    # arm64: 80% of x86_64, as everywhere
    assert lambda_price(region, "arm64").gb_second == pytest.approx(0.8 * 0.000113477)
    # Step Functions: CNY 0.0001891 per transition, the reference's figure
    assert transition_price(region) == pytest.approx(0.0001891)


def test_other_regions_are_in_usd():
    assert lambda_price("us-east-1").currency == pricing.currency("eu-west-1") == "USD"


def test_every_cost_is_computed_by_invocation_cost(monkeypatch):
    # GIVEN invocation_cost replaced by a flat 1.0 per invocation
    from powertuning.adaptive.estimates import cost
    from powertuning.analysis import summarize
    from powertuning.logs import Report

    monkeypatch.setattr(LambdaPrice, "invocation_cost", lambda self, billed_ms, memory_mb: 1.0)
    price = lambda_price("us-east-1")
    reports = [Report(duration_ms=d, billed_duration_ms=d, memory_size_mb=512) for d in (10.0, 20.0, 30.0)]
    # THEN the Analyzer's summary and the adaptive race's objective see exactly that
    result = summarize(512, reports, price, 0.0)
    assert (result.average_price, result.total_cost) == (1.0, 3.0)
    assert cost((10.0, 10.0, 0.0), 512, price) == 1.0


@pytest.mark.parametrize(
    ("architecture", "usage", "factor"),
    [
        ("x86_64", 0, 1.0),
        ("x86_64", 5.99e9, 1.0),
        ("x86_64", 6e9, 0.9),
        ("x86_64", 14.9e9, 0.9),
        ("x86_64", 15e9, 0.8),
        ("arm64", 6e9, 1.0),
        ("arm64", 7.5e9, 0.9),
        ("arm64", 18.7e9, 0.9),
        ("arm64", 18.75e9, 0.8),
    ],
)
def test_monthly_usage_prices_duration_at_its_marginal_tier(architecture, usage, factor):
    # GIVEN the account's monthly GB-seconds WHEN priced THEN duration is at its tier, the rest not
    assert pricing.marginal_tier(architecture, usage) == factor
    first = lambda_price("us-east-1", architecture)
    tiered = lambda_price("us-east-1", architecture, monthly_gb_seconds=usage)
    assert tiered.gb_second == pytest.approx(first.gb_second * factor)
    assert tiered.request == first.request
    assert tiered.ephemeral_gb_second == first.ephemeral_gb_second
    # THEN without the input the price is the first tier's, as ever
    assert lambda_price("us-east-1", architecture, monthly_gb_seconds=None) == first


def test_the_tier_applies_in_china_too_in_its_currency():
    tiered = lambda_price("cn-north-1", "x86_64", monthly_gb_seconds=20e9)
    assert tiered.currency == "CNY"
    assert tiered.gb_second == pytest.approx(lambda_price("cn-north-1").gb_second * 0.8)


def test_a_logs_insights_query_is_priced_per_gb_scanned():
    # $0.005 per GB of 10^9 bytes, in USD regions; 2.5 GB scanned cost 1.25 cents
    assert pricing.logs_insights_cost("us-east-1", 2.5e9) == pytest.approx(0.0125)
    assert pricing.logs_insights_cost("eu-west-1", 0) == 0.0
    # No China figure is known: the cost is unknown, not zero
    assert pricing.logs_insights_cost("cn-north-1", 1e9) is None
