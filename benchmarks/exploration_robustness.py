"""The robustness suite: adaptive and "auto" on generated curves (exploration_generated), and coverage.

    python -m benchmarks.exploration --generated 300 --runs 3 --seed 11

For every generated curve and strategy, `runs` seeded runs of each method. Reported over the
curve x strategy pairs: GB-seconds as a share of fixed num=50 over the listed sizes (its expected
cost: one cold and 49 steady invocations per size, from the curve's own samples), regret (against the
best listed size for `adaptive`, the best size of the listed sizes and the grid for "auto"), and
coverage: the share of runs whose confidence statement (`adaptive.outcome.confidence_statement`)
holds on the truth. A statement holds when no other size it speaks of is better than the pick by
more than it says: `withinPct` for the sizes it could not separate, the tolerance for every other
size measured (dropped by the race). It should hold in at least `confidence` of the runs. Also
reported: the share of runs whose pick is within the tolerance of the best size of all (those never
measured included: what a user would want the statement to mean).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from random import Random
from typing import Any

from benchmarks.exploration_curves import Curve
from benchmarks.exploration_generated import Shape, generate, residual_pools
from benchmarks.exploration_simulation import (
    GOAL_MEDIAN_REGRET,
    GOAL_P90_REGRET,
    REGION,
    Run,
    Truth,
    quantile,
    run_adaptive,
    run_parrotfish,
)
from powertuning.pricing import LambdaPrice, lambda_price

METHODS = ("adaptive", "adaptive-auto")
# Parrotfish (cost only, its defaults: exploration_simulation.run_parrotfish) beside them on the cost
# curves: the "below Parrotfish on every cost curve", on curves nobody tuned on.
BASELINE = "parrotfish"


def fixed50_gb_seconds(curve: Curve, listed: Sequence[int], num: int = 50) -> float:
    """Expected GB-s of fixed sampling: per listed size one cold first invocation and num - 1 steady."""
    total = 0.0
    for m in listed:
        population = curve.at(m)
        first = population.first or population.steady
        cold = statistics.fmean(o.report(m).billed_total_ms for o in first)
        warm = statistics.fmean(o.report(m).billed_total_ms for o in population.steady)
        total += (cold + (num - 1) * warm) * m / 1024 / 1000
    return total


def claim_holds(run: Run, truth: Truth, strategy: str, tolerance: float) -> bool | None:
    """Whether the run's confidence statement is true of the curve; None without a statement."""
    claim = run.claim
    if not claim or claim.get("pick") is None:
        return None
    measured = [m for m, n in run.per_size.items() if n > 0 and m in truth.results]
    pick = int(claim["pick"])
    bounds = {int(s["value"]): s["withinPct"] for s in claim["notSeparated"]}
    objective = _objectives(truth, strategy, measured)
    for value in measured:
        if value == pick:
            continue
        within = bounds.get(value, tolerance * 100)
        if within is None:
            continue  # "too few samples to compare": no claim made
        if objective[value] < objective[pick] * (1 - within / 100) - 1e-12:
            return False
    return True


def _objectives(truth: Truth, strategy: str, sizes: Sequence[int]) -> dict[int, float]:
    # The race's own objective: balanced normalised by the largest cost and duration measured.
    results = {m: truth.results[m] for m in sizes}
    if strategy == "cost":
        return {m: r.average_price for m, r in results.items()}
    if strategy == "speed":
        return {m: r.average_duration for m, r in results.items()}
    max_cost = max(r.average_price for r in results.values())
    max_duration = max(r.average_duration for r in results.values())
    return {
        m: 0.5 * r.average_price / max_cost + 0.5 * r.average_duration / max_duration
        for m, r in results.items()
    }


