"""The Cleaner handler against moto: on success and on every failure path, safe to run twice."""

from __future__ import annotations

import json

import pytest

from lambdas import cleaner
from powertuning import lambda_api
from powertuning.aws import run_table
from powertuning.errors import ExecutionRunningError
from powertuning.local.tuner_stack import RUNS_TABLE


@pytest.fixture
def users_own(lambda_client, target_function):
    """The user's own version 1 and alias `prod`, there before any run."""
    version = lambda_client.publish_version(FunctionName="target", Description="release 1")["Version"]
    lambda_client.create_alias(FunctionName="target", Name="prod", FunctionVersion=version)
    return version


@pytest.fixture
def initialized(start_run):
    return start_run(powerValues=[128, 256, 512], num=5)


@pytest.fixture
def published(initialized, publish):
    """`published(times=None)` -> the state after `times` Publisher calls (or the whole loop)."""
    return lambda times=None: publish(initialized, times=times)


@pytest.fixture
def registered(aws):
    """`registered()` -> the run registered on `target`, if any."""
    arn = f"arn:aws:lambda:{aws.region}:{aws.account}:function:target"
    return lambda: run_table.get_run(aws.client("dynamodb"), RUNS_TABLE, arn)


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
    registered, users_own, published, lambda_client, lambda_context
):
    # GIVEN a run that published every size, next to the user's own version and alias
    state = published()
    # WHEN the Cleaner runs (ResultPath null: its output is discarded)
    report = cleaner.handler(state, lambda_context)
    # THEN every alias and version of the run is gone and the user's survive
    assert sorted(report["deletedAliases"]) == ["RAM128", "RAM256", "RAM512"]
    assert report["deletedVersions"] == ["2", "3", "4"]
    assert report["restoredLatest"] is False
    assert leftovers(lambda_client) == USER_ONLY
    # AND the run stays registered: the Optimizer still has to apply the result, then releases it
    assert registered()["runId"] == state["run"]["runId"]


def test_after_a_failure_while_publishing_it_restores_latest_and_reports_the_cause(
    registered, users_own, published, lambda_client, lambda_context
):
    # GIVEN a run that failed after publishing one size ($LATEST at 128 MB with the run's marker)
    state = published(times=1)
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
    # AND the run is released: the function may be tuned again
    assert registered() is None


def test_after_an_executor_failure_the_cause_names_the_size_and_the_function_error(
    registered, users_own, published, lambda_client, lambda_context
):
    state = published()
    caught = executor_failure("at 256 MB the function failed with KeyError: 'customer_id'")
    out = cleaner.handler({**state, "error": caught}, lambda_context)
    assert out == {
        "error": "TargetFunctionError",
        "cause": "at 256 MB the function failed with KeyError: 'customer_id' "
        "[cleanup: deleted 3 aliases and 3 versions]",
    }
    assert leftovers(lambda_client) == USER_ONLY
    assert registered() is None


def test_after_the_initializer_failed_there_is_nothing_to_clean(
    target_function, lambda_client, lambda_context
):
    # GIVEN an input the Initializer rejected: the Catch replaced the state with {error}
    before = leftovers(lambda_client)
    caught = {
        "Error": "InvalidInputError",
        "Cause": json.dumps(
            {"errorType": "InvalidInputError", "errorMessage": "num must be an integer from 5 to 1000, got 4"}
        ),
    }
    out = cleaner.handler({"error": caught}, lambda_context)
    assert out == {"error": "InvalidInputError", "cause": "num must be an integer from 5 to 1000, got 4"}
    assert leftovers(lambda_client) == before


def test_a_refused_second_run_leaves_the_first_runs_registration_alone(
    registered, published, lambda_client, lambda_context
):
    # GIVEN a first run mid-publish, and a second execution refused by the Initializer
    state = published(times=1)
    before = leftovers(lambda_client)
    caught = {
        "Error": "RunInProgressError",
        "Cause": json.dumps({"errorMessage": "arn:...:target is being tuned by execution first"}),
    }
    # WHEN the second execution's CleanUpOnError runs (it has no run of its own)
    out = cleaner.handler({"error": caught}, lambda_context)
    # THEN the first run's versions, marker and registration are untouched
    assert out["error"] == "RunInProgressError"
    assert leftovers(lambda_client) == before
    assert registered()["runId"] == state["run"]["runId"]


def test_cleaner_then_clean_up_on_error_is_safe(users_own, published, lambda_client, lambda_context):
    # GIVEN the Cleaner succeeded and a later state (Analyzer) failed, so CleanUpOnError runs too
    state = published()
    cleaner.handler(state, lambda_context)
    caught = {
        "Error": "TargetFunctionError",
        "Cause": json.dumps({"errorMessage": "no memory size could be measured"}),
    }
    # WHEN the second cleanup runs THEN it succeeds, changes nothing and reports the real cause
    out = cleaner.handler({**state, "error": caught}, lambda_context)
    assert out == {"error": "TargetFunctionError", "cause": "no memory size could be measured"}
    assert leftovers(lambda_client) == USER_ONLY


