"""What `powertune workflow` prints of a workflow result (WorkflowResult.to_dict()): a row per
function with its size now and recommended, then the end-to-end statistic and the cost per
execution now and recommended, whether the target is met, the critical path and what is fixed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from powertuning.arns import FunctionRef
from powertuning.cli.output import render_rows
from powertuning.errors import InvalidInputError
from powertuning.report.units import ms, usd_per_invocation


def function_name(arn: str) -> str:
    """A function's name (with its qualifier) from its ARN; the text itself when it is no ARN."""
    try:
        ref = FunctionRef.parse(arn)
    except InvalidInputError:
        return arn
    return f"{ref.name}:{ref.qualifier}" if ref.qualifier else ref.name


def share(value: Any) -> str:
    """A share of the end-to-end time (0-1) as a percentage."""
    return "-" if value is None else f"{100.0 * float(value):.1f}%"


def observed(value: Any) -> float | None:
    """The observed end-to-end duration: a number, or the mean of the executions' durations."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Sequence) and not isinstance(value, str) and value:
        return sum(float(v) for v in value) / len(value)
    return None


def _executions(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, Sequence) and not isinstance(value, str):
        return len(value)
    return None


def function_rows(result: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """A row per function: name, size now, recommended, architecture, share of time, cost, note."""
    rows: list[tuple[str, ...]] = []
    for f in result.get("functions", []):
        current, recommended = int(f["currentMemory"]), int(f["recommendedMemory"])
        if not f.get("tuned", True):
            note = f"not tuned: {f.get('error') or 'its tuning failed'}; keeps its size"
        elif current == recommended:
            note = "unchanged"
        else:
            note = "smaller" if recommended < current else "larger"
        rows.append(
            (
                function_name(str(f["functionArn"])),
                f"{current} MB",
                f"{recommended} MB",
                str(f.get("architecture", "")),
                share(f.get("shareOfTime")),
                usd_per_invocation(float(f.get("costPerExecution", 0.0))),
                note,
            )
        )
    return rows


def saving_text(now: float, recommended: float) -> str:
    """How the recommended cost per execution compares with now's."""
    if now <= 0:
        return ""
    change = (1 - recommended / now) * 100
    if abs(change) < 0.05:
        return " (the same)"
    return f" ({change:.1f}% less)" if change > 0 else f" ({-change:.1f}% more)"


def format_result(result: Mapping[str, Any]) -> str:
    """The whole text: the functions' table, then the summary lines."""
    table = render_rows(
        (
            "Function",
            "Now",
            "Recommended",
            "Architecture",
            "Share of time",
            "Cost/execution (recommended)",
            "Note",
        ),
        function_rows(result),
        (False, True, True, False, True, True, False),
    )
    statistic = str(result.get("statistic", "average"))
    target = float(result["maxDurationMs"])
    current, recommended = result["current"], result["recommended"]
    seen = observed(current.get("observedMs"))
    seen_text = f" (observed {ms(seen)})" if seen is not None else ""
    verdict = "met" if result.get("met") else "NOT met"
    lines = [
        table,
        "",
        f"End-to-end {statistic}: {ms(float(current['durationMs']))} now{seen_text} -> "
        f"{ms(float(recommended['durationMs']))} recommended; target {ms(target)}: {verdict}",
        f"Cost per execution: {usd_per_invocation(float(current['costPerExecution']))} now -> "
        f"{usd_per_invocation(float(recommended['costPerExecution']))} recommended"
        + saving_text(float(current["costPerExecution"]), float(recommended["costPerExecution"])),
    ]
    path = result.get("criticalPath") or []
    if path:
        lines.append("Critical path: " + " > ".join(str(s) for s in path))
    fixed = result.get("fixed") or []
    if fixed:
        lines.append(
            "Held fixed: "
            + "; ".join(f"{f['state']} ({f['reason']}, {ms(float(f.get('ms', 0.0)))})" for f in fixed)
        )
    lines += solver_lines(result)
    return "\n".join(lines)


def solver_lines(result: Mapping[str, Any]) -> list[str]:
    """How the pick was found and what the model was read from."""
    lines = []
    solver = result.get("solver")
    if isinstance(solver, Mapping) and solver.get("method"):
        text = f"Solver: {solver['method']}"
        if solver.get("evaluated") is not None:
            text += f", {int(solver['evaluated']):,} assignments evaluated"
        if solver.get("seconds") is not None:
            text += f" in {float(solver['seconds']):.2f} s"
        if solver.get("method") != "exact" and solver.get("maxGapPct") is not None:
            text += f"; at most {float(solver['maxGapPct']):.1f}% dearer than the optimum"
        lines.append(text)
    count = _executions(result.get("executions"))
    transitions = result.get("stateTransitions")
    if count is not None:
        text = f"Model read from {count} execution(s) of the workflow"
        if transitions is not None:
            text += f"; {float(transitions):g} state transitions each"
        lines.append(text)
    return lines


def unmet_reason(result: Mapping[str, Any]) -> str:
    """The line `powertune workflow` prints (exit 3) when no assignment meets the target."""
    statistic = str(result.get("statistic", "average"))
    best = float(result["recommended"]["durationMs"])
    return (
        f"latency target not met: no assignment of the measured sizes has an end-to-end {statistic} "
        f"<= {float(result['maxDurationMs']):g} ms (--max-duration-ms); the fastest found, "
        f"recommended above, has {ms(best)}"
    )
