"""What a run creates and removes: initialize checks, publish_next, cleanup, optimize (against moto)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from powertuning import lambda_api
from powertuning.errors import (
    AliasConflictError,
    CleanupError,
    CodeMismatchError,
    FunctionNotFoundError,
    VersionNotActiveError,
)
from powertuning.models import TuningConfig, TuningRequest
from powertuning.versions import alias_names, cleanup, initialize, optimize, publish_next, restore_latest

DEFAULTS = (128, 256, 512)


def request_for(function, **extra: Any) -> TuningRequest:
    return TuningRequest.from_dict({"lambdaARN": function.arn, "num": 5, **extra})


def snapshot(client, name: str) -> dict[str, Any]:
    """Everything a run could touch on a function."""
    latest = client.get_function_configuration(FunctionName=name)
    return {
        "aliases": {
            a["Name"]: a["FunctionVersion"] for a in client.list_aliases(FunctionName=name)["Aliases"]
        },
        "versions": {
            v["Version"]: (v["MemorySize"], v["Description"])
            for v in client.list_versions_by_function(FunctionName=name)["Versions"]
            if v["Version"] != "$LATEST"
        },
        "latest": (latest["MemorySize"], latest["Description"]),
    }


def publish_all(config: TuningConfig, request: TuningRequest, client) -> TuningConfig:
    while not config.done:
        config = publish_next(config, request, client)
    return config


@pytest.fixture
def users_own(lambda_client, target_function):
    """The user's own version 1 (at 1,024 MB) and alias `prod` pointing to it, made before any run."""
    version = lambda_client.publish_version(FunctionName=target_function.name, Description="release 1")[
        "Version"
    ]
    lambda_client.create_alias(FunctionName=target_function.name, Name="prod", FunctionVersion=version)
    return version


# -- alias_names -----------------------------------------------------------------------------------


def test_alias_names_one_per_size_or_one_per_invocation_for_cold_starts(target_function):
    assert alias_names(512, request_for(target_function)) == ["RAM512"]
    cold = request_for(target_function, onlyColdStarts=True)
    assert alias_names(512, cold) == ["RAM512-0", "RAM512-1", "RAM512-2", "RAM512-3", "RAM512-4"]


# -- initialize ------------------------------------------------------------------------------------


def test_initialize_reads_the_function_and_changes_nothing(lambda_client, target_function, users_own):
    before = snapshot(lambda_client, target_function.name)
    config = initialize(request_for(target_function), lambda_client, DEFAULTS, run_id="run1")
    assert config.function_arn == target_function.unqualified
    assert config.power_values == DEFAULTS
    assert (config.original_memory, config.original_description) == (1024, "the user's own description")
    assert config.architecture == "x86_64"
    assert (config.index, config.published, config.run_id) == (0, (), "run1")
    assert snapshot(lambda_client, target_function.name) == before


def test_initialize_uses_the_input_power_values_and_a_fresh_run_id(lambda_client, target_function):
    request = request_for(target_function, powerValues=[1024, 2048])
    first = initialize(request, lambda_client, DEFAULTS)
    second = initialize(request, lambda_client, DEFAULTS)
    assert first.power_values == (1024, 2048)
    assert first.run_id != second.run_id


def test_initialize_dry_run_tests_one_size(lambda_client, target_function):
    config = initialize(request_for(target_function, dryRun=True), lambda_client, DEFAULTS)
    assert config.power_values == (128,)


def test_initialize_reads_the_architecture(lambda_client, make_function):
    function = make_function("graviton", Architectures=["arm64"])
    assert initialize(request_for(function), lambda_client, DEFAULTS).architecture == "arm64"


def test_initialize_missing_function_is_a_clear_error(lambda_client, aws):
    request = TuningRequest.from_dict({"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:nope"})
    with pytest.raises(FunctionNotFoundError, match="nope"):
        initialize(request, lambda_client, DEFAULTS)


@pytest.mark.parametrize("qualifier", ["$LATEST", "1", "prod"])
def test_initialize_accepts_a_qualified_arn_running_the_latest_code(
    lambda_client, target_function, users_own, qualifier
):
    request = TuningRequest.from_dict({"lambdaARN": target_function.qualified(qualifier)})
    config = initialize(request, lambda_client, DEFAULTS)
    # the tuner always publishes from $LATEST, so the configuration names the unqualified function
    assert config.function_arn == target_function.unqualified


