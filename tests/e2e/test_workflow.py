"""The workflow tuner end to end on moto: a user's workflow of six simulated functions (a sequence, a
Parallel of two branches, a Map over 10 items at MaxConcurrency 3, a Choice) run once as the user
would, then the workflow tuner's state machine on that execution: the reader, one nested fleet
execution tuning each function once (real tuner executions), the solver, and autoOptimize's apply.
See workflow_world.py and fleet_world.py for what is simulated and which moto gaps are closed."""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from powertuning.local.engine import LocalEngine
from powertuning.workflow import graph
from tests.e2e.fleet_world import FLEET_BUCKET, fleet_deployed
from tests.e2e.workflow_world import WorkflowRuntime, workflow_deployed

REGION, ACCOUNT = "us-east-1", "123456789012"
POWER_VALUES = [128, 256, 512, 1024, 1769]
CURRENT_MB = 1024


def _cpu(fixed_ms: float, work_ms_at_1769: float) -> Any:
    return lambda m, _n: fixed_ms + work_ms_at_1769 * 1769 / min(m, 1769)


# Different shapes, so different best sizes: time that waits, and CPU work on top of a fixed part.
CURVES = {
    "validate": lambda m, _n: 120.0,
    "enrich": _cpu(20.0, 600.0),
    "score": _cpu(40.0, 300.0),
    "resize": _cpu(10.0, 150.0),
    "notify": _cpu(60.0, 50.0),
    "ship": _cpu(25.0, 200.0),
}
ITEMS, CONCURRENCY = 10, 3


def _arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def _invoke(name: str, payload: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": _arn(name), "Payload": payload},
        "ResultPath": None,
    }


USER_WORKFLOW = {
    "Comment": "orders: a sequence, a Parallel of two branches, a Map over the items, a Choice",
    "StartAt": "Validate",
    "States": {
        "Validate": {"Type": "Task", "Resource": _arn("validate"), "ResultPath": None, "Next": "Prepare"},
        "Prepare": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Enrich",
                    "States": {"Enrich": {**_invoke("enrich", {"order.$": "$.order"}), "End": True}},
                },
                {
                    "StartAt": "Score",
                    "States": {"Score": {"Type": "Task", "Resource": _arn("score"), "End": True}},
                },
            ],
            "ResultPath": None,
            "Next": "Resize",
        },
        "Resize": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": CONCURRENCY,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "ResizeOne",
                "States": {"ResizeOne": {**_invoke("resize", {"item.$": "$"}), "End": True}},
            },
            "ResultPath": None,
            "Next": "Route",
        },
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.route", "StringEquals": "notify", "Next": "Notify"}],
            "Default": "Ship",
        },
        "Notify": {"Type": "Task", "Resource": _arn("notify"), "ResultPath": None, "Next": "Ship"},
        "Ship": {"Type": "Task", "Resource": _arn("ship"), "ResultPath": None, "End": True},
    },
}
USER_INPUT = {"order": "o-1", "items": list(range(ITEMS)), "route": "notify"}


class World:
    def __init__(self, engine: LocalEngine, runtime: WorkflowRuntime, fleet: str, workflow: str) -> None:
        self.engine, self.runtime, self.fleet, self.workflow = engine, runtime, fleet, workflow
        self.sfn = engine.sfn_client
        self.names = iter(f"run-{i}" for i in itertools.count())

    def machine(self, name: str, definition: Mapping[str, Any]) -> str:
        return str(
            self.sfn.create_state_machine(
                name=name, definition=json.dumps(definition), roleArn=self.engine._role()
            )["stateMachineArn"]
        )

    def run(self, machine: str, execution_input: Any, timeout_s: float = 600) -> dict[str, Any]:
        arn = self.sfn.start_execution(
            stateMachineArn=machine, name=next(self.names), input=json.dumps(execution_input)
        )["executionArn"]
        deadline = time.monotonic() + timeout_s
        while (described := self.sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, f"{arn} still running"
            time.sleep(0.1)
        return dict(described)

    def fleet_runs(self) -> int:
        return len(self.sfn.list_executions(stateMachineArn=self.fleet)["executions"])

    def functions_now(self) -> dict[str, Any]:
        lam = self.engine.lambda_client
        found = {}
        for name in CURVES:
            config = lam.get_function_configuration(FunctionName=name)
            found[name] = {
                "memory": config["MemorySize"],
                "description": config.get("Description", ""),
                "timeout": config["Timeout"],
                "versions": [
                    v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]
                ],
                "aliases": [a["Name"] for a in lam.list_aliases(FunctionName=name)["Aliases"]],
            }
        return found


