"""Adaptive sampling: measure memory sizes in rounds and stop once one of them is the best.

The decision code of `sampling: "adaptive"`, shared by the state machine (the Analyzer's adaptive
step) and by benchmarks/exploration.py. Pure: no boto3, no clock, no randomness.

Method: a race with an indifference zone (racing: Maron & Moore 1994; indifference-zone selection:
Bechhofer 1954; the (epsilon, delta)-PAC elimination of Even-Dar, Mannor & Mansour 2002). Every
remaining size gets a small batch of invocations per round. Each size's objective (cost, duration or
the balanced score of each invocation) is estimated by the same `discardTopBottom` trimmed mean the
Analyzer reports, with Yuen's (1974) standard error from the winsorized variance, so heavy tails
neither drag the estimate nor make it look surer than it is. A size is dropped once, at the chosen
`confidence` (Bonferroni over the sizes in the race), it cannot be better than the leader by more
than `tolerance`. The race ends when one size is left or every size has had `num` invocations.

Lambda-specific parts: the first invocation of a freshly published version is a cold start and says
little about the steady state, so cold starts are left out of a size's estimate when most of its
invocations were warm (the reference tool trims them away the same way once num >= 5). Durations
vary multiplicatively, so the spread relative to the mean is pooled across sizes (same code, same
payload) and used as a floor under each size's own spread: two lucky close samples do not make a
size look certain.

`powerValues: "auto"` searches AUTO_GRID (geometric steps; CPU is proportional to memory, so equal
ratios matter equally) from a coarse ladder, then refines around the leader, guided by what holds on
Lambda: more memory never makes a function slower (so `speed` never looks below the leader), and a
bigger size is cheaper only if speed-up is super-linear (so `cost` looks above the leader only when
cost was still falling towards it). Only measured sizes can be recommended.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from powertuning.analysis import choose, discard_for, summarize
from powertuning.logs import Report
from powertuning.models import (
    AUTO_GRID,
    DEFAULT_CONFIDENCE,
    DEFAULT_TOLERANCE,
    PublishState,
    SizeResult,
    TuningConfig,
    TuningRequest,
)
from powertuning.pricing import (
    FREE_EPHEMERAL_STORAGE_MB,
    MAX_MEMORY_MB,
    MB_PER_VCPU,
    MIN_MEMORY_MB,
    LambdaPrice,
    lambda_price,
)

INITIAL_BATCH: Final = 3
MIN_BATCH: Final = 2
# Each round adds half the samples a size already has: early rounds stay cheap, late rounds few.
GROWTH: Final = 0.5
# First probes of "auto": every fourth grid size (a factor of about 4 apart).
AUTO_LADDER_STEP: Final = 4

Sample = tuple[float, float, float]
"""One invocation as its REPORT record saw it: (Duration ms, billed ms incl. INIT and restore,
Init + Restore Duration ms). Its measured duration is the first plus the third, as in `Report`."""


# -- state -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SizeSamples:
    """Everything measured at one memory size so far."""

    value: int
    samples: tuple[Sample, ...] = ()
    transitions: int = 0
    errors: int = 0
    skipped: bool = False
    reason: str | None = None

    @property
    def count(self) -> int:
        """Invocations made at this size."""
        return len(self.samples)

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form; samples as `[duration, billed, init]` triples."""
        out: dict[str, Any] = {
            "value": self.value,
            "samples": [list(s) for s in self.samples],
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
            samples=tuple(_sample(s) for s in data.get("samples", [])),
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
    rounds: int = 0
    decisions: int = 0
    done: bool = False
    reason: str = ""

    def size(self, value: int) -> SizeSamples:
        """The samples of one size (empty if never measured)."""
        return next((s for s in self.sizes if s.value == value), SizeSamples(value))

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
            rounds=int(data.get("rounds", 0)),
            decisions=int(data.get("decisions", 0)),
            done=bool(data.get("done", False)),
            reason=str(data.get("reason", "")),
        )


def _sample(raw: Sequence[Any]) -> Sample:
    duration, billed, init = [*raw, 0.0, 0.0][:3]
    return (float(duration), float(billed), float(init))


