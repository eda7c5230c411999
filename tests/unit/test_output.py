"""The execution output: one model, written by the Analyzer and read back unchanged; tolerant of the
reference tool's outputs, refusing hand-edited ones that are not outputs."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest

from powertuning.adaptive.outcome import confidence_statement
from powertuning.analysis import LatencyTarget, recommend, summarize
from powertuning.errors import ResultFormatError
from powertuning.logs import Report
from powertuning.output import Confidence, TuningOutput
from powertuning.pricing import lambda_price
from powertuning.size_result import SizeResult
from powertuning.size_stats import SizeStats
from tests.adaptive_sim import noisy, race, settings


def size(value: int, duration: float, architecture: str | None = None) -> SizeResult:
    """A size measured as the Executor summarises it: every figure known."""
    price = lambda_price("us-east-1", architecture or "x86_64")
    reports = [Report(duration * f, round(duration * f), value) for f in (0.9, 1, 1.2)]
    return replace(summarize(value, reports, price, 0.2, transitions=3), architecture=architecture)


CURVE = [size(128, 1400.0), size(512, 360.0), size(2048, 120.0)]
OOM = SizeResult(value=64, skipped=True, reason="Runtime.OutOfMemory: killed")


def written(results: list[SizeResult], **kwargs: Any) -> TuningOutput:
    """An output as the Analyzer writes it."""
    options = {"strategy": "cost", "balanced_weight": 0.5, "region": "us-east-1", "transitions": 30}
    return recommend(results, **{**options, "include_stats": True, **kwargs})


def adaptive_output() -> TuningOutput:
    sizes = [128, 512, 1024, 2048]
    cost = settings(strategy="cost")
    statement = confidence_statement(race(noisy({m: 100 + 1e5 / m for m in sizes}), sizes, cost), cost)
    return replace(written(CURVE), confidence=Confidence.from_dict(statement))


OUTPUTS = {
    "fixed, with stats and a skipped size": written([*CURVE, OOM]),
    "without stats": written(CURVE, include_stats=False),
    "latency target": written(CURVE, target=LatencyTarget(400.0, "p90")),
    "architectures": written(
        [size(m, 1e5 / m, a) for a in ("arm64", "x86_64") for m in (512, 1024)]
        + [SizeResult(value=128, skipped=True, reason="Runtime.OutOfMemory", architecture="arm64")]
    ),
    "dry run": TuningOutput(execution_cost=1e-4, lambda_cost=2e-7, dry_run=True),
    "adaptive": adaptive_output(),
}


@pytest.mark.parametrize("name", OUTPUTS)
def test_what_the_analyzer_writes_reads_back_unchanged(name):
    # GIVEN an output as the Analyzer writes it, through JSON as Step Functions passes it
    wire = json.loads(json.dumps(OUTPUTS[name].to_dict()))
    # WHEN it is read back THEN writing it again gives the same document
    assert TuningOutput.from_dict(wire).to_dict() == wire


def test_a_stats_item_is_the_measured_results_wire_form_without_its_state_keys():
    result = size(512, 360.0)
    item = written([result]).to_dict()["stats"][0]
    assert item == {k: v for k, v in result.to_dict().items() if k not in ("skipped", "reason", "samples")}
    assert SizeStats.from_dict(item).to_dict() == item


def test_the_reference_tools_output_keeps_its_three_keys_and_leaves_the_rest_unknown():
    # GIVEN aws-lambda-power-tuning's own output: three keys per stats item
    reference = {
        "power": 512,
        "cost": 3.2e-6,
        "duration": 360.0,
        "stateMachine": {"executionCost": 0.0003, "lambdaCost": 0.0001, "visualization": ""},
        "stats": [{"value": 128, "averagePrice": 3.1e-6, "averageDuration": 1400.0}],
    }
    output = TuningOutput.from_dict(reference)
    # THEN what it lacks is None (the report's "—"), and nothing is made up when it is written again
    (item,) = output.sizes
    assert (item.p50, item.invocations, item.total_cost) == (None, None, None)
    assert output.to_dict()["stats"] == reference["stats"]


def test_without_stats_the_sizes_come_from_the_visualization_link():
    output = TuningOutput.from_dict(written(CURVE, include_stats=False).to_dict())
    measured = [(r.value, round(r.average_duration, 2)) for r in CURVE]
    assert [(s.value, s.average_duration) for s in output.sizes] == measured
    assert output.detailed is False


GOOD = written(CURVE).to_dict()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("512", "an execution output is a JSON object, got str"),
        ({"power": 128}, "missing cost, duration, stateMachine"),
        ({"dryRun": True}, "missing stateMachine"),
        ({**GOOD, "stateMachine": []}, "stateMachine must be an object"),
        ({**GOOD, "power": "big"}, "malformed execution output: power: could not convert string to float"),
        ({**GOOD, "power": 512.5}, "power: expected a whole number, got 512.5"),
        ({**GOOD, "stats": [3]}, "a stats item is a JSON object, got int"),
        ({**GOOD, "stats": [{"value": 128}]}, "a stats item has no averagePrice, averageDuration"),
        ({**GOOD, "stats": [{**GOOD["stats"][0], "p99": "nan"}]}, "p99: expected a finite number, got 'nan'"),
        ({**GOOD, "skipped": [{"reason": "x"}]}, "malformed execution output: value is missing"),
        ({**GOOD, "constraint": {"met": "no"}}, "constraint must be an object with met true or false"),
        ({**GOOD, "constraint": {"met": True, "value": 1}}, "maxDurationMs is missing"),
        ({**GOOD, "confidence": {"pick": 1}}, "confidence must be an object with a text"),
    ],
)
def test_a_hand_edited_output_is_refused_naming_what_is_wrong(document, message):
    with pytest.raises(ResultFormatError, match=re.escape(message)):
        TuningOutput.from_dict(document)
