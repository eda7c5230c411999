"""The fleet's I/O: resolve a fleet input to functions, read their metrics and the Map's results.

Every call goes through lambda_api with a client the caller passes (the resolver and summary
handlers, and `powertune fleet --plan`, which resolves a fleet the same way).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from powertuning import lambda_api
from powertuning.arns import FunctionRef
from powertuning.fleet_request import FleetRequest, FunctionInfo
from powertuning.fleet_selection import Selection, select
from powertuning.fleet_summary import METRICS_DAYS, Usage

SECONDS_PER_DAY: Final = 86_400


def resolve(
    request: FleetRequest, lambda_client: Any, *, own_functions: Sequence[str], fleet_execution: str
) -> Selection:
    """The fleet's functions: each listed one read (unknown ones refused), or every match of the selector."""
    found: list[FunctionInfo] = []
    if request.selector is None:
        for arn in request.functions:
            ref = FunctionRef.parse(arn)
            config = lambda_api.get_configuration(lambda_client, ref.unqualified, ref.qualifier)
            found.append(FunctionInfo.from_configuration(config, arn))
    else:
        selector = request.selector
        for config in lambda_api.list_functions(lambda_client):
            info = FunctionInfo.from_configuration(config)
            if not selector.matches_configuration(info):
                continue
            if selector.needs_tags and not selector.matches_tags(
                lambda_api.list_tags(lambda_client, info.arn)
            ):
                continue
            found.append(info)
    return select(request, found, own_functions=own_functions, fleet_execution=fleet_execution)


def usage(
    cloudwatch: Any,
    function_arns: Sequence[str],
    now: datetime | None = None,
    *,
    log_bytes: bool = False,
) -> dict[str, Usage]:
    """Invocations (sum) and Duration (average) of each function over the last 14 days, by unqualified
    ARN, in GetMetricData calls of 500 metric queries; with `log_bytes` (`--plan`, to price a Logs
    Insights query) also the IncomingBytes (sum) of its log group /aws/lambda/<name>."""
    end = (now or datetime.now(UTC)).replace(microsecond=0)
    start = end - timedelta(days=METRICS_DAYS)
    names = [FunctionRef.parse(arn) for arn in function_arns]
    queries: list[dict[str, Any]] = []
    for index, ref in enumerate(names):
        metrics = [
            ("i", "AWS/Lambda", "Invocations", "Sum", "FunctionName", ref.name),
            ("d", "AWS/Lambda", "Duration", "Average", "FunctionName", ref.name),
        ]
        if log_bytes:
            # Uncompressed bytes ingested: what a query over the window scans.
            metrics.append(
                ("b", "AWS/Logs", "IncomingBytes", "Sum", "LogGroupName", f"/aws/lambda/{ref.name}")
            )
        for prefix, namespace, metric, stat, dimension, value in metrics:
            queries.append(
                {
                    "Id": f"{prefix}{index}",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": namespace,
                            "MetricName": metric,
                            "Dimensions": [{"Name": dimension, "Value": value}],
                        },
                        "Period": METRICS_DAYS * SECONDS_PER_DAY,
                        "Stat": stat,
                    },
                    "ReturnData": True,
                }
            )
    values = lambda_api.get_metric_data(cloudwatch, queries, start, end) if queries else {}
    found: dict[str, Usage] = {}
    for index, ref in enumerate(names):
        invocations = sum(values.get(f"i{index}", []))
        durations = values.get(f"d{index}", [])
        average = sum(durations) / len(durations) if durations else None
        ingested = values.get(f"b{index}", [])
        found[ref.unqualified] = Usage(
            invocations=invocations,
            average_duration_ms=average,
            # No datapoint: unknown (not taken as nothing ingested).
            log_bytes=sum(ingested) if ingested else None,
        )
    return found


def read_results(s3: Any, manifest_bucket: str, manifest_key: str) -> list[dict[str, Any]]:
    """The item processor's records from a Distributed Map's ResultWriter output.

    The manifest lists result files by status; each file is a JSON list of child-workflow executions
    with `Input` and `Output` as JSON strings (SUCCEEDED) or `Error` and `Cause` (FAILED, PENDING).
    """
    manifest = lambda_api.read_s3_json(s3, manifest_bucket, manifest_key)
    bucket = str(manifest.get("DestinationBucket", manifest_bucket))
    records: list[dict[str, Any]] = []
    files: Mapping[str, Sequence[Mapping[str, Any]]] = manifest.get("ResultFiles", {})
    for status in ("SUCCEEDED", "FAILED", "PENDING"):
        for entry in files.get(status, []):
            for execution in lambda_api.read_s3_json(s3, bucket, str(entry["Key"])):
                records.append(_record(status, execution))
    return records


def _record(status: str, execution: Mapping[str, Any]) -> dict[str, Any]:
    if status == "SUCCEEDED" and execution.get("Output"):
        return dict(json.loads(execution["Output"]))
    item = json.loads(execution.get("Input") or "{}")
    return {
        "functionArn": item.get("functionArn", "unknown"),
        "memorySize": item.get("memorySize", 0),
        "architecture": item.get("architecture", "x86_64"),
        "status": "FAILED",
        "executionArn": execution.get("ExecutionArn"),
        "error": execution.get("Error") or ("States.Pending" if status == "PENDING" else "States.Runtime"),
        "cause": execution.get("Cause") or f"the item's workflow ended {execution.get('Status', status)}",
    }