@pytest.mark.parametrize("qualifier", ["1", "prod"])
def test_initialize_rejects_a_qualified_arn_whose_code_differs_from_latest(
    lambda_client, target_function, users_own, code_zip, qualifier
):
    # GIVEN version 1 (and alias prod) published, then new code deployed to $LATEST
    lambda_client.update_function_code(
        FunctionName=target_function.name, ZipFile=code_zip("def handler(e, c): 2")
    )
    old = lambda_client.get_function_configuration(FunctionName=target_function.name, Qualifier="1")[
        "CodeSha256"
    ]
    new = lambda_client.get_function_configuration(FunctionName=target_function.name)["CodeSha256"]
    assert old != new
    before = snapshot(lambda_client, target_function.name)
    # WHEN tuning the version or alias THEN it fails saying both codes and what to do, changing nothing
    request = TuningRequest.from_dict({"lambdaARN": target_function.qualified(qualifier)})
    with pytest.raises(CodeMismatchError) as caught:
        initialize(request, lambda_client, DEFAULTS)
    message = str(caught.value)
    assert old in message
    assert new in message
    assert "$LATEST" in message
    assert snapshot(lambda_client, target_function.name) == before


def test_initialize_rejects_a_missing_qualifier(lambda_client, target_function):
    request = TuningRequest.from_dict({"lambdaARN": target_function.qualified("nosuchalias")})
    with pytest.raises(FunctionNotFoundError, match="nosuchalias"):
        initialize(request, lambda_client, DEFAULTS)


def test_initialize_rejects_existing_ram_aliases(lambda_client, target_function, users_own):
    # GIVEN an alias left by an interrupted run
    lambda_client.create_alias(FunctionName=target_function.name, Name="RAM256", FunctionVersion=users_own)
    # WHEN initializing a run that would create it THEN it refuses, naming it, and touches nothing
    with pytest.raises(AliasConflictError, match=r"already has the alias\(es\) RAM256"):
        initialize(request_for(target_function), lambda_client, DEFAULTS)
    assert snapshot(lambda_client, target_function.name)["aliases"] == {"prod": "1", "RAM256": "1"}


def test_initialize_rejects_existing_cold_start_aliases(lambda_client, target_function, users_own):
    lambda_client.create_alias(FunctionName=target_function.name, Name="RAM128-3", FunctionVersion=users_own)
    with pytest.raises(AliasConflictError, match="RAM128-3"):
        initialize(request_for(target_function, onlyColdStarts=True), lambda_client, DEFAULTS)


def test_initialize_ignores_ram_aliases_of_sizes_it_does_not_test(lambda_client, target_function, users_own):
    lambda_client.create_alias(FunctionName=target_function.name, Name="RAM3008", FunctionVersion=users_own)
    assert initialize(request_for(target_function), lambda_client, DEFAULTS).power_values == DEFAULTS


# -- publish_next ----------------------------------------------------------------------------------


def test_publish_next_publishes_one_size_per_call_with_its_memory(lambda_client, target_function):
    request = request_for(target_function)
    config = initialize(request, lambda_client, DEFAULTS, run_id="run1")
    # WHEN publishing the first size
    config = publish_next(config, request, lambda_client)
    # THEN one version at 128 MB, marked with the run, behind alias RAM128
    state = snapshot(lambda_client, target_function.name)
    assert config.index == 1
    assert [p.to_dict() for p in config.published] == [{"power": 128, "alias": "RAM128", "version": "1"}]
    assert state["versions"] == {"1": (128, "powertuning run1 RAM128")}
    assert state["aliases"] == {"RAM128": "1"}
    assert config.to_dict()["iterator"]["continue"] is True


def test_publishing_every_size_restores_latest_after_the_last(lambda_client, target_function):
    request = request_for(target_function)
    config = publish_all(initialize(request, lambda_client, DEFAULTS, run_id="run1"), request, lambda_client)
    state = snapshot(lambda_client, target_function.name)
    assert state["aliases"] == {"RAM128": "1", "RAM256": "2", "RAM512": "3"}
    assert {v: m for v, (m, _) in state["versions"].items()} == {"1": 128, "2": 256, "3": 512}
    assert state["latest"] == (1024, "the user's own description")
    assert config.restored
    assert config.to_dict()["iterator"]["continue"] is False


