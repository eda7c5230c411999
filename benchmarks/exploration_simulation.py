"""Simulated tunings for the exploration benchmark: the truth of a curve, and every method's runs.

Adaptive runs go through the real decision code (`powertuning.adaptive.step.drive`, the loop the
state machine runs, over the decision step's own function), with the Executor's and the Publisher's
work simulated; fixed runs through the Analyzer's `summarize` and `choose`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from random import Random
from typing import Any

from benchmarks.exploration_curves import Curve
from powertuning.adaptive.outcome import confidence_statement, size_results
from powertuning.adaptive.state import BatchItem, RaceSettings
from powertuning.adaptive.step import drive
from powertuning.analysis import (
    choose,
    choose_survivor,
    count_adaptive_transitions,
    count_transitions,
    summarize,
)
from powertuning.input_kinds import auto_initial_sizes
from powertuning.inputs import TuningRequest
from powertuning.lifecycle.publish import next_publish_state
from powertuning.logs import Report
from powertuning.measure import batch_result
from powertuning.pricing import MAX_MEMORY_MB, LambdaPrice, step_functions_cost
from powertuning.run_state import PublishState, RunState
from powertuning.size_result import SizeResult

REGION = "us-east-1"
ARN = f"arn:aws:lambda:{REGION}:123456789012:function:simulated"
RUN_ID = "00000000be7c"  # a run id is 12 hex digits
TRIM = 0.2
ORACLE_MAX_NUM = 100
ADAPTIVE_NUM = 50  # the budget cap of adaptive runs: the same num as the baseline they must beat
# Regret goals (also the oracle's stopping rule).
GOAL_MEDIAN_REGRET = 0.01
GOAL_P90_REGRET = 0.03


# -- ground truth ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Truth:
    """True average cost and duration per size, and the objective of a strategy."""

    results: dict[int, SizeResult]
    reference: tuple[int, ...]

    @classmethod
    def of(cls, curve: Curve, sizes: Iterable[int], price: LambdaPrice) -> Truth:
        """The Analyzer's estimate over every steady-state sample of each size."""
        results = {
            m: summarize(m, [o.report(m) for o in curve.at(m).steady], price, TRIM)
            for m in sorted(set(sizes))
        }
        return cls(results, tuple(curve.sizes))

    def objective(self, strategy: str, memory: int) -> float:
        """The strategy's objective of one size (lower is better); balanced normalised over the curve."""
        return self.score(strategy, self.results[memory])

    def score(self, strategy: str, r: SizeResult) -> float:
        """The strategy's objective of a (true or estimated) result, normalised as the truth is."""
        if strategy == "cost":
            return r.average_price
        if strategy == "speed":
            return r.average_duration
        ref = [self.results[m] for m in self.reference]
        max_cost = max(x.average_price for x in ref)
        max_duration = max(x.average_duration for x in ref)
        return 0.5 * r.average_price / max_cost + 0.5 * r.average_duration / max_duration

    def best(self, strategy: str) -> int:
        """The truly best measured size."""
        return choose([self.results[m] for m in self.reference], strategy, 0.5).value

    def regret(self, strategy: str, memory: int) -> float:
        """How much worse `memory` is than the best measured size, relative."""
        best = self.objective(strategy, self.best(strategy))
        return self.objective(strategy, memory) / best - 1


# -- simulated runs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One simulated tuning: what it chose and what it spent."""

    chosen: int
    per_size: dict[int, int]
    gb_seconds: float
    invocations: int
    lambda_usd: float
    step_functions_usd: float
    wall_ms: float = 0.0
    # An adaptive run's confidence statement (`adaptive.outcome.confidence_statement`).
    claim: dict[str, Any] | None = field(default=None, compare=False)

    @classmethod
    def of(
        cls,
        chosen: int,
        results: Sequence[SizeResult],
        step_functions_usd: float,
        wall_ms: float = 0.0,
        claim: dict[str, Any] | None = None,
    ) -> Run:
        """What a run chose, with the invocations and cost its per-size results add up to."""
        return cls(
            chosen=chosen,
            per_size={r.value: r.invocations for r in results},
            gb_seconds=sum(r.gb_seconds for r in results),
            invocations=sum(r.invocations for r in results),
            lambda_usd=sum(r.total_cost for r in results),
            step_functions_usd=step_functions_usd,
            wall_ms=wall_ms,
            claim=claim,
        )


