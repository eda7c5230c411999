"""The reference tool's own sample inputs (its READMEs' examples) through the real handlers.

Each input of tests/events/reference_v4_readme_inputs.json goes through the Initializer, the
Publisher loop, the Executor for every size, the Cleaner, the Analyzer and the Optimizer, against
moto; the output is checked key by key against aws-lambda-power-tuning v4.4.0's shape:
`{power, cost, duration, stateMachine: {executionCost, lambdaCost, visualization}, stats?}` with
`stats` items starting `value, averagePrice, averageDuration`, and the Executor's items holding the
reference Executor's keys `value, averagePrice, averageDuration, totalCost`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest

from lambdas import analyzer, cleaner, executor, initializer, optimizer, publisher
from powertuning.errors import InvalidInputError, LogParseError, ProcessorError, RecommendationError
from powertuning.local.simulated import SimulatedRuntime, cpu_bound
from powertuning.local.target import InvokeResult

pytestmark = pytest.mark.usefixtures("clean_environment", "reference_bucket")

EXAMPLES = json.loads(
    (Path(__file__).parents[1] / "events" / "reference_v4_readme_inputs.json").read_text(encoding="utf-8")
)
# The keys of the reference's output, in its order, and of its stats items (analyzer.js).
REFERENCE_OUTPUT_KEYS = ["power", "cost", "duration", "stateMachine"]
REFERENCE_MACHINE_KEYS = ["executionCost", "lambdaCost", "visualization"]
REFERENCE_STATS_KEYS = ["value", "averagePrice", "averageDuration"]
# What the reference's Executor returns for one size (executor.js, computeStatistics).
REFERENCE_EXECUTOR_KEYS = {"value", "averagePrice", "averageDuration", "totalCost"}


class Processor:
    """A pre- or post-processor that returns null (the payload is kept)."""

    mode = "scripted"

    def __init__(self) -> None:
        self.events: list[Any] = []

    def invoke(self, spec: Any, event: str) -> InvokeResult:
        self.events.append(json.loads(event))
        return InvokeResult("null", False, "")


@pytest.fixture
def clean_environment(monkeypatch):
    """The handlers' deploy-time settings at their defaults."""
    monkeypatch.delenv("visualizationUrl", raising=False)
    monkeypatch.delenv("defaultPowerValues", raising=False)


@pytest.fixture
def processor_arns(make_function, target_runtime):
    """`{"PRE": arn, "POST": arn}`: two processor functions that keep the payload."""
    arns = {}
    for name in ("pre", "post"):
        arns[name.upper()] = make_function(name).arn
        target_runtime.use(Processor(), name)
    return arns


@pytest.fixture
def reference_bucket(s3_client):
    """The object the reference README's S3 example names, holding `{"from": "s3"}`."""
    s3_client.create_bucket(Bucket="your-bucket")
    s3_client.put_object(Bucket="your-bucket", Key="your-object.json", Body=json.dumps({"from": "s3"}))


