"""Undoing a run: delete every alias and version it created, proved by its marker, and restore
`$LATEST` (memory, description, and with `architectures` the original architecture and code).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from powertuning import architectures, lambda_api
from powertuning.errors import (
    CleanupError,
    ForeignCodeError,
    StagedCodeError,
)
from powertuning.lifecycle.registration import CLEAN_COMMAND
from powertuning.markers import RUN_ALIAS, RUN_VERSION_MARKER
from powertuning.run_state import RunState

# How many times cleanup lists and deletes before it reports what is left.
CLEANUP_PASSES: Final = 4


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


def delete_owned(
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
        aliases, versions = delete_owned(client, config, optimize_alias=optimize_alias)
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
