"""The REPORT record in both log formats; missing fields count as 0; no REPORT is a clear error."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest

from powertuning.errors import LogParseError
from powertuning.logs import Report, decode_log_result, parse_log_result, parse_report

LOG_FIXTURES = [
    "log_text_cold_start.json",
    "log_text_warm_start.json",
    "log_text_snapstart.json",
    "log_json_cold_start.json",
    "log_json_warm_start.json",
]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("name", LOG_FIXTURES)
def test_fixture_tails_parse_to_their_expected_figures(load_event, name):
    # GIVEN a log tail as Lambda returns it WHEN parsing THEN every figure is read, missing ones 0
    fixture = load_event(name)
    report = parse_report(fixture["logTail"])
    assert dataclasses.asdict(report) == pytest.approx(fixture["expected"])


@pytest.mark.parametrize("name", LOG_FIXTURES)
def test_base64_log_result_parses_like_the_decoded_tail(load_event, name):
    tail = load_event(name)["logTail"]
    assert parse_log_result(b64(tail)) == parse_report(tail)


def test_text_and_json_formats_agree(load_event):
    text = parse_report(load_event("log_text_cold_start.json")["logTail"])
    structured = parse_report(load_event("log_json_cold_start.json")["logTail"])
    assert text == structured


def test_warm_start_has_no_init_and_is_not_cold(load_event):
    for name in ("log_text_warm_start.json", "log_json_warm_start.json"):
        report = parse_report(load_event(name)["logTail"])
        assert report.init_duration_ms == 0.0
        assert not report.is_cold_start


def test_cold_start_is_detected_from_init_duration(load_event):
    for name in ("log_text_cold_start.json", "log_json_cold_start.json"):
        assert parse_report(load_event(name)["logTail"]).is_cold_start


def test_snapstart_restore_is_billed_and_counts_as_a_cold_start(load_event):
    # A restore is a new execution environment started from a snapshot: a cold start without INIT.
    report = parse_report(load_event("log_text_snapstart.json")["logTail"])
    assert report.restore_duration_ms == 427.04
    assert report.init_duration_ms == 0.0
    assert report.billed_total_ms == 17 + 154
    assert report.is_cold_start


def test_without_snapstart_nothing_is_added_to_the_billed_duration(load_event):
    report = parse_report(load_event("log_text_cold_start.json")["logTail"])
    assert report.restore_duration_ms == 0.0
    assert report.billed_total_ms == report.billed_duration_ms


def test_json_snapstart_fields():
    record = {
        "type": "platform.report",
        "record": {
            "metrics": {
                "durationMs": 16.64,
                "billedDurationMs": 17,
                "memorySizeMB": 512,
                "maxMemoryUsedMB": 105,
                "restoreDurationMs": 427.04,
                "billedRestoreDurationMs": 154,
            }
        },
    }
    report = parse_report(json.dumps(record))
    assert (report.restore_duration_ms, report.billed_restore_duration_ms) == (427.04, 154.0)
    assert report.init_duration_ms == 0.0


def test_no_report_is_a_clear_error(load_event):
    # GIVEN a tail where the function logged "REPORTING" but the platform's REPORT was cut off
    # WHEN parsing THEN the error says there is no REPORT and hints at LogType=Tail
    with pytest.raises(LogParseError, match=r"no REPORT record.*LogType=Tail"):
        parse_report(load_event("log_tail_without_report.json")["logTail"])


@pytest.mark.parametrize("tail", ["", "\n\n", "START RequestId: x\nEND RequestId: x\n"])
def test_empty_or_reportless_tails_are_errors(tail):
    with pytest.raises(LogParseError, match="no REPORT record"):
        parse_report(tail)


def test_empty_log_result_is_an_error_not_a_crash():
    with pytest.raises(LogParseError, match="no REPORT record"):
        parse_log_result("")


def test_log_result_that_is_not_base64_is_an_error():
    with pytest.raises(LogParseError, match="not base64"):
        decode_log_result("%%% not base64 %%%")


def test_report_without_duration_is_an_error():
    with pytest.raises(LogParseError, match="without Duration"):
        parse_report("REPORT RequestId: x\tBilled Duration: 3 ms\tMax Memory Used: 60 MB\t")


def test_platform_report_that_is_not_json_is_an_error():
    with pytest.raises(LogParseError, match="valid JSON"):
        parse_report('{"type": "platform.report", "record": {"metrics": ')


def test_platform_report_without_metrics_is_an_error():
    with pytest.raises(LogParseError, match="without metrics"):
        parse_report(json.dumps({"type": "platform.report", "record": {"status": "error"}}))


def test_last_report_wins_when_the_tail_holds_two():
    tail = (
        "REPORT RequestId: a\tDuration: 100.00 ms\tBilled Duration: 100 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 60 MB\t\n"
        "REPORT RequestId: b\tDuration: 5.00 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 61 MB\t\n"
    )
    assert parse_report(tail).duration_ms == 5.0


def test_missing_billed_duration_is_rounded_up_from_duration():
    report = parse_report("REPORT RequestId: x\tDuration: 12.34 ms\tMemory Size: 256 MB\t")
    assert report.billed_duration_ms == 13
    assert report.max_memory_used_mb == 0


def test_function_output_that_looks_like_a_field_is_not_read():
    # GIVEN a line the function printed with "Duration:" in it, before the real REPORT
    tail = (
        "[INFO]\tDuration: 99999 ms according to the function\n"
        "REPORT RequestId: x\tDuration: 2.00 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 50 MB\t\n"
    )
    assert parse_report(tail).duration_ms == 2.0


def test_crlf_and_trailing_spaces_are_tolerated():
    tail = "REPORT RequestId: x\tDuration: 2.50 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\t  \r\n"
    assert parse_report(tail) == Report(duration_ms=2.5, billed_duration_ms=3, memory_size_mb=128)


# -- the invocation's duration as aws-lambda-power-tuning v4.4.0 measures it -------------------------
# Its log lines (test/unit/test-utils.js), rebuilt here: Duration + Init + Restore Duration, and
# Billed Duration + Billed Restore Duration.
REFERENCE_TEXT = (
    "START RequestId: 55bc566d Version: $LATEST\nEND RequestId: 55bc566d\n"
    "REPORT RequestId: 55bc566d\tDuration: 469.40 ms\tBilled Duration: 500 ms\tMemory Size: 1024 MB\t"
    "Max Memory Used: 21 MB\tInit Duration: 100.99 ms"
)
REFERENCE_TEXT_SNAPSTART = (
    "START RequestId: 55bc566d Version: $LATEST\nEND RequestId: 55bc566d\n"
    "REPORT RequestId: 55bc566d\tDuration: 469.40 ms\tBilled Duration: 500 ms\tMemory Size: 1024 MB\t"
    "Max Memory Used: 21 MB\tRestore Duration: 474.16 ms\tBilled Restore Duration: 75 ms"
)


def platform_report(**metrics: float) -> str:
    record = {"type": "platform.report", "record": {"requestId": "d661f7cf", "metrics": metrics}}
    start = {"type": "platform.start", "record": {"requestId": "d661f7cf", "version": "8"}}
    return json.dumps(start) + "\n" + json.dumps(record)


@pytest.mark.parametrize(
    ("tail", "measured", "billed", "cold"),
    [
        (REFERENCE_TEXT, 469.40 + 100.99, 500, True),
        (REFERENCE_TEXT_SNAPSTART, 469.40 + 474.16, 500 + 75, True),
        (
            platform_report(durationMs=1.317, billedDurationMs=2, memorySizeMB=1024, initDurationMs=10),
            11.317,
            2,
            True,
        ),
        (
            platform_report(
                durationMs=147.156,
                billedDurationMs=201,
                memorySizeMB=512,
                restoreDurationMs=500.795,
                billedRestoreDurationMs=53,
            ),
            147.156 + 500.795,
            201 + 53,
            True,
        ),
        # warm, JSON: no initDurationMs and no restoreDurationMs. The reference throws here
        # ("Invalid JSON log does not contain initDurationMs"); they count as 0.
        (platform_report(durationMs=1.317, billedDurationMs=2, memorySizeMB=1024), 1.317, 2, False),
    ],
    ids=["text-cold", "text-snapstart", "json-cold", "json-snapstart", "json-warm"],
)
def test_measured_duration_adds_init_and_restore_like_the_reference(tail, measured, billed, cold):
    report = parse_report(tail)
    assert report.measured_duration_ms == pytest.approx(measured)
    assert report.billed_total_ms == billed
    assert report.is_cold_start is cold


def test_fixture_cold_start_measures_init_too(load_event):
    # 12.34 ms of handler + 150.00 ms of INIT, billed 163 ms (INIT billed since Aug 2025)
    report = parse_report(load_event("log_json_cold_start.json")["logTail"])
    assert report.measured_duration_ms == pytest.approx(162.34)
    assert report.billed_total_ms == 163


def test_a_tail_on_one_line_is_split_on_the_record_markers():
    # GIVEN START, the function's output, END and REPORT with no line break between them
    tail = (
        "START RequestId: x Version: 3 2017-04-10T21:54:32.683Z\tx\tvalue = 1 END RequestId: x "
        "REPORT RequestId: x\tDuration: 2.00 ms\tBilled Duration: 2 ms \tMemory Size: 128 MB\t"
        "Max Memory Used: 15 MB\t START RequestId: y Version: 3"
    )
    # THEN the REPORT record ends at the next marker and its fields are read
    assert parse_report(tail) == Report(
        duration_ms=2.0, billed_duration_ms=2, memory_size_mb=128, max_memory_used_mb=15
    )


def test_the_latest_record_wins_across_formats():
    # GIVEN a function's own line quoting a REPORT record, then the platform's JSON record
    quoted = json.dumps({"message": "REPORT RequestId: old\tDuration: 999.00 ms\tMemory Size: 128 MB"})
    tail = quoted + "\n" + platform_report(durationMs=3.5, billedDurationMs=4, memorySizeMB=128)
    # THEN the platform's record, the later one, is read
    assert parse_report(tail).duration_ms == 3.5


def test_a_pretty_printed_record_beside_text_is_read():
    record = {"type": "platform.report", "record": {"metrics": {"durationMs": 7.25, "memorySizeMB": 256}}}
    tail = "[extension] ready\n" + json.dumps(record, indent=4) + "\nsome trailing text [not json"
    assert parse_report(tail) == Report(duration_ms=7.25, billed_duration_ms=8, memory_size_mb=256)


def test_a_metric_that_is_not_a_number_is_an_error():
    with pytest.raises(LogParseError, match="durationMs is not a number"):
        parse_report(json.dumps({"type": "platform.report", "record": {"metrics": {"durationMs": "7"}}}))
