"""Initializer: validate the execution input, check the function, register the run."""

from __future__ import annotations

import json
import os
from typing import Any

from powertuning import deployment, guards, lambda_api, limits
from powertuning.inputs import TuningRequest, with_s3_payload
from powertuning.lifecycle.start import initialize, measured_request
from powertuning.payloads import decode_s3_payload
from powertuning.pricing import DEFAULT_POWER_VALUES


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """`{input, execution}` -> the whole execution state `{request, run}`: the caller's raw input
    is validated once and goes no further."""
    request = TuningRequest.from_dict(event.get("input"))
    # Deploy-time default (the CDK app sets it), camelCase like the reference tool's setting.
    configured = json.loads(os.environ.get("defaultPowerValues", "null"))  # noqa: SIM112
    default = tuple(configured or DEFAULT_POWER_VALUES)
    region = request.function.region
    tuner_functions = deployment.tuner_functions(context)
    # No tuner's function as a target; code changes only as the deploy allows (docs/safety.md).
    guards.check_request(
        request,
        lambda target_region: lambda_api.client("lambda", target_region),
        tuner_functions=tuner_functions,
        changes=deployment.code_changes(),
    )
    if request.payload_s3:
        # Checked now (exists, size, JSON, weights), not after every size was published.
        s3 = lambda_api.client("s3", region)
        text = lambda_api.read_s3_text(s3, request.payload_s3, limits.MAX_INVOKE_PAYLOAD_BYTES)
        with_s3_payload(request, decode_s3_payload(text, request.payload_s3), request.payload_s3)
    config = initialize(
        request,
        lambda_api.client("lambda", region),
        default,
        runs_client=lambda_api.client("dynamodb"),
        runs_table=deployment.runs_table(),
        tuner_functions=tuner_functions,
        execution_arn=str(event.get("execution", "")),
        # Input `architectures`: the original code is copied to the stack's staging bucket.
        storage=lambda_api.client("s3", region),
        staging_bucket=deployment.staging_bucket(),
        stack_region=os.environ.get("AWS_REGION"),
        # Input coldStartRate "production": the function's own rate, from its log group.
        logs_client=lambda_api.client("logs", region) if request.reads_production_rate else None,
    )
    return {"request": measured_request(request, config).to_dict(), "run": config.to_dict()}
