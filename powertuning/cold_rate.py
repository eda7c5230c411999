"""The cold-start rate a run prices at (input `coldStartRate`): the input's number, or "production".

"production" is the function's own rate over the last 14 days, read from its log group
`/aws/lambda/<name>` with CloudWatch Logs Insights (StartQuery, then GetQueryResults until the query
completes): the REPORT records with an Init Duration over all REPORT records, in the text log format
(`@initDuration`, the field Logs Insights discovers in a REPORT line) and in the JSON one
(`record.metrics.initDurationMs` of a `platform.report` record). The query runs in the Initializer,
before anything changes, so the run's own invocations are not in it (an earlier tuning run's are).
A function without a REPORT record in the window (or without a log group, or logging to a custom
one) has no production rate: "production" refuses the run (`NoProductionRateError`), while
"production-if-available" (what a fleet gives each function unless told otherwise) goes on without a
rate and says why (`RunState.cold_start_unavailable`, the output's `coldStartUnavailable`). Any other
failure of the query (no permission, a query that fails or does not complete) refuses both.

With a rate, how the function starts is read too (`start_billing`): SnapStart from its configuration
(`SnapStart.ApplyOn` "PublishedVersions": the versions the run publishes restore from a snapshot), and
provisioned concurrency from ListProvisionedConcurrencyConfigs (on the tuned alias or version: its
INIT is not billed per invocation). Without a rate neither is read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Final

from botocore.exceptions import ClientError

from powertuning import lambda_api
from powertuning.aws import call
from powertuning.cold_starts import ColdStartRate
from powertuning.errors import ColdStartRateError, NoProductionRateError
from powertuning.input_kinds import PRODUCTION, PRODUCTION_FORMS, PRODUCTION_IF_AVAILABLE
from powertuning.inputs import TuningRequest
from powertuning.pricing import snap_start_price, snap_start_runtime

WINDOW_DAYS: Final = 14
# How long the Initializer waits for the query (Logs Insights runs for at most 60 minutes; a
# 14-day count over one function's log group takes seconds).
QUERY_TIMEOUT_S: Final = 60.0
POLL_S: Final = 1.0
QUERY: Final = (
    'filter @type = "REPORT" or type = "platform.report" '
    "| stats count(*) as reports, count(@initDuration) as textColdStarts, "
    "count(record.metrics.initDurationMs) as jsonColdStarts"
)
_DONE: Final = ("Complete", "Failed", "Cancelled", "Timeout", "Unknown")


def log_group(latest: Mapping[str, Any]) -> str:
    """The function's log group: `/aws/lambda/<name>` (a custom one, LoggingConfig, is refused:
    the tuner may read only the default one)."""
    name = str(latest["FunctionName"])
    default = f"/aws/lambda/{name}"
    custom = (latest.get("LoggingConfig") or {}).get("LogGroup")
    if custom and custom != default:
        raise NoProductionRateError(
            f'coldStartRate "{PRODUCTION}" reads {default}, but {name} logs to {custom}: give the rate '
            "as a number from 0 to 1 (the tuner may read only the function's own default log group)",
            f"{name} logs to the custom log group {custom}, which the tuner may not read",
        )
    return default


def resolve(
    request: TuningRequest,
    latest: Mapping[str, Any],
    logs_client: Any,
    *,
    lambda_client: Any = None,
    now: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> ColdStartRate | None:
    """The run's rate: None without the input, the input's number, or the production rate; with how
    the function's cold starts are billed (SnapStart, provisioned concurrency: `start_billing`).
    Without a production rate to read, `NoProductionRateError` (whichever production form)."""
    rate = request.cold_start_rate
    if rate is None:
        return None
    if rate not in PRODUCTION_FORMS:
        found = ColdStartRate(float(rate))
    else:
        found = production_rate(logs_client, log_group(latest), now=now, sleep=sleep)
    return start_billing(found, request, latest, lambda_client)


def resolve_run(
    request: TuningRequest,
    latest: Mapping[str, Any],
    logs_client: Any,
    *,
    lambda_client: Any = None,
    now: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[ColdStartRate | None, str | None]:
    """`resolve`, and for "production-if-available" without a rate to read: no rate and why."""
    try:
        return resolve(request, latest, logs_client, lambda_client=lambda_client, now=now, sleep=sleep), None
    except NoProductionRateError as exc:
        if request.cold_start_rate != PRODUCTION_IF_AVAILABLE:
            raise
        return None, exc.reason


def start_billing(
    rate: ColdStartRate, request: TuningRequest, latest: Mapping[str, Any], lambda_client: Any
) -> ColdStartRate:
    """The rate with the function's SnapStart setting and provisioned concurrency."""
    snap = (latest.get("SnapStart") or {}).get("ApplyOn") == "PublishedVersions"
    runtime = str(latest.get("Runtime") or "")
    provisioned: dict[str, int] = {}
    if lambda_client is not None:
        provisioned = lambda_api.provisioned_concurrency(lambda_client, request.function.unqualified)
    qualifier = request.function.qualifier
    return replace(
        rate,
        snap_start=snap_start_runtime(runtime) if snap else None,
        snap_start_price=snap_start_price(request.function.region, runtime) if snap else None,
        provisioned=tuple(sorted(provisioned)),
        provisioned_tuned=qualifier is not None and qualifier in provisioned,
    )


