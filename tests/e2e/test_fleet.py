"""A whole fleet on moto: the fleet state machine's Distributed Map starts one real tuning execution
per function (the tuner's ASL, its six handlers in-process), the results go to S3, the summary ranks
the functions by saving. See fleet_world.py for the two moto gaps closed and what is not emulated."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from powertuning import lambda_api
from powertuning.aws import executions
from powertuning.cli import main
from powertuning.fleet import DAYS_PER_MONTH, METRICS_DAYS
from powertuning.local.engine import RUNS_TABLE, LocalEngine
from powertuning.local.simulated import SimulatedRuntime
from powertuning.local.target import FunctionSpec, InvokeResult
from powertuning.pricing import lambda_price
from tests.e2e.fleet_world import FLEET_BUCKET, fleet_deployed

POWER_VALUES = [128, 256, 512, 1024, 1536]
CURRENT_MB = 1024
# Different curves, so different best sizes and savings (ms at a memory size).
CURVES = {
    "io-bound": lambda m, _n: 400.0,  # waits: the smallest size is the cheapest
    "cpu-bound": lambda m, _n: 3000.0 * 1769 / min(m, 1769),  # flat GB-s: 1024 MB beats 128 on requests only
    "mixed": lambda m, _n: 100.0 + 900.0 * 1769 / min(m, 1769),
    "startup-heavy": lambda m, _n: 20.0 + 60.0 * 1769 / min(m, 1769),
    "broken": lambda m, _n: 10.0,
    "busy": lambda m, _n: 100.0,
}
A_FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:mixed"
INVOCATIONS_14D = {
    "io-bound": 2_000_000,
    "cpu-bound": 500_000,
    "mixed": 1_000_000,
    "startup-heavy": 50_000,
    "broken": 10,
    "busy": 10,
}


class FleetRuntime:
    """One simulated runtime per function name; `broken` fails at every size."""

    def __init__(self) -> None:
        self.runtimes = {
            name: SimulatedRuntime(
                curve,
                fail_with=dict.fromkeys(POWER_VALUES, ("ValueError", "bad input"))
                if name == "broken"
                else {},
            )
            for name, curve in CURVES.items()
        }
        self.mode = "simulated"

    def invoke(self, spec: FunctionSpec, event: str) -> InvokeResult:
        return self.runtimes[spec.function_name].invoke(spec, event)

    def close(self) -> None:
        for runtime in self.runtimes.values():
            runtime.close()


@pytest.fixture(scope="module")
def world(start_engine: Any) -> Iterator[tuple[LocalEngine, str, dict[str, str]]]:
    engine: LocalEngine = start_engine(FleetRuntime())
    arns = {
        name: engine.create_target(name=name, handler="app.handler", code_dir=None, memory_mb=CURRENT_MB)
        for name in CURVES
    }
    now = datetime.now(UTC)
    cloudwatch = engine._client("cloudwatch")
    for name, curve in CURVES.items():
        cloudwatch.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {
                    "MetricName": "Invocations",
                    "Dimensions": [{"Name": "FunctionName", "Value": name}],
                    "Timestamp": now - timedelta(days=1),
                    "Value": INVOCATIONS_14D[name],
                    "Unit": "Count",
                },
                {
                    "MetricName": "Duration",
                    "Dimensions": [{"Name": "FunctionName", "Value": name}],
                    "Timestamp": now - timedelta(days=1),
                    "Value": curve(CURRENT_MB, 0),
                    "Unit": "Milliseconds",
                },
            ],
        )
    with fleet_deployed(engine) as fleet_arn:
        yield engine, fleet_arn, arns


def _run(engine: LocalEngine, fleet_arn: str, fleet_input: dict[str, Any]) -> dict[str, Any]:
    execution = engine.sfn_client.start_execution(
        stateMachineArn=fleet_arn, name=f"fleet-{time.monotonic_ns()}", input=json.dumps(fleet_input)
    )["executionArn"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        described = engine.sfn_client.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return dict(described)
        time.sleep(0.1)
    raise TimeoutError(execution)


def _expected_saving(name: str) -> tuple[int, float]:
    """The cheapest size by the curve and the monthly saving of moving there, by the summary's formula."""
    price = lambda_price("us-east-1", "x86_64")
    cost = {m: price.invocation_cost(CURVES[name](m, 0), m) for m in POWER_VALUES}
    best = min(cost, key=lambda m: cost[m])
    monthly = INVOCATIONS_14D[name] * DAYS_PER_MONTH / METRICS_DAYS
    return best, monthly * (cost[CURRENT_MB] - cost[best])