@pytest.fixture(scope="module")
def world(start_engine: Any) -> Iterator[World]:
    runtime = WorkflowRuntime(CURVES)
    engine: LocalEngine = start_engine(runtime)
    for name in CURVES:
        engine.create_target(name=name, handler="app.handler", code_dir=None, memory_mb=CURRENT_MB)
        engine.lambda_client.update_function_configuration(FunctionName=name, Description="the user's own")
    with fleet_deployed(engine) as fleet, workflow_deployed(engine, fleet) as workflow:
        yield World(engine, runtime, fleet, workflow)


@pytest.fixture(scope="module")
def user_run(world: World) -> tuple[str, str]:
    """The user's workflow and one SUCCEEDED execution of it, run as the user would."""
    machine = world.machine("orders", USER_WORKFLOW)
    described = world.run(machine, USER_INPUT)
    assert described["status"] == "SUCCEEDED", described
    return machine, str(described["executionArn"])


# -- an oracle independent of the model: brute force over the measured curves --------------------
def _measured(world: World) -> dict[str, dict[int, dict[str, float]]]:
    """Per function ARN, per size: the stats its most recent tuning measured (from the tuner's
    executions themselves, not from anything the workflow tuner wrote)."""
    found: dict[str, dict[int, dict[str, float]]] = {}
    listed = world.sfn.list_executions(
        stateMachineArn=world.engine.state_machine_arn, statusFilter="SUCCEEDED"
    )
    for item in sorted(listed["executions"], key=lambda e: e["startDate"]):
        described = world.sfn.describe_execution(executionArn=item["executionArn"])
        arn = json.loads(described["input"])["lambdaARN"]
        stats = json.loads(described["output"]).get("stats", [])
        found[arn] = {int(s["value"]): s for s in stats}
    return found


def _duration(node: graph.Node, per_call: Mapping[str, float]) -> float:
    """The end-to-end time of one workflow execution with deterministic per-call times (the
    curves are): a sequence adds, a Parallel waits for its slowest branch, a Map runs in waves of its
    concurrency, a Choice by its frequencies (exact for the average)."""
    if isinstance(node, graph.Task):
        return node.calls * per_call[node.function] + node.overhead_ms
    if isinstance(node, graph.Fixed):
        return sum(node.samples_ms) / len(node.samples_ms) if node.samples_ms else 0.0
    if isinstance(node, graph.Sequence):
        return sum(_duration(s, per_call) for s in node.steps)
    if isinstance(node, graph.Parallel):
        return max(_duration(b, per_call) for b in node.branches)
    if isinstance(node, graph.Map):
        body = _duration(node.body, per_call)
        total = sum(w for _, w in node.items)
        waves = [
            math.ceil(n / node.max_concurrency) if node.max_concurrency else min(n, 1) for n, _ in node.items
        ]
        return sum(wave * body * w for wave, (_, w) in zip(waves, node.items, strict=True)) / total
    if isinstance(node, graph.Choice):
        return sum(p * _duration(o, per_call) for p, o in node.options)
    if isinstance(node, graph.Nested):
        return _duration(node.body, per_call)
    raise TypeError(node)


def _brute_force(
    plan: Mapping[str, Any], measured: Mapping[str, Mapping[int, Mapping[str, float]]], target: float
) -> tuple[float, dict[str, int] | None, dict[tuple[int, ...], tuple[float, float]]]:
    """Every assignment of measured sizes: (min cost meeting the target, its assignment, all)."""
    tree = graph.node_from_dict(plan["graph"])
    calls = {f["arn"]: float(f["callsPerExecution"]) for f in plan["functions"]}
    arns = list(calls)
    every: dict[tuple[int, ...], tuple[float, float]] = {}
    best: tuple[float, dict[str, int] | None] = (math.inf, None)
    for sizes in itertools.product(*(sorted(measured[a]) for a in arns)):
        per_call = {a: float(measured[a][m]["averageDuration"]) for a, m in zip(arns, sizes, strict=True)}
        cost = sum(calls[a] * float(measured[a][m]["averagePrice"]) for a, m in zip(arns, sizes, strict=True))
        duration = _duration(tree, per_call)
        every[sizes] = (duration, cost)
        if duration <= target and cost < best[0]:
            best = (cost, dict(zip(arns, sizes, strict=True)))
    return best[0], best[1], every


