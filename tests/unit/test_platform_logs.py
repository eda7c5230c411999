"""The platform's log lines: Lambda's exact REPORT format, read back by the core's parser."""

from __future__ import annotations

import json

import pytest

from powertuning.local import platform_logs
from powertuning.local.platform_logs import Invocation
from powertuning.logs import parse_report

COLD = Invocation(
    request_id="8f5ae2d0-0000-4000-8000-000000000001",
    version="3",
    memory_mb=128,
    duration_ms=12.344,
    max_memory_used_mb=60,
    init_duration_ms=150.0,
)


def test_text_report_is_lambdas_exact_format():
    # GIVEN a cold invocation  WHEN it is reported in the text format
    line = platform_logs.report("Text", COLD)
    # THEN it is Lambda's tab-separated line, Billed Duration including INIT, rounded up to 1 ms
    assert line == (
        "REPORT RequestId: 8f5ae2d0-0000-4000-8000-000000000001\tDuration: 12.34 ms\t"
        "Billed Duration: 163 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\tInit Duration: 150.00 ms\t\n"
    )


def test_warm_report_has_no_init_duration_and_parses_back():
    warm = Invocation("r-1", "$LATEST", 1024, 0.1, 40)
    text = platform_logs.report("Text", warm)
    assert "Init Duration" not in text
    report = parse_report(platform_logs.start("Text", "r-1", "$LATEST") + text)
    assert (report.duration_ms, report.billed_duration_ms, report.memory_size_mb) == (0.1, 1, 1024)
    assert not report.is_cold_start


@pytest.mark.parametrize("fmt", ["Text", "JSON"])
def test_report_parses_back_in_both_formats(fmt):
    log = platform_logs.start(fmt, COLD.request_id, "3") + "hello\n" + platform_logs.report(fmt, COLD)
    report = parse_report(log)
    assert report.duration_ms == pytest.approx(12.34)
    assert report.billed_duration_ms == 163
    assert report.memory_size_mb == 128
    assert report.max_memory_used_mb == 60
    assert report.init_duration_ms == 150.0


def test_json_format_writes_platform_records():
    record = json.loads(platform_logs.report("JSON", COLD))
    assert record["type"] == "platform.report"
    assert record["record"]["requestId"] == COLD.request_id
    assert record["record"]["status"] == "success"
    assert record["record"]["metrics"] == {
        "durationMs": 12.34,
        "billedDurationMs": 163,
        "memorySizeMB": 128,
        "maxMemoryUsedMB": 60,
        "initDurationMs": 150.0,
    }
    assert json.loads(platform_logs.start("JSON", "r", "3"))["type"] == "platform.start"
    assert platform_logs.end("JSON", "r") == ""


def test_failed_invocations_carry_status_and_error_type():
    timed_out = Invocation("r", "1", 128, 3000.0, 20, status="timeout", error_type="Sandbox.Timedout")
    line = platform_logs.report("Text", timed_out)
    assert line.endswith("Status: timeout\tError Type: Sandbox.Timedout\t\n")
    assert parse_report(line).duration_ms == 3000.0
    record = json.loads(platform_logs.report("JSON", timed_out))["record"]
    assert (record["status"], record["errorType"]) == ("timeout", "Sandbox.Timedout")


def test_billed_duration_is_at_least_one_millisecond():
    assert Invocation("r", "1", 128, 0.01, 20).billed_duration_ms == 1
    assert Invocation("r", "1", 128, 2.0, 20).billed_duration_ms == 2


def test_tail_keeps_the_last_4_kb():
    log = "x" * 10_000 + "\nREPORT RequestId: r\tDuration: 1.00 ms\tMemory Size: 128 MB\t\n"
    tail = platform_logs.tail(log)
    assert len(tail.encode()) == platform_logs.LOG_TAIL_BYTES
    assert log.endswith(tail)
    assert platform_logs.tail("short") == "short"


def test_tail_never_splits_a_character_into_garbage():
    tail = platform_logs.tail("é" * 3000)  # 2 bytes each: a 4,096-byte cut may land inside one
    assert set(tail) == {"é"}
