"""The duration and cost chart as inline SVG: no script, no font or image to fetch.

Memory sizes are categories on the x axis, as in the reference tool's chart: power values are
usually doublings, which a linear axis would crowd into its left edge. Average duration uses the
left axis (with a p50-p99 bar when percentiles are known), cost per million invocations the right.
The duration axis reaches the averages and p90s (`scale.duration_reach`); a p99 above it (often a
cold start) is cut at the axis and marked with a triangle at the top edge, its value in its title.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from powertuning.report.result import TuningResult
from powertuning.report.scale import Linear, decimals_for, duration_reach, label_every, nice_ticks
from powertuning.report.units import usd_per_invocation, usd_per_million

# (duration, cost) colours per series; duration lines are solid, cost lines dashed.
PALETTE = (
    ("#1f6feb", "#e8590c"),
    ("#2f9e44", "#ae3ec9"),
    ("#0c8599", "#c2255c"),
    ("#5f3dc4", "#a61e4d"),
)
WIDTH, HEIGHT = 880, 430
LEFT, RIGHT, TOP, BOTTOM = 72, 84, 56, 64


@dataclass(frozen=True)
class _Frame:
    """Where things go: x of each memory size, y of durations and of costs per 1M."""

    x_of: dict[int, float]
    y_d: Linear
    y_c: Linear
    d_ticks: Sequence[float]
    c_ticks: Sequence[float]


def _fmt(value: float, places: int) -> str:
    return f"{value:,.{places}f}"


def _colors(index: int) -> tuple[str, str]:
    return PALETTE[index % len(PALETTE)]


def render_chart(results: Sequence[TuningResult]) -> str:
    """An <svg> element with one duration and one cost line per result."""
    categories = sorted(
        {s.value for r in results for s in r.sizes} | {v for r in results for v, _ in r.skipped}
    )
    if not categories:
        return '<p class="empty">No memory size was measured.</p>'
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    band = plot_w / len(categories)
    x_of = {value: LEFT + (i + 0.5) * band for i, value in enumerate(categories)}

    reach = duration_reach(s for r in results for s in r.sizes)
    # Headroom keeps the recommendation labels (one row per result) above the highest point.
    d_ticks = nice_ticks(0.0, (reach or 1.0) * (1.1 + 0.08 * len(results)))
    y_d = Linear(d_ticks[0], d_ticks[-1], TOP + plot_h, TOP)
    costs = [s.average_price * 1e6 for r in results for s in r.sizes]
    # From 0, like the duration axis: a cost axis starting near the cheapest size would make a 5%
    # difference look like a factor of ten.
    c_ticks = nice_ticks(0.0, max(costs, default=1.0) or 1.0)
    y_c = Linear(c_ticks[0], c_ticks[-1], TOP + plot_h, TOP)

    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="chart-title chart-desc" '
        'font-family="system-ui, sans-serif" font-size="12">',
        '<title id="chart-title">Average duration and cost by memory size</title>',
        f'<desc id="chart-desc">{escape(_description(results))}</desc>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fbfbfd" stroke="#d0d4da"/>',
    ]
    if len(results) == 1:
        # Highlight the recommended size's column when there is only one recommendation.
        x = x_of.get(results[0].power)
        if x is not None:
            parts.append(
                f'<rect class="recommended-band" x="{x - band / 2:.1f}" y="{TOP}" width="{band:.1f}" '
                f'height="{plot_h}" fill="#fff3bf"/>'
            )
    frame = _Frame(x_of, y_d, y_c, d_ticks, c_ticks)
    parts += _axes(categories, frame, results)
    for index, result in enumerate(results):
        # Side by side, a few pixels apart, so overlaid series stay visible.
        offset = (index - (len(results) - 1) / 2) * 9
        parts += _series(index, result, frame, offset)
    parts += _skipped(results, x_of)
    parts += _legend(results, y_d.high)
    parts.append("</svg>")
    return "\n".join(parts)


def _currency(results: Sequence[TuningResult]) -> str:
    # One cost axis: its unit is the results' currency (they are compared in one currency).
    return results[0].currency if results else "USD"


def _description(results: Sequence[TuningResult]) -> str:
    lines = []
    for r in results:
        name = f"{r.label}: " if r.label else ""
        if r.recommended is None:
            # One architecture's curve when the pick is on the other (TuningResult.by_architecture).
            lines.append(f"{name}measured, not recommended")
            continue
        lines.append(
            f"{name}recommended {r.power} MB, {r.duration:.2f} ms, "
            f"{usd_per_invocation(r.cost, r.currency)} per invocation"
        )
    return "; ".join(lines)


def _axes(categories: Sequence[int], frame: _Frame, results: Sequence[TuningResult]) -> list[str]:
    x_of, y_d, y_c, d_ticks, c_ticks = frame.x_of, frame.y_d, frame.y_c, frame.d_ticks, frame.c_ticks
    bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
    out = ['<g class="axis grid" stroke="#e3e6ea">']
    out += [f'<line x1="{LEFT}" x2="{right}" y1="{y_d(t):.1f}" y2="{y_d(t):.1f}"/>' for t in d_ticks[1:-1]]
    out.append("</g>")
    places = decimals_for(d_ticks)
    out.append('<g class="axis y-duration" fill="#343a40" text-anchor="end">')
    out += [f'<text x="{LEFT - 8}" y="{y_d(t) + 4:.1f}">{_fmt(t, places)}</text>' for t in d_ticks]
    out.append(
        f'<text transform="translate(18 {TOP + (bottom - TOP) / 2:.0f}) rotate(-90)" text-anchor="middle">'
        "Average duration (ms)</text></g>"
    )
    places = decimals_for(c_ticks)
    out.append('<g class="axis y-cost" fill="#343a40" text-anchor="start">')
    out += [f'<text x="{right + 8}" y="{y_c(t) + 4:.1f}">{_fmt(t, places)}</text>' for t in c_ticks]
    out.append(
        f'<text transform="translate({WIDTH - 14} {TOP + (bottom - TOP) / 2:.0f}) rotate(90)" '
        f'text-anchor="middle">Cost per 1M invocations ({_currency(results)})</text></g>'
    )
    every = label_every(len(categories))
    keep = {r.power for r in results}
    out.append('<g class="axis x" fill="#343a40" text-anchor="middle">')
    for i, value in enumerate(categories):
        x = x_of[value]
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 5}" stroke="#868e96"/>')
        if i % every == 0 or value in keep:
            weight = ' font-weight="bold"' if value in keep else ""
            out.append(f'<text x="{x:.1f}" y="{bottom + 19}"{weight}>{value}</text>')
    out.append(f'<text x="{LEFT + (right - LEFT) / 2:.0f}" y="{HEIGHT - 14}">Memory (MB)</text></g>')
    return out


def _series(index: int, result: TuningResult, frame: _Frame, offset: float) -> list[str]:
    x_of, y_d, y_c = frame.x_of, frame.y_d, frame.y_c
    d_color, c_color = _colors(index)
    name = f"{result.label}: " if result.label else ""
    out = [f'<g class="series" data-series="{index}" data-label="{escape(result.label)}">']
    for s in result.sizes:
        if s.p50 is None or s.p99 is None:
            continue
        x = x_of[s.value] + offset
        p90 = f", p90 {s.p90:.2f} ms" if s.p90 is not None else ""
        title = f"{escape(name)}{s.value} MB: p50 {s.p50:.2f} ms{p90}, p99 {s.p99:.2f} ms"
        out.append(
            f'<line class="p-range" x1="{x:.1f}" x2="{x:.1f}" y1="{y_d(s.p50):.1f}" '
            f'y2="{y_d(min(s.p99, y_d.high)):.1f}" stroke="{d_color}" stroke-opacity="0.3" '
            f'stroke-width="7"><title>{title}</title></line>'
        )
        if s.p99 > y_d.high:
            out.append(
                f'<path class="outlier" d="M{x:.1f},{TOP + 1} l-5,9 h10 z" fill="{d_color}">'
                f"<title>{title}: above the axis (the slowest invocations, a cold start among them)"
                "</title></path>"
            )
    d_points = " ".join(f"{x_of[s.value] + offset:.1f},{y_d(s.average_duration):.1f}" for s in result.sizes)
    c_points = " ".join(
        f"{x_of[s.value] + offset:.1f},{y_c(s.average_price * 1e6):.1f}" for s in result.sizes
    )
    out.append(
        f'<polyline class="line-duration" points="{d_points}" fill="none" stroke="{d_color}" '
        'stroke-width="2.5" stroke-linejoin="round"/>'
    )
    out.append(
        f'<polyline class="line-cost" points="{c_points}" fill="none" stroke="{c_color}" '
        'stroke-width="2.5" stroke-dasharray="7 4" stroke-linejoin="round"/>'
    )
    for s in result.sizes:
        x = x_of[s.value] + offset
        tip = (
            f"{escape(name)}{s.value} MB: {s.average_duration:.2f} ms average, "
            f"{usd_per_invocation(s.average_price, result.currency)} per invocation "
            f"({usd_per_million(s.average_price, result.currency)} per 1M)"
        )
        out.append(
            f'<circle class="point-duration" cx="{x:.1f}" cy="{y_d(s.average_duration):.1f}" r="4.5" '
            f'fill="{d_color}"><title>{tip}</title></circle>'
        )
        cy = y_c(s.average_price * 1e6)
        out.append(
            f'<rect class="point-cost" x="{x - 4:.1f}" y="{cy - 4:.1f}" width="8" height="8" '
            f'fill="{c_color}"><title>{tip}</title></rect>'
        )
    best = result.recommended
    if best is not None:
        x, y = x_of[best.value] + offset, y_d(best.average_duration)
        out.append(
            f'<circle class="recommended" cx="{x:.1f}" cy="{y:.1f}" r="10" fill="none" '
            f'stroke="{d_color}" stroke-width="2.5"><title>{escape(name)}recommended: {best.value} MB'
            "</title></circle>"
        )
        text = f"{escape(result.label)} {best.value} MB" if result.label else f"recommended {best.value} MB"
        out.append(
            # At the top of the plot, where the recommended (cheap, fairly fast) size's lines rarely are.
            f'<text class="recommended-label" x="{x:.1f}" y="{TOP + 16 + 15 * index}" '
            f'text-anchor="middle" font-weight="bold" fill="{d_color}">{text.strip()}</text>'
        )
    out.append("</g>")
    return out


def _skipped(results: Sequence[TuningResult], x_of: dict[int, float]) -> list[str]:
    out = []
    for result in results:
        for value, reason in result.skipped:
            name = f"{result.label}: " if result.label else ""
            out.append(
                f'<text class="skipped" x="{x_of[value]:.1f}" y="{HEIGHT - BOTTOM - 10}" '
                f'text-anchor="middle" fill="#c92a2a">skipped<title>{escape(name)}{value} MB skipped: '
                f"{escape(reason)}</title></text>"
            )
    return out


def _legend(results: Sequence[TuningResult], ceiling: float) -> list[str]:
    out = ['<g class="legend" fill="#343a40">']
    x, y = LEFT, 20
    for index, result in enumerate(results):
        d_color, c_color = _colors(index)
        prefix = f"{result.label} " if result.label else ""
        for label, color, dash in (
            (f"{prefix}duration", d_color, ""),
            (f"{prefix}cost", c_color, ' stroke-dasharray="7 4"'),
        ):
            width = 44 + 7 * len(label)
            if x + width > WIDTH - 8:
                # Wrap long labels (compare) onto a second row.
                x, y = LEFT, y + 18
            out.append(
                f'<line x1="{x}" x2="{x + 26}" y1="{y}" y2="{y}" stroke="{color}" stroke-width="2.5"{dash}/>'
            )
            out.append(f'<text x="{x + 32}" y="{y + 4}">{escape(label)}</text>')
            x += width
    if any(r.detailed for r in results):
        if x + 80 > WIDTH - 8:
            x, y = LEFT, y + 18
        out.append(
            f'<line x1="{x}" x2="{x + 10}" y1="{y}" y2="{y}" stroke="#868e96" stroke-opacity="0.4" '
            'stroke-width="7"/>'
        )
        out.append(f'<text x="{x + 16}" y="{y + 4}">p50-p99</text>')
        x += 80
    if any(s.p99 is not None and s.p99 > ceiling for r in results for s in r.sizes):
        if x + 130 > WIDTH - 8:
            x, y = LEFT, y + 18
        out.append(f'<path d="M{x + 5},{y - 5} l-5,9 h10 z" fill="#868e96"/>')
        out.append(f'<text x="{x + 16}" y="{y + 4}">p99 above the axis</text>')
    out.append("</g>")
    return out
