"""Leave-one-curve-out: each constant chosen by looking at figures, chosen again without the curve tested.

    python -m benchmarks.exploration --loo --runs 30 --seed 11
    python -m benchmarks.exploration --loo --loo-by function --runs 30 --seed 11

The model's constants that were chosen by looking at the benchmark's figures (`TUNED`: the fit's
slack, the standard errors that reject a fit, the number of probes, the span of the cost probes,
the quota slice) are searched on a small grid (`grid`: the
shipped values, and each constant moved one step down and up on its own). Every configuration runs
on every curve and strategy with the same seeded draws; then, for each held-out curve, the
configuration is chosen on the other curves alone (fewest pairs over the regret goal, then the
lowest geometric mean of GB-seconds against fixed num=50 over adaptive and "auto"; ties to the
shipped values), and the held-out curve's figures are those of that configuration. "In-sample" is the
configuration chosen on every curve, the held-out one included; "shipped" is the constants as they are.

`--loo-by function` holds out every curve of one function together: the mbwilding curves are one
function (500 S3 puts) on 4 runtimes and 2 architectures, so leaving out one of them still tunes on
its seven siblings.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from benchmarks.exploration_simulation import GOAL_MEDIAN_REGRET, GOAL_P90_REGRET
from powertuning.adaptive import model

METHODS = ("adaptive", "adaptive-auto")
# name -> (the attribute of powertuning.adaptive.model, the values tried besides the shipped one).
TUNED: Mapping[str, tuple[str, tuple[float, ...]]] = {
    "slack": ("MODEL_SLACK", (0.02, 0.05)),
    "fitZ": ("FIT_Z", (2.5, 4.0)),
    "probes": ("PROBES", (5,)),
    "probeSpan": ("PROBE_SPAN", (3, 6)),
    "sliceMs": ("QUOTA_SLICE_MS", (10.0, 40.0)),
}

Config = dict[str, float]
# (curve, strategy) -> method -> {"gbs": share of fixed-50, "median": regret, "p90": regret}
Scores = dict[tuple[str, str], dict[str, dict[str, float]]]


def shipped() -> Config:
    """The constants as the model module has them."""
    return {name: float(getattr(model, attr)) for name, (attr, _) in TUNED.items()}


def grid() -> list[Config]:
    """The shipped constants, then each one moved on its own to every value tried."""
    base = shipped()
    out = [base]
    for name, (_, values) in TUNED.items():
        out.extend({**base, name: float(v)} for v in values if float(v) != base[name])
    return out


@contextmanager
def applied(config: Config) -> Iterator[None]:
    """The model module's constants set to `config` for the duration, then restored."""
    saved = {attr: getattr(model, attr) for attr, _ in TUNED.values()}
    try:
        for name, value in config.items():
            attr = TUNED[name][0]
            setattr(model, attr, type(saved[attr])(value))
        yield
    finally:
        for attr, value in saved.items():
            setattr(model, attr, value)


def scores_of(report: Mapping[str, Any]) -> Scores:
    """Per curve and strategy, adaptive's and auto's share of fixed-50 and regret quantiles."""
    out: Scores = {}
    for curve, strategies in report["curves"].items():
        for strategy, figures in strategies.items():
            out[(curve, strategy)] = {
                method: {
                    "gbs": f["gbSecondsVsFixed50"],
                    "median": f["regret"]["median"],
                    "p90": f["regret"]["p90"],
                }
                for method, f in figures["methods"].items()
                if method in METHODS
            }
    return out


def missed(figures: Mapping[str, float]) -> bool:
    """Over the regret goal (median or p90)."""
    return figures["median"] > GOAL_MEDIAN_REGRET or figures["p90"] > GOAL_P90_REGRET


def loss(scores: Scores, pairs: Sequence[tuple[str, str]]) -> tuple[int, float]:
    """Pairs over the regret goal (both methods), then the log geomean of GB-s vs fixed-50."""
    cells = [scores[p][m] for p in pairs for m in METHODS if m in scores[p]]
    misses = sum(missed(c) for c in cells)
    mean_log = sum(math.log(max(c["gbs"], 1e-9)) for c in cells) / max(1, len(cells))
    return misses, mean_log


def choose(all_scores: Sequence[Scores], pairs: Sequence[tuple[str, str]]) -> int:
    """The configuration with the lowest loss on `pairs` (ties to the earlier: the shipped one first)."""
    return min(range(len(all_scores)), key=lambda i: (*loss(all_scores[i], pairs), i))


