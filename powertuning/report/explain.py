"""Why the recommended size won, in a sentence or two with the figures it was chosen on.

The strategies are the Analyzer's (powertuning/analysis.py): `cost` takes the lowest average
price, `speed` the shortest average duration, `balanced` the lowest score
`weight * price / highest price + (1 - weight) * duration / longest duration`, the reference
tool's formula.

With input `architectures` each size is an (architecture, size) pair: every pair is named with its
architecture, and the best pair on the other architecture is named when the runner-up is not on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from powertuning.report.result import TuningResult
from powertuning.report.units import ms, usd_per_invocation
from powertuning.size_stats import SizeStats


@dataclass(frozen=True)
class Explanation:
    """The cheapest and the fastest measured sizes, and sentences saying why the pick won."""

    cheapest: SizeStats
    fastest: SizeStats
    sentences: tuple[str, ...]


def _name(s: SizeStats) -> str:
    """A size, or an (architecture, size) pair: "512 MB" or "512 MB on arm64"."""
    return f"{s.value} MB on {s.architecture}" if s.architecture else f"{s.value} MB"


def _key(s: SizeStats) -> tuple[int, str]:
    return (s.value, s.architecture or "")


def _figures(s: SizeStats, *, name: str | None = None) -> str:
    return (
        f"{name or _name(s)} ({usd_per_invocation(s.average_price)} per invocation, {ms(s.average_duration)})"
    )


# cost and speed each rank on one figure: (the figure, its name, the best's word, the pick's claim).
_SINGLE_FIGURE: dict[str, tuple[str, str, str, str]] = {
    "cost": ("average_price", "cost", "cheapest", "lowest average cost per invocation"),
    "speed": ("average_duration", "duration", "fastest", "shortest average duration"),
}


def _more(value: float, reference: float) -> str:
    if reference <= 0:
        return ""
    return f", {(value / reference - 1) * 100:+.1f}%"


def balanced_score(size: SizeStats, weight: float, sizes: Sequence[SizeStats]) -> float:
    """The balanced strategy's score of a size among `sizes` (lower is better)."""
    max_price = max(s.average_price for s in sizes)
    max_duration = max(s.average_duration for s in sizes)
    price = size.average_price / max_price if max_price else 0.0
    duration = size.average_duration / max_duration if max_duration else 0.0
    return weight * price + (1 - weight) * duration


def explain(result: TuningResult) -> Explanation | None:
    """Why `result.power` was recommended; None when the result has no measured size."""
    skipped = {(v, "") for v, _ in result.skipped} | {(v, a) for a, v, _ in result.skipped_on}
    sizes = [s for s in result.sizes if _key(s) not in skipped]
    pick = result.recommended
    if not sizes or pick is None:
        return None
    cheapest = min(sizes, key=lambda s: (s.average_price, s.average_duration, _key(s)))
    fastest = min(sizes, key=lambda s: (s.average_duration, s.average_price, _key(s)))
    others = [s for s in sizes if _key(s) != _key(pick)]
    strategy = result.metadata.strategy
    out: list[str] = []
    target = result.constraint
    if target is not None:
        limit = f"{target.statistic} at most {ms(target.max_duration_ms)}"
        if not target.met and strategy != "speed":
            out.append(
                f"No size met the latency target ({limit}): {_name(pick)} came closest, "
                f"{target.statistic} {ms(target.value)}."
            )
            return Explanation(cheapest, fastest, tuple(out))
        if strategy == "cost":
            out.append(
                f"Strategy cost with a latency target ({limit}): {_name(pick)} is the cheapest size "
                f"that meets it ({target.statistic} {ms(target.value)})."
            )
            if _key(pick) != _key(cheapest):
                out.append(f"The cheapest size overall is {_figures(cheapest)}.")
            return Explanation(cheapest, fastest, tuple(out))
        verdict = "meets" if target.met else "does not meet"
        out.append(
            f"Latency target {limit}: {_name(pick)} {verdict} it ({target.statistic} {ms(target.value)})."
        )
    if strategy in ("cost", "speed") and _key(pick) != _key(cheapest if strategy == "cost" else fastest):
        # Adaptive sampling decides on trimmed per-invocation figures; the averages may disagree.
        out.append(f"Strategy {strategy} recommended {_name(pick)} from its own estimates.")
        strategy = None
    elif strategy in _SINGLE_FIGURE:
        figure, what, best, lowest = _SINGLE_FIGURE[strategy]
        out.append(f"Strategy {strategy}: {_name(pick)} has the {lowest}.")
        if others:
            runner = min(others, key=lambda s: (getattr(s, figure), _key(s)))
            out.append(
                f"The next {best} is {_figures(runner)}"
                f"{_more(getattr(runner, figure), getattr(pick, figure))} in {what}."
            )
            out.extend(_other_architecture(pick, runner, others, best=best, figure=figure, what=what))
    elif strategy == "balanced":
        weight = result.metadata.balanced_weight
        weight = 0.5 if weight is None else weight
        out.append(
            f"Strategy balanced with balancedWeight {weight:g}: each size scores {weight:g} * its cost "
            f"/ the highest cost + {1 - weight:g} * its duration / the longest duration; the lowest "
            f"score wins. {_name(pick)} scores {balanced_score(pick, weight, sizes):.3f}."
        )
        for name, s in (("cheapest", cheapest), ("fastest", fastest)):
            if _key(s) != _key(pick):
                out.append(f"The {name} size is {_figures(s)}, score {balanced_score(s, weight, sizes):.3f}.")
    elif result.metadata.strategy is None:
        out.append("The result does not say which strategy chose it.")
    if _key(pick) == _key(cheapest) == _key(fastest):
        out.append(f"{_name(pick)} is both the cheapest and the fastest size measured.")
    elif strategy in ("cost", "speed", None):
        name, s = ("fastest", fastest) if _key(pick) == _key(cheapest) else ("cheapest", cheapest)
        if _key(pick) not in (_key(cheapest), _key(fastest)):
            out.append(f"The cheapest size is {_figures(cheapest)}; the fastest is {_figures(fastest)}.")
        elif strategy is None:
            out.append(f"It is the {'cheapest' if name == 'fastest' else 'fastest'} size measured.")
            out.append(f"The {name} is {_figures(s)}.")
        else:
            out.append(f"For comparison, the {name} size is {_figures(s)}.")
    out.extend(_confidence(result))
    out += cold_start_notes(result)
    return Explanation(cheapest, fastest, tuple(out))


