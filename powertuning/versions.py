"""The lifecycle of what a run creates: check and register, publish one alias per size, clean up.

Ownership is proved, never assumed from the state: every version a run publishes is described
`powertuning <runId> RAM<size>` (set on $LATEST before publishing, which also guarantees Lambda
publishes a new version rather than returning an existing one). Cleanup deletes only versions that
carry the run's marker and only aliases named like the run's (`RAM<size>[-<i>]`) that point to such
a version; it restores $LATEST only while the run's marker is on it. A forged, stale or foreign list
can therefore never remove anything the run did not create.

Each run is registered in the run table (one item per function) before it changes anything, with
the function's original configuration: a second run on the function is refused, and the recovery
rule and `powertune clean` read the original from there, never from a marked $LATEST.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from powertuning import architectures, code_ownership, lambda_api, limits
from powertuning.errors import (
    AliasConflictError,
    CleanupError,
    CodeMismatchError,
    ForeignCodeError,
    FunctionNotFoundError,
    LeftoversError,
    RunEndedError,
    RunInProgressError,
    SelfTargetError,
    StagedCodeError,
)
from powertuning.models import (
    MARKER_PREFIX,
    RUN_ALIAS,
    RUN_MARKER,
    RUN_VERSION_MARKER,
    FunctionRef,
    PublishState,
    RunState,
    TuningRequest,
    auto_grid,
    auto_initial_sizes,
)
from powertuning.pricing import FREE_EPHEMERAL_STORAGE_MB

# How many times cleanup lists and deletes before it reports what is left.
CLEANUP_PASSES: Final = 4
CLEAN_COMMAND: Final = "powertune clean --stack-name <stack> --function {arn}"


def alias_names(power: int, request: TuningRequest, suffix: str = "") -> list[str]:
    """Aliases a size needs: `RAM<size>`, or one `RAM<size>-<i>` per invocation for cold starts.

    `suffix` (RunState.arch_suffix) names another architecture's: `RAM<size>-arm64[-<i>]`.
    """
    if request.only_cold_starts:
        return [f"RAM{power}{suffix}-{i}" for i in range(request.invocations_per_size)]
    return [f"RAM{power}{suffix}"]


def _same_function(a: FunctionRef, b: FunctionRef) -> bool:
    return (a.partition, a.region, a.account, a.name) == (b.partition, b.region, b.account, b.name)


def check_not_tuner(request: TuningRequest, tuner_functions: Sequence[str]) -> None:
    """Refuse every input ARN that names one of the tuner's own functions."""
    own = [FunctionRef.parse(arn) for arn in tuner_functions]
    for key, arn in (
        ("lambdaARN", request.lambda_arn),
        ("preProcessorARN", request.pre_processor_arn),
        ("postProcessorARN", request.post_processor_arn),
    ):
        if arn and any(_same_function(FunctionRef.parse(arn), mine) for mine in own):
            raise SelfTargetError(
                f"{key} names {arn}, one of this tuner's own functions, which it never acts on"
            )


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
    holder = lambda_api.get_run(runs_client, runs_table, ref.unqualified)
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
    )
    limits.check_state_budget(request, config)
    if any(a != own for a in measured):
        # The original code is copied (and recorded below) before the first change to the function.
        original = architectures.stage(config, client, storage, staging_bucket)
        config = replace(config, original_code=code_ownership.with_switched(original, request.image_uris))
    record = {**config.to_dict(), "startedAt": int(time.time())}
    holder = lambda_api.acquire_run(runs_client, runs_table, ref.unqualified, record)
    if holder is not None and not (
        _own_earlier_attempt(holder, execution_arn) and holder.get("runId") == config.run_id
    ):
        architectures.discard(config, storage)
        raise _busy(ref.unqualified, holder)
    return config


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


