"""What the recovery rule's Cleaner checks before it recovers an execution's runs."""

from __future__ import annotations

from typing import Any

from powertuning import lambda_api
from powertuning.errors import ExecutionRunningError


def ensure_ended(states: Any, execution_arn: str) -> str:
    """The execution's real status (DescribeExecution), refusing one that is still running.

    The rule's event is only a claim: an event for a running execution (forged, or sent by hand)
    would otherwise clean up a live run under it. Returns the status.
    """
    status = lambda_api.execution_status(states, execution_arn)
    if status == "RUNNING":
        raise ExecutionRunningError(
            f"execution {execution_arn} is still running: its runs are not recovered (nothing was changed); "
            "recovery happens when it ends, or stop it to end it now"
        )
    return status
