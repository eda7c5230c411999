"""Executor: invoke one memory size `num` times and summarise its REPORT records."""

from __future__ import annotations

from typing import Any

from powertuning import lambda_api
from powertuning.measure import measure_size
from powertuning.models import TuningConfig, TuningRequest
from powertuning.payloads import decode_s3_payload, with_s3_payload


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Map item `{value, input}` -> the size's result (an item of `$.stats`)."""
    state = event["input"]
    request = TuningRequest.from_dict(state, strict=False)
    config = TuningConfig.from_dict(state["lambdaConfigurations"])
    region = request.function.region
    if request.payload_s3:
        # Read per Executor like the reference; a weighted list in it is weighted as an inline one.
        text = lambda_api.read_s3_text(lambda_api.client("s3", region), request.payload_s3)
        request = with_s3_payload(request, decode_s3_payload(text), request.payload_s3)
    client = lambda_api.client("lambda", region)
    # An adaptive round's item also says how many invocations (count) and from which (offset).
    count = event.get("count")
    result = measure_size(
        request,
        config,
        int(event["value"]),
        client,
        attempt=int(event.get("attempt", 0)),
        count=None if count is None else int(count),
        offset=int(event.get("offset", 0)),
    )
    return result.to_dict()