@dataclass(frozen=True)
class Settings:
    """What the decision depends on: strategy, robustness, confidence, budget and prices."""

    strategy: str = "cost"
    balanced_weight: float = 0.5
    discard_top_bottom: float = 0.2
    confidence: float = DEFAULT_CONFIDENCE
    tolerance: float = DEFAULT_TOLERANCE
    max_per_size: int = 50
    price: LambdaPrice = field(default_factory=lambda: lambda_price("us-east-1"))
    auto: bool = False
    max_memory: int = MAX_MEMORY_MB

    @classmethod
    def from_request(
        cls, request: TuningRequest, architecture: str, ephemeral_storage_mb: int = FREE_EPHEMERAL_STORAGE_MB
    ) -> Settings:
        """Settings of an execution: its input and the function's region, architecture and storage."""
        return cls(
            strategy=request.strategy,
            balanced_weight=request.balanced_weight,
            discard_top_bottom=discard_for(request),
            confidence=request.confidence,
            tolerance=request.tolerance,
            max_per_size=request.invocations_per_size,
            price=lambda_price(request.function.region, architecture, ephemeral_storage_mb),
            auto=request.auto_power_values,
        )


# -- estimates ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A size's estimated objective: trimmed mean, Yuen's squared standard error, degrees of freedom."""

    value: int
    mean: float
    variance: float
    df: float
    count: int
    kept: int


def kept_samples(samples: Sequence[Sample]) -> list[Sample]:
    """The samples a size is judged on: all but a cold first invocation (unless all are cold).

    A freshly published version always starts cold; later cold starts are the function's own.
    """
    if len(samples) > 1 and samples[0][2] > 0 and any(s[2] <= 0 for s in samples):
        return list(samples[1:])
    return list(samples)


def _cost(sample: Sample, value: int, price: LambdaPrice) -> float:
    return price.invocation_cost(sample[1], value)


def _duration(sample: Sample) -> float:
    # Duration + Init + Restore Duration: `Report.measured_duration_ms`, the Analyzer's figure.
    return sample[0] + sample[2]


def _objective_values(
    value: int, samples: Sequence[Sample], settings: Settings, norms: tuple[float, float]
) -> list[float]:
    if settings.strategy == "cost":
        return [_cost(s, value, settings.price) for s in samples]
    if settings.strategy == "speed":
        return [_duration(s) for s in samples]
    # aws-lambda-power-tuning's balanced score, per invocation: linear, so its mean is the score.
    max_cost, max_duration = norms
    weight = settings.balanced_weight
    return [
        weight * (_cost(s, value, settings.price) / max_cost if max_cost else 0.0)
        + (1 - weight) * (_duration(s) / max_duration if max_duration else 0.0)
        for s in samples
    ]


