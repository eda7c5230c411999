"""Every AWS call the CLI makes, and the one place its boto3 clients are built.

The clients honour --region, --profile and --endpoint-url (moto server, LocalStack); in tests the
in-process moto mock answers them like any other boto3 client.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import boto3
from botocore.config import Config

from powertuning.errors import PowerTuningError

# The stack `cdk deploy` creates (app.py); used when neither --state-machine-arn nor --stack-name is given.
DEFAULT_STACK_NAME: Final = "PowerTuning"
TERMINAL: Final = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


class StateMachineNotFoundError(PowerTuningError):
    """No state machine ARN could be found from the stack given."""


def add_aws_options(parser: argparse.ArgumentParser) -> None:
    """Add --region, --profile and --endpoint-url."""
    group = parser.add_argument_group("AWS connection")
    group.add_argument("--region", help="AWS region (default: from the ARN, else the profile's)")
    group.add_argument(
        "--profile",
        help="named profile from your AWS config (default: AWS_PROFILE, else the default profile)",
    )
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="send every AWS call here, e.g. moto server or LocalStack (default: AWS itself)",
    )


@dataclass
class ClientFactory:
    """Builds boto3 clients from one session, with the CLI's region, profile and endpoint."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    _session: Any = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ClientFactory:
        """A factory for --region, --profile and --endpoint-url."""
        return cls(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url)

    def client(self, service: str, region: str | None = None) -> Any:
        """A client of `service` in `region` (else --region, else the profile's region)."""
        if self._session is None:
            # Raises ProfileNotFound for an unknown --profile: the caller reports it as bad usage.
            self._session = boto3.Session(profile_name=self.profile)
        config = Config(retries={"max_attempts": 8, "mode": "standard"})
        return self._session.client(
            service, region_name=self.region or region, endpoint_url=self.endpoint_url, config=config
        )


def region_of(arn: str | None) -> str | None:
    """The region field of an ARN, or None."""
    parts = (arn or "").split(":")
    if len(parts) > 4 and parts[0] == "arn" and parts[3]:
        return parts[3]
    return None


def state_machine_from_stack(cloudformation: Any, stack_name: str) -> str:
    """The ARN in the stack output whose key contains "StateMachineArn"."""
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])} if stacks else {}
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


def stack_output(cloudformation: Any, stack_name: str, key: str) -> str:
    """One output of a deployed stack, by its exact key."""
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])} if stacks else {}
    if key not in outputs:
        raise StateMachineNotFoundError(
            f"stack {stack_name} has no output {key} (outputs: {', '.join(sorted(outputs)) or 'none'}); "
            "deploy the current version of the stack"
        )
    return str(outputs[key])


def function_memory(lambda_client: Any, function_arn: str) -> int:
    """The memory size the function (or the alias or version in its ARN) has now."""
    return int(lambda_client.get_function_configuration(FunctionName=function_arn)["MemorySize"])


def start_execution(sfn: Any, state_machine_arn: str, name: str, execution_input: dict[str, Any]) -> str:
    """Start a tuning execution; returns its ARN."""
    response = sfn.start_execution(
        stateMachineArn=state_machine_arn, name=name, input=json.dumps(execution_input)
    )
    return str(response["executionArn"])


def describe_execution(sfn: Any, execution_arn: str) -> dict[str, Any]:
    """DescribeExecution without the response metadata."""
    description = sfn.describe_execution(executionArn=execution_arn)
    return {k: v for k, v in description.items() if k != "ResponseMetadata"}


def history_after(sfn: Any, execution_arn: str, last_id: int) -> list[dict[str, Any]]:
    """History events with an id greater than `last_id`, oldest first."""
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(
        executionArn=execution_arn, PaginationConfig={"PageSize": 1000}
    ):
        events.extend(e for e in page["events"] if int(e["id"]) > last_id)
    return events


def follow(
    sfn: Any,
    execution_arn: str,
    on_event: Callable[[dict[str, Any]], None],
    *,
    poll_s: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll until the execution ends, passing each new history event on; returns the last description."""
    last_id = 0
    while True:
        description = describe_execution(sfn, execution_arn)
        # History is read after the status, so a terminal status comes with every event before it.
        for event in history_after(sfn, execution_arn, last_id):
            on_event(event)
            last_id = max(last_id, int(event["id"]))
        if description["status"] in TERMINAL:
            return description
        sleep(poll_s)
