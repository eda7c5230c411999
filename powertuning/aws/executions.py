"""Step Functions executions and CloudFormation outputs: starting one, following it to its end.

`follow` is the one loop that watches an execution, for `powertune run` (on AWS) and the local
engine (on moto) alike.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from powertuning.aws import call, pages
from powertuning.errors import StateMachineNotFoundError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_stepfunctions import SFNClient

TERMINAL: Final = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
History = Callable[["SFNClient", str], list[dict[str, Any]]]


def start_execution(
    sfn: SFNClient, state_machine_arn: str, name: str, execution_input: dict[str, Any]
) -> str:
    """Start an execution, always named (moto collides on unnamed ones); returns its ARN."""
    response = call(
        sfn,
        "start_execution",
        stateMachineArn=state_machine_arn,
        name=name,
        input=json.dumps(execution_input),
    )
    return str(response["executionArn"])


def execution_name(prefix: str) -> str:
    """`<prefix>-<local time>-<6 hex>`: sortable by start, and unique when two start in one second."""
    return f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def start_named(sfn: SFNClient, state_machine_arn: str, prefix: str, execution_input: dict[str, Any]) -> str:
    """Start an execution named by `execution_name(prefix)`; returns its ARN."""
    return start_execution(sfn, state_machine_arn, execution_name(prefix), execution_input)


def state_machine_tags(sfn: SFNClient, state_machine_arn: str) -> dict[str, str]:
    """A state machine's tags (the tuner's say how it was deployed: deployment.ARCHITECTURES_TAG)."""
    response = call(sfn, "list_tags_for_resource", resourceArn=state_machine_arn)
    return {str(tag["key"]): str(tag["value"]) for tag in response.get("tags", [])}


def describe_execution(sfn: SFNClient, execution_arn: str) -> dict[str, Any]:
    """DescribeExecution without the response metadata."""
    description = call(sfn, "describe_execution", executionArn=execution_arn)
    return {k: v for k, v in description.items() if k != "ResponseMetadata"}


def history(sfn: SFNClient, execution_arn: str) -> list[dict[str, Any]]:
    """Every history event of an execution, oldest first."""
    listing = pages(
        sfn,
        "get_execution_history",
        token=("nextToken", "nextToken"),
        executionArn=execution_arn,
        maxResults=1000,
    )
    return [event for page in listing for event in page["events"]]


@dataclass(frozen=True)
class Followed:
    """How an execution ended: its last description and the history events seen."""

    description: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        """SUCCEEDED, FAILED, TIMED_OUT or ABORTED."""
        return str(self.description["status"])


def follow(
    sfn: SFNClient,
    execution_arn: str,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    *,
    poll_s: float = 2.0,
    timeout_s: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    read_history: History = history,
) -> Followed:
    """Poll until the execution ends, passing each new history event to `on_event`."""
    started = time.monotonic()
    last_id = 0
    events: list[dict[str, Any]] = []
    while True:
        description = describe_execution(sfn, execution_arn)
        terminal = description["status"] in TERMINAL
        # The history is read on every poll only for a listener: each read serializes every event
        # (each state's input and output). It is read after the status, so a terminal status comes
        # with every event before it.
        if on_event or terminal:
            for event in read_history(sfn, execution_arn):
                if int(event["id"]) > last_id:
                    events.append(event)
                    last_id = int(event["id"])
                    if on_event:
                        on_event(event)
        if terminal:
            return Followed(description, events)
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            raise TimeoutError(f"{execution_arn} still running after {timeout_s} s")
        sleep(poll_s)


def _outputs(cloudformation: CloudFormationClient, stack_name: str) -> dict[str, str]:
    stacks = call(cloudformation, "describe_stacks", StackName=stack_name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])} if stacks else {}


def state_machine_from_stack(cloudformation: CloudFormationClient, stack_name: str) -> str:
    """The ARN in the stack output whose key contains "StateMachineArn"."""
    outputs = _outputs(cloudformation, stack_name)
    found = {k: v for k, v in outputs.items() if "StateMachineArn" in k}
    if "StateMachineArn" in found:
        return str(found["StateMachineArn"])
    if len(found) == 1:
        return str(next(iter(found.values())))
    if not found:
        raise StateMachineNotFoundError(
            f"stack {stack_name} has no output named like StateMachineArn "
            f"(outputs: {', '.join(sorted(outputs)) or 'none'}); give --state-machine-arn"
        )
    raise StateMachineNotFoundError(
        f"stack {stack_name} has several state machine outputs ({', '.join(sorted(found))}); "
        "give --state-machine-arn"
    )


def stack_output(cloudformation: CloudFormationClient, stack_name: str, key: str) -> str:
    """One output of a deployed stack, by its exact key."""
    outputs = _outputs(cloudformation, stack_name)
    if key not in outputs:
        raise StateMachineNotFoundError(
            f"stack {stack_name} has no output {key} (outputs: {', '.join(sorted(outputs)) or 'none'}); "
            "deploy the current version of the stack"
        )
    return str(outputs[key])
