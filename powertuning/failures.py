"""Turn the error a Catch caught into the Error and Cause the execution fails with."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from powertuning.errors import StepFunctionsError
from powertuning.limits import truncate

# Error names the Fail state may carry: the tuner's own classes, Lambda's and the runtime's.
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,127}\Z")
MAX_CAUSE_CHARS: Final = 8000


def describe_failure(caught: Mapping[str, Any], cleanup: Mapping[str, Any] | None = None) -> dict[str, str]:
    """`{error, cause}` from a Catch's `{Error, Cause}`.

    A Lambda error's Cause is its JSON payload; the cause we report is its errorMessage, which
    names the memory size and the function's own errorType and message for measurement failures.
    """
    error = str(caught.get("Error") or "States.TaskFailed")
    raw = caught.get("Cause")
    cause = "" if raw is None else str(raw)
    try:
        body = json.loads(cause)
    except (json.JSONDecodeError, TypeError):
        body = None
    if isinstance(body, Mapping) and "errorMessage" in body:
        cause = str(body["errorMessage"])
    if not _NAME.match(error) or error.startswith("States."):
        # A Fail state must not end with a States.* name (moto's interpreter throws on it), and a
        # name arriving from a step is not trusted to be one: say what Step Functions reported.
        cause = f"{error[:128]}: {cause}" if cause else error[:128]
        error = StepFunctionsError.__name__
    if cleanup and (cleanup.get("deletedVersions") or cleanup.get("restoredLatest")):
        aliases = _count(len(cleanup.get("deletedAliases", [])), "alias", "aliases")
        versions = _count(len(cleanup.get("deletedVersions", [])), "version", "versions")
        restored = ", restored $LATEST" if cleanup.get("restoredLatest") else ""
        cause += f" [cleanup: deleted {aliases} and {versions}{restored}]"
    return {"error": error, "cause": truncate(cause or error, MAX_CAUSE_CHARS)}


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
