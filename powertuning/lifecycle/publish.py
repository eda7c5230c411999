"""The Publisher's phase: under the run's marker, one version and `RAM<size>` alias per size and
architecture, the code switched for another architecture; `$LATEST` restored after the last size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from powertuning import architectures, lambda_api
from powertuning.errors import (
    AliasConflictError,
    FunctionNotFoundError,
    RunEndedError,
)
from powertuning.inputs import TuningRequest
from powertuning.lifecycle.cleanup import cleanup, delete_owned, restore_latest
from powertuning.lifecycle.registration import still_owned
from powertuning.run_state import PublishState, RunState


def alias_names(power: int, request: TuningRequest, suffix: str = "") -> list[str]:
    """Aliases a size needs: `RAM<size>`, or one `RAM<size>-<i>` per invocation for cold starts, or
    per cold start asked for (`coldStartsPerSize` above 1; the invocations go round them, so each
    alias's first one is a cold start).

    `suffix` (RunState.arch_suffix) names another architecture's: `RAM<size>-arm64[-<i>]`.
    """
    if request.only_cold_starts:
        return [f"RAM{power}{suffix}-{i}" for i in range(request.invocations_per_size)]
    if request.cold_versions > 1:
        return [f"RAM{power}{suffix}-{i}" for i in range(request.cold_versions)]
    return [f"RAM{power}{suffix}"]


def numbered_aliases(request: TuningRequest) -> bool:
    """Whether a size's aliases (and version markers) are numbered `-<i>`."""
    return request.only_cold_starts or request.cold_versions > 1


def next_publish_state(
    config: RunState, current: PublishState | None, pending: Sequence[int]
) -> PublishState:
    """The Publisher's progress with the sizes the adaptive race asks for (powerValues "auto") added."""
    state = current or PublishState(power_values=config.power_values, architectures=config.architectures)
    new = tuple(p for p in dict.fromkeys(pending) if p not in state.power_values and p not in state.refused)
    return replace(state, power_values=state.power_values + new) if new else state


def publish_next(
    config: RunState,
    state: PublishState,
    request: TuningRequest,
    client: Any,
    *,
    runs_client: Any,
    runs_table: str,
    storage: Any = None,
) -> PublishState:
    """Publish the versions and aliases of the next size; restore $LATEST after the last one.

    `storage` (an S3 client) reads the staged copy of the code to verify it before deploying it.

    If anything fails half-way, what this run created is deleted (by its marker) before the error
    propagates; and if the run ended meanwhile, the whole run's work is undone.
    """
    if state.done:
        return state
    if not still_owned(config, runs_client, runs_table):
        raise RunEndedError(
            f"run {config.run_id} on {config.function_arn} has ended; nothing was published (its "
            "registration is gone or being recovered: the recovery rule, or powertune clean --force)"
        )
    slot, power = state.slots[state.index]
    architecture = slot or config.architecture
    created: list[str] = []
    try:
        for i, alias in enumerate(alias_names(power, request, config.arch_suffix(architecture))):
            suffix = f"-{i}" if numbered_aliases(request) else ""
            marker = config.marker(power, architecture) + suffix
            lambda_api.update_configuration(client, config.function_arn, MemorySize=power, Description=marker)
            if config.original_code is not None:
                # Under the run's marker, so every cleanup path knows the code is the run's to restore.
                architectures.switch(config, client, architecture, request.image_uris, storage)
            version = lambda_api.publish_version(client, config.function_arn, marker)
            created.append(version)
            point_run_alias(client, config, alias, version)
        wait_until_active(client, config.function_arn, created)
    except Exception as exc:
        if not still_owned(config, runs_client, runs_table):
            # The run ended meanwhile, and its recovery may be removing what this call creates.
            cleanup(config, client, storage=storage)
            raise RunEndedError(
                f"run {config.run_id} on {config.function_arn} ended while publishing; undone"
            ) from exc
        delete_owned(client, config, slots={(architecture, power)})
        if not (request.auto_power_values and lambda_api.is_memory_limit_error(exc)):
            raise
        # "auto" may ask for more memory than the account allows (new accounts: 3,008 MB): leave
        # the size out; the decision step sees it refused and never asks for it again.
        sizes = state.power_values[: state.index] + state.power_values[state.index + 1 :]
        advanced = replace(state, power_values=sizes, refused=(*state.refused, power))
    else:
        advanced = replace(state, index=state.index + 1)
    if not still_owned(config, runs_client, runs_table):
        # The execution ended while this call ran (its recovery may have cleaned up already).
        cleanup(config, client, storage=storage)
        raise RunEndedError(f"run {config.run_id} on {config.function_arn} ended while publishing; undone")
    if advanced.done:
        restore_latest(config, client, storage)
    return advanced


def point_run_alias(client: Any, config: RunState, alias: str, version: str) -> None:
    """Point a RAM alias at a version this run published, if the alias is free or already the run's.

    Ownership is checked before anything is created or moved: an alias pointing to a version without
    this run's marker is another run's (a late step of a stopped run meeting the next run) or the
    user's, and is never touched. The update names the revision the check read, so an alias moved
    in between is refused by Lambda too.
    """
    if lambda_api.create_alias(client, config.function_arn, alias, version):
        return
    existing = lambda_api.get_alias(client, config.function_arn, alias)
    target = str((existing or {}).get("FunctionVersion", ""))
    if existing is not None and target == version:
        return  # a retried call: the first attempt created it
    owner = ""
    if existing is not None and target.isdigit():
        try:
            found = lambda_api.get_configuration(client, config.function_arn, target)
            owner = str(found.get("Description", ""))
        except FunctionNotFoundError:
            owner = ""
    if existing is None or not owner.startswith(config.marker_prefix):
        raise AliasConflictError(
            f"alias {alias} of {config.function_arn} points to version {target or '?'} "
            f"({owner!r}), which run {config.run_id} did not publish: it was left alone (a run never "
            "creates over or moves an alias it does not own)"
        )
    lambda_api.update_alias(client, config.function_arn, alias, version, existing.get("RevisionId"))


def wait_until_active(client: Any, function_arn: str, versions: Sequence[str]) -> None:
    """Wait until every version just published is Active, as the reference tool does before invoking.

    SnapStart versions are Pending while Lambda snapshots them; they are all published first, so
    the snapshots are taken side by side rather than one after the other.
    """
    for version in versions:
        lambda_api.wait_until_version_active(client, function_arn, version)
