"""`powertune local`: tune a Python handler on this machine, with no AWS account.

Runs the real state machine and tuner Lambdas on moto (`powertuning.local.engine`) against the
local Lambda runtime (`powertuning.local.runtime`), then prints a table or the execution output.
Progress goes to stderr, so `--output json` leaves exactly the execution output on stdout.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, TextIO

from powertuning.cli.options import add_input_options, build_input
from powertuning.cli.output import EXIT_EXECUTION_FAILED, EXIT_OK, format_table, usage_error
from powertuning.cli.progress import Progress
from powertuning.errors import InvalidInputError, PowerTuningError
from powertuning.local import deps
from powertuning.local.cpu import MODEL
from powertuning.local.runtime import CPU_MODES, InvocationRecord, WorkerRuntime
from powertuning.models import TuningRequest

_REGION = "us-east-1"
_ACCOUNT = "123456789012"
_MODE_TEXT = {
    "model": "CPU time measured at full speed, Duration computed for a quota of memory / 1,769 MB vCPUs "
    "per 20 ms period; independent of this machine's load",
    "cgroup": "a cgroup v1 CPU quota per environment (1,769 MB = 1 vCPU); depends on this machine's load",
}


def register(subparsers: Any) -> None:
    """Add the `local` subcommand."""
    parser = subparsers.add_parser(
        "local",
        help="tune a Python handler on this machine (no AWS account)",
        description=(
            "Tune a Python handler locally: the real state machine and tuner Lambdas run on moto, the "
            "handler runs in worker processes that get CPU in proportion to memory, as on Lambda."
        ),
    )
    parser.add_argument(
        "--handler",
        required=True,
        metavar="PATH/file.py:function",
        help="the handler; its folder is the code",
    )
    parser.add_argument(
        "--timeout", type=int, default=60, metavar="S", help="the function's timeout in seconds (default 60)"
    )
    parser.add_argument(
        "--memory", type=int, default=128, metavar="MB", help="the function's own memory size, restored after"
    )
    parser.add_argument("--name", metavar="NAME", help="function name (default: the handler's folder name)")
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="environment variable (repeatable)"
    )
    parser.add_argument(
        "--log-format", choices=("Text", "JSON"), default="Text", help="the function's log format"
    )
    parser.add_argument(
        "--cpu-mode",
        choices=CPU_MODES,
        default=MODEL,
        help="how CPU follows memory: model (default, load-independent) or cgroup (real throttling, "
        "Linux as root)",
    )
    parser.add_argument("--output", choices=("table", "json"), default="table", help="what goes to stdout")
    add_input_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Tune the handler; 0 = tuned, 1 = the execution failed, 2 = bad usage or input."""
    err: TextIO = sys.stderr
    try:
        target = _Target.from_args(args)
        execution_input = build_input(args, lambda_arn=target.arn)
        # The table shows per-size results; given explicitly, the user's choice stands.
        execution_input.setdefault("includeOutputResults", True)
        request = TuningRequest.from_dict(execution_input)
        environment = target.environment(err)
        runtime = WorkerRuntime(args.cpu_mode)
    except PowerTuningError as exc:
        return usage_error(str(exc))
    from powertuning.local.engine import LocalEngine  # moto is slow to import: after argument checks

    progress = Progress(err)
    runtime.on_invocation = _InvocationLines(progress, request.invocations_per_size)
    progress.say(f"local runtime: CPU mode {runtime.mode} ({_MODE_TEXT.get(runtime.mode, runtime.mode)})")
    with LocalEngine(runtime, region=_REGION) as engine:
        arn = engine.create_target(
            name=target.name,
            handler=target.handler,
            code_dir=target.code_dir,
            memory_mb=args.memory,
            timeout_s=args.timeout,
            environment=environment,
            log_format=args.log_format,
        )
        execution_input["lambdaARN"] = arn
        outcome = engine.run(execution_input, on_event=progress)
    if outcome.status != "SUCCEEDED" or outcome.output is None:
        print(f"Error: {outcome.error}", file=err)
        print(f"Cause: {outcome.cause}", file=err)
        return EXIT_EXECUTION_FAILED
    if args.output == "json":
        print(json.dumps(outcome.output))
    else:
        print(format_table(outcome.output, current_memory=args.memory))
        print(f"Measured locally: CPU mode {runtime.mode}, {runtime.cold_starts} cold starts")
    return EXIT_OK


