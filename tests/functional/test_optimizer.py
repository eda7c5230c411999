"""The Optimizer handler against moto: applies the recommendation only when asked to, then ends the run."""

from __future__ import annotations

import pytest

from lambdas import cleaner, optimizer
from powertuning.aws import run_table
from powertuning.errors import RunEndedError
from powertuning.local.tuner_stack import RUNS_TABLE


@pytest.fixture
def finished(start_run, publish, lambda_context):
    """`finished(**input)` -> the state after Publisher loop, Map and Cleaner, with $.analysis."""

    def run(power=512, **extra):
        state = publish(start_run(**{"powerValues": [128, 512], "num": 5, **extra}))
        state["cleanup"] = cleaner.handler(state, lambda_context)
        return {**state, "analysis": {"power": power, "cost": 1e-6, "duration": 10.0}}

    return run


@pytest.fixture
def registered(aws, target_function):
    """`registered()` -> the run registered on `target`, if any."""
    return lambda: run_table.get_run(aws.client("dynamodb"), RUNS_TABLE, target_function.unqualified)


def latest(lambda_client):
    config = lambda_client.get_function_configuration(FunctionName="target")
    return config["MemorySize"], config["Description"]


def aliases(lambda_client):
    return {
        a["Name"]: a["FunctionVersion"] for a in lambda_client.list_aliases(FunctionName="target")["Aliases"]
    }


def test_without_auto_optimize_nothing_changes(finished, lambda_client, lambda_context, registered):
    state = finished()
    assert registered() is not None
    assert optimizer.handler(state, lambda_context) == {"applied": False}
    assert latest(lambda_client) == (1024, "the user's own description")
    # the run is over: the function may be tuned again
    assert registered() is None


def test_a_second_run_may_start_once_the_first_ended(finished, start_run, lambda_context, registered):
    optimizer.handler(finished(), lambda_context)
    second = start_run(powerValues=[256], execution="arn:aws:states:us-east-1:123456789012:execution:x:2")
    assert registered()["runId"] == second["run"]["runId"]


def test_auto_optimize_sets_latest_to_the_recommended_size(finished, lambda_client, lambda_context):
    # GIVEN autoOptimize and a recommendation of 512 MB
    state = finished(power=512, autoOptimize=True)
    # WHEN the Optimizer runs THEN $LATEST runs at 512 MB with the user's description
    assert optimizer.handler(state, lambda_context) == {"applied": True, "power": 512}
    assert latest(lambda_client) == (512, "the user's own description")
    assert aliases(lambda_client) == {}


def test_auto_optimize_alias_points_to_a_version_at_the_recommended_size(
    finished, lambda_client, lambda_context
):
    state = finished(power=128, autoOptimize=True, autoOptimizeAlias="live")
    out = optimizer.handler(state, lambda_context)
    assert out["alias"] == "live"
    assert aliases(lambda_client) == {"live": out["version"]}
    version = lambda_client.get_function_configuration(FunctionName="target", Qualifier=out["version"])
    assert version["MemorySize"] == 128
    # marked for good as the optimized version, which leftover checks never take for a run's own
    assert version["Description"] == f"powertuning {state['run']['runId']} optimized RAM128"
    assert latest(lambda_client) == (128, "the user's own description")


def test_auto_optimize_alias_moves_an_existing_alias(finished, lambda_client, lambda_context):
    # GIVEN the user's alias prod on version 1 (published before the run)
    lambda_client.publish_version(FunctionName="target", Description="release 1")
    lambda_client.create_alias(FunctionName="target", Name="prod", FunctionVersion="1")
    state = finished(power=512, autoOptimize=True, autoOptimizeAlias="prod")
    # WHEN the Optimizer runs THEN prod moves to a new version at 512 MB; version 1 is untouched
    out = optimizer.handler(state, lambda_context)
    assert aliases(lambda_client) == {"prod": out["version"]}
    assert (
        lambda_client.get_function_configuration(FunctionName="target", Qualifier="1")["MemorySize"] == 1024
    )


def test_dry_run_never_optimizes(finished, lambda_client, lambda_context, registered):
    state = finished(power=128, autoOptimize=True, dryRun=True)
    assert optimizer.handler(state, lambda_context) == {"applied": False}
    assert latest(lambda_client) == (1024, "the user's own description")
    assert registered() is None


def test_an_optimized_function_can_be_tuned_again(finished, start_run, lambda_context, registered):
    # The optimized version carries the marker for good; a later run must not refuse it as a leftover.
    optimizer.handler(finished(power=128, autoOptimize=True, autoOptimizeAlias="live"), lambda_context)
    second = start_run(powerValues=[256], execution="arn:aws:states:us-east-1:123456789012:execution:x:2")
    assert registered()["runId"] == second["run"]["runId"]


def test_the_optimizer_of_a_stopped_execution_applies_nothing(
    finished, lambda_client, lambda_context, aws, execution
):
    # GIVEN an execution stopped while its Optimizer call was under way (Lambda finishes the call)
    state = finished(power=512, autoOptimize=True, autoOptimizeAlias="live")
    aws.client("stepfunctions").stop_execution(executionArn=execution)
    # WHEN that call runs THEN it refuses: the function is left as the user had it
    with pytest.raises(RunEndedError, match="has ended; nothing was applied"):
        optimizer.handler(state, lambda_context)
    assert latest(lambda_client) == (1024, "the user's own description")
    assert aliases(lambda_client) == {}


def test_the_optimizer_of_a_run_being_recovered_applies_nothing(
    finished, lambda_client, lambda_context, registered, aws
):
    # GIVEN the recovery rule took the run over (its registration is marked) before the Optimizer ran
    state = finished(power=512, autoOptimize=True)
    runs = aws.client("dynamodb")
    run_table.update_run(runs, RUNS_TABLE, state["run"]["functionArn"], {**registered(), "recovering": True})
    with pytest.raises(RunEndedError):
        optimizer.handler(state, lambda_context)
    assert latest(lambda_client) == (1024, "the user's own description")
