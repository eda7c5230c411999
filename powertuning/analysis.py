"""Turn measurements into per-size results and pick the memory size a strategy recommends."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from powertuning import stats
from powertuning.inputs import TuningRequest
from powertuning.logs import Report
from powertuning.output import Constraint, TuningOutput
from powertuning.pricing import LambdaPrice, currency, step_functions_cost
from powertuning.size_result import SizeResult
from powertuning.size_stats import SizeStats
from powertuning.visualization import DEFAULT_VISUALIZATION_URL, Point, build_url


def summarize(
    value: int,
    reports: Sequence[Report],
    price: LambdaPrice,
    discard_top_bottom: float,
    *,
    errors: int = 0,
    transitions: int = 1,
) -> SizeResult:
    """Per-size result from the REPORT records of its invocations.

    As in aws-lambda-power-tuning v4.4.0: the average duration is the trimmed mean of each
    invocation's Duration + Init + Restore Duration, and the average price is trimmed on its own
    (the reference trims billed durations separately from durations). The price is the mean of
    per-invocation costs (`LambdaPrice.invocation_cost`), where the reference prices the mean billed
    duration rounded up to 1 ms: the mean of what each invocation was billed is what one costs.
    """
    durations = [r.measured_duration_ms for r in reports]
    costs = [price.invocation_cost(r.billed_total_ms, value) for r in reports]
    # Yuen's squared standard errors: how far each average may be from the size's true one.
    price_noise = stats.yuen(costs or [0.0], discard_top_bottom)
    duration_noise = stats.yuen(durations or [0.0], discard_top_bottom)
    noisy = price_noise.kept >= 2
    return SizeResult(
        value=value,
        average_price=stats.trimmed_mean(costs, discard_top_bottom),
        average_duration=stats.trimmed_mean(durations, discard_top_bottom),
        total_cost=sum(costs),
        p50=stats.percentile(durations, 50),
        p90=stats.percentile(durations, 90),
        p95=stats.percentile(durations, 95),
        p99=stats.percentile(durations, 99),
        invocations=len(reports),
        cold_starts=sum(1 for r in reports if r.is_cold_start),
        errors=errors,
        gb_seconds=sum(price.gb_seconds(r.billed_total_ms, value) for r in reports),
        transitions=transitions,
        price_variance=price_noise.variance if noisy else None,
        duration_variance=duration_noise.variance if noisy else None,
        kept_invocations=price_noise.kept if noisy else None,
    )


def discard_for(request: TuningRequest) -> float:
    """The `discardTopBottom` a run trims with: 0 with onlyColdStarts, as the reference does.

    Every invocation of a cold-start run is a cold start on its own version; trimming would only
    throw measurements away.
    """
    return 0.0 if request.only_cold_starts else request.discard_top_bottom


def _balanced_score(result: SizeResult, weight: float, max_cost: float, max_duration: float) -> float:
    # aws-lambda-power-tuning's formula: weight 1 = cheapest, 0 = fastest, each normalised by its max.
    cost = result.average_price / max_cost if max_cost else 0.0
    duration = result.average_duration / max_duration if max_duration else 0.0
    return weight * cost + (1 - weight) * duration


def slot(result: SizeResult) -> int | tuple[str, int]:
    """What identifies a measurement: its size, or (architecture, size) with input `architectures`."""
    return result.value if result.architecture is None else (result.architecture, result.value)


def choose(
    results: Sequence[SizeResult],
    strategy: str,
    balanced_weight: float = 0.5,
    *,
    within: Collection[int | tuple[str, int]] | None = None,
) -> SizeResult:
    """The recommended size. Ties go to the better other objective, then to the smaller size.

    With input `architectures`, results of every architecture compete, each priced with its own
    architecture's price (powertuning.pricing); `within` then holds (architecture, size) pairs.

    `within` (the sizes that meet a latency target) limits the choice without changing the scores:
    balanced normalises by the largest cost and duration of every size measured, so a size's score
    does not depend on the target.
    """
    candidates = [r for r in results if not r.skipped and r.invocations > 0]
    if not candidates:
        raise ValueError("no memory size has a measurement to choose from")
    eligible = candidates if within is None else [r for r in candidates if slot(r) in within]
    if not eligible:
        raise ValueError("no memory size to choose from meets the target")
    if strategy == "cost":
        return min(
            eligible, key=lambda r: (r.average_price, r.average_duration, r.value, r.architecture or "")
        )
    if strategy == "speed":
        return min(
            eligible, key=lambda r: (r.average_duration, r.average_price, r.value, r.architecture or "")
        )
    if strategy == "balanced":
        max_cost = max(r.average_price for r in candidates)
        max_duration = max(r.average_duration for r in candidates)
        return min(
            eligible,
            key=lambda r: (
                _balanced_score(r, balanced_weight, max_cost, max_duration),
                r.average_price,
                r.value,
                r.architecture or "",
            ),
        )
    raise ValueError(f"unknown strategy {strategy!r}")


def choose_survivor(
    results: Sequence[SizeResult], survivors: Collection[int], strategy: str, balanced_weight: float
) -> SizeResult:
    """The recommended size among an adaptive race's `survivors`, scored among every size measured.

    Balanced normalises by the largest cost and duration of every size measured (as the race does),
    not of the survivors alone, which would shift the weights of cost and speed with whichever
    sizes the race happened to keep.
    """
    within = {slot(r) for r in results if r.value in survivors}
    return choose(results, strategy, balanced_weight, within=within)


@dataclass(frozen=True)
class LatencyTarget:
    """`maxDurationMs` and `durationStatistic`: the recommendation's statistic must be at most the limit."""

    max_duration_ms: float
    statistic: str = "average"

    def meets(self, result: SizeResult) -> bool:
        """Whether a measured size meets the target."""
        return result.statistic(self.statistic) <= self.max_duration_ms


