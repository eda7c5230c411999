"""The fault matrix: whatever goes wrong, the function ends as it was (or one command makes it so).

Every case runs a whole execution in moto's interpreter with real Lambda's version numbering
(powertuning/local/aws_rules.py: numbers never reused, an aliased version cannot be deleted) and
the stack's recovery rule emulated by the engine, then compares the target function with a
snapshot taken before: aliases, versions, memory, description, and the run table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import lambdas.analyzer
import lambdas.executor
import lambdas.optimizer
import lambdas.publisher
from powertuning import lambda_api
from powertuning.cli import clean as clean_command
from powertuning.errors import AliasConflictError, RunEndedError
from powertuning.local.engine import LocalEngine
from powertuning.local.tuner_stack import RUNS_TABLE
from tests.e2e.faults import Fault, FaultPlan, Gate, Hold

BASE = {"powerValues": [256, 512, 1024], "num": 5}
EIGHT_SIZES = [256, 384, 512, 768, 1024, 1536, 2048, 3008]
ALWAYS = 10_000


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultPlan]:
    """Faults on every client the tuner builds, cleared after the test."""
    plan = FaultPlan()
    build = lambda_api.client
    monkeypatch.setattr(lambda_api, "client", lambda *a, **k: plan.attach(build(*a, **k)))
    yield plan
    plan.clear()


def snapshot(engine: LocalEngine, arn: str) -> dict[str, Any]:
    """What a run may change on the function, and whether a run is registered on it."""
    client = engine.lambda_client
    latest = client.get_function_configuration(FunctionName=arn)
    return {
        "aliases": sorted(
            (a["Name"], a["FunctionVersion"]) for a in client.list_aliases(FunctionName=arn)["Aliases"]
        ),
        "versions": sorted(
            v["Version"] for v in client.list_versions_by_function(FunctionName=arn)["Versions"]
        ),
        "memory": latest["MemorySize"],
        "description": latest["Description"],
        "registered": "Item"
        in engine._client("dynamodb").get_item(TableName=RUNS_TABLE, Key={"functionArn": {"S": arn}}),
    }


def clean_with_the_command(engine: LocalEngine, arn: str, capsys: pytest.CaptureFixture[str]) -> str:
    """`powertune clean --function ARN --runs-table ...`, in-process on the mock."""
    parser = __import__("powertuning.cli", fromlist=["build_parser"]).build_parser()
    args = parser.parse_args(
        ["clean", "--function", arn, "--runs-table", RUNS_TABLE, "--region", "us-east-1"]
    )
    assert clean_command.run(args) == 0
    return capsys.readouterr().out


# (case id, faults, extra input, status, error name or None)
CASES: list[tuple[str, list[Fault], dict[str, Any], str, str | None]] = [
    # Transient: retried by the tuner's one policy (and the ASL's Retry); the run succeeds.
    (
        "publish throttled once",
        [Fault("lambda.PublishVersion", "TooManyRequestsException", 1)],
        {},
        "SUCCEEDED",
        None,
    ),
    (
        "publish throttled 5x",
        [Fault("lambda.PublishVersion", "TooManyRequestsException", 5)],
        {},
        "SUCCEEDED",
        None,
    ),
    (
        "update service error",
        [Fault("lambda.UpdateFunctionConfiguration", "ServiceException", 2)],
        {},
        "SUCCEEDED",
        None,
    ),
    (
        "update conflict",
        [Fault("lambda.UpdateFunctionConfiguration", "ResourceConflictException", 1)],
        {},
        "SUCCEEDED",
        None,
    ),
    (
        "create alias service error",
        [Fault("lambda.CreateAlias", "ServiceException", 1)],
        {},
        "SUCCEEDED",
        None,
    ),
    ("invoke throttled", [Fault("lambda.Invoke", "TooManyRequestsException", 3)], {}, "SUCCEEDED", None),
    ("invoke service error", [Fault("lambda.Invoke", "ServiceException", 2)], {}, "SUCCEEDED", None),
    (
        "get configuration throttled",
        [Fault("lambda.GetFunctionConfiguration", "ThrottlingException", 2)],
        {},
        "SUCCEEDED",
        None,
    ),
    (
        "list versions throttled",
        [Fault("lambda.ListVersionsByFunction", "TooManyRequestsException", 2)],
        {},
        "SUCCEEDED",
        None,
    ),
    (
        "list aliases service error",
        [Fault("lambda.ListAliases", "ServiceException", 1)],
        {},
        "SUCCEEDED",
        None,
    ),
    (
        "delete alias throttled",
        [Fault("lambda.DeleteAlias", "TooManyRequestsException", 2)],
        {},
        "SUCCEEDED",
        None,
    ),
    (
        "delete version throttled",
        [Fault("lambda.DeleteFunction", "TooManyRequestsException", 2)],
        {},
        "SUCCEEDED",
        None,
    ),
    (
        "run table throttled",
        [Fault("dynamodb.PutItem", "ProvisionedThroughputExceededException", 1)],
        {},
        "SUCCEEDED",
        None,
    ),
    ("run table read error", [Fault("dynamodb.GetItem", "InternalServerError", 1)], {}, "SUCCEEDED", None),
    # Permanent: the run fails with its cause, after cleanup restored everything.
    (
        "first update refused",
        [Fault("lambda.UpdateFunctionConfiguration", "AccessDeniedException")],
        {},
        "FAILED",
        "ClientError",
    ),
    (
        "publish fails at the 2nd size",
        [Fault("lambda.PublishVersion", "AccessDeniedException", after=1)],
        {},
        "FAILED",
        "ClientError",
    ),
    (
        "alias fails after publishing",
        [Fault("lambda.CreateAlias", "AccessDeniedException", after=1)],
        {},
        "FAILED",
        "ClientError",
    ),
    # ... and where the same fault blocks cleanup: the cause names the command that then restores.
    (
        "update refused from the 3rd call",
        [Fault("lambda.UpdateFunctionConfiguration", "AccessDeniedException", after=2)],
        {},
        "FAILED",
        "CleanupError",
    ),
    ("invoke keeps failing", [Fault("lambda.Invoke", "ServiceException")], {}, "FAILED", "ThrottledError"),
    ("invoke refused", [Fault("lambda.Invoke", "AccessDeniedException")], {}, "FAILED", "ClientError"),
    (
        "registration refused",
        [Fault("dynamodb.PutItem", "AccessDeniedException")],
        {},
        "FAILED",
        "ClientError",
    ),
    (
        "cold starts: publish fails at the 4th alias",
        [Fault("lambda.PublishVersion", "AccessDeniedException", after=3)],
        {"onlyColdStarts": True},
        "FAILED",
        "ClientError",
    ),
    (
        "adaptive: invoke refused mid-race",
        [Fault("lambda.Invoke", "AccessDeniedException", after=4)],
        {"sampling": "adaptive", "num": 20},
        "FAILED",
        "ClientError",
    ),
    (
        "auto: publish fails mid-search",
        [Fault("lambda.PublishVersion", "AccessDeniedException", after=2)],
        {"sampling": "adaptive", "powerValues": "auto", "num": 10},
        "FAILED",
        "ClientError",
    ),
    (
        "optimizer: alias update refused",
        [Fault("lambda.CreateAlias", "AccessDeniedException", after=3)],
        {"autoOptimize": True, "autoOptimizeAlias": "live"},
        "FAILED",
        "ClientError",
    ),
    (
        "optimizer: final update refused",
        [Fault("lambda.UpdateFunctionConfiguration", "AccessDeniedException", 1, after=5)],
        {"autoOptimize": True},
        "FAILED",
        "ClientError",
    ),
    (
        "cleaner fails once, then succeeds",
        [Fault("lambda.DeleteFunction", "AccessDeniedException", times=1)],
        {},
        "SUCCEEDED",
        None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_fault_leaves_the_function_as_it_was(
    engine: LocalEngine,
    target: str,
    faults: FaultPlan,
    capsys: pytest.CaptureFixture[str],
    case: tuple[str, list[Fault], dict[str, Any], str, str | None],
) -> None:
    name, injected, extra, status, error = case
    # GIVEN a function in a known state and a fault on one kind of call
    before = snapshot(engine, target)
    faults.faults.extend(injected)
    # WHEN it is tuned
    outcome = engine.run({"lambdaARN": target, **BASE, **extra})
    faults.clear()
    # THEN the fault was met, the run ends as expected, and the function is exactly as before
    assert sum(faults.raised.values()) >= 1, name
    assert outcome.status == status, (name, outcome.error, outcome.cause)
    if error is not None:
        assert outcome.error == error, (name, outcome.cause)
        assert outcome.cause, name
    if error == "CleanupError":
        # Cleanup could not run: the cause names the one command, which then restores everything.
        assert "powertune clean" in (outcome.cause or ""), name
        assert snapshot(engine, target) != before, name
        clean_with_the_command(engine, target, capsys)
    assert snapshot(engine, target) == before, name


def test_cleanup_that_keeps_failing_names_what_is_left_and_the_command_restores_it(
    engine: LocalEngine, target: str, faults: FaultPlan, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a run whose every attempt to delete a version is refused (the recovery's too)
    before = snapshot(engine, target)
    faults.faults.append(Fault("lambda.DeleteFunction", "AccessDeniedException"))
    outcome = engine.run({"lambdaARN": target, **BASE})
    faults.clear()
    # THEN it fails with CleanupError, whose cause lists what is left and the command to run
    assert outcome.status == "FAILED"
    assert outcome.error == "CleanupError"
    assert "versions [" in (outcome.cause or "")
    assert "powertune clean" in (outcome.cause or "")
    left = snapshot(engine, target)
    assert left["registered"]
    assert len(left["versions"]) > 1
    # WHEN the documented command runs THEN the function is as it was
    printed = clean_with_the_command(engine, target, capsys)
    assert "delete version(s)" in printed
    assert snapshot(engine, target) == before


def test_the_cleaner_crashing_goes_to_a_fail_state_that_never_throws(
    engine: LocalEngine, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a Cleaner that crashes on the error path (any error name, even a States.* one)
    import lambdas.cleaner

    real = lambdas.cleaner.handler

    def crash_on_error_path(event: dict[str, Any], context: Any) -> Any:
        if "error" in event and "run" in event:
            raise RuntimeError("the cleaner crashed")
        return real(event, context)

    monkeypatch.setattr(lambdas.cleaner, "handler", crash_on_error_path)
    monkeypatch.setattr(lambdas.analyzer, "handler", _raise(ValueError("analysis broke")))
    before = snapshot(engine, target)
    outcome = engine.run({"lambdaARN": target, **BASE})
    # THEN the execution fails with a fixed error name and a cause naming the command
    assert outcome.status == "FAILED"
    assert outcome.error == "CleanupError"
    assert "powertune clean" in (outcome.cause or "")
    # AND the recovery rule (the engine emulates it) restored the function
    assert outcome.recovery is not None
    assert snapshot(engine, target) == before


@pytest.mark.parametrize("handler", ["executor", "analyzer", "optimizer"])
def test_a_crashing_step_is_cleaned_up(
    engine: LocalEngine, target: str, monkeypatch: pytest.MonkeyPatch, handler: str
) -> None:
    module = {"executor": lambdas.executor, "analyzer": lambdas.analyzer, "optimizer": lambdas.optimizer}[
        handler
    ]
    monkeypatch.setattr(module, "handler", _raise(RuntimeError(f"{handler} crashed")))
    before = snapshot(engine, target)
    outcome = engine.run({"lambdaARN": target, **BASE, "autoOptimize": True})
    assert outcome.status == "FAILED"
    assert outcome.error == "RuntimeError"
    assert f"{handler} crashed" in (outcome.cause or "")
    assert snapshot(engine, target) == before


def _raise(exc: Exception) -> Callable[[Any, Any], Any]:
    def handler(_event: Any, _context: Any) -> Any:
        raise exc

    return handler


@pytest.mark.parametrize(
    "stage",
    [
        ("publisher", 1, {}),  # registered, nothing published yet
        ("publisher", 2, {}),  # one size published; the held call publishes late
        ("publisher", 3, {"onlyColdStarts": True}),
        ("executor", 2, {}),  # measuring
        ("analyzer", 1, {"sampling": "adaptive", "num": 10}),  # the race's first decision
        # after the probes: listed sizes published but held back, or skipped by the model unmeasured
        (
            "analyzer",
            2,
            {"sampling": "adaptive", "strategy": "cost", "num": 10, "powerValues": EIGHT_SIZES},
        ),
        ("optimizer", 1, {"autoOptimize": True, "autoOptimizeAlias": "live"}),
    ],
    ids=[
        "after-initializer",
        "publishing",
        "publishing-cold-starts",
        "measuring",
        "adaptive-race",
        "adaptive-race-after-probes",
        "optimizing",
    ],
)
def test_stop_execution_at_every_stage_is_recovered(
    engine: LocalEngine,
    target: str,
    monkeypatch: pytest.MonkeyPatch,
    stage: tuple[str, int, dict[str, Any]],
) -> None:
    handler, call, extra = stage
    # GIVEN an execution held inside a step
    module = {
        "publisher": lambdas.publisher,
        "executor": lambdas.executor,
        "analyzer": lambdas.analyzer,
        "optimizer": lambdas.optimizer,
    }[handler]
    gate = Gate(call)
    monkeypatch.setattr(module, "handler", gate.wrap(module.handler))
    before = snapshot(engine, target)
    execution = engine.start({"lambdaARN": target, **BASE, **extra})
    assert gate.reached.wait(60), "the execution never reached the held step"
    # WHEN it is stopped, and the held step then goes on (Lambda keeps running it, late)
    engine.sfn_client.stop_execution(executionArn=execution, error="Stopped", cause="by the test")
    gate.release.set()
    outcome = engine.wait(execution)
    assert gate.finished.wait(60)
    # THEN the execution is ABORTED (moto's interpreter fails a Map it stops, with States.Runtime,
    # where AWS aborts it: both start the recovery) and the recovery rule plus the late step's own
    # check leave the function exactly as it was
    assert outcome.status in ("ABORTED", "FAILED"), (outcome.error, outcome.cause, outcome.recovery)
    if handler != "executor":
        assert outcome.status == "ABORTED", (outcome.error, outcome.cause)
    assert outcome.recovery is not None
    assert "error" not in outcome.recovery, outcome.recovery
    assert snapshot(engine, target) == before, (outcome.recovery, gate.outcome)


def test_a_late_publisher_of_a_stopped_run_never_moves_the_next_runs_alias(
    engine: LocalEngine, target: str, faults: FaultPlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN run A held inside its first PublishVersion (past its own checks, the request on its way)
    held = Hold("lambda.PublishVersion", 1)
    faults.holds.append(held)
    late = Gate(1)
    late.release.set()  # only watches A's first Publisher call, to see how it ended
    monkeypatch.setattr(lambdas.publisher, "handler", late.wrap(lambdas.publisher.handler))
    before = snapshot(engine, target)
    first = engine.start({"lambdaARN": target, **BASE})
    assert held.reached.wait(60), "run A never reached PublishVersion"
    # WHEN A is stopped and recovered, run B publishes its RAM aliases and measures them
    engine.sfn_client.stop_execution(executionArn=first, error="Stopped", cause="by the test")
    stopped = engine.wait(first)
    assert stopped.recovery is not None
    assert "error" not in stopped.recovery, stopped.recovery
    measuring = Gate(1)
    monkeypatch.setattr(lambdas.executor, "handler", measuring.wrap(lambdas.executor.handler))
    second = engine.start({"lambdaARN": target, **BASE})
    assert measuring.reached.wait(60), "run B never measured"
    runs_b = snapshot(engine, target)["aliases"]
    assert [name for name, _ in runs_b] == ["RAM1024", "RAM256", "RAM512"]
    # AND A's PublishVersion returns late
    held.release.set()
    assert late.finished.wait(60)
    # THEN A's Publisher moved no alias of B's (it refused, found its run ended and undid its version)
    assert isinstance(late.outcome, RunEndedError), late.outcome
    assert isinstance(late.outcome.__cause__, AliasConflictError), late.outcome.__cause__
    assert "RAM256" in str(late.outcome.__cause__)
    assert snapshot(engine, target)["aliases"] == runs_b
    # AND B measures its own versions and ends with the function as it was
    measuring.release.set()
    outcome = engine.wait(second)
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert snapshot(engine, target) == before


def test_clean_force_on_a_live_run_ends_it_with_an_error_that_says_so(
    engine: LocalEngine, target: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a run held while it measures
    gate = Gate(1)
    monkeypatch.setattr(lambdas.executor, "handler", gate.wrap(lambdas.executor.handler))
    before = snapshot(engine, target)
    execution = engine.start({"lambdaARN": target, **BASE})
    assert gate.reached.wait(60)
    # WHEN `powertune clean --force` cleans it while it runs
    parser = __import__("powertuning.cli", fromlist=["build_parser"]).build_parser()
    args = parser.parse_args(
        ["clean", "--function", target, "--runs-table", RUNS_TABLE, "--region", "us-east-1", "--force"]
    )
    assert clean_command.run(args) == 0
    capsys.readouterr()
    assert snapshot(engine, target) == before
    gate.release.set()
    outcome = engine.wait(execution)
    # THEN the run ends with RunEndedError saying its aliases were removed under it, not a raw
    # ResourceNotFoundException, and the function is as it was
    assert outcome.status == "FAILED"
    assert outcome.error == "RunEndedError", (outcome.error, outcome.cause)
    assert "powertune clean --force" in str(outcome.cause)
    assert snapshot(engine, target) == before


def test_a_second_run_on_the_same_function_is_refused_up_front(
    engine: LocalEngine, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a run held while publishing
    gate = Gate(1)
    monkeypatch.setattr(lambdas.publisher, "handler", gate.wrap(lambdas.publisher.handler))
    before = snapshot(engine, target)
    first = engine.start({"lambdaARN": target, **BASE})
    assert gate.reached.wait(60)
    # WHEN another run on the same function starts THEN it is refused, naming the first execution
    second = engine.run({"lambdaARN": target, "powerValues": [128, 2048], "num": 5})
    assert second.status == "FAILED"
    assert second.error == "RunInProgressError"
    assert first in (second.cause or "")
    assert "powertune clean" in (second.cause or "")
    # AND the first run is untouched by it and completes cleanly
    gate.release.set()
    outcome = engine.wait(first)
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert snapshot(engine, target) == before


def test_runs_on_different_functions_are_independent(engine: LocalEngine, target: str) -> None:
    other = engine.create_target(name=f"{target.split(':')[6]}-other", handler="app.handler", code_dir=None)
    executions = [engine.start({"lambdaARN": arn, **BASE}) for arn in (target, other)]
    outcomes = [engine.wait(e) for e in executions]
    assert [o.status for o in outcomes] == ["SUCCEEDED", "SUCCEEDED"], [o.cause for o in outcomes]


def test_leftovers_of_a_crashed_run_refuse_the_next_until_cleaned(
    engine: LocalEngine, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN what a run whose registration was lost would leave: a marked version and alias,
    # and $LATEST still at a test size with the run's marker
    before = snapshot(engine, target)
    client = engine.lambda_client
    client.update_function_configuration(
        FunctionName=target, MemorySize=512, Description="powertuning 0123456789ab RAM512"
    )
    version = client.publish_version(FunctionName=target, Description="powertuning 0123456789ab RAM512")[
        "Version"
    ]
    client.create_alias(FunctionName=target, Name="RAM512", FunctionVersion=version)
    # WHEN a new run starts THEN it is refused before changing anything, naming the command
    outcome = engine.run({"lambdaARN": target, "powerValues": [256, 1024], "num": 5})
    assert outcome.status == "FAILED"
    assert outcome.error == "LeftoversError"
    assert "powertune clean" in (outcome.cause or "")
    # AND the clean command removes the run's version and alias, but never guesses an original
    # configuration it did not record: it says so
    printed = clean_with_the_command(engine, target, capsys)
    assert "not recorded" in printed
    after = snapshot(engine, target)
    assert after["aliases"] == before["aliases"]
    assert after["versions"] == before["versions"] + [] or after["versions"] == before["versions"]
    client.update_function_configuration(
        FunctionName=target, MemorySize=before["memory"], Description=before["description"]
    )
    assert engine.run({"lambdaARN": target, "powerValues": [256, 1024], "num": 5}).status == "SUCCEEDED"


def test_the_dry_run_of_clean_changes_nothing(
    engine: LocalEngine, target: str, faults: FaultPlan, capsys: pytest.CaptureFixture[str]
) -> None:
    faults.faults.append(Fault("lambda.DeleteFunction", "AccessDeniedException"))
    engine.run({"lambdaARN": target, **BASE})
    faults.clear()
    left = snapshot(engine, target)
    parser = __import__("powertuning.cli", fromlist=["build_parser"]).build_parser()
    args = parser.parse_args(
        ["clean", "--function", target, "--runs-table", RUNS_TABLE, "--region", "us-east-1", "--dry-run"]
    )
    assert clean_command.run(args) == 0
    printed = capsys.readouterr().out
    assert "would delete version(s)" in printed
    assert json.dumps(snapshot(engine, target)) == json.dumps(left)