class Target:
    """The simulated function: one fresh version per size, first invocation cold."""

    def __init__(self, curve: Curve, rng: Random, *, cold: bool = True) -> None:
        self.curve = curve
        self.rng = rng
        self.cold = cold
        self.count: dict[int, int] = {}

    def invoke(self, memory: int, times: int) -> list[Report]:
        """`times` REPORT records of `memory`'s alias."""
        population = self.curve.at(memory)
        out = []
        for _ in range(times):
            n = self.count.get(memory, 0)
            self.count[memory] = n + 1
            pool = population.first if n == 0 and self.cold and population.first else population.steady
            out.append(pool[self.rng.randrange(len(pool))].report(memory))
        return out

    def invoke_concurrently(self, memory: int, times: int) -> list[Report]:
        """`times` concurrent invocations of a fresh configuration: each one a cold start."""
        population = self.curve.at(memory)
        pool = population.first if self.cold and population.first else population.steady
        self.count[memory] = self.count.get(memory, 0) + times
        return [pool[self.rng.randrange(len(pool))].report(memory) for _ in range(times)]


def sequential_ms(reports: Sequence[Report]) -> float:
    """Wall time of invocations made one after the other: the sum of what each one took."""
    return sum(r.measured_duration_ms for r in reports)


def concurrent_ms(reports: Sequence[Report]) -> float:
    """Wall time of invocations made at once: the slowest one."""
    return max((r.measured_duration_ms for r in reports), default=0.0)


def run_fixed(curve: Curve, strategy: str, num: int, rng: Random, price: LambdaPrice, *, cold: bool) -> Run:
    """The reference algorithm: every size `num` times, trimmed mean, `choose`."""
    target = Target(curve, rng, cold=cold)
    reports = {m: target.invoke(m, num) for m in curve.sizes}
    results = [summarize(m, r, price, TRIM) for m, r in reports.items()]
    transitions = count_transitions(len(results), results)
    # The Map runs every size at once; one size's invocations run one after the other
    # (parallelInvocation false, the default).
    wall = max(sequential_ms(r) for r in reports.values())
    return Run.of(
        choose(results, strategy, 0.5).value, results, step_functions_cost(transitions, REGION), wall
    )


def run_adaptive(
    curve: Curve,
    strategy: str,
    rng: Random,
    price: LambdaPrice,
    *,
    auto: bool,
    confidence: float,
    tolerance: float,
    cold: bool,
    model: bool = True,
    listed: Sequence[int] | None = None,
) -> Run:
    """An adaptive execution: `drive` (the state machine's loop), the Executor and Publisher simulated.

    `listed`: the powerValues of a listed run (default: every size of the curve).
    """
    target = Target(curve, rng, cold=cold)
    sizes = auto_initial_sizes(strategy=strategy) if auto else tuple(listed or curve.sizes)
    request = TuningRequest.from_dict(
        {
            "lambdaARN": ARN,
            "powerValues": "auto" if auto else list(sizes),
            "num": ADAPTIVE_NUM,
            "strategy": strategy,
            "sampling": "adaptive",
            "confidence": confidence,
            "tolerance": tolerance,
            "discardTopBottom": TRIM,
        }
    )
    config = RunState(ARN, sizes, RUN_ID, 128, "", curve.architecture, sampling="adaptive")
    publish = _publish(next_publish_state(config, None, []), curve)
    wall = 0.0

    def measure(batch: Sequence[BatchItem]) -> list[SizeResult]:
        nonlocal wall
        reports = {item.value: target.invoke(item.value, item.count) for item in batch}
        # A round is one Map: its sizes at once, each size's batch one invocation after the other.
        wall += max(sequential_ms(r) for r in reports.values())
        return [batch_result(m, r, price, TRIM, cap=settings.sample_cap) for m, r in reports.items()]

    def publish_more(pending: Sequence[int]) -> tuple[int, ...]:
        nonlocal publish
        publish = _publish(next_publish_state(config, publish, list(pending)), curve)
        return publish.published

    settings = replace(RaceSettings.from_execution(request, config), model=model)
    race = drive(settings, publish.published, measure, publish_more)
    # What the Analyzer reads from the finished race.
    results = size_results(race, settings)
    transitions = count_adaptive_transitions(
        len(publish.published) + len(race.unavailable), race.decisions, race.rounds, results
    )
    return Run.of(
        choose_survivor(results, race.candidates, strategy, 0.5).value,
        results,
        step_functions_cost(transitions, REGION),
        wall,
        confidence_statement(race, settings),
    )