def _s3_json(world: World, key: str) -> Any:
    body = world.engine._client("s3").get_object(Bucket=FLEET_BUCKET, Key=key)["Body"].read()
    return json.loads(body)


def _plan_of(world: World, execution: Mapping[str, Any]) -> Any:
    return _s3_json(world, f"workflow/{execution['executionArn'].rsplit(':', 1)[-1]}/plan.json")


def _tune(world: World, machine: str, execution: str, **extra: Any) -> dict[str, Any]:
    return world.run(
        world.workflow,
        {
            "stateMachineArn": machine,
            "executionArn": execution,
            "powerValues": POWER_VALUES,
            "num": 5,
            **extra,
        },
    )


@pytest.fixture(scope="module")
def tuned(world: World, user_run: tuple[str, str]) -> dict[str, Any]:
    """One workflow tuning for a target between the fastest and the cheapest assignment."""
    machine, execution = user_run
    # The target is placed from the curves themselves: halfway between all-fastest and all-cheapest.
    fastest = {n: c(1769, 0) for n, c in CURVES.items()}
    cheapest = {n: c(128, 0) for n, c in CURVES.items()}

    def end_to_end(t: Mapping[str, float]) -> float:
        resize_waves = math.ceil(ITEMS / CONCURRENCY)
        return (
            t["validate"]
            + max(t["enrich"], t["score"])
            + resize_waves * t["resize"]
            + t["notify"]
            + t["ship"]
        )

    target = round((end_to_end(fastest) + end_to_end(cheapest)) / 2)
    before = world.functions_now()
    fleet_runs = world.fleet_runs()
    described = _tune(world, machine, execution, maxDurationMs=target)
    return {
        "described": described,
        "target": target,
        "before": before,
        "after": world.functions_now(),
        "fleet_runs": world.fleet_runs() - fleet_runs,
        "measured": _measured(world),
    }


def test_the_recommendation_is_the_brute_force_optimum_over_the_measured_curves(
    world: World, tuned: dict[str, Any]
) -> None:
    described = tuned["described"]
    assert described["status"] == "SUCCEEDED", described
    result = json.loads(described["output"])
    # GIVEN what the tunings measured (one tuning per function, in one fleet execution)
    plan = _plan_of(world, described)
    measured = tuned["measured"]
    assert sorted(measured) == sorted(_arn(n) for n in CURVES)
    assert tuned["fleet_runs"] == 1
    assert all(sorted(m) == POWER_VALUES for m in measured.values())
    # WHEN every assignment of the measured sizes is tried (5^6)
    target = tuned["target"]
    # (a model's Monte Carlo may sit a hair off the exact composition: bound the optimum both ways)
    low_cost, low_pick, every = _brute_force(plan, measured, target * 0.995)
    high_cost, high_pick, _ = _brute_force(plan, measured, target * 1.005)
    assert low_pick is not None
    assert high_pick is not None
    picked = {f["functionArn"]: f["recommendedMemory"] for f in result["functions"]}
    duration, cost = every[tuple(picked[a] for a in (f["arn"] for f in plan["functions"]))]
    # THEN the recommendation meets the target and costs what the brute-force optimum costs
    assert result["met"] is True
    assert duration <= target * 1.005
    assert high_cost <= cost <= low_cost * (1 + 1e-9)
    if low_cost == high_cost:
        assert picked == low_pick
    # AND the sizes differ by function (the curves do), and the predicted duration is the composed one
    assert len(set(picked.values())) > 1
    assert result["recommended"]["durationMs"] == pytest.approx(duration, rel=0.01)
    print(
        f"\nworkflow e2e: target {target} ms, picked {sorted(picked.items())}, "
        f"{duration:.0f} ms, ${cost:.9f}/execution (brute force over {len(every)} assignments agrees)"
    )


