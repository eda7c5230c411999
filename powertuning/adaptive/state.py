"""The race's state (`$.adaptive` in the execution state) and `RaceSettings`, what a decision depends on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from powertuning import limits
from powertuning import samples as sample_store
from powertuning.analysis import discard_for
from powertuning.input_kinds import DEFAULT_CONFIDENCE, DEFAULT_TOLERANCE
from powertuning.inputs import TuningRequest
from powertuning.pricing import MAX_MEMORY_MB, LambdaPrice, lambda_price
from powertuning.run_state import RunState
from powertuning.samples import COMPACT_ABOVE, Sample


@dataclass(frozen=True)
class SizeSamples:
    """Everything measured at one memory size so far (samples compacted past a bound)."""

    value: int
    samples: tuple[Sample, ...] = ()
    transitions: int = 0
    errors: int = 0
    skipped: bool = False
    reason: str | None = None

    @property
    def count(self) -> int:
        """Invocations made at this size."""
        return sample_store.count(self.samples)

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form; samples as `[duration, billed, init(, weight)]`."""
        out: dict[str, Any] = {
            "value": self.value,
            "samples": [sample_store.to_wire(s) for s in self.samples],
            "transitions": self.transitions,
            "errors": self.errors,
        }
        if self.skipped:
            out.update(skipped=True, reason=self.reason)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SizeSamples:
        """Parse the wire form."""
        return cls(
            value=int(data["value"]),
            samples=tuple(sample_store.parse(s) for s in data.get("samples", [])),
            transitions=int(data.get("transitions", 0)),
            errors=int(data.get("errors", 0)),
            skipped=bool(data.get("skipped", False)),
            reason=data.get("reason"),
        )


@dataclass(frozen=True)
class BatchItem:
    """One item of the next round's Map: invoke `value` `count` times, from invocation `offset`."""

    value: int
    count: int
    offset: int

    def to_dict(self) -> dict[str, int]:
        """Wire form (the Map's item)."""
        return {"value": self.value, "count": self.count, "offset": self.offset}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchItem:
        """Parse the wire form."""
        return cls(int(data["value"]), int(data["count"]), int(data["offset"]))


@dataclass(frozen=True)
class AdaptiveState:
    """The race so far: `$.adaptive` in the state machine's state."""

    sizes: tuple[SizeSamples, ...] = ()
    candidates: tuple[int, ...] = ()
    eliminated: tuple[int, ...] = ()
    batch: tuple[BatchItem, ...] = ()
    pending: tuple[int, ...] = ()
    unavailable: tuple[int, ...] = ()
    # Listed sizes held back until the model has seen the first probes, or (cost, no fitted model)
    # until the walk reaches them (published, not invoked yet).
    reserve: tuple[int, ...] = ()
    # Listed sizes the model ruled out or a walk never reached: never invoked (no cold start spent).
    skipped_by_model: tuple[int, ...] = ()
    rounds: int = 0
    decisions: int = 0
    done: bool = False
    reason: str = ""

    def size(self, value: int) -> SizeSamples:
        """The samples of one size (empty if never measured)."""
        return next((s for s in self.sizes if s.value == value), SizeSamples(value))

    @property
    def tried(self) -> frozenset[int]:
        """Sizes measured or skipped (out of memory, refused): never to be asked for again."""
        return frozenset(s.value for s in self.sizes if s.count or s.skipped)

    @property
    def invocations(self) -> int:
        """Invocations made so far, every size."""
        return sum(s.count for s in self.sizes)

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form."""
        return {
            "sizes": [s.to_dict() for s in self.sizes],
            "candidates": list(self.candidates),
            "eliminated": list(self.eliminated),
            "batch": [b.to_dict() for b in self.batch],
            "pending": list(self.pending),
            "unavailable": list(self.unavailable),
            "reserve": list(self.reserve),
            "skippedByModel": list(self.skipped_by_model),
            "rounds": self.rounds,
            "decisions": self.decisions,
            "done": self.done,
            "reason": self.reason,
            # For the state machine's Choice: the Publisher has sizes to add before the next round.
            "publishPending": bool(self.pending),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AdaptiveState:
        """Parse the wire form."""
        return cls(
            sizes=tuple(SizeSamples.from_dict(s) for s in data.get("sizes", [])),
            candidates=tuple(int(v) for v in data.get("candidates", [])),
            eliminated=tuple(int(v) for v in data.get("eliminated", [])),
            batch=tuple(BatchItem.from_dict(b) for b in data.get("batch", [])),
            pending=tuple(int(v) for v in data.get("pending", [])),
            unavailable=tuple(int(v) for v in data.get("unavailable", [])),
            reserve=tuple(int(v) for v in data.get("reserve", [])),
            skipped_by_model=tuple(int(v) for v in data.get("skippedByModel", [])),
            rounds=int(data.get("rounds", 0)),
            decisions=int(data.get("decisions", 0)),
            done=bool(data.get("done", False)),
            reason=str(data.get("reason", "")),
        )


@dataclass(frozen=True)
class RaceSettings:
    """The race's settings: derived from the input (`TuningRequest`) and the run (`RunState`), never input.

    Not a fourth configuration: the decision code reads these few figures rather than the whole input
    and run, so the tests and the benchmark can race without an execution.
    """

    strategy: str = "cost"
    balanced_weight: float = 0.5
    discard_top_bottom: float = 0.2
    confidence: float = DEFAULT_CONFIDENCE
    tolerance: float = DEFAULT_TOLERANCE
    max_per_size: int = 50
    price: LambdaPrice = field(default_factory=lambda: lambda_price("us-east-1"))
    auto: bool = False
    max_memory: int = MAX_MEMORY_MB
    # Pool the sizes in one model of duration against memory (adaptive/model.py) to choose which
    # sizes to measure; False: the race alone measures every listed size.
    model: bool = True
    # Samples per size kept before merging (limits.sample_cap: what the state budget allows).
    sample_cap: int = COMPACT_ABOVE

    @classmethod
    def from_execution(cls, request: TuningRequest, run: RunState) -> RaceSettings:
        """The race's settings of an execution: its input, and its run's region, architecture and storage."""
        return cls(
            strategy=request.strategy,
            balanced_weight=request.balanced_weight,
            discard_top_bottom=discard_for(request),
            confidence=request.confidence,
            tolerance=request.tolerance,
            max_per_size=request.invocations_per_size,
            price=lambda_price(
                request.function.region,
                run.architecture,
                run.ephemeral_storage_mb,
                request.monthly_gb_seconds,
            ),
            auto=request.auto_power_values,
            sample_cap=limits.sample_cap(request, run),
        )
