"""`powertune workflow`: one memory size per Lambda function of a Step Functions workflow, chosen
jointly so the workflow's end-to-end duration statistic stays within a target at least cost.

The input is validated by the same `WorkflowRequest.from_dict` the deployed tuner uses, and the
output files are checked, before anything starts. `--plan` reads the workflow as the tuner's reader
does (its definition and history, each function's configuration) and prices the child tunings
without starting anything. Exit codes as for `run`: 0 the target is met, 1 the execution failed,
2 bad usage or invalid input (nothing started), 3 the target cannot be met.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from powertuning import aws, lambda_api
from powertuning.aws import executions
from powertuning.cli.execution import AWS_ERRORS, follow_to_end, not_started, print_started
from powertuning.cli.options import (
    DEFAULT_STACK_NAME,
    add_aws_options,
    add_input_file,
    add_no_wait,
    add_poll_interval,
)
from powertuning.cli.output import (
    EXIT_EXECUTION_FAILED,
    EXIT_GATE_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    error,
    status,
    usage_error,
)
from powertuning.cli.output_paths import check_outputs
from powertuning.cli.progress import Progress
from powertuning.cli.workflow_input import build_workflow_input, payload_flag, power_values_flag
from powertuning.cli.workflow_output import format_result, unmet_reason
from powertuning.cli.workflow_plan import price_plan
from powertuning.cli.workflow_progress import WorkflowProgress
from powertuning.errors import PowerTuningError
from powertuning.input_kinds import DURATION_STATISTICS, STRATEGIES
from powertuning.report.workflow import write_workflow_html
from powertuning.workflow.graph import Node
from powertuning.workflow.request import ON_ERROR, WorkflowRequest

WORKFLOW_OUTPUT: Final = "WorkflowArn"
# The tuner's state machines in its stack's outputs: never a workflow to tune (the reader refuses them).
OWN_OUTPUTS: Final = ("StateMachineArn", "FleetArn", WORKFLOW_OUTPUT)
EXIT_CODES_HELP: Final = (
    "exit codes: 0 the target is met, 1 the workflow tuning failed (its Error and Cause are printed), "
    "2 bad usage or invalid input (nothing was started), 3 no assignment of sizes meets the target "
    "(--max-duration-ms; the fastest one found is printed)"
)


def register(subparsers: Any) -> None:
    """Add the `workflow` subcommand."""
    parser = subparsers.add_parser(
        "workflow",
        help="tune every Lambda function of a Step Functions workflow under an end-to-end target",
        description="Measure each distinct function of a workflow once (a child tuning each), model "
        "the workflow's end-to-end duration along its definition, and choose one size per function: "
        "the cheapest assignment whose duration statistic meets --max-duration-ms.",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument(
        "state_machine_arn", metavar="STATE_MACHINE_ARN", help="your workflow (a STANDARD state machine)"
    )
    add_input_file(
        parser,
        "a whole workflow input JSON (any key, e.g. parallelInvocation); flags override it (default: none)",
    )
    read = parser.add_argument_group("what the model is built from")
    source = read.add_mutually_exclusive_group()
    source.add_argument(
        "--execution-arn",
        metavar="ARN",
        help="a SUCCEEDED execution of the workflow whose history supplies times, item counts, "
        "branch frequencies and payloads (default: the most recent one)",
    )
    source.add_argument(
        "--recent-executions",
        type=int,
        metavar="N",
        help="the N most recent SUCCEEDED executions, 1-20 (default: 1)",
    )
    target = parser.add_argument_group("the end-to-end target")
    target.add_argument(
        "--max-duration-ms",
        "--latency-target-ms",
        dest="max_duration_ms",
        type=float,
        metavar="MS",
        help="the workflow's end-to-end duration target, > 0 (default: none; required, here or in "
        "--input-file)",
    )
    target.add_argument(
        "--duration-statistic",
        choices=DURATION_STATISTICS,
        help="which statistic of the end-to-end duration must meet it (default: average)",
    )
    tuning = parser.add_argument_group("each function's tuning")
    tuning.add_argument(
        "--power-values",
        type=power_values_flag,
        metavar="MB,MB,...",
        help="memory sizes to measure, or ALL (default: the tuner's)",
    )
    tuning.add_argument("--num", type=int, metavar="N", help="invocations per size (default: 10)")
    tuning.add_argument(
        "--strategy", choices=STRATEGIES, help="what each child tuning optimises (default: cost)"
    )
    tuning.add_argument(
        "--payload",
        action="append",
        type=payload_flag,
        metavar="FUNCTION=JSON",
        help="measure FUNCTION (its name or ARN) with this payload instead of the history's; "
        "FUNCTION=@FILE reads it from a file; repeat (default: the payloads the history shows)",
    )
    tuning.add_argument(
        "--auto-optimize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="apply every recommended size (default: off)",
    )
    tuning.add_argument(
        "--on-error",
        choices=ON_ERROR,
        help="a function whose tuning fails: fail the run, or skip it (it keeps its size and its "
        "observed time) (default: fail)",
    )
    tuner = parser.add_argument_group("the workflow tuner")
    where = tuner.add_mutually_exclusive_group()
    where.add_argument(
        "--tuner-arn",
        metavar="ARN",
        help="the workflow tuner's state machine (default: the stack's output WorkflowArn)",
    )
    where.add_argument(
        "--stack-name",
        metavar="NAME",
        help=f"read the workflow tuner from this stack's outputs (default {DEFAULT_STACK_NAME})",
    )
    add_aws_options(parser)
    out = parser.add_argument_group("output")
    out.add_argument(
        "--plan",
        action="store_true",
        help="read the workflow and price tuning its functions; start nothing",
    )
    add_no_wait(out)
    out.add_argument(
        "--output", choices=("table", "json"), default="table", help="json prints the result JSON on stdout"
    )
    out.add_argument(
        "--report", type=Path, metavar="FILE", help="write the workflow HTML report here (default: none)"
    )
    out.add_argument(
        "--output-file", type=Path, metavar="FILE", help="write the result JSON here (default: none)"
    )
    add_poll_interval(out, default=5.0)
    parser.set_defaults(func=workflow)


def _own_state_machines(
    factory: aws.ClientFactory, args: argparse.Namespace, region: str | None
) -> list[str]:
    """The tuner's state machines from its stack's outputs (none when the stack cannot be read)."""
    stack = args.stack_name or DEFAULT_STACK_NAME
    own = [args.tuner_arn] if args.tuner_arn else []
    for key in OWN_OUTPUTS:
        try:
            own.append(executions.stack_output(factory.client("cloudformation", region), stack, key))
        except AWS_ERRORS:
            continue
    return own


def workflow(args: argparse.Namespace) -> int:
    """Plan, or start (and follow) one workflow tuning; returns the exit code."""
    if args.no_wait and (args.report or args.output_file):
        return usage_error(
            "--no-wait cannot be combined with --report or --output-file, which need the result"
        )
    if args.plan and (args.report or args.output_file or args.no_wait):
        return usage_error("--plan starts nothing: --report, --output-file and --no-wait need a tuning")
    try:
        check_outputs((("--report", args.report), ("--output-file", args.output_file)))
        workflow_input = build_workflow_input(args)
    except PowerTuningError as exc:
        return usage_error(str(exc))
    factory = aws.ClientFactory.from_args(args)
    region = aws.region_of(args.state_machine_arn)
    if args.plan:
        return _plan(args, factory, workflow_input, region)
    try:
        tuner_arn = args.tuner_arn or executions.stack_output(
            factory.client("cloudformation", region), args.stack_name or DEFAULT_STACK_NAME, WORKFLOW_OUTPUT
        )
        sfn = factory.client("stepfunctions", aws.region_of(tuner_arn))
        execution_arn = executions.start_named(sfn, tuner_arn, "powertune-workflow", workflow_input)
    except AWS_ERRORS as exc:
        return not_started(exc)
    if args.no_wait:
        return print_started(execution_arn, args.output)
    status(f"tuning the workflow {args.state_machine_arn}")
    status(f"execution {execution_arn}")

    def follow() -> dict[str, Any]:
        with Progress(sys.stderr, quiet=args.quiet) as progress:
            told = WorkflowProgress(progress)
            return executions.follow(sfn, execution_arn, told, poll_s=args.poll_interval).description

    described, code = follow_to_end(
        follow, execution_arn, what="the workflow tuning", goes_on="the workflow tuning"
    )
    if described is None:
        return code
    try:
        result = _result(factory, json.loads(described["output"]))
    except (*AWS_ERRORS, ValueError, KeyError) as exc:
        error(f"cannot read the result of {execution_arn}: {exc}")
        return EXIT_EXECUTION_FAILED
    graph = _graph(factory, args, result) if args.report else None
    return finish(args, result, execution_arn=execution_arn, graph=graph)


def _graph(factory: aws.ClientFactory, args: argparse.Namespace, result: Mapping[str, Any]) -> Node | None:
    """The workflow's graph for the report's drawing, read again from the executions the result was
    built from (read-only calls); None, and the report draws from the result's steps, when it cannot
    be read or the executions found are not those."""
    read = [str(e) for e in result.get("executions", [])]
    if not read:
        return None
    source: dict[str, Any] = {"executionArn": read[0]} if len(read) == 1 else {"recentExecutions": len(read)}
    region = aws.region_of(args.state_machine_arn)
    try:
        from powertuning.workflow.reader import read_workflow

        request = WorkflowRequest.from_dict(
            {"stateMachineArn": args.state_machine_arn, "maxDurationMs": result["maxDurationMs"], **source}
        )
        plan = read_workflow(
            request,
            sfn=factory.client("stepfunctions", region),
            lambda_client=factory.client("lambda", region),
            own_state_machines=_own_state_machines(factory, args, region),
        )
    except (ImportError, *AWS_ERRORS) as exc:
        status(f"the report lays the workflow out from the result's steps: {exc}")
        return None
    if set(plan.executions) != set(read):
        status("the report lays the workflow out from the result's steps: newer executions ran since")
        return None
    return plan.graph


def _result(factory: aws.ClientFactory, output: Any) -> dict[str, Any]:
    """The WorkflowResult dict: the execution's output, or the whole result in S3 when the output
    left its drawing's steps out to stay within a state's size (`resultS3`)."""
    if not (isinstance(output, Mapping) and isinstance(output.get("met"), bool)):
        raise PowerTuningError(f"the execution output is not a workflow result: {str(output)[:200]}")
    uri = output.get("resultS3")
    if isinstance(uri, str) and uri.startswith("s3://"):
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        found = lambda_api.read_s3_json(factory.client("s3"), bucket, key)
        if not (isinstance(found, Mapping) and isinstance(found.get("met"), bool)):
            raise PowerTuningError(f"{uri} does not hold a workflow result")
        return dict(found)
    return dict(output)


def finish(
    args: argparse.Namespace,
    result: Mapping[str, Any],
    *,
    execution_arn: str | None = None,
    graph: Node | None = None,
) -> int:
    """Print the result, write the report and the JSON file, and gate on `met` (exit 0 or 3)."""
    if args.output == "json":
        print(json.dumps(result, indent=2))
    else:
        print(format_result(result))
    try:
        if args.output_file:
            args.output_file.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
            status(f"wrote {args.output_file}")
        if args.report:
            size = write_workflow_html(
                args.report,
                result,
                state_machine_arn=args.state_machine_arn,
                execution_arn=execution_arn,
                graph=graph,
            )
            status(f"wrote {args.report} ({size:,} bytes)")
    except OSError as exc:
        error(str(exc))
        return EXIT_USAGE
    if not result.get("met"):
        print(f"powertune: {unmet_reason(result)}", file=sys.stderr)
        return EXIT_GATE_FAILED
    return EXIT_OK


def _plan(
    args: argparse.Namespace, factory: aws.ClientFactory, workflow_input: dict[str, Any], region: str | None
) -> int:
    # Imported here: the reader is only needed to plan (the tuner reads the workflow itself otherwise).
    from powertuning.workflow.reader import read_workflow

    request = WorkflowRequest.from_dict(workflow_input)
    try:
        own = _own_state_machines(factory, args, region)
        sfn = factory.client("stepfunctions", region)
        lambda_client = factory.client("lambda", region)
        plan = read_workflow(request, sfn=sfn, lambda_client=lambda_client, own_state_machines=own)
        priced = price_plan(
            plan, lambda_client=lambda_client, cloudwatch=factory.client("cloudwatch", region)
        )
    except AWS_ERRORS as exc:
        return usage_error(str(exc))
    print(json.dumps(priced.to_dict(), indent=2) if args.output == "json" else priced.format())
    return EXIT_OK
