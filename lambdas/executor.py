"""Executor: invoke one memory size, as many times as fit in this call, and summarise the REPORTs."""

from __future__ import annotations

from typing import Any

from powertuning import lambda_api, limits
from powertuning.inputs import TuningRequest, with_s3_payload
from powertuning.measure import Progress, measure
from powertuning.payloads import decode_s3_payload
from powertuning.run_state import RunState


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """`{item: {value, architecture?, request, run, count?, offset?, progress?}, attempt}` ->
    `{done, result}` or `{done: false, ...progress}` for the next call."""
    item = event["item"]
    request = TuningRequest.from_dict(item["request"])
    config = RunState.from_dict(item["run"])
    power = int(item["value"])
    region = request.function.region
    if request.payload_s3:
        # Read per Executor like the reference; a weighted list in it is weighted as an inline one.
        s3 = lambda_api.client("s3", region)
        text = lambda_api.read_s3_text(s3, request.payload_s3, limits.MAX_INVOKE_PAYLOAD_BYTES)
        request = with_s3_payload(request, decode_s3_payload(text, request.payload_s3), request.payload_s3)
    # An adaptive round's item also says how many invocations (count) and from which (offset).
    count = item.get("count")
    progress, result = measure(
        request,
        config,
        power,
        lambda_api.client("lambda", region),
        remaining_ms=context.get_remaining_time_in_millis,
        progress=Progress.from_dict(item.get("progress") or {}, power),
        attempt=int(event.get("attempt", 0)),
        count=None if count is None else int(count),
        offset=int(item.get("offset", 0)),
        # Input `architectures`: the Map's item names the (size, architecture) pair to measure.
        architecture=item.get("architecture"),
    )
    if result is None:
        return {"done": False, **progress.to_dict()}
    return {"done": True, "result": result.to_dict()}
