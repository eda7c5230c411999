"""The race: rounds of invocations, and sizes dropped once they cannot win.

A race with an indifference zone (racing: Maron & Moore 1994; indifference-zone selection:
Bechhofer 1954; the (epsilon, delta)-PAC elimination of Even-Dar, Mannor & Mansour 2002). Every
remaining size gets a small batch of invocations per round. A size is dropped once, at the chosen
`confidence` (Bonferroni over the sizes in the race), it cannot be better than the leader by more
than `tolerance`. The race ends when one size is left or every size has had `num` invocations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Final

from powertuning import samples as sample_store
from powertuning.adaptive import auto, model
from powertuning.adaptive.estimates import best_estimate, estimates, guarded, kept_samples, lower_bound
from powertuning.adaptive.state import AdaptiveState, BatchItem, RaceSettings, SizeSamples
from powertuning.size_result import SizeResult

INITIAL_BATCH: Final = 3
MIN_BATCH: Final = 2
# Each round adds half the samples a size already has: early rounds stay cheap, late rounds few.
GROWTH: Final = 0.5


def start(sizes: Sequence[int], settings: RaceSettings) -> AdaptiveState:
    """The first round: every size gets the initial batch.

    With the model (`settings.model`) and many listed sizes, only a few probes spread over the list
    are measured first; the others wait in `reserve` until the model has seen the probes.
    """
    first = model.probes(sizes, settings.strategy) if settings.model and not settings.auto else tuple(sizes)
    state = AdaptiveState(
        candidates=tuple(v for v in sizes if v in first),
        reserve=tuple(v for v in sizes if v not in first),
        sizes=tuple(SizeSamples(v) for v in sizes if v in first),
    )
    return replace(state, batch=batch(state, settings))


def record(state: AdaptiveState, results: Sequence[SizeResult], settings: RaceSettings) -> AdaptiveState:
    """Add one round's results (the Executor's, with their samples) to the state."""
    by_value = {s.value: s for s in state.sizes}
    for result in results:
        size = by_value.get(result.value, SizeSamples(result.value))
        by_value[result.value] = replace(
            size,
            samples=sample_store.compact(size.samples + tuple(result.samples), settings.sample_cap),
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


def decide(state: AdaptiveState, settings: RaceSettings) -> AdaptiveState:
    """Drop the sizes that cannot win, then plan the next round, ask for new sizes, or stop."""
    state = replace(state, batch=())
    if state.reserve:
        # The probes are measured (or every one was skipped): the held-back sizes enter the race,
        # but for those the model shows clearly worse.
        state = model.promote(eliminate(state, settings), settings)
    if not state.candidates:
        return replace(state, done=True, reason="no size could be measured")
    state = eliminate(state, settings)
    if len(state.candidates) > 1:
        planned = batch(state, settings)
        if planned:
            return replace(state, batch=planned)
    if settings.auto:
        proposals = auto.propose(state, settings)
        if proposals:
            return replace(state, pending=proposals)
    if state.reserve:
        # Settled, with held-back listed sizes the walk never found worth a cold start.
        state = replace(state, reserve=(), skipped_by_model=state.skipped_by_model + state.reserve)
    reason = "separated" if len(state.candidates) == 1 else "budget"
    return replace(state, done=True, reason=reason)


def eliminate(state: AdaptiveState, settings: RaceSettings) -> AdaptiveState:
    """Drop every candidate that, at the chosen confidence, cannot beat the leader by more than tolerance."""
    est = estimates(state, settings)
    if len(est) < 2 or len(est) < len(state.candidates):
        return state
    leader = best_estimate(est.values())
    # Bonferroni: the confidence holds for all comparisons of this round together.
    alpha = (1 - settings.confidence) / (len(est) - 1)
    dropped = []
    for e in est.values():
        if e.value == leader.value:
            continue
        lower = lower_bound(
            guarded(state, settings, e, drop_largest=True),
            guarded(state, settings, leader, drop_largest=False),
            1 - alpha,
        )
        if lower is not None and lower > -settings.tolerance * leader.mean:
            dropped.append(e.value)
    return replace(
        state,
        candidates=tuple(v for v in state.candidates if v not in dropped),
        eliminated=state.eliminated + tuple(dropped),
    )


def batch(state: AdaptiveState, settings: RaceSettings) -> tuple[BatchItem, ...]:
    """The next round's Map items: a batch for every candidate below its cap."""
    items = []
    for value in state.candidates:
        done = state.size(value).count
        left = settings.max_per_size - done
        kept = sample_store.count(kept_samples(state.size(value).samples))
        if done == 0:
            wanted = INITIAL_BATCH
        elif kept < 2:
            wanted = 2 - kept
        else:
            wanted = max(MIN_BATCH, math.ceil(done * GROWTH))
        if left > 0:
            items.append(BatchItem(value, min(wanted, left), done))
    return tuple(items)


def admit(state: AdaptiveState, published: Sequence[int], settings: RaceSettings) -> AdaptiveState:
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
    return replace(state, batch=batch(fresh, settings))