def _trimmed_estimate(value: int, values: Sequence[float], gamma: float) -> Estimate:
    # Yuen (1974): trimmed mean with squared standard error (n-1) s_w^2 / (h (h-1)), where s_w is the
    # standard deviation of the winsorized sample and h the number of values kept.
    ordered = sorted(values)
    n = len(ordered)
    cut = math.floor(n * gamma)
    if n - 2 * cut < 2:
        cut = max(0, (n - 2) // 2)
    kept = ordered[cut : n - cut]
    h = len(kept)
    mean = sum(kept) / h
    if h < 2:
        return Estimate(value, mean, math.inf, 0.0, n, h)
    winsorized = [ordered[cut]] * cut + kept + [ordered[n - cut - 1]] * cut
    w_mean = sum(winsorized) / n
    s2 = sum((x - w_mean) ** 2 for x in winsorized) / (n - 1)
    return Estimate(value, mean, (n - 1) * s2 / (h * (h - 1)), float(h - 1), n, h)


def _norms(state: AdaptiveState, settings: Settings) -> tuple[float, float]:
    # Normalisers of the balanced score: the largest mean cost and duration measured (as `choose`).
    costs, durations = [], []
    for size in state.sizes:
        kept = kept_samples(size.samples)
        if kept and not size.skipped:
            gamma = settings.discard_top_bottom
            costs.append(_trimmed_mean([_cost(s, size.value, settings.price) for s in kept], gamma))
            durations.append(_trimmed_mean([_duration(s) for s in kept], gamma))
    return (max(costs, default=0.0), max(durations, default=0.0))


def _trimmed_mean(values: Sequence[float], gamma: float) -> float:
    return _trimmed_estimate(0, values, gamma).mean


def estimates(state: AdaptiveState, settings: Settings) -> dict[int, Estimate]:
    """Estimated objective of every candidate with samples (lower is better).

    The spread is pooled: the relative variance of one invocation, averaged over every measured
    size weighted by degrees of freedom (a pooled-variance t test on the relative scale, since
    durations vary multiplicatively), so two or three samples per size already carry the degrees
    of freedom of all of them. A size whose own spread is larger (a heavier tail, or an outlier
    among few samples) keeps its own spread and its own degrees of freedom (Welch): it is never
    judged surer than its own samples allow.
    """
    norms = _norms(state, settings)
    own: dict[int, Estimate] = {}
    for size in state.sizes:
        kept = kept_samples(size.samples)
        if kept and not size.skipped:
            values = _objective_values(size.value, kept, settings, norms)
            own[size.value] = _trimmed_estimate(size.value, values, settings.discard_top_bottom)
    pool = [(e.df, e.variance * e.kept / e.mean**2) for e in own.values() if e.df > 0 and e.mean > 0]
    pooled_df = sum(df for df, _ in pool)
    relative = sum(df * v for df, v in pool) / pooled_df if pooled_df else math.inf
    out = {}
    for value in state.candidates:
        if value in own:
            e = own[value]
            pooled = relative * e.mean**2 / e.kept
            out[value] = replace(e, variance=pooled, df=pooled_df) if pooled >= e.variance else e
    return out


# -- the race ----------------------------------------------------------------------------------------


def start(sizes: Sequence[int], settings: Settings) -> AdaptiveState:
    """The first round: every size gets the initial batch."""
    state = AdaptiveState(candidates=tuple(sizes), sizes=tuple(SizeSamples(v) for v in sizes))
    return replace(state, batch=_batch(state, settings))


def record(state: AdaptiveState, results: Sequence[SizeResult]) -> AdaptiveState:
    """Add one round's results (the Executor's, with their samples) to the state."""
    by_value = {s.value: s for s in state.sizes}
    for result in results:
        size = by_value.get(result.value, SizeSamples(result.value))
        by_value[result.value] = replace(
            size,
            samples=size.samples + tuple(result.samples),
            transitions=size.transitions + result.transitions,
            errors=size.errors + result.errors,
            skipped=size.skipped or result.skipped,
            reason=result.reason if result.skipped else size.reason,
        )
    skipped = {v for v, s in by_value.items() if s.skipped}
    return replace(
        state,
        sizes=tuple(sorted(by_value.values(), key=lambda s: s.value)),
        candidates=tuple(v for v in state.candidates if v not in skipped),
        rounds=state.rounds + (1 if results else 0),
    )


def decide(state: AdaptiveState, settings: Settings) -> AdaptiveState:
    """Drop the sizes that cannot win, then plan the next round, ask for new sizes, or stop."""
    state = replace(state, batch=())
    if not state.candidates:
        return replace(state, done=True, reason="no size could be measured")
    state = eliminate(state, settings)
    if len(state.candidates) > 1:
        batch = _batch(state, settings)
        if batch:
            return replace(state, batch=batch)
    if settings.auto:
        proposals = propose(state, settings)
        if proposals:
            return replace(state, pending=proposals)
    reason = "separated" if len(state.candidates) == 1 else "budget"
    return replace(state, done=True, reason=reason)


def eliminate(state: AdaptiveState, settings: Settings) -> AdaptiveState:
    """Drop every candidate that, at the chosen confidence, cannot beat the leader by more than tolerance."""
    est = estimates(state, settings)
    if len(est) < 2 or len(est) < len(state.candidates):
        return state
    leader = min(est.values(), key=lambda e: (e.mean, e.value))
    # Bonferroni: the confidence holds for all comparisons of this round together.
    alpha = (1 - settings.confidence) / (len(est) - 1)
    dropped = []
    for e in est.values():
        if e.value == leader.value:
            continue
        variance = e.variance + leader.variance
        if not math.isfinite(variance):
            continue
        df = _welch_df(e, leader)
        lower = e.mean - leader.mean - t_quantile(1 - alpha, df) * math.sqrt(variance)
        if lower > -settings.tolerance * leader.mean:
            dropped.append(e.value)
    return replace(
        state,
        candidates=tuple(v for v in state.candidates if v not in dropped),
        eliminated=state.eliminated + tuple(dropped),
    )


def _welch_df(a: Estimate, b: Estimate) -> float:
    # Welch-Satterthwaite degrees of freedom of a difference of two means.
    if a.df <= 0 or b.df <= 0:
        return 1.0
    num = (a.variance + b.variance) ** 2
    den = a.variance**2 / a.df + b.variance**2 / b.df
    return max(1.0, num / den) if den > 0 else min(a.df, b.df)


def _batch(state: AdaptiveState, settings: Settings) -> tuple[BatchItem, ...]:
    items = []
    for value in state.candidates:
        done = state.size(value).count
        left = settings.max_per_size - done
        kept = len(kept_samples(state.size(value).samples))
        if done == 0:
            wanted = INITIAL_BATCH
        elif kept < 2:
            wanted = 2 - kept
        else:
            wanted = max(MIN_BATCH, math.ceil(done * GROWTH))
        if left > 0:
            items.append(BatchItem(value, min(wanted, left), done))
    return tuple(items)


# -- powerValues "auto" -----------------------------------------------------------------------------


def auto_grid(max_memory: int = MAX_MEMORY_MB) -> tuple[int, ...]:
    """Sizes "auto" may try, up to `max_memory`."""
    return tuple(m for m in AUTO_GRID if MIN_MEMORY_MB <= m <= max_memory)


def auto_initial_sizes(max_memory: int = MAX_MEMORY_MB) -> tuple[int, ...]:
    """First probes of "auto": a coarse ladder up to 1 vCPU; larger sizes only when the data asks."""
    grid = auto_grid(max_memory)
    ladder = [m for i, m in enumerate(grid) if i % AUTO_LADDER_STEP == 0 and m <= MB_PER_VCPU]
    if grid and max_memory < MB_PER_VCPU and grid[-1] not in ladder:
        ladder.append(grid[-1])
    return tuple(ladder)


def propose(state: AdaptiveState, settings: Settings) -> tuple[int, ...]:
    """Unmeasured grid sizes that could beat the leader; empty when the search is over."""
    measured = sorted(s.value for s in state.sizes if s.count or s.skipped)
    est = estimates(replace(state, candidates=tuple(measured)), settings)
    if not est or not state.candidates:
        return ()
    leader = min((est[v] for v in state.candidates if v in est), key=lambda e: (e.mean, e.value))
    limit = min(state.unavailable, default=settings.max_memory + 1) - 1
    grid = auto_grid(min(settings.max_memory, limit))
    lower = [v for v in measured if v < leader.value and v in est]
    upper = [v for v in measured if v > leader.value]
    # Did the objective still improve, surely and by more than the tolerance, from the next smaller size?
    falling = bool(lower) and _surely_worse(est[lower[-1]], leader, settings)
    out = []
    if settings.strategy != "speed":
        # Less memory is never faster, but with at most proportionally less CPU it is never dearer
        # either: for cost (and balanced) the answer may lie below the leader.
        out.append(_between(grid, lower[-1] if lower else None, leader.value))
    if upper:
        # A bigger size is cheaper only with a super-linear speed-up: look there for cost only if
        # cost was still falling into the leader.
        if settings.strategy != "cost" or falling:
            out.append(_between(grid, leader.value, upper[0]))
    elif falling or not lower:
        # Past the largest size measured: only while it still improves (no plateau reached yet).
        above = [m for m in grid if m > leader.value]
        out.append(above[min(len(above), AUTO_LADDER_STEP // 2) - 1] if above else None)
    return tuple(sorted({m for m in out if m is not None and m not in measured}))


def _surely_worse(a: Estimate, b: Estimate, settings: Settings) -> bool:
    # a is worse than b by more than the tolerance, at the chosen confidence.
    variance = a.variance + b.variance
    if not math.isfinite(variance):
        return False
    margin = t_quantile(settings.confidence, _welch_df(a, b)) * math.sqrt(variance)
    return a.mean - b.mean - margin > settings.tolerance * b.mean


def _between(grid: Sequence[int], low: int | None, high: int) -> int | None:
    inside = [m for m in grid if (low is None or m > low) and m < high]
    return inside[len(inside) // 2] if inside else None


def admit(state: AdaptiveState, published: Sequence[int], settings: Settings) -> AdaptiveState:
    """Enter the pending sizes the Publisher published into the race; remember those it refused.

    The Publisher leaves out sizes above the account's memory limit, which are never asked again.
    """
    refused = tuple(v for v in state.pending if v not in published)
    new = [v for v in state.pending if v in published and v not in {s.value for s in state.sizes}]
    state = replace(
        state,
        candidates=tuple(sorted(set(state.candidates) | set(new))),
        sizes=tuple(sorted(state.sizes + tuple(SizeSamples(v) for v in new), key=lambda s: s.value)),
        pending=(),
        unavailable=state.unavailable + refused,
    )
    fresh = replace(state, candidates=tuple(new))
    return replace(state, batch=_batch(fresh, settings))


# -- the outcome -------------------------------------------------------------------------------------


def size_results(state: AdaptiveState, settings: Settings) -> list[SizeResult]:
    """`$.stats` of an adaptive run: each size's totals from every invocation, averages from the kept ones."""
    out = []
    for size in state.sizes:
        if size.skipped:
            out.append(
                SizeResult(
                    value=size.value, skipped=True, reason=size.reason, transitions=size.transitions or 1
                )
            )
            continue
        if not size.samples:
            continue
        every = summarize(
            size.value,
            [_report(size.value, s) for s in size.samples],
            settings.price,
            settings.discard_top_bottom,
            errors=size.errors,
            transitions=size.transitions,
        )
        kept = summarize(
            size.value,
            [_report(size.value, s) for s in kept_samples(size.samples)],
            settings.price,
            settings.discard_top_bottom,
        )
        out.append(replace(every, average_price=kept.average_price, average_duration=kept.average_duration))
    return out


def _report(value: int, sample: Sample) -> Report:
    duration, billed, init = sample
    return Report(
        duration_ms=duration, billed_duration_ms=billed, memory_size_mb=value, init_duration_ms=init
    )


def batch_result(
    value: int,
    reports: Sequence[Report],
    price: LambdaPrice,
    discard_top_bottom: float,
    *,
    errors: int = 0,
    transitions: int = 1,
) -> SizeResult:
    """What the Executor returns for one adaptive batch: its summary plus every invocation's figures."""
    result = summarize(value, reports, price, discard_top_bottom, errors=errors, transitions=transitions)
    samples = tuple(
        (_small(r.duration_ms), _small(r.billed_total_ms), _small(r.init_duration_ms + r.restore_duration_ms))
        for r in reports
    )
    return replace(result, samples=samples)


def _small(ms: float) -> float:
    # 0.01 ms, and whole numbers as integers: the execution state (256 KB at most) holds every sample.
    value = round(ms, 2)
    return int(value) if value.is_integer() else value


def confidence_statement(state: AdaptiveState, settings: Settings) -> dict[str, Any]:
    """How sure a finished race is of its pick: the sizes it could not separate from it, and by how much.

    `pick` is what the Analyzer recommends: `choose` over the sizes left in the race. Every other
    size left in the race is `notSeparated`, with `withinPct`: how much better than the pick it could
    still be, the one-sided Student-t bound of the race's own comparison (the same estimates, pooled
    spread and Welch degrees of freedom) at `confidence`, Bonferroni over those sizes; `null` when
    it has too few samples to compare. The sizes the race dropped could not beat the leader by more
    than `tolerance` at `confidence` when they were dropped. JSON-able; `text` says it in one line.
    """
    confidence, tolerance = settings.confidence, settings.tolerance
    base: dict[str, Any] = {
        "strategy": settings.strategy,
        "confidence": confidence,
        "tolerancePct": _pct(tolerance),
        "reason": state.reason,
    }
    survivors = [r for r in size_results(state, settings) if r.value in state.candidates and not r.skipped]
    if not survivors:
        return {**base, "pick": None, "notSeparated": [], "text": "no size could be measured"}
    pick = choose(survivors, settings.strategy, settings.balanced_weight).value
    others = [r.value for r in survivors if r.value != pick]
    est = estimates(replace(state, candidates=tuple(r.value for r in survivors)), settings)
    alpha = (1 - confidence) / max(1, len(others))
    not_separated: list[dict[str, Any]] = []
    for value in others:
        within = None
        if value in est and pick in est:
            a, b = est[value], est[pick]
            variance = a.variance + b.variance
            if math.isfinite(variance) and b.mean > 0:
                lower = a.mean - b.mean - t_quantile(1 - alpha, _welch_df(a, b)) * math.sqrt(variance)
                within = _pct(max(0.0, -lower / b.mean))
        not_separated.append({"value": value, "withinPct": within})
    level = f"{_pct(confidence):g}%"
    if not not_separated:
        better = f"more than {_pct(tolerance):g}% " if tolerance > 0 else ""
        text = f"{pick} MB; no other size measured is {better}better at {level}"
    else:
        parts = [
            f"{s['value']} MB is within {s['withinPct']:g}%"
            if s["withinPct"] is not None
            else f"{s['value']} MB has too few samples to compare"
            for s in not_separated
        ]
        text = f"{pick} MB; {', '.join(parts)} at {level}"
    return {**base, "pick": pick, "notSeparated": not_separated, "text": text}


def _pct(fraction: float) -> float:
    return round(fraction * 100, 1)


# -- the state machine step --------------------------------------------------------------------------


def advance_execution(state: Mapping[str, Any]) -> dict[str, Any]:
    """The adaptive decision step: the execution state in, its own path `$.adaptive` out.

    First call: start the race on the published sizes. After a round: record `$.round` (the
    round's results) and decide. After the Publisher added sizes the race asked for: admit them.
    `batch` feeds the next round's Map, `publishPending` sends new "auto" sizes to the Publisher,
    and `done` ends the race; the Analyzer reads the results from the race itself.
    """
    request = TuningRequest.from_dict(state["request"])
    config = TuningConfig.from_dict(state["run"])
    published = PublishState.from_dict(state["publish"]).published
    settings = Settings.from_request(request, config.architecture, config.ephemeral_storage_mb)
    if state.get("adaptive") is None:
        current = start(published, settings)
    else:
        current = AdaptiveState.from_dict(state["adaptive"])
        if current.pending:
            current = admit(current, published, settings)
            if not current.batch:
                current = decide(current, settings)
        else:
            results = [SizeResult.from_dict(item) for item in state.get("round") or []]
            current = decide(record(current, results), settings)
    return replace(current, decisions=current.decisions + 1).to_dict()


def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t distribution (df rounded down to 0.1: slightly conservative, cacheable)."""
    return _t_quantile(p, math.floor(df * 10) / 10)


@functools.lru_cache(maxsize=4096)
def _t_quantile(p: float, df: float) -> float:
    # Bisection on the CDF, which comes from the regularized incomplete beta function.
    if df <= 0:
        return math.inf
    low, high = -1e4, 1e4
    for _ in range(200):
        mid = (low + high) / 2
        if _t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-10:
            break
    return (low + high) / 2


def _t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _betainc(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t > 0 else tail


def _betainc(a: float, b: float, x: float) -> float:
    # Regularized incomplete beta I_x(a, b) by Lentz's continued fraction (Numerical Recipes 6.4).
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x > (a + 1) / (a + b + 2):
        return 1 - _betainc(b, a, 1 - x)
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < 1e-14:
            break
    return front * h / a
