"""Exploration cost: adaptive sampling against the reference's fixed `num`, on measured Lambda curves.

    python -m benchmarks.exploration --curve FILE [--curve FILE ...] --strategy cost \
        --runs 200 --seed 1 --json

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
(state transitions of that run, counted as the Analyzer counts them).
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
METHODS = (*(f"fixed-{n}" for n in FIXED_NUMS), "adaptive", "adaptive-auto", "oracle")
TRIM = 0.2
ORACLE_MAX_NUM = 100
ADAPTIVE_NUM = 50  # the budget cap of adaptive runs: the same num as the baseline they must beat
# The goal of issue 6, against fixed num=50.
GOAL_GB_S_RATIO = 0.1
GOAL_MEDIAN_REGRET = 0.01
GOAL_P90_REGRET = 0.03


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
    return [load_sebs(path) if "provider_time" in header else load_plain(path)]


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

    @classmethod
    def of(cls, chosen: int, results: Sequence[SizeResult], step_functions_usd: float) -> Run:
        """What a run chose, with the invocations and cost its per-size results add up to."""
        return cls(
            chosen=chosen,
            per_size={r.value: r.invocations for r in results},
            gb_seconds=sum(r.gb_seconds for r in results),
            invocations=sum(r.invocations for r in results),
            lambda_usd=sum(r.total_cost for r in results),
            step_functions_usd=step_functions_usd,
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


def run_fixed(curve: Curve, strategy: str, num: int, rng: Random, price: LambdaPrice, *, cold: bool) -> Run:
    """The reference algorithm: every size `num` times, trimmed mean, `choose`."""
    target = Target(curve, rng, cold=cold)
    results = [summarize(m, target.invoke(m, num), price, TRIM) for m in curve.sizes]
    transitions = count_transitions(len(results), results)
    return Run.of(choose(results, strategy, 0.5).value, results, step_functions_cost(transitions, REGION))


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
    for _ in range(10_000):
        race = state["adaptive"] = adaptive.advance_execution(state)
        if race["done"]:
            break
        if race["publishPending"]:
            current = PublishState.from_dict(state["publish"])
            state["publish"] = _publish(next_publish_state(config, current, race["pending"]), curve).to_dict()
            continue
        state["round"] = [
            adaptive.batch_result(
                item["value"], target.invoke(item["value"], item["count"]), price, TRIM
            ).to_dict()
            for item in race["batch"]
        ]
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
    return Run.of(choose(survivors, strategy, 0.5).value, results, step_functions_cost(transitions, REGION))


def run_oracle(
    curve: Curve, strategy: str, truth: Truth, *, num: int, rng: Random, price: LambdaPrice
) -> Run:
    """A lower bound for any method: the two truly best sizes only, `num` warm invocations each."""
    finalists = sorted(curve.sizes, key=lambda m: truth.objective(strategy, m))[:2]
    target = Target(curve, rng, cold=False)
    results = [summarize(m, target.invoke(m, num), price, TRIM) for m in finalists]
    return Run.of(min(results, key=lambda r: truth.score(strategy, r)).value, results, 0.0)


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
    reference = out["methods"].get("fixed-50")
    if reference:
        for method, figures in out["methods"].items():
            if method.startswith(("adaptive", "oracle")):
                ratio = figures["gbSeconds"] / reference["gbSeconds"]
                figures["gbSecondsVsFixed50"] = ratio
                figures["coldStartShareOfFixed50"] = out["coldStartGbSeconds"] / reference["gbSeconds"]
                figures["goalMet"] = (
                    ratio <= GOAL_GB_S_RATIO
                    and figures["regret"]["median"] <= GOAL_MEDIAN_REGRET
                    and figures["regret"]["p90"] <= GOAL_P90_REGRET
                )
    return out


def table(report: dict[str, Any]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| curve | strategy | method | GB-s | vs fixed-50 | invocations | Lambda $ | SFN $ "
        "| median regret | p90 regret |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for curve, strategies in report["curves"].items():
        for strategy, figures in strategies.items():
            base = figures["methods"].get("fixed-50", {}).get("gbSeconds")
            for method, f in figures["methods"].items():
                ratio = f"{f['gbSeconds'] / base:.1%}" if base else "-"
                lines.append(
                    f"| {curve} | {strategy} | {method} | {f['gbSeconds']:.1f} | {ratio} | "
                    f"{f['invocations']:.0f} | {f['lambdaUsd']:.6f} | {f['stepFunctionsUsd']:.5f} | "
                    f"{f['regret']['median']:.2%} | {f['regret']['p90']:.2%} |"
                )
    return "\n".join(lines)


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
    print(json.dumps(report, indent=1) if args.json else table(report))
    return report


if __name__ == "__main__":
    main()
