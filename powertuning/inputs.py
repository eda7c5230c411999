"""The execution input: `TuningRequest`, parsed by the keys declared once in `input_keys.INPUTS`.

The execution input is drop-in compatible with aws-lambda-power-tuning v4 (same camelCase keys and
defaults) plus the keys in NEW_KEYS. `TuningRequest.from_dict` is the single validator: the
Initializer, the CLI and the local engine all call it, so a bad input gets the same message everywhere.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from powertuning import payloads
from powertuning.arns import FunctionRef
from powertuning.errors import InvalidInputError, PayloadError
from powertuning.input_keys import INPUT_KEYS, INPUTS
from powertuning.input_kinds import (
    AUTO,
    BALANCED_WEIGHT_DEFAULT,
    DEFAULT_CONFIDENCE,
    DEFAULT_TOLERANCE,
    PRODUCTION_FORMS,
)
from powertuning.input_rules import check_combinations
from powertuning.payloads import WeightedPayload
from powertuning.pricing import DEFAULT_POWER_VALUES


@dataclass(frozen=True)
class TuningRequest:
    """The validated execution input, defaults applied. Each field is declared once in INPUTS."""

    lambda_arn: str
    power_values: tuple[int, ...] | None = None
    num: int = 10
    # No payload sends {} (powertuning.payloads.no_payload); None is an explicit null, sent as null.
    payload: Any = field(default_factory=dict)
    weighted_payloads: tuple[WeightedPayload, ...] = ()
    payload_s3: str | None = None
    parallel_invocation: bool = False
    strategy: str = "cost"
    balanced_weight: float = BALANCED_WEIGHT_DEFAULT
    auto_optimize: bool = False
    auto_optimize_alias: str | None = None
    dry_run: bool = False
    pre_processor_arn: str | None = None
    post_processor_arn: str | None = None
    discard_top_bottom: float = 0.2
    sleep_between_runs_ms: int = 0
    disable_payload_logs: bool = False
    include_output_results: bool = False
    only_cold_starts: bool = False
    allowed_exceptions: tuple[str, ...] = ()
    max_concurrency: int | None = None
    on_error: str = "fail"
    sampling: str = "fixed"
    confidence: float = DEFAULT_CONFIDENCE
    tolerance: float = DEFAULT_TOLERANCE
    auto_power_values: bool = False
    max_duration_ms: float | None = None
    duration_statistic: str = "average"
    # None: the function's own architecture only.
    architectures: tuple[str, ...] | None = None
    # Container images: the image per architecture (None: the function's own, multi-architecture).
    image_uris: Mapping[str, str] | None = None
    # None: cold starts priced as today (trimmed away); a share 0..1 or "production" blends them in.
    cold_start_rate: float | str | None = None
    # With a rate: fresh versions per size, each one cold start (None: 1).
    cold_starts_per_size: int | None = None
    # The account's Lambda usage a month: duration priced at its marginal tier (powertuning/pricing.py).
    monthly_gb_seconds: float | None = None

    @property
    def function(self) -> FunctionRef:
        """The function to tune."""
        return FunctionRef.parse(self.lambda_arn)

    def resolved_power_values(self, default: tuple[int, ...] = DEFAULT_POWER_VALUES) -> tuple[int, ...]:
        """Power values to test: the input's, else the deploy-time default; one for a dry run."""
        values = self.power_values or default
        return values[:1] if self.dry_run else values

    @property
    def prices_cold_starts(self) -> bool:
        """Whether the run prices INIT at a cold-start rate (input `coldStartRate`)."""
        return self.cold_start_rate is not None

    @property
    def reads_production_rate(self) -> bool:
        """Whether the Initializer reads the function's own rate from its log group."""
        return self.cold_start_rate in PRODUCTION_FORMS

    @property
    def cold_versions(self) -> int:
        """How many fresh versions each size gets for its cold starts: `coldStartsPerSize`, 1 when a
        rate is given without it, 0 without a rate (one version per size, as ever)."""
        if not self.prices_cold_starts:
            return 0
        return min(self.cold_starts_per_size or 1, self.invocations_per_size)

    @property
    def invocations_per_size(self) -> int:
        """How many times each memory size is invoked (one for a dry run)."""
        return 1 if self.dry_run else self.num

    @classmethod
    def from_dict(cls, data: Any) -> TuningRequest:
        """Validate an execution input: only input keys, each checked, defaults applied."""
        if not isinstance(data, Mapping):
            raise InvalidInputError(f"the execution input must be a JSON object, got {json.dumps(data)}")
        _reject_unknown_keys(data)
        values = {key.field: key.parse(data) for key in INPUTS}
        check_combinations(data, values)
        # What the keys mean together: "auto" sizes, a weighted payload list.
        values["auto_power_values"] = data.get("powerValues") == AUTO
        if payloads.is_weighted(values["payload"]):
            values["weighted_payloads"] = payloads.parse_weighted(values["payload"], values["num"])
            values["payload"] = None
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The camelCase execution input, with every default written out."""
        out: dict[str, Any] = {}
        for key in INPUTS:
            value = key.render(self)
            if value is not None or (key.kind == "json" and key.written(self)):
                out[key.name] = value
        return out


def _reject_unknown_keys(data: Mapping[str, Any]) -> None:
    # Only input keys: the execution state is the tuner's own, so a caller can never set its keys.
    for key in data:
        if key in INPUT_KEYS:
            continue
        close = difflib.get_close_matches(str(key), INPUT_KEYS, n=1, cutoff=0.6) or difflib.get_close_matches(
            str(key).lower(), [k.lower() for k in INPUT_KEYS], n=1, cutoff=0.6
        )
        hint = ""
        if close:
            match = next(k for k in INPUT_KEYS if k.lower() == close[0].lower())
            hint = f"; did you mean {match}?"
        raise InvalidInputError(f"unknown input key {key!r}{hint} Valid keys: {', '.join(INPUT_KEYS)}")


def with_s3_payload(request: TuningRequest, document: Any, uri: str) -> TuningRequest:
    """The request with the payload read from `payloadS3`, a weighted list applied as an inline one."""
    if not payloads.is_weighted(document):
        return replace(request, payload=document, weighted_payloads=())
    try:
        weighted = payloads.parse_weighted(document, request.num)
    except InvalidInputError as exc:
        raise PayloadError(f"{uri}: {exc}") from exc
    return replace(request, payload=None, weighted_payloads=weighted)