def test_running_twice_after_a_failure_is_safe(
    registered, users_own, published, lambda_client, lambda_context
):
    # The Retry on CleanUpOnError may run it again after a timeout that happened after the work was done.
    state = published(times=2)
    failed = {**state, "error": executor_failure("boom")}
    cleaner.handler(failed, lambda_context)
    again = cleaner.handler(failed, lambda_context)
    assert again["cause"] == "boom"
    assert leftovers(lambda_client) == USER_ONLY
    assert registered() is None


def test_orphan_version_of_a_crashed_publisher_call_is_deleted(
    users_own, initialized, lambda_client, lambda_context
):
    # GIVEN a Publisher call that published a version but timed out before returning it
    config = initialized["run"]
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
    # AND Step Functions' own error is reported as StepFunctionsError, naming it in the cause
    assert out["error"] == "StepFunctionsError"
    assert out["cause"].startswith("States.Timeout: timed out")


def recovery_event(execution_arn, status="ABORTED"):
    """What the stack's EventBridge rule sends when an execution ends without its own cleanup."""
    return {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {"executionArn": execution_arn, "status": status},
    }


def test_the_recovery_rule_cleans_up_after_an_aborted_execution(
    registered, users_own, published, lambda_client, lambda_context, *, stop
):
    # GIVEN an execution aborted mid-publish: two sizes published, $LATEST at 256 MB with the marker
    state = published(times=2)
    assert leftovers(lambda_client)["latest"][0] == 256
    stop(state["run"]["executionArn"])
    # WHEN the recovery rule calls the Cleaner with that execution's ARN
    out = cleaner.handler(recovery_event(state["run"]["executionArn"]), lambda_context)
    # THEN the run is cleaned up from its registration, and released
    assert out == {
        "recovered": [
            {
                "runId": state["run"]["runId"],
                "functionArn": state["run"]["functionArn"],
                "deletedAliases": ["RAM128", "RAM256"],
                "deletedVersions": ["2", "3"],
                "restoredLatest": True,
            }
        ]
    }
    assert leftovers(lambda_client) == USER_ONLY
    assert registered() is None


@pytest.mark.parametrize("claimed", ["FAILED", "ABORTED", "TIMED_OUT"])
def test_a_recovery_event_for_a_running_execution_is_refused_and_changes_nothing(
    registered, published, lambda_client, lambda_context, claimed
):
    # GIVEN a run whose execution still runs, and an event claiming it ended (forged, or sent by hand)
    state = published(times=2)
    before = leftovers(lambda_client)
    # WHEN the Cleaner gets it THEN it reads the real status and refuses, naming the execution
    with pytest.raises(ExecutionRunningError, match=f"{state['run']['executionArn']} is still running"):
        cleaner.handler(recovery_event(state["run"]["executionArn"], claimed), lambda_context)
    # AND the live run is untouched, still registered
    assert leftovers(lambda_client) == before
    assert registered()["runId"] == state["run"]["runId"]


def test_the_recovery_rule_leaves_other_executions_runs_alone(
    registered, published, lambda_client, lambda_context
):
    state = published(times=1)
    before = leftovers(lambda_client)
    other = "arn:aws:states:us-east-1:123456789012:execution:powertuning:someone-else"
    assert cleaner.handler(recovery_event(other, "FAILED"), lambda_context) == {"recovered": []}
    assert leftovers(lambda_client) == before
    assert registered()["runId"] == state["run"]["runId"]


def test_a_cleanup_that_fails_after_an_error_keeps_the_run_registered(
    registered, published, lambda_client, lambda_context, monkeypatch
):
    # GIVEN a failed run whose cleanup cannot delete a version
    state = published(times=1)

    def refuse(*_args, **_kwargs):
        raise RuntimeError("AccessDenied on DeleteFunction")

    monkeypatch.setattr(lambda_api, "delete_version", refuse)
    out = cleaner.handler({**state, "error": executor_failure("boom")}, lambda_context)
    # THEN the Fail state gets CleanupError naming what is left and the original failure
    assert out["error"] == "CleanupError"
    assert "AccessDenied on DeleteFunction" in out["cause"]
    assert "powertune clean" in out["cause"]
    assert out["cause"].endswith("(the run had failed with TargetFunctionError: boom)")
    # AND the run stays registered, for the recovery rule and `powertune clean`
    assert registered()["runId"] == state["run"]["runId"]
