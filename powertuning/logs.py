"""Read the REPORT record Lambda writes at the end of every invocation's log.

`LogResult` (invoke with LogType=Tail) holds the last 4 KB of the log, base64-encoded. Functions
with the text log format end it with a tab-separated `REPORT RequestId: ...` line; functions with
the JSON log format end it with a `platform.report` record. Fields Lambda leaves out (Init
Duration on a warm start, Restore Duration without SnapStart) count as 0.

Like aws-lambda-power-tuning v4.4.0, an invocation's duration is Duration + Init Duration + Restore
Duration (`Report.measured_duration_ms`), so a cold start counts with its start-up time, and what
it is billed for is Billed Duration + Billed Restore Duration (`Report.billed_total_ms`). Unlike it,
a JSON record without `initDurationMs` or `restoreDurationMs` (every invocation but a SnapStart cold
start) reads those as 0 instead of failing, and a tail without any REPORT record is an error, never
a silent 0 ms.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from powertuning.errors import LogParseError

_TEXT_FIELDS = {
    "Duration": "duration_ms",
    "Billed Duration": "billed_duration_ms",
    "Memory Size": "memory_size_mb",
    "Max Memory Used": "max_memory_used_mb",
    "Init Duration": "init_duration_ms",
    "Restore Duration": "restore_duration_ms",
    "Billed Restore Duration": "billed_restore_duration_ms",
}
_JSON_FIELDS = {
    "durationMs": "duration_ms",
    "billedDurationMs": "billed_duration_ms",
    "memorySizeMB": "memory_size_mb",
    "maxMemoryUsedMB": "max_memory_used_mb",
    "initDurationMs": "init_duration_ms",
    "restoreDurationMs": "restore_duration_ms",
    "billedRestoreDurationMs": "billed_restore_duration_ms",
}
_TEXT_FIELD = re.compile(r"([A-Za-z ]+):\s*([0-9.]+)\s*(?:ms|MB)")


@dataclass(frozen=True)
class Report:
    """The figures of one invocation's REPORT record."""

    duration_ms: float
    billed_duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int = 0
    init_duration_ms: float = 0.0
    restore_duration_ms: float = 0.0
    billed_restore_duration_ms: float = 0.0

    @property
    def is_cold_start(self) -> bool:
        """True in a new execution environment: Lambda reported an Init or a (SnapStart) Restore Duration."""
        return self.init_duration_ms > 0 or self.restore_duration_ms > 0

    @property
    def measured_duration_ms(self) -> float:
        """The invocation's duration as the tuner measures it: Duration + Init + Restore Duration."""
        return self.duration_ms + self.init_duration_ms + self.restore_duration_ms

    @property
    def billed_total_ms(self) -> float:
        """What Lambda bills: Billed Duration (which includes INIT since Aug 2025) plus restore."""
        return self.billed_duration_ms + self.billed_restore_duration_ms

    @classmethod
    def from_fields(cls, fields: dict[str, float]) -> Report:
        """Build a report from parsed fields; Duration and Memory Size must be there."""
        if "duration_ms" not in fields or "memory_size_mb" not in fields:
            raise LogParseError(f"REPORT record without Duration or Memory Size: {fields}")
        billed = fields.get("billed_duration_ms", math.ceil(fields["duration_ms"]))
        return cls(
            duration_ms=fields["duration_ms"],
            billed_duration_ms=billed,
            memory_size_mb=int(fields["memory_size_mb"]),
            max_memory_used_mb=int(fields.get("max_memory_used_mb", 0)),
            init_duration_ms=fields.get("init_duration_ms", 0.0),
            restore_duration_ms=fields.get("restore_duration_ms", 0.0),
            billed_restore_duration_ms=fields.get("billed_restore_duration_ms", 0.0),
        )


def decode_log_result(log_result: str) -> str:
    """Decode the base64 `LogResult` of an invoke response."""
    try:
        return base64.b64decode(log_result).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError) as exc:
        raise LogParseError(f"LogResult is not base64: {exc}") from exc


def parse_report(log_tail: str) -> Report:
    """Parse the last REPORT record of a decoded log tail, text or JSON format."""
    for line in reversed(log_tail.splitlines()):
        stripped = line.strip()
        if stripped.startswith("REPORT "):
            return _parse_text(stripped)
        if stripped.startswith("{") and "platform.report" in stripped:
            return _parse_json(stripped)
    raise LogParseError("no REPORT record in the log tail (is LogType=Tail set?)")


def parse_log_result(log_result: str) -> Report:
    """Parse the REPORT record of a base64 `LogResult`."""
    return parse_report(decode_log_result(log_result))


def _parse_text(line: str) -> Report:
    fields: dict[str, float] = {}
    for part in line.split("\t"):
        match = _TEXT_FIELD.fullmatch(part.strip())
        if match and match.group(1).strip() in _TEXT_FIELDS:
            fields[_TEXT_FIELDS[match.group(1).strip()]] = float(match.group(2))
    return Report.from_fields(fields)


def _parse_json(line: str) -> Report:
    try:
        record: dict[str, Any] = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LogParseError(f"platform.report record is not valid JSON: {exc}") from exc
    metrics = (record.get("record") or {}).get("metrics") or {}
    fields = {_JSON_FIELDS[key]: float(value) for key, value in metrics.items() if key in _JSON_FIELDS}
    return Report.from_fields(fields)