def test_each_alias_runs_with_its_memory(lambda_client, target_function, target_runtime):
    request = request_for(target_function)
    publish_all(initialize(request, lambda_client, DEFAULTS), request, lambda_client)
    for power in DEFAULTS:
        lambda_api.invoke(lambda_client, target_function.arn, f"RAM{power}", b"{}")
    assert target_runtime.memories() == list(DEFAULTS)


def test_publish_next_when_done_changes_nothing(lambda_client, target_function):
    request = request_for(target_function)
    config = publish_all(initialize(request, lambda_client, DEFAULTS), request, lambda_client)
    before = snapshot(lambda_client, target_function.name)
    assert publish_next(config, request, lambda_client) == config
    assert snapshot(lambda_client, target_function.name) == before


def test_cold_start_mode_publishes_one_version_per_invocation(lambda_client, target_function):
    request = request_for(target_function, onlyColdStarts=True, powerValues=[256])
    config = publish_next(initialize(request, lambda_client, DEFAULTS, run_id="r"), request, lambda_client)
    state = snapshot(lambda_client, target_function.name)
    assert sorted(state["aliases"]) == [f"RAM256-{i}" for i in range(5)]
    assert len(set(state["aliases"].values())) == 5
    assert {m for m, _ in state["versions"].values()} == {256}
    assert len(config.published) == 5


def test_publish_failure_deletes_what_that_call_created(lambda_client, target_function, monkeypatch):
    # GIVEN alias creation failing on the third alias of a cold-start size
    request = request_for(target_function, onlyColdStarts=True, powerValues=[256])
    config = initialize(request, lambda_client, DEFAULTS, run_id="r")
    real = lambda_api.create_or_update_alias
    created: list[str] = []

    def flaky(client, function_name, alias, version):
        if len(created) == 2:
            raise ClientError({"Error": {"Code": "ServiceException", "Message": "boom"}}, "CreateAlias")
        created.append(alias)
        real(client, function_name, alias, version)

    monkeypatch.setattr(lambda_api, "create_or_update_alias", flaky)
    # WHEN publishing THEN the error propagates and the call's aliases and versions are gone
    with pytest.raises(ClientError, match="boom"):
        publish_next(config, request, lambda_client)
    state = snapshot(lambda_client, target_function.name)
    assert state["aliases"] == {}
    assert state["versions"] == {}
    # and cleanup of the unchanged configuration restores $LATEST, which still carries the marker
    assert cleanup(config, lambda_client).restored_latest
    assert snapshot(lambda_client, target_function.name)["latest"] == (1024, "the user's own description")


# -- cleanup ---------------------------------------------------------------------------------------


def test_cleanup_deletes_exactly_what_the_run_created(lambda_client, target_function, users_own):
    # GIVEN the user's own version 1 and alias prod, then a run that published three sizes
    request = request_for(target_function)
    config = publish_all(initialize(request, lambda_client, DEFAULTS, run_id="run1"), request, lambda_client)
    # WHEN cleaning up
    report = cleanup(config, lambda_client)
    # THEN the run's aliases and versions are gone and the user's survive untouched
    assert sorted(report.aliases) == ["RAM128", "RAM256", "RAM512"]
    assert report.versions == ("2", "3", "4")
    assert snapshot(lambda_client, target_function.name) == {
        "aliases": {"prod": "1"},
        "versions": {"1": (1024, "release 1")},
        "latest": (1024, "the user's own description"),
    }


