"""WorkflowSolver: read the plan and every function's tuning, choose the sizes, write the result."""

from __future__ import annotations

from typing import Any

from powertuning import deployment, lambda_api
from powertuning.workflow.deployed import solve


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """`{workflow}` (the state after the fleet ran) -> the WorkflowResult as `output`, its S3 copy, and
    the apply run when autoOptimize changes a size. onError "fail" with a failed function raises
    WorkflowTuningError here."""
    return solve(
        event["workflow"],
        s3=lambda_api.client("s3"),
        sfn=lambda_api.client("stepfunctions"),
        bucket=deployment.fleet_bucket(),
    )