@pytest.fixture
def run_example(target_function, processor_arns, lambda_context, execution):
    """`run_example(input)` -> (Executor items, execution output, state) of one whole tuning."""
    arns = processor_arns

    def run(execution_input: dict[str, Any]) -> tuple[list[dict[str, Any]], Any, dict[str, Any]]:
        text = json.dumps(execution_input).replace('"TARGET"', json.dumps(target_function.arn))
        for placeholder, arn in arns.items():
            text = text.replace(f'"{placeholder}"', json.dumps(arn))
        state = initializer.handler({"input": json.loads(text), "execution": execution}, lambda_context)
        while (state.get("publish") or {}).get("continue", True):
            state = {**state, "publish": publisher.handler(state, lambda_context)}
        items = []
        for value in state["run"]["powerValues"]:
            item = {"value": value, "request": state["request"], "run": state["run"]}
            out = executor.handler({"item": item, "attempt": 0}, lambda_context)
            while not out["done"]:
                item = {**item, "progress": out}
                out = executor.handler({"item": item, "attempt": 0}, lambda_context)
            items.append(out["result"])
        state["results"] = items
        state["cleanup"] = cleaner.handler(state, lambda_context)
        state["analysis"] = analyzer.handler(state, lambda_context)
        optimizer.handler(state, lambda_context)
        return items, state["analysis"], state

    return run


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["id"] for e in EXAMPLES])
def test_reference_sample_input_gives_the_reference_output_shape(example, run_example, target_runtime):
    # GIVEN one of the reference tool's sample inputs, as its README writes it
    execution_input = example["input"]
    target_runtime.use(SimulatedRuntime(cpu_bound(100.0), init_ms=150.0))
    # WHEN it goes through every handler
    items, output, state = run_example(execution_input)
    # THEN each Executor item holds the reference Executor's keys, first the reference's stats keys
    for item in items:
        assert set(item) >= REFERENCE_EXECUTOR_KEYS
        assert list(item)[:3] == REFERENCE_STATS_KEYS
        assert isinstance(item["value"], int)
        assert isinstance(item["averagePrice"], float)
        assert isinstance(item["averageDuration"], float)
    assert json.loads(json.dumps(output)) == output
    if execution_input.get("dryRun"):
        # a dry run recommends nothing (the reference's output is null): no power, cost, duration
        assert set(output) == {"dryRun", "stateMachine"}
        assert not {"power", "cost", "duration"} & set(output)
        assert len(target_runtime.events()) == 1
        return
    # the output's keys are the reference's, in its order; stats only with includeOutputResults
    expected = REFERENCE_OUTPUT_KEYS + (["stats"] if execution_input.get("includeOutputResults") else [])
    assert list(output) == expected
    assert list(output["stateMachine"]) == REFERENCE_MACHINE_KEYS
    assert isinstance(output["power"], int)
    assert output["power"] in execution_input["powerValues"]
    assert isinstance(output["cost"], float)
    assert output["cost"] > 0
    assert isinstance(output["duration"], float)
    assert output["duration"] > 0
    assert output["stateMachine"]["visualization"].startswith("https://lambda-power-tuning.show/#")
    best = next(i for i in items if i["value"] == output["power"])
    assert (output["cost"], output["duration"]) == (best["averagePrice"], best["averageDuration"])
    assert output["stateMachine"]["lambdaCost"] == pytest.approx(sum(i["totalCost"] for i in items))
    for stat in output.get("stats", []):
        assert list(stat)[:3] == REFERENCE_STATS_KEYS
    # every size measured num times
    num = execution_input["num"]
    assert [i["invocations"] for i in items] == [num] * len(execution_input["powerValues"])
    # and nothing the run published is left (the autoOptimizeAlias is the one version kept)
    assert state["cleanup"]["deletedAliases"]
    aliases = boto3.client("lambda", region_name="us-east-1").list_aliases(
        FunctionName=state["run"]["functionArn"]
    )
    left = {a["Name"] for a in aliases["Aliases"]}
    assert left == (
        {execution_input["autoOptimizeAlias"]} if execution_input.get("autoOptimizeAlias") else set()
    )


def test_payloads_reach_the_function_as_the_reference_sends_them(run_example, target_runtime):
    by_id = {e["id"]: e["input"] for e in EXAMPLES}
    run_example(by_id["sar-console"])  # "payload": "{}" (a string holding JSON) arrives as {}
    assert target_runtime.events() == [{}] * 60
    target_runtime.invocations.clear()
    run_example(by_id["advanced-s3"])
    assert target_runtime.events() == [{"from": "s3"}] * 200


def test_the_weighted_example_gets_its_documented_shares(run_example, target_runtime):
    # README-ADVANCED: weights 5, 15, 30 of num 50 -> 10%, 30%, 60% of the invocations
    example = next(e["input"] for e in EXAMPLES if e["id"] == "advanced-weighted")
    run_example(example)
    events = target_runtime.events()[:50]
    assert [events.count({"items": n}) for n in (1, 10, 100)] == [5, 15, 30]


def test_cold_start_example_measures_init_untrimmed(run_example, target_runtime):
    # GIVEN 150 ms of INIT on every cold start and onlyColdStarts
    target_runtime.use(SimulatedRuntime(cpu_bound(100.0), init_ms=150.0))
    example = next(e["input"] for e in EXAMPLES if e["id"] == "every-key-cold-starts")
    items, _, _ = run_example(example)
    # THEN every invocation is a cold start and its INIT is in the average, as in the reference
    for item in items:
        assert item["coldStarts"] == item["invocations"] == 5
        assert item["averageDuration"] > 150.0


# -- the reference's own unit-test vectors (tests/events/reference_v4_log_vectors.json) ------------
VECTORS = json.loads(
    (Path(__file__).parents[1] / "events" / "reference_v4_log_vectors.json").read_text(encoding="utf-8")
)


