"""Cold starts priced as the function starts: SnapStart's restore and charges, provisioned concurrency,
and a size where no cold start was seen (powertuning/pricing.py, powertuning/cold_starts.py)."""

from __future__ import annotations

import math

import pytest

from powertuning.analysis import summarize
from powertuning.cli.output import format_table
from powertuning.cold_starts import ColdStartRate, blend, cold_figures, with_cold_figures
from powertuning.logs import Report
from powertuning.pricing import (
    SNAPSTART_CACHE_GB_SECOND_USD,
    SNAPSTART_RESTORE_GB_USD,
    SnapStartPrice,
    lambda_price,
    snap_start_price,
    snap_start_runtime,
)
from powertuning.size_result import SizeResult
from tests.unit.test_cold_starts import SIZES, analysis, measured

PRICE = lambda_price("us-east-1")


def snap_reports(memory: int, num: int = 10) -> list[Report]:
    # A SnapStart cold start: no Init Duration, a Restore Duration of which 180 ms is billed.
    out = [Report(100.4, 101.0, memory, 60, restore_duration_ms=400.0, billed_restore_duration_ms=180.0)]
    out += [Report(100.0 + i % 2, 101.0 + i % 2, memory, 60) for i in range(num - 1)]
    return out


@pytest.mark.parametrize(
    ("runtime", "family", "charged"),
    [("python3.12", "python", True), ("dotnet8", "dotnet", True), ("java21", "java", False), ("", "", False)],
)
def test_snapstart_charges_python_and_dotnet_only(runtime, family, charged):
    assert snap_start_runtime(runtime) == family
    price = snap_start_price("us-east-1", runtime)
    expected = (SNAPSTART_RESTORE_GB_USD, SNAPSTART_CACHE_GB_SECOND_USD) if charged else (0.0, 0.0)
    assert (price.restore_gb, price.cache_gb_second) == expected


def test_snapstart_charges_are_per_gb_of_memory():
    price = SnapStartPrice(SNAPSTART_RESTORE_GB_USD, SNAPSTART_CACHE_GB_SECOND_USD)
    assert price.restore_cost(2048) == pytest.approx(2 * 0.0001397998)
    # A 2 GB version cached for a 30-day month
    assert price.cache_cost(2048, 30 * 86_400) == pytest.approx(2 * 0.0000015046 * 2_592_000)
    # THEN China's are derived as ephemeral storage's are: the USD figure x the duration price ratio
    china = snap_start_price("cn-north-1", "python3.12")
    assert china.restore_gb == pytest.approx(SNAPSTART_RESTORE_GB_USD * 0.000113477 / 0.0000166667, rel=1e-6)


def test_a_snapstart_cold_start_is_its_billed_restore_plus_the_restoration_charge():
    rs = snap_reports(1024)
    charges = snap_start_price("us-east-1", "python3.12")
    figures = cold_figures(1024, rs, PRICE, 0.2, snap_start=charges)
    # THEN one cold start: Billed Duration + Billed Restore Duration at the duration price, + 1 GB restored
    assert figures.cold_start_cost == pytest.approx(
        PRICE.invocation_cost(101.0 + 180.0, 1024) + SNAPSTART_RESTORE_GB_USD
    )
    # THEN its start-up alone is the billed restore and the restoration charge (no INIT: none reported)
    assert figures.init_cost == pytest.approx(PRICE.duration_cost(180.0, 1024) + SNAPSTART_RESTORE_GB_USD)
    assert figures.init_duration == 0.0
    # THEN Java's SnapStart: the billed restore only
    java = cold_figures(1024, rs, PRICE, 0.2, snap_start=snap_start_price("us-east-1", "java21"))
    assert java.cold_start_cost == pytest.approx(PRICE.invocation_cost(281.0, 1024))


def test_on_provisioned_concurrency_a_cold_start_is_priced_without_init():
    rs = [Report(100.2, 1601.0, 512, 60, 1500.3)] + [Report(100.0, 100.0, 512, 60)] * 9
    on_demand = cold_figures(512, rs, PRICE, 0.2)
    provisioned = cold_figures(512, rs, PRICE, 0.2, init_billed=False)
    assert on_demand.cold_start_cost == pytest.approx(PRICE.invocation_cost(1601.0, 512))
    assert provisioned.cold_start_cost == pytest.approx(PRICE.invocation_cost(101.0, 512))
    assert provisioned.init_cost == 0.0
    # THEN its duration still counts the start-up (what a spill-over invocation waits)
    assert provisioned.cold_start_duration == on_demand.cold_start_duration


