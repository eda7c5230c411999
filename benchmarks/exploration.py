"""Exploration cost: adaptive sampling against the reference's fixed `num` and Parrotfish, on measured curves.

    python -m benchmarks.exploration --curve FILE [--curve FILE ...] --strategy cost \
        --runs 200 --seed 1 --json
    python -m benchmarks.exploration --runs 50 --method fixed-50,adaptive,adaptive-auto,parrotfish,oracle \
        --compact     # one row per curve and strategy, and the goals

A simulation that drives the real decision code: adaptive runs go through
`powertuning.adaptive.advance_execution`, the function the state machine's decision step calls,
with the Executor's and the Publisher's work simulated; fixed runs go through the Analyzer's
`summarize` and `choose`. The simulated target answers each invocation with a REPORT record drawn
from the measured samples of the curve, so heavy tails and cold starts are the real ones.

Curves (`--curve`, repeatable; default: every curve in ../shared/data beside the repository):
- SeBS `*result.csv` (`memory,type,is_cold,exec_time,...,provider_time,...`): Duration is
  `provider_time` (what Lambda reported). SeBS has no Init Duration, so a cold row's INIT is
  estimated as its `client_time - provider_time` minus the median of that gap over the warm rows of
  the same size (the extra wait a cold client saw), at least 1 ms.
- the mbwilding JSON `{runtime: {arch: {memory: [{duration, billed_duration, init_duration?}]}}}`:
  `FILE#runtime/arch`, `FILE#runtime` (both architectures) or `FILE` (every runtime and
  architecture, one curve each). Nearly every sample there is a cold start (fresh environment per
  invocation), so all samples form one population.
- plain CSV, one row per invocation: `memory_mb,duration_ms[,is_cold[,init_ms]]` (a header line is
  allowed). Rows with `is_cold` true are cold starts; `init_ms` (default 0) is their INIT.
- summary CSV, one row per size: `memory_mb,n,mean_ms,median_ms,p5_ms,p95_ms` (the header names
  the columns). Each size is a lognormal fitted to the median and the p95, checked against the mean
  and the p5 (`load_summary`); no cold start.
Billing follows the August 2025 rule: billed = ceil(Duration + Init Duration).

Simulated target: every memory size is a freshly published version, so its first invocation is
drawn from the size's cold rows (if the curve has separate ones) and every later one from its other
rows. Sizes between two measured sizes (needed by `powerValues: "auto"`) are interpolated quantile by
quantile, linearly in 1/memory between the two neighbours: exact both for CPU-bound time (proportional
to 1/memory) and for time that does not depend on memory. "auto" searches up to the curve's largest
size, which plays the account's memory limit (larger sizes are refused by the simulated Publisher).

Ground truth per size: the Analyzer's own estimate (`summarize`, trimmed mean with the same
`discardTopBottom` 0.2) over every steady-state sample of the curve. Regret of a run: how much worse
the chosen size's true objective is than the best measured size's, relative (for balanced, the score
normalised over the curve's measured sizes, as `choose` does).

Exploration cost per run: GB-seconds billed and invocations of the target, Lambda dollars
(duration + the request fee, us-east-1, the curve's architecture) and Step Functions dollars
(state transitions of that run, counted as the Analyzer counts them). Wall time: the invocations'
own time (Duration + Init) as the state machine runs them: a round is one Map with every size at
once and each size's invocations one after the other (parallelInvocation false), so a run takes the
sum over its rounds of the slowest size's batch. Publishing, configuration updates and state
transitions are left out.

Parrotfish (`run_parrotfish`, cost only) follows its published implementation's defaults: a
parametric fit of duration against memory, the next size where the fit predicts the optimum, 4 cold
and 4 measured concurrent invocations per size, its own termination; see docs/adaptive.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from random import Random
from statistics import NormalDist
from typing import Any

from powertuning import adaptive
from powertuning.analysis import (
    choose,
    count_adaptive_transitions,
    count_transitions,
    summarize,
)
from powertuning.logs import Report
from powertuning.models import PublishState, SizeResult, TuningConfig, TuningRequest
from powertuning.pricing import MAX_MEMORY_MB, LambdaPrice, lambda_price, step_functions_cost
from powertuning.versions import next_publish_state

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REGION = "us-east-1"
ARN = f"arn:aws:lambda:{REGION}:123456789012:function:simulated"
RUN_ID = "00000000be7c"  # a run id is 12 hex digits
STRATEGIES = ("cost", "speed", "balanced")
FIXED_NUMS = (5, 10, 50, 100)
METHODS = (*(f"fixed-{n}" for n in FIXED_NUMS), "adaptive", "adaptive-auto", "parrotfish", "oracle")
TRIM = 0.2
ORACLE_MAX_NUM = 100
ADAPTIVE_NUM = 50  # the budget cap of adaptive runs: the same num as the baseline they must beat
# Goals ("the cheapest tuner at the same confidence"), against fixed num=50 with parallelInvocation
# false: regret on every curve and strategy; GB-seconds as a geometric mean over them (every curve,
# and SeBS alone); below Parrotfish on every cost curve; wall time no worse than fixed-50.
GOAL_MEDIAN_REGRET = 0.01
GOAL_P90_REGRET = 0.03
GOAL_GB_S_GEOMEAN = {"adaptive": 0.08, "adaptive-auto": 0.05}
# Summary CSV curves: samples are quantiles of a lognormal fitted to median and p95.
SUMMARY_COLUMNS = ("memory_mb", "n", "mean_ms", "median_ms", "p5_ms", "p95_ms")
SUMMARY_POINTS = 200
SUMMARY_CHECK = 0.1  # warn when the fitted lognormal misses the measured mean or p5 by more than 10%


# -- curves ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Obs:
    """One measured invocation: Duration and Init Duration in ms."""

    duration_ms: float
    init_ms: float = 0.0

    def report(self, memory_mb: int) -> Report:
        """The REPORT record Lambda would write, billed by the August 2025 rule."""
        return Report(
            duration_ms=self.duration_ms,
            billed_duration_ms=math.ceil(self.duration_ms + self.init_ms),
            memory_size_mb=memory_mb,
            init_duration_ms=self.init_ms,
        )


@dataclass(frozen=True)
class Population:
    """What one memory size's invocations are drawn from."""

    steady: tuple[Obs, ...]
    first: tuple[Obs, ...] = ()


