"""`powertune local`: tune a Python handler on this machine, with no AWS account.

Runs the real state machine and tuner Lambdas on moto (`powertuning.local.engine`) against the
local Lambda runtime (`powertuning.local.runtime`), then prints a table or the execution output.
Progress goes to stderr, so `--output json` leaves exactly the execution output on stdout.

Everything that can be wrong before the tuning starts is checked first, in about a second: the
arguments, the payload, flags that need AWS, and the handler itself (imported once in an isolated
worker, its traceback reported).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import platform
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, Final, TextIO

from powertuning import limits
from powertuning.cli import console, local_aws, local_payloads
from powertuning.cli.local_failures import InvocationLines, explain
from powertuning.cli.local_target import REGION, Target
from powertuning.cli.options import add_input_options, build_input
from powertuning.cli.output import (
    EXIT_EXECUTION_FAILED,
    EXIT_GATE_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    constraint_failure,
    dry_run_summary,
    error,
    format_table,
    usage_error,
)
from powertuning.cli.output_paths import check_outputs
from powertuning.cli.progress import Progress
from powertuning.errors import InvalidInputError, PowerTuningError
from powertuning.input_kinds import PRODUCTION_FORMS
from powertuning.inputs import TuningRequest
from powertuning.local.cpu import MODEL
from powertuning.local.preflight import check_init
from powertuning.local.runtime import CPU_MODES, WorkerRuntime
from powertuning.report import TuningResult, write_html, write_png
from powertuning.report.metadata import RunMetadata

# 128 + SIGTERM, as shells report a process that SIGTERM ended.
EXIT_TERMINATED: Final = 143
# Flags of `powertune run` that need an AWS account: refused with a reason instead of "unrecognized".
_AWS_FLAGS: Final = (
    "--region", "--profile", "--endpoint-url", "--stack-name", "--state-machine-arn", "--function",
)  # fmt: skip
# Input keys that reach other AWS resources, which the local engine does not have.
_AWS_KEYS: Final = {
    "preProcessorARN": ("--pre-processor-arn", "invokes another Lambda function", "leave it out locally"),
    "postProcessorARN": ("--post-processor-arn", "invokes another Lambda function", "leave it out locally"),
}
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
            "handler runs in isolated worker processes whose Duration follows memory as on Lambda."
        ),
    )
    parser.add_argument(
        "--handler",
        required=True,
        metavar="HANDLER",
        help="PATH/file.py:function (its folder is the code), or Lambda's module.function with --code-dir",
    )
    parser.add_argument(
        "--code-dir",
        type=Path,
        metavar="DIR",
        help="the function's code folder (what Lambda unpacks to /var/task), for --handler module.function "
        "(default: the handler file's folder)",
    )
    parser.add_argument(
        "--timeout", type=int, default=60, metavar="S", help="the function's timeout in seconds (default 60)"
    )
    parser.add_argument(
        "--memory", type=int, default=128, metavar="MB", help="the function's own memory size, restored after"
    )
    parser.add_argument(
        "--ephemeral-storage",
        type=int,
        default=512,
        metavar="MB",
        help="the function's /tmp size, 512-10240 MB (default 512; its own /tmp per environment)",
    )
    parser.add_argument("--name", metavar="NAME", help="function name (default: the code folder's name)")
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
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="a progress line per invocation of the function, with its Duration (default: the bar and "
        "one line per size)",
    )
    parser.add_argument(
        "--report", type=Path, metavar="FILE", help="write the HTML report here (default: none)"
    )
    parser.add_argument(
        "--png", type=Path, metavar="FILE", help="write the chart as a PNG here (default: none)"
    )
    parser.add_argument(
        "--output-file",
        type=Path,
        metavar="FILE",
        help="also write the execution output (JSON) here (default: none)",
    )
    for flag in _AWS_FLAGS:
        parser.add_argument(flag, dest=f"aws_{flag[2:].replace('-', '_')}", help=argparse.SUPPRESS)
    parser.add_argument("--no-wait", dest="aws_no_wait", action="store_true", help=argparse.SUPPRESS)
    local_aws.add_options(parser)
    add_input_options(parser)
    parser.set_defaults(func=run)


class _Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C (cleanup runs on the way out), then exit 143."""


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    # A second SIGTERM must not cut the cleanup short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    console.interrupt()
    raise _Terminated


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While the block runs, SIGTERM raises `_Terminated` in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    """Tune the handler; 0 = tuned, 1 = the execution failed, 2 = bad usage or input, 3 = the latency
    target (maxDurationMs) was not met, 143 = SIGTERM.

    SIGTERM cleans up as Ctrl-C does: the workers and whatever the handler started are killed, the
    CPU groups and temporary folders removed, then one line is printed.
    """
    try:
        with _sigterm_unwinds():
            return _run(args)
    except _Terminated:
        return _terminated()
    except Exception as exc:
        if console.raised_while(exc, _Terminated):
            return _terminated()
        raise


