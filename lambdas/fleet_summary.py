"""FleetSummary: read the Distributed Map's results and the functions' metrics, rank by saving."""

from __future__ import annotations

import os
from typing import Any

from powertuning import lambda_api
from powertuning.fleet_steps import read_results, usage
from powertuning.fleet_summary import FunctionOutcome, summarize, tolerance_cause


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """`{fleet, mapRun}` -> the summary's S3 location and totals; the summary JSON itself goes to S3."""
    fleet, details = event["fleet"], event["mapRun"]["ResultWriterDetails"]
    s3 = lambda_api.client("s3")
    outcomes = [FunctionOutcome.from_record(r) for r in read_results(s3, details["Bucket"], details["Key"])]
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    metrics = usage(lambda_api.client("cloudwatch"), [o.function_arn for o in outcomes])
    summary = summarize(
        outcomes,
        metrics,
        region=region,
        tolerated_failure_percentage=float(fleet["toleratedFailurePercentage"]),
        excluded=fleet.get("excluded", []),
        monthly_gb_seconds=fleet.get("monthlyGbSeconds"),
    ).to_dict()
    key = f"{fleet['results']['prefix']}/summary.json"
    lambda_api.put_s3_json(s3, fleet["results"]["bucket"], key, summary)
    result = {"summary": {"bucket": fleet["results"]["bucket"], "key": key}, "totals": summary["totals"]}
    if not summary["totals"]["withinTolerance"]:
        result["cause"] = tolerance_cause(summary)
    return result