def next_publish_state(
    config: RunState, current: PublishState | None, pending: Sequence[int]
) -> PublishState:
    """The Publisher's progress with the sizes the adaptive race asks for (powerValues "auto") added."""
    state = current or PublishState(power_values=config.power_values, architectures=config.architectures)
    new = tuple(p for p in dict.fromkeys(pending) if p not in state.power_values and p not in state.refused)
    return replace(state, power_values=state.power_values + new) if new else state


def still_owned(config: RunState, runs_client: Any, runs_table: str) -> bool:
    """True while this run is registered on its function and no recovery has begun.

    A step that outlives its state (an aborted execution, a state timeout) finds out here and undoes
    its own work, since the recovery may already have cleaned up.
    """
    record = lambda_api.get_run(runs_client, runs_table, config.function_arn)
    return bool(record and record.get("runId") == config.run_id and not record.get("recovering"))


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
            suffix = f"-{i}" if request.only_cold_starts else ""
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
        _delete_owned(client, config, slots={(architecture, power)})
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


def restore_latest(config: RunState, client: Any, storage: Any = None, *, registered: bool = False) -> bool:
    """Put back $LATEST's memory and description if this run's marker is still on it; and, first,
    its original architecture and code (input `architectures`), verified.

    The code is put back while the run owns $LATEST: its marker is on it, or (`registered`) the run
    still holds its registration, so a cleanup after a failed restore tries again. Memory is restored
    whatever becomes of the code, and the code's error raised after it; so is the description when
    the tuner will never put the code back (somebody's deploy kept, a replaced staged copy), while a
    restore that may still work (UpdateFunctionCode failed, or deployed other code) keeps the run's
    marker for the next cleanup.
    """
    latest = lambda_api.get_configuration(client, config.function_arn)
    marked = str(latest.get("Description", "")).startswith(config.marker_prefix)
    failed: Exception | None = None
    if config.original_code is not None and (marked or registered):
        try:
            architectures.restore(config, client, storage)
        except Exception as exc:  # raised below, once memory (and description) are back
            failed = exc
    if marked:
        settings: dict[str, Any] = {"MemorySize": config.original_memory}
        if failed is None or isinstance(failed, ForeignCodeError | StagedCodeError):
            settings["Description"] = config.original_description
        lambda_api.update_configuration(client, config.function_arn, **settings)
    if failed is not None:
        raise failed
    return marked


@dataclass(frozen=True)
class CleanupReport:
    """What cleanup deleted and whether it restored $LATEST."""

    aliases: tuple[str, ...]
    versions: tuple[str, ...]
    restored_latest: bool

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form."""
        return {
            "deletedAliases": list(self.aliases),
            "deletedVersions": list(self.versions),
            "restoredLatest": self.restored_latest,
        }


def _slot(config: RunState, description: str) -> tuple[str, int] | None:
    """(architecture, size) a version's marker names, None if it names no size."""
    match = RUN_VERSION_MARKER.match(description)
    return (match["arch"] or config.architecture, int(match["power"])) if match else None