def test_running_the_users_workflow_at_the_recommended_sizes_meets_the_target(
    world: World, tuned: dict[str, Any], user_run: tuple[str, str]
) -> None:
    result = json.loads(tuned["described"]["output"])
    lam = world.engine.lambda_client
    picked = {f["functionArn"].rsplit(":", 1)[-1]: f["recommendedMemory"] for f in result["functions"]}
    for name, memory in picked.items():
        lam.update_function_configuration(FunctionName=name, MemorySize=memory)
    try:
        start = len(world.runtime.calls)
        assert world.run(user_run[0], USER_INPUT)["status"] == "SUCCEEDED"
        calls = world.runtime.calls[start:]
    finally:
        for name in picked:
            lam.update_function_configuration(FunctionName=name, MemorySize=CURRENT_MB)
    # THEN each function ran at its recommended size, and the simulated times compose within target
    assert {(n, m) for n, m, _ in calls} == set(picked.items())
    ms = {n: t for n, _, t in calls}
    resize = [t for n, _, t in calls if n == "resize"]
    assert len(resize) == ITEMS
    waves = [max(resize[i : i + CONCURRENCY]) for i in range(0, ITEMS, CONCURRENCY)]
    end_to_end = ms["validate"] + max(ms["enrich"], ms["score"]) + sum(waves) + ms["notify"] + ms["ship"]
    assert end_to_end <= tuned["target"]


def test_every_function_is_left_as_it_was(tuned: dict[str, Any]) -> None:
    assert tuned["after"] == tuned["before"]
    assert all(f["memory"] == CURRENT_MB and f["aliases"] == [] for f in tuned["after"].values())


def test_an_unreachable_target_is_reported_unmet_with_the_fastest_sizes(
    world: World, user_run: tuple[str, str], tuned: dict[str, Any]
) -> None:
    described = _tune(world, *user_run, maxDurationMs=100)
    assert described["status"] == "SUCCEEDED", described
    result = json.loads(described["output"])
    assert result["met"] is False
    _, _, every = _brute_force(_plan_of(world, described), _measured(world), 100)
    fastest = min(d for d, _ in every.values())
    assert fastest > 100
    assert result["recommended"]["durationMs"] == pytest.approx(fastest, rel=0.01)
    assert world.functions_now() == tuned["before"]


# onError "skip": the function keeps its size and the times the history showed (graph.Task.samples_ms).
@pytest.mark.parametrize("on_error", ["skip", "fail"])
def test_a_failing_function_is_skipped_or_fails_the_run_as_on_error_says(
    world: World, user_run: tuple[str, str], tuned: dict[str, Any], on_error: str
) -> None:
    # GIVEN notify breaks after the user's run: its tuning fails, the others succeed
    world.runtime.failing = {"notify"}
    try:
        described = _tune(world, *user_run, maxDurationMs=tuned["target"], onError=on_error)
    finally:
        world.runtime.failing = set()
    if on_error == "skip":
        assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
        result = json.loads(described["output"])
        by_name = {f["functionArn"].rsplit(":", 1)[-1]: f for f in result["functions"]}
        assert by_name["notify"]["tuned"] is False
        assert by_name["notify"]["recommendedMemory"] == CURRENT_MB
        assert by_name["notify"]["error"]
        assert all(f["tuned"] for n, f in by_name.items() if n != "notify")
    else:
        assert described["status"] == "FAILED"
        assert described["error"] == "WorkflowTuningError"
        assert "notify" in described["cause"]
    # AND the failed tuning cleaned up after itself, like the others
    assert world.functions_now() == tuned["before"]


def test_auto_optimize_applies_every_pick_through_the_tuners_optimizer(
    world: World, user_run: tuple[str, str], tuned: dict[str, Any]
) -> None:
    # GIVEN the same target, with autoOptimize
    result = json.loads(tuned["described"]["output"])
    picks = {f["functionArn"].rsplit(":", 1)[-1]: f["recommendedMemory"] for f in result["functions"]}
    fleet_runs, tunings = world.fleet_runs(), _tunings(world)
    try:
        described = _tune(world, *user_run, maxDurationMs=tuned["target"], autoOptimize=True)
        assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
        after = world.functions_now()
    finally:
        for name in CURVES:
            world.engine.lambda_client.update_function_configuration(FunctionName=name, MemorySize=CURRENT_MB)
    applied = json.loads(described["output"])
    assert {
        f["functionArn"].rsplit(":", 1)[-1]: f["recommendedMemory"] for f in applied["functions"]
    } == picks
    # THEN each function is at its pick, with nothing else left of the runs (no version, no alias)
    assert {n: f["memory"] for n, f in after.items()} == picks
    assert all(f["aliases"] == [] and f["versions"] == ["$LATEST"] for f in after.values())
    assert all(f["description"] == "the user's own" for f in after.values())
    # AND it cost two fleet runs: one measuring every function, one applying the changed ones at
    # their one size (num 5 each)
    assert world.fleet_runs() - fleet_runs == 2
    changed = sum(1 for memory in picks.values() if memory != CURRENT_MB)
    assert _tunings(world) - tunings == len(CURVES) + changed


