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
