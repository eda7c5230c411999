"""Checks that fail a local tuning before anything starts: does the handler import at all?

The handler is imported once in a throwaway execution environment, isolated exactly as the tuning's
will be (same code folder, dependencies and SDK path), so a missing module, a syntax error or a
missing function is reported in about a second with its traceback, instead of as the Cause of a
failed execution after moto and the state machine have started.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from powertuning.local.environment import Environment
from powertuning.local.isolation import sdk_dir
from powertuning.local.target import FunctionSpec


@dataclass(frozen=True)
class InitFailure:
    """Why the handler could not be loaded, in Lambda's terms, with the function's traceback."""

    error_type: str
    message: str
    stack_trace: tuple[str, ...] = ()

    def describe(self) -> str:
        """`Type: message` and the traceback, for a terminal."""
        text = f"{self.error_type}: {self.message}"
        if self.stack_trace:
            text += "\nTraceback (most recent call last):\n" + "".join(self.stack_trace).rstrip("\n")
        return text


def check_init(spec: FunctionSpec) -> InitFailure | None:
    """Import the handler once in an isolated worker; None when it loads."""
    log_dir = Path(tempfile.mkdtemp(prefix="powertuning-check-"))
    # No memory cap: the check is about the code, whatever size is tuned first.
    env = Environment(spec, log_dir=log_dir, cpu_model=True, memory_limit=False, sdk_path=sdk_dir())
    try:
        outcome = env.start()
    finally:
        env.discard()
        shutil.rmtree(log_dir, ignore_errors=True)
    if outcome.status == "success":
        return None
    if outcome.status == "timeout":
        return InitFailure(
            "Sandbox.Timedout", f"the handler's import did not finish in {outcome.duration_ms / 1000:.0f} s"
        )
    try:
        error = json.loads(outcome.payload)
    except ValueError:
        error = {}
    if not isinstance(error, dict) or "errorType" not in error:
        why = outcome.reason or "no error payload"
        return InitFailure(
            outcome.error_type or "Runtime.ExitError", f"the runtime exited while importing: {why}"
        )
    return InitFailure(
        str(error["errorType"]), str(error.get("errorMessage", "")), tuple(error.get("stackTrace", []))
    )
