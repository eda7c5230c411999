"""`powertune compare A B`: two tuning results overlaid in one report (x86_64 vs arm64, say)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from powertuning import aws
from powertuning.cli.options import add_aws_options
from powertuning.cli.output import EXIT_EXECUTION_FAILED, EXIT_OK, error, format_comparison, usage_error
from powertuning.cli.report import ExecutionNotSucceededError, add_render_options, load_result, render
from powertuning.errors import PowerTuningError

DEFAULT_HTML = Path("compare.html")


def register(subparsers: Any) -> None:
    """Add the `compare` subcommand."""
    parser = subparsers.add_parser(
        "compare",
        help="overlay two tuning results in one report",
        description="Compare two tuning results (execution ARNs or output JSON files) in one table "
        "and one self-contained HTML report.",
        epilog="exit codes: 0 written, 1 an execution did not succeed, 2 bad usage or unreadable input",
    )
    parser.add_argument("a", metavar="A", help="first result: execution ARN, output JSON file, or -")
    parser.add_argument("b", metavar="B", help="second result")
    parser.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="NAME",
        help="name of A, then of B (default: the file names or execution names)",
    )
    add_render_options(parser, DEFAULT_HTML)
    add_aws_options(parser)
    parser.set_defaults(func=compare)


def compare(args: argparse.Namespace) -> int:
    """Render two results side by side; returns the exit code."""
    if len(args.label) > 2:
        return usage_error("--label is given at most twice: once for A, once for B")
    if args.a == "-" and args.b == "-":
        return usage_error("only one of A and B can be read from stdin")
    labels = [*args.label, None, None][:2]
    factory = aws.ClientFactory.from_args(args)
    try:
        results = [
            load_result(source, factory, label=label)
            for source, label in zip((args.a, args.b), labels, strict=True)
        ]
    except ExecutionNotSucceededError as exc:
        error(str(exc))
        return EXIT_EXECUTION_FAILED
    except (PowerTuningError, ClientError, BotoCoreError) as exc:
        return usage_error(str(exc))
    if results[0].label == results[1].label:
        # Same file names (a/result.json, b/result.json): the chart's legend must still tell them apart.
        results = [
            replace(r, label=f"{n} ({r.label})" if r.label else n) for r, n in zip(results, "AB", strict=True)
        ]
    print(format_comparison(results))
    try:
        render(args, results)
    except (OSError, PowerTuningError) as exc:
        return usage_error(str(exc))
    return EXIT_OK