def production_rate(
    client: Any,
    group: str,
    *,
    now: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    timeout_s: float = QUERY_TIMEOUT_S,
) -> ColdStartRate:
    """The share of the last 14 days' invocations in `group` that were cold starts."""
    end = int(now())
    start = end - WINDOW_DAYS * 86_400
    try:
        started = call(
            client, "start_query", logGroupName=group, startTime=start, endTime=end, queryString=QUERY
        )
    except ClientError as exc:  # a missing log group, or no permission on it
        message = f'coldStartRate "{PRODUCTION}": cannot query {group} with Logs Insights: {exc}'
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            # A function never invoked (or whose logs were deleted) has no log group yet.
            raise NoProductionRateError(message, f"there is no log group {group}") from exc
        raise ColdStartRateError(message) from exc
    query_id = started["queryId"]
    deadline = now() + timeout_s
    while True:
        answer = call(client, "get_query_results", queryId=query_id)
        status = str(answer.get("status", "Unknown"))
        if status in _DONE:
            break
        if now() >= deadline:
            raise ColdStartRateError(
                f'coldStartRate "{PRODUCTION}": the Logs Insights query on {group} did not complete '
                f"within {timeout_s:g} s (status {status})"
            )
        sleep(POLL_S)
    if status != "Complete":
        raise ColdStartRateError(
            f'coldStartRate "{PRODUCTION}": the Logs Insights query on {group} ended {status}'
        )
    results = answer.get("results") or [[]]
    row = {str(f.get("field")): f.get("value") for f in results[0]}
    reports = _count(row, "reports")
    cold = _count(row, "textColdStarts") + _count(row, "jsonColdStarts")
    if reports == 0:
        raise NoProductionRateError(
            f'coldStartRate "{PRODUCTION}": {group} holds no REPORT record in the last {WINDOW_DAYS} days '
            "(no invocation to take a rate from): give the rate as a number from 0 to 1",
            f"{group} holds no REPORT record in the last {WINDOW_DAYS} days",
        )
    return ColdStartRate(
        rate=min(1.0, cold / reports),
        source=PRODUCTION,
        log_group=group,
        start=_iso(start),
        end=_iso(end),
        invocations=reports,
        cold_starts=cold,
    )


def _count(row: Mapping[str, Any], key: str) -> int:
    try:
        return int(float(row.get(key, 0) or 0))
    except (TypeError, ValueError):
        return 0


def _iso(epoch_s: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))
