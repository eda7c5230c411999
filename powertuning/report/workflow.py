"""The workflow report: one offline HTML page that draws a tuned workflow and sums it up.

The drawing is nested boxes, one per state of the result's `steps`: a sequence reads top to bottom,
a Parallel's branches and a Choice's options stand side by side, a Map (and a nested workflow)
frames its body. Each Lambda task shows its function, its size now -> recommended and a bar of its
share of the end-to-end time; the critical path is highlighted; fixed states are marked with why.

Same rules as the single-function report (powertuning/report/html.py): inline CSS, no script,
nothing to download, a Content-Security-Policy that makes the browser refuse any load. Every text
that comes from the user's workflow (state names, ARNs, reasons, errors) is escaped: a state name is
whatever the definition's author typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Final

from powertuning.report.html import _CSS, CSP
from powertuning.report.units import ms, usd_per_invocation

# States that frame others: their children are drawn inside them.
CONTAINERS: Final = ("Parallel", "Map", "Choice", "Nested")
# Side by side: a Parallel's branches and a Choice's options; the others frame one sequence.
LANES: Final = ("Parallel", "Choice")
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


@dataclass
class _Node:
    step: Mapping[str, Any]
    children: list[_Node] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.step.get("state", ""))

    @property
    def kind(self) -> str:
        return str(self.step.get("type", "Task"))


def build_tree(steps: Sequence[Mapping[str, Any]]) -> list[_Node]:
    """The steps as a tree by their `parent` (the enclosing state's name), in their order.

    A step names its parent by state name; names repeat only across nested workflows, so a parent is
    the most recent container of that name before the step (steps come parents first).
    """
    roots: list[_Node] = []
    latest: dict[str, _Node] = {}
    for step in steps:
        node = _Node(step)
        parent = step.get("parent")
        holder = latest.get(str(parent)) if parent is not None else None
        (holder.children if holder is not None else roots).append(node)
        if node.kind in CONTAINERS:
            latest[node.name] = node
    return roots


def _function_name(arn: str) -> str:
    parts = arn.split(":")
    if len(parts) >= 7 and parts[2] == "lambda":
        return ":".join(parts[6:])
    return arn


def _lanes(node: _Node) -> list[tuple[str, list[_Node]]]:
    """A Parallel's branches or a Choice's options: children grouped by `branch` when the steps say
    it, else one lane per child."""
    if not any("branch" in c.step for c in node.children):
        return [(_lane_label(node, [c], i), [c]) for i, c in enumerate(node.children)]
    grouped: dict[Any, list[_Node]] = {}
    for child in node.children:
        grouped.setdefault(child.step.get("branch"), []).append(child)
    return [(_lane_label(node, members, i), members) for i, members in enumerate(grouped.values())]


def _lane_label(node: _Node, members: Sequence[_Node], index: int) -> str:
    if node.kind == "Choice":
        probability = members[0].step.get("probability")
        if isinstance(probability, int | float):
            return f"option {index + 1}: {100.0 * probability:.0f}% of executions"
        return f"option {index + 1}"
    return f"branch {index + 1}"


class _Drawing:
    """Draws nodes as HTML boxes, knowing the functions' sizes and the critical path."""

    def __init__(self, result: Mapping[str, Any]) -> None:
        self.functions = {str(f["functionArn"]): f for f in result.get("functions", [])}
        self.critical = {str(s) for s in result.get("criticalPath", [])}
        self.fixed = {str(f["state"]): f for f in result.get("fixed", [])}

    def flow(self, nodes: Sequence[_Node]) -> str:
        return '<div class="flow">' + "".join(self.state(n) for n in nodes) + "</div>"

    def state(self, node: _Node) -> str:
        classes = ["state"]
        if node.name in self.critical:
            classes.append("critical")
        body = [
            f'<div><span class="name">{escape(node.name)}</span>'
            f'<span class="kind">{escape(node.kind)}</span></div>'
        ]
        if node.kind == "Fixed" or node.name in self.fixed:
            classes.append("fixed")
            body.append(self._fixed(node))
        elif node.step.get("function"):
            body.append(self._task(node, classes))
        if node.kind in ("Map", "Nested") and node.step.get("items") is not None:
            body.append(f'<div class="fn">{escape(_items(node.step))}</div>')
        body.append(_share_bar(node.step.get("shareOfTime")))
        if node.kind in CONTAINERS:
            classes.append("container")
            if node.kind in LANES:
                lanes = "".join(
                    f'<div class="lane"><div class="label">{escape(label)}</div>{self.flow(members)}</div>'
                    for label, members in _lanes(node)
                )
                body.append(f'<div class="lanes">{lanes}</div>')
            elif node.children:
                body.append(f'<div class="lanes"><div class="lane">{self.flow(node.children)}</div></div>')
        title = "on the critical path" if "critical" in classes else ""
        tip = f' title="{escape(title, quote=True)}"' if title else ""
        return f'<div class="{" ".join(classes)}"{tip}>' + "".join(body) + "</div>"

    def _fixed(self, node: _Node) -> str:
        fixed = self.fixed.get(node.name, {})
        reason = str(fixed.get("reason") or node.step.get("reason") or "not modelled")
        held = fixed.get("ms")
        time = f", {ms(float(held))} as observed" if isinstance(held, int | float) else ""
        return f'<div class="fn">held fixed: {escape(reason)}{escape(time)}</div>'

    def _task(self, node: _Node, classes: list[str]) -> str:
        arn = str(node.step["function"])
        known = self.functions.get(arn, {})
        current = known.get("currentMemory", node.step.get("memory"))
        recommended = known.get("recommendedMemory", node.step.get("memory"))
        if current is not None and recommended is not None and current != recommended:
            size = f'{int(current)} MB &rarr; <span class="changed">{int(recommended)} MB</span>'
        elif recommended is not None:
            size = f"{int(recommended)} MB (unchanged)"
        else:
            size = "size unknown"
        note = ""
        if known and not known.get("tuned", True):
            classes.append("not-tuned")
            note = (
                f'<div class="fn">not tuned: {escape(str(known.get("error") or "its tuning failed"))}</div>'
            )
        return (
            f'<div class="fn" title="{escape(arn, quote=True)}">{escape(_function_name(arn))}</div>'
            f'<div class="size">{size}</div>{note}'
        )


def _items(step: Mapping[str, Any]) -> str:
    concurrency = step.get("maxConcurrency")
    limit = f", {concurrency} at a time" if concurrency else ""
    return f"{step.get('items')} items{limit}"


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
) -> str:
    """The page for a workflow result (WorkflowResult.to_dict())."""
    name = state_machine_arn.rsplit(":", 1)[-1] if state_machine_arn else None
    title = title or (f"Workflow power tuning: {name}" if name else "Workflow power tuning")
    drawing = _Drawing(result)
    tree = build_tree(result.get("steps", []))
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
        f'<div class="chart-box workflow">{drawing.flow(tree)}</div>'
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
) -> int:
    """Write the workflow report; returns its size in bytes."""
    data = render_workflow_html(
        result, state_machine_arn=state_machine_arn, execution_arn=execution_arn
    ).encode("utf-8")
    Path(path).write_bytes(data)
    return len(data)
