"""The lifecycle of what a run creates: check the function, publish one alias per size, clean up.

Every version this run publishes is marked with the description `powertuning <runId> RAM<size>`
(set on $LATEST before publishing, which also guarantees Lambda publishes a new version rather than
returning an existing one with the same configuration). Cleanup deletes exactly the aliases and
versions it recorded or that carry this run's marker, and restores $LATEST's memory and description
when this run's marker is still on it; nothing else of the user's is touched.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from powertuning import adaptive, lambda_api
from powertuning.errors import AliasConflictError, CleanupError, CodeMismatchError
from powertuning.models import Published, TuningConfig, TuningRequest
from powertuning.pricing import FREE_EPHEMERAL_STORAGE_MB


def alias_names(power: int, request: TuningRequest) -> list[str]:
    """Aliases a size needs: `RAM<size>`, or one `RAM<size>-<i>` per invocation for cold starts."""
    if request.only_cold_starts:
        return [f"RAM{power}-{i}" for i in range(request.invocations_per_size)]
    return [f"RAM{power}"]


def initialize(
    request: TuningRequest, client: Any, default_power_values: Sequence[int], run_id: str | None = None
) -> TuningConfig:
    """Check the function and the input against it; change nothing."""
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
    default = adaptive.auto_initial_sizes() if request.auto_power_values else tuple(default_power_values)
    power_values = request.resolved_power_values(default)
    # powerValues "auto" may publish any size of its grid later on: none of those aliases may exist.
    reserved = adaptive.auto_grid() if request.auto_power_values else power_values
    wanted = {name for power in reserved for name in alias_names(power, request)}
    existing = {a["Name"] for a in lambda_api.list_aliases(client, ref.unqualified)}
    clash = sorted(wanted & existing)
    if clash:
        raise AliasConflictError(
            f"{ref.name} already has the alias(es) {', '.join(clash[:5])}: another tuning is running or "
            "one was interrupted; delete them before tuning "
            "(this run never changes aliases it did not create)"
        )
    return TuningConfig(
        function_arn=ref.unqualified,
        power_values=tuple(power_values),
        run_id=run_id or uuid.uuid4().hex[:12],
        original_memory=int(latest["MemorySize"]),
        original_description=str(latest.get("Description", "")),
        architecture=str((latest.get("Architectures") or ["x86_64"])[0]),
        sampling=request.sampling,
        ephemeral_storage_mb=ephemeral_storage_mb(latest),
    )


def ephemeral_storage_mb(configuration: dict[str, Any]) -> int:
    """The function's ephemeral storage (/tmp) in MB from GetFunctionConfiguration; 512 if absent."""
    return int((configuration.get("EphemeralStorage") or {}).get("Size", FREE_EPHEMERAL_STORAGE_MB))


def publish_next(config: TuningConfig, request: TuningRequest, client: Any) -> TuningConfig:
    """Publish the versions and aliases of the next size; restore $LATEST after the last one.

    If anything fails half-way, what this call created is deleted before the error propagates,
    so the state the Catch sees lists everything there is to clean.
    """
    if config.done:
        return config
    power = config.power_values[config.index]
    created: list[Published] = []
    try:
        for i, alias in enumerate(alias_names(power, request)):
            suffix = f"-{i}" if request.only_cold_starts else ""
            marker = config.marker(power) + suffix
            lambda_api.update_configuration(client, config.function_arn, MemorySize=power, Description=marker)
            version = lambda_api.publish_version(client, config.function_arn, marker)
            created.append(Published(power=power, alias=alias, version=version))
            lambda_api.create_or_update_alias(client, config.function_arn, alias, version)
        wait_until_active(client, config.function_arn, created)
    except Exception as exc:
        _delete(client, config.function_arn, created)
        if not (request.auto_power_values and lambda_api.is_memory_limit_error(exc)):
            raise
        # "auto" may ask for more memory than the account allows (new accounts: 3,008 MB): leave
        # the size out; the decision step sees it missing and never asks for it again.
        sizes = config.power_values[: config.index] + config.power_values[config.index + 1 :]
        advanced = replace(config, power_values=sizes)
    else:
        advanced = replace(config, index=config.index + 1, published=config.published + tuple(created))
    if advanced.done:
        restore_latest(advanced, client)
        advanced = replace(advanced, restored=True)
    return advanced