def cold_start_sentence(result: TuningResult) -> str | None:
    """Input `coldStartRate`: the rate, INIT's share of the pick's cost, and warm and cold apart.

    "At a 3.2% cold-start rate, INIT is 11% of this function's cost at 512 MB: warm $0.0000021,
    cold $0.0000148 per invocation (INIT 1,503 ms)." None for a run without a rate.
    """
    cold, pick = result.cold_start, result.recommended
    if cold is None or pick is None:
        return None
    source = ""
    if cold.source == "production":
        source = (
            f" (its own over {cold.start} to {cold.end}: {cold.cold_starts:,} cold starts in "
            f"{cold.invocations:,} invocations)"
        )
    share = "" if result.init_share is None else f", INIT is {result.init_share:.0%} of this function's cost"
    if not cold.init_billed:
        share = (
            f", INIT is not billed per invocation (provisioned concurrency on {', '.join(cold.provisioned)})"
        )
    text = f"At a {cold.rate:.1%} cold-start rate{source}{share} at {_name(pick)}"
    if pick.warm_price is not None and pick.cold_start_cost is not None:
        text += (
            f": warm {usd_per_invocation(pick.warm_price, result.currency)}, cold "
            f"{usd_per_invocation(pick.cold_start_cost, result.currency)} per invocation"
        )
        if pick.init_duration is not None:
            text += f" (INIT {ms(pick.init_duration)})"
    return text + "; each size's cost and duration are (1 - rate) x warm + rate x cold."


def cold_start_notes(result: TuningResult) -> list[str]:
    """Input `coldStartRate`: the sentence above, what a cold start was priced as (SnapStart,
    provisioned concurrency), and the sizes where no cold start was seen (priced warm)."""
    if result.cold_start_unavailable is not None:
        return [
            f"No cold-start rate: {result.cold_start_unavailable}; priced on warm invocations only "
            '(coldStartRate "production-if-available").'
        ]
    sentence = cold_start_sentence(result)
    cold = result.cold_start
    if sentence is None or cold is None:
        return []
    notes = [sentence]
    if cold.snap_start is not None or cold.provisioned:
        notes.append(f"Cold starts priced as: {cold.priced}.")
    if cold.provisioned and cold.init_billed:
        notes.append(
            f"Provisioned concurrency on {', '.join(cold.provisioned)}: invocations through it pay no INIT "
            "per invocation; tune that alias or version to price it so."
        )
    unseen = [_name(s) for s in result.sizes if s.no_cold_start_seen]
    if unseen:
        notes.append(
            f"No cold start seen at {', '.join(unseen)}: priced warm at the rate "
            "(its INIT is unknown; measure again, or more with coldStartsPerSize)."
        )
    return notes


def _other_architecture(
    pick: SizeStats,
    runner: SizeStats,
    others: Sequence[SizeStats],
    *,
    best: str,
    figure: str,
    what: str,
) -> list[str]:
    # Input `architectures`: when the runner-up is on the pick's architecture, the other
    # architecture's best is what a reader weighs the choice against.
    rivals = [
        s for s in others if s.architecture and s.architecture not in (pick.architecture, runner.architecture)
    ]
    if not pick.architecture or not rivals:
        return []
    rival = min(rivals, key=lambda s: (getattr(s, figure), _key(s)))
    return [
        f"The {best} on {rival.architecture} is {_figures(rival, name=f'{rival.value} MB')}"
        f"{_more(getattr(rival, figure), getattr(pick, figure))} in {what}."
    ]


def _confidence(result: TuningResult) -> list[str]:
    # sampling "adaptive": the race's own statement of how sure it is, and what it did not measure.
    confidence = result.confidence
    if confidence is None:
        return []
    out = [f"How sure: {confidence.text}."]
    if confidence.skipped_by_model:
        sizes = ", ".join(str(v) for v in confidence.skipped_by_model)
        out.append(f"Not measured, as the model of the measured sizes showed them clearly worse: {sizes} MB.")
    if confidence.cold_starts is not None:
        out.append(
            f"Cold starts spent: {confidence.cold_starts} (the first invocation of each size measured)."
        )
    return out
