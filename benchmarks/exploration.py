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
import json
import statistics
import sys
import time
from collections.abc import Sequence
from random import Random
from typing import Any

from benchmarks import exploration_loo, exploration_robustness
from benchmarks.exploration_curves import Curve, default_curve_specs, load_curves
from benchmarks.exploration_report import compact_table, goals, summarize_runs, table
from benchmarks.exploration_simulation import (
    ADAPTIVE_NUM,
    GOAL_MEDIAN_REGRET,
    GOAL_P90_REGRET,
    REGION,
    TRIM,
    Run,
    Truth,
    oracle_runs,
    run_adaptive,
    run_fixed,
    run_parrotfish,
)
from powertuning.input_kinds import DEFAULT_CONFIDENCE, DEFAULT_TOLERANCE, auto_grid
from powertuning.pricing import lambda_price

STRATEGIES = ("cost", "speed", "balanced")
FIXED_NUMS = (5, 10, 50, 100)
# "-plain": the race without the model of duration against memory (RaceSettings.model False), to compare.
METHODS = (
    *(f"fixed-{n}" for n in FIXED_NUMS),
    "adaptive",
    "adaptive-auto",
    "adaptive-plain",
    "adaptive-auto-plain",
    "parrotfish",
    "oracle",
)


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
    if any(m.startswith("adaptive-auto") for m in methods):
        universe |= {m for m in auto_grid() if curve.sizes[0] <= m <= curve.sizes[-1]}
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
            # A "-plain" run draws what its counterpart with the model draws: a paired comparison.
            rng = Random(f"{seed}:{curve.name}:{strategy}:{method.removesuffix('-plain')}:{i}")
            if method.startswith("fixed-"):
                done.append(run_fixed(curve, strategy, int(method[6:]), rng, price, cold=cold))
            else:
                done.append(
                    run_adaptive(
                        curve,
                        strategy,
                        rng,
                        price,
                        auto=method.startswith("adaptive-auto"),
                        model=not method.endswith("-plain"),
                        confidence=confidence,
                        tolerance=tolerance,
                        cold=cold,
                    )
                )
        out["methods"][method] = summarize_runs(done, truth, strategy, tolerance)
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
    parser.add_argument("--confidence", type=float, default=DEFAULT_CONFIDENCE)
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    parser.add_argument(
        "--no-cold", action="store_true", help="draw every invocation from the steady state (no cold start)"
    )
    parser.add_argument(
        "--loo",
        action="store_true",
        help="leave-one-curve-out: the model's tuned constants chosen again without each curve "
        "(adaptive and adaptive-auto; benchmarks/exploration_loo.py)",
    )
    parser.add_argument(
        "--loo-by",
        choices=("curve", "function"),
        default="curve",
        help="with --loo: hold out one curve, or every curve of one function (mbwilding's 8 together)",
    )
    parser.add_argument(
        "--generated",
        type=int,
        metavar="N",
        help="the robustness suite: N curves generated from Lambda's CPU model with the real curves' "
        "noise (adaptive and adaptive-auto; benchmarks/exploration_robustness.py)",
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
    if args.generated is not None and args.generated < 1:
        parser.error("--generated must be at least 1")
    if args.generated is not None and args.loo:
        parser.error("--generated and --loo are separate modes")
    return args


def _split(values: list[str] | None, allowed: Sequence[str], option: str) -> list[str]:
    items = [v.strip() for value in values or [] for v in value.split(",") if v.strip()] or list(allowed)
    for item in items:
        if item not in allowed:
            raise SystemExit(f"{option} {item!r}: choose from {', '.join(allowed)}")
    return list(dict.fromkeys(items))


def measure(curves: Sequence[Curve], args: argparse.Namespace, methods: Sequence[str]) -> dict[str, Any]:
    """Every curve and strategy with `methods`: the report's "curves"."""
    return {
        curve.name: {
            strategy: benchmark_curve(
                curve,
                strategy,
                runs=args.runs,
                seed=args.seed,
                methods=methods,
                confidence=args.confidence,
                tolerance=args.tolerance,
                cold=not args.no_cold,
            )
            for strategy in args.strategy
        }
        for curve in curves
    }


def run_loo(curves: Sequence[Curve], args: argparse.Namespace) -> dict[str, Any]:
    """Every configuration of the tuned constants on every curve, then leave-one-out (exploration_loo)."""
    reference = measure(curves, args, ["fixed-50"])
    configs = exploration_loo.grid()
    all_scores = []
    for config in configs:
        with exploration_loo.applied(config):
            done = measure(curves, args, exploration_loo.METHODS)
        for name, strategies in done.items():
            for strategy, figures in strategies.items():
                base = reference[name][strategy]["methods"]["fixed-50"]["gbSeconds"]
                for f in figures["methods"].values():
                    f["gbSecondsVsFixed50"] = f["gbSeconds"] / base
        all_scores.append(exploration_loo.scores_of({"curves": done}))
        print(f"configuration {len(all_scores)} of {len(configs)} done", file=sys.stderr)
    return exploration_loo.leave_one_out(configs, all_scores, args.loo_by)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and print it; returns the report."""
    args = parse_args(argv)
    if args.generated is not None:
        # The real curves (--curve, or ../shared/data) only lend their noise.
        generated = exploration_robustness.run_generated(
            args.generated,
            runs=args.runs,
            seed=args.seed,
            strategies=args.strategy,
            confidence=args.confidence,
            tolerance=args.tolerance,
            cold=not args.no_cold,
            pool_specs=args.curve,
        )
        print(
            json.dumps(generated, indent=1)
            if args.json
            else exploration_robustness.generated_table(generated)
        )
        return generated
    curves = [c for spec in args.curve or default_curve_specs() for c in load_curves(spec)]
    if args.loo:
        result = run_loo(curves, args)
        print(json.dumps(result, indent=1, default=str) if args.json else exploration_loo.loo_table(result))
        return result
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
        "curves": measure(curves, args, args.method),
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
