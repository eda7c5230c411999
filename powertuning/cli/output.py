"""What the CLI prints: exit codes, error lines and the results table.

`format_table(output)` takes an execution output dict (what the state machine returns) and gives
the table text with the recommendation marked; `powertune run`, `report` and `local` share it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, Final, TextIO

from powertuning.cli import console
from powertuning.fixed_confidence import fixed_confidence
from powertuning.output import TuningOutput, size_label
from powertuning.report.explain import cold_start_notes
from powertuning.report.result import TuningResult
from powertuning.report.units import ms, usd, usd_per_invocation, usd_per_million

EXIT_OK: Final = 0
EXIT_EXECUTION_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_GATE_FAILED: Final = 3
EXIT_INTERRUPTED: Final = 130  # 128 + SIGINT, as shells report it
EXIT_CODES_HELP: Final = (
    "exit codes: 0 success, 1 the execution failed (its Error and Cause are printed), "
    "2 bad usage or invalid input (nothing was started), 3 a gate failed or the latency target "
    "(--latency-target-ms, input maxDurationMs) was not met"
)


def error(message: str, stream: TextIO | None = None) -> None:
    """Print `powertune: error: ...` on stderr."""
    print(f"powertune: error: {message}", file=stream or sys.stderr)


def status(message: str) -> None:
    """Print `powertune: ...` on stderr, unless --quiet."""
    if not console.settings().quiet:
        print(f"powertune: {message}", file=sys.stderr)


def usage_error(message: str) -> int:
    """Report bad usage or invalid input; returns exit code 2."""
    error(message)
    return EXIT_USAGE


def render_rows(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """Columns padded to their widest cell; `right` aligns a column to the right."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        padded = (
            str(c).rjust(w) if r else str(c).ljust(w) for c, w, r in zip(cells, widths, right, strict=False)
        )
        return "  ".join(padded).rstrip()

    rule = "  ".join(("-" if h else " ") * w for h, w in zip(headers, widths, strict=False)).rstrip()
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def constraint_failure(result: TuningResult) -> str | None:
    """Why the result fails its latency target (input maxDurationMs), or None when it meets it or has none."""
    c = result.constraint
    if c is None or c.met:
        return None
    if c.meeting:
        return (
            f"latency target not met: {result.power} MB has {c.statistic} {c.value:.2f} ms, above "
            f"{c.max_duration_ms:g} ms (maxDurationMs, --latency-target-ms); "
            f"{', '.join(size_label(v) for v in c.meeting)} would meet it (strategy speed ignores the target)"
        )
    return (
        f"latency target not met: no size has {c.statistic} <= {c.max_duration_ms:g} ms "
        f"(maxDurationMs, --latency-target-ms); the closest, {result.power} MB, has {c.statistic} "
        f"{c.value:.2f} ms"
    )


def dry_run_summary(output: Any) -> str | None:
    """The line a dry run prints instead of a table (a dry run recommends nothing); None otherwise."""
    if not (isinstance(output, Mapping) and output.get("dryRun")):
        return None
    dry = TuningOutput.from_dict(output)
    return (
        "dry run passed: the function was published and invoked once; no recommendation "
        f"(Lambda cost {dry.lambda_cost:.9f}, Step Functions {dry.execution_cost:.6f})"
    )


def format_table(
    output: Mapping[str, Any] | TuningResult,
    *,
    current_memory: int | None = None,
    strategy: str | None = None,
) -> str:
    """The results table of one execution output, the recommended size marked with `*`.

    `strategy`: the run's, where the output's metadata does not say (for how sure a fixed pick is).
    """
    result = output if isinstance(output, TuningResult) else TuningResult.from_dict(output)
    if result.architecture is not None:
        return _architectures_table(result, current_memory)
    skipped = dict(result.skipped)
    # The percentile column: the latency target's, when it limits one; else p90.
    statistic = result.constraint.statistic if result.constraint else "p90"
    percentile = statistic if statistic != "average" else "p90"
    rows: list[list[str]] = []
    for value in sorted({s.value for s in result.sizes} | set(skipped)):
        mark = "*" if value == result.power else ""
        note = "current" if value == current_memory else ""
        if value in skipped:
            rows.append([mark, f"{value} MB", "skipped", "-", "-", "-", note])
            continue
        s = next(s for s in result.sizes if s.value == value)
        rows.append(
            [
                mark,
                f"{value} MB",
                ms(s.average_duration),
                ms(figure) if (figure := getattr(s, percentile)) is not None else "-",
                usd_per_invocation(s.average_price, result.currency),
                usd_per_million(s.average_price, result.currency),
                note,
            ]
        )
    table = render_rows(
        [
            "",
            "Memory",
            "Avg duration",
            f"{percentile} duration",
            "Cost/invocation",
            "Cost/1M invocations",
            "Note",
        ],
        rows,
        [False, True, True, True, True, True, False],
    )
    lines = [table, "", _recommended(result)]
    sure = _how_sure(result, result.metadata.strategy or strategy)
    if sure is not None:
        lines.append(f"  How sure: {sure}.")
    lines += [f"  {note}" for note in cold_start_notes(result)]
    if result.constraint is not None:
        lines.append(f"  {result.constraint.describe(result.power)}")
    lines += [f"  {value} MB skipped: {reason}" for value, reason in sorted(skipped.items())]
    if current_memory is not None:
        verdict = "same as recommended" if current_memory == result.power else "differs from recommended"
        lines.append(f"  current memory: {current_memory} MB ({verdict})")
    lines.append(_tuning_cost(result))
    if result.visualization:
        lines.append(f"Visualization: {result.visualization}")
    return "\n".join(lines)


