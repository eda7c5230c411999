"""The deployed workflow tuner's two steps around the model: `prepare` (after the reader: refuse what
cannot be tuned, write the plan and the large payloads to S3, the fleet run that measures) and
`solve` (read the plan and every child tuning back, recommend, write the result, the apply run).

Every AWS call goes through lambda_api and powertuning.aws with a client the handler passes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from powertuning import lambda_api
from powertuning.aws import call
from powertuning.errors import WorkflowTuningError
from powertuning.workflow import fleet_runs
from powertuning.workflow.plan import WorkflowPlan
from powertuning.workflow.recommend import recommend

# Every object the workflow tuner writes is under this prefix of the results bucket.
PREFIX: Final = "workflow"
# The execution's output is a state too (256 KiB at most): beyond this, the drawing's steps stay in
# the result in S3 only.
OUTPUT_BUDGET_BYTES: Final = 200_000


def prefix_of(workflow_execution: str) -> str:
    """`workflow/<execution id>`: where one workflow tuning keeps its objects."""
    return f"{PREFIX}/{workflow_execution.rsplit(':', 1)[-1]}"


def _payload_key(workflow_execution: str, function_arn: str) -> str:
    digest = hashlib.sha256(function_arn.encode()).hexdigest()[:16]
    return f"{prefix_of(workflow_execution)}/payloads/{digest}.json"


def prepare(
    plan: WorkflowPlan, *, s3: Any, bucket: str, workflow_execution: str, own_functions: Sequence[str]
) -> dict[str, Any]:
    """Refuse what cannot be tuned; then the plan (and payloads too large for the fleet's input) in
    S3, and the fleet run that tunes each function once. Nothing is written before every check."""
    fleet_runs.refuse_own_and_repeated(plan, own_functions)
    measure = fleet_runs.measure_run(plan, workflow_execution)
    fleet_runs.validate(measure)
    if plan.request.auto_optimize:
        # Whatever sizes are picked, the apply run's input is refused now, not after the tuning.
        sizes = {p.arn: p.memory_mb for p in plan.functions}
        template = fleet_runs.apply_run(measure, sizes, workflow_execution)
        if template is not None:
            fleet_runs.validate(template)
    pending: dict[str, str] = {}

    def store(function_arn: str, payload: str) -> str:
        key = _payload_key(workflow_execution, function_arn)
        pending[key] = payload
        return f"s3://{bucket}/{key}"

    measure = fleet_runs.with_payloads_in_s3(measure, store)
    for key, payload in pending.items():
        lambda_api.put_object(s3, bucket, key, payload.encode())
    plan_key = f"{prefix_of(workflow_execution)}/plan.json"
    lambda_api.put_s3_json(s3, bucket, plan_key, plan.to_dict())
    return {
        "execution": workflow_execution,
        "plan": {"bucket": bucket, "key": plan_key},
        "fleet": measure.to_dict(),
    }


def fleet_failure(error: Mapping[str, Any]) -> str:
    """The cause of a fleet execution that failed as a whole (startExecution.sync:2 reports the
    child's DescribeExecution as Cause: its own Error and Cause are inside)."""
    name, cause = str(error.get("Error", "States.TaskFailed")), error.get("Cause", "")
    if isinstance(cause, str) and cause.startswith("{"):
        try:
            described = json.loads(cause)
        except json.JSONDecodeError:
            described = None
        if isinstance(described, Mapping) and (described.get("Error") or described.get("Cause")):
            name, cause = str(described.get("Error", name)), described.get("Cause", "")
    return f"the fleet execution that tunes the workflow's functions failed: {name}: {cause}"


def _fleet_output(fleet: Mapping[str, Any]) -> Mapping[str, Any]:
    output = fleet.get("output")
    return json.loads(output) if isinstance(output, str) else dict(output or {})


def read_tunings(summary: Mapping[str, Any], sfn: Any) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Each tuned function's child output (by the ARN the fleet listed), and each failure's cause."""
    tunings: dict[str, dict[str, Any]] = {}
    for entry in summary.get("functions", []):
        described = call(sfn, "describe_execution", executionArn=str(entry["executionArn"]))
        tunings[str(entry["functionArn"])] = dict(json.loads(described.get("output") or "{}"))
    failures = {
        str(entry["functionArn"]): f"{entry.get('error')}: {entry.get('cause')}"
        for entry in (*summary.get("failed", []), *summary.get("skipped", []))
    }
    return tunings, failures


def solve(state: Mapping[str, Any], *, s3: Any, sfn: Any, bucket: str) -> dict[str, Any]:
    """The workflow state after the fleet ran -> the WorkflowResult (the execution's output), its
    copy in S3, and the apply run when autoOptimize has sizes to change."""
    where = state["plan"]
    plan = WorkflowPlan.from_dict(lambda_api.read_s3_json(s3, where["bucket"], where["key"]))
    if "fleetError" in state:
        raise WorkflowTuningError(fleet_failure(state["fleetError"]))
    location = _fleet_output(state["fleet"])["summary"]
    summary = lambda_api.read_s3_json(s3, location["bucket"], location["key"])
    tunings, failures = read_tunings(summary, sfn)
    output = recommend(plan, tunings, failures).to_dict()
    execution = str(state["execution"])
    result_key = f"{prefix_of(execution)}/result.json"
    lambda_api.put_s3_json(s3, bucket, result_key, output)
    solved: dict[str, Any] = {
        "output": _within_budget(output, f"s3://{bucket}/{result_key}"),
        "result": {"bucket": bucket, "key": result_key},
        "applyNeeded": False,
    }
    if plan.request.auto_optimize:
        measure = fleet_runs.with_payloads_in_s3(
            fleet_runs.measure_run(plan, execution),
            lambda arn, _payload: f"s3://{bucket}/{_payload_key(execution, arn)}",
        )
        apply = fleet_runs.apply_run(measure, fleet_runs.picks_to_apply(output), execution)
        if apply is not None:
            solved["apply"] = apply.to_dict()
            solved["applyNeeded"] = True
    return solved


def _within_budget(output: dict[str, Any], uri: str) -> dict[str, Any]:
    if len(json.dumps(output, separators=(",", ":")).encode()) <= OUTPUT_BUDGET_BYTES:
        return output
    # The drawing's steps are the part that grows with the workflow; the full result stays in S3.
    return {**{k: v for k, v in output.items() if k != "steps"}, "resultS3": uri}