def _terminated() -> int:
    console.close_all()
    print("powertune: terminated", file=sys.stderr)
    return EXIT_TERMINATED


# What local mode imports, in its own process or a child's (the local AWS services are moto's server
# mode): checked before anything starts, so a missing extra is named rather than a child's failure.
_LOCAL_MODULES: Final = ("moto", "flask", "flask_cors")


def _require_local_extra() -> None:
    for module in _LOCAL_MODULES:
        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)


def _run(args: argparse.Namespace) -> int:
    err: TextIO = sys.stderr
    _require_local_extra()
    try:
        _refuse_aws_flags(args)
        _check_payload(args)
        check_outputs(
            (("--report", args.report), ("--png", args.png), ("--output-file", args.output_file)),
            png=args.png,
        )
        target = Target.from_args(args)
        execution_input = build_input(args, lambda_arn=target.arn)
        _refuse_aws_keys(execution_input)
        staged = local_payloads.stage_large_payload(execution_input)
        # The table shows per-size results; given explicitly, the user's choice stands.
        execution_input.setdefault("includeOutputResults", True)
        request = TuningRequest.from_dict(execution_input)
        aws = local_aws.AwsPlan.from_args(args)
        if staged is None and request.payload_s3 and aws.mode != local_aws.LOCAL:
            raise InvalidInputError(
                "payloadS3 is read from the local AWS services (--fixtures DIR/s3/<bucket>/<key>): not with "
                "--aws real; give the payload with --payload-file instead"
            )
        python_path = target.dependencies(err)
        runtime = WorkerRuntime(args.cpu_mode)
    except PowerTuningError as exc:
        return usage_error(str(exc))
    prepared = _Prepared(args, target, request, execution_input, python_path, runtime, aws, staged, err)
    try:
        return _tune(prepared)
    finally:
        runtime.close()  # already closed by the engine, unless interrupted before it started
        for warning in runtime.warnings:
            print(f"powertune: warning: {warning}", file=err)


@dataclass(frozen=True)
class _Prepared:
    """What the checks before a local tuning made of the arguments: all the tuning runs with."""

    args: argparse.Namespace
    target: Target
    request: TuningRequest
    execution_input: dict[str, Any]
    python_path: tuple[str, ...]
    runtime: WorkerRuntime
    aws: local_aws.AwsPlan
    staged: local_payloads.Staged | None
    err: TextIO


def _tune(prepared: _Prepared) -> int:
    args, target, request, aws = prepared.args, prepared.target, prepared.request, prepared.aws
    staged = prepared.staged
    failure = check_init(target.spec(args, prepared.python_path))
    if failure is not None:
        return usage_error(
            f"the handler {target.handler} does not load (nothing was started):\n{failure.describe()}"
        )
    try:
        aws.start(REGION, prepared.err)
        if staged is None and request.payload_s3:
            # The tuner reads payloadS3 from its own S3 (the engine's): copied there from the function's.
            body = aws.read_object(request.payload_s3, limits.MAX_INVOKE_PAYLOAD_BYTES)
            staged = local_payloads.Staged.of_uri(request.payload_s3, body)
    except PowerTuningError as exc:  # the services would not start, seeding failed, no payload object
        aws.close()
        return usage_error(str(exc))
    try:
        prepared.runtime.aws_env = aws.environment
        return _tune_with_services(replace(prepared, staged=staged))
    finally:
        aws.close()


