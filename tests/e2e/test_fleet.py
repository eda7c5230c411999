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
from moto.awslambda.models import LambdaFunction

from powertuning.aws import executions, run_table
from powertuning.cli import fleet as fleet_cli
from powertuning.cli import main
from powertuning.fleet_summary import DAYS_PER_MONTH, METRICS_DAYS
from powertuning.local.engine import LocalEngine
from powertuning.local.simulated import SimulatedRuntime
from powertuning.local.target import FunctionSpec, InvokeResult
from powertuning.local.tuner_stack import RUNS_TABLE
from powertuning.pricing import LOGS_INSIGHTS_GB_SCANNED_USD, lambda_price
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
    held = run_table.acquire_run(
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
    assert run_table.get_run(engine._client("dynamodb"), RUNS_TABLE, arns["busy"])["runId"] == "0123456789ab"


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


# -- cold starts: each function at its own production rate unless told otherwise -------------------
CUSTOM_GROUP = "/shared/app"


def _report_lines(engine: LocalEngine, name: str, total: int, cold: int) -> None:
    """`total` REPORT lines in /aws/lambda/<name> a day ago, `cold` of them with an Init Duration."""
    logs = engine._client("logs")
    group = f"/aws/lambda/{name}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="2026/12/01/[$LATEST]a")
    at = int((time.time() - 86_400) * 1000)
    lines = [
        f"REPORT RequestId: {i}\tDuration: 400.00 ms\tBilled Duration: 400 ms\tMemory Size: 1024 MB\t"
        f"Max Memory Used: 60 MB\t" + ("Init Duration: 250.00 ms\t" if i < cold else "")
        for i in range(total)
    ]
    logs.put_log_events(
        logGroupName=group,
        logStreamName="2026/12/01/[$LATEST]a",
        logEvents=[{"timestamp": at + i, "message": m} for i, m in enumerate(lines)],
    )


@pytest.fixture
def logging_worlds(
    world: tuple[LocalEngine, str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """io-bound logs 200 REPORT lines (40 cold) to its own group; mixed logs to a custom group (moto
    keeps no LoggingConfig: its configuration says so here, as Lambda's would); the others have none."""
    engine, _fleet_arn, _arns = world
    _report_lines(engine, "io-bound", 200, 40)
    original = LambdaFunction.get_configuration

    def get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original(self, *args, **kwargs)
        if self.function_name == "mixed":
            config["LoggingConfig"] = {"LogFormat": "Text", "LogGroup": CUSTOM_GROUP}
        return config

    monkeypatch.setattr(LambdaFunction, "get_configuration", get_configuration)
    yield
    engine._client("logs").delete_log_group(logGroupName="/aws/lambda/io-bound")


def test_a_fleet_tunes_each_function_at_its_own_rate_and_says_which_had_none(
    world: tuple[LocalEngine, str, dict[str, str]], logging_worlds: None
) -> None:
    engine, fleet_arn, arns = world
    # GIVEN a fleet whose defaults say nothing of coldStartRate; startup-heavy told null
    chosen = ("io-bound", "mixed", "cpu-bound", "startup-heavy")
    described = _run(
        engine,
        fleet_arn,
        {
            "functions": [arns[n] for n in chosen],
            "defaults": {"powerValues": POWER_VALUES, "num": 5},
            "overrides": {arns["startup-heavy"]: {"coldStartRate": None}},
        },
    )
    # THEN every function is tuned: none fails for want of a rate
    assert described["status"] == "SUCCEEDED", described.get("cause")
    output = json.loads(described["output"])
    summary = json.loads(
        engine._client("s3").get_object(Bucket=FLEET_BUCKET, Key=output["summary"]["key"])["Body"].read()
    )
    assert (summary["totals"]["succeeded"], summary["totals"]["failed"]) == (4, 0)
    rows = {row["functionArn"].rsplit(":", 1)[-1]: row for row in summary["functions"]}
    # AND io-bound at its own rate, read from its log group (40 of 200)
    assert rows["io-bound"]["coldStart"] == {
        "rate": 0.2,
        "source": "production",
        "invocations": 200,
        "coldStarts": 40,
    }
    # AND the two whose logs hold no rate are tuned without one, each saying why
    assert rows["mixed"]["coldStart"] == {
        "rate": None,
        "unavailable": f"mixed logs to the custom log group {CUSTOM_GROUP}, which the tuner may not read",
    }
    assert rows["cpu-bound"]["coldStart"] == {
        "rate": None,
        "unavailable": "there is no log group /aws/lambda/cpu-bound",
    }
    # AND the one told null had no rate asked for at all
    assert "coldStart" not in rows["startup-heavy"]
    # AND the warm-only ones recommend what the curves say, as a fleet did before
    for name in ("mixed", "cpu-bound", "startup-heavy"):
        assert rows[name]["recommendedMemory"] == _expected_saving(name)[0]
    # AND the text summary shows the rates and the reasons
    text = fleet_cli.format_summary(summary)
    assert re.search(r"io-bound\s+.*20\.00% \(production\)", text)
    assert f"no cold-start rate: mixed: mixed logs to the custom log group {CUSTOM_GROUP}" in text
    assert "no cold-start rate: cpu-bound: there is no log group /aws/lambda/cpu-bound" in text
    # AND nothing is left on any function
    for name in chosen:
        aliases = engine.lambda_client.list_aliases(FunctionName=arns[name])["Aliases"]
        assert aliases == [], name


def test_powertune_fleet_plan_prices_the_logs_insights_queries(
    world: tuple[LocalEngine, str, dict[str, str]],
    logging_worlds: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    engine, fleet_arn, arns = world
    # GIVEN io-bound's log group ingested 3 GB over the 14 days; cpu-bound's has no metric
    engine._client("cloudwatch").put_metric_data(
        Namespace="AWS/Logs",
        MetricData=[
            {
                "MetricName": "IncomingBytes",
                "Dimensions": [{"Name": "LogGroupName", "Value": "/aws/lambda/io-bound"}],
                "Timestamp": datetime.now(UTC) - timedelta(days=2),
                "Value": 3e9,
                "Unit": "Bytes",
            }
        ],
    )
    chosen = ("io-bound", "mixed", "cpu-bound")
    flags = [f for n in chosen for f in ("--function", arns[n])]
    before = len(engine.sfn_client.list_executions(stateMachineArn=fleet_arn)["executions"])
    # WHEN the fleet is planned
    code = main(["fleet", *flags, "--plan", "--output", "json", "--region", "us-east-1"])
    plan = json.loads(capsys.readouterr().out)
    assert code == 0
    rows = {row["functionArn"].rsplit(":", 1)[-1]: row for row in plan["functions"]}
    # THEN io-bound's query is priced at $0.005 per GB scanned, and in its tuning cost
    query = rows["io-bound"]["logsInsights"]
    assert (query["query"], query["scannedBytes"]) == (True, 3e9)
    assert query["cost"] == pytest.approx(3 * LOGS_INSIGHTS_GB_SCANNED_USD)
    assert rows["io-bound"]["estimatedTuningCost"] > query["cost"]
    # AND mixed's custom log group is not queried; cpu-bound's scan is unknown, and said so
    assert rows["mixed"]["logsInsights"]["query"] is False
    assert rows["mixed"]["logsInsights"]["customLogGroup"] == CUSTOM_GROUP
    assert rows["cpu-bound"]["logsInsights"]["cost"] is None
    assert plan["logsInsightsUnknown"] == 1
    # AND the table says the same, and nothing was started
    code = main(["fleet", *flags, "--plan", "--region", "us-east-1"])
    table = capsys.readouterr().out
    assert re.search(r"io-bound .*\$0\.0150 \(3\.00 GB\)", table)
    assert re.search(r"mixed .*none: custom log group", table)
    assert re.search(r"cpu-bound .*unknown", table)
    assert "plus the Logs Insights queries of 1 function(s) whose scanned bytes are unknown" in table
    assert len(engine.sfn_client.list_executions(stateMachineArn=fleet_arn)["executions"]) == before