def test_cleanup_mid_run_restores_latest_memory_and_description(lambda_client, target_function):
    # GIVEN a run interrupted after its second size ($LATEST at 256 MB with the run's marker)
    request = request_for(target_function)
    config = initialize(request, lambda_client, DEFAULTS, run_id="run1")
    config = publish_next(publish_next(config, request, lambda_client), request, lambda_client)
    assert snapshot(lambda_client, target_function.name)["latest"] == (256, "powertuning run1 RAM256")
    # WHEN cleaning up THEN everything is deleted and $LATEST is as before the run
    report = cleanup(config, lambda_client)
    assert report.restored_latest
    assert report.to_dict() == {
        "deletedAliases": ["RAM128", "RAM256"],
        "deletedVersions": ["1", "2"],
        "restoredLatest": True,
    }
    assert snapshot(lambda_client, target_function.name) == {
        "aliases": {},
        "versions": {},
        "latest": (1024, "the user's own description"),
    }


def test_cleanup_is_safe_to_run_twice(lambda_client, target_function, users_own):
    request = request_for(target_function)
    config = initialize(request, lambda_client, DEFAULTS, run_id="run1")
    config = publish_next(config, request, lambda_client)
    cleanup(config, lambda_client)
    after_first = snapshot(lambda_client, target_function.name)
    # WHEN the same cleanup runs again (a Retry, or CleanUpOnError after Cleaner)
    again = cleanup(config, lambda_client)
    # THEN it succeeds, deletes no version, restores nothing and changes nothing
    # (moto's DeleteAlias does not report a missing alias, so `aliases` is not checked here)
    assert again.versions == ()
    assert not again.restored_latest
    assert snapshot(lambda_client, target_function.name) == after_first
    assert after_first["aliases"] == {"prod": "1"}


def test_cleanup_does_not_restore_latest_someone_else_changed(lambda_client, target_function):
    # GIVEN a deploy that changed $LATEST while the run was measuring
    request = request_for(target_function)
    config = initialize(request, lambda_client, DEFAULTS, run_id="run1")
    config = publish_next(config, request, lambda_client)
    lambda_api.update_configuration(
        lambda_client, target_function.name, MemorySize=2048, Description="new deploy"
    )
    # WHEN cleaning up THEN the run's versions go but the newer $LATEST stays
    report = cleanup(config, lambda_client)
    assert not report.restored_latest
    assert snapshot(lambda_client, target_function.name)["latest"] == (2048, "new deploy")


def test_cleanup_catches_orphan_versions_carrying_the_run_marker(lambda_client, target_function, users_own):
    # GIVEN a Publisher call that published a version (and pointed an alias at it) and then crashed
    # before returning, so the configuration never recorded it
    request = request_for(target_function)
    config = initialize(request, lambda_client, DEFAULTS, run_id="run1")
    lambda_api.update_configuration(
        lambda_client, target_function.name, MemorySize=128, Description=config.marker(128)
    )
    orphan = lambda_api.publish_version(lambda_client, target_function.name, config.marker(128))
    lambda_client.create_alias(FunctionName=target_function.name, Name="RAM128", FunctionVersion=orphan)
    # WHEN cleaning up with the configuration as it was
    report = cleanup(config, lambda_client)
    # THEN the orphan and its alias are deleted, $LATEST restored, the user's own things survive
    assert report.versions == (orphan,)
    assert report.aliases == ("RAM128",)
    assert report.restored_latest
    assert snapshot(lambda_client, target_function.name) == {
        "aliases": {"prod": "1"},
        "versions": {"1": (1024, "release 1")},
        "latest": (1024, "the user's own description"),
    }


def test_cleanup_leaves_another_runs_versions_alone(lambda_client, target_function):
    # GIVEN a version marked by a different run
    request = request_for(target_function)
    other = initialize(request, lambda_client, DEFAULTS, run_id="other")
    lambda_api.update_configuration(lambda_client, target_function.name, Description=other.marker(128))
    lambda_api.publish_version(lambda_client, target_function.name, other.marker(128))
    lambda_api.update_configuration(
        lambda_client, target_function.name, Description="the user's own description"
    )
    mine = initialize(request, lambda_client, DEFAULTS, run_id="mine")
    # WHEN this run cleans up THEN the other run's version is not touched
    report = cleanup(mine, lambda_client)
    assert report.versions == ()
    assert "1" in snapshot(lambda_client, target_function.name)["versions"]


