"""`powertune fleet`: tune many functions in one execution of the fleet state machine.

`--plan` resolves the fleet as the FleetResolver would and prices it (current monthly cost, an upper
estimate of each tuning's cost) without starting anything. Exit codes as for `run`: 0 success, 1 the
fleet execution failed, 2 bad usage or invalid input (nothing started), 3 a gate failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from powertuning import aws, fleet_steps, lambda_api
from powertuning.arns import FunctionRef
from powertuning.aws import executions
from powertuning.cli.execution import AWS_ERRORS, follow_to_end, not_started, print_started
from powertuning.cli.options import (
    DEFAULT_STACK_NAME,
    add_aws_options,
    add_input_file,
    add_poll_interval,
    percentage,
    positive,
)
from powertuning.cli.output import (
    EXIT_CODES_HELP,
    EXIT_GATE_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    error,
    render_rows,
    status,
    usage_error,
)
from powertuning.errors import PowerTuningError
from powertuning.fleet_request import FleetRequest, Selector
from powertuning.fleet_summary import (
    cold_start_text,
    estimated_tuning_cost,
    logs_insights_estimate,
    monthly_cost,
)
from powertuning.report.fleet import write_fleet_html

FLEET_OUTPUT = "FleetArn"


def _tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def register(subparsers: Any) -> None:
    """Add the `fleet` subcommand."""
    parser = subparsers.add_parser(
        "fleet",
        help="tune many functions in one execution (Step Functions Distributed Map)",
        description="Tune a fleet of functions with the deployed fleet state machine: one ordinary tuning "
        "per function, ranked by the monthly saving of its recommendation.",
        epilog=EXIT_CODES_HELP,
    )
    which = parser.add_argument_group("which functions (a list, or a selector)")
    which.add_argument(
        "--function", action="append", metavar="ARN", help="a function to tune; repeat (default: none)"
    )
    which.add_argument(
        "--tag",
        action="append",
        type=_tag,
        metavar="KEY=VALUE",
        help="select functions with this tag; repeat (default: none)",
    )
    which.add_argument(
        "--prefix", metavar="P", help="select functions whose name starts with P (default: none)"
    )
    which.add_argument(
        "--runtime", metavar="R", help="select functions of this runtime, e.g. python3.13 (default: any)"
    )
    add_input_file(
        parser,
        "tuning input for every function (a JSON object), or {defaults, overrides} "
        "(default: the tuner's defaults)",
    )
    parser.add_argument("--max-concurrency", type=int, metavar="N", help="tunings at once (default: 5)")
    parser.add_argument(
        "--tolerated-failure-percentage",
        type=float,
        metavar="P",
        help="fail the fleet when more fail (default: 100)",
    )
    parser.add_argument(
        "--stack-name", metavar="NAME", help=f"the tuner's stack (default {DEFAULT_STACK_NAME})"
    )
    add_aws_options(parser)
    out = parser.add_argument_group("output")
    out.add_argument(
        "--plan", action="store_true", help="list the functions and what tuning them costs; start nothing"
    )
    out.add_argument(
        "--wait", action="store_true", help="follow the fleet until it ends (default: print its ARN and exit)"
    )
    out.add_argument(
        "--output", choices=("table", "json"), default="table", help="json prints the summary JSON on stdout"
    )
    out.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="write the fleet HTML report here (needs --wait; default: none)",
    )
    add_poll_interval(out, default=5.0)
    gates = parser.add_argument_group("gates (exit code 3 when one fails; need --wait)")
    gates.add_argument(
        "--max-tuning-cost",
        type=positive,
        metavar="USD",
        help="fail if tuning the fleet cost more (default: no gate)",
    )
    gates.add_argument(
        "--max-failed-percentage",
        type=percentage,
        metavar="P",
        help="fail if a larger share of functions failed (default: no gate)",
    )
    parser.set_defaults(func=fleet)


def build_fleet_input(args: argparse.Namespace) -> dict[str, Any]:
    """The fleet input from the flags and --input-file, validated like the FleetResolver validates it."""
    selector = Selector(
        tags=tuple(args.tag or ()), name_prefix=args.prefix or None, runtime=args.runtime or None
    ).to_dict()
    if bool(args.function) == bool(selector):
        raise PowerTuningError(
            "give --function ARN ..., or a selector (--tag, --prefix, --runtime), not both"
        )
    data: dict[str, Any] = {"functions": list(args.function)} if args.function else {"selector": selector}
    if args.input_file:
        document = json.loads(args.input_file.read_text(encoding="utf-8"))
        if isinstance(document, dict) and ("defaults" in document or "overrides" in document):
            data.update({k: document[k] for k in ("defaults", "overrides") if k in document})
        else:
            data["defaults"] = document
    if args.max_concurrency is not None:
        data["maxConcurrency"] = args.max_concurrency
    if args.tolerated_failure_percentage is not None:
        data["toleratedFailurePercentage"] = args.tolerated_failure_percentage
    FleetRequest.from_dict(data)
    return data


def fleet(args: argparse.Namespace) -> int:
    """Plan, or start (and follow) one fleet execution; returns the exit code."""
    if (args.report or args.max_tuning_cost is not None or args.max_failed_percentage is not None) and not (
        args.wait or args.plan
    ):
        return usage_error("--report and the gates need --wait (they read the fleet's result)")
    try:
        fleet_input = build_fleet_input(args)
    except (PowerTuningError, OSError, json.JSONDecodeError) as exc:
        return usage_error(str(exc))
    factory = aws.ClientFactory.from_args(args)
    if args.plan:
        return _plan(args, factory, fleet_input)
    try:
        fleet_arn = executions.stack_output(
            factory.client("cloudformation"), args.stack_name or DEFAULT_STACK_NAME, FLEET_OUTPUT
        )
        sfn = factory.client("stepfunctions", aws.region_of(fleet_arn))
        execution_arn = executions.start_named(sfn, fleet_arn, "powertune-fleet", fleet_input)
    except AWS_ERRORS as exc:
        return not_started(exc)
    if not args.wait:
        return print_started(execution_arn, args.output)
    status(f"fleet execution {execution_arn}")
    described, code = follow_to_end(
        lambda: _follow(sfn, factory, execution_arn, args),
        execution_arn,
        what="the fleet execution",
        goes_on="the fleet",
    )
    if described is None:
        return code
    location = json.loads(described["output"])["summary"]
    s3 = factory.client("s3")
    summary = json.loads(s3.get_object(Bucket=location["bucket"], Key=location["key"])["Body"].read())
    return _finish(args, summary)


def _plan(args: argparse.Namespace, factory: aws.ClientFactory, fleet_input: dict[str, Any]) -> int:
    request = FleetRequest.from_dict(fleet_input)
    try:
        region = factory.region or aws.region_of(request.functions[0] if request.functions else None)
        lambda_client = factory.client("lambda", region)
        # The tuner also leaves out its own functions when it runs; the plan cannot know them.
        selection = fleet_steps.resolve(request, lambda_client, own_functions=[], fleet_execution="plan")
        usage = fleet_steps.usage(
            factory.client("cloudwatch", region), [i.function.arn for i in selection.items], log_bytes=True
        )
    except AWS_ERRORS as exc:
        return usage_error(str(exc))
    region = region or lambda_client.meta.region_name
    rows: list[tuple[str, ...]] = []
    plan: list[dict[str, Any]] = []
    total_cost = 0.0
    unknown = 0
    for item in selection.items:
        info = item.function
        used = usage[info.unqualified]
        current = monthly_cost(used, info.memory_size, info.architecture, region)
        cost = estimated_tuning_cost(info, item.tuning_input, used, region)
        # A tuning at a production rate runs one Logs Insights query, billed per GB scanned.
        query = logs_insights_estimate(info, item.tuning_input, used, region)
        unknown += query["cost"] is None
        total = cost["lambdaCost"] + cost["stepFunctionsCost"] + (query["cost"] or 0.0)
        total_cost += total
        plan.append(
            {
                "functionArn": info.arn,
                "memorySize": info.memory_size,
                "invocations14d": used.invocations,
                "currentMonthlyCost": round(current, 4),
                "estimatedTuningCost": round(total, 6),
                "logsInsights": query,
            }
        )
        rows.append(
            (
                info.name,
                f"{info.memory_size} MB",
                f"{used.invocations:,.0f}",
                f"${current:,.2f}",
                f"${total:.4f}",
                _query_cell(query),
            )
        )
    unpriced = (
        f", plus the Logs Insights queries of {unknown} function(s) whose scanned bytes are unknown"
        if unknown
        else ""
    )
    if args.output == "json":
        print(
            json.dumps(
                {
                    "functions": plan,
                    "totalEstimatedTuningCost": round(total_cost, 6),
                    "logsInsightsUnknown": unknown,
                },
                indent=2,
            )
        )
    else:
        print(
            render_rows(
                (
                    "Function",
                    "Memory",
                    "Invocations (14 d)",
                    "Current $/month",
                    "Tuning cost (est.)",
                    "Logs Insights (est.)",
                ),
                rows,
                (False, True, True, True, True, False),
            )
        )
        print(
            f"\n{len(rows)} functions; tuning them costs at most about ${total_cost:.4f}{unpriced}. "
            "Nothing was started."
        )
    return EXIT_OK


def _query_cell(query: Mapping[str, Any]) -> str:
    """The plan's Logs Insights column: its cost and bytes, "unknown", or why no query runs."""
    if not query["query"]:
        return "none: custom log group" if query.get("customLogGroup") else "-"
    if query["cost"] is None:
        return "unknown"
    return f"${query['cost']:.4f} ({query['scannedBytes'] / 1e9:,.2f} GB)"


