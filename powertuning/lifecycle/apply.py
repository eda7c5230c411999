"""The Optimizer's phase: apply the recommended memory when autoOptimize is set, then end the run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from powertuning import lambda_api
from powertuning.aws import run_table
from powertuning.errors import (
    RunEndedError,
)
from powertuning.inputs import TuningRequest
from powertuning.lifecycle.cleanup import cleanup
from powertuning.lifecycle.registration import finish, still_owned
from powertuning.run_state import RunState


def optimize(
    request: TuningRequest,
    config: RunState,
    power: int | None,
    client: Any,
    *,
    runs_client: Any,
    runs_table: str,
    is_running: Callable[[], bool] = lambda: True,
) -> dict[str, Any]:
    """Apply the recommended size when autoOptimize is set (to $LATEST, and to an alias if named),
    then end the run.

    `is_running` says whether the execution still runs: a stopped execution applies nothing, even
    if its Optimizer was already under way (Lambda finishes a call its stopped state made).

    Every change is made the way cleanup can undo it: $LATEST carries the run's marker until the
    last step, the version carries it for good (`... optimized RAM<size>`, which `powertune clean`
    never takes for a leftover), and the alias's previous version is registered before it moves.
    """
    out: dict[str, Any] = {"applied": False}
    if request.auto_optimize and not request.dry_run and power is not None:
        if not (still_owned(config, runs_client, runs_table) and is_running()):
            raise RunEndedError(
                f"run {config.run_id} on {config.function_arn} has ended; nothing was applied"
            )
        record = run_table.get_run(runs_client, runs_table, config.function_arn) or config.to_dict()
        if request.auto_optimize_alias:
            existing = lambda_api.get_alias(client, config.function_arn, request.auto_optimize_alias)
            record["optimizeAlias"] = {
                "name": request.auto_optimize_alias,
                "previousVersion": existing["FunctionVersion"] if existing else None,
            }
            run_table.update_run(runs_client, runs_table, config.function_arn, record)
        try:
            out = _apply(request, config, power, client)
            if not (still_owned(config, runs_client, runs_table) and is_running()):
                raise RunEndedError(f"run {config.run_id} on {config.function_arn} ended while optimizing")
        except Exception:
            if not (still_owned(config, runs_client, runs_table) and is_running()):
                # Ended meanwhile (its recovery may have run already): $LATEST still carries the
                # marker, so this cleanup puts memory, description and the alias back.
                cleanup(config, client, record)
            raise
        # The last change: the marker goes, the applied memory stays.
        lambda_api.update_configuration(client, config.function_arn, Description=config.original_description)
    finish(config, runs_client, runs_table)
    return out


def _apply(request: TuningRequest, config: RunState, power: int, client: Any) -> dict[str, Any]:
    """Set $LATEST's memory under the run's marker, and point `autoOptimizeAlias` at a version of it."""
    lambda_api.update_configuration(
        client, config.function_arn, MemorySize=power, Description=f"{config.marker_prefix}optimizing"
    )
    out: dict[str, Any] = {"applied": True, "power": power}
    if request.auto_optimize_alias:
        version = lambda_api.publish_version(
            client, config.function_arn, f"{config.marker_prefix}optimized RAM{power}"
        )
        lambda_api.create_or_update_alias(client, config.function_arn, request.auto_optimize_alias, version)
        out.update(alias=request.auto_optimize_alias, version=version)
    return out