def _how_sure(result: TuningResult, strategy: str | None) -> str | None:
    # Adaptive: the race's own statement; fixed: the same statement from the averages' noise.
    if result.confidence is not None:
        return result.confidence.text
    if result.constraint is not None:
        return None
    fixed = fixed_confidence(result.sizes, result.power, strategy)
    return None if fixed is None else fixed.text


def _recommended(result: TuningResult) -> str:
    return (
        f"* recommended: {result.pick} ({ms(result.duration)} average, "
        f"{usd_per_invocation(result.cost, result.currency)} per invocation, "
        f"{usd_per_million(result.cost, result.currency)} per 1M)"
    )


def _tuning_cost(result: TuningResult) -> str:
    return (
        f"Tuning cost: {usd(result.total_cost, result.currency)} "
        f"({usd(result.execution_cost, result.currency)} Step Functions + "
        f"{usd(result.lambda_cost, result.currency)} Lambda)"
    )


def _architectures_table(result: TuningResult, current_memory: int | None) -> str:
    """One table of every (architecture, size) pair (input `architectures`), the pick marked with `*`."""
    rows: list[list[str]] = []
    for row in result.pair_rows():
        if row.figures is None:
            rows.append(["", f"{row.value} MB", row.architecture, "skipped", "-", "-", "-"])
            continue
        s = row.figures
        rows.append(
            [
                "*" if row.recommended else "",
                f"{row.value} MB",
                row.architecture,
                ms(s.average_duration),
                ms(s.p90) if s.p90 is not None else "-",
                usd_per_invocation(s.average_price, result.currency),
                usd_per_million(s.average_price, result.currency),
            ]
        )
    table = render_rows(
        [
            "",
            "Memory",
            "Architecture",
            "Avg duration",
            "p90 duration",
            "Cost/invocation",
            "Cost/1M invocations",
        ],
        rows,
        [False, True, False, True, True, True, True],
    )
    lines = [table, "", _recommended(result)]
    sure = _how_sure(result, result.metadata.strategy)
    if sure is not None:
        lines.append(f"  How sure: {sure}.")
    lines += [f"  {note}" for note in cold_start_notes(result)]
    if result.constraint is not None:
        lines.append(f"  {result.constraint.describe(result.power)}")
    lines += [f"  {value} MB on {arch} skipped: {reason}" for arch, value, reason in result.skipped_on]
    if current_memory is not None:
        lines.append(f"  current memory: {current_memory} MB")
    lines.append(_tuning_cost(result))
    lines += [f"Visualization ({arch}): {link}" for arch, link in sorted(result.visualizations.items())]
    return "\n".join(lines)


def format_comparison(results: Sequence[TuningResult]) -> str:
    """A table of two or more results side by side, each recommendation marked with `*`."""
    # Input `architectures`: a column pair per (result, architecture), only the pick marked.
    columns = [part for r in results for part in r.by_architecture()]
    values = sorted({s.value for r in columns for s in r.sizes})
    headers = ["Memory"]
    for r in columns:
        headers += [f"{r.label} avg", f"{r.label} cost/1M"]
    rows = []
    for value in values:
        row = [f"{value} MB"]
        for r in columns:
            s = next((s for s in r.sizes if s.value == value), None)
            mark = " *" if value == r.power else "  "
            if s is None:
                row += ["-", "-"]
            else:
                row += [ms(s.average_duration) + mark, usd_per_million(s.average_price, r.currency)]
        rows.append(row)
    lines = [render_rows(headers, rows, [True] * len(headers)), ""]
    for r in results:
        lines.append(
            f"* {r.label}: {r.pick} ({ms(r.duration)} average, "
            f"{usd_per_invocation(r.cost, r.currency)} per invocation, "
            f"{usd_per_million(r.cost, r.currency)} per 1M)"
        )
    if len(results) == 2 and results[0].cost and results[1].cost:
        a, b = results
        cheaper, dearer = (a, b) if a.cost <= b.cost else (b, a)
        saving = (1 - cheaper.cost / dearer.cost) * 100
        lines.append(
            f"{cheaper.label} at {cheaper.pick} costs {saving:.1f}% less per invocation than "
            f"{dearer.label} at {dearer.pick}"
        )
    return "\n".join(lines)
