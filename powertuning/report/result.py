"""One tuning result as the report sees it, read from an execution's output.

The output has per-size `stats` only when the execution ran with includeOutputResults; without
them the sizes, average durations and average costs are decoded from the visualization link, which
every output carries, and percentiles are unknown. A figure a stats item does not carry (the
reference tool's items have only `value`, `averagePrice` and `averageDuration`) stays None, so the
report can say "—" instead of a made-up 0.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, urlparse

from powertuning.analysis import Constraint
from powertuning.errors import PowerTuningError
from powertuning.models import finite_number, whole_number
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
    # Input `architectures`: which one this size was measured on.
    architecture: str | None = None

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
                value=whole_number(item["value"]),
                average_duration=finite_number(item["averageDuration"]),
                average_price=finite_number(item["averagePrice"]),
                p50=_optional(item, "p50", finite_number),
                p90=_optional(item, "p90", finite_number),
                p95=_optional(item, "p95", finite_number),
                p99=_optional(item, "p99", finite_number),
                invocations=_optional(item, "invocations", whole_number),
                cold_starts=_optional(item, "coldStarts", whole_number),
                errors=_optional(item, "errors", whole_number),
                total_cost=_optional(item, "totalCost", finite_number),
                architecture=_optional(item, "architecture", str),
            )
        except (TypeError, ValueError) as exc:
            raise ResultFormatError(f"malformed execution output: {exc}") from exc


def _optional(item: Mapping[str, Any], key: str, parse: Any) -> Any:
    value = item.get(key)
    return None if value is None else parse(value)


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
            level=finite_number(data.get("confidence", 0.0)),
            not_separated=tuple(
                (
                    whole_number(s["value"]),
                    None if s.get("withinPct") is None else finite_number(s["withinPct"]),
                )
                for s in data.get("notSeparated", [])
            ),
            skipped_by_model=tuple(whole_number(v) for v in data.get("skippedByModel", [])),
            cold_starts=_optional(data, "coldStarts", whole_number),
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
    # Input `architectures`: the recommended pair's architecture, one reference link per architecture,
    # and the skipped (architecture, size) pairs with their reasons.
    architecture: str | None = None
    visualizations: dict[str, str] = field(default_factory=dict)
    skipped_on: tuple[tuple[str, int, str], ...] = ()

    def by_architecture(self) -> list[TuningResult]:
        """One result per architecture (labelled with it; only the pick's marks a recommendation),
        for one curve each in a chart; [self] for a run on one architecture."""
        if self.architecture is None:
            return [self]
        names = sorted(
            {s.architecture for s in self.sizes if s.architecture} | {a for a, _, _ in self.skipped_on}
        )
        return [
            replace(
                self,
                label=f"{self.label} {name}" if self.label else name,
                power=self.power if name == self.architecture else 0,
                sizes=tuple(s for s in self.sizes if s.architecture == name),
                skipped=tuple((v, r) for a, v, r in self.skipped_on if a == name),
                visualization=self.visualizations.get(name, ""),
                architecture=None,
                skipped_on=(),
            )
            for name in names
        ]

    # sampling "adaptive": how sure the race is of its pick (the output's `confidence`).
    confidence: Confidence | None = None

    def pair_rows(self) -> list[PairRow]:
        """Every (architecture, size) pair of a run on several architectures, by size then
        architecture: the one table of `powertune run` and of the report."""
        rows = [
            PairRow(
                s.value,
                s.architecture or "",
                s,
                None,
                s.value == self.power and s.architecture == self.architecture,
            )
            for s in self.sizes
        ]
        rows += [PairRow(value, arch, None, reason, False) for arch, value, reason in self.skipped_on]
        return sorted(rows, key=lambda r: (r.value, r.architecture))

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
            listed = output.get("skipped", [])
            skipped = tuple(
                (int(s["value"]), str(s.get("reason") or "")) for s in listed if "architecture" not in s
            )
            skipped_on = tuple(
                (str(s["architecture"]), int(s["value"]), str(s.get("reason") or ""))
                for s in listed
                if "architecture" in s
            )
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
                constraint=(
                    None if output.get("constraint") is None else Constraint.from_dict(output["constraint"])
                ),
                architecture=None if output.get("architecture") is None else str(output["architecture"]),
                visualizations={str(k): str(v) for k, v in (machine.get("visualizations") or {}).items()},
                skipped_on=skipped_on,
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
    def pick(self) -> str:
        """The recommendation in words: "512 MB", or "512 MB on arm64" (input `architectures`)."""
        return f"{self.power} MB on {self.architecture}" if self.architecture else f"{self.power} MB"

    @property
    def detailed(self) -> bool:
        """Whether the result has percentiles (an execution run with includeOutputResults)."""
        return any(s.has_percentiles for s in self.sizes)

    @property
    def recommended(self) -> SizeFigures | None:
        """The measurements of the recommended size (on the recommended architecture)."""
        return next(
            (s for s in self.sizes if s.value == self.power and self.architecture in (None, s.architecture)),
            None,
        )

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


@dataclass(frozen=True)
class PairRow:
    """One row of the table of a run on several architectures: measured (`figures`) or skipped."""

    value: int
    architecture: str
    figures: SizeFigures | None
    skipped: str | None
    recommended: bool


def _sizes_from_visualization(url: str) -> tuple[SizeFigures, ...]:
    if "#" not in url:
        return ()
    points = decode(url.split("#", 1)[1])
    # Float32 in the link: round back to the precision the tuner reports.
    return tuple(
        SizeFigures(value=p.power, average_duration=round(p.duration, 2), average_price=p.cost)
        for p in sorted(points, key=lambda p: p.power)
    )
