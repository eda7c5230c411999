"""The workflow report: one offline HTML page that draws a tuned workflow and sums it up.

The drawing is nested boxes, one per state of the result's `steps` (laid out by the workflow's
graph when the caller has it: workflow_layout.py): a sequence reads top to bottom, a Parallel's
branches and a Choice's options stand side by side, a Map (and a nested workflow) frames its body.
Each Lambda task shows its function, its size now -> recommended and a bar of its share of the
end-to-end time; the critical path is highlighted; fixed states are marked with why.

Same rules as the single-function report (powertuning/report/html.py): inline CSS, no script,
nothing to download, a Content-Security-Policy that makes the browser refuse any load. Every text
that comes from the user's workflow (state names, ARNs, reasons, errors) is escaped: a state name is
whatever the definition's author typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any, Final

from powertuning.report.html import _CSS, CSP
from powertuning.report.units import ms, usd_per_invocation
from powertuning.report.workflow_layout import CONTAINERS, Box, from_graph, from_steps
from powertuning.workflow.graph import Node

_WORKFLOW_CSS: Final = """
.flow { display: flex; flex-direction: column; align-items: stretch; gap: 6px; }
.state { border: 1px solid #adb5bd; border-radius: 6px; padding: 6px 10px; background: #fff;
         min-width: 160px; }