def run_oracle(
    curve: Curve, strategy: str, truth: Truth, *, num: int, rng: Random, price: LambdaPrice
) -> Run:
    """A lower bound for any method: the two truly best sizes only, `num` warm invocations each."""
    finalists = sorted(curve.sizes, key=lambda m: truth.objective(strategy, m))[:2]
    target = Target(curve, rng, cold=False)
    reports = {m: target.invoke(m, num) for m in finalists}
    results = [summarize(m, r, price, TRIM) for m, r in reports.items()]
    wall = max(sequential_ms(r) for r in reports.values())
    return Run.of(min(results, key=lambda r: truth.score(strategy, r)).value, results, 0.0, wall)


def oracle_runs(
    curve: Curve, strategy: str, truth: Truth, *, runs: int, seed: int, price: LambdaPrice
) -> tuple[int, list[Run]]:
    """The oracle with the fewest invocations per finalist that meets the regret goal (bisection)."""

    def attempt(num: int) -> list[Run]:
        return [
            run_oracle(
                curve,
                strategy,
                truth,
                num=num,
                rng=Random(f"{seed}:{curve.name}:{strategy}:oracle:{i}"),
                price=price,
            )
            for i in range(runs)
        ]

    def good(done: list[Run]) -> bool:
        regrets = [truth.regret(strategy, r.chosen) for r in done]
        return quantile(regrets, 0.5) <= GOAL_MEDIAN_REGRET and quantile(regrets, 0.9) <= GOAL_P90_REGRET

    low, high = 1, ORACLE_MAX_NUM
    best = attempt(high)
    while low < high:
        middle = (low + high) // 2
        done = attempt(middle)
        if good(done):
            high, best = middle, done
        else:
            low = middle + 1
    return high, best


# -- Parrotfish --------------------------------------------------------------------------------------
# Parrotfish (Moghimi et al., "Parrotfish: Parametric Regression for Optimizing Serverless Functions",
# SoCC '23; github.com/ubc-cirrus-lab/parrotfish) with its implementation's defaults
# (src/configuration/defaults.py): fit duration = a0 + a1 exp(-memory / a2) to every data point,
# explore next where the fitted cost, weighted by how little is known there, is lowest, and recommend
# the memory (any MB in the space) where the fitted cost duration x memory is lowest.
PARROTFISH_MIN_SAMPLE_PER_CONFIG = 4  # measured per size, all at once (after as many cold ones)
PARROTFISH_DYNAMIC_MAX = 8  # extra invocations, one at a time, while the sample is not consistent
PARROTFISH_CV_THRESHOLD = 0.05  # consistent: coefficient of variation (ddof 1) at most this
PARROTFISH_MAX_TOTAL_SAMPLE_COUNT = 20  # stop once the sample holds more data points than this
PARROTFISH_TERMINATION_THRESHOLD = 3  # or once the knowledge at the fitted optimum exceeds this
PARROTFISH_KNOWLEDGE_SD_MB = 200  # each size explored adds a Gaussian bump of knowledge, peak 1
PARROTFISH_AWS_MAX_MB = 3008  # its AWS memory space: every MB from 128 to 3008


@dataclass(frozen=True)
class ExponentialFit:
    """Parrotfish's parametric model of duration against memory: a0 + a1 exp(-memory / a2)."""

    a0: float
    a1: float
    a2: float

    def __call__(self, memory: float) -> float:
        """The fitted duration (ms) at `memory` MB."""
        return self.a0 + self.a1 * math.exp(-memory / self.a2)


def fit_exponential(memories: Sequence[float], durations: Sequence[float]) -> ExponentialFit:
    """Least squares of Parrotfish's model over every data point, global over a2 > 0.

    Parrotfish calls scipy's `curve_fit` (Levenberg-Marquardt from a0 = a1 = a2 = first duration
    // 10), which may stop at a local minimum. For a fixed a2 the model is linear in a0 and a1 (a
    closed form), so the least-squares a2 is found by a search: a log grid from 8 MB to 10^6 MB,
    then golden section between the grid's neighbours of the best. A flat sample fits a0 alone.
    """

    def solve(a2: float) -> tuple[float, float, float]:
        u = [math.exp(-m / a2) for m in memories]
        n = len(u)
        mu, my = sum(u) / n, sum(durations) / n
        suu = sum((x - mu) ** 2 for x in u)
        if suu <= 1e-18 * max(mu * mu, 1e-300):
            a0, a1 = my, 0.0
        else:
            a1 = sum((x - mu) * (y - my) for x, y in zip(u, durations, strict=True)) / suu
            a0 = my - a1 * mu
        sse = sum((a0 + a1 * x - y) ** 2 for x, y in zip(u, durations, strict=True))
        return sse, a0, a1

    grid = [8 * (1e6 / 8) ** (i / 199) for i in range(200)]
    errors = [solve(c)[0] for c in grid]
    best = min(range(len(grid)), key=errors.__getitem__)
    low, high = grid[max(0, best - 1)], grid[min(len(grid) - 1, best + 1)]
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(60):
        x1, x2 = high - ratio * (high - low), low + ratio * (high - low)
        if solve(x1)[0] <= solve(x2)[0]:
            high = x2
        else:
            low = x1
    a2 = min((grid[best], (low + high) / 2), key=lambda c: solve(c)[0])
    _, a0, a1 = solve(a2)
    return ExponentialFit(a0, a1, a2)