def test_cleanup_failure_is_a_cleanup_error_asking_for_a_retry(lambda_client, target_function, monkeypatch):
    request = request_for(target_function)
    config = publish_next(initialize(request, lambda_client, DEFAULTS), request, lambda_client)

    def denied(*args, **kwargs):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DeleteFunction")

    monkeypatch.setattr(lambda_api, "delete_version", denied)
    with pytest.raises(CleanupError, match="retry it"):
        cleanup(config, lambda_client)


def test_restore_latest_only_with_the_run_marker(lambda_client, target_function):
    config = initialize(request_for(target_function), lambda_client, DEFAULTS, run_id="run1")
    assert not restore_latest(config, lambda_client)
    lambda_api.update_configuration(
        lambda_client, target_function.name, MemorySize=512, Description=config.marker(512)
    )
    assert restore_latest(config, lambda_client)
    assert snapshot(lambda_client, target_function.name)["latest"] == (1024, "the user's own description")


# -- optimize --------------------------------------------------------------------------------------


def finished_run(lambda_client, function, **extra):
    request = request_for(function, **extra)
    config = publish_all(initialize(request, lambda_client, DEFAULTS, run_id="run1"), request, lambda_client)
    cleanup(config, lambda_client)
    return request, config


def test_optimize_without_auto_optimize_changes_nothing(lambda_client, target_function):
    request, config = finished_run(lambda_client, target_function)
    before = snapshot(lambda_client, target_function.name)
    assert optimize(request, config, 256, lambda_client) == {"applied": False}
    assert snapshot(lambda_client, target_function.name) == before


def test_optimize_sets_latest_memory_and_keeps_the_description(lambda_client, target_function):
    request, config = finished_run(lambda_client, target_function, autoOptimize=True)
    assert optimize(request, config, 256, lambda_client) == {"applied": True, "power": 256}
    state = snapshot(lambda_client, target_function.name)
    assert state["latest"] == (256, "the user's own description")
    assert state["versions"] == {}


def test_optimize_with_an_alias_publishes_the_size_behind_it(lambda_client, target_function, users_own):
    # GIVEN the user's alias prod at version 1 WHEN optimizing with autoOptimizeAlias prod
    request, config = finished_run(
        lambda_client, target_function, autoOptimize=True, autoOptimizeAlias="prod"
    )
    out = optimize(request, config, 512, lambda_client)
    # THEN a new version at 512 MB is published and prod points to it; it is kept on purpose
    state = snapshot(lambda_client, target_function.name)
    assert out == {"applied": True, "power": 512, "alias": "prod", "version": out["version"]}
    assert state["aliases"]["prod"] == out["version"]
    assert state["versions"][out["version"]][0] == 512
    assert state["versions"]["1"] == (1024, "release 1")
    # and it does not carry the run's marker, so no cleanup of the run would take it for an orphan
    assert not state["versions"][out["version"]][1].startswith(config.marker_prefix)


def test_optimize_creates_a_new_alias(lambda_client, target_function):
    request, config = finished_run(
        lambda_client, target_function, autoOptimize=True, autoOptimizeAlias="tuned"
    )
    out = optimize(request, config, 128, lambda_client)
    assert snapshot(lambda_client, target_function.name)["aliases"] == {"tuned": out["version"]}


def test_optimize_is_skipped_on_a_dry_run(lambda_client, target_function):
    request, config = finished_run(lambda_client, target_function, autoOptimize=True, dryRun=True)
    assert optimize(request, replace(config), 128, lambda_client) == {"applied": False}
    assert snapshot(lambda_client, target_function.name)["latest"] == (1024, "the user's own description")


# -- SnapStart: a new version is Pending until its snapshot is ready ---------------------------------


