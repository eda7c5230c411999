"""The platform's log lines around an invocation, in Lambda's text and JSON log formats.

Lambda writes START / END / REPORT (text) or `platform.start` / `platform.report` records (JSON)
around the function's own output, adds INIT_START on a cold start, and returns the last 4 KB of
that log as `LogResult`. `powertuning.logs.parse_report` reads these lines back.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from typing import Any, Final

LOG_TAIL_BYTES: Final = 4096
RUNTIME_VERSION: Final = f"python:{sys.version_info.major}.{sys.version_info.minor}.local"


@dataclass(frozen=True)
class Invocation:
    """What the platform reports about one invocation."""

    request_id: str
    version: str
    memory_mb: int
    duration_ms: float
    max_memory_used_mb: int
    init_duration_ms: float | None = None
    status: str = "success"  # "success" | "error" | "timeout", as in platform.report
    error_type: str | None = None

    @property
    def billed_duration_ms(self) -> int:
        """Duration rounded up to 1 ms; INIT is billed too since August 2025."""
        total = round(self.duration_ms, 2) + round(self.init_duration_ms or 0.0, 2)
        return max(1, math.ceil(total))


def timestamp(at: float | None = None) -> str:
    """UTC time as Lambda writes it: 2024-01-31T12:34:56.789Z."""
    now = time.time() if at is None else at
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


def init_start(log_format: str, function_name: str, version: str) -> str:
    """The line that opens a cold start."""
    if log_format == "JSON":
        return _record(
            "platform.initStart",
            {
                "initializationType": "on-demand",
                "phase": "init",
                "runtimeVersion": RUNTIME_VERSION,
                "functionName": function_name,
                "functionVersion": version,
            },
        )
    return f"INIT_START Runtime Version: {RUNTIME_VERSION}\n"


def start(log_format: str, request_id: str, version: str) -> str:
    """The START line."""
    if log_format == "JSON":
        return _record("platform.start", {"requestId": request_id, "version": version})
    return f"START RequestId: {request_id} Version: {version}\n"


def end(log_format: str, request_id: str) -> str:
    """The END line (the JSON format has none: platform.report closes the invocation)."""
    return "" if log_format == "JSON" else f"END RequestId: {request_id}\n"


def report(log_format: str, inv: Invocation) -> str:
    """The REPORT line, or the platform.report record."""
    if log_format == "JSON":
        metrics: dict[str, Any] = {
            "durationMs": round(inv.duration_ms, 2),
            "billedDurationMs": inv.billed_duration_ms,
            "memorySizeMB": inv.memory_mb,
            "maxMemoryUsedMB": inv.max_memory_used_mb,
        }
        if inv.init_duration_ms is not None:
            metrics["initDurationMs"] = round(inv.init_duration_ms, 2)
        record: dict[str, Any] = {"requestId": inv.request_id, "metrics": metrics, "status": inv.status}
        if inv.error_type:
            record["errorType"] = inv.error_type
        return _record("platform.report", record)
    line = (
        f"REPORT RequestId: {inv.request_id}\tDuration: {inv.duration_ms:.2f} ms\t"
        f"Billed Duration: {inv.billed_duration_ms} ms\tMemory Size: {inv.memory_mb} MB\t"
        f"Max Memory Used: {inv.max_memory_used_mb} MB\t"
    )
    if inv.init_duration_ms is not None:
        line += f"Init Duration: {inv.init_duration_ms:.2f} ms\t"
    if inv.status != "success":
        line += f"Status: {inv.status}\t"
    if inv.error_type:
        line += f"Error Type: {inv.error_type}\t"
    return line + "\n"


def tail(log: str, limit: int = LOG_TAIL_BYTES) -> str:
    """The last `limit` bytes of a log, as LogResult holds them."""
    data = log.encode("utf-8")
    if len(data) <= limit:
        return log
    # A cut through a multi-byte character drops its leftover bytes.
    return data[-limit:].decode("utf-8", errors="ignore")


def _record(kind: str, record: dict[str, Any]) -> str:
    return json.dumps({"time": timestamp(), "type": kind, "record": record}) + "\n"
