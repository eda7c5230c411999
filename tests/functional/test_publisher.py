"""The Publisher handler against moto: one memory size per call, then $LATEST restored."""

from __future__ import annotations

import pytest

from lambdas import initializer, publisher


@pytest.fixture
def state(target_function, lambda_context):
    """The execution state after the Initializer: the input plus `lambdaConfigurations`."""
    event = {"lambdaARN": target_function.arn, "powerValues": [128, 256, 512], "num": 5}
    return {**event, "lambdaConfigurations": initializer.handler(event, lambda_context)}


def aliases(lambda_client):
    found = lambda_client.list_aliases(FunctionName="target")["Aliases"]
    return {a["Name"]: a["FunctionVersion"] for a in found}


def version_memory(lambda_client):
    versions = lambda_client.list_versions_by_function(FunctionName="target")["Versions"]
    return {v["Version"]: v["MemorySize"] for v in versions if v["Version"] != "$LATEST"}


def test_each_call_publishes_the_next_size(state, lambda_client, lambda_context):
    # WHEN the Publisher runs once
    config = publisher.handler(state, lambda_context)
    # THEN exactly the first size has a version at its memory and an alias, and the loop continues
    assert config["iterator"] == {"index": 1, "count": 3, "continue": True}
    assert config["published"] == [{"power": 128, "alias": "RAM128", "version": "1"}]
    assert aliases(lambda_client) == {"RAM128": "1"}
    assert version_memory(lambda_client) == {"1": 128}
    assert config["restored"] is False


def test_the_loop_ends_with_every_size_published_and_latest_restored(state, lambda_client, lambda_context):
    # GIVEN the Choice state calling the Publisher while iterator.continue is true
    calls = 0
    while state["lambdaConfigurations"]["iterator"]["continue"]:
        state = {**state, "lambdaConfigurations": publisher.handler(state, lambda_context)}
        calls += 1
    # THEN one call per size, every alias at its memory, $LATEST as the user left it
    assert calls == 3
    assert aliases(lambda_client) == {"RAM128": "1", "RAM256": "2", "RAM512": "3"}
    assert version_memory(lambda_client) == {"1": 128, "2": 256, "3": 512}
    latest = lambda_client.get_function_configuration(FunctionName="target")
    assert (latest["MemorySize"], latest["Description"]) == (1024, "the user's own description")
    assert state["lambdaConfigurations"]["restored"] is True


def test_while_publishing_latest_carries_the_run_marker(state, lambda_client, lambda_context):
    config = publisher.handler(state, lambda_context)
    latest = lambda_client.get_function_configuration(FunctionName="target")
    assert latest["Description"] == f"powertuning {config['runId']} RAM128"
    assert latest["MemorySize"] == 128


def test_cold_start_mode_publishes_one_alias_per_invocation(target_function, lambda_client, lambda_context):
    event = {"lambdaARN": target_function.arn, "powerValues": [256], "num": 5, "onlyColdStarts": True}
    state = {**event, "lambdaConfigurations": initializer.handler(event, lambda_context)}
    config = publisher.handler(state, lambda_context)
    assert sorted(aliases(lambda_client)) == [f"RAM256-{i}" for i in range(5)]
    assert len(config["published"]) == 5
    assert config["iterator"]["continue"] is False


def test_state_keys_added_by_the_machine_are_accepted(state, lambda_context):
    # The Publisher sees the whole state; keys other states add must not be rejected as unknown.
    config = publisher.handler({**state, "somethingTheMachineAdded": True}, lambda_context)
    assert config["iterator"]["index"] == 1


def test_calling_it_after_the_last_size_changes_nothing(state, lambda_client, lambda_context):
    while state["lambdaConfigurations"]["iterator"]["continue"]:
        state = {**state, "lambdaConfigurations": publisher.handler(state, lambda_context)}
    before = (aliases(lambda_client), version_memory(lambda_client))
    assert publisher.handler(state, lambda_context) == state["lambdaConfigurations"]
    assert (aliases(lambda_client), version_memory(lambda_client)) == before
