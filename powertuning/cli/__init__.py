"""`powertune`: tune a Lambda function from a terminal, a pipeline, or locally with no AWS account.

Each subcommand lives in its own module and registers itself here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Subcommand modules; each exposes `register(subparsers)` and sets `func(args) -> int` on its parser.
SUBCOMMANDS = ("run", "local", "report", "compare", "clean")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="powertune",
        description="Find the best memory size for an AWS Lambda function by measuring it.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"powertuning.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"powertuning.cli.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `powertune` script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
