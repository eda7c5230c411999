"""Starting one execution from the CLI (`run`, `fleet`, `workflow` share it): the execution's name,
the line printed without waiting, the refusal when nothing started, and how following ends (exit
codes 0, 1 and 130 with what is printed). The options those commands share: --poll-interval > 0."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from powertuning.aws import executions
from powertuning.cli import main
from powertuning.cli.execution import follow_to_end, not_started, print_started
from powertuning.errors import StateMachineNotFoundError, ThrottledError

ARN = "arn:aws:states:us-east-1:123456789012:execution:PowerTuning:powertune-1"


class StartRecorder:
    """A Step Functions client that records StartExecution's arguments."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def start_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"executionArn": f"{kwargs['stateMachineArn']}:{kwargs['name']}"}


def test_a_started_execution_is_named_by_its_prefix_time_and_a_random_tail() -> None:
    # GIVEN a client; WHEN two fleets start with the same prefix within one second
    sfn = StartRecorder()
    first = executions.start_named(sfn, "arn:sm", "powertune-fleet", {"functions": ["f"]})  # type: ignore[arg-type]
    second = executions.start_named(sfn, "arn:sm", "powertune-fleet", {"functions": ["f"]})  # type: ignore[arg-type]
    # THEN each is named <prefix>-<date>-<time>-<6 hex>, the names differ, and the input went as JSON
    names = [call["name"] for call in sfn.calls]
    assert all(re.fullmatch(r"powertune-fleet-\d{8}-\d{6}-[0-9a-f]{6}", name) for name in names), names
    assert names[0] != names[1]
    assert [first, second] == [f"arn:sm:{name}" for name in names]
    assert json.loads(sfn.calls[0]["input"]) == {"functions": ["f"]}


@pytest.mark.parametrize(("output", "printed"), [("table", ARN), ("json", json.dumps({"executionArn": ARN}))])
def test_not_waiting_prints_only_the_execution_arn(
    output: str, printed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert print_started(ARN, output) == 0
    out, err = capsys.readouterr()
    assert out == printed + "\n"
    assert err == ""


def test_a_start_that_failed_exits_2_saying_nothing_started(capsys: pytest.CaptureFixture[str]) -> None:
    assert not_started(ValueError("no output FleetArn")) == 2
    assert capsys.readouterr().err == "powertune: error: nothing was started: no output FleetArn\n"


def _raises(exc: BaseException) -> Any:
    def follow() -> dict[str, Any]:
        raise exc

    return follow


@pytest.mark.parametrize(
    ("follow", "code", "said"),
    [
        (
            lambda: {"status": "FAILED", "error": "InvalidInputError", "cause": "num: 0"},
            1,
            ["the fleet execution FAILED: ", "Error: InvalidInputError", "Cause: num: 0"],
        ),
        (
            lambda: {"status": "TIMED_OUT"},
            1,
            ["the fleet execution TIMED_OUT", "Error: TIMED_OUT", "(none given)"],
        ),
        (_raises(KeyboardInterrupt()), 130, ["stopped following; the fleet goes on: "]),
        (
            _raises(ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "DescribeExecution")),
            1,
            ["lost track of ", "AccessDenied"],
        ),
        # The seam's own errors too: throttled past every retry, a stack output gone while following.
        (
            _raises(ThrottledError("DescribeExecution kept throttling")),
            1,
            ["lost track of ", "kept throttling"],
        ),
        (
            _raises(StateMachineNotFoundError("stack PowerTuning has no output named like StateMachineArn")),
            1,
            ["lost track of ", "no output named like StateMachineArn"],
        ),
    ],
    ids=["failed", "timed-out", "interrupted", "lost", "throttled", "stack-gone"],
)
def test_following_that_does_not_succeed_ends_with_its_exit_code_and_reason(
    follow: Any, code: int, said: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN following ends other than SUCCEEDED
    described, exit_code = follow_to_end(follow, ARN, what="the fleet execution", goes_on="the fleet")
    err = capsys.readouterr().err
    # THEN there is no description, and the exit code and the reason (with the ARN) are given
    assert described is None
    assert exit_code == code
    assert all(part in err for part in said), err
    assert ARN in err


def test_following_that_succeeds_returns_the_description(capsys: pytest.CaptureFixture[str]) -> None:
    done = {"status": "SUCCEEDED", "output": "{}"}
    assert follow_to_end(lambda: done, ARN, what="the execution", goes_on="the execution") == (done, 0)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "command", [["run", "--function", "f"], ["fleet", "--function", "f"], ["workflow", "sm"]]
)
@pytest.mark.parametrize("period", ["0", "-1", "soon"])
def test_a_poll_interval_that_is_no_positive_number_is_refused(
    command: list[str], period: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN any command that follows an execution; WHEN --poll-interval is not > 0
    with pytest.raises(SystemExit) as done:
        main([*command, "--poll-interval", period])
    # THEN the parser refuses it (exit 2) naming the flag, before any AWS client is made
    assert done.value.code == 2
    assert "--poll-interval" in capsys.readouterr().err
