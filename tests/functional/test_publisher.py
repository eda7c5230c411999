"""The Publisher handler against moto: one memory size per call, then $LATEST restored."""

from __future__ import annotations

import pytest

from lambdas import publisher


@pytest.fixture
def state(start_run):
    """The execution state after the Initializer: `{request, run}`."""
    return start_run(powerValues=[128, 256, 512], num=5)


def aliases(lambda_client):
    found = lambda_client.list_aliases(FunctionName="target")["Aliases"]
    return {a["Name"]: a["FunctionVersion"] for a in found}


def version_memory(lambda_client):
    versions = lambda_client.list_versions_by_function(FunctionName="target")["Versions"]
    return {v["Version"]: v["MemorySize"] for v in versions if v["Version"] != "$LATEST"}


def test_each_call_publishes_the_next_size(state, lambda_client, lambda_context):
    # WHEN the Publisher runs once
    out = publisher.handler(state, lambda_context)
    # THEN exactly the first size has a version at its memory and an alias, and the loop continues
    assert out == {"powerValues": [128, 256, 512], "index": 1, "refused": [], "continue": True}
    assert aliases(lambda_client) == {"RAM128": "1"}
    assert version_memory(lambda_client) == {"1": 128}


def test_the_loop_ends_with_every_size_published_and_latest_restored(state, lambda_client, lambda_context):
    # GIVEN the Choice state calling the Publisher while $.publish.continue is true
    calls = 0
    while state.get("publish", {}).get("continue", True):
        state = {**state, "publish": publisher.handler(state, lambda_context)}
        calls += 1
    # THEN one call per size, every alias at its memory, $LATEST as the user left it
    assert calls == 3
    assert state["publish"] == {"powerValues": [128, 256, 512], "index": 3, "refused": [], "continue": False}
    assert aliases(lambda_client) == {"RAM128": "1", "RAM256": "2", "RAM512": "3"}
    assert version_memory(lambda_client) == {"1": 128, "2": 256, "3": 512}
    latest = lambda_client.get_function_configuration(FunctionName="target")
    assert (latest["MemorySize"], latest["Description"]) == (1024, "the user's own description")


def test_every_version_carries_the_run_marker(state, publish, lambda_client):
    publish(state)
    run_id = state["run"]["runId"]
    versions = lambda_client.list_versions_by_function(FunctionName="target")["Versions"]
    assert {v["Version"]: v["Description"] for v in versions if v["Version"] != "$LATEST"} == {
        "1": f"powertuning {run_id} RAM128",
        "2": f"powertuning {run_id} RAM256",
        "3": f"powertuning {run_id} RAM512",
    }


def test_while_publishing_latest_carries_the_run_marker(state, lambda_client, lambda_context):
    publisher.handler(state, lambda_context)
    latest = lambda_client.get_function_configuration(FunctionName="target")
    assert latest["Description"] == f"powertuning {state['run']['runId']} RAM128"
    assert latest["MemorySize"] == 128


def test_cold_start_mode_publishes_one_alias_per_invocation(start_run, lambda_client, lambda_context):
    state = start_run(powerValues=[256], num=5, onlyColdStarts=True)
    out = publisher.handler(state, lambda_context)
    assert sorted(aliases(lambda_client)) == [f"RAM256-{i}" for i in range(5)]
    assert sorted(version_memory(lambda_client)) == ["1", "2", "3", "4", "5"]
    assert set(version_memory(lambda_client).values()) == {256}
    assert out["continue"] is False


def test_state_keys_added_by_the_machine_are_accepted(state, lambda_context):
    # The Publisher sees the whole state; keys other states add must not be rejected as unknown.
    out = publisher.handler({**state, "somethingTheMachineAdded": True}, lambda_context)
    assert out["index"] == 1


def test_sizes_the_adaptive_race_asks_for_are_added(start_run, lambda_client, lambda_context):
    # GIVEN an adaptive run that published its sizes, then a decision asking for 1024 MB
    state = start_run(powerValues=[128, 256], num=5, sampling="adaptive")
    while state.get("publish", {}).get("continue", True):
        state = {**state, "publish": publisher.handler(state, lambda_context)}
    state = {**state, "adaptive": {"pending": [1024, 256], "publishPending": True}}
    # WHEN the Publisher runs again THEN it publishes only the new size
    out = publisher.handler(state, lambda_context)
    assert out == {"powerValues": [128, 256, 1024], "index": 3, "refused": [], "continue": False}
    assert aliases(lambda_client) == {"RAM128": "1", "RAM256": "2", "RAM1024": "3"}


def test_calling_it_after_the_last_size_changes_nothing(state, publish, lambda_client, lambda_context):
    state = publish(state)
    before = (aliases(lambda_client), version_memory(lambda_client))
    assert publisher.handler(state, lambda_context) == state["publish"]
    assert (aliases(lambda_client), version_memory(lambda_client)) == before