.state .name { font-weight: 600; overflow-wrap: anywhere; }
.state .kind { color: #6c757d; font-size: 0.8em; margin-left: 6px; }
.state .fn { font-size: 0.85em; color: #495057; overflow-wrap: anywhere; }
.state .size { font-variant-numeric: tabular-nums; }
.state .size .changed { color: #2b8a3e; font-weight: 700; }
.state.critical { border: 3px solid #e8590c; box-shadow: 0 0 0 2px #ffe8cc; }
.state.fixed { border-style: dashed; background: #f1f3f5; color: #495057; }
.state.not-tuned { background: #fff5f5; }
.container { background: #f8f9fa; }
.lanes { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 6px; align-items: flex-start; }
.lane { flex: 1 1 180px; border-left: 3px solid #ced4da; padding-left: 6px; }
.lane .label { font-size: 0.8em; color: #6c757d; }
.share { height: 6px; background: #e9ecef; border-radius: 3px; margin-top: 4px; }
.share span { display: block; height: 6px; background: #1c7ed6; border-radius: 3px; }
.legend span { display: inline-block; margin-right: 14px; }
.met { color: #2b8a3e; font-weight: 700; } .unmet { color: #c92a2a; font-weight: 700; }
"""


def _function_name(arn: str) -> str:
    parts = arn.split(":")
    if len(parts) >= 7 and parts[2] == "lambda":
        return ":".join(parts[6:])
    return arn


class _Drawing:
    """Draws boxes as HTML, knowing the functions' sizes, the critical path and the fixed states."""

    def __init__(self, result: Mapping[str, Any]) -> None:
        self.functions = {str(f["functionArn"]): f for f in result.get("functions", [])}
        self.critical = {str(s) for s in result.get("criticalPath", [])}
        self.fixed = {str(f["state"]): f for f in result.get("fixed", [])}

    def flow(self, boxes: Sequence[Box]) -> str:
        return '<div class="flow">' + "".join(self.state(b) for b in boxes) + "</div>"

    def state(self, box: Box) -> str:
        classes = ["state"]
        if box.name in self.critical:
            classes.append("critical")
        body = [
            f'<div><span class="name">{escape(box.name)}</span>'
            f'<span class="kind">{escape(box.kind)}</span></div>'
        ]
        if box.kind == "Fixed" or box.name in self.fixed:
            classes.append("fixed")
            body.append(self._fixed(box))
        elif box.step.get("function"):
            body.append(self._task(box, classes))
        elif box.note:
            body.append(f'<div class="fn">{escape(box.note)}</div>')
        body.append(_share_bar(box.step.get("shareOfTime")))
        if box.kind in CONTAINERS:
            classes.append("container")
            lanes = "".join(
                f'<div class="lane"><div class="label">{escape(label)}</div>{self.flow(members)}</div>'
                for label, members in box.lanes
            )
            if lanes:
                body.append(f'<div class="lanes">{lanes}</div>')
            if box.lanes_unknown:
                body.append(
                    '<div class="fn">this result does not say which branch each state is in: '
                    "each is drawn as its own lane</div>"
                )
        tip = ' title="on the critical path"' if "critical" in classes else ""
        return f'<div class="{" ".join(classes)}"{tip}>' + "".join(body) + "</div>"

    def _fixed(self, box: Box) -> str:
        fixed = self.fixed.get(box.name, {})
        reason = str(fixed.get("reason") or box.note or "not modelled")
        held = fixed.get("ms")
        time = f", {ms(float(held))} as observed" if isinstance(held, int | float) else ""
        return f'<div class="fn">held fixed: {escape(reason)}{escape(time)}</div>'

    def _task(self, box: Box, classes: list[str]) -> str:
        arn = str(box.step["function"])
        known = self.functions.get(arn, {})
        current = known.get("currentMemory", box.step.get("memory"))
        recommended = known.get("recommendedMemory", box.step.get("memory"))
        if current is not None and recommended is not None and current != recommended:
            size = f'{int(current)} MB &rarr; <span class="changed">{int(recommended)} MB</span>'
        elif recommended is not None:
            size = f"{int(recommended)} MB (unchanged)"
        else:
            size = "size unknown"
        note = ""
        if known and not known.get("tuned", True):
            classes.append("not-tuned")
            why = escape(str(known.get("error") or "its tuning failed"))
            note = f'<div class="fn">not tuned: {why}; keeps its size</div>'
        return (
            f'<div class="fn" title="{escape(arn, quote=True)}">{escape(_function_name(arn))}</div>'
            f'<div class="size">{size}</div>{note}'
        )


def _share_bar(value: Any) -> str:
    if not isinstance(value, int | float):
        return ""
    pct = max(0.0, min(100.0, 100.0 * float(value)))
    return (
        f'<div class="fn">{pct:.1f}% of the end-to-end time</div>'
        f'<div class="share"><span style="width: {pct:.1f}%"></span></div>'
    )


def _summary(result: Mapping[str, Any], state_machine_arn: str | None, execution_arn: str | None) -> str:
    statistic = escape(str(result.get("statistic", "average")))
    current, recommended = result["current"], result["recommended"]
    now, then = ms(float(current["durationMs"])), ms(float(recommended["durationMs"]))
    target = ms(float(result["maxDurationMs"]))
    met = bool(result.get("met"))
    verdict = '<span class="met">met</span>' if met else '<span class="unmet">not met</span>'
    rows = []
    if state_machine_arn:
        rows.append(("Workflow", escape(state_machine_arn)))
    if execution_arn:
        rows.append(("Tuning execution", escape(execution_arn)))
    rows += [
        ("Target", f"{statistic} end-to-end duration at most {target}: {verdict}"),
        (
            f"End-to-end {statistic}",
            f"{now} now &rarr; {then} recommended",
        ),
        (
            "Cost per execution",
            f"{usd_per_invocation(float(current['costPerExecution']))} now &rarr; "
            f"{usd_per_invocation(float(recommended['costPerExecution']))} recommended",
        ),
    ]
    path = result.get("criticalPath") or []
    if path:
        rows.append(("Critical path", " &rarr; ".join(escape(str(s)) for s in path)))
    solver = result.get("solver")
    if isinstance(solver, Mapping) and solver.get("method"):
        gap = solver.get("maxGapPct")
        bound = f"; at most {float(gap):.1f}% from the optimum" if gap is not None else ""
        evaluated = int(solver.get("evaluated", 0))
        rows.append(("Solver", f"{escape(str(solver['method']))}, {evaluated:,} evaluated{bound}"))
    return '<dl class="meta">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _functions_table(result: Mapping[str, Any]) -> str:
    head = (
        "<tr><th>Function</th><th>Now</th><th>Recommended</th><th>Architecture</th>"
        "<th>Share of time</th><th>Cost / execution</th><th>Note</th></tr>"
    )
    rows = []
    for f in result.get("functions", []):
        arn = str(f["functionArn"])
        note = "" if f.get("tuned", True) else f"not tuned: {f.get('error') or 'its tuning failed'}"
        share = f.get("shareOfTime")
        rows.append(
            f'<tr><td title="{escape(arn, quote=True)}">{escape(_function_name(arn))}</td>'
            f"<td>{int(f['currentMemory'])} MB</td><td>{int(f['recommendedMemory'])} MB</td>"
            f"<td>{escape(str(f.get('architecture', '')))}</td>"
            f"<td>{'—' if share is None else f'{100.0 * float(share):.1f}%'}</td>"
            f"<td>{usd_per_invocation(float(f.get('costPerExecution', 0.0)))}</td>"
            f"<td>{escape(note)}</td></tr>"
        )
    fixed = [
        f"<tr><td>{escape(str(x['state']))}</td><td>{escape(str(x.get('reason', '')))}</td>"
        f"<td>{ms(float(x.get('ms', 0.0)))}</td></tr>"
        for x in result.get("fixed", [])
    ]
    table = f'<div class="table-box"><table class="functions">{head}{"".join(rows)}</table></div>'
    if fixed:
        table += (
            "<h2>Held fixed (the times the history showed)</h2>"
            '<div class="table-box"><table class="fixed"><tr><th>State</th><th>Why</th><th>Time</th></tr>'
            + "".join(fixed)
            + "</table></div>"
        )
    return table


def render_workflow_html(
    result: Mapping[str, Any],
    *,
    state_machine_arn: str | None = None,
    execution_arn: str | None = None,
    title: str | None = None,
    graph: Node | None = None,
) -> str:
    """The page for a workflow result (WorkflowResult.to_dict()); `graph`, the workflow's graph when
    the caller has it, gives the drawing its exact structure (else the result's steps do)."""
    name = state_machine_arn.rsplit(":", 1)[-1] if state_machine_arn else None
    title = title or (f"Workflow power tuning: {name}" if name else "Workflow power tuning")
    drawing = _Drawing(result)
    steps = result.get("steps", [])
    boxes = from_graph(graph, steps) if graph is not None else from_steps(steps)
    legend = (
        '<p class="legend note"><span>thick orange border: on the critical path</span>'
        "<span>dashed, grey: held fixed at its observed time</span>"
        "<span>bar: share of the end-to-end time at the recommended sizes</span></p>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title><style>{_CSS}{_WORKFLOW_CSS}</style></head><body>\n"
        f"<h1>{escape(title)}</h1>{_summary(result, state_machine_arn, execution_arn)}"
        f"<h2>The workflow</h2>{legend}"
        f'<div class="chart-box workflow">{drawing.flow(boxes)}</div>'
        f"<h2>Every function</h2>{_functions_table(result)}"
        "<footer>Durations are the model's prediction: each function's measured samples at each size "
        "composed along the workflow (a sequence adds, a Parallel takes its slowest branch, a Map runs "
        "in waves of its concurrency, a Choice by its observed frequency). Cost per execution: every "
        "function's calls at its size plus state transitions. "
        "Generated by powertune; this page loads nothing from the network.</footer>"
        "</body></html>\n"
    )


def write_workflow_html(
    path: Path,
    result: Mapping[str, Any],
    *,
    state_machine_arn: str | None = None,
    execution_arn: str | None = None,
    graph: Node | None = None,
) -> int:
    """Write the workflow report; returns its size in bytes."""
    data = render_workflow_html(
        result, state_machine_arn=state_machine_arn, execution_arn=execution_arn, graph=graph
    ).encode("utf-8")
    Path(path).write_bytes(data)
    return len(data)
