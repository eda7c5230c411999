"""`powertune run`: start a tuning on the deployed state machine, follow it, print, gate.

Exit codes a pipeline can rely on: 0 success, 1 the execution failed, 2 bad usage or invalid
input (checked by the Initializer's own validator before anything starts), 3 a gate failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from powertuning import aws, guards, lambda_api
from powertuning.aws import executions
from powertuning.cli.execution import AWS_ERRORS, follow_to_end, not_started, print_started
from powertuning.cli.options import (
    DEFAULT_STACK_NAME,
    add_aws_options,
    add_input_options,
    add_no_wait,
    add_poll_interval,
    build_input,
    positive,
)
from powertuning.cli.output import (
    EXIT_CODES_HELP,
    EXIT_GATE_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    constraint_failure,
    dry_run_summary,
    error,
    format_table,
    status,
    usage_error,
)
from powertuning.cli.output_paths import check_outputs
from powertuning.cli.progress import Progress
from powertuning.deployment import ARCHITECTURES_TAG
from powertuning.errors import PowerTuningError
from powertuning.report import RunMetadata, TuningResult, write_html, write_png
from powertuning.report.units import ms, usd_per_invocation


def register(subparsers: Any) -> None:
    """Add the `run` subcommand."""
    parser = subparsers.add_parser(
        "run",
        help="tune a function with the deployed state machine and wait for the result",
        description="Start a tuning execution on the deployed state machine, show its progress, "
        "print the results and apply gates.",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument(
        "--function", metavar="ARN", help="the function to tune (default: the --input-file's lambdaARN)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--state-machine-arn", metavar="ARN", help="the tuner's state machine (default: from --stack-name)"
    )
    where.add_argument(
        "--stack-name",
        metavar="NAME",
        help=f"read the state machine ARN from this stack's outputs (default {DEFAULT_STACK_NAME})",
    )
    add_aws_options(parser)
    out = parser.add_argument_group("output")
    add_no_wait(out)
    out.add_argument(
        "--output",
        choices=("table", "json"),
        default="table",
        help="json prints only the execution output on stdout",
    )
    out.add_argument("--report", type=Path, metavar="FILE", help="write the HTML report here (default: none)")
    out.add_argument("--png", type=Path, metavar="FILE", help="write the chart as a PNG here (default: none)")
    add_poll_interval(out, default=2.0, help="history polling period")
    gates = parser.add_argument_group("gates (exit code 3 when one fails)")
    gates.add_argument(
        "--max-cost-per-invocation",
        type=positive,
        metavar="USD",
        help="fail if the recommended size costs more than this per invocation (default: no such gate)",
    )
    gates.add_argument(
        "--max-duration-ms",
        type=positive,
        metavar="MS",
        help="fail if the recommended size's average duration is longer; also the report's latency "
        "target (default: no such gate)",
    )
    gates.add_argument(
        "--expect-current",
        action="store_true",
        help="fail if the recommended memory differs from the function's current memory",
    )
    add_input_options(parser)
    parser.set_defaults(func=run)


def prepare_input(args: argparse.Namespace) -> dict[str, Any]:
    """The validated execution input; includeOutputResults on unless set, as the table needs stats."""
    execution_input = build_input(args, args.function)
    execution_input.setdefault("includeOutputResults", True)
    return execution_input


def _check_usage(args: argparse.Namespace) -> str | None:
    waits_for = [
        flag
        for flag, given in (
            ("--report", args.report),
            ("--png", args.png),
            ("--max-cost-per-invocation", args.max_cost_per_invocation),
            ("--max-duration-ms", args.max_duration_ms),
            ("--expect-current", args.expect_current),
        )
        if given
    ]
    if args.no_wait and waits_for:
        return f"--no-wait cannot be combined with {', '.join(waits_for)}, which need the result"
    return None


def run(args: argparse.Namespace) -> int:
    """Start, follow and report one tuning execution; returns the exit code."""
    problem = _check_usage(args)
    if problem:
        return usage_error(problem)
    try:
        check_outputs((("--report", args.report), ("--png", args.png)), png=args.png)
        execution_input = prepare_input(args)
    except PowerTuningError as exc:
        return usage_error(str(exc))
    function_arn = str(execution_input["lambdaARN"])
    factory = aws.ClientFactory.from_args(args)
    try:
        state_machine_arn = args.state_machine_arn or executions.state_machine_from_stack(
            factory.client("cloudformation", aws.region_of(function_arn)),
            args.stack_name or DEFAULT_STACK_NAME,
        )
        lambda_client = factory.client("lambda", aws.region_of(function_arn))
        current = _current_memory(lambda_client, function_arn, required=args.expect_current)
        sfn = factory.client("stepfunctions", aws.region_of(state_machine_arn))
        refused = _code_change_refusal(sfn, state_machine_arn, lambda_client, execution_input)
        if refused:
            return not_started(refused)
        execution_arn = executions.start_named(sfn, state_machine_arn, "powertune", execution_input)
    except AWS_ERRORS as exc:
        return not_started(exc)

    if args.no_wait:
        return print_started(execution_arn, args.output)
    status(f"tuning {function_arn}")
    status(f"execution {execution_arn}")

    def follow() -> dict[str, Any]:
        with Progress(sys.stderr, quiet=args.quiet) as progress:
            return executions.follow(sfn, execution_arn, progress, poll_s=args.poll_interval).description

    description, code = follow_to_end(follow, execution_arn, what="the execution", goes_on="the execution")
    if description is None:
        return code
    output = json.loads(description["output"])
    return _finish(args, output, current, description)


def _code_change_refusal(
    sfn: Any, state_machine_arn: str, lambda_client: Any, execution_input: dict[str, Any]
) -> str | None:
    """Why the deployed tuner would refuse `--architectures`/`--images` (its tag says the deploy
    option is off); None when it would not, or when the tag cannot be read (the Initializer decides)."""
    architectures, images = execution_input.get("architectures"), execution_input.get("imageUris")
    if not architectures and not images:
        return None
    try:
        if executions.state_machine_tags(sfn, state_machine_arn).get(ARCHITECTURES_TAG) != "false":
            return None
    except AWS_ERRORS:
        return None
    try:
        latest = lambda_api.get_configuration(lambda_client, str(execution_input["lambdaARN"]))
        own: str | None = str((latest.get("Architectures") or ["x86_64"])[0])
    except AWS_ERRORS:
        own = None
    return guards.code_change_refusal(architectures, images, own)


def _current_memory(lambda_client: Any, function_arn: str, *, required: bool) -> int | None:
    # Read before the run: the Publisher changes $LATEST while it runs, and autoOptimize after.
    try:
        return int(lambda_api.get_configuration(lambda_client, function_arn)["MemorySize"])
    except AWS_ERRORS as exc:
        if required:
            raise PowerTuningError(f"--expect-current cannot read {function_arn}: {exc}") from exc
        return None


def _finish(
    args: argparse.Namespace, output: dict[str, Any], current: int | None, description: dict[str, Any]
) -> int:
    dry_run = dry_run_summary(output)
    if dry_run:
        print(json.dumps(output, indent=2) if args.output == "json" else dry_run)
        return EXIT_OK
    # What the execution's input and start date say, plus what only this command knows.
    known = RunMetadata(
        measured_on=None if args.endpoint_url else "aws",
        latency_target_ms=args.max_duration_ms,
        # The gate limits the average; without it, the input's maxDurationMs (and its statistic) stands.
        latency_statistic="average" if args.max_duration_ms is not None else None,
    )
    result = TuningResult.from_document(description, metadata=known)
    if args.output == "json":
        print(json.dumps(output, indent=2))
    else:
        print(format_table(result, current_memory=current))
    try:
        if args.report:
            size = write_html(args.report, [result])
            status(f"wrote {args.report} ({size:,} bytes)")
        if args.png:
            title = f"Power tuning: {result.function_name}" if result.function_name else None
            size = write_png(args.png, [result], title=title)
            status(f"wrote {args.png} ({size:,} bytes)")
    except (OSError, PowerTuningError) as exc:
        error(str(exc))
        return EXIT_USAGE
    failures = gate_failures(
        result,
        max_cost=args.max_cost_per_invocation,
        max_duration_ms=args.max_duration_ms,
        current_memory=current if args.expect_current else None,
    )
    for failure in failures:
        print(f"powertune: gate failed: {failure}", file=sys.stderr)
    return EXIT_GATE_FAILED if failures else EXIT_OK


def gate_failures(
    result: TuningResult,
    *,
    max_cost: float | None = None,
    max_duration_ms: float | None = None,
    current_memory: int | None = None,
) -> list[str]:
    """Why the result fails each gate given (an empty list when it passes them all)."""
    failures = []
    if max_cost is not None and result.cost > max_cost:
        failures.append(
            f"cost per invocation {usd_per_invocation(result.cost, result.currency)} at {result.power} MB is "
            f"above --max-cost-per-invocation {usd_per_invocation(max_cost, result.currency)}"
        )
    unmet = constraint_failure(result)
    if unmet is not None:
        failures.append(unmet)
    if max_duration_ms is not None and result.duration > max_duration_ms:
        failures.append(
            f"average duration {ms(result.duration)} at {result.power} MB is above --max-duration-ms "
            f"{max_duration_ms:g}"
        )
    if current_memory is not None and current_memory != result.power:
        failures.append(
            f"the function has {current_memory} MB but {result.power} MB is recommended (--expect-current)"
        )
    return failures
