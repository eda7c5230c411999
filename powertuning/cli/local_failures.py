"""What `powertune local` says about each invocation of the function, and about the first failure.

`InvocationLines` is the local runtime's `on_invocation` callback: it moves the progress bar per
invocation and keeps the first failure that is not an allowed exception; `explain` turns that failure
into the function's traceback, the payload it got and what to do about it.
"""

from __future__ import annotations

import json
import threading
from typing import Final

from powertuning.cli import local_aws
from powertuning.cli.progress import Progress
from powertuning.local.run_stops import Failure
from powertuning.local.runtime import STOPPED_ERROR, InvocationRecord

# Errors for which leaving a size out (--on-error skip) is the tool, rather than --allowed-exceptions.
_RESOURCE_LIMITS: Final = ("Runtime.OutOfMemory", "Sandbox.Timedout")


def explain(record: InvocationRecord, *, show_payload: bool, aws_mode: str = local_aws.LOCAL) -> str:
    """The failed invocation: the function's traceback, the payload it got, what to do about it."""
    try:
        body = json.loads(record.error or "{}")
    except ValueError:
        body = {}
    error_type = str(body.get("errorType", record.status))
    message = str(body.get("errorMessage", ""))
    lines = [f"The function failed at {record.spec.memory_mb} MB (request {record.request_id}):"]
    frames = body.get("stackTrace") or []
    if frames:
        lines.append("Traceback (most recent call last):")
        lines.append("".join(str(frame) for frame in frames).rstrip("\n"))
    lines.append(f"{error_type}: {message}")
    if show_payload:
        event = record.event if len(record.event) <= 500 else record.event[:500] + "..."
        lines.append(f"Payload it received: {event}")
    aws_hint = local_aws.hint(error_type, message, aws_mode)
    if aws_hint is not None:
        lines.append(aws_hint)
    elif error_type in _RESOURCE_LIMITS:
        lines.append(
            "Hint: --on-error skip leaves out sizes that run out of memory or time and tunes the rest; "
            "--timeout S raises the function's timeout."
        )
    else:
        lines.append(
            f"Hint: if {error_type} is expected for this payload, --allowed-exceptions {error_type} "
            "counts it without failing the run (--on-error skip only leaves out sizes that run out of "
            "memory or time)."
        )
    return "\n".join(lines)


class InvocationLines:
    """Each target invocation, from the runtime (its threads): moves the bar, with -v a line too; keeps
    the first failure."""

    def __init__(
        self,
        progress: Progress,
        per_size: int,
        allowed: tuple[str, ...] | list[str] = (),
        *,
        verbose: bool = False,
    ) -> None:
        self.progress = progress
        self.verbose = verbose
        self.per_size = per_size
        self.allowed = tuple(allowed)
        self.counts: dict[int, int] = {}
        self.failure: InvocationRecord | None = None
        # The first failure at each size (and architecture): the one the run stopped for is explained.
        self._failures: dict[tuple[int, str], InvocationRecord] = {}
        self._lock = threading.Lock()

    def __call__(self, record: InvocationRecord) -> None:
        memory = record.spec.memory_mb
        with self._lock:
            self.counts[memory] = count = self.counts.get(memory, 0) + 1
            # An invocation stopped because another size failed is not a failure of its own.
            if record.error is not None and record.status != "stopped" and not self._allowed(record.error):
                self.failure = self.failure or record
                self._failures.setdefault((memory, record.spec.architecture), record)
        self.progress.invocation_done()  # moves the bar and its ETA between history events
        if not self.verbose:
            return  # the bar counts them; each size's summary line follows from the history
        cold = (
            f", cold start (Init Duration {record.init_duration_ms:.2f} ms)"
            if record.init_duration_ms
            else ""
        )
        status = "" if record.status == "success" else f" [{record.status}]"
        if record.status == "stopped":
            status = f" [{_stopped_reason(record.error or '')}]"
        self.progress.say(
            f"  {memory} MB invocation {count}/{self.per_size}: {record.duration_ms:.2f} ms{cold}{status}"
        )

    def failure_for(self, stopped_by: Failure | None) -> InvocationRecord | None:
        """The failure to explain: the one at the size the run stopped for (the Cause's), else the first."""
        if stopped_by is not None:
            with self._lock:
                for (memory, architecture), record in self._failures.items():
                    if memory == stopped_by.memory_mb and stopped_by.architecture in (None, architecture):
                        return record
        return self.failure

    def _allowed(self, error_payload: str) -> bool:
        try:
            return str(json.loads(error_payload).get("errorType")) in self.allowed
        except (ValueError, AttributeError):
            return False


def _stopped_reason(error_payload: str) -> str:
    """`stopped: the run stopped because 256 MB failed (...)`, from a stopped invocation's error."""
    try:
        body = json.loads(error_payload)
    except ValueError:
        return "stopped"
    if not isinstance(body, dict) or body.get("errorType") != STOPPED_ERROR:
        return "stopped"
    return str(body.get("errorMessage", "")).partition(" Error: ")[2] or "stopped"