def _follow(
    sfn: Any, factory: aws.ClientFactory, execution_arn: str, args: argparse.Namespace
) -> dict[str, Any]:
    """Poll the fleet; tell each function's tuning as it ends (children are read by their names)."""
    tuner_arn = None
    children: dict[str, str] = {}
    told: set[str] = set()
    while True:
        described = executions.describe_execution(sfn, execution_arn)
        if not children:
            children = _children(sfn, factory, execution_arn)
            if children and tuner_arn is None:
                tuner_arn = executions.state_machine_from_stack(
                    factory.client("cloudformation"), args.stack_name or DEFAULT_STACK_NAME
                )
        for function_arn, name in children.items():
            if function_arn in told or tuner_arn is None:
                continue
            child = tuner_arn.replace(":stateMachine:", ":execution:") + ":" + name
            try:
                state = aws.call(sfn, "describe_execution", executionArn=child)
            except ClientError:
                continue  # not started yet
            if state["status"] in executions.TERMINAL:
                told.add(function_arn)
                status(
                    f"[{len(told)}/{len(children)}] {FunctionRef.parse(function_arn).name}: {_told(state)}"
                )
        if described["status"] in executions.TERMINAL:
            return described
        time.sleep(args.poll_interval)


def _told(state: Mapping[str, Any]) -> str:
    if state["status"] == "SUCCEEDED":
        output = json.loads(state.get("output") or "{}")
        return f"recommends {output.get('power')} MB"
    if state.get("error") == "RunInProgressError":
        return "skipped: already being tuned (RunInProgressError)"
    return f"{state['status']} {state.get('error') or ''}".strip()


