"""The fleet report: one offline HTML page of a fleet summary, functions ranked by monthly saving.

Same rules as the single-function report (powertuning/report/html.py): inline CSS and SVG, no
script, nothing to download, and a Content-Security-Policy that makes the browser refuse any load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any, Final

from powertuning.fleet_summary import cold_start_text
from powertuning.report.html import _CSS, CSP

# Bars of the saving chart: the largest saving spans this many pixels.
BAR_WIDTH: Final = 360
ROW_HEIGHT: Final = 22
MAX_CHART_ROWS: Final = 25


def _money(value: Any) -> str:
    return "—" if value is None else f"${float(value):,.2f}"


def _name(arn: str) -> str:
    return arn.rsplit(":", 1)[-1] if arn.count(":") == 6 else arn.split(":")[6]


def _chart(rows: Sequence[Mapping[str, Any]]) -> str:
    """Horizontal bars of the largest monthly savings, as inline SVG."""
    shown = [r for r in rows if float(r["monthlySaving"]) > 0][:MAX_CHART_ROWS]
    if not shown:
        return '<p class="note">No tuned function would save money at its recent traffic.</p>'
    top = max(float(r["monthlySaving"]) for r in shown)
    height = ROW_HEIGHT * len(shown) + 8
    bars = []
    for index, row in enumerate(shown):
        y = 4 + index * ROW_HEIGHT
        width = max(1.0, BAR_WIDTH * float(row["monthlySaving"]) / top)
        label = escape(_name(row["functionArn"]))[:34]
        saved = _money(row["monthlySaving"])
        bars.append(
            f'<text x="236" y="{y + 15}" text-anchor="end" font-size="12">{label}</text>'
            f'<rect x="240" y="{y + 3}" width="{width:.1f}" height="{ROW_HEIGHT - 6}" fill="#2f9e44"/>'
            f'<text x="{244 + width:.1f}" y="{y + 15}" font-size="12">{saved}/month</text>'
        )
    full = 240 + BAR_WIDTH + 120
    return (
        f'<svg class="chart" role="img" aria-label="monthly saving by function" width="{full}" '
        f'height="{height}" viewBox="0 0 {full} {height}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(bars)
        + "</svg>"
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<div class="table-box"><table><tr>{head}</tr>{body}</table></div>'


def render_fleet_html(summary: Mapping[str, Any], *, title: str = "Fleet power tuning") -> str:
    """The page for a fleet summary (the JSON the FleetSummary step writes to S3)."""
    totals = summary["totals"]
    rows = summary["functions"]
    ranked = _table(
        (
            "Function",
            "Memory",
            "Recommended",
            f"Invocations ({summary.get('metricsDays', 14)} days)",
            "Current $/month",
            "Recommended $/month",
            "Saving $/month",
            "Tuning cost",
            "Basis",
            "Cold-start rate",
        ),
        [
            (
                _name(r["functionArn"]),
                f"{r['memorySize']} MB",
                f"{r['recommendedMemory']} MB",
                f"{float(r['invocations14d']):,.0f}",
                _money(r["currentMonthlyCost"]),
                _money(r["recommendedMonthlyCost"]),
                _money(r["monthlySaving"]),
                f"${float(r['tuningCost']):.4f}",
                str(r["basis"]),
                cold_start_text(r.get("coldStart")) or "—",
            )
            for r in rows
        ],
    )
    problems = _table(
        ("Function", "Outcome", "Error", "Cause"),
        [(_name(f["functionArn"]), "failed", str(f["error"]), str(f["cause"])) for f in summary["failed"]]
        + [(_name(f["functionArn"]), "skipped", str(f["error"]), str(f["cause"])) for f in summary["skipped"]]
        + [(_name(e["functionArn"]), "left out", "", str(e["reason"])) for e in summary.get("excluded", [])],
    )
    meta = (
        f'<dl class="meta"><dt>Region</dt><dd>{escape(str(summary.get("region", "—")))}</dd>'
        f"<dt>Functions</dt><dd>{totals['functions']} tuned or tried: {totals['succeeded']} succeeded, "
        f"{totals['failed']} failed, {totals['skipped']} skipped (already being tuned)</dd>"
        f"<dt>Monthly saving</dt><dd>{_money(totals['monthlySaving'])} of "
        f"{_money(totals['currentMonthlyCost'])} a month, "
        f"at the last {summary.get('metricsDays', 14)} days' traffic</dd>"
        f"<dt>Tuning cost</dt><dd>${float(totals['tuningCost']):.4f}</dd></dl>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>\n"
        f"<h1>{escape(title)}</h1>{meta}"
        f'<h2>Where the money is</h2><div class="chart-box">{_chart(rows)}</div>'
        f"<h2>Every tuned function, largest saving first</h2>{ranked}"
        f"<h2>Failed, skipped and left out</h2>{problems}"
        "<footer>Current cost: CloudWatch Invocations and average Duration at the current memory. "
        "Recommended cost: the same traffic scaled by what the tuning measured at both sizes (basis "
        '"measured ratio"), else the tuning payload\'s cost per invocation at the recommended size. '
        "Cold-start rate: what each tuning priced cold starts at (its own production rate unless the "
        'fleet said otherwise), or "none" and why when its logs held none to read.</footer>'
        "</body></html>\n"
    )


def write_fleet_html(path: Path, summary: Mapping[str, Any]) -> int:
    """Write the fleet report; returns its size in bytes."""
    text = render_fleet_html(summary)
    path.write_text(text, encoding="utf-8")
    return len(text.encode())
