"""The Initializer's phase: check the function and the input against it, then register the run.

Every check runs before the registration, the last step: a refused run leaves nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from powertuning import architectures, code_ownership, cold_rate, lambda_api, limits
from powertuning.arns import FunctionRef
from powertuning.aws import run_table
from powertuning.errors import (
    AliasConflictError,
    CodeMismatchError,
    LeftoversError,
    RunInProgressError,
)
from powertuning.guards import check_not_tuner
from powertuning.input_kinds import auto_grid, auto_initial_sizes
from powertuning.inputs import TuningRequest
from powertuning.lifecycle.publish import alias_names
from powertuning.lifecycle.recovery import CleanPlan, plan_clean
from powertuning.lifecycle.registration import CLEAN_COMMAND
from powertuning.pricing import FREE_EPHEMERAL_STORAGE_MB
from powertuning.run_state import RunState


def _leftovers(plan: CleanPlan) -> list[str]:
    """What earlier runs left on the function (as `powertune clean` finds it), in words."""
    found = []
    if plan.latest_run:
        found.append(f"$LATEST is described {plan.latest.get('Description', '')!r}")
    versions = sorted((v for listed in plan.versions.values() for v in listed), key=int)
    if versions:
        found.append(f"version(s) {', '.join(versions[:5])} published by a tuning run")
    aliases = sorted(a for listed in plan.aliases.values() for a in listed)
    if aliases:
        found.append(f"alias(es) {', '.join(aliases[:5])}")
    return found


def initialize(
    request: TuningRequest,
    client: Any,
    default_power_values: Sequence[int],
    *,
    runs_client: Any,
    runs_table: str,
    tuner_functions: Sequence[str] = (),
    execution_arn: str = "",
    run_id: str | None = None,
    storage: Any = None,
    staging_bucket: str | None = None,
    stack_region: str | None = None,
    logs_client: Any = None,
) -> RunState:
    """Check the function and the input against it, then register the run; change nothing else.

    Every check runs before the registration, which is the last step: a refused run leaves nothing.
    """
    check_not_tuner(request, tuner_functions)
    ref = request.function
    latest = lambda_api.get_configuration(client, ref.unqualified)
    if ref.qualifier and ref.qualifier != "$LATEST":
        target = lambda_api.get_configuration(client, ref.unqualified, ref.qualifier)
        if target["CodeSha256"] != latest["CodeSha256"]:
            raise CodeMismatchError(
                f"{ref.arn} runs code {target['CodeSha256']} but $LATEST runs {latest['CodeSha256']}; "
                "the tuner publishes versions from $LATEST, so deploy that code to $LATEST first "
                "or tune the unqualified ARN"
            )
    holder = run_table.get_run(runs_client, runs_table, ref.unqualified)
    if holder is not None and not _own_earlier_attempt(holder, execution_arn):
        raise _busy(ref.unqualified, holder)
    leftovers = _leftovers(plan_clean(client, ref.unqualified, None, latest=latest))
    if leftovers:
        raise LeftoversError(
            f"{ref.unqualified} carries what an earlier tuning run left: {'; '.join(leftovers)}. "
            f"Nothing was changed. Remove it with: {CLEAN_COMMAND.format(arn=ref.unqualified)}"
        )
    measured = architectures.check(
        request, latest, client, staging_bucket=staging_bucket, stack_region=stack_region
    )
    own = str((latest.get("Architectures") or ["x86_64"])[0])
    if request.auto_power_values:
        default = auto_initial_sizes(strategy=request.strategy)
    else:
        default = tuple(default_power_values)
    power_values = request.resolved_power_values(default)
    reserved = auto_grid() if request.auto_power_values else power_values
    suffixes = {"" if a == own else f"-{a}" for a in measured or (own,)}
    clash = sorted(
        {name for power in reserved for s in suffixes for name in alias_names(power, request, s)}
        & _alias_set(client, ref)
    )
    if clash:
        raise AliasConflictError(
            f"{ref.name} already has the alias(es) {', '.join(clash[:5])}, which this run would create; "
            "rename or delete them before tuning (a run never changes aliases it did not create)"
        )
    # Input `coldStartRate`: read now ("production": from the function's log group).
    cold_start, unavailable = cold_rate.resolve_run(request, latest, logs_client, lambda_client=client)
    config = RunState(
        function_arn=ref.unqualified,
        power_values=tuple(power_values),
        # A retried Initializer (the state machine retries Lambda errors that may follow a
        # successful call) keeps the run its earlier attempt registered.
        run_id=run_id or (holder or {}).get("runId") or uuid.uuid4().hex[:12],
        original_memory=int(latest["MemorySize"]),
        original_description=str(latest.get("Description", "")),
        architecture=own,
        sampling=request.sampling,
        execution_arn=execution_arn,
        timeout_s=int(latest.get("Timeout", 3)),
        ephemeral_storage_mb=ephemeral_storage_mb(latest),
        architectures=measured,
        cold_start=cold_start,
        cold_start_unavailable=unavailable,
    )
    limits.check_state_budget(request, config)
    if any(a != own for a in measured):
        # The original code is copied (and recorded below) before the first change to the function.
        original = architectures.stage(config, client, storage, staging_bucket)
        config = replace(config, original_code=code_ownership.with_switched(original, request.image_uris))
    record = {**config.to_dict(), "startedAt": int(time.time())}
    holder = run_table.acquire_run(runs_client, runs_table, ref.unqualified, record)
    if holder is not None and not (
        _own_earlier_attempt(holder, execution_arn) and holder.get("runId") == config.run_id
    ):
        architectures.discard(config, storage)
        raise _busy(ref.unqualified, holder)
    return config


def measured_request(request: TuningRequest, config: RunState) -> TuningRequest:
    """The request the run measures: without a rate (nor coldStartsPerSize) when "production-if-available"
    found none, so the run is what it would be without coldStartRate; else the request as it was."""
    if config.cold_start_unavailable is None:
        return request
    return replace(request, cold_start_rate=None, cold_starts_per_size=None)


def ephemeral_storage_mb(configuration: dict[str, Any]) -> int:
    """The function's ephemeral storage (/tmp) in MB from GetFunctionConfiguration; 512 if absent."""
    return int((configuration.get("EphemeralStorage") or {}).get("Size", FREE_EPHEMERAL_STORAGE_MB))


def _own_earlier_attempt(holder: dict[str, Any], execution_arn: str) -> bool:
    """True when the registration is this execution's own, made by an earlier attempt of its Initializer."""
    same = bool(execution_arn) and holder.get("executionArn") == execution_arn
    return same and not holder.get("recovering")


def _alias_set(client: Any, ref: FunctionRef) -> set[str]:
    return {a["Name"] for a in lambda_api.list_aliases(client, ref.unqualified)}


def _busy(function_arn: str, holder: dict[str, Any]) -> RunInProgressError:
    return RunInProgressError(
        f"{function_arn} is being tuned by execution {holder.get('executionArn') or '?'} "
        f"(run {holder.get('runId', '?')}); one run per function at a time. Nothing was changed. "
        f"If that execution has ended, restore the function with: {CLEAN_COMMAND.format(arn=function_arn)}"
    )