def wait_until_active(client: Any, function_arn: str, published: Sequence[Published]) -> None:
    """Wait until every version just published is Active, as the reference tool does before invoking.

    SnapStart versions are Pending while Lambda snapshots them; they are all published first, so
    the snapshots are taken side by side rather than one after the other.
    """
    for item in published:
        lambda_api.wait_until_version_active(client, function_arn, item.version)


def restore_latest(config: TuningConfig, client: Any) -> bool:
    """Put back $LATEST's memory and description if this run's marker is still on it."""
    latest = lambda_api.get_configuration(client, config.function_arn)
    if not str(latest.get("Description", "")).startswith(config.marker_prefix):
        return False
    lambda_api.update_configuration(
        client,
        config.function_arn,
        MemorySize=config.original_memory,
        Description=config.original_description,
    )
    return True


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


def cleanup(config: TuningConfig, client: Any) -> CleanupReport:
    """Delete every alias and version this run created and restore $LATEST; safe to run twice."""
    recorded = list(config.published)
    known = {p.version for p in recorded}
    # Versions a crashed Publisher call published but never recorded still carry the run's marker.
    # $LATEST carries it too while a run is publishing; it is restored below, never deleted.
    for version in lambda_api.list_versions(client, config.function_arn):
        if (
            str(version.get("Description", "")).startswith(config.marker_prefix)
            and version["Version"] != "$LATEST"
            and version["Version"] not in known
        ):
            recorded.append(
                Published(power=int(version.get("MemorySize", 0)), alias="", version=version["Version"])
            )
    for alias in lambda_api.list_aliases(client, config.function_arn):
        if alias["FunctionVersion"] in {p.version for p in recorded} and alias["Name"] not in {
            p.alias for p in recorded
        }:
            recorded.append(Published(power=0, alias=alias["Name"], version=alias["FunctionVersion"]))
    try:
        aliases, versions = _delete(client, config.function_arn, recorded)
        restored = restore_latest(config, client)
    except Exception as exc:
        raise CleanupError(f"cleanup of {config.function_arn} failed, retry it: {exc}") from exc
    return CleanupReport(tuple(aliases), tuple(versions), restored)


def _delete(client: Any, function_arn: str, published: Sequence[Published]) -> tuple[list[str], list[str]]:
    # Aliases first: Lambda refuses to delete a version an alias points to.
    aliases = [
        p.alias for p in published if p.alias and lambda_api.delete_alias(client, function_arn, p.alias)
    ]
    versions = sorted(
        {p.version for p in published if lambda_api.delete_version(client, function_arn, p.version)}, key=int
    )
    return aliases, versions


def optimize(request: TuningRequest, config: TuningConfig, power: int, client: Any) -> dict[str, Any]:
    """Apply the recommended size when autoOptimize is set: to $LATEST, and to an alias if named.

    The version published for `autoOptimizeAlias` is the one thing a run keeps on purpose.
    """
    if not request.auto_optimize or request.dry_run:
        return {"applied": False}
    lambda_api.update_configuration(
        client, config.function_arn, MemorySize=power, Description=config.original_description
    )
    out: dict[str, Any] = {"applied": True, "power": power}
    if request.auto_optimize_alias:
        version = lambda_api.publish_version(client, config.function_arn, f"powertuning optimized RAM{power}")
        lambda_api.create_or_update_alias(client, config.function_arn, request.auto_optimize_alias, version)
        out.update(alias=request.auto_optimize_alias, version=version)
    return out
