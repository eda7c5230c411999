"""coldStartRate "production": the function's own rate, from its log group, in the Initializer.

moto cannot run a Logs Insights query: tests/logs_insights.py answers StartQuery/GetQueryResults as
Logs Insights would, from the REPORT records these tests write to moto's log group.
"""

from __future__ import annotations

import json
import time

import boto3
import pytest

from lambdas.initializer import handler
from powertuning import cold_rate, lambda_api
from powertuning.errors import ColdStartRateError
from powertuning.inputs import TuningRequest
from powertuning.run_state import RunState
from tests.functional.test_initializer import registered
from tests.logs_insights import LogsInsightsDouble

GROUP = "/aws/lambda/target"


def report(i: int, cold: bool) -> str:
    init = "Init Duration: 1503.20 ms\t" if cold else ""
    return (
        f"REPORT RequestId: 00000000-0000-4000-8000-{i:012d}\tDuration: 80.00 ms\t"
        f"Billed Duration: {1584 if cold else 80} ms\tMemory Size: 1024 MB\tMax Memory Used: 90 MB\t{init}"
    )


def platform_report(cold: bool) -> str:
    metrics = {"durationMs": 80.0, "billedDurationMs": 80, "memorySizeMB": 1024, "maxMemoryUsedMB": 90}
    if cold:
        metrics["initDurationMs"] = 1503.2
    return json.dumps({"type": "platform.report", "record": {"requestId": "r", "metrics": metrics}})


def fill(logs, messages: list[str], *, days_ago: float = 1.0) -> None:
    """Write messages (and START/END lines around nothing) to the target's log group."""
    if not logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]:
        logs.create_log_group(logGroupName=GROUP)
    stream = f"2026/12/01/[$LATEST]{len(messages)}{int(days_ago * 10)}"
    logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    at = int((time.time() - days_ago * 86_400) * 1000)
    events = [{"timestamp": at + i, "message": m} for i, m in enumerate(["START RequestId: x", *messages])]
    logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=events)


@pytest.fixture
def logs(aws):
    return boto3.client("logs", region_name="us-east-1")


@pytest.fixture
def insights(logs, monkeypatch):
    double = LogsInsightsDouble(logs)
    real = lambda_api.client

    def client(service, region=None):
        return double if service == "logs" else real(service, region)

    monkeypatch.setattr(lambda_api, "client", client)
    return double


def test_the_production_rate_is_cold_reports_over_all_reports_in_the_window(
    logs, insights, target_function, lambda_context
):
    # GIVEN 14 days of REPORT records: 3 text and 1 JSON cold starts among 100, and older ones outside
    fill(logs, [report(i, cold=i < 3) for i in range(75)] + [platform_report(cold=i < 1) for i in range(25)])
    fill(logs, [report(i, cold=True) for i in range(50)], days_ago=20)
    # WHEN the Initializer starts a run priced at the production rate
    state = handler(
        {"input": {"lambdaARN": target_function.arn, "coldStartRate": "production", "num": 5}},
        lambda_context,
    )
    # THEN the run carries the function's own rate, with its window and counts
    cold = RunState.from_dict(state["run"]).cold_start
    assert cold is not None
    assert (cold.rate, cold.invocations, cold.cold_starts) == (0.04, 100, 4)
    assert cold.source == "production"
    assert cold.log_group == GROUP
    assert cold.start is not None
    assert cold.end is not None
    days = (
        time.mktime(time.strptime(cold.end, "%Y-%m-%dT%H:%M:%SZ"))
        - time.mktime(time.strptime(cold.start, "%Y-%m-%dT%H:%M:%SZ"))
    ) / 86_400
    assert days == 14
    # THEN the query polled until complete, and the input stays as given
    assert insights.polls == 2
    assert state["request"]["coldStartRate"] == "production"


def test_a_given_rate_queries_nothing(insights, target_function, lambda_context):
    state = handler({"input": {"lambdaARN": target_function.arn, "coldStartRate": 0.02}}, lambda_context)
    assert state["run"]["coldStart"] == {"rate": 0.02, "source": "input"}
    assert insights.queries == {}


def test_without_a_rate_the_run_state_is_as_before(insights, target_function, lambda_context):
    state = handler({"input": {"lambdaARN": target_function.arn}}, lambda_context)
    assert "coldStart" not in state["run"]
    assert insights.queries == {}


def test_a_log_group_without_reports_has_no_production_rate(logs, insights, target_function, lambda_context):
    fill(logs, ["just a line"])
    with pytest.raises(ColdStartRateError, match="no REPORT record in the last 14 days"):
        handler({"input": {"lambdaARN": target_function.arn, "coldStartRate": "production"}}, lambda_context)
    # THEN nothing was registered
    assert registered(target_function.arn) is None


def test_a_missing_log_group_is_refused_naming_it(insights, target_function, lambda_context):
    with pytest.raises(ColdStartRateError, match=f"cannot query {GROUP}"):
        handler({"input": {"lambdaARN": target_function.arn, "coldStartRate": "production"}}, lambda_context)