def test_a_fleet_ranks_by_saving_and_reports_the_failed_and_the_busy(
    world: tuple[LocalEngine, str, dict[str, str]],
) -> None:
    engine, fleet_arn, arns = world
    # GIVEN six functions with different curves; one fails at every size; one is held by another run
    held = lambda_api.acquire_run(
        engine._client("dynamodb"),
        RUNS_TABLE,
        arns["busy"],
        {
            "runId": "0123456789ab",
            "executionArn": "arn:aws:states:us-east-1:123456789012:execution:other:run",
        },
    )
    assert held is None
    # WHEN the fleet is tuned
    described = _run(
        engine,
        fleet_arn,
        {"functions": list(arns.values()), "defaults": {"powerValues": POWER_VALUES, "num": 5}},
    )
    # THEN it succeeds (failures are tolerated by default) and its output says where the summary is
    assert described["status"] == "SUCCEEDED", described.get("cause")
    output = json.loads(described["output"])
    s3 = engine._client("s3")
    summary = json.loads(s3.get_object(Bucket=FLEET_BUCKET, Key=output["summary"]["key"])["Body"].read())
    assert summary["totals"] | {} == output["totals"]
    assert (summary["totals"]["succeeded"], summary["totals"]["failed"], summary["totals"]["skipped"]) == (
        4,
        1,
        1,
    )
    # AND the ranking and each recommendation match the simulated curves
    expected = {name: _expected_saving(name) for name in ("io-bound", "cpu-bound", "mixed", "startup-heavy")}
    ranked = sorted(expected, key=lambda n: -expected[n][1])
    assert [row["functionArn"] for row in summary["functions"]] == [arns[n] for n in ranked]
    for row in summary["functions"]:
        name = row["functionArn"].rsplit(":", 1)[-1]
        assert row["recommendedMemory"] == expected[name][0]
        assert row["monthlySaving"] == pytest.approx(expected[name][1], rel=0.02, abs=0.01)
        assert row["basis"] == "measured ratio"
    # AND the failure keeps the child's own error and cause; the busy function is skipped, not failed
    (failed,) = summary["failed"]
    assert failed["functionArn"] == arns["broken"]
    assert failed["error"] == "TargetFunctionError"
    assert "ValueError" in failed["cause"]
    (skipped,) = summary["skipped"]
    assert skipped["functionArn"] == arns["busy"]
    assert skipped["error"] == "RunInProgressError"
    # AND the raw results are in S3 next to the summary
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=FLEET_BUCKET)["Contents"]]
    assert any(k.endswith("manifest.json") for k in keys)
    assert any(k.endswith("items.json") for k in keys)
    # AND no function carries anything of a run: no alias, one version ($LATEST), memory as it was
    for name, arn in arns.items():
        aliases = engine.lambda_client.list_aliases(FunctionName=arn)["Aliases"]
        versions = [
            v["Version"] for v in engine.lambda_client.list_versions_by_function(FunctionName=arn)["Versions"]
        ]
        config = engine.lambda_client.get_function_configuration(FunctionName=arn)
        assert (aliases, versions, config["MemorySize"]) == ([], ["$LATEST"], CURRENT_MB), name
    # AND the other run's registration is untouched
    assert lambda_api.get_run(engine._client("dynamodb"), RUNS_TABLE, arns["busy"])["runId"] == "0123456789ab"


@pytest.mark.parametrize(
    ("fleet_input", "message"),
    [
        ({"selector": {}}, "selector is empty"),
        ({"selector": {"namePrefix": "nothing-like-this-"}}, "matched no function"),
        (
            {"functions": ["arn:aws:lambda:us-east-1:123456789012:function:does-not-exist"]},
            "cannot read function",
        ),
        (
            {
                "functions": ["arn:aws:lambda:us-east-1:123456789012:function:mixed"],
                "overrides": {"arn:aws:lambda:us-east-1:123456789012:function:cpu-bound": {"num": 5}},
            },
            "not in the fleet",
        ),
        (
            {
                "functions": ["arn:aws:lambda:us-east-1:123456789012:function:mixed"],
                "defaults": {"strategy": "cheapest"},
            },
            'strategy must be one of "cost", "speed", "balanced"',
        ),
        (
            {"functions": ["arn:aws:lambda:us-east-1:123456789012:function:powertuning-publisher"]},
            "tuner's own functions",
        ),
        ({"functions": [A_FUNCTION, f"{A_FUNCTION}:$LATEST"]}, f"lists {A_FUNCTION} twice"),
    ],
)
def test_bad_fleet_input_fails_before_any_tuning_starts(
    world: tuple[LocalEngine, str, dict[str, str]], fleet_input: dict[str, Any], message: str
) -> None:
    engine, fleet_arn, _arns = world
    before = len(engine.sfn_client.list_executions(stateMachineArn=engine.state_machine_arn)["executions"])
    described = _run(engine, fleet_arn, fleet_input)
    assert described["status"] == "FAILED"
    # The resolver's refusal: its own error name, and its message alone as the Cause
    assert described["error"] in {"FleetInputError", "SelfTargetError", "FunctionNotFoundError"}
    assert message in described["cause"]
    assert not described["cause"].lstrip().startswith("{")
    assert (
        len(engine.sfn_client.list_executions(stateMachineArn=engine.state_machine_arn)["executions"])
        == before
    )


