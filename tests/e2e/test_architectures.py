"""Input `architectures`: every size measured on x86_64 and arm64 in one execution, then the original
architecture and code put back (verified by CodeSha256), whatever happens.

The target is an x86_64 function whose simulated arm64 build is 20% slower below 1,024 MB and 30%
faster from 1,024 MB, so the right (architecture, size) pair per strategy is known in advance.
moto runs with powertuning/local/aws_rules.py: UpdateFunctionCode honours Architectures and
GetFunction's Code.Location downloads the package, as on AWS.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import lambdas.executor
import lambdas.publisher
from powertuning.cli import clean as clean_command
from powertuning.local import aws_rules
from powertuning.local.engine import LocalEngine
from powertuning.local.simulated import SimulatedRuntime
from powertuning.local.tuner_stack import RUNS_TABLE, STAGING_BUCKET
from powertuning.pricing import lambda_price
from tests.e2e.conftest import io_plus_cpu
from tests.e2e.faults import Gate

POWERS = [256, 512, 1024, 1536]
BOTH = {"powerValues": POWERS, "num": 5, "architectures": ["x86_64", "arm64"]}


def arm64_duration(memory_mb: int, n: int = 0) -> float:
    """arm64: 20% slower than x86_64 below 1,024 MB, 30% faster from 1,024 MB."""
    return io_plus_cpu(memory_mb, n) * (1.2 if memory_mb < 1024 else 0.7)


MODELS: dict[str, Callable[[int, int], float]] = {"x86_64": io_plus_cpu, "arm64": arm64_duration}


@pytest.fixture(scope="module")
def runtime() -> SimulatedRuntime:
    return SimulatedRuntime(io_plus_cpu, by_architecture={"arm64": arm64_duration})


@pytest.fixture
def arm64_fails(runtime: SimulatedRuntime) -> Iterator[None]:
    """Every arm64 invocation fails, as a native dependency built for x86_64 would make it."""
    runtime.fail_on_architecture["arm64"] = ("Runtime.ImportModuleError", "invalid ELF header")
    yield
    runtime.fail_on_architecture.clear()


def expected_pair(strategy: str, weight: float = 0.5, powers: list[int] = POWERS) -> tuple[str, int]:
    """The pair a strategy should pick, by brute force over both models, each with its own price."""
    rows = {}
    for arch, model in MODELS.items():
        price = lambda_price("us-east-1", arch)
        for m in powers:
            duration = model(m, 0)
            rows[(arch, m)] = (price.invocation_cost(math.ceil(duration), m), duration)
    if strategy == "cost":
        return min(rows, key=lambda k: rows[k])
    if strategy == "speed":
        return min(rows, key=lambda k: (rows[k][1], rows[k][0]))
    max_cost = max(c for c, _ in rows.values())
    max_duration = max(d for _, d in rows.values())
    return min(rows, key=lambda k: weight * rows[k][0] / max_cost + (1 - weight) * rows[k][1] / max_duration)


def snapshot(engine: LocalEngine, arn: str) -> dict[str, Any]:
    """Everything a run may change: architecture and code too, the staged copies, the run table."""
    client = engine.lambda_client
    latest = client.get_function_configuration(FunctionName=arn)
    staged = engine._client("s3").list_objects_v2(Bucket=STAGING_BUCKET).get("Contents", [])
    return {
        "aliases": sorted(a["Name"] for a in client.list_aliases(FunctionName=arn)["Aliases"]),
        "versions": [v["Version"] for v in client.list_versions_by_function(FunctionName=arn)["Versions"]],
        "memory": latest["MemorySize"],
        "description": latest["Description"],
        "architectures": latest["Architectures"],
        "codeSha256": latest["CodeSha256"],
        "staged": [o["Key"] for o in staged],
        "registered": "Item"
        in engine._client("dynamodb").get_item(TableName=RUNS_TABLE, Key={"functionArn": {"S": arn}}),
    }


@pytest.mark.parametrize(
    "case",
    [
        ("cost", 0.5, POWERS, ("arm64", 1024)),
        ("speed", 0.5, POWERS, ("arm64", 1536)),
        ("balanced", 0.3, POWERS, ("arm64", 1536)),
        # Below 1,024 MB arm64 is 20% slower: the fastest is x86_64, the cheapest still arm64.
        ("speed", 0.5, [256, 512], ("x86_64", 512)),
        ("cost", 0.5, [256, 512], ("arm64", 256)),
    ],
)
def test_both_architectures_are_measured_and_the_right_pair_is_chosen(
    engine: LocalEngine, target: str, case: tuple[str, float, list[int], tuple[str, int]]
) -> None:
    strategy, weight, powers, pick = case
    # GIVEN an x86_64 function, and the pair the models say each strategy should pick
    assert expected_pair(strategy, weight, powers) == pick
    before = snapshot(engine, target)
    assert before["architectures"] == ["x86_64"]
    # WHEN it is tuned on both architectures
    outcome = engine.run(
        {
            "lambdaARN": target,
            **BOTH,
            "powerValues": powers,
            "strategy": strategy,
            "balancedWeight": weight,
            "includeOutputResults": True,
        }
    )
    # THEN the pick is that pair, in the reference shape plus `architecture`
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert outcome.output is not None
    assert (outcome.output["architecture"], outcome.output["power"]) == pick
    arch = outcome.output["architecture"]
    assert outcome.output["duration"] == pytest.approx(MODELS[arch](outcome.output["power"], 0), abs=0.01)
    # every (architecture, size) was measured with its own model and priced at its own price
    stats = {(s["architecture"], s["value"]): s for s in outcome.output["stats"]}
    assert set(stats) == {(a, m) for a in MODELS for m in powers}
    for (a, m), item in stats.items():
        assert item["averageDuration"] == pytest.approx(MODELS[a](m, 0), abs=0.01)
        billed = math.ceil(MODELS[a](m, 0))
        assert item["averagePrice"] == pytest.approx(lambda_price("us-east-1", a).invocation_cost(billed, m))
    # one reference link per architecture, the pick's as the reference key
    links = outcome.output["stateMachine"]["visualizations"]
    assert set(links) == {"x86_64", "arm64"}
    assert outcome.output["stateMachine"]["visualization"] == links[arch]
    # AND the function runs its original architecture and code again, with nothing left anywhere
    assert snapshot(engine, target) == before


def test_the_functions_own_architecture_keeps_the_ram_alias_names(
    engine: LocalEngine, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a run on both architectures, watched while it measures
    seen: list[list[str]] = []
    measure = lambdas.executor.handler

    def watching(event: Any, context: Any) -> Any:
        aliases = engine.lambda_client.list_aliases(FunctionName=target)["Aliases"]
        seen.append(sorted(a["Name"] for a in aliases))
        return measure(event, context)

    monkeypatch.setattr(lambdas.executor, "handler", watching)
    # WHEN it runs
    outcome = engine.run({"lambdaARN": target, **BOTH, "powerValues": [512]})
    # THEN the function's own architecture has RAM<size>, the other RAM<size>-arm64
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert seen
    assert seen[0] == ["RAM512", "RAM512-arm64"]


def test_cold_starts_on_both_architectures_leave_nothing(engine: LocalEngine, target: str) -> None:
    # onlyColdStarts: one RAM<size>[-arm64]-<i> alias per invocation, on each architecture
    before = snapshot(engine, target)
    outcome = engine.run({"lambdaARN": target, **BOTH, "powerValues": [512], "onlyColdStarts": True})
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert outcome.output is not None
    assert outcome.output["architecture"] in ("x86_64", "arm64")
    assert snapshot(engine, target) == before


def test_with_onerror_skip_a_function_failing_on_arm64_still_gets_an_x86_64_recommendation(
    engine: LocalEngine, target: str, arm64_fails: None
) -> None:
    before = snapshot(engine, target)
    # WHEN every arm64 invocation fails and onError is "skip"
    outcome = engine.run({"lambdaARN": target, **BOTH, "onError": "skip"})
    # THEN x86_64 is recommended, and every arm64 size is listed as skipped with the function's error
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert outcome.output is not None
    assert outcome.output["architecture"] == "x86_64"
    skipped = outcome.output["skipped"]
    assert sorted((s["architecture"], s["value"]) for s in skipped) == [("arm64", m) for m in POWERS]
    assert all("on arm64" in s["reason"] and "Runtime.ImportModuleError" in s["reason"] for s in skipped)
    assert snapshot(engine, target) == before


def test_without_skip_a_function_failing_on_arm64_fails_the_run_naming_the_architecture(
    engine: LocalEngine, target: str, arm64_fails: None
) -> None:
    before = snapshot(engine, target)
    outcome = engine.run({"lambdaARN": target, **BOTH})
    assert outcome.status == "FAILED"
    assert outcome.error == "TargetFunctionError"
    assert "on arm64 the function failed with Runtime.ImportModuleError" in str(outcome.cause)
    # the cleanup after the failure restored architecture and code
    assert snapshot(engine, target) == before


@pytest.mark.parametrize(
    ("handler", "call"),
    [("publisher", 3), ("publisher", 4), ("executor", 3)],
    ids=["switching-to-arm64", "publishing-arm64", "measuring-arm64"],
)
def test_an_execution_stopped_on_arm64_is_recovered_to_its_original_architecture_and_code(
    engine: LocalEngine, target: str, monkeypatch: pytest.MonkeyPatch, handler: str, call: int
) -> None:
    # GIVEN a run on [256, 512] x [x86_64, arm64], held inside a step once $LATEST may run arm64
    module = {"publisher": lambdas.publisher, "executor": lambdas.executor}[handler]
    gate = Gate(call)
    monkeypatch.setattr(module, "handler", gate.wrap(module.handler))
    before = snapshot(engine, target)
    execution = engine.start({"lambdaARN": target, **BOTH, "powerValues": [256, 512]})
    assert gate.reached.wait(60), "the execution never reached the held step"
    # WHEN it is stopped, and the held step goes on late
    engine.sfn_client.stop_execution(executionArn=execution, error="Stopped", cause="by the test")
    gate.release.set()
    outcome = engine.wait(execution)
    assert gate.finished.wait(60)
    # THEN the recovery rule put back the architecture and the code, verified, and left nothing
    assert outcome.status in ("ABORTED", "FAILED"), (outcome.error, outcome.cause)
    assert outcome.recovery is not None
    assert "error" not in outcome.recovery, outcome.recovery
    assert snapshot(engine, target) == before, (outcome.recovery, gate.outcome)


def test_powertune_clean_restores_the_architecture_from_the_run_table(
    engine: LocalEngine, target: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a run that crashed on arm64 with no recovery (the rule never fired)
    gate = Gate(4)
    monkeypatch.setattr(lambdas.publisher, "handler", gate.wrap(lambdas.publisher.handler))
    monkeypatch.setattr(engine, "recovery", False)
    before = snapshot(engine, target)
    execution = engine.start({"lambdaARN": target, **BOTH, "powerValues": [256, 512]})
    assert gate.reached.wait(60)
    engine.sfn_client.stop_execution(executionArn=execution, error="Stopped", cause="by the test")
    engine.wait(execution)
    # (the held Publisher is not released: the tuner crashed; $LATEST runs arm64)
    assert snapshot(engine, target)["architectures"] == ["arm64"]
    # WHEN `powertune clean` runs
    parser = __import__("powertuning.cli", fromlist=["build_parser"]).build_parser()
    args = parser.parse_args(
        ["clean", "--function", target, "--runs-table", RUNS_TABLE, "--region", "us-east-1"]
    )
    assert clean_command.run(args) == 0
    printed = capsys.readouterr().out
    # THEN it said it would restore x86_64 and the recorded code, and did
    assert "restore $LATEST to x86_64 with its original code" in printed
    assert snapshot(engine, target) == before
    gate.release.set()
    assert gate.finished.wait(60)
    # the late Publisher found its run ended and undid its own work
    assert snapshot(engine, target) == before


def test_a_layer_that_does_not_support_arm64_is_refused_before_anything_changes(
    engine: LocalEngine, target: str
) -> None:
    layer = engine.lambda_client.publish_layer_version(
        LayerName="native-deps",
        Content={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        CompatibleArchitectures=["x86_64"],
    )["LayerVersionArn"]
    engine.lambda_client.update_function_configuration(FunctionName=target, Layers=[layer])
    before = snapshot(engine, target)
    outcome = engine.run({"lambdaARN": target, **BOTH})
    assert outcome.status == "FAILED"
    assert outcome.error == "ArchitectureError"
    assert layer in str(outcome.cause)
    assert "not arm64" in str(outcome.cause)
    assert "publish a layer version for arm64" in str(outcome.cause)
    assert snapshot(engine, target) == before


def test_a_staged_copy_replaced_before_the_switch_is_never_deployed(
    engine: LocalEngine, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a run whose staged copy is replaced before it switches to arm64
    publish = lambdas.publisher.handler
    s3 = engine._client("s3")
    calls = []

    def tampering(event: Any, context: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            for item in s3.list_objects_v2(Bucket=STAGING_BUCKET).get("Contents", []):
                s3.put_object(Bucket=STAGING_BUCKET, Key=item["Key"], Body=b"someone else's package")
        return publish(event, context)

    monkeypatch.setattr(lambdas.publisher, "handler", tampering)
    before = snapshot(engine, target)
    outcome = engine.run({"lambdaARN": target, **BOTH, "powerValues": [256]})
    # THEN the copy is hashed before it is deployed and refused: the run fails with StagedCodeError
    # naming both hashes, and the function never ran it (it is exactly as before; the replaced
    # copy is deleted with the run)
    assert outcome.status == "FAILED"
    assert outcome.error == "StagedCodeError", outcome.cause
    assert "not the original" in str(outcome.cause)
    assert "never deployed" in str(outcome.cause)
    assert snapshot(engine, target) == before


IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1"
# imageUris names an image by digest, from the function's own repository (guards.check_images).
ARM64_IMAGE = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:{'a1' * 32}"
_images = iter(range(1_000_000))


@pytest.fixture
def image_target(engine: LocalEngine) -> str:
    """A fresh x86_64 container image function (1,024 MB, described); returns its ARN."""
    name = f"image-{next(_images)}"
    created = engine.lambda_client.create_function(
        FunctionName=name,
        Role=engine._role(),
        PackageType="Image",
        Code={"ImageUri": IMAGE},
        MemorySize=1024,
        Timeout=30,
        Description="the user's own",
        Architectures=["x86_64"],
    )
    return str(created["FunctionArn"])


def image_snapshot(engine: LocalEngine, arn: str) -> dict[str, Any]:
    """snapshot() plus the image the function runs, by digest."""
    code = engine.lambda_client.get_function(FunctionName=arn)["Code"]
    return {**snapshot(engine, arn), "resolvedImageUri": code["ResolvedImageUri"]}


@pytest.mark.parametrize("strategy", ["cost", "speed"])
def test_an_image_with_imageuris_is_measured_on_both_and_its_image_restored(
    engine: LocalEngine, image_target: str, strategy: str
) -> None:
    # GIVEN an x86_64 image function and an arm64 image of the same code
    before = image_snapshot(engine, image_target)
    # WHEN it is tuned on both architectures with that image for arm64
    outcome = engine.run(
        {
            "lambdaARN": image_target,
            **BOTH,
            "strategy": strategy,
            "imageUris": {"arm64": ARM64_IMAGE},
            "includeOutputResults": True,
        }
    )
    # THEN every (architecture, size) is measured with its own model and the right pair is picked
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert outcome.output is not None
    assert (outcome.output["architecture"], outcome.output["power"]) == expected_pair(strategy)
    stats = {(s["architecture"], s["value"]): s["averageDuration"] for s in outcome.output["stats"]}
    assert stats == {(a, m): pytest.approx(MODELS[a](m, 0), abs=0.01) for a in MODELS for m in POWERS}
    # AND the function runs its original image (same digest, same CodeSha256) on x86_64, nothing left
    assert image_snapshot(engine, image_target) == before


def test_an_image_stopped_on_arm64_is_recovered_to_its_original_image(
    engine: LocalEngine, image_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a run on [256, 512] x [x86_64, arm64], held in the Executor while $LATEST runs arm64
    gate = Gate(3)
    monkeypatch.setattr(lambdas.executor, "handler", gate.wrap(lambdas.executor.handler))
    before = image_snapshot(engine, image_target)
    execution = engine.start(
        {"lambdaARN": image_target, **BOTH, "powerValues": [256, 512], "imageUris": {"arm64": ARM64_IMAGE}}
    )
    assert gate.reached.wait(60), "the execution never reached the held step"
    # WHEN it is stopped, and the held step goes on late
    engine.sfn_client.stop_execution(executionArn=execution, error="Stopped", cause="by the test")
    gate.release.set()
    outcome = engine.wait(execution)
    assert gate.finished.wait(60)
    # THEN the recovery rule put back the original image and architecture, verified, and left nothing
    assert outcome.status in ("ABORTED", "FAILED"), (outcome.error, outcome.cause)
    assert outcome.recovery is not None
    assert "error" not in outcome.recovery, outcome.recovery
    assert image_snapshot(engine, image_target) == before


def test_an_image_without_an_arm64_image_is_refused_before_anything_changes(
    engine: LocalEngine, image_target: str
) -> None:
    before = image_snapshot(engine, image_target)
    outcome = engine.run({"lambdaARN": image_target, **BOTH, "powerValues": [256]})
    assert outcome.status == "FAILED"
    assert outcome.error == "ArchitectureError", outcome.cause
    assert "give it in imageUris" in str(outcome.cause)
    assert image_snapshot(engine, image_target) == before


def test_an_arm64_image_lambda_refuses_fails_the_run_and_restores_the_function(
    engine: LocalEngine, image_target: str
) -> None:
    # GIVEN imageUris naming a multi-architecture index for arm64 (Lambda refuses such an image)
    index = ARM64_IMAGE.replace("a1" * 32, "1d" * 32)  # its own URI: the engine outlives the test
    aws_rules.image_index(index)
    before = image_snapshot(engine, image_target)
    outcome = engine.run(
        {"lambdaARN": image_target, **BOTH, "powerValues": [256], "imageUris": {"arm64": index}}
    )
    # THEN the run fails with an ArchitectureError that says what to give, and the function is as before
    assert outcome.status == "FAILED"
    assert outcome.error == "ArchitectureError", outcome.cause
    assert "Lambda refused the image imageUris gives for arm64" in str(outcome.cause)
    assert "is not supported" in str(outcome.cause)
    assert image_snapshot(engine, image_target) == before


def test_powertune_clean_restores_the_original_image_from_the_run_table(
    engine: LocalEngine,
    image_target: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a run that crashed while $LATEST ran the arm64 image, with no recovery
    gate = Gate(4)
    monkeypatch.setattr(lambdas.publisher, "handler", gate.wrap(lambdas.publisher.handler))
    monkeypatch.setattr(engine, "recovery", False)
    before = image_snapshot(engine, image_target)
    execution = engine.start(
        {"lambdaARN": image_target, **BOTH, "powerValues": [256, 512], "imageUris": {"arm64": ARM64_IMAGE}}
    )
    assert gate.reached.wait(60)
    engine.sfn_client.stop_execution(executionArn=execution, error="Stopped", cause="by the test")
    engine.wait(execution)
    assert engine.lambda_client.get_function(FunctionName=image_target)["Code"]["ImageUri"] == ARM64_IMAGE
    # WHEN `powertune clean` runs
    parser = __import__("powertuning.cli", fromlist=["build_parser"]).build_parser()
    args = parser.parse_args(
        ["clean", "--function", image_target, "--runs-table", RUNS_TABLE, "--region", "us-east-1"]
    )
    assert clean_command.run(args) == 0
    # THEN it said it would put back the recorded image, and did (same digest, x86_64)
    assert before["resolvedImageUri"] in capsys.readouterr().out
    assert image_snapshot(engine, image_target) == before
    gate.release.set()
    assert gate.finished.wait(60)
    assert image_snapshot(engine, image_target) == before
