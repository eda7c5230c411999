"""Optimizer: apply the recommended memory size when autoOptimize is set, then end the run."""

from __future__ import annotations

from typing import Any

from powertuning import deployment, lambda_api
from powertuning.analyzer import recommended_power
from powertuning.models import RunState, TuningRequest
from powertuning.versions import optimize


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Set $LATEST (and `autoOptimizeAlias`) to `$.analysis.power` if asked; release the function."""
    request = TuningRequest.from_dict(event["request"])
    config = RunState.from_dict(event["run"])
    client = lambda_api.client("lambda", request.function.region)
    states = lambda_api.client("stepfunctions")

    def is_running() -> bool:
        return lambda_api.execution_status(states, config.execution_arn) == "RUNNING"

    return optimize(
        request,
        config,
        # A dry run recommends no power (None); any other run must carry a valid pick.
        recommended_power(event.get("analysis"), request, config),
        client,
        runs_client=lambda_api.client("dynamodb"),
        runs_table=deployment.runs_table(),
        is_running=is_running,
    )
