"""`powertune local` on a function that calls S3 and DynamoDB: moto in its own process, seeded."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from powertuning.cli import main

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "s3_dynamodb"
UNREACHABLE = ROOT / "tests" / "fixtures" / "unreachable" / "handler.py"
# What the sample's one record costs in service calls (service_latency): download_file's HeadObject and
# GetObject, PutObject (25 ms each), GetItem and PutItem (5 ms each).
SERVICE_MS = 3 * 25 + 2 * 5


def tune_sample(*extra: str) -> list[str]:
    return [
        "local",
        "--handler", f"{SAMPLE}/handler.py:lambda_handler",
        "--env", "TABLE_NAME=reports",
        "--fixtures", str(SAMPLE / "fixtures"),
        "--payload-file", str(SAMPLE / "event.json"),
        *extra,
    ]  # fmt: skip


def test_an_s3_and_dynamodb_handler_tunes_against_seeded_local_services_with_an_io_shaped_curve(capsys):
    # GIVEN the unmodified sample handler, its fixtures, three sizes; it downloads to "/tmp/<uuid>..."
    # and never deletes what it downloaded
    left_before = set(Path("/tmp").glob("*incoming-sales-2026-11.csv"))
    code = main(tune_sample("--power-values", "128,512,1024", "--num", "6", "--output", "json"))
    captured = capsys.readouterr()
    # THEN it tunes: every invocation found its object and its table
    assert code == 0, captured.err
    assert "seeded 1 S3 objects in 1 buckets, 1 DynamoDB items in 1 tables" in captured.err
    output = json.loads(captured.out)
    stats = {s["value"]: s for s in output["stats"]}
    # the service calls are waiting (the modelled latency), not the function's CPU: even 1,024 MB,
    # with CPU to spare, spends at least their time
    assert stats[1024]["averageDuration"] >= SERVICE_MS
    # and the curve is I/O-shaped: doubling 512 -> 1024 MB barely helps (a CPU-bound function halves)
    assert stats[1024]["averageDuration"] > 0.75 * stats[512]["averageDuration"]
    # so the cheapest size is the smallest one, and the tool picks it
    assert output["power"] == 128
    assert min(stats.values(), key=lambda s: s["averagePrice"])["value"] == 128
    # and its 18 downloads went to /tmp folders of its own, gone with their environments
    if os.geteuid() == 0:  # as root on Linux /tmp itself is the environment's (else only TMPDIR is)
        assert set(Path("/tmp").glob("*incoming-sales-2026-11.csv")) == left_before


def test_a_connection_error_names_the_fixtures_and_real_aws_not_allowed_exceptions(capsys):
    # GIVEN a function whose client sets its own endpoint, where nothing listens
    code = main(["local", "--handler", f"{UNREACHABLE}:handler", "--power-values", "128", "--num", "5"])
    err = capsys.readouterr().err
    # THEN the run fails with the connection error and a hint that points at the AWS options
    assert code == 1
    assert "EndpointConnectionError" in err
    hint = err[err.index("Hint:") :]
    assert "--fixtures" in hint
    assert "--aws real" in hint
    assert "--allowed-exceptions" not in err


def test_a_call_to_a_bucket_that_was_not_seeded_points_at_the_fixtures(capsys):
    # GIVEN the sample without its fixtures: the bucket does not exist locally
    args = [a for a in tune_sample("--power-values", "128", "--num", "5") if a != str(SAMPLE / "fixtures")]
    args.remove("--fixtures")
    code = main(args)
    err = capsys.readouterr().err
    # THEN the failure says to seed the local services (or call the real account)
    assert code == 1
    hint = err[err.index("Hint:") :]
    assert "--fixtures DIR" in hint
    assert "--aws real" in hint


def test_fixtures_with_real_aws_are_refused_before_anything_starts(capsys):
    code = main(tune_sample("--aws", "real"))
    assert code == 2
    assert "--fixtures seed the local services" in capsys.readouterr().err


EVENT_SIZE = ROOT / "tests" / "fixtures" / "event_size" / "handler.py"
ONE_MB = 1024 * 1024


def big_event(chars: int) -> str:
    return json.dumps({"padding": "x" * chars})


def test_a_1_mb_event_from_payload_s3_in_the_local_services_reaches_the_function(tmp_path, capsys):
    # GIVEN a 1 MB event as an object of the fixtures
    bucket = tmp_path / "s3" / "events-bucket" / "big"
    bucket.mkdir(parents=True)
    (bucket / "event.json").write_text(big_event(ONE_MB))
    code = main(
        [
            "local", "--handler", f"{EVENT_SIZE}:handler", "--env", f"EXPECTED_CHARS={ONE_MB}",
            "--fixtures", str(tmp_path), "--payload-s3", "s3://events-bucket/big/event.json",
            "--power-values", "256", "--num", "5", "--output", "json",
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    # THEN every invocation received all of it (the handler fails otherwise)
    assert code == 0, captured.err
    assert json.loads(captured.out)["stats"][0]["invocations"] == 5


def test_a_1_mb_payload_file_is_tuned_through_s3_as_an_execution_input_cannot_hold_it(tmp_path, capsys):
    payload = tmp_path / "event.json"
    payload.write_text(big_event(ONE_MB))
    code = main(
        [
            "local", "--handler", f"{EVENT_SIZE}:handler", "--env", f"EXPECTED_CHARS={ONE_MB}",
            "--payload-file", str(payload), "--power-values", "256", "--num", "5", "--output", "json",
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err


def test_a_payload_past_lambdas_6_mb_is_refused_before_anything_starts(tmp_path, capsys):
    payload = tmp_path / "event.json"
    payload.write_text(big_event(6 * ONE_MB))
    code = main(["local", "--handler", f"{EVENT_SIZE}:handler", "--payload-file", str(payload)])
    assert code == 2
    assert "a Lambda invocation takes at most 6,291,456 (6 MB)" in capsys.readouterr().err


def test_a_payload_s3_that_is_not_in_the_local_services_says_where_to_put_it(tmp_path, capsys):
    code = main(
        ["local", "--handler", f"{EVENT_SIZE}:handler", "--payload-s3", "s3://events-bucket/missing.json"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "--fixtures DIR/s3/events-bucket/missing.json" in err
