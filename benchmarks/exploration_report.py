"""Reporting for the exploration benchmark: figures per method, the goals, the tables."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from benchmarks.exploration_robustness import claim_holds
from benchmarks.exploration_simulation import Run, Truth, quantile

# Goals ("the cheapest tuner at the same confidence"), against fixed num=50 with parallelInvocation
# false: regret on every curve and strategy (GOAL_MEDIAN_REGRET, GOAL_P90_REGRET); GB-seconds as a
# geometric mean over them (every curve, and SeBS alone); below Parrotfish on every cost curve; wall
# time no worse than fixed-50.
GOAL_GB_S_GEOMEAN = {"adaptive": 0.08, "adaptive-auto": 0.05}


def summarize_runs(
    runs: Sequence[Run], truth: Truth, strategy: str, tolerance: float | None = None
) -> dict[str, Any]:
    """Mean exploration cost and regret quantiles over runs; with `tolerance`, the statement's coverage.

    Coverage: the share of runs whose confidence statement holds on the truth (`claim_holds`), None
    for runs that make none (fixed sampling, Parrotfish).
    """
    regrets = [truth.regret(strategy, r.chosen) for r in runs]
    holds = [h for r in runs if tolerance is not None for h in [claim_holds(r, truth, strategy, tolerance)]]
    claims = [h for h in holds if h is not None]
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
            "median": quantile(regrets, 0.5),
            "p90": quantile(regrets, 0.9),
            "mean": statistics.fmean(regrets),
            "max": max(regrets),
        },
        "coverage": statistics.fmean(claims) if claims else None,
        "picks": {str(k): v for k, v in sorted(picks.items())},
        "invocationsPerSize": {str(k): round(v / len(runs), 1) for k, v in sorted(per_size.items())},
    }


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
            "coverageBelowConfidence": [
                f"{c} {s} ({f['coverage']:.0%})"
                for c, s, f in rows
                if f.get("coverage") is not None and f["coverage"] < report["settings"]["confidence"]
            ],
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
                holds = f", holds {f['coverage']:.0%}" if f.get("coverage") is not None else ""
                cells.append(
                    f"{mark}{ratio}{num}, {f['regret']['median']:.1%} / {f['regret']['p90']:.1%}, "
                    f"{_seconds(f['wallSeconds'])}{holds}"
                )
            lines.append(f"| {curve} | {strategy} | " + " | ".join(cells) + " |")
    lines.append("")
    for method, g in report.get("goals", {}).items():
        geomean = g["gbSecondsGeomeanVsFixed50"]
        lines.append(
            f"- {method}: GB-s geomean vs fixed-50 {_ratio(geomean['all'])} (SeBS alone "
            f"{_ratio(geomean['sebs'])}), goal <= {g['gbSecondsGoal']:.0%}; regret goal missed on "
            f"{len(g['regretMissed'])}: {', '.join(g['regretMissed']) or 'none'}; statement holds in fewer "
            f"runs than the confidence on: {', '.join(g['coverageBelowConfidence']) or 'none'}; "
            f"not below Parrotfish: "
            f"{', '.join(g['notBelowParrotfish']) or 'none'}; slower than fixed-50: "
            f"{', '.join(g['slowerThanFixed50']) or 'none'}"
        )
    return "\n".join(lines)


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"
