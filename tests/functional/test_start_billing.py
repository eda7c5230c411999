"""With coldStartRate, the Initializer reads how the function starts: SnapStart from its configuration,
provisioned concurrency from ListProvisionedConcurrencyConfigs (moto keeps neither: the `aws`
fixture's powertuning/local/start_settings.py does, as Lambda answers)."""

from __future__ import annotations

import pytest

from lambdas.initializer import handler
from powertuning.pricing import SNAPSTART_CACHE_GB_SECOND_USD, SNAPSTART_RESTORE_GB_USD
from powertuning.run_state import RunState


def run_cold_start(event, lambda_context):
    state = handler({"input": event}, lambda_context)
    return state["run"].get("coldStart"), RunState.from_dict(state["run"]).cold_start


def test_the_moto_rules_keep_snapstart_and_report_it_optimized_on_published_versions(
    lambda_client, make_function
):
    # GIVEN a function that applies SnapStart to published versions
    make_function("snappy", Runtime="python3.12", SnapStart={"ApplyOn": "PublishedVersions"})
    version = lambda_client.publish_version(FunctionName="snappy")["Version"]
    # THEN $LATEST says it applies (never optimized itself), a published version is optimized
    latest = lambda_client.get_function_configuration(FunctionName="snappy")["SnapStart"]
    published = lambda_client.get_function_configuration(FunctionName="snappy", Qualifier=version)
    assert latest == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "Off"}
    assert published["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}
    # WHEN it is switched off, THEN the configuration says so
    lambda_client.update_function_configuration(FunctionName="snappy", SnapStart={"ApplyOn": "None"})
    assert lambda_client.get_function_configuration(FunctionName="snappy")["SnapStart"]["ApplyOn"] == "None"


@pytest.mark.parametrize(
    ("runtime", "family", "charges"),
    [
        ("python3.12", "python", (SNAPSTART_RESTORE_GB_USD, SNAPSTART_CACHE_GB_SECOND_USD)),
        ("dotnet8", "dotnet", (SNAPSTART_RESTORE_GB_USD, SNAPSTART_CACHE_GB_SECOND_USD)),
        ("java21", "java", (0.0, 0.0)),
    ],
)
def test_a_snapstart_function_is_priced_with_its_runtimes_charges(
    make_function, lambda_context, runtime, family, charges
):
    restore, cache = charges
    # GIVEN a SnapStart function of the runtime
    arn = make_function("snappy", Runtime=runtime, SnapStart={"ApplyOn": "PublishedVersions"}).arn
    # WHEN a run at a rate starts
    wire, cold = run_cold_start({"lambdaARN": arn, "coldStartRate": 0.1}, lambda_context)
    # THEN the run prices SnapStart's charges for that runtime (none for Java)
    assert wire["snapStart"] == {"runtime": family, "restorePerGb": restore, "cachePerGbSecond": cache}
    assert cold.snap_start == family
    assert cold.init_billed
    assert "Billed Restore Duration" in cold.priced


def test_a_function_without_snapstart_or_provisioned_concurrency_carries_neither(
    target_function, lambda_context
):
    wire, cold = run_cold_start({"lambdaARN": target_function.arn, "coldStartRate": 0.1}, lambda_context)
    assert wire == {"rate": 0.1, "source": "input"}
    assert cold.priced.startswith("Billed Duration with INIT")


def test_provisioned_concurrency_on_the_tuned_alias_takes_init_out_of_each_cold_start(
    lambda_client, target_function, lambda_context
):
    # GIVEN an alias with provisioned concurrency
    version = lambda_client.publish_version(FunctionName="target")["Version"]
    lambda_client.create_alias(FunctionName="target", Name="live", FunctionVersion=version)
    lambda_client.put_provisioned_concurrency_config(
        FunctionName="target", Qualifier="live", ProvisionedConcurrentExecutions=5
    )
    assert (
        lambda_client.get_provisioned_concurrency_config(FunctionName="target", Qualifier="live")[
            "RequestedProvisionedConcurrentExecutions"
        ]
        == 5
    )
    # WHEN the alias is tuned at a rate (its versions' leftovers are the user's: none of the run's)
    wire, cold = run_cold_start(
        {"lambdaARN": f"{target_function.arn}:live", "coldStartRate": 0.2}, lambda_context
    )
    # THEN INIT is not billed per invocation, and the output will say why
    assert wire["provisionedConcurrency"] == {"qualifiers": ["live"], "initBilledPerInvocation": False}
    assert not cold.init_billed
    assert "provisioned concurrency on live" in cold.priced


def test_provisioned_concurrency_elsewhere_is_told_but_the_unqualified_function_pays_init(
    lambda_client, target_function, lambda_context
):
    version = lambda_client.publish_version(FunctionName="target")["Version"]
    lambda_client.create_alias(FunctionName="target", Name="live", FunctionVersion=version)
    lambda_client.put_provisioned_concurrency_config(
        FunctionName="target", Qualifier="live", ProvisionedConcurrentExecutions=2
    )
    wire, cold = run_cold_start({"lambdaARN": target_function.arn, "coldStartRate": 0.2}, lambda_context)
    assert wire["provisionedConcurrency"] == {"qualifiers": ["live"], "initBilledPerInvocation": True}
    assert cold.init_billed


def test_without_a_rate_neither_is_read(lambda_client, make_function, lambda_context, monkeypatch):
    # GIVEN a SnapStart function, and a Lambda client that records what it is asked
    arn = make_function("snappy", Runtime="python3.12", SnapStart={"ApplyOn": "PublishedVersions"}).arn
    from powertuning import lambda_api

    asked: list[str] = []
    real = lambda_api.provisioned_concurrency
    monkeypatch.setattr(lambda_api, "provisioned_concurrency", lambda *a: asked.append("pc") or real(*a))
    state = handler({"input": {"lambdaARN": arn}}, lambda_context)
    # THEN no rate, no coldStart, no provisioned concurrency read
    assert "coldStart" not in state["run"]
    assert asked == []
