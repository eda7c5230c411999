"""Flags for every execution input key, shared by `powertune run` and `powertune local`.

Flags are the input keys in kebab-case (`balancedWeight` -> `--balanced-weight`). An `--input-file`
gives a whole input JSON; flags given on the command line override its keys. The merged input is
validated by the same `TuningRequest.from_dict` the Initializer uses.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from powertuning.errors import InvalidInputError
from powertuning.models import (
    DEFAULT_CONFIDENCE,
    DEFAULT_TOLERANCE,
    DURATION_STATISTICS,
    MAX_CONFIDENCE,
    MAX_DISCARD,
    MAX_NUM,
    MIN_CONFIDENCE,
    MIN_NUM,
    ON_ERROR,
    SAMPLING,
    STRATEGIES,
    TuningRequest,
)
from powertuning.pricing import DEFAULT_POWER_VALUES


def _kebab(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", key.replace("ARN", "Arn")).lower()


def _power_values(text: str) -> Any:
    if text.upper() in ("ALL", "AUTO"):
        return text.upper() if text.upper() == "ALL" else "auto"
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--power-values takes integers separated by commas, or ALL; got {text!r}"
        ) from None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        # A bare word is a string payload, as a user typing --payload hello expects.
        return text


# key -> (argparse kwargs); each help says the input's default (README "Execution input").
_VALUED: dict[str, dict[str, Any]] = {
    "powerValues": {
        "type": _power_values,
        "metavar": "MB,MB,...|ALL|auto",
        "help": "memory sizes to test (default: the deployment's, "
        f"{','.join(str(v) for v in DEFAULT_POWER_VALUES)} unless changed at deploy)",
    },
    "num": {
        "type": int,
        "metavar": "N",
        "help": f"invocations per memory size, {MIN_NUM}-{MAX_NUM} (default: 10)",
    },
    "payload": {
        "type": _json,
        "metavar": "JSON",
        "help": "event sent to the function, JSON or a plain string (default: none, the function gets null)",
    },
    "payloadS3": {"metavar": "s3://BUCKET/KEY", "help": "read the payload from S3 (default: none)"},
    "strategy": {"choices": STRATEGIES, "help": "what to optimise (default: cost)"},
    "balancedWeight": {
        "type": float,
        "metavar": "W",
        "help": "balanced strategy: 0 = fastest, 1 = cheapest (default: 0.5)",
    },
    "autoOptimizeAlias": {
        "metavar": "ALIAS",
        "help": "with --auto-optimize, point this alias at the recommended size (default: none)",
    },
    "preProcessorARN": {"metavar": "ARN", "help": "function invoked before each invocation (default: none)"},
    "postProcessorARN": {"metavar": "ARN", "help": "function invoked after each invocation (default: none)"},
    "discardTopBottom": {
        "type": float,
        "metavar": "F",
        "help": f"fraction trimmed from each end, 0-{MAX_DISCARD} (default: 0.2)",
    },
    "sleepBetweenRunsMs": {
        "type": int,
        "metavar": "MS",
        "help": "pause after each sequential invocation (default: 0)",
    },
    "allowedExceptions": {
        "type": lambda s: [v for v in s.split(",") if v],
        "metavar": "TYPE,...",
        "help": "error types that do not fail the tuning (default: none)",
    },
    "maxConcurrency": {
        "type": int,
        "metavar": "N",
        "help": "cap on parallel invocations per memory size (default: unlimited)",
    },
    "onError": {
        "choices": ON_ERROR,
        "help": "fail the run, or skip sizes that run out of memory or time (default: fail)",
    },
    "sampling": {"choices": SAMPLING, "help": "fixed num per size, or adaptive rounds (default: fixed)"},
    "confidence": {
        "type": float,
        "metavar": "P",
        "help": f"adaptive: confidence to drop a size, {MIN_CONFIDENCE}-{MAX_CONFIDENCE} "
        f"(default: {DEFAULT_CONFIDENCE})",
    },
    "tolerance": {
        "type": float,
        "metavar": "F",
        "help": f"adaptive: indifference zone, a fraction (default: {DEFAULT_TOLERANCE})",
    },
    "maxDurationMs": {
        "type": float,
        "metavar": "MS",
        "help": "latency target: cost and balanced choose only among sizes whose --duration-statistic "
        "is at most this (input key maxDurationMs; default: none)",
    },
    "durationStatistic": {
        "choices": DURATION_STATISTICS,
        "help": "which duration the latency target limits (default: average)",
    },
    "architectures": {
        "type": lambda s: [v.strip() for v in s.split(",")],
        "metavar": "ARCH,...",
        "help": "measure every size on each of x86_64,arm64 and recommend an (architecture, size) pair "
        "(default: the function's own architecture only; not in powertune local)",
    },
}
# Flags named otherwise than their key: `powertune run --max-duration-ms` is a gate on the result.
_FLAG_NAMES: dict[str, str] = {"maxDurationMs": "--latency-target-ms"}


def flag_of(key: str) -> str:
    """The command-line flag of an execution input key."""
    return _FLAG_NAMES.get(key, f"--{_kebab(key)}")


# key -> help; each gets --flag / --no-flag.
_FLAGS: dict[str, str] = {
    "parallelInvocation": "invoke a size's invocations concurrently (default: off)",
    "autoOptimize": "apply the recommended memory to $LATEST (default: off)",
    "dryRun": "one invocation of the first size only, to check permissions and payload (default: off)",
    "disablePayloadLogs": "keep payloads out of logs and error messages (default: off)",
    "includeOutputResults": "per-size stats in the output (default: on here, as the table needs them)",
    "onlyColdStarts": "a fresh version per invocation, so every one is a cold start (default: off)",
}


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Add --input-file, --payload-file and one flag per execution input key (lambdaARN excepted)."""
    group = parser.add_argument_group("execution input (see the README for every key and default)")
    group.add_argument(
        "--input-file",
        type=Path,
        metavar="FILE",
        help="execution input JSON; flags override it (default: none)",
    )
    group.add_argument(
        "--payload-file", type=Path, metavar="FILE", help="read the payload JSON from a file (default: none)"
    )
    for key, kwargs in _VALUED.items():
        group.add_argument(flag_of(key), dest=f"input_{key}", default=None, **kwargs)
    for key, text in _FLAGS.items():
        group.add_argument(
            f"--{_kebab(key)}",
            dest=f"input_{key}",
            default=None,
            action=argparse.BooleanOptionalAction,
            help=text,
        )


def build_input(args: argparse.Namespace, lambda_arn: str | None = None) -> dict[str, Any]:
    """Merge --input-file, --payload-file and flags into one execution input, and validate it."""
    data: dict[str, Any] = {}
    if args.input_file is not None:
        try:
            data = json.loads(Path(args.input_file).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"--input-file {args.input_file}: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidInputError(f"--input-file {args.input_file} must hold a JSON object")
    if args.payload_file is not None:
        try:
            data["payload"] = json.loads(Path(args.payload_file).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"--payload-file {args.payload_file}: {exc}") from exc
    for key in (*_VALUED, *_FLAGS):
        value = getattr(args, f"input_{key}", None)
        if value is not None:
            data[key] = value
    if lambda_arn is not None:
        data["lambdaARN"] = lambda_arn
    TuningRequest.from_dict(data)
    return data
