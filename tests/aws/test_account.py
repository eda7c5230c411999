"""The real-account tier: a scratch tuner stack tunes a sample zip function (fixed and adaptive),
one execution is stopped mid-way and the stack's recovery rule cleans up, and nothing is left.

The same tests run against a real account (`make test-aws`) and against moto in server mode (every
`make test`): see conftest.py and targets.py. On moto the recovery rule's delivery is done by the
target (it sends the rule's event to the Cleaner, as EventBridge would); the waiting and every
assertion are the same.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from powertuning import lambda_api
from powertuning.aws import executions, run_table
from tests.aws.targets import RECOVERY_WAIT_S, Target, sample_zip, wait_until

pytestmark = pytest.mark.slow

MEMORY_MB = 1024
DESCRIPTION = "a sample function of the real-account tier"
# examples/primes: a little CPU work per invocation, so sizes differ without costing much.
PAYLOAD = {"repeat": 1, "limit": 20_000}
EXECUTION_TIMEOUT_S = 900


@pytest.fixture
def sample(target: Target) -> Iterator[str]:
    """examples/primes as a zip function of its own (1,024 MB, described); deleted afterwards."""
    client = target.client("lambda")
    name = f"{target.name}-primes-{uuid.uuid4().hex[:6]}"
    created = client.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=target.function_role(),
        Handler="handler.handler",
        Code={"ZipFile": sample_zip("primes")},
        MemorySize=MEMORY_MB,
        Timeout=60,
        Description=DESCRIPTION,
    )
    client.get_waiter("function_active_v2").wait(FunctionName=name)
    yield str(created["FunctionArn"])
    client.delete_function(FunctionName=name)


def _start(target: Target, execution_input: dict[str, Any]) -> str:
    return executions.start_execution(
        target.client("stepfunctions"),
        target.outputs["StateMachineArn"],
        f"tier-{uuid.uuid4().hex[:12]}",
        execution_input,
    )


def _wait(target: Target, execution_arn: str) -> dict[str, Any]:
    sfn = target.client("stepfunctions")
    return executions.follow(sfn, execution_arn, poll_s=1.0, timeout_s=EXECUTION_TIMEOUT_S).description


def _left(target: Target, function_arn: str) -> dict[str, Any]:
    """What a run could leave: RAM aliases, versions, $LATEST's settings, the registry entry."""
    client = target.client("lambda")
    latest = client.get_function_configuration(FunctionName=function_arn)
    table = target.outputs["RunsTableName"]
    return {
        "aliases": [a["Name"] for a in lambda_api.list_aliases(client, function_arn)],
        "versions": [v["Version"] for v in lambda_api.list_versions(client, function_arn)],
        "memory": latest["MemorySize"],
        "description": latest["Description"],
        "registered": run_table.get_run(target.client("dynamodb"), table, function_arn) is not None,
    }


NOTHING_LEFT = {
    "aliases": [],
    "versions": ["$LATEST"],
    "memory": MEMORY_MB,
    "description": DESCRIPTION,
    "registered": False,
}


@pytest.mark.parametrize(
    "tuning",
    [
        pytest.param({"powerValues": [128, 256, 512], "num": 5}, id="fixed"),
        pytest.param(
            {"sampling": "adaptive", "powerValues": [128, 256, 512, 1024], "num": 20}, id="adaptive"
        ),
    ],
)
def test_a_sample_function_is_tuned_and_left_as_it_was(target, sample, tuning):
    # WHEN the deployed tuner tunes the sample function
    described = _wait(target, _start(target, {"lambdaARN": sample, "payload": PAYLOAD, **tuning}))

    # THEN it recommends one of the sizes, priced, and nothing of the run is left
    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    output = json.loads(described["output"])
    assert output["power"] in tuning["powerValues"]
    assert output["cost"] > 0
    assert output["duration"] > 0
    assert _left(target, sample) == NOTHING_LEFT


def test_an_execution_stopped_mid_way_is_cleaned_up_by_the_recovery_rule(target, sample):
    # GIVEN a tuning that has published its sizes and is measuring them
    execution = _start(
        target, {"lambdaARN": sample, "payload": PAYLOAD, "powerValues": [128, 256], "num": 200}
    )
    wait_until(
        lambda: bool(_left(target, sample)["aliases"]), 120, "the run never published its aliases", 0.2
    )

    # WHEN it is stopped
    target.client("stepfunctions").stop_execution(executionArn=execution, cause="stopped by the tier")
    sfn = target.client("stepfunctions")
    assert executions.describe_execution(sfn, execution)["status"] == "ABORTED"
    target.recover(execution, "ABORTED")

    # THEN the recovery rule's Cleaner removes every alias and version of the run, puts back the
    # memory and description, and ends the registration
    wait_until(lambda: _left(target, sample) == NOTHING_LEFT, RECOVERY_WAIT_S, "recovery left something")
    time.sleep(2)  # a late step of the stopped run (its Executor may still run) changes nothing back
    assert _left(target, sample) == NOTHING_LEFT
