"""What a finished race reports: each size's results, and how sure the race is of its pick."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from powertuning import samples as sample_store
from powertuning.adaptive.estimates import Estimate, estimates, kept_samples, lower_bound
from powertuning.adaptive.state import AdaptiveState, RaceSettings
from powertuning.analysis import choose_survivor, summarize
from powertuning.logs import Report
from powertuning.samples import Sample
from powertuning.size_result import SizeResult


def size_results(state: AdaptiveState, settings: RaceSettings) -> list[SizeResult]:
    """Per-size results of an adaptive run (the output's `stats`): totals from every invocation,
    averages from the kept ones."""
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
            _reports(size.value, size.samples),
            settings.price,
            settings.discard_top_bottom,
            errors=size.errors,
            transitions=size.transitions,
        )
        kept = summarize(
            size.value,
            _reports(size.value, kept_samples(size.samples)),
            settings.price,
            settings.discard_top_bottom,
        )
        out.append(replace(every, average_price=kept.average_price, average_duration=kept.average_duration))
    return out


def _reports(value: int, samples: tuple[Sample, ...] | list[Sample]) -> list[Report]:
    return [
        Report(duration_ms=duration, billed_duration_ms=billed, memory_size_mb=value, init_duration_ms=init)
        for duration, billed, init in sample_store.expand(samples)
    ]


def confidence_statement(state: AdaptiveState, settings: RaceSettings) -> dict[str, Any]:
    """How sure a finished race is of its pick: the sizes it could not separate from it, and by how much.

    `pick` is what the Analyzer recommends: `choose_survivor` over the sizes left in the race. Every other
    size left in the race is `notSeparated`, with `withinPct`: how much better than the pick it could
    still be, the one-sided Student-t bound of the race's own comparison (the same estimates, pooled
    spread and Welch degrees of freedom) at `confidence`, Bonferroni over those sizes; `null` when
    it has too few samples to compare. The sizes the race dropped could not beat the leader by more
    than `tolerance` at `confidence` when they were dropped; `skippedByModel` lists the listed sizes
    never measured because the model of the measured ones showed they could not win (or a walk of
    the list never reached them: `model.promote`); `coldStarts`
    counts the cold starts spent. JSON-able; `text` says it in one line.
    """
    confidence, tolerance = settings.confidence, settings.tolerance
    results = size_results(state, settings)
    base: dict[str, Any] = {
        "strategy": settings.strategy,
        "confidence": confidence,
        "tolerancePct": _pct(tolerance),
        "reason": state.reason,
        # Every size measured starts on a fresh version: one cold start each, billed, left out of
        # its estimate. Sizes the model skipped cost none.
        "coldStarts": sum(r.cold_starts for r in results if not r.skipped),
        "skippedByModel": list(state.skipped_by_model),
    }
    survivors = [r for r in results if r.value in state.candidates and not r.skipped]
    if not survivors:
        return {**base, "pick": None, "notSeparated": [], "text": "no size could be measured"}
    pick = choose_survivor(results, state.candidates, settings.strategy, settings.balanced_weight).value
    others = [r.value for r in survivors if r.value != pick]
    est = estimates(replace(state, candidates=tuple(r.value for r in survivors)), settings)
    alpha = (1 - confidence) / max(1, len(others))
    not_separated: list[dict[str, Any]] = []
    for value in others:
        within = within_pct(est[value], est[pick], 1 - alpha) if value in est and pick in est else None
        not_separated.append({"value": value, "withinPct": within})
    text = statement_text(pick, not_separated, confidence, tolerance)
    return {**base, "pick": pick, "notSeparated": not_separated, "text": text}


def within_pct(other: Estimate, pick: Estimate, level: float) -> float | None:
    """How much better than the pick `other` may still be, in % of the pick's estimate, at `level`
    (one-sided Student-t); None with too few samples to compare."""
    lower = lower_bound(other, pick, level) if pick.mean > 0 else None
    return None if lower is None else _pct(max(0.0, -lower / pick.mean))


def statement_text(
    pick: int, not_separated: list[dict[str, Any]], confidence: float, tolerance: float
) -> str:
    """The statement's one line: the pick, then each size not separated from it and by how much."""
    level = f"{_pct(confidence):g}%"
    if not not_separated:
        better = f"more than {_pct(tolerance):g}% " if tolerance > 0 else ""
        return f"{pick} MB; no other size measured is {better}better at {level}"
    parts = [
        f"{s['value']} MB is within {s['withinPct']:g}%"
        if s["withinPct"] is not None
        else f"{s['value']} MB has too few samples to compare"
        for s in not_separated
    ]
    return f"{pick} MB; {', '.join(parts)} at {level}"


def _pct(fraction: float) -> float:
    return round(fraction * 100, 1)
