"""One tuning result as the report sees it, read from an execution's output.

The output has per-size `stats` only when the execution ran with includeOutputResults; without
them the sizes, average durations and average costs are decoded from the visualization link, which
every output carries, and percentiles are unknown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlparse

from powertuning.errors import PowerTuningError
from powertuning.models import SizeResult
from powertuning.visualization import decode


class ResultFormatError(PowerTuningError):
    """A document is not an execution output (nor a DescribeExecution answer holding one)."""


@dataclass(frozen=True)
class TuningResult:
    """The recommendation, the per-size measurements and what the run cost."""

    label: str
    power: int
    cost: float
    duration: float
    execution_cost: float
    lambda_cost: float
    visualization: str
    sizes: tuple[SizeResult, ...]
    skipped: tuple[tuple[int, str], ...] = ()
    detailed: bool = True
    meta: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_output(
        cls, output: Any, *, label: str = "", meta: Sequence[tuple[str, str]] = ()
    ) -> TuningResult:
        """Read an execution output `{power, cost, duration, stateMachine, stats?, skipped?}`."""
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
                sizes = tuple(sorted((_size(s) for s in stats), key=lambda r: r.value))
                detailed = True
            else:
                sizes = _sizes_from_visualization(visualization)
                detailed = False
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
                detailed=detailed,
                meta=tuple(meta),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ResultFormatError(f"malformed execution output: {exc}") from exc

    @classmethod
    def from_document(cls, document: Any, *, label: str = "") -> TuningResult:
        """Read an execution output, or a DescribeExecution answer whose `output` holds one."""
        meta: list[tuple[str, str]] = []
        if isinstance(document, Mapping) and "output" in document and "power" not in document:
            status = document.get("status", "SUCCEEDED")
            if status != "SUCCEEDED":
                why = f"{document.get('error', '')} {document.get('cause', '')}".strip()
                raise ResultFormatError(f"the execution is {status}: {why}")
            meta = describe_meta(document)
            try:
                document = json.loads(document["output"])
            except (TypeError, json.JSONDecodeError) as exc:
                raise ResultFormatError(f"the execution's output is not JSON: {exc}") from exc
        return cls.from_output(document, label=label, meta=meta)

    @property
    def recommended(self) -> SizeResult | None:
        """The measurements of the recommended size."""
        return next((s for s in self.sizes if s.value == self.power), None)

    @property
    def function_name(self) -> str:
        """The tuned function's name when the result says which function it is, else ""."""
        arn = dict(self.meta).get("Function", "")
        parts = arn.split(":")
        return parts[6] if len(parts) > 6 else arn

    @property
    def currency(self) -> str:
        """The currency of the costs: "CNY" when the visualization link says so (China), else "USD"."""
        query = parse_qs(urlparse(self.visualization.split("#", 1)[0]).query)
        return query.get("currency", ["USD"])[0]

    @property
    def total_cost(self) -> float:
        """What the tuning run itself cost: Step Functions plus the invocations it made."""
        return self.execution_cost + self.lambda_cost


def describe_meta(description: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Function, strategy and execution from a DescribeExecution answer, for the report's header."""
    meta: list[tuple[str, str]] = []
    try:
        execution_input = json.loads(description.get("input") or "{}")
    except json.JSONDecodeError:
        execution_input = {}
    if isinstance(execution_input, Mapping):
        if execution_input.get("lambdaARN"):
            meta.append(("Function", str(execution_input["lambdaARN"])))
        meta.append(("Strategy", str(execution_input.get("strategy", "cost"))))
    if description.get("executionArn"):
        meta.append(("Execution", str(description["executionArn"])))
    return meta


def _size(item: Mapping[str, Any]) -> SizeResult:
    # Saved files may have been edited by hand: numbers must be numbers before anything is drawn.
    r = SizeResult.from_dict(item)
    return replace(
        r,
        value=int(r.value),
        average_price=float(r.average_price),
        average_duration=float(r.average_duration),
        total_cost=float(r.total_cost),
        p50=float(r.p50),
        p90=float(r.p90),
        p99=float(r.p99),
        invocations=int(r.invocations),
        cold_starts=int(r.cold_starts),
        errors=int(r.errors),
    )


def _sizes_from_visualization(url: str) -> tuple[SizeResult, ...]:
    if "#" not in url:
        return ()
    points = decode(url.split("#", 1)[1])
    # Float32 in the link: round back to the precision the tuner reports.
    return tuple(
        SizeResult(value=p.power, average_duration=round(p.duration, 2), average_price=p.cost)
        for p in sorted(points, key=lambda p: p.power)
    )
