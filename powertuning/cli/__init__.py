"""`powertune`: tune a Lambda function from a terminal, a pipeline, or locally with no AWS account.

Each subcommand lives in its own module and registers itself here. What every subcommand shares
is added here too: `-q/--quiet`, the help format (defaults and examples), Ctrl-C ending with one
line and exit code 130, and a missing optional dependency naming the extra that installs it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from importlib import metadata
from types import FrameType
from typing import Any, Final

import powertuning
from powertuning.cli import console
from powertuning.cli.help import EXAMPLES, TOP_EXAMPLES, HelpFormatter, Parser

# Subcommand modules; each exposes `register(subparsers)` and sets `func(args) -> int` on its parser.
SUBCOMMANDS: Final = ("run", "fleet", "workflow", "local", "report", "compare", "clean")
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130  # 128 + SIGINT, as shells report it


def version() -> str:
    """The installed package's version (the source tree's when run from a checkout)."""
    try:
        return metadata.version("powertuning")
    except metadata.PackageNotFoundError:
        return powertuning.__version__


def _missing_dependency(exc: ModuleNotFoundError, command: str) -> str | None:
    """`powertune X needs Y: pip install ...` when `exc` is an optional dependency's absence."""
    module = exc.name or ""
    hint = console.install_hint(module)
    if hint is None:
        return None
    return f"powertune {command} needs {module.split('.')[0]}, which is not installed: {hint}"


def _unavailable(subparsers: Any, name: str, why: str) -> None:
    """A subcommand that cannot run here still shows up, and says what to install."""
    parser = subparsers.add_parser(name, help=f"(unavailable: {why})", description=why)

    def explain(_args: argparse.Namespace) -> int:
        print(f"powertune: error: {why}", file=sys.stderr)
        return EXIT_USAGE

    parser.set_defaults(func=explain)


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    """-q/--quiet, unless the subcommand has it already (run and local get it with the input flags)."""
    if "--quiet" not in parser._option_string_actions:
        parser.add_argument(
            "-q", "--quiet", action="store_true", help="no progress or status lines on stderr"
        )


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand."""
    parser = Parser(
        prog="powertune",
        description="Find the best memory size for an AWS Lambda function by measuring it.",
        epilog=TOP_EXAMPLES,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"powertuning.cli.{name}")
        except ModuleNotFoundError as exc:
            why = _missing_dependency(exc, name)
            if why is None and exc.name == f"powertuning.cli.{name}":
                why = f"this installation of powertuning has no powertuning.cli.{name}"
            if why is None:
                raise
            _unavailable(subparsers, name, why)
            continue
        module.register(subparsers)
    for name, sub in subparsers.choices.items():
        add_quiet_option(sub)
        sub.formatter_class = HelpFormatter
        if name in EXAMPLES:
            sub.epilog = f"{sub.epilog}\n\n{EXAMPLES[name]}" if sub.epilog else EXAMPLES[name]
    return parser


def _interrupted() -> int:
    console.close_all()
    # On a terminal the line starts after the "^C" the terminal echoed.
    start = "\n" if console.is_interactive(sys.stderr) else ""
    print(f"{start}powertune: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED


def _on_interrupt(_signum: int, _frame: FrameType | None) -> None:
    console.interrupt()
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `powertune` script; returns the exit code."""
    args: argparse.Namespace | None = None
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, _on_interrupt)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        console.configure(quiet=bool(getattr(args, "quiet", False)))
        code: int = args.func(args)
        return code
    except KeyboardInterrupt:
        return _interrupted()
    except Exception as exc:
        if console.raised_while(exc, KeyboardInterrupt):
            # Cleanup that failed while unwinding from Ctrl-C: the interrupt is what happened.
            return _interrupted()
        if not isinstance(exc, ModuleNotFoundError):
            raise
        why = _missing_dependency(exc, getattr(args, "command", None) or "")
        if why is None:
            raise
        console.close_all()
        print(f"powertune: error: {why}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        console.close_all()
        console.configure()
        logging.disable(logging.NOTSET)
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    sys.exit(main())
