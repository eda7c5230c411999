"""What a report says about the run behind a result: which function, when, how it was measured.

Callers fill what they know and leave the rest None; the page shows "—" for what nobody knew.
`powertune run` and `powertune report` read the execution's input and start date; `powertune local`
passes `measured_on="local"` and its CPU mode:

    RunMetadata(measured_on="local", cpu_mode="cgroup-v1", function_arn=arn, strategy="cost")
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any, Final, Literal

MEASURED_ON: Final = ("aws", "local")
MeasuredOn = Literal["aws", "local"]

# The execution input's defaults (README "Execution input"), for inputs that leave them out.
_DEFAULT_STRATEGY: Final = "cost"
_DEFAULT_BALANCED_WEIGHT: Final = 0.5
_DEFAULT_SAMPLING: Final = "fixed"


@dataclass(frozen=True, kw_only=True)
class RunMetadata:
    """The run behind a result, as far as the caller knows it; None means unknown."""

    function_arn: str | None = None
    started: datetime | None = None
    strategy: str | None = None
    balanced_weight: float | None = None
    latency_target_ms: float | None = None
    # Which duration the target limits (input durationStatistic); None means the average.
    latency_statistic: str | None = None
    sampling: str | None = None
    num: int | None = None
    measured_on: MeasuredOn | None = None
    cpu_mode: str | None = None
    execution_arn: str | None = None

    def __post_init__(self) -> None:
        if self.measured_on is not None and self.measured_on not in MEASURED_ON:
            raise ValueError(f"measured_on must be one of {', '.join(MEASURED_ON)}, got {self.measured_on!r}")
        if self.cpu_mode is not None and self.measured_on == "aws":
            raise ValueError("cpu_mode describes the local runtime; it cannot go with measured_on='aws'")
        if self.started is not None and self.started.tzinfo is None:
            raise ValueError("started must be timezone-aware (e.g. datetime.now(UTC))")

    def merged(self, other: RunMetadata | None) -> RunMetadata:
        """This metadata with every field `other` knows (is not None) taken from `other`."""
        if other is None:
            return self
        known = {f.name: getattr(other, f.name) for f in fields(other) if getattr(other, f.name) is not None}
        return replace(self, **known)

    @property
    def function_name(self) -> str:
        """The function's name from its ARN (or the ARN as given), "" when unknown."""
        parts = (self.function_arn or "").split(":")
        return parts[6] if len(parts) > 6 else (self.function_arn or "")

    @classmethod
    def from_execution_input(cls, data: Mapping[str, Any]) -> RunMetadata:
        """What an execution input says: function, strategy (and weight), sampling, num, latency target."""
        strategy = str(data.get("strategy", _DEFAULT_STRATEGY))
        weight = data.get("balancedWeight", _DEFAULT_BALANCED_WEIGHT) if strategy == "balanced" else None
        num = data.get("num")
        target = data.get("maxDurationMs")
        if isinstance(target, bool) or not isinstance(target, int | float):
            target = None
        return cls(
            latency_target_ms=None if target is None else float(target),
            latency_statistic=None if target is None else str(data.get("durationStatistic", "average")),
            function_arn=str(data["lambdaARN"]) if data.get("lambdaARN") else None,
            strategy=strategy,
            balanced_weight=float(weight) if isinstance(weight, int | float) else None,
            sampling=str(data.get("sampling", _DEFAULT_SAMPLING)),
            num=num if isinstance(num, int) and not isinstance(num, bool) else None,
        )

    @classmethod
    def from_description(cls, description: Mapping[str, Any]) -> RunMetadata:
        """What a DescribeExecution answer says: its input's keys, its start date and ARN."""
        try:
            execution_input = json.loads(description.get("input") or "{}")
        except (TypeError, json.JSONDecodeError):
            execution_input = {}
        base = cls.from_execution_input(execution_input) if isinstance(execution_input, Mapping) else cls()
        return replace(
            base,
            started=_datetime(description.get("startDate")),
            execution_arn=str(description["executionArn"]) if description.get("executionArn") else None,
        )


def _datetime(value: Any) -> datetime | None:
    # boto3 gives a datetime; a saved `aws stepfunctions describe-execution` answer an ISO string
    # or epoch seconds.
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None