class Tails:
    """A target that answers with the given log tails, one per invocation, in order (then again)."""

    mode = "scripted"

    def __init__(self, tails: list[str]) -> None:
        self.tails = tails
        self.count = 0

    def invoke(self, spec: Any, event: str) -> InvokeResult:
        tail = self.tails[self.count % len(self.tails)]
        self.count += 1
        return InvokeResult("null", False, tail)


@pytest.mark.parametrize("vector", VECTORS["executor"]["averageDuration"], ids=lambda v: v["id"])
def test_reference_executor_vectors_give_its_trimmed_average(vector, run_example, target_runtime):
    # GIVEN the reference Executor test's ten log tails (one of them on a single line, no line breaks)
    target_runtime.use(Tails(VECTORS["executor"]["tails"]))
    # WHEN one size is measured ten times with the vector's trimming (or onlyColdStarts)
    execution_input = {"lambdaARN": "TARGET", "powerValues": [128], "num": 10, **vector["input"]}
    items, output, _ = run_example(execution_input)
    # THEN the average duration is the reference's, every tail counted
    assert items[0]["invocations"] == 10
    assert items[0]["averageDuration"] == pytest.approx(vector["averageDuration"], rel=1e-12)
    assert output["duration"] == items[0]["averageDuration"]


@pytest.mark.parametrize("vector", VECTORS["json"], ids=lambda v: v["id"])
def test_reference_json_log_vectors_are_read_wherever_the_report_is(vector, run_example, target_runtime):
    # GIVEN a JSON-format tail of the reference's tests: JSON lines beside text, a pretty-printed
    # Powertools record, a JSON array over many lines, an array with empty lines
    target_runtime.use(Tails([vector["tail"]]))
    # WHEN a size is measured on it
    items, _, _ = run_example({"lambdaARN": "TARGET", "powerValues": [256], "num": 5})
    # THEN its platform.report record is the one read: Duration + Init + Restore Duration
    expected = vector["durationMs"] + vector.get("initDurationMs", 0) + vector.get("restoreDurationMs", 0)
    assert items[0]["invocations"] == 5
    assert items[0]["averageDuration"] == pytest.approx(expected)


@pytest.mark.parametrize("vector", VECTORS["jsonInvalid"], ids=lambda v: v["id"])
def test_reference_json_tails_without_a_usable_report_fail_the_size(vector, run_example, target_runtime):
    # GIVEN a tail the reference throws on: no platform.report, or one without durationMs
    target_runtime.use(Tails([vector["tail"]]))
    # WHEN a size is measured on it THEN the Executor refuses it rather than counting 0 ms
    with pytest.raises(LogParseError, match="REPORT record"):
        run_example({"lambdaARN": "TARGET", "powerValues": [256], "num": 5})


# The reference Optimizer's invalid events with a lambdaARN (test-lambda.js, "optimizer"): no pick.
NO_PICK = [
    pytest.param({}, id="analysis-empty"),
    pytest.param({"power": None}, id="power-null"),
    pytest.param(None, id="analysis-null"),
    pytest.param({"power": "512"}, id="power-string"),
    pytest.param({"power": True}, id="power-true"),
    pytest.param({"power": 640}, id="power-not-measured"),
]


@pytest.fixture
def analysed(start_run, publish, lambda_context):
    """`analysed(analysis, **input)` -> the Optimizer's state: Publisher loop, Cleaner, `$.analysis`."""

    def run(analysis, **extra):
        state = publish(start_run(**{"powerValues": [128, 512], "num": 5, **extra}))
        state["cleanup"] = cleaner.handler(state, lambda_context)
        return {**state, "analysis": analysis}

    return run


@pytest.mark.parametrize("auto_optimize", [True, False], ids=["autoOptimize", "no-autoOptimize"])
@pytest.mark.parametrize("analysis", NO_PICK)
def test_the_optimizer_refuses_a_missing_or_invalid_pick(analysis, auto_optimize, analysed, lambda_context):
    # GIVEN a run that is not a dry run, whose state carries no valid recommended size
    state = analysed(analysis, autoOptimize=auto_optimize)
    # WHEN the Optimizer runs THEN it refuses, naming the field, whatever autoOptimize says
    with pytest.raises(RecommendationError, match=r"analysis\.power must be the recommended memory size"):
        optimizer.handler(state, lambda_context)
    # and the function is as the user had it
    config = boto3.client("lambda", region_name="us-east-1").get_function_configuration(FunctionName="target")
    assert config["MemorySize"] == 1024