def run_generated(
    count: int,
    *,
    runs: int,
    seed: int,
    strategies: Sequence[str],
    confidence: float,
    tolerance: float,
    cold: bool,
    pool_specs: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Every method on `count` generated curves, `runs` runs per curve and strategy."""
    pools = residual_pools(pool_specs)
    cells: dict[str, list[dict[str, Any]]] = {m: [] for m in (*METHODS, BASELINE)}
    for index in range(count):
        curve, listed, shape = generate(index, seed, pools)
        price = lambda_price(REGION, curve.architecture)
        listed_truth = Truth.of(curve, listed, price)
        listed_truth = Truth(listed_truth.results, tuple(listed))
        every_truth = Truth.of(curve, curve.sizes, price)
        reference = fixed50_gb_seconds(curve, listed)
        for strategy in strategies:
            for method in METHODS:
                auto = method == "adaptive-auto"
                truth = every_truth if auto else listed_truth
                done = [
                    run_adaptive(
                        curve,
                        strategy,
                        Random(f"{seed}:{curve.name}:{strategy}:{method}:{i}"),
                        price,
                        auto=auto,
                        confidence=confidence,
                        tolerance=tolerance,
                        cold=cold,
                        listed=listed,
                    )
                    for i in range(runs)
                ]
                regrets = [truth.regret(strategy, r.chosen) for r in done]
                overall = [every_truth.regret(strategy, r.chosen) for r in done]
                holds = [claim_holds(r, every_truth, strategy, tolerance) for r in done]
                cells[method].append(
                    {
                        "curve": curve.name,
                        "shape": shape.kind,
                        "starved": shape.starved_below > 0,
                        "strategy": strategy,
                        "gbs": statistics.fmean(r.gb_seconds for r in done) / reference,
                        "regrets": regrets,
                        "withinTolerance": [g <= tolerance + 1e-12 for g in overall],
                        "holds": [h for h in holds if h is not None],
                    }
                )
            if strategy == "cost":
                cells[BASELINE].append(
                    _parrotfish_cell(
                        curve, shape, seed=seed, runs=runs, price=price, reference=reference, cold=cold
                    )
                )
    return {
        "curves": count,
        "vsParrotfish": _vs_parrotfish(cells),
        "runs": runs,
        "seed": seed,
        "confidence": confidence,
        "tolerance": tolerance,
        "methods": {m: _summary(c) for m, c in cells.items()},
        "byStrategy": {
            m: {
                strategy: _summary([c for c in cells[m] if c["strategy"] == strategy])
                for strategy in strategies
            }
            for m in cells
        },
        "byShape": {
            m: {
                kind: _summary([c for c in cells[m] if c["shape"] == kind])
                for kind in sorted({c["shape"] for c in cells[m]})
            }
            for m in cells
        },
    }


def _parrotfish_cell(
    curve: Curve, shape: Shape, *, seed: int, runs: int, price: LambdaPrice, reference: float, cold: bool
) -> dict[str, Any]:
    """Parrotfish's runs on one cost curve; its regret against the best of every size generated."""
    done = [
        run_parrotfish(curve, Random(f"{seed}:{curve.name}:cost:{BASELINE}:{i}"), price, cold=cold)
        for i in range(runs)
    ]
    # It recommends any MB of its space: the truth there is interpolated, as for "auto".
    truth = Truth.of(curve, set(curve.sizes) | {r.chosen for r in done}, price)
    truth = Truth(truth.results, tuple(curve.sizes))
    return {
        "curve": curve.name,
        "shape": shape.kind,
        "starved": shape.starved_below > 0,
        "strategy": "cost",
        "gbs": statistics.fmean(r.gb_seconds for r in done) / reference,
        "regrets": [truth.regret("cost", r.chosen) for r in done],
        "withinTolerance": [],
        "holds": [],
    }


def _vs_parrotfish(cells: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    """Per method, on how many cost curves it spent at least Parrotfish's GB-s, and the worst ratio."""
    theirs = {c["curve"]: c["gbs"] for c in cells[BASELINE]}
    out: dict[str, Any] = {}
    for method in METHODS:
        ratios = [
            c["gbs"] / theirs[c["curve"]]
            for c in cells[method]
            if c["strategy"] == "cost" and c["curve"] in theirs
        ]
        if ratios:
            out[method] = {
                "costCurves": len(ratios),
                "notBelow": sum(r >= 1 for r in ratios),
                "ratioGeomean": math.exp(statistics.fmean(math.log(max(r, 1e-9)) for r in ratios)),
                "ratioMax": max(ratios),
            }
    return out


def _summary(cells: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    if not cells:
        return {}
    shares = [c["gbs"] for c in cells]
    regrets = [g for c in cells for g in c["regrets"]]
    holds = [h for c in cells for h in c["holds"]]
    within = [w for c in cells for w in c["withinTolerance"]]
    missed = [
        c
        for c in cells
        if quantile(c["regrets"], 0.5) > GOAL_MEDIAN_REGRET or quantile(c["regrets"], 0.9) > GOAL_P90_REGRET
    ]
    return {
        "pairs": len(cells),
        "gbSecondsVsFixed50": {
            "geomean": math.exp(statistics.fmean(math.log(max(s, 1e-9)) for s in shares)),
            "median": quantile(shares, 0.5),
            "p90": quantile(shares, 0.9),
            "max": max(shares),
        },
        "regret": {
            "median": quantile(regrets, 0.5),
            "p90": quantile(regrets, 0.9),
            "p99": quantile(regrets, 0.99),
            "max": max(regrets),
        },
        "pairsOverRegretGoal": len(missed),
        "coverage": statistics.fmean(holds) if holds else None,
        "withinToleranceOfAll": statistics.fmean(within) if within else None,
    }


def generated_table(result: Mapping[str, Any]) -> str:
    """Markdown: per method, then per method and shape."""
    head = (
        f"{result['curves']} generated curves (seed {result['seed']}), {result['runs']} runs per curve "
        f"and strategy; confidence {result['confidence']:g}, tolerance {result['tolerance']:.0%}"
    )
    lines = [
        head,
        "",
        "| method | strategy or shape | pairs | GB-s vs fixed-50: geomean / median / p90 / max "
        "| regret median / p90 / p99 / max | pairs over 1% / 3% | statement holds (coverage) "
        "| within tolerance of every size |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for method, figures in result["methods"].items():
        rows = [("all", figures), *result["byStrategy"][method].items(), *result["byShape"][method].items()]
        if method == BASELINE:
            rows = [("cost", figures), *result["byShape"][method].items()]
        for shape, f in rows:
            if not f:
                continue
            g, r = f["gbSecondsVsFixed50"], f["regret"]
            coverage = "-" if f["coverage"] is None else f"{f['coverage']:.1%}"
            within = "-" if f["withinToleranceOfAll"] is None else f"{f['withinToleranceOfAll']:.1%}"
            lines.append(
                f"| {method} | {shape} | {f['pairs']} | "
                f"{g['geomean']:.1%} / {g['median']:.1%} / {g['p90']:.1%} / {g['max']:.1%} | "
                f"{r['median']:.1%} / {r['p90']:.1%} / {r['p99']:.1%} / {r['max']:.1%} | "
                f"{f['pairsOverRegretGoal']} | {coverage} | {within} |"
            )
    for method, vs in result.get("vsParrotfish", {}).items():
        lines.append(
            f"\n{method} against Parrotfish on {vs['costCurves']} cost curves: GB-s ratio geomean "
            f"{vs['ratioGeomean']:.2f}, worst {vs['ratioMax']:.2f}; not below it on {vs['notBelow']}"
        )
    return "\n".join(lines)
