"""`powerValues: "auto"`: which unmeasured sizes could beat the leader.

The search runs on AUTO_GRID (geometric steps: CPU is proportional to memory, so equal ratios matter
equally), from a coarse ladder (`input_kinds.auto_initial_sizes`), refining around the leader, guided by
what holds on Lambda: more memory never makes a function slower (so `speed` never looks below the
leader), and a bigger size is cheaper only if speed-up is super-linear (so `cost` looks above the
leader only when cost was still falling towards it). Only measured sizes can be recommended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from powertuning.adaptive import model
from powertuning.adaptive.estimates import best_estimate, estimates, surely_within, surely_worse
from powertuning.adaptive.state import AdaptiveState, RaceSettings
from powertuning.input_kinds import auto_grid, climb_step


def propose(state: AdaptiveState, settings: RaceSettings) -> tuple[int, ...]:
    """Unmeasured grid sizes that could beat the leader; empty when the search is over."""
    measured = sorted(state.tried)
    est = estimates(replace(state, candidates=tuple(measured)), settings)
    if not est or not state.candidates:
        return ()
    leader = best_estimate(est[v] for v in state.candidates if v in est)
    limit = min(state.unavailable, default=settings.max_memory + 1) - 1
    grid = auto_grid(min(settings.max_memory, limit))
    if settings.model:
        # Jump straight to where the model of every size measured puts the optimum (or a step's edge).
        target = model.target(state, settings, grid, leader)
        if target is not None:
            return (target,)
    lower = [v for v in measured if v < leader.value and v in est]
    upper = [v for v in measured if v > leader.value]
    # Did the objective still improve, surely and by more than the tolerance, from the next smaller size?
    falling = bool(lower) and surely_worse(est[lower[-1]], leader, settings)
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
    elif not lower or not surely_within(est[lower[-1]], leader, settings):
        # Past the largest size measured: on, until the last step surely gained less than the
        # tolerance (a plateau, at the confidence). Stopping on mere doubt would leave a size
        # more than the tolerance better untried.
        out.append(climb_step(grid, leader.value))
    proposals = sorted({m for m in out if m is not None and m not in measured})
    if settings.model:
        # Only sizes worth a cold start are published: none the model of every size measured shows
        # unable to beat the leader by more than the tolerance (the race would drop it measured).
        ruled = model.ruled_out(state, settings, proposals)
        proposals = [m for m in proposals if m not in ruled]
    return tuple(proposals)


def _between(grid: Sequence[int], low: int | None, high: int) -> int | None:
    inside = [m for m in grid if (low is None or m > low) and m < high]
    return inside[len(inside) // 2] if inside else None
