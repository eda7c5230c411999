"""Fixtures of the functional tier: the execution state as the state machine builds it.

- `execution`: the ARN of a RUNNING Step Functions execution in the mock (the one a run belongs to;
  steps such as the Optimizer ask Step Functions whether it still runs).
- `start_run(**input)`: runs the Initializer as the state machine calls it (`{input, execution}`)
  and returns the new state `{request, run}`.
- `stop(execution_arn)`: aborts it, before a recovery event (the Cleaner reads the real status).
- `publish(state, times=None)`: the Publisher loop (`$.publish`), `times` calls or until it ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from lambdas import initializer, publisher


@pytest.fixture
def execution(aws: Any, lambda_role: str) -> str:
    """A RUNNING execution (the mock does not run its states unless asked to)."""
    states = aws.client("stepfunctions")
    definition = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    machine = states.create_state_machine(
        name="powertuning", definition=json.dumps(definition), roleArn=lambda_role
    )["stateMachineArn"]
    return str(states.start_execution(stateMachineArn=machine, name="run-1")["executionArn"])


@pytest.fixture
def stop(aws: Any) -> Callable[[str], None]:
    """`stop(execution_arn)`: end an execution (ABORTED), as it is when the recovery rule fires."""
    return lambda arn: aws.client("stepfunctions").stop_execution(executionArn=arn)


@pytest.fixture
def start_run(target_function: Any, lambda_context: Any, execution: str) -> Callable[..., dict[str, Any]]:
    """`start_run(**input)` -> the state after the Initializer (lambdaARN defaults to `target`;
    `execution=` names another execution than `execution`'s)."""

    def start(execution: str = execution, **execution_input: Any) -> dict[str, Any]:
        execution_input.setdefault("lambdaARN", target_function.arn)
        return initializer.handler({"input": execution_input, "execution": execution}, lambda_context)

    return start


@pytest.fixture
def publish(lambda_context: Any) -> Callable[..., dict[str, Any]]:
    """`publish(state, times=None)` -> the state after `times` Publisher calls (or the whole loop)."""

    def run(state: dict[str, Any], times: int | None = None) -> dict[str, Any]:
        count = 0
        while (state.get("publish") or {}).get("continue", True) and (times is None or count < times):
            state = {**state, "publish": publisher.handler(state, lambda_context)}
            count += 1
        return state

    return run