def _children(sfn: Any, factory: aws.ClientFactory, execution_arn: str) -> dict[str, str]:
    """function ARN -> child execution name, once the resolver has written the item list."""
    for event in aws.call(sfn, "get_execution_history", executionArn=execution_arn, maxResults=50)["events"]:
        details = event.get("taskSucceededEventDetails") or event.get("lambdaFunctionSucceededEventDetails")
        if not details:
            continue
        output = json.loads(details.get("output") or "{}")
        if "items" in output and "count" in output:
            where = output["items"]
            items = lambda_api.read_s3_json(factory.client("s3"), where["bucket"], where["key"])
            return {item["functionArn"]: item["executionName"] for item in items}
    return {}


def _finish(args: argparse.Namespace, summary: dict[str, Any]) -> int:
    totals = summary["totals"]
    if args.output == "json":
        print(json.dumps(summary, indent=2))
    else:
        print(format_summary(summary))
    if args.report:
        try:
            size = write_fleet_html(args.report, summary)
        except OSError as exc:
            error(str(exc))
            return EXIT_USAGE
        status(f"wrote {args.report} ({size:,} bytes)")
    failures = []
    if args.max_tuning_cost is not None and totals["tuningCost"] > args.max_tuning_cost:
        failures.append(
            f"tuning the fleet cost ${totals['tuningCost']:.4f}, "
            f"above --max-tuning-cost ${args.max_tuning_cost:g}"
        )
    if args.max_failed_percentage is not None and totals["failedPercentage"] > args.max_failed_percentage:
        failures.append(
            f"{totals['failed']} of {totals['functions']} functions failed ({totals['failedPercentage']}%), "
            f"above --max-failed-percentage {args.max_failed_percentage:g}"
        )
    for failure in failures:
        print(f"powertune: gate failed: {failure}", file=sys.stderr)
    return EXIT_GATE_FAILED if failures else EXIT_OK


def _rate_cell(cold: Mapping[str, Any] | None) -> str:
    if cold is None:
        return "-"
    return "none" if cold.get("rate") is None else cold_start_text(cold)


def format_summary(summary: Mapping[str, Any]) -> str:
    """The fleet summary as text: functions by saving, then failures and skips with their causes."""
    rows: list[tuple[str, ...]] = [
        (
            r["functionArn"].split(":")[6],
            f"{r['memorySize']} MB",
            f"{r['recommendedMemory']} MB",
            f"${r['currentMonthlyCost']:,.2f}",
            f"${r['monthlySaving']:,.2f}",
        )
        for r in summary["functions"]
    ]
    headers: tuple[str, ...] = ("Function", "Memory", "Recommended", "Current $/month", "Saving $/month")
    if any("coldStart" in r for r in summary["functions"]):
        # The rate each tuning priced cold starts at; a function whose logs held none says so below.
        headers += ("Cold-start rate",)
        rows = [
            (*row, _rate_cell(r.get("coldStart"))) for row, r in zip(rows, summary["functions"], strict=True)
        ]
    lines = [render_rows(headers, rows, (False, True, True, True, True, True)[: len(headers)])]
    for r in summary["functions"]:
        cold = r.get("coldStart") or {}
        if cold.get("unavailable"):
            lines.append(
                f"no cold-start rate: {r['functionArn'].split(':')[6]}: {cold['unavailable']} "
                "(tuned on warm invocations)"
            )
    for key, label in (("failed", "failed"), ("skipped", "skipped")):
        for f in summary[key]:
            lines.append(f"{label}: {f['functionArn'].split(':')[6]}: {f['error']}: {f['cause']}")
    t = summary["totals"]
    lines.append(
        f"\n{t['succeeded']} tuned, {t['failed']} failed, {t['skipped']} skipped; "
        f"saving ${t['monthlySaving']:,.2f} "
        f"a month of ${t['currentMonthlyCost']:,.2f}; tuning cost ${t['tuningCost']:.4f}"
    )
    return "\n".join(lines)