def _slot_order(key: int | tuple[str, int]) -> tuple[int, str]:
    return (key, "") if isinstance(key, int) else (key[1], key[0])


def choose_within_target(
    results: Sequence[SizeResult], strategy: str, balanced_weight: float, target: LatencyTarget
) -> tuple[SizeResult, Constraint]:
    """The size a strategy recommends under a latency target, and whether the target is met.

    `cost` and `balanced` choose among the sizes that meet it; `speed` ignores it (the fastest size
    by average, as always). When no size meets it, the size that comes closest (smallest statistic;
    then cheaper, then smaller) is recommended and the outcome says `met: false`.
    """
    candidates = [r for r in results if not r.skipped and r.invocations > 0]
    meeting = tuple(sorted((slot(r) for r in candidates if target.meets(r)), key=_slot_order))
    if strategy == "speed":
        best = choose(candidates, strategy, balanced_weight)
    elif meeting:
        best = choose(candidates, strategy, balanced_weight, within=meeting)
    else:
        best = min(candidates, key=lambda r: (r.statistic(target.statistic), r.average_price, r.value))
    value = best.statistic(target.statistic)
    return best, Constraint(target.meets(best), target.statistic, target.max_duration_ms, value, meeting)


def count_transitions(publisher_calls: int, results: Sequence[SizeResult]) -> int:
    """State transitions of a fixed-sampling execution of statemachine/power_tuning.asl.json.

    Initializer 1, Publisher and its Choice once per size, the Map state 1, each size's own
    (every Executor attempt and the Choice after it, then the Pass that ends the iteration; retries
    count, as AWS bills them), Cleaner, Analyzer and Optimizer 3.
    """
    return 1 + 2 * publisher_calls + 1 + sum(r.transitions for r in results) + 3


def count_adaptive_transitions(
    publisher_calls: int, decisions: int, rounds: int, results: Sequence[SizeResult]
) -> int:
    """State transitions of an adaptive-sampling execution (`sampling: "adaptive"`).

    Initializer 1, Publisher and its Choice once per size (sizes "auto" adds come through the same
    loop), the decision task and its Choice once per decision, the Map state once per round, each
    size's own, Cleaner, Analyzer and Optimizer 3.
    """
    return 1 + 2 * publisher_calls + 2 * decisions + rounds + sum(r.transitions for r in results) + 3


def recommend(
    results: Sequence[SizeResult],
    *,
    strategy: str,
    balanced_weight: float,
    region: str,
    transitions: int,
    include_stats: bool,
    visualization_url: str = DEFAULT_VISUALIZATION_URL,
    candidates: Sequence[int] | None = None,
    target: LatencyTarget | None = None,
) -> TuningOutput:
    """Choose a size (among `candidates` if given: an adaptive race's survivors; meeting `target` if
    given) and price the run."""
    eligible = results if candidates is None else [r for r in results if r.value in candidates]
    constraint = None
    if target is None:
        best = (
            choose(results, strategy, balanced_weight)
            if candidates is None
            else choose_survivor(results, candidates, strategy, balanced_weight)
        )
    else:
        best, constraint = choose_within_target(eligible, strategy, balanced_weight, target)
    measured = [r for r in results if not r.skipped and r.invocations > 0]

    def link(architecture: str | None) -> str:
        # The reference tool draws one curve a link: one link per architecture.
        curve = [r for r in measured if r.architecture == architecture]
        return build_url(
            [Point(r.value, r.average_duration, r.average_price) for r in curve],
            visualization_url,
            currency(region),
        )

    architectures = sorted({r.architecture for r in measured if r.architecture is not None})
    ordered = sorted(results, key=lambda r: _slot_order(slot(r)))
    skipped = [r for r in ordered if r.skipped]
    return TuningOutput(
        power=best.value,
        cost=best.average_price,
        duration=best.average_duration,
        execution_cost=round(step_functions_cost(transitions, region), 8),
        lambda_cost=sum(r.total_cost for r in results),
        visualization=link(best.architecture),
        # The output's stats item is the measured SizeResult's wire form (size_stats.SizeStats).
        sizes=tuple(SizeStats.from_dict(r.to_dict()) for r in ordered if not r.skipped),
        include_stats=include_stats,
        skipped=tuple((r.value, r.reason or "") for r in skipped if r.architecture is None),
        skipped_on=tuple((r.architecture, r.value, r.reason or "") for r in skipped if r.architecture),
        constraint=constraint,
        architecture=best.architecture,
        visualizations={a: link(a) for a in architectures} if best.architecture is not None else {},
    )