def test_a_function_named_by_its_latest_arn_is_tuned_once_with_the_override_keyed_by_its_function(
    world: tuple[LocalEngine, str, dict[str, str]],
) -> None:
    engine, fleet_arn, arns = world
    before = {
        e["executionArn"]
        for e in engine.sfn_client.list_executions(stateMachineArn=engine.state_machine_arn)["executions"]
    }
    entry = f"{arns['io-bound']}:$LATEST"
    # WHEN the fleet lists the function by a qualified ARN and keys its override by the function
    described = _run(
        engine,
        fleet_arn,
        {
            "functions": [entry],
            "defaults": {"powerValues": POWER_VALUES, "num": 5},
            "overrides": {arns["io-bound"]: {"powerValues": [128, 256]}},
        },
    )
    # THEN exactly one tuning ran, on that function, with the override, and it succeeded
    assert described["status"] == "SUCCEEDED", described.get("cause")
    children = [
        e
        for e in engine.sfn_client.list_executions(stateMachineArn=engine.state_machine_arn)["executions"]
        if e["executionArn"] not in before
    ]
    (child,) = children
    child_described = engine.sfn_client.describe_execution(executionArn=child["executionArn"])
    assert child_described["status"] == "SUCCEEDED"
    child_input = json.loads(child_described["input"])
    assert (child_input["lambdaARN"], child_input["powerValues"]) == (entry, [128, 256])
    output = json.loads(described["output"])
    assert (output["totals"]["succeeded"], output["totals"]["skipped"]) == (1, 0)
    # AND the function is left as it was
    aliases = engine.lambda_client.list_aliases(FunctionName=arns["io-bound"])["Aliases"]
    assert aliases == []


def test_a_selector_skips_the_tuners_own_functions(world: tuple[LocalEngine, str, dict[str, str]]) -> None:
    engine, fleet_arn, _arns = world
    # GIVEN a prefix that matches only the tuner's own functions
    described = _run(engine, fleet_arn, {"selector": {"namePrefix": "powertuning-"}})
    # THEN nothing is tuned, and the refusal says so
    assert described["status"] == "FAILED"
    assert "matched no function that can be tuned" in described["cause"]


def test_powertune_fleet_waits_prints_the_ranking_writes_the_report_and_gates(
    world: tuple[LocalEngine, str, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    engine, fleet_arn, arns = world
    # GIVEN the stack's outputs (the CLI's stack lookup has its own tests)
    monkeypatch.setattr(executions, "stack_output", lambda _cfn, _stack, key: fleet_arn)
    monkeypatch.setattr(executions, "state_machine_from_stack", lambda _cfn, _stack: engine.state_machine_arn)
    defaults = tmp_path / "defaults.json"
    defaults.write_text(json.dumps({"powerValues": POWER_VALUES, "num": 5}))
    report = tmp_path / "fleet.html"
    # WHEN a fleet of two, one of which fails, is tuned with a gate on failures
    code = main(
        [
            "fleet",
            "--function",
            arns["io-bound"],
            "--function",
            arns["broken"],
            "--input-file",
            str(defaults),
            "--wait",
            "--report",
            str(report),
            "--max-failed-percentage",
            "10",
            "--poll-interval",
            "0.1",
        ]
    )
    out, err = capsys.readouterr()
    # THEN the gate fails the command (exit 3) after the ranking, the failure and the report
    assert code == 3
    assert re.search(r"io-bound\s+1024 MB\s+128 MB", out)
    assert "failed: broken: TargetFunctionError" in out
    assert "io-bound: recommends 128 MB" in err
    assert "broken: FAILED" in err
    assert "gate failed: 1 of 2 functions failed (50.0%)" in err
    page = report.read_text()
    assert "default-src 'none'" in page
    assert "io-bound" in page


def test_powertune_fleet_plan_prices_the_selection_and_starts_nothing(
    world: tuple[LocalEngine, str, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    engine, fleet_arn, arns = world
    before = len(engine.sfn_client.list_executions(stateMachineArn=fleet_arn)["executions"])
    code = main(["fleet", "--prefix", "mixed", "--plan", "--output", "json", "--region", "us-east-1"])
    plan = json.loads(capsys.readouterr().out)
    assert code == 0
    (row,) = plan["functions"]
    assert row["functionArn"] == arns["mixed"]
    monthly = INVOCATIONS_14D["mixed"] * DAYS_PER_MONTH / METRICS_DAYS
    price = lambda_price("us-east-1", "x86_64")
    assert row["currentMonthlyCost"] == pytest.approx(
        monthly * price.invocation_cost(CURVES["mixed"](CURRENT_MB, 0), CURRENT_MB), abs=1e-3
    )
    assert 0 < row["estimatedTuningCost"] < 0.1
    assert len(engine.sfn_client.list_executions(stateMachineArn=fleet_arn)["executions"]) == before


def test_powertune_fleet_refuses_bad_input_before_starting(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fleet", "--function", A_FUNCTION, "--tag", "team=x"])
    assert code == 2
    assert "not both" in capsys.readouterr().err
