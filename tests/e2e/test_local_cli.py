"""`powertune local` end to end: moto's interpreter, the real tuner handlers, worker processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from powertuning.cli import main

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_tunes_the_primes_example_and_prints_the_output_json(capsys):
    # GIVEN the primes example, two sizes, five invocations each; the work (~0.1 s of CPU at one
    # vCPU) is long enough that throttling, not the first period's full quota, sets the duration
    code = main(
        [
            "local",
            "--handler", f"{EXAMPLES}/primes/handler.py:handler",
            "--power-values", "512,1024",
            "--num", "5",
            "--payload", '{"repeat": 1, "limit": 1000000}',
            "--output", "json",
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    # THEN stdout is exactly the execution output, in aws-lambda-power-tuning's shape
    assert code == 0, captured.err
    output = json.loads(captured.out)
    assert output["power"] in (512, 1024)
    assert output["duration"] > 0
    assert output["cost"] > 0
    machine = output["stateMachine"]
    assert machine["executionCost"] > 0
    assert machine["lambdaCost"] > 0
    assert machine["visualization"].startswith("https://")
    stats = {s["value"]: s for s in output["stats"]}
    assert set(stats) == {512, 1024}
    for size in stats.values():
        assert size["invocations"] == 5
        assert size["coldStarts"] >= 1
        assert size["errors"] == 0
    # More CPU, less time: the primes are CPU-bound.
    assert stats[1024]["averageDuration"] < stats[512]["averageDuration"]
    # Progress went to stderr, with the CPU mode that ran.
    assert "CPU mode" in captured.err
    assert "512 MB invocation 5/5" in captured.err


def test_on_error_skip_leaves_out_a_size_that_runs_out_of_memory(capsys):
    code = main(
        [
            "local",
            "--handler", f"{EXAMPLES}/memory_hungry/handler.py:handler",
            "--power-values", "128,1024",
            "--num", "5",
            "--payload", '{"mb": 140}',
            "--on-error", "skip",
            "--output", "json",
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    output = json.loads(captured.out)
    assert output["power"] == 1024
    assert [s["value"] for s in output["stats"]] == [1024]
    (skipped,) = output["skipped"]
    assert skipped["value"] == 128
    assert "Runtime.OutOfMemory" in skipped["reason"]


def test_a_failing_function_fails_the_run_with_error_and_cause(tmp_path, capsys):
    (tmp_path / "app.py").write_text("def handler(event, context):\n    raise KeyError('no such order')\n")
    code = main(["local", "--handler", f"{tmp_path}/app.py:handler", "--power-values", "1024", "--num", "5"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert "Error: TargetFunctionError" in captured.err
    assert "Cause: " in captured.err
    assert "KeyError" in captured.err
    assert "no such order" in captured.err
