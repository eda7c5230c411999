"""The execution output: one model, written by the Analyzer and read back by the report and the CLI.

Drop-in compatible with aws-lambda-power-tuning's output. Reading is tolerant where the report must
be: the reference tool's `stats` items carry only `value`, `averagePrice` and `averageDuration`, so a
figure an item lacks stays None (the report shows "—", not a made-up 0); an output without `stats`
(includeOutputResults false) gets its sizes, average durations and average costs from the
visualization link, which every output carries. Saved files get edited by hand: what is not an
output raises ResultFormatError naming what is wrong. Each size's item: `size_stats.SizeStats`; the
value parsers they share: `wire`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Self
from urllib.parse import parse_qs, urlparse

from powertuning.cold_starts import BLENDED, ColdStartRate
from powertuning.errors import ResultFormatError
from powertuning.size_stats import SizeStats, sizes_from_visualization
from powertuning.wire import Keys, finite_number, optional, read_keys, required, whole_number, written_keys


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
            max_duration_ms=required(data, "maxDurationMs", finite_number),
            value=required(data, "value", finite_number),
            meeting=tuple(
                (str(v["architecture"]), required(v, "value", whole_number))
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
        return written_keys(self, _STATEMENT) | {
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
            **read_keys(data, _STATEMENT),
            skipped_by_model=tuple(whole_number(v) for v in data.get("skippedByModel", [])),
            pick=optional(data, "pick", whole_number),
            not_separated=tuple(
                (required(s, "value", whole_number), optional(s, "withinPct", finite_number))
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
        needed = ("stateMachine",) if dry_run else ("power", "cost", "duration", "stateMachine")
        missing = [k for k in needed if k not in data]
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
            sizes = sizes_from_visualization(visualization)
        try:
            skipped = [
                (
                    optional(s, "architecture", str),
                    required(s, "value", whole_number),
                    str(s.get("reason") or ""),
                )
                for s in data.get("skipped", [])
            ]
            return cls(
                power=0 if dry_run else required(data, "power", whole_number),
                cost=0.0 if dry_run else required(data, "cost", finite_number),
                duration=0.0 if dry_run else required(data, "duration", finite_number),
                execution_cost=optional(machine, "executionCost", finite_number) or 0.0,
                lambda_cost=optional(machine, "lambdaCost", finite_number) or 0.0,
                visualization=visualization,
                sizes=sizes,
                include_stats=bool(stats),
                skipped=tuple((v, r) for a, v, r in skipped if a is None),
                skipped_on=tuple((a, v, r) for a, v, r in skipped if a is not None),
                architecture=optional(data, "architecture", str),
                visualizations={str(k): str(v) for k, v in (machine.get("visualizations") or {}).items()},
                constraint=optional(data, "constraint", Constraint.from_dict),
                confidence=optional(data, "confidence", Confidence.from_dict),
                cold_start=optional(data, "coldStart", ColdStartRate.from_dict),
                init_share=optional(data.get("coldStart") or {}, "initShare", finite_number),
                cold_start_unavailable=optional(data, "coldStartUnavailable", str),
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
