"""Runs that ended without their own cleanup: the recovery rule's Cleaner (`ensure_ended`, then
`recover` from the registration), and `powertune clean` by hand (`plan_clean`, then `apply_clean`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from powertuning import lambda_api
from powertuning.aws import run_table
from powertuning.errors import (
    ExecutionRunningError,
    ForeignCodeError,
)
from powertuning.lifecycle.cleanup import cleanup, delete_owned
from powertuning.lifecycle.registration import finish
from powertuning.markers import MARKER_PREFIX, RUN_ALIAS, RUN_MARKER, RUN_VERSION_MARKER
from powertuning.run_state import RunState


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


def recover(
    record: dict[str, Any], client: Any, runs_client: Any, runs_table: str, *, storage: Any = None
) -> dict[str, Any]:
    """Clean up after a run that ended without its own cleanup, from its registration; then release it.

    The registration is marked first, so that a step of the run still running (Lambda keeps a
    function running after its state timed out or its execution stopped) undoes its own work.
    """
    config = RunState.from_dict(record)
    run_table.update_run(runs_client, runs_table, config.function_arn, {**record, "recovering": True})
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
        run_table.update_run(runs_client, runs_table, plan.function_arn, {**plan.record, "recovering": True})
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
            aliases, versions = delete_owned(client, config)
            done.append(f"run {run}: deleted aliases {aliases} and versions {versions}")
    if plan.record and runs_client is not None and runs_table:
        run_table.release_run(runs_client, runs_table, plan.function_arn, str(plan.record["runId"]))
        done.append(f"released the registration of run {plan.record['runId']}")
    return done
