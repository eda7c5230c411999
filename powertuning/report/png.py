"""The chart as a PNG (matplotlib, Agg canvas): for pull requests, chat and slides.

matplotlib is the optional `report` extra; it is imported only here, when a PNG is asked for.
The figure is built on an explicit Agg canvas, so no GUI backend or pyplot state is involved.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from powertuning import layout
from powertuning.errors import PowerTuningError
from powertuning.report.result import TuningResult
from powertuning.report.scale import duration_reach
from powertuning.report.svg import PALETTE


class MissingDependencyError(PowerTuningError):
    """An optional dependency needed for the requested output is not installed."""


def write_png(
    path: Path, results: Sequence[TuningResult], *, title: str | None = None, dpi: int = 120
) -> int:
    """Draw duration and cost against memory size into a PNG; returns its size in bytes."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise MissingDependencyError(
            f"a PNG chart needs matplotlib: {layout.install_command('report')}"
        ) from exc

    # Input `architectures`: one curve per architecture.
    results = [part for r in results for part in r.by_architecture()]
    categories = sorted({s.value for r in results for s in r.sizes})
    position = {value: i for i, value in enumerate(categories)}
    figure = Figure(figsize=(9, 4.6), layout="constrained")
    FigureCanvasAgg(figure)
    duration_ax = figure.add_subplot()
    cost_ax = duration_ax.twinx()
    # The axis reaches the averages and p90s; a p99 above it is cut there and marked (scale.py).
    ceiling = (duration_reach(s for r in results for s in r.sizes) or 1.0) * (1.1 + 0.08 * len(results))
    outliers = False
    for index, result in enumerate(results):
        d_color, c_color = PALETTE[index % len(PALETTE)]
        prefix = f"{result.label} " if result.label else ""
        offset = (index - (len(results) - 1) / 2) * 0.08
        xs = [position[s.value] + offset for s in result.sizes]
        ranged = [
            (x, s.p50, s.p99)
            for x, s in zip(xs, result.sizes, strict=True)
            if s.p50 is not None and s.p99 is not None
        ]
        if ranged:
            duration_ax.vlines(
                [x for x, _, _ in ranged], [lo for _, lo, _ in ranged],
                [min(hi, ceiling) for _, _, hi in ranged], colors=d_color, alpha=0.3, linewidth=6,
            )  # fmt: skip
            above = [x for x, _, hi in ranged if hi > ceiling]
            if above:
                duration_ax.plot(
                    above, [ceiling] * len(above), "^", color=d_color, markersize=8, clip_on=False,
                    label=None if outliers else "p99 above the axis",
                )  # fmt: skip
                outliers = True
        duration_ax.plot(
            xs, [s.average_duration for s in result.sizes], "o-", color=d_color, label=f"{prefix}duration"
        )
        cost_ax.plot(
            xs, [s.average_price * 1e6 for s in result.sizes], "s--", color=c_color, label=f"{prefix}cost"
        )
        best = result.recommended
        if best is not None:
            x = position[best.value] + offset
            duration_ax.plot(
                [x], [best.average_duration], "o", markersize=16, markerfacecolor="none",
                markeredgecolor=d_color, markeredgewidth=2,
            )  # fmt: skip
            if len(results) == 1:
                duration_ax.axvspan(x - 0.5, x + 0.5, color="#fff3bf", zorder=0)
            duration_ax.annotate(
                f"{prefix}{best.value} MB" if prefix else f"recommended {best.value} MB",
                (x, 1), xycoords=("data", "axes fraction"), textcoords="offset points",
                xytext=(0, -14 - 13 * index), ha="center", color=d_color, fontweight="bold",
            )  # fmt: skip
    duration_ax.set_xticks(range(len(categories)), [str(c) for c in categories])
    if len(categories) > 14:
        duration_ax.tick_params(axis="x", labelrotation=60)
    duration_ax.set_xlabel("Memory (MB)")
    duration_ax.set_ylabel("Average duration (ms)")
    # Headroom for the recommendation labels, and half a category beyond each end for their width.
    duration_ax.set_ylim(0, ceiling)
    duration_ax.set_xlim(-0.75, len(categories) - 0.25)
    duration_ax.grid(axis="y", color="#e3e6ea")
    cost_ax.set_ylabel(f"Cost per 1M invocations ({results[0].currency if results else 'USD'})")
    cost_ax.set_ylim(bottom=0)  # from 0, as in the HTML chart: small differences are not magnified
    handles = duration_ax.get_legend_handles_labels()[0] + cost_ax.get_legend_handles_labels()[0]
    # Below the plot, so it never hides a point, the recommendation's label or the title.
    figure.legend(handles=handles, loc="outside lower center", ncols=min(4, len(handles)), fontsize="small")
    if title:
        figure.suptitle(title)
    figure.savefig(path, format="png", dpi=dpi)
    return Path(path).stat().st_size
