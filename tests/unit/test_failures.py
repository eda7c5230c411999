"""The Error and Cause a failed execution reports, from what a Catch caught."""

from __future__ import annotations

import json

import pytest

from powertuning.failures import MAX_CAUSE_CHARS, describe_failure


def lambda_cause(error_type: str, message: str) -> str:
    """A Catch's Cause for a Lambda task: the function's error payload as JSON text."""
    return json.dumps({"errorType": error_type, "errorMessage": message, "stackTrace": ["..."]})


def test_cause_is_the_error_message_of_a_lambda_error():
    # GIVEN a Catch of an Executor failure
    caught = {
        "Error": "TargetFunctionError",
        "Cause": lambda_cause(
            "TargetFunctionError", "at 128 MB the function failed with Runtime.OutOfMemory: killed"
        ),
    }
    # WHEN describing it THEN error and cause say what failed, without the JSON around it
    assert describe_failure(caught) == {
        "error": "TargetFunctionError",
        "cause": "at 128 MB the function failed with Runtime.OutOfMemory: killed",
    }


def test_cause_that_is_not_json_is_kept_as_is():
    caught = {"Error": "ProcessorError", "Cause": "pre failed: boom"}
    assert describe_failure(caught) == {"error": "ProcessorError", "cause": "pre failed: boom"}


@pytest.mark.parametrize(
    "error", ["States.Timeout", "States.TaskFailed", "States.Runtime", "States.DataLimitExceeded"]
)
def test_step_functions_own_errors_are_reported_as_step_functions_error(error):
    # A Fail state must not end with a States.* name: the original goes into the cause.
    caught = {"Error": error, "Cause": "Task timed out after 300 seconds"}
    assert describe_failure(caught) == {
        "error": "StepFunctionsError",
        "cause": f"{error}: Task timed out after 300 seconds",
    }


@pytest.mark.parametrize("error", ["not a name!", "9Lives", "x" * 200, "Error\nInjected"])
def test_an_odd_error_name_is_not_trusted(error):
    out = describe_failure({"Error": error, "Cause": "c"})
    assert out["error"] == "StepFunctionsError"
    assert out["cause"] == f"{error[:128]}: c"


def test_lambda_and_runtime_error_names_are_kept():
    for error in ("Lambda.ServiceException", "Runtime.OutOfMemory", "KeyError"):
        assert describe_failure({"Error": error, "Cause": "c"})["error"] == error


def test_a_long_cause_is_truncated_saying_so():
    out = describe_failure({"Error": "TargetFunctionError", "Cause": lambda_cause("E", "x" * 20_000)})
    assert len(out["cause"]) == MAX_CAUSE_CHARS
    assert out["cause"].endswith(" ... (truncated)")
    assert out["cause"].startswith("xxx")


def test_json_cause_without_an_error_message_is_kept_as_is():
    cause = json.dumps({"detail": "x"})
    assert describe_failure({"Error": "E", "Cause": cause})["cause"] == cause


def test_missing_error_and_cause_still_give_something_to_report():
    assert describe_failure({}) == {"error": "StepFunctionsError", "cause": "States.TaskFailed"}
    assert describe_failure({"Error": "InvalidInputError"}) == {
        "error": "InvalidInputError",
        "cause": "InvalidInputError",
    }


def test_cleanup_summary_is_appended_when_cleanup_did_something():
    caught = {"Error": "TargetFunctionError", "Cause": lambda_cause("TargetFunctionError", "at 256 MB boom")}
    cleanup = {"deletedAliases": ["RAM128", "RAM256"], "deletedVersions": ["1", "2"], "restoredLatest": True}
    assert describe_failure(caught, cleanup)["cause"] == (
        "at 256 MB boom [cleanup: deleted 2 aliases and 2 versions, restored $LATEST]"
    )


def test_cleanup_summary_without_restoring_latest():
    cleanup = {"deletedAliases": ["RAM128"], "deletedVersions": ["1"], "restoredLatest": False}
    cause = describe_failure({"Error": "E", "Cause": "c"}, cleanup)["cause"]
    assert cause == "c [cleanup: deleted 1 alias and 1 version]"


def test_nothing_appended_when_cleanup_had_nothing_to_do():
    # e.g. the Initializer rejected the input: nothing was created
    caught = {"Error": "InvalidInputError", "Cause": lambda_cause("InvalidInputError", "num must be ...")}
    empty = {"deletedAliases": [], "deletedVersions": [], "restoredLatest": False}
    assert describe_failure(caught, empty)["cause"] == "num must be ..."
    assert describe_failure(caught, None)["cause"] == "num must be ..."