class SnapStartLambda:
    """moto's Lambda client, plus SnapStart's Pending state, which moto does not model (every version
    is Active at once there). Each new version reports State Pending for `pending_polls` reads of its
    configuration, then Active (or `final`); invoking it while Pending fails with the
    ResourceConflictException Lambda returns. boto3's real `published_version_active` waiter runs on it.
    """

    def __init__(self, client: Any, pending_polls: int = 2, final: str = "Active") -> None:
        self._client = client
        self.pending_polls = pending_polls
        self.final = final
        self.polls: dict[str, int] = {}
        self.invoked_while_pending = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def _state(self, version: str) -> str:
        if version not in self.polls:
            return "Active"
        return "Pending" if self.polls[version] <= self.pending_polls else self.final

    def publish_version(self, **kwargs: Any) -> Any:
        response = self._client.publish_version(**kwargs)
        self.polls[str(response["Version"])] = 0
        return {**response, "State": "Pending"}

    def get_function_configuration(self, **kwargs: Any) -> Any:
        response = dict(self._client.get_function_configuration(**kwargs))
        version = str(kwargs.get("Qualifier", "$LATEST"))
        if version in self.polls:
            self.polls[version] += 1
            response["State"] = self._state(version)
        return response

    def invoke(self, **kwargs: Any) -> Any:
        name, _, qualifier = str(kwargs["FunctionName"]).rpartition(":")
        alias = self._client.get_alias(FunctionName=name, Name=qualifier)
        if self._state(str(alias["FunctionVersion"])) == "Pending":
            self.invoked_while_pending += 1
            raise ClientError(
                {
                    "Error": {
                        "Code": "ResourceConflictException",
                        "Message": "The operation cannot be "
                        "performed at this time. The function is currently in the following state: Pending",
                    }
                },
                "Invoke",
            )
        return self._client.invoke(**kwargs)

    def get_waiter(self, name: str) -> Any:
        from botocore import xform_name
        from botocore.session import get_session
        from botocore.waiter import create_waiter_with_client

        model = get_session().get_waiter_model("lambda")
        camel = next(w for w in model.waiter_names if xform_name(w) == name)
        return create_waiter_with_client(camel, model, self)


@pytest.fixture
def no_version_wait(monkeypatch):
    monkeypatch.setattr(lambda_api, "VERSION_ACTIVE_DELAY_S", 0)


def test_invoking_a_pending_snapstart_version_conflicts(lambda_client, target_function, target_runtime):
    # GIVEN a version just published, still Pending, behind an alias
    client = SnapStartLambda(lambda_client)
    version = lambda_api.publish_version(client, target_function.arn, "snap")
    lambda_client.create_alias(FunctionName=target_function.name, Name="RAM1024", FunctionVersion=version)
    # WHEN invoked at once THEN Lambda answers with a conflict (retried, then raised)
    with pytest.raises(ClientError, match="ResourceConflictException"):
        client.invoke(FunctionName=f"{target_function.arn}:RAM1024", Payload=b"null")


def test_publish_next_waits_until_the_version_is_active(
    lambda_client, target_function, target_runtime, no_version_wait
):
    # GIVEN SnapStart versions Pending for two polls each
    client = SnapStartLambda(lambda_client, pending_polls=2)
    request = request_for(target_function, powerValues=[512])
    config = initialize(request, client, DEFAULTS)
    # WHEN the Publisher publishes the size
    config = publish_next(config, request, client)
    # THEN it returned only after the version reported Active (two Pending polls, one Active)
    version = config.published[0].version
    assert client.polls[version] == 3
    # and the alias can be invoked at once, with no conflict
    response = lambda_api.invoke(client, target_function.arn, "RAM512", b"null")
    assert response.function_error is None
    assert client.invoked_while_pending == 0


def test_cold_start_versions_are_all_published_before_waiting(
    lambda_client, target_function, target_runtime, no_version_wait
):
    client = SnapStartLambda(lambda_client, pending_polls=1)
    request = request_for(target_function, powerValues=[512], onlyColdStarts=True)
    config = publish_next(initialize(request, client, DEFAULTS), request, client)
    assert len(config.published) == 5
    assert all(client.polls[p.version] == 2 for p in config.published)


def test_a_version_whose_snapshot_fails_fails_the_publisher_and_leaves_nothing(
    lambda_client, target_function, no_version_wait
):
    client = SnapStartLambda(lambda_client, pending_polls=1, final="Failed")
    request = request_for(target_function, powerValues=[512])
    config = initialize(request, client, DEFAULTS)
    before = snapshot(lambda_client, target_function.name)
    with pytest.raises(VersionNotActiveError, match=r"target:\d+ did not become Active"):
        publish_next(config, request, client)
    after = snapshot(lambda_client, target_function.name)
    assert after["aliases"] == before["aliases"]
    assert after["versions"] == before["versions"]
