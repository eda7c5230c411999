"""Publisher: one memory size per call (Lambda allows one configuration update at a time)."""

from __future__ import annotations

from typing import Any

from powertuning import deployment, lambda_api
from powertuning.models import PublishState, RunState, TuningRequest
from powertuning.versions import next_publish_state, publish_next


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The execution state -> `$.publish`: the next size's version(s) and alias(es) published."""
    request = TuningRequest.from_dict(event["request"])
    config = RunState.from_dict(event["run"])
    current = PublishState.from_dict(event["publish"]) if event.get("publish") else None
    # The adaptive race (powerValues "auto") may ask for more sizes.
    pending = [int(p) for p in (event.get("adaptive") or {}).get("pending", [])]
    state = next_publish_state(config, current, pending)
    client = lambda_api.client("lambda", request.function.region)
    runs = lambda_api.client("dynamodb")
    # Input `architectures`: the staged copy of the code is hashed before it is deployed.
    storage = lambda_api.client("s3", request.function.region) if config.original_code else None
    return publish_next(
        config, state, request, client, runs_client=runs, runs_table=deployment.runs_table(), storage=storage
    ).to_dict()