@dataclass
class Curve:
    """Measured invocations per memory size of one function."""

    name: str
    architecture: str
    measured: dict[int, Population]
    _cache: dict[int, Population] = field(default_factory=dict, repr=False)

    @property
    def sizes(self) -> list[int]:
        """Measured memory sizes, ascending."""
        return sorted(self.measured)

    def at(self, memory_mb: int) -> Population:
        """The measured population, or one interpolated between the two measured neighbours."""
        if memory_mb in self.measured:
            return self.measured[memory_mb]
        if memory_mb not in self._cache:
            sizes = self.sizes
            if not sizes[0] < memory_mb < sizes[-1]:
                raise ValueError(
                    f"{memory_mb} MB is outside the curve {self.name} ({sizes[0]}-{sizes[-1]} MB)"
                )
            low = max(s for s in sizes if s < memory_mb)
            high = min(s for s in sizes if s > memory_mb)
            # Linear in 1/memory: exact for CPU-bound time and for time that does not scale.
            weight = (1 / low - 1 / memory_mb) / (1 / low - 1 / high)
            a, b = self.measured[low], self.measured[high]
            self._cache[memory_mb] = Population(
                _blend(a.steady, b.steady, weight),
                _blend(a.first, b.first, weight) if a.first and b.first else (),
            )
        return self._cache[memory_mb]