def _tunings(world: World) -> int:
    return len(world.sfn.list_executions(stateMachineArn=world.engine.state_machine_arn)["executions"])


PASS_ONLY = {"StartAt": "Nothing", "States": {"Nothing": {"Type": "Pass", "End": True}}}
FAILS = {
    "StartAt": "Ship",
    "States": {
        "Ship": {"Type": "Task", "Resource": _arn("ship"), "ResultPath": None, "Next": "Stop"},
        "Stop": {"Type": "Fail", "Error": "Stopped", "Cause": "on purpose"},
    },
}
FOREIGN = {
    "StartAt": "Child",
    "States": {
        "Child": {
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:210987654321:stateMachine:theirs"},
            "Next": "Ship",
        },
        "Ship": {"Type": "Task", "Resource": _arn("ship"), "End": True},
    },
}


@pytest.fixture(scope="module")
def others(world: World) -> dict[str, str]:
    """Machines to refuse: one with no Lambda task, one whose execution FAILED, one nesting a workflow
    of another account; and an execution of each of the first two."""
    found = {
        "pass": world.machine("only-pass", PASS_ONLY),
        "fails": world.machine("fails", FAILS),
        "foreign": world.machine("foreign", FOREIGN),
    }
    found["pass-run"] = str(world.run(found["pass"], {})["executionArn"])
    failed = world.run(found["fails"], {})
    assert failed["status"] == "FAILED"
    found["failed-run"] = str(failed["executionArn"])
    return found


REFUSALS = [
    ("not a state machine", lambda u, o, w: {"stateMachineArn": u[0].replace("orders", "no-such-machine")}),
    ("no Lambda task", lambda u, o, w: {"stateMachineArn": o["pass"], "executionArn": o["pass-run"]}),
    (
        "an execution of another machine",
        lambda u, o, w: {"stateMachineArn": u[0], "executionArn": o["pass-run"]},
    ),
    (
        "an execution that failed",
        lambda u, o, w: {"stateMachineArn": o["fails"], "executionArn": o["failed-run"]},
    ),
    ("nested in another account", lambda u, o, w: {"stateMachineArn": o["foreign"]}),
    ("unknown statistic", lambda u, o, w: {"stateMachineArn": u[0], "durationStatistic": "p42"}),
    ("target 0", lambda u, o, w: {"stateMachineArn": u[0], "maxDurationMs": 0}),
    ("target below 0", lambda u, o, w: {"stateMachineArn": u[0], "maxDurationMs": -5}),
    ("the tuner's own fleet", lambda u, o, w: {"stateMachineArn": w.fleet}),
    ("the workflow tuner itself", lambda u, o, w: {"stateMachineArn": w.workflow}),
]


@pytest.mark.parametrize("make", [m for _, m in REFUSALS], ids=[i for i, _ in REFUSALS])
def test_bad_input_fails_before_any_tuning_starts(
    world: World, user_run: tuple[str, str], others: dict[str, str], make: Any, tuned: dict[str, Any]
) -> None:
    fleet_runs, tunings = world.fleet_runs(), _tunings(world)
    described = world.run(world.workflow, {"maxDurationMs": 5000, **make(user_run, others, world)})
    # THEN the execution fails with the reader's refusal as Error and its message as Cause
    assert described["status"] == "FAILED"
    assert described["error"] == "WorkflowInputError", described["cause"]
    assert described["cause"]
    assert not described["cause"].startswith("{")
    # AND nothing started: no fleet run, no tuning, every function as it was
    assert (world.fleet_runs(), _tunings(world)) == (fleet_runs, tunings)
    assert world.functions_now() == tuned["before"]
