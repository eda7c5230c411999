"""`powertune workflow` end to end on moto: the command starts the deployed workflow tuner
(tests/e2e/workflow_world.py: the reader, one nested fleet run of real tuner executions, the
solver) on a user's workflow of six simulated functions, follows it, prints, writes the report and
the result, and gates: exit 0 when the target is met, 3 when it cannot be; `--plan` reads the same
workflow and prices it, starting nothing. The user's workflow and curves are test_workflow.py's."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from powertuning.cli import main
from powertuning.local.engine import LocalEngine
from tests.e2e.fleet_world import fleet_deployed
from tests.e2e.test_workflow import CONCURRENCY, CURRENT_MB, CURVES, ITEMS, USER_INPUT, USER_WORKFLOW, World
from tests.e2e.workflow_world import WorkflowRuntime, workflow_deployed
from tests.unit.test_report_workflow import drawn

SIZES = "128,256,512,1024,1769"


@pytest.fixture(scope="module")
def world(start_engine: Any) -> Iterator[World]:
    runtime = WorkflowRuntime(CURVES)
    engine: LocalEngine = start_engine(runtime)
    for name in CURVES:
        engine.create_target(name=name, handler="app.handler", code_dir=None, memory_mb=CURRENT_MB)
    with fleet_deployed(engine) as fleet, workflow_deployed(engine, fleet) as workflow:
        yield World(engine, runtime, fleet, workflow)


@pytest.fixture(scope="module")
def user_run(world: World) -> tuple[str, str]:
    machine = world.machine("orders", USER_WORKFLOW)
    described = world.run(machine, USER_INPUT)
    assert described["status"] == "SUCCEEDED", described
    return machine, str(described["executionArn"])


def _reachable_target() -> int:
    """Halfway between every function at its fastest size and at its cheapest, from the curves."""

    def end_to_end(size: int) -> float:
        t = {n: c(size, 0) for n, c in CURVES.items()}
        waves = math.ceil(ITEMS / CONCURRENCY)
        return t["validate"] + max(t["enrich"], t["score"]) + waves * t["resize"] + t["notify"] + t["ship"]

    return round((end_to_end(1769) + end_to_end(128)) / 2)


def _started(world: World) -> dict[str, int]:
    """Executions of each of the tuner's state machines so far."""
    machines = {"workflow": world.workflow, "fleet": world.fleet, "tuner": world.engine.state_machine_arn}
    return {k: len(world.sfn.list_executions(stateMachineArn=v)["executions"]) for k, v in machines.items()}


def _powertune(world: World, user_run: tuple[str, str], *extra: str) -> int:
    machine, execution = user_run
    return main(
        [
            "workflow",
            machine,
            "--execution-arn",
            execution,
            "--power-values",
            SIZES,
            "--num",
            "5",
            "--tuner-arn",
            world.workflow,
            "--poll-interval",
            "0.1",
            *extra,
        ]
    )


def test_powertune_workflow_waits_prints_writes_the_report_and_exits_0_when_the_target_is_met(
    world: World, user_run: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the user's workflow, one SUCCEEDED execution of it, and a target between fastest and cheapest
    target = _reachable_target()
    report, saved = tmp_path / "workflow.html", tmp_path / "workflow.json"
    before = {n: world.engine.lambda_client.get_function_configuration(FunctionName=n) for n in CURVES}
    # WHEN powertune workflow tunes it
    code = _powertune(
        world,
        user_run,
        "--max-duration-ms",
        str(target),
        "--report",
        str(report),
        "--output-file",
        str(saved),
    )
    out, err = capsys.readouterr()
    # THEN it exits 0 with a row per function, the end-to-end figures, met, and the critical path
    assert code == 0, err
    result = json.loads(saved.read_text())
    assert result["met"] is True
    for f in result["functions"]:
        name = f["functionArn"].rsplit(":", 1)[-1]
        assert re.search(rf"^{name}\s+{CURRENT_MB} MB\s+{f['recommendedMemory']} MB\s", out, re.M), out
    # validate only waits: its cheapest size is the smallest; enrich's CPU work keeps it above that
    picked = {f["functionArn"].rsplit(":", 1)[-1]: f["recommendedMemory"] for f in result["functions"]}
    assert picked["validate"] == 128
    assert len(set(picked.values())) > 1
    assert f"target {target:,}.00 ms: met" in out
    assert "Critical path: " in out
    # progress told each step of the workflow tuner
    assert "ReadWorkflow done: the workflow read, 6 functions to tune" in err
    assert "Solve done: sizes chosen, target met" in err
    # AND the report draws the workflow: the Parallel's branches side by side, the Map over its items
    states = drawn(report.read_text()).by_name()
    assert (states["Enrich"].parent, states["Enrich"].lane) == ("Prepare", "branch 1")
    assert (states["Score"].parent, states["Score"].lane) == ("Prepare", "branch 2")
    assert states["ResizeOne"].parent == "Resize"
    assert f"Map over {ITEMS} items, at most {CONCURRENCY} at a time" in "".join(states["Resize"].text)
    assert {n for n, s in states.items() if "critical" in s.classes} == set(result["criticalPath"])
    assert f"{CURRENT_MB} MB → 128 MB" in "".join(states["Validate"].text)
    # AND every function is as it was (autoOptimize is off)
    after = {n: world.engine.lambda_client.get_function_configuration(FunctionName=n) for n in CURVES}
    assert {n: c["MemorySize"] for n, c in after.items()} == {n: c["MemorySize"] for n, c in before.items()}
    with capsys.disabled():
        print(f"\n$ powertune workflow ... --max-duration-ms {target}\n{out}")


def test_an_unreachable_target_exits_3_with_the_fastest_assignment(
    world: World, user_run: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = _powertune(world, user_run, "--max-duration-ms", "100", "--duration-statistic", "p90")
    out, err = capsys.readouterr()
    assert code == 3, err
    assert "target 100.00 ms: NOT met" in out
    assert (
        "powertune: latency target not met: no assignment of the measured sizes has an end-to-end p90" in err
    )


def test_plan_reads_the_workflow_prices_it_and_starts_nothing(
    world: World, user_run: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = _started(world)
    code = _powertune(world, user_run, "--max-duration-ms", "1000", "--plan", "--output", "json")
    out, err = capsys.readouterr()
    assert code == 0, err
    plan = json.loads(out)
    # every distinct function once: 5 sizes x 5 invocations, at a positive estimated cost
    assert sorted(f["functionArn"].rsplit(":", 1)[-1] for f in plan["functions"]) == sorted(CURVES)
    assert all(f["invocations"] == 25 for f in plan["functions"])
    assert all(f["memorySize"] == CURRENT_MB for f in plan["functions"])
    assert 0 < plan["totalEstimatedTuningCost"] < 1
    resize = next(f for f in plan["functions"] if f["functionArn"].endswith(":resize"))
    assert resize["callsPerExecution"] == ITEMS
    assert plan["executions"] == [user_run[1]]
    assert _started(world) == before


def test_an_execution_of_another_machine_is_refused_before_anything_starts(
    world: World, user_run: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = _started(world)
    other = user_run[1].replace(":orders:", ":payments:")
    code = main(["workflow", user_run[0], "--execution-arn", other, "--max-duration-ms", "900"])
    assert code == 2
    assert "--execution-arn" in capsys.readouterr().err
    assert _started(world) == before
