"""Optimizer: apply the recommended memory size when autoOptimize is set."""

from __future__ import annotations

from typing import Any

from powertuning import lambda_api
from powertuning.models import TuningConfig, TuningRequest
from powertuning.versions import optimize


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Set $LATEST (and `autoOptimizeAlias`) to `$.analysis.power`; a no-op otherwise."""
    request = TuningRequest.from_dict(event, strict=False)
    config = TuningConfig.from_dict(event["lambdaConfigurations"])
    if request.dry_run:  # a dry run recommends no power (see powertuning.analysis.Recommendation)
        return {"applied": False}
    client = lambda_api.client("lambda", request.function.region)
    return optimize(request, config, int(event["analysis"]["power"]), client)