class _InvocationLines:
    """One progress line per target invocation, from the runtime (its threads)."""

    def __init__(self, progress: Progress, per_size: int) -> None:
        self.progress = progress
        self.per_size = per_size
        self.counts: dict[int, int] = {}

    def __call__(self, record: InvocationRecord) -> None:
        memory = record.spec.memory_mb
        self.counts[memory] = count = self.counts.get(memory, 0) + 1
        cold = (
            f", cold start (Init Duration {record.init_duration_ms:.2f} ms)"
            if record.init_duration_ms
            else ""
        )
        status = "" if record.status == "success" else f" [{record.status}]"
        self.progress.say(
            f"  {memory} MB invocation {count}/{self.per_size}: {record.duration_ms:.2f} ms{cold}{status}"
        )


class _Target:
    """The function to tune, from `--handler PATH/file.py:function`."""

    def __init__(self, handler_file: Path, function: str, name: str, extra_env: dict[str, str]) -> None:
        self.handler_file = handler_file
        self.function = function
        self.name = name
        self.extra_env = extra_env

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> _Target:
        text: str = args.handler
        path_text, sep, function = text.rpartition(":")
        if not sep or not path_text.endswith(".py") or not function.isidentifier():
            raise InvalidInputError(f"--handler must look like path/to/file.py:function, got {text!r}")
        path = Path(path_text)
        if not path.is_file():
            raise InvalidInputError(f"--handler: no such file {path_text}")
        if not path.stem.isidentifier():
            raise InvalidInputError(f"--handler: {path.name} is not an importable module name")
        if not 0 < args.timeout <= 900:
            raise InvalidInputError(
                f"--timeout must be from 1 to 900 seconds (Lambda's range), got {args.timeout}"
            )
        if not 128 <= args.memory <= 10240:
            raise InvalidInputError(f"--memory must be from 128 to 10240 MB, got {args.memory}")
        name = args.name or re.sub(r"[^A-Za-z0-9_-]", "-", path.resolve().parent.name)[:64] or "function"
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
            raise InvalidInputError(f"--name must be 1-64 letters, digits, - or _, got {name!r}")
        env: dict[str, str] = {}
        for item in args.env:
            key, eq, value = item.partition("=")
            if not eq or not key:
                raise InvalidInputError(f"--env takes KEY=VALUE, got {item!r}")
            env[key] = value
        return cls(path, function, name, env)

    @property
    def code_dir(self) -> Path:
        """The handler's folder: the function's code, like /var/task."""
        return self.handler_file.resolve().parent

    @property
    def handler(self) -> str:
        """Lambda's handler string, `module.function`."""
        return f"{self.handler_file.stem}.{self.function}"

    @property
    def arn(self) -> str:
        """The ARN the function will have in the local mock."""
        return f"arn:aws:lambda:{_REGION}:{_ACCOUNT}:function:{self.name}"

    def environment(self, err: TextIO) -> dict[str, str]:
        """--env variables, plus PYTHONPATH to the installed requirements.txt if there is one."""
        env = dict(self.extra_env)
        requirements = deps.requirements_of(self.code_dir)
        if requirements is not None:
            print(f"Installing {requirements} (cached after the first run)...", file=err)
            installed = deps.install(requirements)
            env["PYTHONPATH"] = ":".join(p for p in (str(installed), env.get("PYTHONPATH", "")) if p)
        return env
