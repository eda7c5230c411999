"""Cleaner: delete what the run created and restore $LATEST; on a failure, end the run and say why.

Also the target of the stack's recovery rule: for an execution that ended ABORTED, TIMED_OUT or
FAILED, it cleans up whatever run that execution still has registered.
"""

from __future__ import annotations

from typing import Any

from powertuning import deployment, lambda_api
from powertuning.arns import FunctionRef
from powertuning.aws import region_of, run_table
from powertuning.errors import CleanupError, ForeignCodeError
from powertuning.failures import describe_failure
from powertuning.lifecycle.cleanup import cleanup
from powertuning.lifecycle.recovery import ensure_ended, recover
from powertuning.lifecycle.registration import finish
from powertuning.run_state import RunState


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Clean up (safe to run twice); after a Catch, end the run and return `{error, cause}`."""
    runs = lambda_api.client("dynamodb")
    table = deployment.runs_table()
    if event.get("source") == "aws.states":
        # An EventBridge "Step Functions Execution Status Change" event: only the execution ARN is
        # used, to find the runs the tuner itself registered for it, and its real status is read.
        execution = str(event["detail"]["executionArn"])
        records = run_table.runs_of_execution(runs, table, execution)
        if records:
            ensure_ended(lambda_api.client("stepfunctions", region_of(execution)), execution)
        return {
            "recovered": [
                recover(
                    r,
                    lambda_api.client("lambda", FunctionRef.parse(r["functionArn"]).region),
                    runs,
                    table,
                    storage=lambda_api.client("s3", FunctionRef.parse(r["functionArn"]).region),
                )
                for r in records
            ]
        }
    report: dict[str, Any] = {}
    if "run" in event:
        config = RunState.from_dict(event["run"])
        client = lambda_api.client("lambda", FunctionRef.parse(config.function_arn).region)
        record = run_table.get_run(runs, table, config.function_arn)
        try:
            storage = lambda_api.client("s3", FunctionRef.parse(config.function_arn).region)
            report = cleanup(config, client, record, storage=storage).to_dict()
        except ForeignCodeError as exc:
            if "error" not in event:
                raise
            # Somebody's deploy was kept and everything else is done: the run is over, and says why.
            finish(config, runs, table)
            failed = describe_failure(event["error"])
            if failed["error"] == ForeignCodeError.__name__:
                return failed
            return describe_failure(
                {
                    "Error": ForeignCodeError.__name__,
                    "Cause": f"{exc} (the run had failed with {failed['error']})",
                }
            )
        except CleanupError as exc:
            if "error" not in event:
                raise
            # The run stays registered, so the recovery rule and `powertune clean` find it.
            failed = describe_failure(event["error"])
            return {
                "error": "CleanupError",
                "cause": f"{exc} (the run had failed with {failed['error']}: {failed['cause']})",
            }
        if "error" in event:
            finish(config, runs, table)
    if "error" in event:
        return describe_failure(event["error"], report)
    return report