def _cv(values: Sequence[float]) -> float:
    mean = statistics.fmean(values)
    return statistics.stdev(values) / mean if mean else math.inf


def run_parrotfish(curve: Curve, rng: Random, price: LambdaPrice, *, cold: bool) -> Run:
    """Parrotfish's search (cost only: its objective is duration x memory), on the simulated target.

    Per size explored (src/sampling/sampler.py, src/exploration/explorer.py): the configuration is
    updated, 4 concurrent invocations absorb the cold starts (billed, not measured), 4 concurrent
    ones are measured (Billed Duration), then up to 8 more, one at a time, while the coefficient of
    variation of the 4 exceeds 5%, each replacing the one of the 4 whose swap lowers it most. First
    the smallest size, the one a third of the way up the space and the largest; then (src/
    recommendation/recommender.py, src/objective/) the unexplored size minimising fitted cost x (1 +
    knowledge), until the sample holds more than 20 data points or the knowledge at the fitted
    optimum exceeds 3. It runs from a client: no state machine, one size at a time.
    """
    target = Target(curve, rng, cold=cold)
    space = list(range(curve.sizes[0], min(curve.sizes[-1], PARROTFISH_AWS_MAX_MB) + 1))
    knowledge = dict.fromkeys(space, 0.0)
    sample: list[tuple[int, float]] = []
    reports: dict[int, list[Report]] = {}
    wall = 0.0

    def explore(memory: int) -> None:
        nonlocal wall
        count = PARROTFISH_MIN_SAMPLE_PER_CONFIG
        absorbed = target.invoke_concurrently(memory, count)
        measured = target.invoke(memory, count)
        wall += concurrent_ms(absorbed) + concurrent_ms(measured)
        done = absorbed + measured
        durations = [r.billed_duration_ms for r in measured]
        best_cv = _cv(durations)
        for _ in range(PARROTFISH_DYNAMIC_MAX):
            if best_cv <= PARROTFISH_CV_THRESHOLD:
                break
            (extra,) = target.invoke(memory, 1)
            wall += extra.measured_duration_ms
            done.append(extra)
            base = list(durations)
            for i in range(len(base)):
                trial = [*base[:i], extra.billed_duration_ms, *base[i + 1 :]]
                if _cv(trial) < best_cv:
                    best_cv, durations = _cv(trial), trial
        reports.setdefault(memory, []).extend(done)
        sample.extend((memory, d) for d in durations)
        for m in space:
            knowledge[m] += math.exp(-((m - memory) ** 2) / (2 * PARROTFISH_KNOWLEDGE_SD_MB**2))

    for memory in (space[0], space[math.ceil(len(space) / 3)], space[-1]):
        explore(memory)
    while True:
        fit = fit_exponential([m for m, _ in sample], [d for _, d in sample])
        cost = {m: fit(m) * m for m in space}
        optimum = min(space, key=cost.__getitem__)
        if (
            len(sample) > PARROTFISH_MAX_TOTAL_SAMPLE_COUNT
            or knowledge[optimum] > PARROTFISH_TERMINATION_THRESHOLD
        ):
            break
        remaining = [m for m in space if m not in reports]
        if not remaining:
            break
        explore(min(remaining, key=lambda m: cost[m] * (1 + knowledge[m])))
    results = [summarize(m, r, price, TRIM) for m, r in sorted(reports.items())]
    return Run.of(optimum, results, 0.0, wall)


def _publish(state: PublishState, curve: Curve) -> PublishState:
    # The Publisher loop: sizes outside the curve are refused, like sizes above an account's limit.
    sizes = curve.sizes
    pending = state.power_values[state.index :]
    kept = tuple(m for m in pending if sizes[0] <= m <= min(sizes[-1], MAX_MEMORY_MB))
    refused = tuple(m for m in pending if m not in kept)
    published = state.published + kept
    return replace(state, power_values=published, index=len(published), refused=state.refused + refused)


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