def test_the_optimizer_of_a_dry_run_needs_no_pick(analysed, lambda_context):
    # The reference: "should not do anything if dryRun without any analysis"
    state = analysed({"dryRun": True, "stateMachine": {}}, autoOptimize=True, dryRun=True)
    assert optimizer.handler(state, lambda_context) == {"applied": False}


def test_the_optimizer_applies_a_valid_pick(analysed, lambda_context):
    state = analysed({"power": 512}, autoOptimize=True)
    assert optimizer.handler(state, lambda_context) == {"applied": True, "power": 512}


class FailingProcessor:
    """A pre- or post-processor that fails with an unhandled error."""

    mode = "scripted"

    def invoke(self, spec: Any, event: str) -> InvokeResult:
        body = {"errorType": "Error", "errorMessage": "processor broke", "stackTrace": ["at handler"]}
        return InvokeResult(json.dumps(body), True, "")


# test-lambda.js / test-utils.js: "should explode if processor fails and share payload in error when
# disablePayloadLogs is undefined / false", "... not share payload ... when disablePayloadLogs is true"
@pytest.mark.parametrize("privacy", [{}, {"disablePayloadLogs": False}, {"disablePayloadLogs": True}])
@pytest.mark.parametrize("key", ["preProcessorARN", "postProcessorARN"])
def test_a_failing_processor_error_carries_the_payload_unless_disabled(
    key, privacy, run_example, target_runtime
):
    # GIVEN a processor that fails, and a payload
    target_runtime.use(FailingProcessor(), key[:-12].lower())
    execution_input = {"lambdaARN": "TARGET", "powerValues": [128], "num": 5, "payload": {"orderId": 42}}
    execution_input[key] = key[:-12].upper()
    # WHEN a size is measured THEN the processor error names the key, the processor and what it said
    with pytest.raises(ProcessorError) as caught:
        run_example({**execution_input, **privacy})
    message = str(caught.value)
    assert message.startswith(
        f"{key} arn:aws:lambda:us-east-1:123456789012:function:{key[:-12].lower()} failed"
    )
    # and, as the reference, the payload the processor was given unless disablePayloadLogs is set
    # (the post-processor gets the function's output: the simulated target answers {"echo": event})
    sent = '{"orderId": 42}' if key == "preProcessorARN" else '{"echo": {"orderId": 42}}'
    if privacy.get("disablePayloadLogs"):
        assert "orderId" not in message
        assert "processor broke" not in message
        assert "details hidden: disablePayloadLogs" in message
    else:
        assert f"with payload {sent}: " in message
        assert "processor broke" in message


def test_no_payload_reaches_the_function_and_its_pre_processor_as_an_empty_object(
    run_example, target_runtime
):
    # GIVEN an input without payload (or payloadS3), with a pre-processor that keeps the payload
    pre = target_runtime.routes["pre"]
    run_example({"lambdaARN": "TARGET", "powerValues": [128], "num": 5, "preProcessorARN": "PRE"})
    # THEN the pre-processor and the function get {} (not null)
    assert pre.events == [{}] * 5
    assert target_runtime.events() == [{}] * 5
    # and an explicit null is sent as null, as the user wrote it
    target_runtime.invocations.clear()
    run_example({"lambdaARN": "TARGET", "powerValues": [128], "num": 5, "payload": None})
    assert target_runtime.events() == [None] * 5


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (
            '[{"payload": {"items": 1}, "weight": 5}, {"payload": {"items": 10}, "weight": 1e999}]',
            "payload[1].weight",
        ),
        ('[{"payload": {"items": 1}, "weight": 1e999}]', "payload[0].weight"),
    ],
    ids=["second-entry", "only-entry"],
)
def test_an_infinite_weight_is_refused_naming_the_weight_and_its_entry(
    text, named, run_example, target_runtime
):
    # GIVEN the README-ADVANCED weighted example with a weight JSON reads as Infinity (1e999)
    execution_input = {"lambdaARN": "TARGET", "powerValues": [128], "num": 50, "payload": json.loads(text)}
    # WHEN it is started THEN the Initializer refuses it, naming the entry's weight, before any invocation
    with pytest.raises(
        InvalidInputError, match=re.escape(f"{named} must be a positive number, got Infinity")
    ):
        run_example(execution_input)
    assert target_runtime.events() == []
