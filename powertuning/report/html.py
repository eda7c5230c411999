"""The self-contained HTML report: one file, inline CSS and SVG, no script, nothing fetched.

A Content-Security-Policy of `default-src 'none'` makes the browser refuse any load the page might
try, so "works offline" holds even if a later change slipped a remote reference in. The only
remote address is a plain link to the reference tool's visualization, followed when clicked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC
from html import escape
from pathlib import Path

from powertuning.report.explain import explain
from powertuning.report.metadata import RunMetadata
from powertuning.report.result import TuningResult
from powertuning.report.svg import PALETTE, render_chart
from powertuning.report.units import UNKNOWN, count, maybe_ms, ms, usd, usd_per_invocation, usd_per_million
from powertuning.size_stats import SizeStats

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #212529;
       margin: 0 auto; max-width: 1080px; padding: 24px; }
h1 { font-size: 1.5em; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 1.15em; margin: 28px 0 8px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 8px 0;
          color: #495057; font-size: 0.9em; } dl.meta dd { margin: 0; word-break: break-all; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { flex: 1 1 260px; border: 1px solid #dee2e6; border-left: 6px solid var(--accent);
        border-radius: 6px; padding: 10px 14px; }
.card .power { font-size: 1.9em; font-weight: 700; } .card .label { font-weight: 600; }
.card p { margin: 2px 0; }
.chart-box, .table-box { overflow-x: auto; } svg.chart { max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; font-size: 0.92em; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e9ecef; text-align: right; white-space: nowrap; }
th { white-space: normal; vertical-align: bottom; }
td.unknown { color: #868e96; }
.why p { margin: 4px 0; }
th:first-child, td:first-child { text-align: left; }
tr.recommended td { background: #fff3bf; font-weight: 600; }
td.skipped { color: #c92a2a; text-align: left; white-space: normal; }
.note { color: #6c757d; font-size: 0.88em; }
footer { margin-top: 28px; color: #6c757d; font-size: 0.88em; }
"""


def render_html(
    results: Sequence[TuningResult], *, title: str | None = None, metadata: RunMetadata | None = None
) -> str:
    """The report page for one result, or an overlay of several (compare).

    `metadata` adds what the caller knows about the run (e.g. `RunMetadata(measured_on="local",
    cpu_mode=...)`) to every result's own; its known fields win.
    """
    if not results:
        raise ValueError("a report needs at least one result")
    if metadata is not None:
        results = [replace(r, metadata=r.metadata.merged(metadata)) for r in results]
    title = title or _default_title(results)
    body = [f"<h1>{escape(title)}</h1>"]
    if len(results) == 1:
        body.append(_meta(results[0]))
    body.append('<section class="cards">')
    body += [_card(i, r, len(results) > 1) for i, r in enumerate(results)]
    body.append("</section>")
    if len(results) == 1:
        body.append(_why(results[0], heading=True))
    body.append("<h2>Duration and cost by memory size</h2>")
    # Input `architectures`: one curve per architecture.
    curves = [part for r in results for part in r.by_architecture()]
    body.append(f'<div class="chart-box">{render_chart(curves)}</div>')
    if any(not r.detailed for r in results):
        body.append(
            '<p class="note">Percentiles, invocations and errors come from the per-size stats of an '
            "execution run with includeOutputResults: true. A figure the result does not carry is "
            "shown as — (the reference tool's stats have only averages; without stats the averages "
            "are read from the visualization link).</p>"
        )
    if len(results) > 1:
        body.append("<h2>Side by side</h2>")
        body.append(_comparison(results))
    for result in results:
        heading = f"Per memory size: {result.label}" if len(results) > 1 else "Per memory size"
        body.append(f"<h2>{escape(heading)}</h2>")
        if len(results) > 1:
            body.append(_meta(result))
            body.append(_why(result, heading=False))
        # Input `architectures`: one table of every pair, as `powertune run` prints it.
        body.append(_size_table(result) if result.architecture is None else _pairs_table(result))
    body.append(_footer(results))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def write_html(
    path: Path,
    results: Sequence[TuningResult],
    *,
    title: str | None = None,
    metadata: RunMetadata | None = None,
) -> int:
    """Write the report page; returns its size in bytes."""
    data = render_html(results, title=title, metadata=metadata).encode("utf-8")
    Path(path).write_bytes(data)
    return len(data)