@pytest.mark.parametrize("status", ["Failed", "Cancelled", "Timeout"])
def test_a_query_that_does_not_complete_is_refused(logs, status):
    fill(logs, [report(1, cold=True)])
    double = LogsInsightsDouble(logs, status=status)
    with pytest.raises(ColdStartRateError, match=f"ended {status}"):
        cold_rate.production_rate(double, GROUP, sleep=lambda _s: None)


def test_a_query_still_running_at_the_deadline_is_refused(logs):
    fill(logs, [report(1, cold=True)])

    class Stuck(LogsInsightsDouble):
        def get_query_results(self, queryId):  # noqa: N803
            return {"status": "Running", "results": []}

    clock = iter(range(0, 1000, 10))
    with pytest.raises(ColdStartRateError, match="did not complete within"):
        cold_rate.production_rate(Stuck(logs), GROUP, now=lambda: float(next(clock)), sleep=lambda _s: None)


def test_a_custom_log_group_is_refused():
    request = TuningRequest.from_dict(
        {"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:target", "coldStartRate": "production"}
    )
    latest = {"FunctionName": "target", "LoggingConfig": {"LogGroup": "/shared/app"}}
    with pytest.raises(ColdStartRateError, match="logs to /shared/app"):
        cold_rate.resolve(request, latest, None)


# coldStartRate "production-if-available" (what a fleet gives each function unless told otherwise):
# the production rate where the logs hold one; else the run goes on without a rate and says why.
TOLERANT = "production-if-available"


def test_the_tolerant_form_reads_the_production_rate_when_there_is_one(
    logs, insights, target_function, lambda_context
):
    fill(logs, [report(i, cold=i < 5) for i in range(50)])
    state = handler(
        {"input": {"lambdaARN": target_function.arn, "coldStartRate": TOLERANT, "num": 5}}, lambda_context
    )
    cold = RunState.from_dict(state["run"]).cold_start
    assert cold is not None
    assert (cold.rate, cold.invocations, cold.cold_starts, cold.source) == (0.1, 50, 5, "production")
    assert "coldStartUnavailable" not in state["run"]
    assert state["request"]["coldStartRate"] == TOLERANT


@pytest.mark.parametrize(
    "case",
    [
        (["just a line"], f"{GROUP} holds no REPORT record in the last 14 days"),
        (None, f"there is no log group {GROUP}"),
    ],
    ids=["no-report-record", "no-log-group"],
)
def test_the_tolerant_form_without_a_rate_runs_as_without_coldStartRate_and_says_why(
    logs, insights, target_function, lambda_context, case
):
    messages, reason = case
    # GIVEN a log group without REPORT records, or none at all
    if messages is not None:
        fill(logs, messages)
    # WHEN the Initializer starts a run with the tolerant form (and more cold starts asked for)
    state = handler(
        {
            "input": {
                "lambdaARN": target_function.arn,
                "coldStartRate": TOLERANT,
                "coldStartsPerSize": 2,
                "num": 5,
            }
        },
        lambda_context,
    )
    # THEN the run is registered without a rate, with the reason, and measures as without the key
    assert state["run"]["coldStartUnavailable"] == reason
    assert "coldStart" not in state["run"]
    assert RunState.from_dict(state["run"]).cold_start_unavailable == reason
    assert "coldStartRate" not in state["request"]
    assert "coldStartsPerSize" not in state["request"]
    assert TuningRequest.from_dict(state["request"]).cold_versions == 0
    assert registered(target_function.arn) is not None


def test_the_tolerant_form_passes_over_a_custom_log_group_without_querying_it():
    request = TuningRequest.from_dict(
        {"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:target", "coldStartRate": TOLERANT}
    )
    latest = {"FunctionName": "target", "LoggingConfig": {"LogGroup": "/shared/app"}}
    # (no logs client: a query would fail)
    rate, reason = cold_rate.resolve_run(request, latest, None)
    assert rate is None
    assert reason == "target logs to the custom log group /shared/app, which the tuner may not read"


@pytest.mark.parametrize("status", ["Failed", "Timeout"])
def test_the_tolerant_form_still_refuses_a_query_that_fails(logs, status):
    # A failing query is not "no rate": it is refused as with "production", not hidden
    fill(logs, [report(1, cold=True)])
    request = TuningRequest.from_dict(
        {"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:target", "coldStartRate": TOLERANT}
    )
    with pytest.raises(ColdStartRateError, match=f"ended {status}"):
        cold_rate.resolve_run(
            request,
            {"FunctionName": "target"},
            LogsInsightsDouble(logs, status=status),
            sleep=lambda _s: None,
        )


def test_the_strict_form_still_refuses_what_the_tolerant_one_passes_over():
    request = TuningRequest.from_dict(
        {"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:target", "coldStartRate": "production"}
    )
    latest = {"FunctionName": "target", "LoggingConfig": {"LogGroup": "/shared/app"}}
    with pytest.raises(ColdStartRateError, match="logs to /shared/app"):
        cold_rate.resolve_run(request, latest, None)
