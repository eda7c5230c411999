"""Publisher: one memory size per call (Lambda allows one configuration update at a time)."""

from __future__ import annotations

from typing import Any

from powertuning import lambda_api
from powertuning.models import TuningConfig, TuningRequest
from powertuning.versions import publish_next


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Publish the next size's version(s) and alias(es); return the updated configuration."""
    request = TuningRequest.from_dict(event, strict=False)
    config = TuningConfig.from_dict(event["lambdaConfigurations"])
    client = lambda_api.client("lambda", request.function.region)
    return publish_next(config, request, client).to_dict()
