"""Initializer: validate the execution input and read the function; changes nothing."""

from __future__ import annotations

import json
import os
from typing import Any

from powertuning import lambda_api
from powertuning.models import TuningRequest
from powertuning.pricing import DEFAULT_POWER_VALUES
from powertuning.versions import initialize


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Return `$.lambdaConfigurations`: the sizes to test and what to restore afterwards."""
    request = TuningRequest.from_dict(event)
    # Deploy-time default (the CDK app sets it), camelCase like the reference tool's setting.
    configured = json.loads(os.environ.get("defaultPowerValues", "null"))  # noqa: SIM112
    default = tuple(configured or DEFAULT_POWER_VALUES)
    client = lambda_api.client("lambda", request.function.region)
    return initialize(request, client, default).to_dict()