def _tune_with_services(prepared: _Prepared) -> int:
    from powertuning.local.engine import LocalEngine  # moto is slow to import: after the checks

    args, target, request, runtime = prepared.args, prepared.target, prepared.request, prepared.runtime
    execution_input, staged, err = prepared.execution_input, prepared.staged, prepared.err

    progress = Progress(err)
    lines = InvocationLines(
        progress, request.invocations_per_size, request.allowed_exceptions, verbose=args.verbose
    )
    runtime.on_invocation = lines
    progress.say(f"local runtime: CPU mode {runtime.mode} ({_MODE_TEXT.get(runtime.mode, runtime.mode)})")
    with LocalEngine(runtime, region=REGION, interpreter_log=args.verbose) as engine:
        arn = engine.create_target(
            name=target.name,
            handler=target.handler,
            code_dir=target.code_dir,
            memory_mb=args.memory,
            timeout_s=args.timeout,
            environment=target.extra_env,
            log_format=args.log_format,
            python_path=prepared.python_path,
            ephemeral_storage_mb=args.ephemeral_storage,
        )
        execution_input["lambdaARN"] = arn
        if staged is not None:
            engine.put_object(staged.bucket, staged.key, staged.body)
        outcome = engine.run(execution_input, on_event=progress)
        failure = lines.failure_for(engine.stops.failure(target.name))
    if outcome.status != "SUCCEEDED" or outcome.output is None:
        print(f"Error: {outcome.error}", file=err)
        print(f"Cause: {outcome.cause}", file=err)
        if failure is not None:
            print(
                explain(failure, show_payload=not request.disable_payload_logs, aws_mode=prepared.aws.mode),
                file=err,
            )
        return EXIT_EXECUTION_FAILED
    if args.output_file is not None:
        args.output_file.write_text(json.dumps(outcome.output, indent=2) + "\n")
        print(f"powertune: wrote {args.output_file}", file=err)
    if args.output == "json":
        print(json.dumps(outcome.output))
    else:
        print(
            dry_run_summary(outcome.output)
            or format_table(outcome.output, current_memory=args.memory, strategy=request.strategy)
        )
        print(f"Measured locally: CPU mode {runtime.mode}, {runtime.cold_starts} cold starts")
    code = _write_reports(args, outcome.output, request, arn, runtime.mode)
    if code == EXIT_OK and not outcome.output.get("dryRun"):
        unmet = constraint_failure(TuningResult.from_dict(outcome.output))
        if unmet is not None:
            print(f"powertune: gate failed: {unmet}", file=err)
            return EXIT_GATE_FAILED
    return code


def _refuse_aws_flags(args: argparse.Namespace) -> None:
    given = [flag for flag in _AWS_FLAGS if getattr(args, f"aws_{flag[2:].replace('-', '_')}") is not None]
    given += ["--no-wait"] if args.aws_no_wait else []
    if given:
        raise InvalidInputError(
            f"{', '.join(given)}: only for `powertune run` (AWS); local mode uses no AWS account, "
            "it tunes --handler on this machine"
        )


def _refuse_aws_keys(execution_input: dict[str, Any]) -> None:
    if "architectures" in execution_input:
        # The local runtime runs the code on this machine's processor: another architecture's
        # figures would be this machine's again, under another price.
        raise InvalidInputError(
            "architectures (--architectures) is not available in local mode: it measures this machine's "
            f"processor ({platform.machine()}) only. Compare architectures on AWS with "
            "powertune run --architectures x86_64,arm64"
        )
    form = execution_input.get("coldStartRate")
    if isinstance(form, str) and form in PRODUCTION_FORMS:
        # The production rate is a Logs Insights query on the function's log group on AWS.
        raise InvalidInputError(
            f'coldStartRate "{form}" (--cold-start-rate {form}) reads the function\'s own '
            "rate from its CloudWatch log group with Logs Insights, which local mode does not have (no "
            "AWS account, no traffic): give the rate as a number from 0 to 1, e.g. --cold-start-rate 0.05"
        )
    for key, (flag, what, instead) in _AWS_KEYS.items():
        if execution_input.get(key):
            raise InvalidInputError(
                f"{key} ({flag}) {what}, which local mode does not have (no AWS account): {instead}"
            )


def _check_payload(args: argparse.Namespace) -> None:
    """A --payload that looks like JSON must be JSON; any other text is sent as a JSON string."""
    payload = getattr(args, "input_payload", None)
    # The shared flag parser turns text that is not JSON into a string: text starting like JSON
    # was meant to be JSON, and is refused here rather than sent as a string.
    if isinstance(payload, str) and payload.lstrip()[:1] in ("{", "[", '"'):
        try:
            json.loads(payload)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                f"--payload is not valid JSON: {exc.msg} at character {exc.pos + 1} of {payload!r}; "
                "a plain word is sent as a JSON string (e.g. --payload hello)"
            ) from None


def _write_reports(
    args: argparse.Namespace, output: dict[str, Any], request: TuningRequest, arn: str, mode: str
) -> int:
    if not args.report and not args.png:
        return EXIT_OK
    metadata = RunMetadata(
        function_arn=arn,
        started=datetime.now(UTC),
        strategy=request.strategy,
        balanced_weight=request.balanced_weight,
        sampling=request.sampling,
        num=request.num,
        latency_target_ms=request.max_duration_ms,
        latency_statistic=request.duration_statistic if request.max_duration_ms is not None else None,
        measured_on="local",
        cpu_mode=mode,
    )
    result = TuningResult.from_dict(output, metadata=metadata)
    try:
        if args.report:
            size = write_html(args.report, [result])
            print(f"powertune: wrote {args.report} ({size:,} bytes)", file=sys.stderr)
        if args.png:
            size = write_png(args.png, [result], title=f"Power tuning: {result.function_name} (local)")
            print(f"powertune: wrote {args.png} ({size:,} bytes)", file=sys.stderr)
    except (OSError, PowerTuningError) as exc:
        error(str(exc))
        return EXIT_USAGE
    return EXIT_OK
