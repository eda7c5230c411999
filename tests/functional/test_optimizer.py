"""The Optimizer handler against moto: applies the recommendation only when asked to."""

from __future__ import annotations

import pytest

from lambdas import cleaner, initializer, optimizer, publisher


@pytest.fixture
def finished(target_function, lambda_context):
    """`finished(**input)` -> the state after Publisher loop, Map and Cleaner, with $.analysis."""

    def run(power=512, **extra):
        event = {"lambdaARN": target_function.arn, "powerValues": [128, 512], "num": 5, **extra}
        state = {**event, "lambdaConfigurations": initializer.handler(event, lambda_context)}
        while state["lambdaConfigurations"]["iterator"]["continue"]:
            state = {**state, "lambdaConfigurations": publisher.handler(state, lambda_context)}
        cleaner.handler(state, lambda_context)
        return {**state, "analysis": {"power": power, "cost": 1e-6, "duration": 10.0}}

    return run


def latest(lambda_client):
    config = lambda_client.get_function_configuration(FunctionName="target")
    return config["MemorySize"], config["Description"]


def aliases(lambda_client):
    return {
        a["Name"]: a["FunctionVersion"] for a in lambda_client.list_aliases(FunctionName="target")["Aliases"]
    }


def test_without_auto_optimize_nothing_changes(finished, lambda_client, lambda_context):
    state = finished()
    assert optimizer.handler(state, lambda_context) == {"applied": False}
    assert latest(lambda_client) == (1024, "the user's own description")


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


def test_dry_run_never_optimizes(finished, lambda_client, lambda_context):
    state = finished(power=128, autoOptimize=True, dryRun=True)
    assert optimizer.handler(state, lambda_context) == {"applied": False}
    assert latest(lambda_client) == (1024, "the user's own description")
