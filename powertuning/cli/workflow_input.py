"""The input of `powertune workflow`: flags (and --input-file) -> the workflow input, validated by
the deployed tuner's own `WorkflowRequest.from_dict` before anything starts; a refusal names the
flag that set the key it is about."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any, Final

from powertuning.errors import PowerTuningError
from powertuning.workflow.request import WorkflowRequest

# Input key -> the flag that sets it, so a refusal of the validator names what the user typed.
FLAGS: Final = {
    "stateMachineArn": "STATE_MACHINE_ARN",
    "executionArn": "--execution-arn",
    "recentExecutions": "--recent-executions",
    "maxDurationMs": "--max-duration-ms",
    "durationStatistic": "--duration-statistic",
    "powerValues": "--power-values",
    "num": "--num",
    "strategy": "--strategy",
    "payload": "--payload",
    "autoOptimize": "--auto-optimize",
    "onError": "--on-error",
}


def power_values_flag(text: str) -> Any:
    if text.upper() == "ALL":
        return "ALL"
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--power-values takes integers separated by commas, or ALL; got {text!r}"
        ) from None


def payload_flag(text: str) -> tuple[str, Any]:
    """FUNCTION=JSON or FUNCTION=@FILE (a bare word is a string payload, as for `run --payload`)."""
    function, sep, value = text.partition("=")
    if not sep or not function:
        raise argparse.ArgumentTypeError(f"expected FUNCTION=JSON or FUNCTION=@FILE, got {text!r}")
    if value.startswith("@"):
        try:
            return function, json.loads(Path(value[1:]).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise argparse.ArgumentTypeError(f"payload of {function}: {value[1:]}: {exc}") from None
    try:
        return function, json.loads(value)
    except json.JSONDecodeError:
        return function, value


def build_workflow_input(args: argparse.Namespace) -> dict[str, Any]:
    """The workflow input from --input-file and the flags (flags win), validated by WorkflowRequest."""
    data: dict[str, Any] = {}
    if args.input_file is not None:
        try:
            data = json.loads(Path(args.input_file).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise PowerTuningError(f"--input-file {args.input_file}: {exc}") from exc
        if not isinstance(data, dict):
            raise PowerTuningError(f"--input-file {args.input_file} must hold a JSON object")
    data["stateMachineArn"] = args.state_machine_arn
    if args.execution_arn is not None or args.recent_executions is not None:
        # One source of executions: the flag given replaces the file's.
        data.pop("executionArn", None)
        data.pop("recentExecutions", None)
    for key, value in (
        ("executionArn", args.execution_arn),
        ("recentExecutions", args.recent_executions),
        ("maxDurationMs", args.max_duration_ms),
        ("durationStatistic", args.duration_statistic),
        ("powerValues", args.power_values),
        ("num", args.num),
        ("strategy", args.strategy),
        ("autoOptimize", args.auto_optimize),
        ("onError", args.on_error),
    ):
        if value is not None:
            data[key] = value
    if args.payload:
        payloads = dict(data.get("payload") or {}) if isinstance(data.get("payload"), dict) else {}
        payloads.update(dict(args.payload))
        data["payload"] = payloads
    try:
        WorkflowRequest.from_dict(data)
    except PowerTuningError as exc:
        raise type(exc)(_with_flags(str(exc))) from exc
    return data


def _with_flags(message: str) -> str:
    """The validator names input keys; add the flags that set them."""
    named = [flag for key, flag in FLAGS.items() if re.search(rf"\b{key}\b", message)]
    return f"{message} ({', '.join(named)})" if named else message
