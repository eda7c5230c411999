"""FleetResolver: validate a fleet input, resolve it to functions, write the Map's item list to S3."""

from __future__ import annotations

from typing import Any

from powertuning import deployment, lambda_api
from powertuning.fleet_request import FleetRequest
from powertuning.fleet_steps import resolve


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """`{input, execution}` -> where the items are, and the Map's settings; bad input fails here,
    before any tuning starts. Items always go to S3: 1,000 of them would not fit in a 256 KB state."""
    request = FleetRequest.from_dict(event.get("input"))
    execution = str(event.get("execution", "local"))
    selection = resolve(
        request,
        lambda_api.client("lambda"),
        # From the definition (not the caller's input): the tuner's and the fleet's own functions.
        own_functions=deployment.tuner_functions(context) + str(event.get("tunerFunctions", "")).split(","),
        fleet_execution=execution,
    )
    bucket = deployment.fleet_bucket()
    prefix = f"fleet/{execution.rsplit(':', 1)[-1]}"
    lambda_api.put_s3_json(
        lambda_api.client("s3"), bucket, f"{prefix}/items.json", [i.to_dict() for i in selection.items]
    )
    out = {
        **selection.to_dict(),
        "items": {"bucket": bucket, "key": f"{prefix}/items.json"},
        "results": {"bucket": bucket, "prefix": prefix},
        "maxConcurrency": request.max_concurrency,
        "toleratedFailurePercentage": request.tolerated_failure_percentage,
    }
    if request.defaults.get("monthlyGbSeconds") is not None:
        # The account's tier, once for the whole fleet: the summary prices every saving at it.
        out["monthlyGbSeconds"] = request.defaults["monthlyGbSeconds"]
    return out
