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

The record is found wherever the tail holds it, whatever the function prints around it:
- text: records are split on their markers (`START RequestId:`, `END RequestId:`, `REPORT RequestId:`)
  as well as on line breaks, so a tail written on one line (as the reference's test vectors have it)
  reads the same as one with a record per line;
- JSON: every JSON value in the tail is read, one per line or pretty-printed over many, a lone
  object or an array of records (empty lines and plain text between them are skipped), and the
  `platform.report` record among them is used, as the reference reads a Powertools log.
When a tail holds several REPORT records, the last one (the latest invocation) is the one read.
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
# A text REPORT record: from its marker to the next line break or the next record's marker.
_TEXT_REPORT = re.compile(r"REPORT RequestId:.*?(?=[\r\n]|(?:START|END|REPORT) RequestId:|\Z)", re.DOTALL)
_PLATFORM_REPORT = "platform.report"


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
        """Build a report from parsed fields; Duration must be there.

        A Memory Size left out reads as 0, as the reference never reads it (its own Powertools
        vectors have none): the Executor knows the size it invoked.
        """
        if "duration_ms" not in fields:
            raise LogParseError(f"REPORT record without Duration: {fields}")
        billed = fields.get("billed_duration_ms", float(math.ceil(fields["duration_ms"])))
        return cls(
            duration_ms=fields["duration_ms"],
            billed_duration_ms=billed,
            memory_size_mb=int(fields.get("memory_size_mb", 0)),
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
    text = _last_text_report(log_tail)
    record = _last_json_report(log_tail)
    if text is not None and (record is None or text[0] > record[0]):
        return _parse_text(text[1])
    if record is not None:
        return _parse_json(record[1])
    if _PLATFORM_REPORT in log_tail:
        raise LogParseError(
            "the log tail names platform.report but holds no such record that is valid JSON "
            "(cut by the 4 KB tail?)"
        )
    raise LogParseError("no REPORT record in the log tail (is LogType=Tail set?)")


def parse_log_result(log_result: str) -> Report:
    """Parse the REPORT record of a base64 `LogResult`."""
    return parse_report(decode_log_result(log_result))


def _last_text_report(log_tail: str) -> tuple[int, str] | None:
    """(offset, text) of the last `REPORT RequestId:` record: up to the next line break or marker."""
    found = None
    for match in _TEXT_REPORT.finditer(log_tail):
        found = (match.start(), match.group(0))
    return found


def _last_json_report(log_tail: str) -> tuple[int, dict[str, Any]] | None:
    """(offset, record) of the last `platform.report` record among the JSON values in the tail."""
    if _PLATFORM_REPORT not in log_tail:
        return None
    found = None
    decoder = json.JSONDecoder()
    position = 0
    while (position := _next_json_start(log_tail, position)) >= 0:
        try:
            value, end = decoder.raw_decode(log_tail, position)
        except json.JSONDecodeError:
            # Not a JSON value from here (plain text, a record cut short): look further on.
            position += 1
            continue
        for record in value if isinstance(value, list) else [value]:
            if isinstance(record, dict) and record.get("type") == _PLATFORM_REPORT:
                found = (position, record)
        position = end
    return found


def _next_json_start(text: str, position: int) -> int:
    starts = [i for i in (text.find("{", position), text.find("[", position)) if i >= 0]
    return min(starts, default=-1)


def _parse_text(line: str) -> Report:
    fields: dict[str, float] = {}
    for part in line.split("\t"):
        match = _TEXT_FIELD.fullmatch(part.strip())
        if match and match.group(1).strip() in _TEXT_FIELDS:
            fields[_TEXT_FIELDS[match.group(1).strip()]] = float(match.group(2))
    return Report.from_fields(fields)


def _parse_json(record: dict[str, Any]) -> Report:
    metrics = record.get("record") or {}
    metrics = metrics.get("metrics") if isinstance(metrics, dict) else None
    if not isinstance(metrics, dict):
        raise LogParseError(f"platform.report record without metrics: {json.dumps(record)[:300]}")
    fields = {}
    for key, value in metrics.items():
        if key in _JSON_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise LogParseError(f"platform.report metric {key} is not a number: {json.dumps(value)}")
            fields[_JSON_FIELDS[key]] = float(value)
    return Report.from_fields(fields)
