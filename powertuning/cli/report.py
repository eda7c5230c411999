"""`powertune report RESULT`: an offline HTML report, a PNG chart and the visualization link.

RESULT is an execution ARN (read with DescribeExecution), a saved execution output JSON (from
`powertune run --output json` or the console), a saved DescribeExecution answer, or `-` for stdin.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from powertuning import aws
from powertuning.aws import executions
from powertuning.cli.options import add_aws_options
from powertuning.cli.output import EXIT_EXECUTION_FAILED, EXIT_OK, error, format_table, status, usage_error
from powertuning.errors import PowerTuningError
from powertuning.report import RunMetadata, TuningResult, write_html, write_png

DEFAULT_HTML = Path("report.html")


class ExecutionNotSucceededError(PowerTuningError):
    """The execution a report was asked for did not succeed, so it has no result."""


def register(subparsers: Any) -> None:
    """Add the `report` subcommand."""
    parser = subparsers.add_parser(
        "report",
        help="write an offline HTML report (and a PNG) of a tuning result",
        description="Render a tuning result as a self-contained HTML page (charts inline, nothing "
        "fetched), optionally a PNG chart, and print the table and the visualization link.",
        epilog="exit codes: 0 written, 1 the execution did not succeed, 2 bad usage or unreadable RESULT",
    )
    parser.add_argument("result", metavar="RESULT", help="execution ARN, output JSON file, or - for stdin")
    add_render_options(parser, DEFAULT_HTML)
    add_aws_options(parser)
    parser.set_defaults(func=report)


def add_render_options(parser: argparse.ArgumentParser, default_html: Path) -> None:
    """Add --html, --png and --title (shared with `compare`)."""
    parser.add_argument(
        "--html",
        "-o",
        type=Path,
        default=default_html,
        metavar="FILE",
        help=f"where to write the page (default {default_html})",
    )
    parser.add_argument(
        "--png", type=Path, metavar="FILE", help="also write the chart as a PNG (default: none)"
    )
    parser.add_argument("--title", help="page and chart title (default: from the function's name)")


def load_result(source: str, factory: aws.ClientFactory, *, label: str | None = None) -> TuningResult:
    """Read a result from an execution ARN, a JSON file or stdin (`-`)."""
    known = RunMetadata()
    if source.startswith("arn:") and ":execution:" in source:
        sfn = factory.client("stepfunctions", aws.region_of(source))
        document: Any = executions.describe_execution(sfn, source)
        default_label = source.rsplit(":", 1)[-1]
        # Read from Step Functions itself: measured on AWS (an --endpoint-url may be an emulator).
        known = RunMetadata(measured_on=None if factory.endpoint_url else "aws")
    else:
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
            document = json.loads(text)
        except OSError as exc:
            raise PowerTuningError(f"cannot read {source}: {exc.strerror or exc}") from exc
        except json.JSONDecodeError as exc:
            raise PowerTuningError(f"{source} is not JSON: {exc}") from exc
        default_label = "stdin" if source == "-" else Path(source).stem
    if isinstance(document, Mapping) and document.get("status", "SUCCEEDED") != "SUCCEEDED":
        status = document["status"]
        raise ExecutionNotSucceededError(
            f"the execution {status}, so it has no result\n"
            f"Error: {document.get('error') or status}\nCause: {document.get('cause') or '(none given)'}"
        )
    return TuningResult.from_document(
        document, label=default_label if label is None else label, metadata=known
    )


def render(args: argparse.Namespace, results: list[TuningResult]) -> None:
    """Write --html and --png for these results, saying where on stderr."""
    size = write_html(args.html, results, title=args.title)
    status(f"wrote {args.html} ({size:,} bytes)")
    if args.png:
        size = write_png(args.png, results, title=args.title)
        status(f"wrote {args.png} ({size:,} bytes)")


def report(args: argparse.Namespace) -> int:
    """Render one result; returns the exit code."""
    factory = aws.ClientFactory.from_args(args)
    try:
        result = load_result(args.result, factory, label="")
    except ExecutionNotSucceededError as exc:
        error(str(exc))
        return EXIT_EXECUTION_FAILED
    except (PowerTuningError, ClientError, BotoCoreError) as exc:
        return usage_error(str(exc))
    print(format_table(result))
    try:
        render(args, [result])
    except (OSError, PowerTuningError) as exc:
        return usage_error(str(exc))
    return EXIT_OK