def _owned(
    client: Any, config: RunState, slots: set[tuple[str, int]] | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """This run's aliases (with where they point) and versions, proved by the marker on each version."""
    versions = [
        str(v["Version"])
        for v in lambda_api.list_versions(client, config.function_arn)
        if v["Version"] != "$LATEST"
        and str(v.get("Description", "")).startswith(config.marker_prefix)
        and (slots is None or _slot(config, str(v.get("Description", ""))) in slots)
    ]
    aliases = [
        a
        for a in lambda_api.list_aliases(client, config.function_arn)
        if a["FunctionVersion"] in set(versions)
    ]
    return aliases, versions


def _delete_owned(
    client: Any,
    config: RunState,
    *,
    slots: set[tuple[str, int]] | None = None,
    optimize_alias: dict[str, Any] | None = None,
) -> tuple[list[str], list[str]]:
    deleted_aliases: list[str] = []
    deleted_versions: set[str] = set()
    # Passes until nothing of the run is left: a step of the run still running (see still_owned)
    # may publish a version or an alias between this cleanup's listing and its deletions.
    for _ in range(CLEANUP_PASSES):
        aliases, versions = _owned(client, config, slots)
        kept = set()
        # Aliases first: Lambda refuses to delete a version an alias points to.
        for alias in aliases:
            name = alias["Name"]
            if optimize_alias and name == optimize_alias.get("name"):
                # The user's autoOptimizeAlias, moved by a failed Optimizer: point it back (or
                # remove it if this run created it).
                previous = optimize_alias.get("previousVersion")
                if previous:
                    lambda_api.create_or_update_alias(client, config.function_arn, name, str(previous))
                    continue
            elif not RUN_ALIAS.match(name):
                # Someone else's alias on this run's version: leave both alone.
                kept.add(alias["FunctionVersion"])
                continue
            if lambda_api.delete_alias(client, config.function_arn, name):
                deleted_aliases.append(name)
        versions = [v for v in versions if v not in kept]
        if not versions and not any(a["FunctionVersion"] not in kept for a in aliases):
            break
        for version in versions:
            try:
                if lambda_api.delete_version(client, config.function_arn, version):
                    deleted_versions.add(version)
            except Exception as exc:
                # An alias created since the listing points to it: the next pass takes both.
                if not lambda_api.is_conflict(exc):
                    raise
    return deleted_aliases, sorted(deleted_versions, key=int)


def cleanup(
    config: RunState, client: Any, record: dict[str, Any] | None = None, *, storage: Any = None
) -> CleanupReport:
    """Delete every alias and version this run created and restore $LATEST; safe to run twice.

    With another architecture measured, the original architecture and code are restored too, and the
    staged copy (`storage`: an S3 client) is deleted once the function is verified to run it again.
    On failure, the CleanupError lists what is left and the command that removes it. If $LATEST runs
    somebody's deploy made during the run, it is kept: everything else is done (the staged copy
    deleted too), then ForeignCodeError says so.
    """
    optimize_alias = (record or {}).get("optimizeAlias")
    registered = bool(record) and (record or {}).get("runId") == config.run_id
    kept: ForeignCodeError | None = None
    try:
        aliases, versions = _delete_owned(client, config, optimize_alias=optimize_alias)
        try:
            restored = restore_latest(config, client, storage, registered=registered)
        except ForeignCodeError as exc:
            # Somebody's deploy: kept; memory and description are back, nothing else is left to do.
            kept, restored = exc, True
        if config.original_code is not None and (kept or _runs_original_code(config, client)):
            architectures.discard(config, storage)
    except Exception as exc:
        raise CleanupError(
            f"cleanup of {config.function_arn} failed ({exc}); {_what_is_left(client, config)}"
        ) from exc
    if kept is not None:
        raise kept
    return CleanupReport(tuple(aliases), tuple(versions), restored)


def _runs_original_code(config: RunState, client: Any) -> bool:
    latest = lambda_api.get_configuration(client, config.function_arn)
    assert config.original_code is not None
    return list(latest.get("Architectures") or ["x86_64"]) == [config.architecture] and (
        latest.get("CodeSha256") == config.original_code.code_sha256
    )


def _what_is_left(client: Any, config: RunState) -> str:
    command = CLEAN_COMMAND.format(arn=config.function_arn)
    try:
        aliases, versions = _owned(client, config)
        latest = lambda_api.get_configuration(client, config.function_arn)
    except Exception as exc:
        return f"what is left could not be listed ({exc}); remove it with: {command}"
    marked = str(latest.get("Description", "")).startswith(config.marker_prefix)
    memory = (
        f"$LATEST at {latest.get('MemorySize')} MB (originally {config.original_memory} MB) "
        "with the run's marker"
        if marked
        else "$LATEST restored"
    )
    if config.original_code is not None and latest.get("Architectures") != [config.architecture]:
        memory += (
            f", on {latest.get('Architectures')} (originally {config.architecture}, code "
            f"{config.original_code.code_sha256} kept at {config.original_code.location})"
        )
    return (
        f"left: aliases [{', '.join(a['Name'] for a in aliases)}], versions [{', '.join(versions)}], "
        f"{memory}. Remove it with: {command}"
    )


def finish(config: RunState, runs_client: Any, runs_table: str) -> bool:
    """End the run: remove its registration, so the function may be tuned again."""
    return lambda_api.release_run(runs_client, runs_table, config.function_arn, config.run_id)


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
        record = lambda_api.get_run(runs_client, runs_table, config.function_arn) or config.to_dict()
        if request.auto_optimize_alias:
            existing = lambda_api.get_alias(client, config.function_arn, request.auto_optimize_alias)
            record["optimizeAlias"] = {
                "name": request.auto_optimize_alias,
                "previousVersion": existing["FunctionVersion"] if existing else None,
            }
            lambda_api.update_run(runs_client, runs_table, config.function_arn, record)
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


def recover(
    record: dict[str, Any], client: Any, runs_client: Any, runs_table: str, *, storage: Any = None
) -> dict[str, Any]:
    """Clean up after a run that ended without its own cleanup, from its registration; then release it.

    The registration is marked first, so that a step of the run still running (Lambda keeps a
    function running after its state timed out or its execution stopped) undoes its own work.
    """
    config = RunState.from_dict(record)
    lambda_api.update_run(runs_client, runs_table, config.function_arn, {**record, "recovering": True})
    try:
        report = cleanup(config, client, record, storage=storage).to_dict()
    except ForeignCodeError as exc:
        # Somebody's deploy is kept and the rest is done: the run is over.
        report = {"restoredLatest": True, "keptForeignCode": str(exc)}
    finish(config, runs_client, runs_table)
    return {"runId": config.run_id, "functionArn": config.function_arn, **report}


@dataclass(frozen=True)
class CleanPlan:
    """What `powertune clean` finds on a function and would do about it."""

    function_arn: str
    record: dict[str, Any] | None
    # Run id -> the versions carrying its marker, and the RAM aliases pointing to them.
    versions: dict[str, tuple[str, ...]]
    aliases: dict[str, tuple[str, ...]]
    latest_run: str | None
    latest: dict[str, Any]

    @property
    def empty(self) -> bool:
        """True when there is nothing to remove, restore or release."""
        return not (self.record or self.versions or self.aliases or self.latest_run)

    def lines(self) -> list[str]:
        """What the plan does, one action a line."""
        out = []
        if self.record:
            out.append(
                f"run {self.record.get('runId')} of execution {self.record.get('executionArn') or '?'} is "
                "registered on the function: its registration is removed at the end"
            )
        for run, aliases in sorted(self.aliases.items()):
            out.append(f"delete alias(es) {', '.join(aliases)} (run {run})")
        for run, versions in sorted(self.versions.items()):
            out.append(f"delete version(s) {', '.join(versions)} (run {run})")
        if self.latest_run:
            original = self._original()
            if original:
                out.append(
                    f"restore $LATEST to {original[0]} MB and its description {original[1]!r} "
                    f"(now {self.latest.get('MemorySize')} MB, marked by run {self.latest_run})"
                )
            else:
                out.append(
                    f"$LATEST carries the marker of run {self.latest_run}, whose original configuration is "
                    "not recorded: set its memory and description yourself (nothing is guessed)"
                )
        code = (self.record or {}).get("original", {}).get("code")
        architecture = (self.record or {}).get("architecture")
        if code and (
            self.latest.get("Architectures") != [architecture]
            or self.latest.get("CodeSha256") != code["codeSha256"]
        ):
            out.append(
                f"restore $LATEST to {architecture} with its original code {code['codeSha256']} "
                f"from {code.get('staged') or code.get('imageUri')} "
                f"(now {self.latest.get('Architectures')}, code {self.latest.get('CodeSha256')}), "
                "verified by CodeSha256 before and after; code deployed by anyone else is kept"
            )
        return out or ["nothing to clean: no alias, version, marker or registration of a tuning run"]

    def _original(self) -> tuple[int, str] | None:
        if self.record and self.record.get("runId") == self.latest_run:
            original = self.record["original"]
            return int(original["memorySize"]), str(original.get("description", ""))
        return None


def plan_clean(
    client: Any, function_arn: str, record: dict[str, Any] | None, *, latest: dict[str, Any] | None = None
) -> CleanPlan:
    """Find every run's leftovers on a function: marked versions, their RAM aliases, a marked $LATEST."""
    versions: dict[str, list[str]] = {}
    for version in lambda_api.list_versions(client, function_arn):
        description = str(version.get("Description", ""))
        match = RUN_VERSION_MARKER.match(description)
        owner = match["run"] if match else None
        # A run still registered also owns what it marked in other ways (an Optimizer's version).
        if record and description.startswith(f"{MARKER_PREFIX}{record['runId']} "):
            owner = str(record["runId"])
        if owner and version["Version"] != "$LATEST":
            versions.setdefault(owner, []).append(str(version["Version"]))
    owner_of = {v: run for run, listed in versions.items() for v in listed}
    aliases: dict[str, list[str]] = {}
    for alias in lambda_api.list_aliases(client, function_arn):
        run = owner_of.get(alias["FunctionVersion"])
        if run and RUN_ALIAS.match(alias["Name"]):
            aliases.setdefault(run, []).append(alias["Name"])
    latest = latest or lambda_api.get_configuration(client, function_arn)
    marked = RUN_MARKER.match(str(latest.get("Description", "")))
    latest_run = marked["run"] if marked else None
    return CleanPlan(
        function_arn=function_arn,
        record=record,
        versions={run: tuple(sorted(v, key=int)) for run, v in versions.items()},
        aliases={run: tuple(sorted(a)) for run, a in aliases.items()},
        latest_run=latest_run,
        latest=latest,
    )


def apply_clean(
    plan: CleanPlan, client: Any, runs_client: Any | None, runs_table: str | None, *, storage: Any = None
) -> list[str]:
    """Carry out a plan; returns what was done, a line each."""
    done = []
    runs = set(plan.versions) | set(plan.aliases) | ({plan.latest_run} if plan.latest_run else set())
    if plan.record and plan.record.get("original", {}).get("code"):
        # Its code may need restoring even with no marker left (a restore that failed after memory
        # and description were put back).
        runs.add(str(plan.record["runId"]))
    if plan.record and runs_client is not None and runs_table:
        # As a recovery does: a step of the run still running (--force) finds it ended and undoes
        # its own work rather than publishing past this cleanup.
        lambda_api.update_run(runs_client, runs_table, plan.function_arn, {**plan.record, "recovering": True})
    for run in sorted(runs):
        registered = plan.record if plan.record and plan.record.get("runId") == run else None
        if registered:
            try:
                report = cleanup(RunState.from_dict(registered), client, registered, storage=storage)
            except ForeignCodeError as exc:
                done.append(f"run {run}: kept the code deployed during the run: {exc}")
            else:
                done.append(f"run {run}: {json.dumps(report.to_dict())}")
        else:
            # Unregistered: delete what carries the marker, never guess an original configuration.
            config = RunState(
                function_arn=plan.function_arn,
                power_values=(),
                run_id=run,
                original_memory=0,
                original_description="",
                architecture="x86_64",
            )
            aliases, versions = _delete_owned(client, config)
            done.append(f"run {run}: deleted aliases {aliases} and versions {versions}")
    if plan.record and runs_client is not None and runs_table:
        lambda_api.release_run(runs_client, runs_table, plan.function_arn, str(plan.record["runId"]))
        done.append(f"released the registration of run {plan.record['runId']}")
    return done