def test_the_cache_charge_is_per_invocation_only_where_the_traffic_is_known():
    result = SizeResult.from_dict(measured(1024))
    charges = snap_start_price("us-east-1", "python3.12")
    numeric = ColdStartRate(0.1, snap_start="python", snap_start_price=charges)
    production = ColdStartRate(
        0.1,
        source="production",
        start="2026-11-24T00:00:00Z",
        end="2026-12-08T00:00:00Z",
        invocations=1_000_000,
        cold_starts=100_000,
        snap_start="python",
        snap_start_price=charges,
    )
    # GIVEN a numeric rate: the cache is shown per hour, and left out of the cost
    plain = blend(result, 0.1)
    shown = blend(result, 0.1, numeric)
    assert shown.average_price == plain.average_price
    assert shown.snap_start_cache_hourly == pytest.approx(3600 * SNAPSTART_CACHE_GB_SECOND_USD)
    assert shown.snap_start_cache_cost is None
    assert "not in the cost" in numeric.priced
    # GIVEN the production rate: the window's cache cost spread over its invocations is in the cost
    spread = blend(result, 0.1, production)
    per_invocation = 14 * 86_400 * SNAPSTART_CACHE_GB_SECOND_USD / 1_000_000
    assert spread.snap_start_cache_cost == pytest.approx(per_invocation)
    assert spread.average_price == pytest.approx(plain.average_price + per_invocation)
    assert "over the production window" in production.priced
    # THEN the wire form keeps it all
    assert ColdStartRate.from_dict(production.to_dict()) == production


def test_a_size_without_a_cold_start_is_flagged_in_its_item_and_the_cli():
    # GIVEN 1,024 MB measured with no cold start, the others with one
    stats = [measured(m, cold=0 if m == 1024 else 1) for m in SIZES]
    out = analysis(stats, 0.1, strategy="balanced").to_dict()
    items = {s["value"]: s for s in out["stats"]}
    # THEN that item says so, the others carry no such key
    assert items[1024]["noColdStartSeen"] is True
    assert all("noColdStartSeen" not in items[m] for m in SIZES if m != 1024)
    # THEN the CLI names the size
    assert "No cold start seen at 1024 MB: priced warm" in format_table(out)
    # THEN without a rate there is no such key, whatever was seen
    plain = summarize(1024, [Report(10.0, 10.0, 1024)] * 5, PRICE, 0.2)
    assert "noColdStartSeen" not in plain.to_dict()


def test_the_output_and_cli_say_what_a_cold_start_was_priced_as():
    stats = [measured(m) for m in SIZES]
    out = analysis(stats, 0.2, strategy="balanced").to_dict()
    assert out["coldStart"]["priced"].startswith("Billed Duration with INIT")
    # GIVEN provisioned concurrency on the tuned alias (what the Initializer records)
    provisioned = ColdStartRate(0.2, provisioned=("live",), provisioned_tuned=True)
    with_pc = _analysed(stats, provisioned)
    table = format_table(with_pc)
    assert "INIT is not billed per invocation (provisioned concurrency on live)" in table
    assert "Cold starts priced as: Duration only" in table
    assert with_pc["coldStart"]["provisionedConcurrency"] == {
        "qualifiers": ["live"],
        "initBilledPerInvocation": False,
    }


def _analysed(stats: list[dict], cold: ColdStartRate) -> dict:
    # The stats as the Executor measures them on such a function: cold starts without INIT.
    from powertuning.analyzer import analyze_state
    from powertuning.inputs import TuningRequest
    from powertuning.run_state import PublishState, RunState
    from tests.unit.test_cold_starts import ARN, reports

    items = []
    for m in SIZES:
        rs = reports(m)
        figures = cold_figures(m, rs, PRICE, 0.2, init_billed=cold.init_billed)
        items.append(with_cold_figures(summarize(m, rs, PRICE, 0.2), figures).to_dict())
    config = RunState(ARN, SIZES, "0123456789ab", 1024, "", "x86_64", cold_start=cold)
    request = {"lambdaARN": f"{ARN}:live", "includeOutputResults": True, "coldStartRate": cold.rate}
    state = {
        "request": TuningRequest.from_dict(request).to_dict(),
        "run": config.to_dict(),
        "publish": PublishState(power_values=SIZES, index=len(SIZES)).to_dict(),
        "results": items,
    }
    out = analyze_state(state).to_dict()
    pick = next(s for s in out["stats"] if s["value"] == out["power"])
    # THEN a cold start costs what a warm one does but for its rounding: no INIT in it
    assert math.isclose(pick["coldStartCost"], pick["warmPrice"], rel_tol=0.05)
    return out
