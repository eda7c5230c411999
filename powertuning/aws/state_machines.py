"""The Step Functions reads of the workflow tuner: a user's state machine, its executions, their
histories and Distributed Map runs. Each takes a client; a refusal is a WorkflowInputError naming
what could not be read, raised before anything changes (nothing here changes anything).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from powertuning.aws import call, error_code, pages
from powertuning.errors import WorkflowInputError, WorkflowModelError

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

# Step Functions fails a Standard execution whose history would pass this many events.
MAX_HISTORY_EVENTS: Final = 25_000
_MISSING: Final = ("StateMachineDoesNotExist", "ExecutionDoesNotExist", "ResourceNotFound", "InvalidArn")


def _refused(exc: ClientError, what: str) -> WorkflowInputError:
    return WorkflowInputError(
        f"cannot read {what}: {error_code(exc)}: {exc.response.get('Error', {}).get('Message', '')}"
    )


def describe_state_machine(sfn: SFNClient, arn: str) -> dict[str, Any]:
    """DescribeStateMachine (definition, type, ...); a missing or unreadable one is refused."""
    try:
        described: dict[str, Any] = call(sfn, "describe_state_machine", stateMachineArn=arn)
    except ClientError as exc:
        if error_code(exc) in (*_MISSING, "AccessDeniedException"):
            raise _refused(exc, f"state machine {arn}") from exc
        raise
    return described


def describe_execution(sfn: SFNClient, arn: str) -> dict[str, Any]:
    """DescribeExecution; a missing or unreadable one is refused."""
    try:
        described: dict[str, Any] = call(sfn, "describe_execution", executionArn=arn)
    except ClientError as exc:
        if error_code(exc) in (*_MISSING, "AccessDeniedException"):
            raise _refused(exc, f"execution {arn}") from exc
        raise
    return described


def succeeded_executions(sfn: SFNClient, state_machine_arn: str, count: int) -> list[str]:
    """The `count` most recent SUCCEEDED executions' ARNs (ListExecutions lists newest first)."""
    found: list[str] = []
    listing = pages(
        sfn,
        "list_executions",
        token=("nextToken", "nextToken"),
        stateMachineArn=state_machine_arn,
        statusFilter="SUCCEEDED",
        maxResults=min(100, max(count, 1)),
    )
    for page in listing:
        found += [str(e["executionArn"]) for e in page.get("executions", [])]
        if len(found) >= count:
            break
    return found[:count]


def map_run_executions(sfn: SFNClient, map_run_arn: str, count: int) -> list[str]:
    """Up to `count` SUCCEEDED child executions of a Distributed Map run."""
    found: list[str] = []
    for page in pages(
        sfn,
        "list_executions",
        token=("nextToken", "nextToken"),
        mapRunArn=map_run_arn,
        statusFilter="SUCCEEDED",
        maxResults=min(100, max(count, 1)),
    ):
        found += [str(e["executionArn"]) for e in page.get("executions", [])]
        if len(found) >= count:
            break
    return found[:count]


def describe_map_run(sfn: SFNClient, map_run_arn: str) -> dict[str, Any]:
    """DescribeMapRun (itemCounts, maxConcurrency, ...)."""
    described: dict[str, Any] = call(sfn, "describe_map_run", mapRunArn=map_run_arn)
    return described


def execution_events(sfn: SFNClient, execution_arn: str) -> list[dict[str, Any]]:
    """Every history event of an execution with its data, every page (1,000 events a page)."""
    events: list[dict[str, Any]] = []
    listing = pages(
        sfn,
        "get_execution_history",
        token=("nextToken", "nextToken"),
        executionArn=execution_arn,
        maxResults=1000,
        includeExecutionData=True,
    )
    try:
        for page in listing:
            events += page["events"]
            if len(events) > MAX_HISTORY_EVENTS:
                raise WorkflowModelError(
                    f"{execution_arn} has more than {MAX_HISTORY_EVENTS} history events, "
                    "which Step Functions never records for one execution"
                )
    except ClientError as exc:
        if error_code(exc) in (*_MISSING, "AccessDeniedException", "KmsAccessDeniedException"):
            raise _refused(exc, f"the history of {execution_arn}") from exc
        raise
    return events
