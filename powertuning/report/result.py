"""One tuning result as the report sees it, read from an execution's output.

The output has per-size `stats` only when the execution ran with includeOutputResults; without
them the sizes, average durations and average costs are decoded from the visualization link, which
every output carries, and percentiles are unknown. A figure a stats item does not carry (the
reference tool's items have only `value`, `averagePrice` and `averageDuration`) stays None, so the
report can say "—" instead of a made-up 0.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

from powertuning.errors import PowerTuningError
from powertuning.report.metadata import RunMetadata
from powertuning.visualization import decode


class ResultFormatError(PowerTuningError):
    """A document is not an execution output (nor a DescribeExecution answer holding one)."""


@dataclass(frozen=True)
class SizeFigures:
    """What was measured at one memory size; None where the result does not say."""

    value: int
    average_duration: float
    average_price: float
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    invocations: int | None = None
    cold_starts: int | None = None
    errors: int | None = None
    total_cost: float | None = None

    @property
    def has_percentiles(self) -> bool:
        """Whether p50 and p99 are both known (the chart's bar needs both)."""
        return self.p50 is not None and self.p99 is not None

    @classmethod
    def from_stats_item(cls, item: Any) -> SizeFigures:
        """Parse one item of the output's `stats`; keys it lacks stay None."""
        if not isinstance(item, Mapping):
            raise ResultFormatError(f"a stats item is a JSON object, got {type(item).__name__}")
        missing = [k for k in ("value", "averagePrice", "averageDuration") if k not in item]
        if missing:
            raise ResultFormatError(f"malformed execution output: a stats item has no {', '.join(missing)}")
        try:
            return cls(
                value=_integer(item["value"]),
                average_duration=_number(item["averageDuration"]),
                average_price=_number(item["averagePrice"]),
                p50=_optional(item, "p50", _number),
                p90=_optional(item, "p90", _number),
                p95=_optional(item, "p95", _number),
                p99=_optional(item, "p99", _number),
                invocations=_optional(item, "invocations", _integer),
                cold_starts=_optional(item, "coldStarts", _integer),
                errors=_optional(item, "errors", _integer),
                total_cost=_optional(item, "totalCost", _number),
            )
        except (TypeError, ValueError) as exc:
            raise ResultFormatError(f"malformed execution output: {exc}") from exc


def _number(value: Any) -> float:
    # Saved files may have been edited by hand: numbers must be numbers before anything is drawn.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def _integer(value: Any) -> int:
    number = _number(value)
    if number != int(number):
        raise ValueError(f"expected a whole number, got {value!r}")
    return int(number)


def _optional(item: Mapping[str, Any], key: str, parse: Any) -> Any:
    value = item.get(key)
    return None if value is None else parse(value)


@dataclass(frozen=True)
class Constraint:
    """The output's `constraint`: whether the recommendation meets the latency target (maxDurationMs)."""

    met: bool
    statistic: str
    max_duration_ms: float
    value: float
    meeting: tuple[int, ...] = ()

    @classmethod
    def from_output(cls, data: Any) -> Constraint | None:
        """Parse `constraint` (None when the run had no latency target)."""
        if data is None:
            return None
        if not isinstance(data, Mapping) or not isinstance(data.get("met"), bool):
            raise ValueError(f"constraint must be an object with met true or false, got {data!r}")
        return cls(
            met=data["met"],
            statistic=str(data.get("statistic", "average")),
            max_duration_ms=_number(data["maxDurationMs"]),
            value=_number(data["value"]),
            meeting=tuple(_integer(v) for v in data.get("sizesMeetingTarget") or ()),
        )

    def describe(self, power: int) -> str:
        """One line: the target and whether the recommended size meets it."""
        if self.met:
            verdict = "met"
        elif self.meeting:
            # Only `speed` recommends a size that misses a target other sizes meet.
            verdict = f"NOT met by the recommended size (met by {', '.join(f'{v} MB' for v in self.meeting)})"
        else:
            verdict = "NOT met: no size meets it; the closest is recommended"
        return (
            f"latency target {self.statistic} <= {self.max_duration_ms:g} ms {verdict} "
            f"({power} MB: {self.statistic} {self.value:.2f} ms)"
        )


@dataclass(frozen=True)
class Confidence:
    """The output's `confidence` (sampling "adaptive"): how sure the race is of its pick."""

    text: str
    level: float
    not_separated: tuple[tuple[int, float | None], ...] = ()
    skipped_by_model: tuple[int, ...] = ()
    cold_starts: int | None = None

    @classmethod
    def from_output(cls, data: Any) -> Confidence | None:
        """Parse `confidence` (None when the run sampled a fixed number of times)."""
        if data is None:
            return None
        if not isinstance(data, Mapping) or not isinstance(data.get("text"), str):
            raise ValueError(f"confidence must be an object with a text, got {data!r}")
        return cls(
            text=data["text"],
            level=_number(data.get("confidence", 0.0)),
            not_separated=tuple(
                (_integer(s["value"]), None if s.get("withinPct") is None else _number(s["withinPct"]))
                for s in data.get("notSeparated", [])
            ),
            skipped_by_model=tuple(_integer(v) for v in data.get("skippedByModel", [])),
            cold_starts=_optional(data, "coldStarts", _integer),
        )


@dataclass(frozen=True)
class TuningResult:
    """The recommendation, the per-size measurements, what the run cost and what is known of it."""

    label: str
    power: int
    cost: float
    duration: float
    execution_cost: float
    lambda_cost: float
    visualization: str
    sizes: tuple[SizeFigures, ...]
    skipped: tuple[tuple[int, str], ...] = ()
    metadata: RunMetadata = field(default_factory=RunMetadata)
    constraint: Constraint | None = None
    # sampling "adaptive": how sure the race is of its pick (the output's `confidence`).
    confidence: Confidence | None = None

    @classmethod
    def from_output(
        cls, output: Any, *, label: str = "", metadata: RunMetadata | None = None
    ) -> TuningResult:
        """Read an execution output `{power, cost, duration, stateMachine, constraint?, stats?, skipped?}`."""
        if not isinstance(output, Mapping):
            raise ResultFormatError(f"an execution output is a JSON object, got {type(output).__name__}")
        if output.get("dryRun"):
            raise ResultFormatError("a dry run recommends nothing: there is no result to report")
        missing = [k for k in ("power", "cost", "duration", "stateMachine") if k not in output]
        if missing:
            raise ResultFormatError(
                f"not an execution output: missing {', '.join(missing)} "
                "(expected {power, cost, duration, stateMachine, stats?})"
            )
        machine = output["stateMachine"]
        if not isinstance(machine, Mapping):
            raise ResultFormatError("stateMachine must be an object")
        visualization = str(machine.get("visualization", ""))
        try:
            stats = output.get("stats")
            if stats:
                items = [SizeFigures.from_stats_item(s) for s in stats]
                sizes = tuple(sorted(items, key=lambda r: r.value))
            else:
                sizes = _sizes_from_visualization(visualization)
            skipped = tuple((int(s["value"]), str(s.get("reason") or "")) for s in output.get("skipped", []))
            return cls(
                label=label,
                power=int(output["power"]),
                cost=float(output["cost"]),
                duration=float(output["duration"]),
                execution_cost=float(machine.get("executionCost", 0.0)),
                lambda_cost=float(machine.get("lambdaCost", 0.0)),
                visualization=visualization,
                sizes=sizes,
                skipped=skipped,
                metadata=metadata or RunMetadata(),
                constraint=Constraint.from_output(output.get("constraint")),
                confidence=Confidence.from_output(output.get("confidence")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ResultFormatError(f"malformed execution output: {exc}") from exc

    @classmethod
    def from_document(
        cls, document: Any, *, label: str = "", metadata: RunMetadata | None = None
    ) -> TuningResult:
        """Read an execution output, or a DescribeExecution answer whose `output` holds one.

        `metadata` adds what the caller knows; its fields win over what the document says.
        """
        known = RunMetadata()
        if isinstance(document, Mapping) and "output" in document and "power" not in document:
            status = document.get("status", "SUCCEEDED")
            if status != "SUCCEEDED":
                why = f"{document.get('error', '')} {document.get('cause', '')}".strip()
                raise ResultFormatError(f"the execution is {status}: {why}")
            known = RunMetadata.from_description(document)
            try:
                document = json.loads(document["output"])
            except (TypeError, json.JSONDecodeError) as exc:
                raise ResultFormatError(f"the execution's output is not JSON: {exc}") from exc
        return cls.from_output(document, label=label, metadata=known.merged(metadata))

    @property
    def detailed(self) -> bool:
        """Whether the result has percentiles (an execution run with includeOutputResults)."""
        return any(s.has_percentiles for s in self.sizes)

    @property
    def recommended(self) -> SizeFigures | None:
        """The measurements of the recommended size."""
        return next((s for s in self.sizes if s.value == self.power), None)

    @property
    def function_name(self) -> str:
        """The tuned function's name when the result says which function it is, else ""."""
        return self.metadata.function_name

    @property
    def currency(self) -> str:
        """The currency of the costs: "CNY" when the visualization link says so (China), else "USD"."""
        query = parse_qs(urlparse(self.visualization.split("#", 1)[0]).query)
        return query.get("currency", ["USD"])[0]

    @property
    def total_cost(self) -> float:
        """What the tuning run itself cost: Step Functions plus the invocations it made."""
        return self.execution_cost + self.lambda_cost


def _sizes_from_visualization(url: str) -> tuple[SizeFigures, ...]:
    if "#" not in url:
        return ()
    points = decode(url.split("#", 1)[1])
    # Float32 in the link: round back to the precision the tuner reports.
    return tuple(
        SizeFigures(value=p.power, average_duration=round(p.duration, 2), average_price=p.cost)
        for p in sorted(points, key=lambda p: p.power)
    )