def _blend(a: Sequence[Obs], b: Sequence[Obs], weight: float) -> tuple[Obs, ...]:
    # Quantile interpolation: the i-th of n quantiles of each side, blended.
    n = max(len(a), len(b))
    qa, qb = sorted(a, key=_key), sorted(b, key=_key)
    out = []
    for i in range(n):
        x, y = qa[i * len(qa) // n], qb[i * len(qb) // n]
        out.append(
            Obs(
                x.duration_ms + (y.duration_ms - x.duration_ms) * weight,
                x.init_ms + (y.init_ms - x.init_ms) * weight,
            )
        )
    return tuple(out)


def _key(o: Obs) -> float:
    return o.duration_ms + o.init_ms


def load_sebs(path: Path) -> Curve:
    """A SeBS `result.csv` (durations in µs), split into warm and cold rows."""
    rows: dict[int, list[dict[str, str]]] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            rows.setdefault(int(row["memory"]), []).append(row)
    measured = {}
    for memory, items in rows.items():
        warm = [r for r in items if not _truthy(r["is_cold"])]
        cold = [r for r in items if _truthy(r["is_cold"])]
        gap = statistics.median(_gap_ms(r) for r in warm) if warm else 0.0
        measured[memory] = Population(
            tuple(Obs(float(r["provider_time"]) / 1000) for r in warm),
            tuple(Obs(float(r["provider_time"]) / 1000, max(1.0, _gap_ms(r) - gap)) for r in cold),
        )
    return Curve(f"sebs:{path.name.removesuffix('_result.csv')}", "x86_64", _non_empty(measured, path))


def _gap_ms(row: dict[str, str]) -> float:
    return (float(row["client_time"]) - float(row["provider_time"])) / 1000


def load_mbwilding(path: Path, runtime: str | None = None, arch: str | None = None) -> list[Curve]:
    """One curve per runtime and architecture of the mbwilding JSON (all, or those named)."""
    data = json.loads(path.read_text())
    if runtime is not None and runtime not in data:
        raise SystemExit(f"{path.name} has no runtime {runtime!r}; it has {', '.join(sorted(data))}")
    curves = []
    for name in sorted(data) if runtime is None else [runtime]:
        archs = data[name]
        if arch is not None and arch not in archs:
            raise SystemExit(
                f"{path.name} has no architecture {arch!r} for {name}; it has {', '.join(archs)}"
            )
        for architecture in sorted(archs) if arch is None else [arch]:
            measured = {
                int(memory): Population(
                    tuple(Obs(float(s["duration"]), float(s.get("init_duration", 0.0))) for s in samples)
                )
                for memory, samples in archs[architecture].items()
            }
            curves.append(Curve(f"mbwilding:{name}/{architecture}", architecture, _non_empty(measured, path)))
    return curves


def load_plain(path: Path) -> Curve:
    """Plain CSV rows `memory_mb,duration_ms[,is_cold[,init_ms]]`; a header line is skipped."""
    steady: dict[int, list[Obs]] = {}
    first: dict[int, list[Obs]] = {}
    with path.open(newline="") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row or row[0].strip().startswith("#"):
                continue
            try:
                memory, duration = int(row[0]), float(row[1])
            except (ValueError, IndexError):
                if number == 1:
                    continue  # header
                raise SystemExit(
                    f"{path}:{number}: expected memory_mb,duration_ms[,is_cold[,init_ms]]"
                ) from None
            cold = len(row) > 2 and _truthy(row[2])
            init = float(row[3]) if len(row) > 3 and row[3].strip() else 0.0
            (first if cold else steady).setdefault(memory, []).append(Obs(duration, init))
    measured = {
        m: Population(tuple(steady.get(m) or first[m]), tuple(first.get(m, ())) if steady.get(m) else ())
        for m in set(steady) | set(first)
    }
    return Curve(f"csv:{path.stem}", "x86_64", _non_empty(measured, path))


def load_summary(path: Path) -> Curve:
    """A summary CSV, one row per size `memory_mb,n,mean_ms,median_ms,p5_ms,p95_ms`: a lognormal each.

    The lognormal is fitted to the median and the p95 (mu = ln median, sigma = ln(p95 / median) /
    z_0.95), the figures that describe the body and the tail the race trims; the population is its
    SUMMARY_POINTS evenly spaced quantiles, so a run draws from it like from measured rows. The mean
    and p5 check the fit: a miss of more than 10% (a tail heavier or lighter than lognormal, or a
    skew to the left) is reported on stderr. A summary has no cold start: none is simulated.
    """
    z95 = NormalDist().inv_cdf(0.95)
    quantiles = [NormalDist().inv_cdf((i + 0.5) / SUMMARY_POINTS) for i in range(SUMMARY_POINTS)]
    measured = {}
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in SUMMARY_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise SystemExit(f"{path}: a summary curve needs the columns {','.join(SUMMARY_COLUMNS)}")
        for number, row in enumerate(reader, start=2):
            try:
                memory = int(row["memory_mb"])
                mean, median, p5, p95 = (float(row[c]) for c in SUMMARY_COLUMNS[2:])
            except (ValueError, TypeError):
                raise SystemExit(f"{path}:{number}: expected {','.join(SUMMARY_COLUMNS)}") from None
            if not 0 < p5 <= median <= p95:
                raise SystemExit(f"{path}:{number}: needs 0 < p5_ms <= median_ms <= p95_ms")
            sigma = math.log(p95 / median) / z95
            for name, fitted, given in (
                ("mean", median * math.exp(sigma**2 / 2), mean),
                ("p5", median * math.exp(-z95 * sigma), p5),
            ):
                if given > 0 and abs(fitted / given - 1) > SUMMARY_CHECK:
                    print(
                        f"{path}:{number}: {memory} MB: the lognormal fitted to median and p95 has "
                        f"{name} {fitted:.1f} ms, measured {given:.1f} ms",
                        file=sys.stderr,
                    )
            measured[memory] = Population(
                tuple(Obs(round(median * math.exp(sigma * z), 2)) for z in quantiles)
            )
    return Curve(f"summary:{path.stem}", "x86_64", _non_empty(measured, path))


def _truthy(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "cold")


def _non_empty(measured: dict[int, Population], path: Path) -> dict[int, Population]:
    if len(measured) < 2:
        raise SystemExit(f"{path}: a curve needs at least two memory sizes, found {sorted(measured)}")
    return measured


def load_curves(spec: str) -> list[Curve]:
    """Curves named by `FILE`, `FILE#runtime` or `FILE#runtime/arch` (by the file's format)."""
    file, _, selector = spec.partition("#")
    path = Path(file)
    if not path.is_file():
        raise SystemExit(f"--curve {spec}: no such file")
    if path.suffix == ".json":
        runtime, _, arch = selector.partition("/")
        return load_mbwilding(path, runtime or None, arch or None)
    if selector:
        raise SystemExit(f"--curve {spec}: only JSON curves take #runtime/arch")
    with path.open() as handle:
        header = handle.readline()
    if "provider_time" in header:
        return [load_sebs(path)]
    return [load_summary(path) if "median_ms" in header else load_plain(path)]


def default_curve_specs() -> list[str]:
    """Every curve file in ../shared/data (beside the repository)."""
    files = sorted(DATA.glob("**/*result.csv")) + sorted(DATA.glob("*.json"))
    if not files:
        raise SystemExit(f"no curves found in {DATA}; name them with --curve FILE")
    return [str(f) for f in files]


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

    @classmethod
    def of(
        cls, chosen: int, results: Sequence[SizeResult], step_functions_usd: float, wall_ms: float = 0.0
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
) -> Run:
    """An adaptive execution: the decision step's own function, the Executor and Publisher simulated.

    The state has the state machine's layout: `request` and `run` (the Initializer's), `publish`
    (the Publisher loop's), `adaptive` (the decision step's) and `round` (the Map's results).
    """
    target = Target(curve, rng, cold=cold)
    sizes = adaptive.auto_initial_sizes() if auto else tuple(curve.sizes)
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
    config = TuningConfig(ARN, sizes, RUN_ID, 128, "", curve.architecture, sampling="adaptive")
    state: dict[str, Any] = {
        "request": request.to_dict(),
        "run": config.to_dict(),
        "publish": _publish(next_publish_state(config, None, []), curve).to_dict(),
    }
    wall = 0.0
    for _ in range(10_000):
        race = state["adaptive"] = adaptive.advance_execution(state)
        if race["done"]:
            break
        if race["publishPending"]:
            current = PublishState.from_dict(state["publish"])
            state["publish"] = _publish(next_publish_state(config, current, race["pending"]), curve).to_dict()
            continue
        reports = {item["value"]: target.invoke(item["value"], item["count"]) for item in race["batch"]}
        # A round is one Map: its sizes at once, each size's batch one invocation after the other.
        wall += max(sequential_ms(r) for r in reports.values())
        state["round"] = [adaptive.batch_result(m, r, price, TRIM).to_dict() for m, r in reports.items()]
    else:
        raise RuntimeError("adaptive run did not finish")
    # What the Analyzer reads from the finished race.
    settings = adaptive.Settings.from_request(request, config.architecture)
    results = adaptive.size_results(adaptive.AdaptiveState.from_dict(race), settings)
    survivors = [r for r in results if r.value in race["candidates"]]
    published = PublishState.from_dict(state["publish"]).published
    transitions = count_adaptive_transitions(
        len(published) + len(race["unavailable"]), race["decisions"], race["rounds"], results
    )
    return Run.of(
        choose(survivors, strategy, 0.5).value, results, step_functions_cost(transitions, REGION), wall
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
        return _quantile(regrets, 0.5) <= GOAL_MEDIAN_REGRET and _quantile(regrets, 0.9) <= GOAL_P90_REGRET

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


# -- the benchmark -----------------------------------------------------------------------------------


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize_runs(runs: Sequence[Run], truth: Truth, strategy: str) -> dict[str, Any]:
    """Mean exploration cost and regret quantiles over runs."""
    regrets = [truth.regret(strategy, r.chosen) for r in runs]
    picks: dict[int, int] = {}
    per_size: dict[int, int] = {}
    for r in runs:
        picks[r.chosen] = picks.get(r.chosen, 0) + 1
        for size, count in r.per_size.items():
            per_size[size] = per_size.get(size, 0) + count
    return {
        "gbSeconds": statistics.fmean(r.gb_seconds for r in runs),
        "invocations": statistics.fmean(r.invocations for r in runs),
        "lambdaUsd": statistics.fmean(r.lambda_usd for r in runs),
        "stepFunctionsUsd": statistics.fmean(r.step_functions_usd for r in runs),
        "wallSeconds": statistics.fmean(r.wall_ms for r in runs) / 1000,
        "regret": {
            "median": _quantile(regrets, 0.5),
            "p90": _quantile(regrets, 0.9),
            "mean": statistics.fmean(regrets),
            "max": max(regrets),
        },
        "picks": {str(k): v for k, v in sorted(picks.items())},
        "invocationsPerSize": {str(k): round(v / len(runs), 1) for k, v in sorted(per_size.items())},
    }


def benchmark_curve(
    curve: Curve,
    strategy: str,
    *,
    runs: int,
    seed: int,
    methods: Sequence[str],
    confidence: float,
    tolerance: float,
    cold: bool,
) -> dict[str, Any]:
    """Every method on one curve and strategy, `runs` seeded runs each."""
    price = lambda_price(REGION, curve.architecture)
    universe = set(curve.sizes)
    if "adaptive-auto" in methods:
        universe |= {m for m in adaptive.auto_grid() if curve.sizes[0] <= m <= curve.sizes[-1]}
    truth = Truth.of(curve, universe, price)
    # What one cold first invocation per size costs: paid by any method that measures every size.
    cold_gb_s = (
        sum(
            statistics.fmean(o.report(m).billed_total_ms for o in (curve.at(m).first or curve.at(m).steady))
            * m
            / 1024
            / 1000
            for m in curve.sizes
        )
        if cold
        else 0.0
    )
    out: dict[str, Any] = {
        "best": truth.best(strategy),
        "coldStartGbSeconds": cold_gb_s,
        "truth": {
            str(m): {"cost": r.average_price, "duration": r.average_duration}
            for m, r in sorted(truth.results.items())
            if m in curve.measured
        },
        "methods": {},
    }
    for method in methods:
        started = time.perf_counter()
        done: list[Run] = []
        if method == "parrotfish":
            if strategy != "cost":
                continue  # Parrotfish minimises duration x memory only
            done = [
                run_parrotfish(
                    curve, Random(f"{seed}:{curve.name}:{strategy}:{method}:{i}"), price, cold=cold
                )
                for i in range(runs)
            ]
            # It recommends any MB of its space: the truth of what it chose, interpolated like "auto".
            picked = Truth.of(curve, set(truth.results) | {r.chosen for r in done}, price)
            out["methods"][method] = summarize_runs(done, picked, strategy)
            out["methods"][method]["seconds"] = round(time.perf_counter() - started, 2)
            continue
        if method == "oracle":
            num, done = oracle_runs(curve, strategy, truth, runs=runs, seed=seed, price=price)
            out["methods"][method] = {"num": num, **summarize_runs(done, truth, strategy)}
            out["methods"][method]["seconds"] = round(time.perf_counter() - started, 2)
            continue
        for i in range(runs):
            # Seeded per curve, strategy, method and run: any subset of them reruns identically.
            rng = Random(f"{seed}:{curve.name}:{strategy}:{method}:{i}")
            if method.startswith("fixed-"):
                done.append(run_fixed(curve, strategy, int(method[6:]), rng, price, cold=cold))
            else:
                done.append(
                    run_adaptive(
                        curve,
                        strategy,
                        rng,
                        price,
                        auto=method == "adaptive-auto",
                        confidence=confidence,
                        tolerance=tolerance,
                        cold=cold,
                    )
                )
        out["methods"][method] = summarize_runs(done, truth, strategy)
        out["methods"][method]["seconds"] = round(time.perf_counter() - started, 2)
    for figures in out["methods"].values():
        figures["regretGoalMet"] = (
            figures["regret"]["median"] <= GOAL_MEDIAN_REGRET and figures["regret"]["p90"] <= GOAL_P90_REGRET
        )
    reference = out["methods"].get("fixed-50")
    if reference:
        out["coldStartShareOfFixed50"] = out["coldStartGbSeconds"] / reference["gbSeconds"]
        for figures in out["methods"].values():
            figures["gbSecondsVsFixed50"] = figures["gbSeconds"] / reference["gbSeconds"]
            figures["wallVsFixed50"] = figures["wallSeconds"] / reference["wallSeconds"]
    return out


def goals(report: dict[str, Any]) -> dict[str, Any]:
    """The goals of adaptive and adaptive-auto over every curve and strategy measured, met or not."""
    out: dict[str, Any] = {}
    pairs = [
        (curve, strategy, figures["methods"])
        for curve, strategies in report["curves"].items()
        for strategy, figures in strategies.items()
    ]
    for method, target in GOAL_GB_S_GEOMEAN.items():
        rows = [(c, s, m[method]) for c, s, m in pairs if method in m]
        if not rows:
            continue
        ratios = [(c, f["gbSecondsVsFixed50"]) for c, _, f in rows if "gbSecondsVsFixed50" in f]
        geomean = {
            "all": _geomean([r for _, r in ratios]),
            "sebs": _geomean([r for c, r in ratios if c.startswith("sebs:")]),
        }
        parrotfish = [
            (c, f["gbSeconds"], m["parrotfish"]["gbSeconds"])
            for c, s, m in pairs
            if "parrotfish" in m
            for f in [m.get(method)]
            if f
        ]
        out[method] = {
            "gbSecondsGeomeanVsFixed50": geomean,
            "gbSecondsGoal": target,
            "gbSecondsGoalMet": all(g is not None and g <= target for g in geomean.values()),
            "regretMissed": [f"{c} {s}" for c, s, f in rows if not f["regretGoalMet"]],
            "notBelowParrotfish": [c for c, ours, theirs in parrotfish if ours >= theirs],
            "slowerThanFixed50": [f"{c} {s}" for c, s, f in rows if f.get("wallVsFixed50", 0.0) > 1],
        }
    return out


def _geomean(values: Sequence[float]) -> float | None:
    return math.exp(statistics.fmean(math.log(v) for v in values)) if values else None


def table(report: dict[str, Any]) -> str:
    """The figures as a Markdown table, one row per curve, strategy and method."""
    lines = [
        "| curve | strategy | method | GB-s | vs fixed-50 | invocations | wall s | Lambda $ | SFN $ "
        "| median regret | p90 regret |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for curve, strategies in report["curves"].items():
        for strategy, figures in strategies.items():
            base = figures["methods"].get("fixed-50", {}).get("gbSeconds")
            for method, f in figures["methods"].items():
                ratio = f"{f['gbSeconds'] / base:.1%}" if base else "-"
                lines.append(
                    f"| {curve} | {strategy} | {method} | {f['gbSeconds']:.1f} | {ratio} | "
                    f"{f['invocations']:.0f} | {f['wallSeconds']:.1f} | {f['lambdaUsd']:.6f} | "
                    f"{f['stepFunctionsUsd']:.5f} | {f['regret']['median']:.2%} | {f['regret']['p90']:.2%} |"
                )
    return "\n".join(lines)


COMPACT_METHODS = ("adaptive", "adaptive-auto", "parrotfish", "oracle")


def compact_table(report: dict[str, Any]) -> str:
    """One row per curve and strategy: GB-s vs fixed-50, regret and wall time per method; the goals."""
    lines = [
        "| curve | strategy | fixed-50: GB-s, wall | "
        + " | ".join(f"{m}: GB-s vs fixed-50, regret median / p90, wall" for m in COMPACT_METHODS)
        + " |",
        "|---|---|---|" + "---|" * len(COMPACT_METHODS),
    ]
    for curve, strategies in report["curves"].items():
        for strategy, figures in strategies.items():
            methods = figures["methods"]
            base = methods.get("fixed-50")
            cells = [f"{base['gbSeconds']:.1f}, {_seconds(base['wallSeconds'])}" if base else "-"]
            for method in COMPACT_METHODS:
                f = methods.get(method)
                if f is None:
                    cells.append("-")
                    continue
                mark = "" if method in ("parrotfish", "oracle") else ("✔ " if f["regretGoalMet"] else "✘ ")
                ratio = f"{f['gbSecondsVsFixed50']:.1%}" if "gbSecondsVsFixed50" in f else "-"
                num = f" (n={f['num']})" if "num" in f else ""
                cells.append(
                    f"{mark}{ratio}{num}, {f['regret']['median']:.1%} / {f['regret']['p90']:.1%}, "
                    f"{_seconds(f['wallSeconds'])}"
                )
            lines.append(f"| {curve} | {strategy} | " + " | ".join(cells) + " |")
    lines.append("")
    for method, g in report.get("goals", {}).items():
        geomean = g["gbSecondsGeomeanVsFixed50"]
        lines.append(
            f"- {method}: GB-s geomean vs fixed-50 {_ratio(geomean['all'])} (SeBS alone "
            f"{_ratio(geomean['sebs'])}), goal <= {g['gbSecondsGoal']:.0%}; regret goal missed on "
            f"{len(g['regretMissed'])}: {', '.join(g['regretMissed']) or 'none'}; not below Parrotfish: "
            f"{', '.join(g['notBelowParrotfish']) or 'none'}; slower than fixed-50: "
            f"{', '.join(g['slowerThanFixed50']) or 'none'}"
        )
    return "\n".join(lines)


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.exploration",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--curve", action="append", help="FILE, FILE#runtime or FILE#runtime/arch (repeatable)"
    )
    parser.add_argument(
        "--strategy",
        action="append",
        help="cost, speed or balanced (repeatable or comma-separated; default all)",
    )
    parser.add_argument("--method", action="append", help=f"one of {', '.join(METHODS)} (default all)")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--confidence", type=float, default=adaptive.DEFAULT_CONFIDENCE)
    parser.add_argument("--tolerance", type=float, default=adaptive.DEFAULT_TOLERANCE)
    parser.add_argument(
        "--no-cold", action="store_true", help="draw every invocation from the steady state (no cold start)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument(
        "--compact",
        action="store_true",
        help="one row per curve and strategy (fixed-50, adaptive, auto, parrotfish, oracle) and the goals",
    )
    args = parser.parse_args(argv)
    args.strategy = _split(args.strategy, STRATEGIES, "--strategy")
    args.method = _split(args.method, METHODS, "--method")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def _split(values: list[str] | None, allowed: Sequence[str], option: str) -> list[str]:
    items = [v.strip() for value in values or [] for v in value.split(",") if v.strip()] or list(allowed)
    for item in items:
        if item not in allowed:
            raise SystemExit(f"{option} {item!r}: choose from {', '.join(allowed)}")
    return list(dict.fromkeys(items))


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and print it; returns the report."""
    args = parse_args(argv)
    curves = [c for spec in args.curve or default_curve_specs() for c in load_curves(spec)]
    report: dict[str, Any] = {
        "command": "python -m benchmarks.exploration " + " ".join(sys.argv[1:] if argv is None else argv),
        "settings": {
            "runs": args.runs,
            "seed": args.seed,
            "confidence": args.confidence,
            "tolerance": args.tolerance,
            "adaptiveNum": ADAPTIVE_NUM,
            "discardTopBottom": TRIM,
            "coldStarts": not args.no_cold,
            "region": REGION,
        },
        "curves": {},
    }
    for curve in curves:
        report["curves"][curve.name] = {
            strategy: benchmark_curve(
                curve,
                strategy,
                runs=args.runs,
                seed=args.seed,
                methods=args.method,
                confidence=args.confidence,
                tolerance=args.tolerance,
                cold=not args.no_cold,
            )
            for strategy in args.strategy
        }
    report["goals"] = goals(report)
    print(
        json.dumps(report, indent=1)
        if args.json
        else compact_table(report)
        if args.compact
        else table(report)
    )
    return report


if __name__ == "__main__":
    main()
