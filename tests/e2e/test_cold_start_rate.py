"""Whole executions priced at a cold-start rate (input coldStartRate), in moto's interpreter.

The target's INIT is I/O-bound, 1.5 s whatever the memory, and its body CPU-bound (400 ms at one
vCPU): a warm invocation costs about the same at every size up to one vCPU, but a cold one pays
1.5 s at the size's price per ms. The right pick at each rate is computed here from that model.
"""

from __future__ import annotations

import math
import time

import boto3
import pytest

from powertuning import lambda_api
from powertuning.local.simulated import SimulatedRuntime, cpu_bound
from powertuning.pricing import lambda_price
from tests.e2e.conftest import _leftovers
from tests.logs_insights import LogsInsightsDouble

POWERS = [128, 256, 512, 1024, 2048]
INIT_MS = 1500.0
BODY = cpu_bound(400.0)
PRICE = lambda_price("us-east-1", "x86_64")


@pytest.fixture(scope="module")
def runtime() -> SimulatedRuntime:
    return SimulatedRuntime(BODY, init_ms=INIT_MS)


def truth(rate: float) -> dict[int, tuple[float, float]]:
    """Each size's blended (cost, duration) at a rate, from the model: what the pick must follow."""
    rows = {}
    for m in POWERS:
        warm_ms, cold_ms = BODY(m, 0), BODY(m, 0) + INIT_MS
        cost = (1 - rate) * PRICE.invocation_cost(math.ceil(warm_ms), m) + rate * PRICE.invocation_cost(
            math.ceil(cold_ms), m
        )
        rows[m] = (cost, (1 - rate) * warm_ms + rate * cold_ms)
    return rows


def balanced_pick(rows: dict[int, tuple[float, float]]) -> int:
    top_cost = max(c for c, _ in rows.values())
    top_duration = max(d for _, d in rows.values())
    return min(rows, key=lambda m: 0.5 * rows[m][0] / top_cost + 0.5 * rows[m][1] / top_duration)


def tune(engine, target, **extra):
    outcome = engine.run(
        {
            "lambdaARN": target,
            "powerValues": POWERS,
            "num": 6,
            "strategy": "balanced",
            "includeOutputResults": True,
            **extra,
        }
    )
    assert outcome.status == "SUCCEEDED", outcome.cause
    return outcome.output


def test_at_rate_zero_the_pick_is_todays_and_at_thirty_percent_it_is_the_blended_one(engine, target):
    # GIVEN today's run (cold starts trimmed away) and the model's warm pick
    today = tune(engine, target)
    assert today["power"] == balanced_pick(truth(0.0))
    assert "coldStart" not in today
    assert all("initDuration" not in row for row in today["stats"])
    # WHEN priced at rate 0 THEN the pick is unchanged
    zero = tune(engine, target, coldStartRate=0)
    assert zero["power"] == today["power"]
    # WHEN priced at rate 0.3 THEN the pick moves to the one the simulated truth's blend gives
    moved = tune(engine, target, coldStartRate=0.3)
    assert moved["power"] == balanced_pick(truth(0.3))
    assert moved["power"] != today["power"]
    # THEN each size reports its INIT as measured, one cold start, and a cold cost with INIT billed
    for row in moved["stats"]:
        assert row["coldStarts"] == 1
        assert row["initDuration"] == pytest.approx(INIT_MS)
        cold_ms = math.ceil(BODY(row["value"], 0) + INIT_MS)
        assert row["coldStartCost"] == pytest.approx(PRICE.invocation_cost(cold_ms, row["value"]))
        assert row["averagePrice"] == pytest.approx(0.7 * row["warmPrice"] + 0.3 * row["coldStartCost"])
    assert moved["coldStart"]["rate"] == 0.3
    assert moved["coldStart"]["source"] == "input"
    assert 0 < moved["coldStart"]["initShare"] < 1


def test_cold_starts_per_size_publishes_a_version_per_cold_start_and_cleans_up(engine, target, runtime):
    before = len(runtime.calls)
    out = tune(engine, target, coldStartRate=0.05, coldStartsPerSize=3)
    versions = {(name, version) for name, version, _ in runtime.calls[before:]}
    assert len(versions) == 3 * len(POWERS)
    assert all(row["coldStarts"] == 3 for row in out["stats"])
    state = _leftovers(engine, target)
    assert state["aliases"] == []
    assert state["versions"] == ["$LATEST"]


def test_the_production_rate_is_read_from_the_log_group(engine, target, monkeypatch):
    # GIVEN the function's log group with 100 REPORT lines in the last days, 30 of them cold starts
    name = target.split(":")[6]
    logs = boto3.client("logs", region_name="us-east-1")
    group = f"/aws/lambda/{name}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="2026/12/01/[$LATEST]a")
    at = int((time.time() - 86_400) * 1000)
    lines = [
        f"REPORT RequestId: {i}\tDuration: 900.00 ms\tBilled Duration: 900 ms\tMemory Size: 1024 MB\t"
        f"Max Memory Used: 60 MB\t" + ("Init Duration: 1500.00 ms\t" if i < 30 else "")
        for i in range(100)
    ]
    logs.put_log_events(
        logGroupName=group,
        logStreamName="2026/12/01/[$LATEST]a",
        logEvents=[{"timestamp": at + i, "message": m} for i, m in enumerate(lines)],
    )
    # (moto cannot run a Logs Insights query: the double answers it from these events)
    double = LogsInsightsDouble(logs)
    real = lambda_api.client
    monkeypatch.setattr(lambda_api, "client", lambda s, r=None: double if s == "logs" else real(s, r))
    # WHEN tuned at its production rate THEN the pick is the one a 30% rate gives
    out = tune(engine, target, coldStartRate="production")
    assert out["coldStart"]["source"] == "production"
    assert (out["coldStart"]["invocations"], out["coldStart"]["coldStarts"]) == (100, 30)
    assert out["coldStart"]["rate"] == 0.3
    assert out["coldStart"]["logGroup"] == group
    assert out["power"] == balanced_pick(truth(0.3))


def test_the_tolerant_production_form_without_logs_tunes_as_today_and_says_why(engine, target, monkeypatch):
    # GIVEN a function that has no log group (never invoked), and the Logs Insights double
    logs = boto3.client("logs", region_name="us-east-1")
    double = LogsInsightsDouble(logs)
    real = lambda_api.client
    monkeypatch.setattr(lambda_api, "client", lambda s, r=None: double if s == "logs" else real(s, r))
    # WHEN tuned with coldStartRate "production-if-available"
    out = tune(engine, target, coldStartRate="production-if-available")
    # THEN the run succeeds, priced on warm invocations as without the key, and says why
    assert out["coldStartUnavailable"] == f"there is no log group /aws/lambda/{target.split(':')[6]}"
    assert "coldStart" not in out
    assert out["power"] == balanced_pick(truth(0.0))
    assert all("initDuration" not in row for row in out["stats"])
    # (the reason is StartQuery's ResourceNotFoundException: the double was asked, and refused)
