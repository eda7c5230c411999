"""`powertune clean`: find and remove what any tuning run left on a function, restore its original.

After an aborted or timed-out execution, a cleanup that kept failing or a crash of the tuner, the
function may carry RAM<size> aliases, versions marked `powertuning <runId> RAM<size>`, a marked
$LATEST at a test memory size, and the run's registration in the stack's run table. This command
lists them (`--dry-run`) or removes them and puts back the original memory and description
recorded when the run started; it never guesses an original it did not record.
"""

from __future__ import annotations

import argparse
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from powertuning import aws
from powertuning.arns import FunctionRef
from powertuning.aws import executions, run_table
from powertuning.cli.options import DEFAULT_STACK_NAME, add_aws_options
from powertuning.cli.output import EXIT_EXECUTION_FAILED, EXIT_OK, error, usage_error
from powertuning.errors import InvalidInputError, PowerTuningError
from powertuning.lifecycle.recovery import apply_clean, plan_clean

RUNS_TABLE_OUTPUT = "RunsTableName"


def register(subparsers: Any) -> None:
    """Add the `clean` subcommand."""
    parser = subparsers.add_parser(
        "clean",
        help="remove what an interrupted tuning left on a function and restore its original configuration",
        description="Find every tuning run's aliases, versions and marker on a function, remove them and "
        "restore the memory and description recorded when the run started.",
        epilog="Exit codes: 0 clean (or nothing to do), 1 something could not be removed, 2 bad usage, "
        "3 the run is still executing (nothing changed).",
    )
    parser.add_argument("--function", metavar="ARN", required=True, help="the function to clean")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--stack-name",
        metavar="NAME",
        help=f"the tuner's stack, for its run table (default: {DEFAULT_STACK_NAME})",
    )
    where.add_argument(
        "--runs-table",
        metavar="NAME",
        help="the run table's name (default: the stack's output RunsTableName)",
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would be done and change nothing")
    parser.add_argument(
        "--force",
        action="store_true",
        help="clean even though the registered execution still runs (it would fight the cleanup)",
    )
    add_aws_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, factory: aws.ClientFactory | None = None) -> int:
    """Plan, print, and (unless --dry-run) clean."""
    try:
        ref = FunctionRef.parse(args.function)
    except InvalidInputError as exc:
        return usage_error(f"--function: {exc}")
    factory = factory or aws.ClientFactory.from_args(args)
    try:
        region = args.region or ref.region
        lambda_client = factory.client("lambda", region)
        runs = factory.client("dynamodb", args.region)
        table = args.runs_table or executions.stack_output(
            factory.client("cloudformation", args.region),
            args.stack_name or DEFAULT_STACK_NAME,
            RUNS_TABLE_OUTPUT,
        )
        record = run_table.get_run(runs, table, ref.unqualified)
        if record and not args.force and _still_running(factory, record, args.region):
            error(
                f"{ref.unqualified} is being tuned by execution {record.get('executionArn')}, which is still "
                "running; wait for it (or stop it, which triggers the stack's recovery) or give --force"
            )
            return 3
        plan = plan_clean(lambda_client, ref.unqualified, record)
        for line in plan.lines():
            print(("would " if args.dry_run and not plan.empty else "") + line)
        if args.dry_run or plan.empty:
            return EXIT_OK
        # A run that measured another architecture kept the original code in the staging bucket.
        storage = factory.client("s3", region)
        for line in apply_clean(plan, lambda_client, runs, table, storage=storage):
            print(line)
    except (PowerTuningError, ClientError, BotoCoreError) as exc:
        error(f"clean failed: {exc}")
        return EXIT_EXECUTION_FAILED
    return EXIT_OK


def _still_running(factory: aws.ClientFactory, record: dict[str, Any], region: str | None) -> bool:
    execution = str(record.get("executionArn") or "")
    if not execution.startswith("arn:"):
        return False
    try:
        status = executions.describe_execution(
            factory.client("stepfunctions", region or aws.region_of(execution)), execution
        )
    except (ClientError, PowerTuningError):  # PowerTuningError: still throttled after the retries
        return False
    return bool(status.get("status") == "RUNNING")
