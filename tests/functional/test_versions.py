"""What a run creates and removes: initialize checks and registration, publish_next, cleanup,
optimize, recover (against moto, with real Lambda's rules and the run table)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from powertuning import lambda_api
from powertuning.aws import run_table
from powertuning.errors import (
    AliasConflictError,
    CleanupError,
    CodeMismatchError,
    FunctionNotFoundError,
    LeftoversError,
    RunEndedError,
    RunInProgressError,
    SelfTargetError,
    VersionNotActiveError,
)
from powertuning.inputs import TuningRequest
from powertuning.lifecycle.apply import optimize
from powertuning.lifecycle.cleanup import cleanup, restore_latest
from powertuning.lifecycle.publish import alias_names, next_publish_state, point_run_alias, publish_next
from powertuning.lifecycle.recovery import recover
from powertuning.lifecycle.registration import finish
from powertuning.lifecycle.start import initialize
from powertuning.local.tuner_stack import RUNS_TABLE
from powertuning.run_state import PublishState, RunState

DEFAULTS = (128, 256, 512)
RUN = "0123456789ab"
OTHER_RUN = "ba9876543210"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:powertuning:first"


def request_for(function, **extra: Any) -> TuningRequest:
    return TuningRequest.from_dict({"lambdaARN": function.arn, "num": 5, **extra})


@pytest.fixture
def runs(aws):
    """A DynamoDB client of the mock, for the run table RUNS_TABLE."""
    return aws.client("dynamodb")


def start(request: TuningRequest, client, runs, **kwargs: Any) -> RunState:
    """`initialize` as the Initializer calls it: the run table, this execution, the defaults."""
    kwargs.setdefault("execution_arn", EXECUTION)
    return initialize(request, client, DEFAULTS, runs_client=runs, runs_table=RUNS_TABLE, **kwargs)


def registered(runs, function) -> dict[str, Any] | None:
    return run_table.get_run(runs, RUNS_TABLE, function.unqualified)


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


def publish_one(config: RunState, state: PublishState, request: TuningRequest, client) -> PublishState:
    """One Publisher call, the run table as the stack names it (the mock's own region)."""
    runs = lambda_api.client("dynamodb", "us-east-1")
    return publish_next(config, state, request, client, runs_client=runs, runs_table=RUNS_TABLE)


def publish(config: RunState, request: TuningRequest, client, times: int | None = None) -> PublishState:
    """The Publisher loop: `times` calls, or until every size is published."""
    state = next_publish_state(config, None, [])
    count = 0
    while not state.done and (times is None or count < times):
        state = publish_one(config, state, request, client)
        count += 1
    return state


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


def test_initialize_reads_the_function_registers_the_run_and_changes_nothing(
    lambda_client, runs, target_function, users_own
):
    before = snapshot(lambda_client, target_function.name)
    config = start(request_for(target_function), lambda_client, runs, run_id=RUN)
    assert config.function_arn == target_function.unqualified
    assert config.power_values == DEFAULTS
    assert (config.original_memory, config.original_description) == (1024, "the user's own description")
    assert config.architecture == "x86_64"
    assert (config.run_id, config.execution_arn, config.timeout_s) == (RUN, EXECUTION, 30)
    assert snapshot(lambda_client, target_function.name) == before
    # the registration holds what recovery needs: the run and the function's original settings
    record = registered(runs, target_function)
    assert record is not None
    assert RunState.from_dict(record) == config
    assert isinstance(record["startedAt"], int)


def test_initialize_uses_the_input_power_values_and_a_fresh_run_id(lambda_client, runs, target_function):
    request = request_for(target_function, powerValues=[1024, 2048])
    first = start(request, lambda_client, runs)
    assert finish(first, runs, RUNS_TABLE)
    second = start(request, lambda_client, runs)
    assert first.power_values == (1024, 2048)
    assert first.run_id != second.run_id
    assert all(len(c.run_id) == 12 and int(c.run_id, 16) >= 0 for c in (first, second))


def test_initialize_dry_run_tests_one_size(lambda_client, runs, target_function):
    config = start(request_for(target_function, dryRun=True), lambda_client, runs)
    assert config.power_values == (128,)


def test_initialize_reads_the_architecture(lambda_client, runs, make_function):
    function = make_function("graviton", Architectures=["arm64"])
    assert start(request_for(function), lambda_client, runs).architecture == "arm64"


def test_initialize_missing_function_is_a_clear_error(lambda_client, runs):
    request = TuningRequest.from_dict({"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:nope"})
    with pytest.raises(FunctionNotFoundError, match="nope"):
        start(request, lambda_client, runs)
    assert run_table.get_run(runs, RUNS_TABLE, request.lambda_arn) is None


@pytest.mark.parametrize("qualifier", ["$LATEST", "1", "prod"])
def test_initialize_accepts_a_qualified_arn_running_the_latest_code(
    lambda_client, runs, target_function, users_own, qualifier
):
    request = TuningRequest.from_dict({"lambdaARN": target_function.qualified(qualifier)})
    config = start(request, lambda_client, runs)
    # the tuner always publishes from $LATEST, so the configuration names the unqualified function
    assert config.function_arn == target_function.unqualified
    # and the run is registered on the function, whatever qualifier named it
    assert registered(runs, target_function)["runId"] == config.run_id


@pytest.mark.parametrize("qualifier", ["1", "prod"])
def test_initialize_rejects_a_qualified_arn_whose_code_differs_from_latest(
    lambda_client, runs, target_function, users_own, qualifier
):
    # GIVEN version 1 (and alias prod) published, then new code deployed to $LATEST
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(e, c): 2\n")
    lambda_client.update_function_code(FunctionName=target_function.name, ZipFile=code.getvalue())
    old = lambda_client.get_function_configuration(FunctionName=target_function.name, Qualifier="1")[
        "CodeSha256"
    ]
    new = lambda_client.get_function_configuration(FunctionName=target_function.name)["CodeSha256"]
    assert old != new
    before = snapshot(lambda_client, target_function.name)
    # WHEN tuning the version or alias THEN it fails saying both codes and what to do, changing nothing
    request = TuningRequest.from_dict({"lambdaARN": target_function.qualified(qualifier)})
    with pytest.raises(CodeMismatchError) as caught:
        start(request, lambda_client, runs)
    message = str(caught.value)
    assert old in message
    assert new in message
    assert "$LATEST" in message
    assert snapshot(lambda_client, target_function.name) == before
    assert registered(runs, target_function) is None


def test_initialize_rejects_a_missing_qualifier(lambda_client, runs, target_function):
    request = TuningRequest.from_dict({"lambdaARN": target_function.qualified("nosuchalias")})
    with pytest.raises(FunctionNotFoundError, match="nosuchalias"):
        start(request, lambda_client, runs)


def test_initialize_rejects_existing_ram_aliases(lambda_client, runs, target_function, users_own):
    # GIVEN the user's own alias RAM256 (on the user's unmarked version 1)
    lambda_client.create_alias(FunctionName=target_function.name, Name="RAM256", FunctionVersion=users_own)
    # WHEN initializing a run that would create it THEN it refuses, naming it, and touches nothing
    with pytest.raises(AliasConflictError, match=r"already has the alias\(es\) RAM256"):
        start(request_for(target_function), lambda_client, runs)
    assert snapshot(lambda_client, target_function.name)["aliases"] == {"prod": "1", "RAM256": "1"}
    assert registered(runs, target_function) is None


def test_initialize_rejects_existing_cold_start_aliases(lambda_client, runs, target_function, users_own):
    lambda_client.create_alias(FunctionName=target_function.name, Name="RAM128-3", FunctionVersion=users_own)
    with pytest.raises(AliasConflictError, match="RAM128-3"):
        start(request_for(target_function, onlyColdStarts=True), lambda_client, runs)


def test_initialize_ignores_ram_aliases_of_sizes_it_does_not_test(
    lambda_client, runs, target_function, users_own
):
    lambda_client.create_alias(FunctionName=target_function.name, Name="RAM3008", FunctionVersion=users_own)
    assert start(request_for(target_function), lambda_client, runs).power_values == DEFAULTS


def test_a_second_run_is_refused_naming_the_execution_that_holds_the_function(
    lambda_client, runs, target_function
):
    # GIVEN a run registered by a first execution, which published one size
    request = request_for(target_function)
    first = start(request, lambda_client, runs, run_id=RUN)
    publish(first, request, lambda_client, times=1)
    before = snapshot(lambda_client, target_function.name)
    # WHEN a second execution initializes a run on the same function
    second = "arn:aws:states:us-east-1:123456789012:execution:powertuning:second"
    with pytest.raises(RunInProgressError) as caught:
        start(request, lambda_client, runs, execution_arn=second, run_id=OTHER_RUN)
    # THEN it is refused, naming the first execution and run and how to recover; nothing changes
    message = str(caught.value)
    assert EXECUTION in message
    assert RUN in message
    assert "powertune clean" in message
    assert snapshot(lambda_client, target_function.name) == before
    assert registered(runs, target_function)["runId"] == RUN


def test_a_run_registered_between_the_checks_and_the_registration_is_refused(
    lambda_client, runs, target_function, monkeypatch
):
    # GIVEN another Initializer registering the function right after this one checked the table
    request = request_for(target_function)
    real_get_run = run_table.get_run

    def racing(client, table, function_arn):
        found = real_get_run(client, table, function_arn)
        monkeypatch.setattr(run_table, "get_run", real_get_run)
        record = {"runId": OTHER_RUN, "executionArn": f"{EXECUTION}-racer"}
        assert run_table.acquire_run(client, table, function_arn, record) is None
        return found

    monkeypatch.setattr(run_table, "get_run", racing)
    # THEN the conditional registration refuses this run, naming the winner
    with pytest.raises(RunInProgressError, match="execution:powertuning:first-racer"):
        start(request, lambda_client, runs, run_id=RUN)
    assert real_get_run(runs, RUNS_TABLE, target_function.unqualified)["runId"] == OTHER_RUN


@pytest.mark.parametrize("what", ["latest", "version", "alias"])
def test_leftovers_of_an_earlier_run_are_refused_and_nothing_changes(
    lambda_client, runs, target_function, users_own, what
):
    # GIVEN what an earlier run (killed with no cleanup) left: a marker on $LATEST, a marked
    # version, or a marked version behind a RAM alias of a size this run does not even test
    marker = f"powertuning {OTHER_RUN} RAM2048"
    lambda_api.update_configuration(lambda_client, target_function.name, MemorySize=2048, Description=marker)
    if what != "latest":
        version = lambda_api.publish_version(lambda_client, target_function.name, marker)
        if what == "alias":
            lambda_client.create_alias(
                FunctionName=target_function.name, Name="RAM2048", FunctionVersion=version
            )
        lambda_api.update_configuration(
            lambda_client, target_function.name, MemorySize=1024, Description="the user's own description"
        )
    before = snapshot(lambda_client, target_function.name)
    # WHEN a new run is initialized THEN it is refused, saying what is left and the command to remove it
    with pytest.raises(LeftoversError) as caught:
        start(request_for(target_function), lambda_client, runs)
    message = str(caught.value)
    expected = {"latest": marker, "version": "version(s) 2", "alias": "alias(es) RAM2048"}[what]
    assert expected in message
    assert f"powertune clean --stack-name <stack> --function {target_function.unqualified}" in message
    assert "Nothing was changed" in message
    assert snapshot(lambda_client, target_function.name) == before
    assert registered(runs, target_function) is None


def test_a_users_description_that_looks_like_a_marker_is_not_a_leftover(lambda_client, runs, make_function):
    function = make_function("quoted", Description="powertuning my notes")
    assert start(request_for(function), lambda_client, runs).original_description == "powertuning my notes"


@pytest.mark.parametrize("key", ["lambdaARN", "preProcessorARN", "postProcessorARN"])
def test_initialize_refuses_the_tuners_own_functions(lambda_client, runs, make_function, key):
    tuner = make_function("powertuning-publisher")
    target = make_function("tuned")
    request = TuningRequest.from_dict({"lambdaARN": target.arn, key: tuner.qualified("live")})
    before = snapshot(lambda_client, target.name)
    with pytest.raises(SelfTargetError) as caught:
        start(request, lambda_client, runs, tuner_functions=[tuner.arn])
    assert str(caught.value).startswith(f"{key} names {tuner.qualified('live')}")
    assert snapshot(lambda_client, target.name) == before
    assert registered(runs, target) is None
    assert registered(runs, tuner) is None


def test_a_function_of_the_same_name_elsewhere_is_not_the_tuner(lambda_client, runs, target_function):
    # Same name, another account: not one of the tuner's own functions.
    elsewhere = target_function.unqualified.replace("123456789012", "210987654321")
    config = start(request_for(target_function), lambda_client, runs, tuner_functions=[elsewhere])
    assert config.function_arn == target_function.unqualified


# -- publish_next ----------------------------------------------------------------------------------


def test_publish_next_publishes_one_size_per_call_with_its_memory(lambda_client, runs, target_function):
    request = request_for(target_function)
    config = start(request, lambda_client, runs, run_id=RUN)
    # WHEN publishing the first size
    state = publish(config, request, lambda_client, times=1)
    # THEN one version at 128 MB, marked with the run, behind alias RAM128
    function = snapshot(lambda_client, target_function.name)
    assert (state.index, state.published) == (1, (128,))
    assert function["versions"] == {"1": (128, f"powertuning {RUN} RAM128")}
    assert function["aliases"] == {"RAM128": "1"}
    assert function["latest"] == (128, f"powertuning {RUN} RAM128")
    assert state.to_dict() == {"powerValues": [128, 256, 512], "index": 1, "refused": [], "continue": True}


def test_publishing_every_size_restores_latest_after_the_last(lambda_client, runs, target_function):
    request = request_for(target_function)
    state = publish(start(request, lambda_client, runs, run_id=RUN), request, lambda_client)
    function = snapshot(lambda_client, target_function.name)
    assert function["aliases"] == {"RAM128": "1", "RAM256": "2", "RAM512": "3"}
    assert {v: m for v, (m, _) in function["versions"].items()} == {"1": 128, "2": 256, "3": 512}
    assert function["latest"] == (1024, "the user's own description")
    assert state.done
    assert state.to_dict()["continue"] is False


def test_each_alias_runs_with_its_memory(lambda_client, runs, target_function, target_runtime):
    request = request_for(target_function)
    publish(start(request, lambda_client, runs), request, lambda_client)
    for power in DEFAULTS:
        lambda_api.invoke(lambda_client, target_function.arn, f"RAM{power}", b"{}")
    assert target_runtime.memories() == list(DEFAULTS)


def test_publish_next_when_done_changes_nothing(lambda_client, runs, target_function):
    request = request_for(target_function)
    config = start(request, lambda_client, runs)
    state = publish(config, request, lambda_client)
    before = snapshot(lambda_client, target_function.name)
    assert publish_one(config, state, request, lambda_client) == state
    assert snapshot(lambda_client, target_function.name) == before


def test_cold_start_mode_publishes_one_version_per_invocation(lambda_client, runs, target_function):
    request = request_for(target_function, onlyColdStarts=True, powerValues=[256])
    state = publish(start(request, lambda_client, runs, run_id=RUN), request, lambda_client, times=1)
    function = snapshot(lambda_client, target_function.name)
    assert sorted(function["aliases"]) == [f"RAM256-{i}" for i in range(5)]
    assert len(set(function["aliases"].values())) == 5
    assert {m for m, _ in function["versions"].values()} == {256}
    assert sorted(d for _, d in function["versions"].values()) == [
        f"powertuning {RUN} RAM256-{i}" for i in range(5)
    ]
    assert state.done


def test_publish_failure_deletes_what_that_call_created(lambda_client, runs, target_function, monkeypatch):
    # GIVEN alias creation failing on the third alias of a cold-start size
    request = request_for(target_function, onlyColdStarts=True, powerValues=[256])
    config = start(request, lambda_client, runs)
    real = lambda_api.create_alias
    created: list[str] = []

    def flaky(client, function_name, alias, version):
        if len(created) == 2:
            raise ClientError({"Error": {"Code": "ServiceException", "Message": "boom"}}, "CreateAlias")
        created.append(alias)
        return real(client, function_name, alias, version)

    monkeypatch.setattr(lambda_api, "create_alias", flaky)
    # WHEN publishing THEN the error propagates and the call's aliases and versions are gone
    with pytest.raises(ClientError, match="boom"):
        publish(config, request, lambda_client, times=1)
    function = snapshot(lambda_client, target_function.name)
    assert function["aliases"] == {}
    assert function["versions"] == {}
    # and cleanup restores $LATEST, which still carries the marker
    assert cleanup(config, lambda_client).restored_latest
    assert snapshot(lambda_client, target_function.name)["latest"] == (1024, "the user's own description")


def test_a_size_above_the_accounts_memory_limit_is_refused_only_for_auto(
    lambda_client, runs, target_function, monkeypatch
):
    # GIVEN an account whose functions may use at most 3,008 MB
    real = lambda_api.update_configuration

    def limited(client, function_name, **settings):
        if settings.get("MemorySize", 0) > 3008:
            raise ClientError(
                {"Error": {"Code": "InvalidParameterValueException", "Message": "MemorySize too large"}},
                "UpdateFunctionConfiguration",
            )
        real(client, function_name, **settings)

    monkeypatch.setattr(lambda_api, "update_configuration", limited)
    auto = request_for(target_function, powerValues="auto", sampling="adaptive")
    config = start(auto, lambda_client, runs, run_id=RUN)
    # WHEN the race asks for 4,096 MB THEN the Publisher leaves it out, as refused, and goes on
    state = next_publish_state(config, publish(config, auto, lambda_client), [4096])
    state = publish_one(config, state, auto, lambda_client)
    assert 4096 in state.refused
    assert 4096 not in state.power_values
    assert state.done
    assert next_publish_state(config, state, [4096]) == state
    assert snapshot(lambda_client, target_function.name)["latest"] == (1024, "the user's own description")
    # AND with sizes the user listed, the same refusal fails the run
    finish(config, runs, RUNS_TABLE)
    cleanup(config, lambda_client)
    listed = request_for(target_function, powerValues=[4096])
    config = start(listed, lambda_client, runs)
    with pytest.raises(ClientError, match="MemorySize"):
        publish(config, listed, lambda_client)


@pytest.mark.parametrize("owner", ["the user's", "another run's"])
def test_an_alias_that_appears_mid_run_on_a_version_not_the_runs_is_never_moved(
    lambda_client, runs, target_function, users_own, owner
):
    # GIVEN a run registered, and then a RAM256 alias made on a version it did not publish (the
    # user's release, or a version marked by another run, as a next run's would be)
    request = request_for(target_function, powerValues=[256])
    config = start(request, lambda_client, runs, run_id=RUN)
    version = users_own
    if owner == "another run's":
        version = lambda_client.publish_version(
            FunctionName=target_function.name, Description=f"powertuning {OTHER_RUN} RAM256"
        )["Version"]
    lambda_client.create_alias(FunctionName=target_function.name, Name="RAM256", FunctionVersion=version)
    before = snapshot(lambda_client, target_function.name)
    # WHEN the run publishes 256 MB THEN it refuses to move the alias, and removes its own version
    with pytest.raises(AliasConflictError, match=f"RAM256 .* points to version {version} .* did not publish"):
        publish(config, request, lambda_client)
    after = snapshot(lambda_client, target_function.name)
    assert after["aliases"] == before["aliases"]
    assert after["versions"] == before["versions"]


def test_an_alias_already_on_the_runs_own_version_is_kept_by_a_retried_call(
    lambda_client, runs, target_function
):
    # GIVEN a size whose alias a first attempt created (its response lost, the call retried)
    request = request_for(target_function, powerValues=[256, 512])
    config = start(request, lambda_client, runs, run_id=RUN)
    publish(config, request, lambda_client, times=1)
    version = snapshot(lambda_client, target_function.name)["aliases"]["RAM256"]
    # WHEN the run points RAM256 at its version again, or at another version of its own
    point_run_alias(lambda_client, config, "RAM256", version)
    mine = lambda_client.publish_version(
        FunctionName=target_function.name, Description=f"powertuning {RUN} RAM256"
    )["Version"]
    point_run_alias(lambda_client, config, "RAM256", mine)
    # THEN both succeed: the alias is the run's own
    assert snapshot(lambda_client, target_function.name)["aliases"]["RAM256"] == mine


@pytest.mark.parametrize("how", ["released", "recovering"])
def test_a_publisher_call_of_a_run_that_ended_publishes_nothing(lambda_client, runs, target_function, how):
    # GIVEN a run whose registration was released, or taken over by a recovery, after one size
    request = request_for(target_function)
    config = start(request, lambda_client, runs, run_id=RUN)
    state = publish(config, request, lambda_client, times=1)
    record = registered(runs, target_function)
    if how == "released":
        finish(config, runs, RUNS_TABLE)
    else:
        run_table.update_run(runs, RUNS_TABLE, config.function_arn, {**record, "recovering": True})
    before = snapshot(lambda_client, target_function.name)
    # WHEN a late Publisher call of that run arrives THEN it refuses and changes nothing
    with pytest.raises(RunEndedError, match=f"run {RUN} on .* has ended; nothing was published"):
        publish_one(config, state, request, lambda_client)
    assert snapshot(lambda_client, target_function.name) == before


def test_a_run_that_ends_while_its_publisher_runs_is_undone_by_that_call(
    lambda_client, runs, target_function, users_own, monkeypatch
):
    # GIVEN a recovery that takes over the run while a Publisher call is creating its alias
    request = request_for(target_function)
    config = start(request, lambda_client, runs, run_id=RUN)
    state = publish(config, request, lambda_client, times=1)
    real = lambda_api.create_alias

    def recovered_meanwhile(client, function_name, alias, version):
        record = registered(runs, target_function)
        run_table.update_run(runs, RUNS_TABLE, config.function_arn, {**record, "recovering": True})
        return real(client, function_name, alias, version)

    monkeypatch.setattr(lambda_api, "create_alias", recovered_meanwhile)
    # WHEN the call finishes its size THEN it undoes the whole run's work and says so
    with pytest.raises(RunEndedError, match="ended while publishing; undone"):
        publish_one(config, state, request, lambda_client)
    assert snapshot(lambda_client, target_function.name) == {
        "aliases": {"prod": "1"},
        "versions": {"1": (1024, "release 1")},
        "latest": (1024, "the user's own description"),
    }


def test_next_publish_state_adds_only_new_sizes(lambda_client, runs, target_function):
    config = start(request_for(target_function), lambda_client, runs)
    first = next_publish_state(config, None, [])
    assert first == PublishState(power_values=DEFAULTS)
    grown = next_publish_state(config, replace(first, index=3, refused=(4096,)), [256, 1024, 4096, 1024])
    assert grown == PublishState(power_values=(*DEFAULTS, 1024), index=3, refused=(4096,))
    assert not grown.done


# -- cleanup ---------------------------------------------------------------------------------------


def test_cleanup_deletes_exactly_what_the_run_created(lambda_client, runs, target_function, users_own):
    # GIVEN the user's own version 1 and alias prod, then a run that published three sizes
    request = request_for(target_function)
    config = start(request, lambda_client, runs, run_id=RUN)
    publish(config, request, lambda_client)
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


def test_cleanup_mid_run_restores_latest_memory_and_description(lambda_client, runs, target_function):
    # GIVEN a run interrupted after its second size ($LATEST at 256 MB with the run's marker)
    request = request_for(target_function)
    config = start(request, lambda_client, runs, run_id=RUN)
    publish(config, request, lambda_client, times=2)
    assert snapshot(lambda_client, target_function.name)["latest"] == (256, f"powertuning {RUN} RAM256")
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


def test_cleanup_is_safe_to_run_twice(lambda_client, runs, target_function, users_own):
    request = request_for(target_function)
    config = start(request, lambda_client, runs)
    publish(config, request, lambda_client, times=1)
    cleanup(config, lambda_client)
    after_first = snapshot(lambda_client, target_function.name)
    # WHEN the same cleanup runs again (a Retry, or CleanUpOnError after Cleaner)
    again = cleanup(config, lambda_client)
    # THEN it succeeds, deletes nothing, restores nothing and changes nothing
    assert again.to_dict() == {"deletedAliases": [], "deletedVersions": [], "restoredLatest": False}
    assert snapshot(lambda_client, target_function.name) == after_first
    assert after_first["aliases"] == {"prod": "1"}


def test_cleanup_does_not_restore_latest_someone_else_changed(lambda_client, runs, target_function):
    # GIVEN a deploy that changed $LATEST while the run was publishing
    request = request_for(target_function)
    config = start(request, lambda_client, runs)
    publish(config, request, lambda_client, times=1)
    lambda_api.update_configuration(
        lambda_client, target_function.name, MemorySize=2048, Description="new deploy"
    )
    # WHEN cleaning up THEN the run's versions go but the newer $LATEST stays
    report = cleanup(config, lambda_client)
    assert report.versions == ("1",)
    assert not report.restored_latest
    assert snapshot(lambda_client, target_function.name)["latest"] == (2048, "new deploy")


def test_cleanup_catches_orphan_versions_carrying_the_run_marker(
    lambda_client, runs, target_function, users_own
):
    # GIVEN a Publisher call that published a version (and pointed an alias at it) and then crashed
    # before returning, so $.publish never recorded it
    request = request_for(target_function)
    config = start(request, lambda_client, runs)
    lambda_api.update_configuration(
        lambda_client, target_function.name, MemorySize=128, Description=config.marker(128)
    )
    orphan = lambda_api.publish_version(lambda_client, target_function.name, config.marker(128))
    lambda_client.create_alias(FunctionName=target_function.name, Name="RAM128", FunctionVersion=orphan)
    # WHEN cleaning up
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


def test_cleanup_leaves_another_runs_versions_alone(lambda_client, runs, target_function):
    # GIVEN this run, and a version (with its RAM alias) marked by a different run
    request = request_for(target_function)
    mine = start(request, lambda_client, runs, run_id=RUN)
    other = replace(mine, run_id=OTHER_RUN)
    lambda_api.update_configuration(lambda_client, target_function.name, Description=other.marker(128))
    version = lambda_api.publish_version(lambda_client, target_function.name, other.marker(128))
    lambda_client.create_alias(FunctionName=target_function.name, Name="RAM128", FunctionVersion=version)
    before = snapshot(lambda_client, target_function.name)
    # WHEN this run cleans up THEN nothing of the other run's is touched, $LATEST included
    report = cleanup(mine, lambda_client)
    assert report.to_dict() == {"deletedAliases": [], "deletedVersions": [], "restoredLatest": False}
    assert snapshot(lambda_client, target_function.name) == before


def test_cleanup_of_a_forged_config_deletes_nothing_without_the_runs_marker(
    lambda_client, runs, target_function, users_own
):
    # GIVEN the user's own version 1 behind both `prod` and an alias named like a run's, and a
    # config forged to claim them: another run id, every size, a different original
    lambda_client.create_alias(FunctionName=target_function.name, Name="RAM1024", FunctionVersion=users_own)
    before = snapshot(lambda_client, target_function.name)
    forged = RunState(
        function_arn=target_function.unqualified,
        power_values=(128, 1024, 3008),
        run_id="fffffffffff0",
        original_memory=10240,
        original_description="hijacked",
        architecture="x86_64",
    )
    # WHEN cleaning up with it THEN nothing is deleted and $LATEST (unmarked) is not "restored"
    report = cleanup(forged, lambda_client)
    assert report.to_dict() == {"deletedAliases": [], "deletedVersions": [], "restoredLatest": False}
    assert snapshot(lambda_client, target_function.name) == before


def test_cleanup_of_a_config_naming_another_function_leaves_this_one_alone(
    lambda_client, runs, target_function, make_function
):
    # GIVEN a run on `target` mid-publish, and its config pointed at another function
    request = request_for(target_function)
    config = start(request, lambda_client, runs, run_id=RUN)
    publish(config, request, lambda_client, times=2)
    bystander = make_function("bystander", MemorySize=512)
    before = (snapshot(lambda_client, "target"), snapshot(lambda_client, "bystander"))
    report = cleanup(replace(config, function_arn=bystander.unqualified), lambda_client)
    assert report.to_dict() == {"deletedAliases": [], "deletedVersions": [], "restoredLatest": False}
    assert (snapshot(lambda_client, "target"), snapshot(lambda_client, "bystander")) == before


def test_a_users_alias_on_a_marked_version_is_left_alone_with_that_version(
    lambda_client, runs, target_function
):
    # GIVEN a run that published every size, and the user pointing `canary` at its RAM256 version
    request = request_for(target_function)
    config = start(request, lambda_client, runs, run_id=RUN)
    publish(config, request, lambda_client)
    lambda_client.create_alias(FunctionName=target_function.name, Name="canary", FunctionVersion="2")
    # WHEN cleaning up THEN the run's aliases go, and so do the versions nobody else uses
    report = cleanup(config, lambda_client)
    assert sorted(report.aliases) == ["RAM128", "RAM256", "RAM512"]
    assert report.versions == ("1", "3")
    # AND the user's alias and the version it points to stay
    assert snapshot(lambda_client, target_function.name) == {
        "aliases": {"canary": "2"},
        "versions": {"2": (256, f"powertuning {RUN} RAM256")},
        "latest": (1024, "the user's own description"),
    }


def test_cleanup_failure_is_a_cleanup_error_saying_what_is_left(
    lambda_client, runs, target_function, monkeypatch
):
    request = request_for(target_function)
    config = start(request, lambda_client, runs, run_id=RUN)
    publish(config, request, lambda_client, times=1)

    def denied(*args, **kwargs):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DeleteFunction")

    monkeypatch.setattr(lambda_api, "delete_version", denied)
    with pytest.raises(CleanupError) as caught:
        cleanup(config, lambda_client)
    message = str(caught.value)
    assert "AccessDeniedException" in message
    # the alias went first; the version and the marked $LATEST are left
    assert "left: aliases [], versions [1], $LATEST at 128 MB (originally 1024 MB)" in message
    assert f"powertune clean --stack-name <stack> --function {target_function.unqualified}" in message


def test_restore_latest_only_with_the_run_marker(lambda_client, runs, target_function):
    config = start(request_for(target_function), lambda_client, runs, run_id=RUN)
    assert not restore_latest(config, lambda_client)
    lambda_api.update_configuration(
        lambda_client, target_function.name, MemorySize=512, Description=config.marker(512)
    )
    assert not restore_latest(replace(config, run_id=OTHER_RUN), lambda_client)
    assert restore_latest(config, lambda_client)
    assert snapshot(lambda_client, target_function.name)["latest"] == (1024, "the user's own description")


# -- optimize --------------------------------------------------------------------------------------


def finished_run(lambda_client, runs, function, **extra):
    request = request_for(function, **extra)
    config = start(request, lambda_client, runs, run_id=RUN)
    publish(config, request, lambda_client)
    cleanup(config, lambda_client)
    return request, config


def optimize_run(request, config, power, lambda_client, runs):
    return optimize(request, config, power, lambda_client, runs_client=runs, runs_table=RUNS_TABLE)


def test_optimize_without_auto_optimize_changes_nothing_and_ends_the_run(
    lambda_client, runs, target_function
):
    request, config = finished_run(lambda_client, runs, target_function)
    before = snapshot(lambda_client, target_function.name)
    assert optimize_run(request, config, 256, lambda_client, runs) == {"applied": False}
    assert snapshot(lambda_client, target_function.name) == before
    assert registered(runs, target_function) is None


def test_optimize_sets_latest_memory_and_keeps_the_description(lambda_client, runs, target_function):
    request, config = finished_run(lambda_client, runs, target_function, autoOptimize=True)
    assert optimize_run(request, config, 256, lambda_client, runs) == {"applied": True, "power": 256}
    function = snapshot(lambda_client, target_function.name)
    assert function["latest"] == (256, "the user's own description")
    assert function["versions"] == {}
    assert registered(runs, target_function) is None


def test_optimize_with_an_alias_publishes_the_size_behind_it(lambda_client, runs, target_function, users_own):
    # GIVEN the user's alias prod at version 1 WHEN optimizing with autoOptimizeAlias prod
    request, config = finished_run(
        lambda_client, runs, target_function, autoOptimize=True, autoOptimizeAlias="prod"
    )
    out = optimize_run(request, config, 512, lambda_client, runs)
    # THEN a new version at 512 MB is published and prod points to it; it is kept on purpose
    function = snapshot(lambda_client, target_function.name)
    assert out == {"applied": True, "power": 512, "alias": "prod", "version": out["version"]}
    assert function["aliases"] == {"prod": out["version"]}
    assert function["versions"][out["version"]] == (512, f"powertuning {RUN} optimized RAM512")
    assert function["versions"]["1"] == (1024, "release 1")
    assert function["latest"] == (512, "the user's own description")
    assert registered(runs, target_function) is None
    # AND its marker is not a leftover's: the function can be tuned again
    assert start(request_for(target_function), lambda_client, runs).run_id != RUN


def test_optimize_creates_a_new_alias(lambda_client, runs, target_function):
    request, config = finished_run(
        lambda_client, runs, target_function, autoOptimize=True, autoOptimizeAlias="tuned"
    )
    out = optimize_run(request, config, 128, lambda_client, runs)
    assert snapshot(lambda_client, target_function.name)["aliases"] == {"tuned": out["version"]}


def test_optimize_is_skipped_on_a_dry_run(lambda_client, runs, target_function):
    request, config = finished_run(lambda_client, runs, target_function, autoOptimize=True, dryRun=True)
    assert optimize_run(request, config, 128, lambda_client, runs) == {"applied": False}
    assert snapshot(lambda_client, target_function.name)["latest"] == (1024, "the user's own description")
    assert registered(runs, target_function) is None


def fail_the_last_update(monkeypatch, config):
    """Make optimize's last step (putting back the user's description) fail."""
    real = lambda_api.update_configuration

    def failing(client, function_name, **settings):
        if "MemorySize" not in settings and settings.get("Description") == config.original_description:
            raise ClientError({"Error": {"Code": "ServiceException", "Message": "boom"}}, "Update")
        real(client, function_name, **settings)

    monkeypatch.setattr(lambda_api, "update_configuration", failing)
    return real


def test_optimize_failing_after_moving_the_users_alias_is_undone_by_cleanup(
    lambda_client, runs, target_function, users_own, monkeypatch
):
    # prod pointed to the user's version 1 before the run: cleanup points it back
    optimize_fails_then_cleanup(lambda_client, runs, target_function, monkeypatch, alias="prod")


def test_optimize_failing_after_creating_the_alias_is_undone_by_cleanup(
    lambda_client, runs, target_function, users_own, monkeypatch
):
    # tuned did not exist before the run: cleanup deletes it
    optimize_fails_then_cleanup(lambda_client, runs, target_function, monkeypatch, alias="tuned")


def optimize_fails_then_cleanup(lambda_client, runs, target_function, monkeypatch, *, alias):
    # GIVEN a finished run whose Optimizer moved (or created) the alias, then failed
    request, config = finished_run(
        lambda_client, runs, target_function, autoOptimize=True, autoOptimizeAlias=alias
    )
    real = fail_the_last_update(monkeypatch, config)
    with pytest.raises(ClientError, match="boom"):
        optimize_run(request, config, 512, lambda_client, runs)
    moved = snapshot(lambda_client, target_function.name)
    assert moved["aliases"][alias] != "1"
    assert moved["latest"] == (512, f"powertuning {RUN} optimizing")
    # WHEN CleanUpOnError cleans up with the run's registration (which recorded the alias)
    monkeypatch.setattr(lambda_api, "update_configuration", real)
    record = registered(runs, target_function)
    assert record["optimizeAlias"] == {"name": alias, "previousVersion": "1" if alias == "prod" else None}
    report = cleanup(config, lambda_client, record)
    # THEN the alias is back where the user had it (or gone), the version gone, $LATEST restored
    assert report.restored_latest
    assert report.versions == (moved["aliases"][alias],)
    assert snapshot(lambda_client, target_function.name) == {
        "aliases": {"prod": "1"},
        "versions": {"1": (1024, "release 1")},
        "latest": (1024, "the user's own description"),
    }


# -- recover ---------------------------------------------------------------------------------------


def test_recover_from_the_registration_restores_the_function_and_releases_it(
    lambda_client, runs, target_function, users_own
):
    # GIVEN an execution that died mid-publish: only the run table knows the original settings
    request = request_for(target_function)
    config = start(request, lambda_client, runs, run_id=RUN)
    publish(config, request, lambda_client, times=2)
    record = registered(runs, target_function)
    # WHEN recovering from the record
    out = recover(record, lambda_client, runs, RUNS_TABLE)
    # THEN what the run created is gone, $LATEST is back, and the function is free again
    assert out == {
        "runId": RUN,
        "functionArn": target_function.unqualified,
        "deletedAliases": ["RAM128", "RAM256"],
        "deletedVersions": ["2", "3"],
        "restoredLatest": True,
    }
    assert snapshot(lambda_client, target_function.name) == {
        "aliases": {"prod": "1"},
        "versions": {"1": (1024, "release 1")},
        "latest": (1024, "the user's own description"),
    }
    assert registered(runs, target_function) is None
    assert run_table.runs_of_execution(runs, RUNS_TABLE, EXECUTION) == []


def test_finish_releases_only_the_run_that_holds_the_function(lambda_client, runs, target_function):
    config = start(request_for(target_function), lambda_client, runs, run_id=RUN)
    assert not finish(replace(config, run_id=OTHER_RUN), runs, RUNS_TABLE)
    assert registered(runs, target_function)["runId"] == RUN
    assert finish(config, runs, RUNS_TABLE)
    assert not finish(config, runs, RUNS_TABLE)


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
    lambda_client, runs, target_function, target_runtime, no_version_wait
):
    # GIVEN SnapStart versions Pending for two polls each
    client = SnapStartLambda(lambda_client, pending_polls=2)
    request = request_for(target_function, powerValues=[512])
    config = start(request, client, runs)
    # WHEN the Publisher publishes the size
    publish(config, request, client)
    # THEN it returned only after the version reported Active (two Pending polls, one Active)
    (version,) = client.polls
    assert client.polls[version] == 3
    # and the alias can be invoked at once, with no conflict
    response = lambda_api.invoke(client, target_function.arn, "RAM512", b"null")
    assert response.function_error is None
    assert client.invoked_while_pending == 0


def test_cold_start_versions_are_all_published_before_waiting(
    lambda_client, runs, target_function, target_runtime, no_version_wait
):
    client = SnapStartLambda(lambda_client, pending_polls=1)
    request = request_for(target_function, powerValues=[512], onlyColdStarts=True)
    publish(start(request, client, runs), request, client)
    assert len(client.polls) == 5
    assert all(polls == 2 for polls in client.polls.values())


def test_a_version_whose_snapshot_fails_fails_the_publisher_and_leaves_nothing(
    lambda_client, runs, target_function, no_version_wait
):
    client = SnapStartLambda(lambda_client, pending_polls=1, final="Failed")
    request = request_for(target_function, powerValues=[512])
    config = start(request, client, runs)
    before = snapshot(lambda_client, target_function.name)
    with pytest.raises(VersionNotActiveError, match=r"target:\d+ did not become Active"):
        publish(config, request, client)
    after = snapshot(lambda_client, target_function.name)
    assert after["aliases"] == before["aliases"]
    assert after["versions"] == before["versions"]
