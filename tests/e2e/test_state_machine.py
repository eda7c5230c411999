"""Whole executions of statemachine/power_tuning.asl.json in moto's interpreter.

The target's duration is `io_plus_cpu(memory)` (conftest), so the right answer for each strategy
can be computed here by brute force with the same prices and compared with the execution output.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from powertuning.deployment import TUNER_TAG, CodeChanges
from powertuning.pricing import lambda_price, step_functions_cost, transition_price
from tests.e2e.conftest import _leftovers

POWERS = [256, 512, 1024, 1536, 3008]


def model_duration(memory_mb: int) -> float:
    return 50.0 + 500.0 * 1769 / min(memory_mb, 1769)


def expected_power(strategy: str, weight: float = 0.5) -> int:
    """The size the strategy should pick, computed directly from the duration model."""
    price = lambda_price("us-east-1", "x86_64")
    rows = {m: (price.invocation_cost(math.ceil(model_duration(m)), m), model_duration(m)) for m in POWERS}
    if strategy == "cost":
        return min(rows, key=lambda m: rows[m][0])
    if strategy == "speed":
        return min(rows, key=lambda m: rows[m][1])
    max_cost = max(c for c, _ in rows.values())
    max_duration = max(d for _, d in rows.values())
    return min(rows, key=lambda m: weight * rows[m][0] / max_cost + (1 - weight) * rows[m][1] / max_duration)


def clean(state: dict[str, Any]) -> bool:
    return state["aliases"] == [] and state["versions"] == ["$LATEST"]


@pytest.mark.parametrize(
    ("strategy", "weight"),
    [("cost", 0.5), ("speed", 0.5), ("balanced", 0.5), ("balanced", 0.0), ("balanced", 1.0)],
)
def test_recommendation_matches_the_model_and_leaves_nothing_behind(
    engine, target, leftovers, strategy, weight
):
    # GIVEN a function whose duration falls with memory, WHEN it is tuned with a strategy
    outcome = engine.run(
        {"lambdaARN": target, "powerValues": POWERS, "num": 5, "strategy": strategy, "balancedWeight": weight}
    )
    # THEN the execution succeeds with the size the model says, in the reference output shape
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert outcome.output is not None
    assert outcome.output["power"] == expected_power(strategy, weight)
    assert set(outcome.output) == {"power", "cost", "duration", "stateMachine"}
    assert set(outcome.output["stateMachine"]) == {"executionCost", "lambdaCost", "visualization"}
    assert outcome.output["duration"] == pytest.approx(model_duration(outcome.output["power"]), abs=0.01)
    # AND every alias and version is gone and $LATEST is as the user left it
    state = leftovers(target)
    assert clean(state), state
    assert (state["memory"], state["description"]) == (1024, "the user's own")


def test_the_three_strategies_disagree_on_this_model():
    # The recommendation test above is only meaningful if the strategies pick different sizes.
    assert len({expected_power("cost"), expected_power("speed"), expected_power("balanced")}) == 3


def test_stats_and_execution_cost_count_what_ran(engine, target, runtime):
    calls_before = len(runtime.calls)
    outcome = engine.run({"lambdaARN": target, "powerValues": POWERS, "num": 7, "includeOutputResults": True})
    assert outcome.status == "SUCCEEDED", outcome.cause
    stats = {row["value"]: row for row in outcome.output["stats"]}
    assert sorted(stats) == POWERS
    assert all(row["invocations"] == 7 for row in stats.values())
    assert len(runtime.calls) - calls_before == 7 * len(POWERS)
    for memory, row in stats.items():
        assert row["p50"] == pytest.approx(model_duration(memory), abs=0.01)
        assert row["p50"] <= row["p90"] <= row["p99"]
    # executionCost prices exactly the states this execution entered, as AWS bills them
    entered = sum(1 for e in outcome.events if e["type"].endswith("StateEntered"))
    assert outcome.output["stateMachine"]["executionCost"] == pytest.approx(
        step_functions_cost(entered, "us-east-1"), rel=1e-6
    )
    assert outcome.output["stateMachine"]["executionCost"] / transition_price("us-east-1") == pytest.approx(
        entered
    )
    assert outcome.output["stateMachine"]["lambdaCost"] == pytest.approx(
        sum(r["totalCost"] for r in stats.values())
    )


def test_a_function_error_fails_the_execution_with_size_and_cause(engine, target, runtime, leftovers):
    # GIVEN a function that raises at 512 MB
    runtime.fail_with[512] = ("ValueError", "bad input for this size")
    try:
        outcome = engine.run({"lambdaARN": target, "powerValues": POWERS, "num": 5})
    finally:
        runtime.fail_with.clear()
    # THEN the execution is FAILED (never SUCCEEDED with {}) and the cause says where and why
    assert outcome.status == "FAILED"
    assert outcome.output is None
    assert outcome.error == "TargetFunctionError"
    assert "512 MB" in outcome.cause
    assert "ValueError: bad input for this size" in outcome.cause
    assert any(e["type"] == "FailStateEntered" for e in outcome.events)
    state = leftovers(target)
    assert clean(state), state
    assert (state["memory"], state["description"]) == (1024, "the user's own")


def test_allowed_exceptions_do_not_fail_the_run(engine, target, runtime):
    runtime.fail_with[512] = ("ValueError", "expected for this payload")
    try:
        outcome = engine.run(
            {
                "lambdaARN": target,
                "powerValues": [256, 512],
                "num": 5,
                "allowedExceptions": ["ValueError"],
                "includeOutputResults": True,
            }
        )
    finally:
        runtime.fail_with.clear()
    assert outcome.status == "SUCCEEDED", outcome.cause
    # THEN the size where every invocation failed is never recommended: it is listed as skipped
    errors = {row["value"]: row["errors"] for row in outcome.output["stats"]}
    assert errors == {256: 0}
    assert outcome.output["power"] == 256
    [skipped] = outcome.output["skipped"]
    assert skipped["value"] == 512
    assert "every invocation failed with ValueError" in skipped["reason"]


def test_disable_payload_logs_keeps_the_payload_out_of_the_cause(engine, target, runtime):
    runtime.fail_with[256] = ("KeyError", "missing key")
    secret = {"password": "hunter2"}
    try:
        shown = engine.run({"lambdaARN": target, "powerValues": [256], "num": 5, "payload": secret})
        hidden = engine.run(
            {
                "lambdaARN": target,
                "powerValues": [256],
                "num": 5,
                "payload": secret,
                "disablePayloadLogs": True,
            }
        )
    finally:
        runtime.fail_with.clear()
    assert "hunter2" in shown.cause
    assert hidden.status == "FAILED"
    assert "hunter2" not in hidden.cause
    assert "KeyError: missing key" in hidden.cause


def test_out_of_memory_fails_by_default(engine, target, leftovers):
    # The runtime fails every size below 256 MB like Lambda: Runtime.OutOfMemory.
    outcome = engine.run({"lambdaARN": target, "powerValues": [128, 512], "num": 5})
    assert outcome.status == "FAILED"
    assert "128 MB" in outcome.cause
    assert "Runtime.OutOfMemory" in outcome.cause
    assert clean(leftovers(target))


def test_on_error_skip_leaves_out_sizes_that_run_out_of_memory(engine, target, leftovers):
    outcome = engine.run(
        {
            "lambdaARN": target,
            "powerValues": [128, 512, 1024],
            "num": 5,
            "onError": "skip",
            "includeOutputResults": True,
        }
    )
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert outcome.output["power"] == 512
    assert [s["value"] for s in outcome.output["skipped"]] == [128]
    assert outcome.output["skipped"][0]["reason"].startswith("Runtime.OutOfMemory")
    assert sorted(row["value"] for row in outcome.output["stats"]) == [512, 1024]
    assert clean(leftovers(target))


def test_when_every_size_is_skipped_the_run_fails(engine, target):
    outcome = engine.run({"lambdaARN": target, "powerValues": [128, 192], "num": 5, "onError": "skip"})
    assert outcome.status == "FAILED"
    assert "no memory size could be measured" in outcome.cause
    assert "128 MB: Runtime.OutOfMemory" in outcome.cause


def test_cold_start_mode_publishes_one_alias_per_invocation(engine, target, runtime, leftovers):
    before = len(runtime.calls)
    runtime.init_ms = 100.0
    try:
        outcome = engine.run(
            {
                "lambdaARN": target,
                "powerValues": [512, 1024],
                "num": 5,
                "onlyColdStarts": True,
                "includeOutputResults": True,
            }
        )
    finally:
        runtime.init_ms = 0.0
    assert outcome.status == "SUCCEEDED", outcome.cause
    versions = {(name, version) for name, version, _ in runtime.calls[before:]}
    assert len(versions) == 10  # every invocation ran on a version of its own
    assert all(row["coldStarts"] == row["invocations"] == 5 for row in outcome.output["stats"])
    assert clean(leftovers(target))


def test_the_users_own_versions_and_aliases_survive(engine, target, leftovers):
    name = target.split(":")[6]
    client = engine.lambda_client
    mine = client.publish_version(FunctionName=name, Description="release 1")["Version"]
    client.create_alias(FunctionName=name, Name="live", FunctionVersion=mine)
    outcome = engine.run({"lambdaARN": target, "powerValues": [256, 512], "num": 5})
    assert outcome.status == "SUCCEEDED", outcome.cause
    state = leftovers(target)
    assert state["aliases"] == ["live"]
    assert state["versions"] == ["$LATEST", mine]


def test_an_existing_tuning_alias_is_refused_and_left_alone(engine, target, leftovers):
    name = target.split(":")[6]
    client = engine.lambda_client
    version = client.publish_version(FunctionName=name)["Version"]
    client.create_alias(FunctionName=name, Name="RAM512", FunctionVersion=version)
    outcome = engine.run({"lambdaARN": target, "powerValues": [256, 512], "num": 5})
    assert outcome.status == "FAILED"
    assert outcome.error == "AliasConflictError"
    assert "RAM512" in outcome.cause
    state = leftovers(target)
    assert state["aliases"] == ["RAM512"]
    assert state["versions"] == ["$LATEST", version]


def test_a_qualified_arn_whose_code_differs_from_latest_is_refused(engine, target):
    name = target.split(":")[6]
    client = engine.lambda_client
    version = client.publish_version(FunctionName=name)["Version"]
    client.update_function_code(FunctionName=name, ZipFile=b"PK\x05\x06" + b"\x00" * 18)
    outcome = engine.run({"lambdaARN": f"{target}:{version}", "powerValues": [256], "num": 5})
    assert outcome.status == "FAILED"
    assert outcome.error == "CodeMismatchError"
    assert "$LATEST" in outcome.cause


def test_a_qualified_arn_with_the_same_code_is_tuned(engine, target, leftovers):
    name = target.split(":")[6]
    version = engine.lambda_client.publish_version(FunctionName=name)["Version"]
    outcome = engine.run({"lambdaARN": f"{target}:{version}", "powerValues": [256, 512], "num": 5})
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert leftovers(target)["versions"] == ["$LATEST", version]


def test_auto_optimize_applies_the_recommendation(engine, target):
    name = target.split(":")[6]
    outcome = engine.run(
        {
            "lambdaARN": target,
            "powerValues": POWERS,
            "num": 5,
            "strategy": "speed",
            "autoOptimize": True,
            "autoOptimizeAlias": "tuned",
        }
    )
    assert outcome.status == "SUCCEEDED", outcome.cause
    client = engine.lambda_client
    assert client.get_function_configuration(FunctionName=name)["MemorySize"] == outcome.output["power"]
    alias = client.get_alias(FunctionName=name, Name="tuned")
    pinned = client.get_function_configuration(FunctionName=name, Qualifier=alias["FunctionVersion"])
    assert pinned["MemorySize"] == outcome.output["power"]
    # the optimized version is the one thing kept; no RAM aliases remain
    assert [a["Name"] for a in client.list_aliases(FunctionName=name)["Aliases"]] == ["tuned"]


def test_parallel_invocation_with_max_concurrency(engine, target, runtime):
    before = len(runtime.calls)
    outcome = engine.run(
        {
            "lambdaARN": target,
            "powerValues": [512, 1024],
            "num": 8,
            "parallelInvocation": True,
            "maxConcurrency": 2,
        }
    )
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert len(runtime.calls) - before == 16


def test_dry_run_invokes_once(engine, target, runtime, leftovers):
    before = len(runtime.calls)
    outcome = engine.run({"lambdaARN": target, "powerValues": POWERS, "num": 50, "dryRun": True})
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert len(runtime.calls) - before == 1
    assert clean(leftovers(target))


def test_weighted_payloads_reach_the_function_in_proportion(engine, target):
    outcome = engine.run(
        {
            "lambdaARN": target,
            "powerValues": [512],
            "num": 8,
            "payload": [{"payload": {"kind": "a"}, "weight": 3}, {"payload": {"kind": "b"}, "weight": 1}],
            "includeOutputResults": True,
        }
    )
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert outcome.output["stats"][0]["invocations"] == 8


def test_latency_target_limits_the_cost_choice_on_a_percentile(engine, target, leftovers):
    # GIVEN the cheapest size (256 MB) takes 3.5 s; only 1024 MB and more run within 1 s
    price = lambda_price("us-east-1", "x86_64")
    within = [m for m in POWERS if model_duration(m) <= 1000]
    cheapest_within = min(within, key=lambda m: price.invocation_cost(math.ceil(model_duration(m)), m))
    assert cheapest_within != expected_power("cost")
    # WHEN it is tuned for cost with a 1,000 ms target on p90 (num 20: the smallest num p90 allows)
    outcome = engine.run(
        {
            "lambdaARN": target,
            "powerValues": POWERS,
            "num": 20,
            "maxDurationMs": 1000,
            "durationStatistic": "p90",
        }
    )
    # THEN the cheapest size within the target is recommended and the output says the target is met
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert outcome.output["power"] == cheapest_within
    assert list(outcome.output) == ["power", "cost", "duration", "stateMachine", "constraint"]
    assert outcome.output["constraint"] == {
        "met": True,
        "statistic": "p90",
        "maxDurationMs": 1000.0,
        "value": pytest.approx(model_duration(cheapest_within), abs=0.01),
        "sizesMeetingTarget": within,
    }
    assert clean(leftovers(target))


def test_unmet_latency_target_succeeds_with_the_closest_size(engine, target, leftovers):
    # GIVEN no size runs within 500 ms (the fastest takes 550 ms)
    outcome = engine.run(
        {"lambdaARN": target, "powerValues": [256, 1024, 3008], "num": 5, "maxDurationMs": 500}
    )
    # THEN the execution succeeds with the measurements and recommends the closest size, saying so
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert outcome.output["power"] == 3008
    assert outcome.output["constraint"]["met"] is False
    assert outcome.output["constraint"]["value"] == pytest.approx(model_duration(3008), abs=0.01)
    assert clean(leftovers(target))


with open(Path(__file__).parents[1] / "events" / "invalid_execution_inputs.json") as _table:
    INVALID = json.load(_table)


# The image an "image" target runs (moto resolves it to <repository>@sha256:<digest>).
TABLE_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1"
_table_functions = iter(range(1_000_000))


def _table_target(engine, kind: str) -> str:
    """A fresh target of a table case's kind (1,024 MB, described as the user's own)."""
    name = f"table-{kind}-{next(_table_functions)}"
    if kind == "image":
        created = engine.lambda_client.create_function(
            FunctionName=name,
            Role=engine._role(),
            PackageType="Image",
            Code={"ImageUri": TABLE_IMAGE},
            MemorySize=1024,
            Timeout=30,
            Description="the user's own",
            Architectures=["x86_64"],
        )
        return str(created["FunctionArn"])
    arn = engine.create_target(name=name, handler="app.handler", code_dir=None, memory_mb=1024)
    engine.lambda_client.update_function_configuration(FunctionName=name, Description="the user's own")
    if kind == "tagged":
        # A function of another tuner stack in the same account: each tuner tags its own so.
        engine.lambda_client.tag_resource(Resource=arn, Tags={TUNER_TAG: "OtherTuner"})
    return arn


def _code(engine, arn: str) -> dict[str, Any]:
    """What a refused run must not change: the code (zip or image), architecture and configuration."""
    found = engine.lambda_client.get_function(FunctionName=arn)
    config = found["Configuration"]
    return {
        "code": {k: v for k, v in found["Code"].items() if k != "Location"},
        **{k: config.get(k) for k in ("CodeSha256", "Architectures", "MemorySize", "Description")},
        "tags": found.get("Tags"),
    }


@pytest.mark.parametrize("case", INVALID, ids=[c["id"] for c in INVALID])
def test_invalid_input_fails_fast_naming_the_field(engine, target, runtime, monkeypatch, case):
    # GIVEN an invalid input (TARGET stands for a real function, of the case's "target" kind if it
    # names one; SELF:<name> for one of the tuner's; OTHER_TUNER for another tuner stack's function)
    if "target" in case:
        target = _table_target(engine, case["target"])
    other_tuner = _table_target(engine, "tagged")
    text = json.dumps(case["input"]).replace("TARGET", target).replace("OTHER_TUNER", other_tuner)
    text = re.sub(r"SELF:(\w+)", lambda m: f"{target.rsplit(':', 1)[0]}:powertuning-{m[1]}", text)
    # AND the tuner deployed as the case says (by default as the local engine is: code changes allowed)
    deployed = CodeChanges(enabled=case.get("deploy", {}).get("architectures", True))
    for name, value in deployed.to_env().items():
        monkeypatch.setenv(name, value)
    calls_before = len(runtime.calls)
    before = {arn: _code(engine, arn) for arn in (target, other_tuner)}
    # WHEN it is started
    outcome = engine.run(json.loads(text))
    # THEN the Initializer fails it with a message naming the field, before anything changed
    assert outcome.status == "FAILED"
    assert outcome.error == case.get("error", "InvalidInputError"), outcome.cause
    assert case["message"] in outcome.cause
    assert len(runtime.calls) == calls_before
    for arn, was in before.items():
        state = _leftovers(engine, arn)
        assert clean(state)
        assert state["memory"] == 1024
        assert state["description"] == "the user's own"
        assert _code(engine, arn) == was


def test_the_invalid_input_table_is_large_enough():
    assert len(INVALID) >= 100
