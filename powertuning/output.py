"""The execution output: one model, written by the Analyzer and read back by the report and the CLI.

Drop-in compatible with aws-lambda-power-tuning's output. Reading is tolerant where the report must
be: the reference tool's `stats` items carry only `value`, `averagePrice` and `averageDuration`, so a
figure an item lacks stays None (the report shows "—", not a made-up 0); an output without `stats`
(includeOutputResults false) gets its sizes, average durations and average costs from the
visualization link, which every output carries. Saved files get edited by hand: what is not an
output raises ResultFormatError naming what is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Self
from urllib.parse import parse_qs, urlparse

from powertuning.cold_starts import BLENDED, ColdStartRate
from powertuning.errors import ResultFormatError
from powertuning.visualization import decode


def finite_number(value: Any) -> float:
    """A finite number from a saved document (a string of one too: files get edited by hand)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def whole_number(value: Any) -> int:
    """A whole number from a saved document (see finite_number)."""
    number = finite_number(value)
    if number != int(number):
        raise ValueError(f"expected a whole number, got {value!r}")
    return int(number)


def size_label(slot: int | tuple[str, int]) -> str:
    """`512 MB`, or `512 MB arm64` for an (architecture, size) pair."""
    return f"{slot} MB" if isinstance(slot, int) else f"{slot[1]} MB {slot[0]}"