def _default_title(results: Sequence[TuningResult]) -> str:
    if len(results) > 1:
        names = (r.label or f"result {i + 1}" for i, r in enumerate(results))
        return "Power tuning comparison: " + " vs ".join(names)
    name = results[0].function_name
    return f"Power tuning report: {name}" if name else "Power tuning report"


def _meta(result: TuningResult) -> str:
    rows = []
    for key, value in metadata_rows(result.metadata):
        cls = ' class="unknown"' if value == UNKNOWN else ""
        rows.append(f"<dt>{escape(key)}</dt><dd{cls}>{escape(value)}</dd>")
    return f'<dl class="meta">{"".join(rows)}</dl>'


def metadata_rows(meta: RunMetadata) -> list[tuple[str, str]]:
    """The page header's rows: "—" for what is unknown; latency target and execution when known."""
    strategy = meta.strategy or UNKNOWN
    if meta.strategy == "balanced":
        weight = 0.5 if meta.balanced_weight is None else meta.balanced_weight
        strategy = f"balanced (balancedWeight {weight:g}: 0 = fastest, 1 = cheapest)"
    sampling = meta.sampling or UNKNOWN
    if meta.num is not None and meta.sampling:
        per_size = "up to " if meta.sampling == "adaptive" else ""
        sampling = f"{meta.sampling}, {per_size}{meta.num} invocations per size"
    if meta.measured_on == "aws":
        measured_on = "AWS Lambda"
    elif meta.measured_on == "local":
        mode = f", CPU mode {meta.cpu_mode}" if meta.cpu_mode else ", CPU mode unknown"
        measured_on = f"this machine (powertune local{mode})"
    else:
        measured_on = UNKNOWN
    when = meta.started.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if meta.started else UNKNOWN
    rows = [
        ("Function", meta.function_arn or UNKNOWN),
        ("Measured", when),
        ("Measured on", measured_on),
        ("Strategy", strategy),
        ("Sampling", sampling),
    ]
    if meta.latency_target_ms is not None:
        statistic = meta.latency_statistic or "average"
        rows.append(("Latency target", f"at most {ms(meta.latency_target_ms)} {statistic}"))
    if meta.execution_arn:
        rows.append(("Execution", meta.execution_arn))
    return rows


def _why(result: TuningResult, *, heading: bool) -> str:
    explanation = explain(result)
    if explanation is None:
        return ""
    on = f" on {escape(result.architecture)}" if result.architecture else ""
    title = f"<h2>Why {result.power} MB{on}</h2>" if heading else ""
    sentences = "".join(f"<p>{escape(s)}</p>" for s in explanation.sentences)
    return f'<section class="why">{title}{sentences}</section>'


def _card(index: int, result: TuningResult, labelled: bool) -> str:
    accent = PALETTE[index % len(PALETTE)][0]
    label = f'<p class="label">{escape(result.label)}</p>' if labelled and result.label else ""
    unit = result.currency
    # Input `architectures`: the pick is an (architecture, size) pair.
    on = f" {escape(result.architecture)}" if result.architecture else ""
    return (
        f'<div class="card recommendation" style="--accent: {accent}">{label}'
        f'<p>Recommended memory</p><p class="power">{result.power} MB{on}</p>'
        f"<p>{ms(result.duration)} average · {usd_per_invocation(result.cost, unit)} per invocation · "
        f"{usd_per_million(result.cost, unit)} per 1M invocations</p>"
        f'<p class="note">This tuning cost {usd(result.total_cost, unit)}: '
        f"{usd(result.execution_cost, unit)} Step Functions + "
        f"{usd(result.lambda_cost, unit)} Lambda.</p></div>"
    )


def _cell(text: str) -> str:
    return '<td class="unknown">—</td>' if text == UNKNOWN else f"<td>{text}</td>"


