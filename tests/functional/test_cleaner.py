"""The Cleaner handler against moto: on success and on every failure path, safe to run twice."""

from __future__ import annotations

import json

import pytest

from lambdas import cleaner, initializer, publisher


@pytest.fixture
def users_own(lambda_client, target_function):
    """The user's own version 1 and alias `prod`, there before any run."""
    version = lambda_client.publish_version(FunctionName="target", Description="release 1")["Version"]
    lambda_client.create_alias(FunctionName="target", Name="prod", FunctionVersion=version)
    return version


@pytest.fixture
def initialized(target_function, lambda_context):
    event = {"lambdaARN": target_function.arn, "powerValues": [128, 256, 512], "num": 5}
    return {**event, "lambdaConfigurations": initializer.handler(event, lambda_context)}


def publish(state, lambda_context, times=None):
    """Run the Publisher `times` times (or until the loop ends); returns the new state."""
    count = 0
    while state["lambdaConfigurations"]["iterator"]["continue"] and (times is None or count < times):
        state = {**state, "lambdaConfigurations": publisher.handler(state, lambda_context)}
        count += 1
    return state


def leftovers(lambda_client):
    latest = lambda_client.get_function_configuration(FunctionName="target")
    return {
        "aliases": sorted(a["Name"] for a in lambda_client.list_aliases(FunctionName="target")["Aliases"]),
        "versions": [
            v["Version"] for v in lambda_client.list_versions_by_function(FunctionName="target")["Versions"]
        ],
        "latest": (latest["MemorySize"], latest["Description"]),
    }


USER_ONLY = {
    "aliases": ["prod"],
    "versions": ["$LATEST", "1"],
    "latest": (1024, "the user's own description"),
}


def executor_failure(message):
    """$.error as a Catch records a failed Executor (the Cause is the Lambda error payload)."""
    return {
        "Error": "TargetFunctionError",
        "Cause": json.dumps({"errorType": "TargetFunctionError", "errorMessage": message, "stackTrace": []}),
    }


def test_after_a_successful_measurement_it_deletes_the_run_and_keeps_the_users(
    users_own, initialized, lambda_client, lambda_context
):
    # GIVEN a run that published every size, next to the user's own version and alias
    state = publish(initialized, lambda_context)
    # WHEN the Cleaner runs (ResultPath null: its output is discarded)
    report = cleaner.handler(state, lambda_context)
    # THEN every alias and version of the run is gone and the user's survive
    assert sorted(report["deletedAliases"]) == ["RAM128", "RAM256", "RAM512"]
    assert report["deletedVersions"] == ["2", "3", "4"]
    assert leftovers(lambda_client) == USER_ONLY


def test_after_a_failure_while_publishing_it_restores_latest_and_reports_the_cause(
    users_own, initialized, lambda_client, lambda_context
):
    # GIVEN a run that failed after publishing one size ($LATEST at 128 MB with the run's marker)
    state = publish(initialized, lambda_context, times=1)
    assert leftovers(lambda_client)["latest"][0] == 128
    caught = {
        "Error": "ThrottledError",
        "Cause": json.dumps({"errorMessage": "publish_version still throttled"}),
    }
    # WHEN CleanUpOnError runs with $.error
    out = cleaner.handler({**state, "error": caught}, lambda_context)
    # THEN the function is back as it was, and the Fail state gets the error and a readable cause
    assert leftovers(lambda_client) == USER_ONLY
    assert out["error"] == "ThrottledError"
    assert out["cause"].startswith("publish_version still throttled")
    assert "restored $LATEST" in out["cause"]


def test_after_an_executor_failure_the_cause_names_the_size_and_the_function_error(
    users_own, initialized, lambda_client, lambda_context
):
    state = publish(initialized, lambda_context)
    caught = executor_failure("at 256 MB the function failed with KeyError: 'customer_id'")
    out = cleaner.handler({**state, "error": caught}, lambda_context)
    assert out == {
        "error": "TargetFunctionError",
        "cause": "at 256 MB the function failed with KeyError: 'customer_id' "
        "[cleanup: deleted 3 aliases and 3 versions]",
    }
    assert leftovers(lambda_client) == USER_ONLY


def test_after_the_initializer_failed_there_is_nothing_to_clean(
    target_function, lambda_client, lambda_context
):
    # GIVEN an input the Initializer rejected: the state has no lambdaConfigurations
    before = leftovers(lambda_client)
    caught = {
        "Error": "InvalidInputError",
        "Cause": json.dumps(
            {"errorType": "InvalidInputError", "errorMessage": "num must be an integer from 5 to 1000, got 4"}
        ),
    }
    out = cleaner.handler({"lambdaARN": target_function.arn, "num": 4, "error": caught}, lambda_context)
    assert out == {"error": "InvalidInputError", "cause": "num must be an integer from 5 to 1000, got 4"}
    assert leftovers(lambda_client) == before


def test_cleaner_then_clean_up_on_error_is_safe(users_own, initialized, lambda_client, lambda_context):
    # GIVEN the Cleaner succeeded and a later state (Analyzer) failed, so CleanUpOnError runs too
    state = publish(initialized, lambda_context)
    cleaner.handler(state, lambda_context)
    caught = {
        "Error": "TargetFunctionError",
        "Cause": json.dumps({"errorMessage": "no memory size could be measured"}),
    }
    # WHEN the second cleanup runs THEN it succeeds, changes nothing and reports the real cause
    out = cleaner.handler({**state, "error": caught}, lambda_context)
    assert out == {"error": "TargetFunctionError", "cause": "no memory size could be measured"}
    assert leftovers(lambda_client) == USER_ONLY


def test_running_twice_after_a_failure_is_safe(users_own, initialized, lambda_client, lambda_context):
    # The Retry on CleanUpOnError may run it again after a timeout that happened after the work was done.
    state = publish(initialized, lambda_context, times=2)
    failed = {**state, "error": executor_failure("boom")}
    cleaner.handler(failed, lambda_context)
    again = cleaner.handler(failed, lambda_context)
    assert again["cause"] == "boom"
    assert leftovers(lambda_client) == USER_ONLY


def test_orphan_version_of_a_crashed_publisher_call_is_deleted(
    users_own, initialized, lambda_client, lambda_context
):
    # GIVEN a Publisher call that published a version but timed out before returning it
    config = initialized["lambdaConfigurations"]
    marker = f"powertuning {config['runId']} RAM128"
    lambda_client.update_function_configuration(FunctionName="target", MemorySize=128, Description=marker)
    orphan = lambda_client.publish_version(FunctionName="target", Description=marker)["Version"]
    # WHEN CleanUpOnError runs with the configuration the state still holds
    out = cleaner.handler(
        {**initialized, "error": {"Error": "States.Timeout", "Cause": "timed out"}}, lambda_context
    )
    # THEN the orphan is deleted and $LATEST restored
    assert orphan not in leftovers(lambda_client)["versions"]
    assert leftovers(lambda_client) == USER_ONLY
    assert out["error"] == "States.Timeout"
