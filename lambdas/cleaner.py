"""Cleaner: delete what the run created, restore $LATEST; on a failure, say what went wrong."""

from __future__ import annotations

from typing import Any

from powertuning import lambda_api
from powertuning.failures import describe_failure
from powertuning.models import FunctionRef, TuningConfig
from powertuning.versions import cleanup


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Clean up (safe to run twice); after a Catch, return `{error, cause}` for the Fail state."""
    report: dict[str, Any] = {}
    if "lambdaConfigurations" in event:
        config = TuningConfig.from_dict(event["lambdaConfigurations"])
        client = lambda_api.client("lambda", FunctionRef.parse(config.function_arn).region)
        report = cleanup(config, client).to_dict()
    if "error" in event:
        return describe_failure(event["error"], report)
    return report
