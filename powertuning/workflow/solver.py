"""The joint choice: one option (size) per function, the cheapest workflow execution whose end-to-end
statistic is within the target, on the Monte Carlo model's fixed draws (simulate.py).

The cost of an execution is separable (each function's calls x the cost of one call at its size,
plus the state transitions, held fixed); the statistic is not. Three facts make the search exact:

1. An option that costs no less than another and is no faster at any quantile can be dropped: with
   the same draws it is no faster at any draw, and every composition is monotone.
2. With the functions not chosen yet at their fastest option *at every draw* (simulate.FASTEST),
   the statistic is a lower bound of every completion: when it misses the target, the branch can go.
3. With the functions not chosen yet at their cheapest option, the cost is a lower bound of every
   completion: when that completion meets the target, it is the branch's optimum.

So: a greedy pick first (the move that lowers the statistic most per unit of cost, until the target
is met; then every function lowered as far as the target allows) gives an incumbent, and a depth-
first branch and bound over the functions (the ones whose cost varies most first, options cheapest
first) proves it optimal or improves it. When the time or evaluation budget ends first, the method
is "bounded" and `max_gap_pct` says how much cheaper than the pick the optimum could be: the
smallest lower bound of the branches not explored yet, each being the cost chosen so far plus the
cheapest option of each function left that could meet the target with the rest at their fastest.

When even every function at its fastest at every draw misses the target, nothing meets it: the pick
is the assignment with the lowest statistic found by coordinate descent, and `max_gap_pct` is how
far its statistic may be above the lowest possible (the all-fastest bound); "exact" when one
option of each function is fastest at every quantile.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from powertuning.workflow.simulate import FASTEST, Simulation

DEFAULT_SECONDS: Final = 1.0
DEFAULT_MAX_EVALUATIONS: Final = 200_000


@dataclass(frozen=True)
class Solution:
    """The pick (function -> index into its options), its statistic and cost, and how it was found."""

    choice: dict[str, int]
    met: bool
    statistic: float
    cost: float
    method: str
    evaluated: int
    max_gap_pct: float
    seconds: float


class _OutOfBudgetError(Exception):
    pass


def solve(
    sim: Simulation,
    costs: Mapping[str, Sequence[float]],
    statistic: str,
    target_ms: float,
    *,
    fixed_cost: float = 0.0,
    seconds: float = DEFAULT_SECONDS,
    max_evaluations: int = DEFAULT_MAX_EVALUATIONS,
    candidates: Mapping[str, Sequence[int]] | None = None,
) -> Solution:
    """Choose one option per function of `sim` (see the module docstring). `costs[f][i]`: the cost of
    function f's calls in one execution at option i; `fixed_cost`: what every assignment costs more;
    `candidates[f]`: the options f may take (default all: an estimated current size is not one)."""
    allowed = {f: tuple(candidates[f] if candidates else range(len(sim.options[f]))) for f in sim.functions}
    return _Search(
        sim,
        costs=costs,
        statistic=statistic,
        target_ms=target_ms,
        fixed_cost=fixed_cost,
        seconds=seconds,
        max_evaluations=max_evaluations,
        allowed=allowed,
    ).run()


class _Search:
    def __init__(
        self,
        sim: Simulation,
        *,
        costs: Mapping[str, Sequence[float]],
        statistic: str,
        target_ms: float,
        fixed_cost: float,
        seconds: float,
        max_evaluations: int,
        allowed: Mapping[str, tuple[int, ...]],
    ) -> None:
        self.sim, self.costs, self.name, self.target = sim, costs, statistic, target_ms
        self.fixed_cost = fixed_cost
        self.started = time.perf_counter()
        self.deadline = self.started + seconds
        self.first_evaluation = sim.evaluated
        self.max_evaluations = max_evaluations
        self.functions = sim.functions
        self.allowed = allowed
        # Options left per function, cheapest first (fact 1).
        self.options = {f: _undominated(sim, costs, f, allowed[f]) for f in self.functions}

    # -- bookkeeping ------------------------------------------------------------------------------

    def stat(self, choice: Mapping[str, int]) -> float:
        if (
            self.sim.evaluated - self.first_evaluation >= self.max_evaluations
            or time.perf_counter() > self.deadline
        ):
            raise _OutOfBudgetError
        return self.sim.statistic(choice, self.name)

    def cost(self, choice: Mapping[str, int]) -> float:
        return self.fixed_cost + sum(self.costs[f][choice[f]] for f in self.functions)

    def solution(self, choice: dict[str, int], method: str, gap: float, met: bool) -> Solution:
        return Solution(
            choice=dict(choice),
            met=met,
            statistic=self.sim.statistic(choice, self.name),
            cost=self.cost(choice),
            method=method,
            evaluated=self.sim.evaluated - self.first_evaluation,
            max_gap_pct=gap,
            seconds=time.perf_counter() - self.started,
        )

    # -- the search -------------------------------------------------------------------------------

    def run(self) -> Solution:
        fastest = dict.fromkeys(self.functions, FASTEST)
        floor = self.sim.statistic(fastest, self.name)
        if floor > self.target:
            return self.lowest_statistic(floor)
        cheapest = {f: self.options[f][0] for f in self.functions}
        self.best: dict[str, int] | None = None
        self.best_cost = float("inf")
        try:
            if self.stat(cheapest) <= self.target:
                return self.solution(cheapest, "exact", 0.0, True)
            self.offer(self.greedy(cheapest))
            self.floor_costs = self.feasible_floors(fastest)
            self.branch_and_bound()
        except _OutOfBudgetError as stop:
            best = self.best
            if best is None:
                # The budget ended before any pick met the target; the fastest options may.
                best = {f: self._fastest_option(f) for f in self.functions}
                if self.sim.statistic(best, self.name) > self.target:
                    return self.solution(best, "bounded", 100.0, False)
            bound = getattr(stop, "bound", None)
            if bound is None:
                bound = self.fixed_cost + sum(self.costs[f][self.options[f][0]] for f in self.functions)
            return self.solution(best, "bounded", _gap(self.cost(best), bound), True)
        assert self.best is not None  # the all-fastest bound met the target, so some assignment does
        return self.solution(self.best, "exact", 0.0, True)

    def offer(self, choice: dict[str, int] | None) -> None:
        """Keep `choice` (one that meets the target) if it is the cheapest so far."""
        if choice is not None and self.cost(choice) < self.best_cost:
            self.best, self.best_cost = dict(choice), self.cost(choice)

    def greedy(self, start: dict[str, int]) -> dict[str, int] | None:
        """Raise, one step at a time, the function that lowers the statistic most per unit of cost
        (lazily re-evaluated), until the target is met; then lower each as far as it allows."""
        choice, position = dict(start), dict.fromkeys(self.functions, 0)
        current = self.stat(choice)
        heap = [(-float("inf"), f) for f in self.functions if len(self.options[f]) > 1]
        heapq.heapify(heap)
        while current > self.target and heap:
            _, f = heapq.heappop(heap)
            step = self.options[f][position[f] + 1]
            trial = {**choice, f: step}
            value = self.stat(trial)
            extra = self.costs[f][step] - self.costs[f][choice[f]]
            ratio = (current - value) / max(extra, 1e-18)
            if heap and ratio < -heap[0][0]:
                heapq.heappush(heap, (-ratio, f))  # stale: someone else may be better now
                continue
            choice, current, position[f] = trial, value, position[f] + 1
            if position[f] + 1 < len(self.options[f]):
                heapq.heappush(heap, (-ratio, f))
        if current > self.target:
            return None
        for f in sorted(self.functions, key=lambda f: self.costs[f][choice[f]], reverse=True):
            for lower in self.options[f][: position[f]]:
                trial = {**choice, f: lower}
                if self.stat(trial) <= self.target:
                    choice = trial
                    break
        return choice

    def feasible_floors(self, fastest: dict[str, int]) -> dict[str, float]:
        """Per function, the cost of its cheapest option that meets the target with every other
        function at its fastest (no cheaper option of it is in any feasible assignment)."""
        floors = {}
        for f in self.functions:
            allowed: list[int] = []
            for option in self.options[f]:
                if allowed or self.stat({**fastest, f: option}) <= self.target:
                    allowed.append(option)
            self.options[f] = allowed
            floors[f] = self.costs[f][allowed[0]]
        return floors

    def branch_and_bound(self) -> None:
        """Depth-first over functions (widest cost range first), options cheapest first."""
        order = sorted(
            self.functions,
            key=lambda f: self.costs[f][self.options[f][-1]] - self.costs[f][self.options[f][0]],
            reverse=True,
        )
        rest = [0.0] * (len(order) + 1)
        for k in range(len(order) - 1, -1, -1):
            rest[k] = rest[k + 1] + self.floor_costs[order[k]]
        # Per level on the stack: (cost chosen above it, the position of the option being explored).
        self.stack: list[tuple[float, int]] = []
        self.order, self.rest = order, rest
        try:
            self._descend(0, self.fixed_cost, dict.fromkeys(self.functions, FASTEST))
        except _OutOfBudgetError as stop:
            stop.bound = self._frontier_bound()  # type: ignore[attr-defined]
            raise

    def _descend(self, k: int, above: float, choice: dict[str, int]) -> None:
        f, order, rest = self.order[k], self.order, self.rest
        options = self.options[f]
        self.stack.append((above, 0))
        for position, option in enumerate(options):
            self.stack[-1] = (above, position)
            cost = above + self.costs[f][option]
            if cost + rest[k + 1] >= self.best_cost * (1 - 1e-12):
                break  # options are cheapest first: none after this one is cheaper either
            choice[f] = option
            completion = {**choice, **{g: self.options[g][0] for g in order[k + 1 :]}}
            if self.stat(completion) <= self.target:  # fact 3: the branch's cheapest completion
                self.offer(completion)
                break
            if k + 1 == len(order) or self.stat(choice) > self.target:  # fact 2
                continue
            self._descend(k + 1, cost, choice)
        choice[f] = FASTEST
        self.stack.pop()

    def _frontier_bound(self) -> float:
        # What is not explored: at each level on the stack, the option being explored (its subtree
        # is only partly done, deeper levels bound it better but never below this) and those after.
        bound = self.best_cost
        for k, (above, position) in enumerate(self.stack):
            f = self.order[k]
            option = self.options[f][position]
            bound = min(bound, above + self.costs[f][option] + self.rest[k + 1])
        return bound

    def lowest_statistic(self, floor: float) -> Solution:
        """Nothing meets the target: the assignment with the lowest statistic, by coordinate descent."""
        choice = {f: self._fastest_option(f) for f in self.functions}
        exact = all(_single_fastest(self.sim, f, self.allowed[f]) for f in self.functions)
        current = self.sim.statistic(choice, self.name)
        for _ in range(3):
            changed = False
            for f in self.functions:
                for option in self.allowed[f]:
                    if option == choice[f] or time.perf_counter() > self.deadline:
                        continue
                    trial = {**choice, f: option}
                    value = self.sim.statistic(trial, self.name)
                    if value < current or (
                        value == current and self.costs[f][option] < self.costs[f][choice[f]]
                    ):
                        choice, current, changed = trial, value, True
            if not changed or exact:
                break
        gap = 0.0 if exact else _gap(current, floor)
        return self.solution(choice, "exact" if exact else "bounded", gap, False)

    def _fastest_option(self, f: str) -> int:
        options = self.sim.options[f]
        return min(self.allowed[f], key=lambda i: (options[i].duration.mean(), self.costs[f][i]))


def _undominated(
    sim: Simulation, costs: Mapping[str, Sequence[float]], f: str, allowed: Sequence[int]
) -> list[int]:
    """Option indices of f no other option beats on cost and every quantile, cheapest first."""
    options = sim.options[f]
    keep = []
    for i in allowed:
        option = options[i]
        beaten = any(
            j != i
            and costs[f][j] <= costs[f][i]
            and option.duration.dominated_by(options[j].duration)
            and (costs[f][j] < costs[f][i] or options[j].duration != option.duration or j < i)
            for j in allowed
        )
        if not beaten:
            keep.append(i)
    return sorted(keep, key=lambda i: (costs[f][i], options[i].duration.mean()))


def _single_fastest(sim: Simulation, f: str, allowed: Sequence[int]) -> bool:
    options = [sim.options[f][i] for i in allowed]
    return any(all(o.duration.dominated_by(c.duration) for o in options) for c in options)


def _gap(value: float, bound: float) -> float:
    return max(0.0, (value - bound) / value * 100) if value > 0 else 0.0