@dataclass(frozen=True)
class Constraint:
    """Whether the recommendation meets the latency target (maxDurationMs): the output's `constraint`."""

    met: bool
    statistic: str
    max_duration_ms: float
    # The recommended size's statistic.
    value: float
    # Every size that met the target; with input `architectures`, (architecture, size) pairs.
    meeting: tuple[int | tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form: met, the statistic, the limit, the recommended size's figure."""
        return {
            "met": self.met,
            "statistic": self.statistic,
            "maxDurationMs": self.max_duration_ms,
            "value": self.value,
            # With input `architectures`: {"value", "architecture"} items.
            "sizesMeetingTarget": [
                m if isinstance(m, int) else {"value": m[1], "architecture": m[0]} for m in self.meeting
            ],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Constraint:
        """Parse the wire form (ValueError when it is not one: saved files may be edited by hand)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("met"), bool):
            raise ValueError(f"constraint must be an object with met true or false, got {data!r}")
        return cls(
            met=data["met"],
            statistic=str(data.get("statistic", "average")),
            max_duration_ms=_required(data, "maxDurationMs", finite_number),
            value=_required(data, "value", finite_number),
            meeting=tuple(
                (str(v["architecture"]), _required(v, "value", whole_number))
                if isinstance(v, Mapping)
                else whole_number(v)
                for v in data.get("sizesMeetingTarget") or ()
            ),
        )

    def describe(self, power: int) -> str:
        """One line: the target and whether the recommended size meets it."""
        if self.met:
            verdict = "met"
        elif self.meeting:
            # Only `speed` recommends a size that misses a target other sizes meet.
            verdict = (
                f"NOT met by the recommended size (met by {', '.join(size_label(v) for v in self.meeting)})"
            )
        else:
            verdict = "NOT met: no size meets it; the closest is recommended"
        return (
            f"latency target {self.statistic} <= {self.max_duration_ms:g} ms {verdict} "
            f"({power} MB: {self.statistic} {self.value:.2f} ms)"
        )


def _optional(data: Mapping[str, Any], key: str, parse: Callable[[Any], Any]) -> Any:
    value = data.get(key)
    return None if value is None else _required(data, key, parse)


def _required(data: Mapping[str, Any], key: str, parse: Callable[[Any], Any]) -> Any:
    # The key in the message: a hand-edited file's author needs to know which value to fix.
    if data.get(key) is None:
        raise ValueError(f"{key} is missing")
    try:
        return parse(data[key])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{key}: {exc}") from exc


def _true(value: Any) -> bool:
    if value is not True:
        raise ValueError(f"expected true, got {value!r}")
    return True


# Optional wire keys, in wire order: (camelCase key, field, parser); None when a document lacks one.
Keys = tuple[tuple[str, str, Callable[[Any], Any]], ...]


def _read(data: Mapping[str, Any], keys: Keys) -> dict[str, Any]:
    return {name: _optional(data, key, parse) for key, name, parse in keys}


def _written(obj: object, keys: Keys) -> dict[str, Any]:
    return {key: getattr(obj, name) for key, name, _ in keys if getattr(obj, name) is not None}


# A stats item's figures past the reference tool's three.
_FIGURES: Final[Keys] = (
    ("totalCost", "total_cost", finite_number),
    ("p50", "p50", finite_number),
    ("p90", "p90", finite_number),
    ("p95", "p95", finite_number),
    ("p99", "p99", finite_number),
    ("invocations", "invocations", whole_number),
    ("coldStarts", "cold_starts", whole_number),
    ("errors", "errors", whole_number),
    ("gbSeconds", "gb_seconds", finite_number),
    ("transitions", "transitions", whole_number),
    ("architecture", "architecture", str),
    # Input `coldStartRate` only (powertuning/cold_starts.py).
    ("warmPrice", "warm_price", finite_number),
    ("warmDuration", "warm_duration", finite_number),
    ("initDuration", "init_duration", finite_number),
    ("coldStartCost", "cold_start_cost", finite_number),
    ("coldStartDuration", "cold_start_duration", finite_number),
    ("initCost", "init_cost", finite_number),
    ("snapStartCacheCost", "snap_start_cache_cost", finite_number),
    ("snapStartCacheHourly", "snap_start_cache_hourly", finite_number),
    ("noColdStartSeen", "no_cold_start_seen", _true),
    # Fixed sampling only (analysis.summarize).
    ("priceVariance", "price_variance", finite_number),
    ("durationVariance", "duration_variance", finite_number),
    ("keptInvocations", "kept_invocations", whole_number),
)


@dataclass(frozen=True)
class SizeStats:
    """One item of the output's `stats`: what the output says of one measured size; None where it
    does not say.

    The Analyzer writes the measured `SizeResult`s (size_result.py, the execution state's items) through
    their wire form, so an item is a `SizeResult` without its state-only keys (`samples`, `skipped`).
    """

    value: int
    average_price: float
    average_duration: float
    total_cost: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    invocations: int | None = None
    cold_starts: int | None = None
    errors: int | None = None
    gb_seconds: float | None = None
    transitions: int | None = None
    # Input `architectures`: which one this size was measured on.
    architecture: str | None = None
    # Input `coldStartRate`: warm and cold apart (averagePrice and averageDuration are then blended).
    warm_price: float | None = None
    warm_duration: float | None = None
    init_duration: float | None = None
    cold_start_cost: float | None = None
    cold_start_duration: float | None = None
    init_cost: float | None = None
    snap_start_cache_cost: float | None = None
    snap_start_cache_hourly: float | None = None
    # A rate was given but this size showed no cold start: priced warm (the CLI and report say so).
    no_cold_start_seen: bool | None = None
    # Fixed sampling: how noisy the averages are (size_result.NOISE_KEYS).
    price_variance: float | None = None
    duration_variance: float | None = None
    kept_invocations: int | None = None

    @property
    def has_percentiles(self) -> bool:
        """Whether p50 and p99 are both known (the chart's bar needs both)."""
        return self.p50 is not None and self.p99 is not None

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form; the first three keys are the reference tool's; unknown figures left out."""
        first = {
            "value": self.value,
            "averagePrice": self.average_price,
            "averageDuration": self.average_duration,
        }
        return first | _written(self, _FIGURES)

    @classmethod
    def from_dict(cls, item: Any) -> SizeStats:
        """Parse one item; keys it lacks stay None, unknown keys are ignored."""
        if not isinstance(item, Mapping):
            raise ResultFormatError(f"a stats item is a JSON object, got {type(item).__name__}")
        missing = [k for k in ("value", "averagePrice", "averageDuration") if k not in item]
        if missing:
            raise ResultFormatError(f"malformed execution output: a stats item has no {', '.join(missing)}")
        try:
            return cls(
                value=_required(item, "value", whole_number),
                average_price=_required(item, "averagePrice", finite_number),
                average_duration=_required(item, "averageDuration", finite_number),
                **_read(item, _FIGURES),
            )
        except (TypeError, ValueError) as exc:
            raise ResultFormatError(f"malformed execution output: {exc}") from exc


# The confidence statement's figures before its lists.
_STATEMENT: Final[Keys] = (
    ("strategy", "strategy", str),
    ("confidence", "level", finite_number),
    ("tolerancePct", "tolerance_pct", finite_number),
    ("reason", "reason", str),
    ("coldStarts", "cold_starts", whole_number),
)


@dataclass(frozen=True, kw_only=True)
class Confidence:
    """The output's `confidence` (sampling "adaptive"): how sure the race is of its pick.

    Written from `adaptive.outcome.confidence_statement`; see it for what each figure means.
    """

    text: str
    strategy: str | None = None
    # The confidence level the race used (input `confidence`).
    level: float | None = None
    tolerance_pct: float | None = None
    reason: str | None = None
    cold_starts: int | None = None
    skipped_by_model: tuple[int, ...] = ()
    pick: int | None = None
    # (size, withinPct): the sizes the race could not separate from the pick; None: too few samples.
    not_separated: tuple[tuple[int, float | None], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form; figures the statement did not carry are left out."""
        return _written(self, _STATEMENT) | {
            "skippedByModel": list(self.skipped_by_model),
            "pick": self.pick,
            "notSeparated": [{"value": v, "withinPct": w} for v, w in self.not_separated],
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Confidence:
        """Parse the wire form (ValueError when it is not one)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("text"), str):
            raise ValueError(f"confidence must be an object with a text, got {data!r}")
        return cls(
            text=data["text"],
            **_read(data, _STATEMENT),
            skipped_by_model=tuple(whole_number(v) for v in data.get("skippedByModel", [])),
            pick=_optional(data, "pick", whole_number),
            not_separated=tuple(
                (_required(s, "value", whole_number), _optional(s, "withinPct", finite_number))
                for s in data.get("notSeparated", [])
            ),
        )


@dataclass(frozen=True, kw_only=True)
class TuningOutput:
    """The execution output: the pick, what the run cost, the per-size figures and what was skipped."""

    power: int = 0
    cost: float = 0.0
    duration: float = 0.0
    execution_cost: float = 0.0
    lambda_cost: float = 0.0
    visualization: str = ""
    # The sizes measured, as `stats` lists them (written only with includeOutputResults).
    sizes: tuple[SizeStats, ...] = ()
    include_stats: bool = False
    # Skipped sizes with their reasons; with input `architectures`, (architecture, size, reason).
    skipped: tuple[tuple[int, str], ...] = ()
    skipped_on: tuple[tuple[str, int, str], ...] = ()
    # Input `architectures`: the recommended pair's architecture, and one reference link per architecture.
    architecture: str | None = None
    visualizations: dict[str, str] = field(default_factory=dict)
    constraint: Constraint | None = None
    # sampling "adaptive": how sure the race is of its pick.
    confidence: Confidence | None = None
    # Input `coldStartRate`: the rate the sizes are priced at, and the share of the pick's cost INIT is.
    cold_start: ColdStartRate | None = None
    init_share: float | None = None
    # coldStartRate "production-if-available" with no rate to read: why the sizes are priced warm.
    cold_start_unavailable: str | None = None
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        """camelCase output; `stats` only when includeOutputResults, `skipped` when sizes were skipped.

        A dry run recommends nothing, as in the reference tool (whose output is then `null`): no
        power, cost, duration or visualization, only `dryRun: true` and what the check cost.
        """
        machine: dict[str, Any] = {"executionCost": self.execution_cost, "lambdaCost": self.lambda_cost}
        out: dict[str, Any] = {"dryRun": True, "stateMachine": machine}
        if not self.dry_run:
            machine["visualization"] = self.visualization
            out = {"power": self.power, "cost": self.cost, "duration": self.duration, "stateMachine": machine}
            if self.architecture is not None:
                out["architecture"] = self.architecture
                machine["visualizations"] = self.visualizations
            if self.constraint is not None:
                out["constraint"] = self.constraint.to_dict()
        if self.include_stats:
            out["stats"] = [s.to_dict() for s in self.sizes]
        skipped = [{"value": v, "reason": r} for v, r in self.skipped] + [
            {"value": v, "reason": r, "architecture": a} for a, v, r in self.skipped_on
        ]
        if skipped:
            out["skipped"] = skipped
        if self.confidence is not None and not self.dry_run:
            out["confidence"] = self.confidence.to_dict()
        if self.cold_start is not None:
            out["coldStart"] = self.cold_start.to_dict() | {
                "pricing": BLENDED,
                "priced": self.cold_start.priced,
                "initShare": self.init_share,
            }
        if self.cold_start_unavailable is not None:
            out["coldStartUnavailable"] = self.cold_start_unavailable
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        """Read an output `{power, cost, duration, stateMachine, constraint?, stats?, skipped?, confidence?}`
        (or a dry run's `{dryRun, stateMachine}`)."""
        if not isinstance(data, Mapping):
            raise ResultFormatError(f"an execution output is a JSON object, got {type(data).__name__}")
        dry_run = data.get("dryRun") is True
        required = ("stateMachine",) if dry_run else ("power", "cost", "duration", "stateMachine")
        missing = [k for k in required if k not in data]
        if missing:
            raise ResultFormatError(
                f"not an execution output: missing {', '.join(missing)} "
                "(expected {power, cost, duration, stateMachine, stats?})"
            )
        machine = data["stateMachine"]
        if not isinstance(machine, Mapping):
            raise ResultFormatError("stateMachine must be an object")
        visualization = str(machine.get("visualization", ""))
        stats = data.get("stats")
        if stats:
            sizes = tuple(sorted((SizeStats.from_dict(s) for s in stats), key=lambda s: s.value))
        else:
            sizes = _sizes_from_visualization(visualization)
        try:
            skipped = [
                (
                    _optional(s, "architecture", str),
                    _required(s, "value", whole_number),
                    str(s.get("reason") or ""),
                )
                for s in data.get("skipped", [])
            ]
            return cls(
                power=0 if dry_run else _required(data, "power", whole_number),
                cost=0.0 if dry_run else _required(data, "cost", finite_number),
                duration=0.0 if dry_run else _required(data, "duration", finite_number),
                execution_cost=_optional(machine, "executionCost", finite_number) or 0.0,
                lambda_cost=_optional(machine, "lambdaCost", finite_number) or 0.0,
                visualization=visualization,
                sizes=sizes,
                include_stats=bool(stats),
                skipped=tuple((v, r) for a, v, r in skipped if a is None),
                skipped_on=tuple((a, v, r) for a, v, r in skipped if a is not None),
                architecture=_optional(data, "architecture", str),
                visualizations={str(k): str(v) for k, v in (machine.get("visualizations") or {}).items()},
                constraint=_optional(data, "constraint", Constraint.from_dict),
                confidence=_optional(data, "confidence", Confidence.from_dict),
                cold_start=_optional(data, "coldStart", ColdStartRate.from_dict),
                init_share=_optional(data.get("coldStart") or {}, "initShare", finite_number),
                cold_start_unavailable=_optional(data, "coldStartUnavailable", str),
                dry_run=dry_run,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ResultFormatError(f"malformed execution output: {exc}") from exc

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

    @property
    def pick(self) -> str:
        """The recommendation in words: "512 MB", or "512 MB on arm64" (input `architectures`)."""
        return f"{self.power} MB on {self.architecture}" if self.architecture else f"{self.power} MB"

    @property
    def detailed(self) -> bool:
        """Whether the output has percentiles (an execution run with includeOutputResults)."""
        return any(s.has_percentiles for s in self.sizes)

    @property
    def recommended(self) -> SizeStats | None:
        """The figures of the recommended size (on the recommended architecture)."""
        return next(
            (s for s in self.sizes if s.value == self.power and self.architecture in (None, s.architecture)),
            None,
        )

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
    figures: SizeStats | None
    skipped: str | None
    recommended: bool


def _sizes_from_visualization(url: str) -> tuple[SizeStats, ...]:
    if "#" not in url:
        return ()
    points = decode(url.split("#", 1)[1])
    # Float32 in the link: round back to the precision the tuner reports.
    return tuple(
        SizeStats(value=p.power, average_duration=round(p.duration, 2), average_price=p.cost)
        for p in sorted(points, key=lambda p: p.power)
    )