def _figures(s: SizeStats, currency: str) -> str:
    """The measured cells of a row: average, p50, p90, p99, costs, invocations, cold starts, errors."""
    return (
        f"<td>{ms(s.average_duration)}</td>"
        + _cell(maybe_ms(s.p50))
        + _cell(maybe_ms(s.p90))
        + _cell(maybe_ms(s.p99))
        + f"<td>{usd_per_invocation(s.average_price, currency)}</td>"
        + f"<td>{usd_per_million(s.average_price, currency)}</td>"
        + _cell(count(s.invocations))
        + _cell(count(s.cold_starts))
        + _cell(count(s.errors))
    )


_FIGURE_HEADS = (
    "<th>Average</th><th>p50</th><th>p90</th><th>p99</th><th>Cost / invocation</th><th>Cost / 1M</th>"
    "<th>Invocations</th><th>Cold starts</th><th>Errors</th>"
)


def _pairs_table(result: TuningResult) -> str:
    """One table of every (architecture, size) pair, the pick marked (input `architectures`)."""
    head = f"<tr><th>Memory</th><th>Architecture</th>{_FIGURE_HEADS}</tr>"
    rows = []
    for row in result.pair_rows():
        name = f"<td>{row.value} MB</td><td>{escape(row.architecture)}</td>"
        if row.figures is None:
            rows.append(
                f'<tr class="skipped">{name}<td class="skipped" colspan="9">skipped: '
                f"{escape(row.skipped or '')}</td></tr>"
            )
            continue
        if row.recommended:
            name = f"<td>{row.value} MB ★</td><td>{escape(row.architecture)}</td>"
        cls = ' class="recommended"' if row.recommended else ""
        rows.append(f"<tr{cls}>{name}{_figures(row.figures, result.currency)}</tr>")
    return (
        f'<div class="table-box"><table class="sizes pairs"><thead>{head}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _size_table(result: TuningResult) -> str:
    head = f"<tr><th>Memory</th>{_FIGURE_HEADS}</tr>"
    rows = []
    skipped = dict(result.skipped)
    for value in sorted({s.value for s in result.sizes} | set(skipped)):
        if value in skipped:
            rows.append(
                f'<tr class="skipped"><td>{value} MB</td><td class="skipped" colspan="9">skipped: '
                f"{escape(skipped[value])}</td></tr>"
            )
            continue
        s = next(s for s in result.sizes if s.value == value)
        cls = ' class="recommended"' if value == result.power else ""
        mark = " ★" if value == result.power else ""
        rows.append(f"<tr{cls}><td>{value} MB{mark}</td>{_figures(s, result.currency)}</tr>")
    return (
        f'<div class="table-box"><table class="sizes"><thead>{head}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _comparison(results: Sequence[TuningResult]) -> str:
    # Input `architectures`: a column pair per (result, architecture), as in the chart.
    results = [part for r in results for part in r.by_architecture()]
    head = "<tr><th>Memory</th>" + "".join(
        f"<th>{escape(r.label)} average</th><th>{escape(r.label)} cost / 1M</th>" for r in results
    )
    head += "</tr>"
    values = sorted({s.value for r in results for s in r.sizes})
    rows = []
    for value in values:
        cells = [f"<td>{value} MB</td>"]
        for r in results:
            s = next((s for s in r.sizes if s.value == value), None)
            mark = " ★" if value == r.power else ""
            if s is None:
                cells.append('<td class="unknown">—</td><td class="unknown">—</td>')
            else:
                cells.append(
                    f"<td>{ms(s.average_duration)}{mark}</td>"
                    f"<td>{usd_per_million(s.average_price, r.currency)}</td>"
                )
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="table-box"><table class="comparison"><thead>{head}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _footer(results: Sequence[TuningResult]) -> str:
    links = []
    for r in results:
        if r.visualization.startswith(("https://", "http://")):
            name = f" ({escape(r.label)})" if r.label else ""
            links.append(
                f'<a href="{escape(r.visualization, quote=True)}" rel="noreferrer">'
                f"the same data in aws-lambda-power-tuning's visualization{name}</a>"
            )
    linked = f"Open {', '.join(links)} (a link to another site). " if links else ""
    return (
        f"<footer><p>{linked}★ marks the recommended memory size; — marks a figure the result "
        "does not carry. "
        "Generated by powertune; this page loads nothing from the network.</p></footer>"
    )