def unit(curve: str, by: str) -> str:
    """What is held out together: the curve, or (by function) every mbwilding curve at once."""
    if by == "function" and curve.startswith("mbwilding:"):
        return "mbwilding"
    return curve


def leave_one_out(
    configs: Sequence[Config], all_scores: Sequence[Scores], by: str = "curve"
) -> dict[str, Any]:
    """Each held-out unit's figures with the configuration chosen without it, beside the in-sample ones."""
    pairs = list(all_scores[0])
    units = list(dict.fromkeys(unit(c, by) for c, _ in pairs))
    everywhere = choose(all_scores, pairs)
    held: dict[str, Any] = {}
    loo: Scores = {}
    for name in units:
        training = [p for p in pairs if unit(p[0], by) != name]
        index = choose(all_scores, training)
        held[name] = {"config": _diff(configs[index], configs[0]) or "shipped"}
        for p in pairs:
            if unit(p[0], by) == name:
                loo[p] = all_scores[index][p]
    return {
        "by": by,
        "configs": configs,
        "inSampleConfig": _diff(configs[everywhere], configs[0]) or "shipped",
        "heldOut": held,
        "summary": {
            "shipped": _summary(all_scores[0]),
            "inSample": _summary(all_scores[everywhere]),
            "leaveOneOut": _summary(loo),
        },
        "pairs": {
            f"{c} {s}": {
                "shipped": all_scores[0][(c, s)],
                "inSample": all_scores[everywhere][(c, s)],
                "leaveOneOut": loo[(c, s)],
            }
            for c, s in pairs
        },
    }


def _diff(config: Config, base: Config) -> dict[str, float]:
    return {k: v for k, v in config.items() if v != base[k]}


def _summary(scores: Scores) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for method in METHODS:
        cells = {p: f[method] for p, f in scores.items() if method in f}
        if not cells:
            continue
        logs = [math.log(max(c["gbs"], 1e-9)) for c in cells.values()]
        sebs = [math.log(max(c["gbs"], 1e-9)) for p, c in cells.items() if p[0].startswith("sebs:")]
        out[method] = {
            "gbSecondsGeomeanVsFixed50": math.exp(sum(logs) / len(logs)),
            "sebsGeomean": math.exp(sum(sebs) / len(sebs)) if sebs else None,
            "regretMissed": [f"{c} {s}" for (c, s), f in cells.items() if missed(f)],
            "worstMedian": max(c["median"] for c in cells.values()),
            "worstP90": max(c["p90"] for c in cells.values()),
        }
    return out


def loo_table(result: Mapping[str, Any]) -> str:
    """Markdown: the summary (shipped, in-sample, leave-one-out), the held-out choices, every pair."""
    lines = [
        f"Leave-one-out by {result['by']}; in-sample configuration: {result['inSampleConfig']}",
        "",
        "| method | shipped: GB-s vs fixed-50 (SeBS), pairs over regret | in-sample | leave-one-out "
        "| LOO / in-sample |",
        "|---|---|---|---|---|",
    ]
    summary = result["summary"]
    for method in METHODS:
        if method not in summary["shipped"]:
            continue
        cells = [summary[k][method] for k in ("shipped", "inSample", "leaveOneOut")]
        ratio = cells[2]["gbSecondsGeomeanVsFixed50"] / cells[1]["gbSecondsGeomeanVsFixed50"]
        lines.append(f"| {method} | " + " | ".join(_cell(c) for c in cells) + f" | {ratio:.2f}x |")
    lines += ["", "| held out | configuration chosen without it |", "|---|---|"]
    lines += [f"| {name} | {held['config']} |" for name, held in result["heldOut"].items()]
    lines += [
        "",
        "| pair | method | in-sample: GB-s, median / p90 | leave-one-out: GB-s, median / p90 |",
        "|---|---|---|---|",
    ]
    for pair, figures in result["pairs"].items():
        for method in METHODS:
            if method in figures["inSample"]:
                a, b = figures["inSample"][method], figures["leaveOneOut"][method]
                lines.append(f"| {pair} | {method} | {_pair(a)} | {_pair(b)} |")
    return "\n".join(lines)


def _cell(c: Mapping[str, Any]) -> str:
    sebs = f" ({c['sebsGeomean']:.1%})" if c["sebsGeomean"] is not None else ""
    return f"{c['gbSecondsGeomeanVsFixed50']:.1%}{sebs}, {len(c['regretMissed'])}"


def _pair(f: Mapping[str, float]) -> str:
    mark = "✘" if missed(f) else "✔"
    return f"{mark} {f['gbs']:.1%}, {f['median']:.1%} / {f['p90']:.1%}"
