"""powertuning/workflow/recommend.py: the child tunings and the plan turned into the WorkflowResult."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from powertuning.errors import ResultFormatError, WorkflowModelError, WorkflowTuningError
from powertuning.pricing import transition_price
from powertuning.workflow import graph as g
from powertuning.workflow.plan import PlannedFunction, WorkflowPlan
from powertuning.workflow.recommend import WorkflowResult, recommend
from powertuning.workflow.request import WorkflowRequest

ACCOUNT = "123456789012"
STATE_MACHINE = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:orders"
SIZES = (128, 256, 512, 1024)


def arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"


def output(work_ms: float, wait_ms: float, sizes: tuple[int, ...] = SIZES, errors: int = 0) -> dict[str, Any]:
    """A child tuning's output: CPU work shrinking with memory plus waiting, priced as the tuner does."""
    stats = []
    for memory in sizes:
        median = work_ms * 128 / memory + wait_ms
        price = median * memory / 1024 / 1000 * 0.0000166667 + 0.0000002
        stats.append(
            {
                "value": memory,
                "averagePrice": price,
                "averageDuration": median * 1.02,
                "p50": median,
                "p90": median * 1.3,
                "p95": median * 1.45,
                "p99": median * 1.9,
                "errors": errors,
            }
        )
    return {
        "power": sizes[0],
        "cost": stats[0]["averagePrice"],
        "duration": stats[0]["averageDuration"],
        "stateMachine": {"executionCost": 0.0, "lambdaCost": 0.0, "visualization": ""},
        "stats": stats,
    }


CURVES = {"a": (600, 10), "b": (200, 40), "c": (400, 5), "d": (100, 20), "e": (900, 30)}
GRAPH = g.Sequence(
    (
        g.Task("A", arn("a"), overhead_ms=20),
        g.Parallel("P", (g.Task("B", arn("b")), g.Task("C", arn("c")))),
        g.Map("M", g.Task("D", arn("d"), samples_ms=(70.0, 90.0)), ((10, 1.0),), 3),
        g.Choice("Ch", ((0.4, g.Task("E", arn("e"))), (0.6, g.Fixed("W", (100.0, 300.0), "Wait")))),
    )
)


def make_plan(
    target: float = 2500,
    statistic: str = "p90",
    memory: dict[str, int] | None = None,
    on_error: str = "fail",
    root: g.Node = GRAPH,
) -> WorkflowPlan:
    request = WorkflowRequest.from_dict(
        {
            "stateMachineArn": STATE_MACHINE,
            "maxDurationMs": target,
            "durationStatistic": statistic,
            "powerValues": list(SIZES),
            "onError": on_error,
        }
    )
    memory = memory or {}
    functions = tuple(
        PlannedFunction(f, memory.get(f, 128), "x86_64", {}, "history", 1.0) for f in g.functions(root)
    )
    return WorkflowPlan(
        request, ("execution-1",), root, functions, (2600.0, 2900.0, 3100.0), 19.0, "us-east-1"
    )


def tunings() -> dict[str, dict[str, Any]]:
    return {arn(name): output(*curve) for name, curve in CURVES.items()}


def test_the_output_has_the_keys_the_other_parts_read_and_reads_back() -> None:
    result = recommend(make_plan(), tunings(), {})
    wire = json.loads(json.dumps(result.to_dict()))
    assert set(wire) == {
        "met", "statistic", "maxDurationMs", "current", "recommended", "functions", "criticalPath",
        "fixed", "steps", "solver", "stateTransitions", "executions",
    }  # fmt: skip
    assert set(wire["current"]) == {"durationMs", "costPerExecution", "observedMs"}
    assert set(wire["recommended"]) == {"durationMs", "costPerExecution"}
    assert set(wire["solver"]) == {"method", "evaluated", "maxGapPct", "seconds"}
    assert set(wire["functions"][0]) == {
        "functionArn", "currentMemory", "recommendedMemory", "architecture", "costPerExecution",
        "shareOfTime", "tuned",
    }  # fmt: skip
    assert WorkflowResult.from_dict(wire) == result


@pytest.mark.parametrize(
    "broken",
    [None, [], {"met": "yes"}, {"met": True}, {**{"met": True}, "statistic": "p90", "maxDurationMs": "x"}],
)
def test_a_malformed_result_is_refused(broken: Any) -> None:
    with pytest.raises(ResultFormatError):
        WorkflowResult.from_dict(broken)


SMALL = g.Sequence(
    (
        g.Task("A", arn("a")),
        g.Parallel("P", (g.Task("B", arn("b")), g.Map("M", g.Task("D", arn("d")), ((10, 1.0),), 3))),
    )
)


def test_the_recommendation_is_the_brute_force_optimum_and_meets_the_target() -> None:
    plan = make_plan(target=1200, statistic="p90", root=SMALL)
    names = ("a", "b", "d")
    result = recommend(plan, {arn(n): output(*CURVES[n]) for n in names}, {}, draws=300)
    assert result.met
    assert result.solver.method == "exact"
    assert result.recommended.duration_ms <= 1200
    # brute force over the measured sizes: one run per assignment, each function offered one size
    best = None
    for combo in itertools.product(SIZES, repeat=len(names)):
        sized = {arn(n): output(*CURVES[n], sizes=(m,)) for n, m in zip(names, combo, strict=True)}
        trial = recommend(plan, sized, {}, draws=300)
        if trial.met and (best is None or trial.recommended.cost_per_execution < best):
            best = trial.recommended.cost_per_execution
    assert best is not None
    assert result.recommended.cost_per_execution == pytest.approx(best)


def test_the_cost_per_execution_is_every_call_plus_the_transitions() -> None:
    result = recommend(make_plan(), tunings(), {})
    by_function = {f.function_arn: f for f in result.functions}
    assert result.recommended.cost_per_execution == pytest.approx(
        sum(f.cost_per_execution for f in result.functions) + 19.0 * transition_price("us-east-1")
    )
    # the Map's 10 items multiply d's calls
    d = by_function[arn("d")]
    price = next(
        s["averagePrice"] for s in tunings()[arn("d")]["stats"] if s["value"] == d.recommended_memory
    )
    assert d.cost_per_execution == pytest.approx(10 * price)
    # the Choice runs e in 40% of executions
    e = by_function[arn("e")]
    price = next(
        s["averagePrice"] for s in tunings()[arn("e")]["stats"] if s["value"] == e.recommended_memory
    )
    assert e.cost_per_execution == pytest.approx(0.4 * price)


def test_an_unreachable_target_is_unmet_with_the_fastest_pick() -> None:
    result = recommend(make_plan(target=10), tunings(), {})
    assert not result.met
    assert result.recommended.duration_ms > 10
    assert {f.recommended_memory for f in result.functions} == {1024}


def test_the_current_sizes_are_predicted_and_the_observed_statistic_reported() -> None:
    result = recommend(make_plan(target=5000, statistic="average"), tunings(), {})
    assert result.current.observed_ms == pytest.approx((2600 + 2900 + 3100) / 3)
    # everything at 128 MB now and the target loose: the cheapest sizes are the current ones
    assert result.current.cost_per_execution == pytest.approx(result.recommended.cost_per_execution)
    assert result.current.duration_ms == pytest.approx(result.recommended.duration_ms)


@pytest.mark.parametrize(
    ("memory", "estimate"), [(512, None), (384, "interpolated"), (2048, "nearest"), (64, "nearest")]
)
def test_a_current_size_not_measured_is_estimated_and_marked(memory: int, estimate: str | None) -> None:
    result = recommend(make_plan(memory={arn("a"): memory}), tunings(), {})
    pick = next(f for f in result.functions if f.function_arn == arn("a"))
    assert pick.current_memory == memory
    assert pick.current_estimate == estimate
    assert ("currentEstimate" in pick.to_dict()) is (estimate is not None)


def test_an_interpolated_current_size_lies_between_its_neighbours() -> None:
    times = {}
    for memory in (256, 384, 512):
        result = recommend(make_plan(memory=dict.fromkeys(map(arn, CURVES), memory)), tunings(), {})
        times[memory] = result.current.duration_ms
    assert times[512] < times[384] < times[256]


def test_onerror_fail_with_a_failure_raises_naming_the_function() -> None:
    with pytest.raises(WorkflowTuningError, match=r"function:d: Boom: it broke"):
        recommend(make_plan(), tunings(), {arn("d"): "Boom: it broke"})


def test_onerror_skip_keeps_the_size_and_the_observed_time() -> None:
    runs = tunings()
    del runs[arn("d")]
    result = recommend(make_plan(on_error="skip", memory={arn("d"): 256}), runs, {arn("d"): "Boom: it broke"})
    d = next(f for f in result.functions if f.function_arn == arn("d"))
    assert (d.tuned, d.error, d.recommended_memory, d.current_memory) == (False, "Boom: it broke", 256, 256)
    assert d.to_dict()["error"] == "Boom: it broke"
    # the Map keeps d's observed 70-90 ms per item: 4 waves of 3
    m = next(s for s in result.steps if s.state == "M")
    assert m.share_of_time > 0


def test_a_skipped_function_without_observed_times_cannot_be_modelled() -> None:
    runs = tunings()
    del runs[arn("a")]
    with pytest.raises(WorkflowModelError, match="history holds no time for its state"):
        recommend(make_plan(on_error="skip"), runs, {arn("a"): "Boom: x"})


def test_a_function_without_a_tuning_or_a_failure_is_an_error() -> None:
    runs = tunings()
    del runs[arn("b")]
    with pytest.raises(WorkflowModelError, match=r"no tuning output and no failure for .*function:b"):
        recommend(make_plan(), runs, {})


def test_sizes_that_errored_are_not_chosen() -> None:
    runs = tunings()
    stats = runs[arn("a")]["stats"]
    stats[0]["errors"] = 3  # 128 MB ran out of memory
    result = recommend(make_plan(target=5000), runs, {})
    assert next(f for f in result.functions if f.function_arn == arn("a")).recommended_memory != 128


def test_steps_critical_path_and_fixed_states_describe_the_workflow() -> None:
    result = recommend(make_plan(), tunings(), {})
    assert [s.state for s in result.steps] == ["A", "P", "B", "C", "M", "D", "Ch", "E", "W"]
    assert {s.state: s.parent for s in result.steps if s.parent} == {
        "B": "P",
        "C": "P",
        "D": "M",
        "E": "Ch",
        "W": "Ch",
    }
    top = sum(s.share_of_time for s in result.steps if s.parent is None)
    assert top == pytest.approx(1.0)
    assert sum(f.share_of_time for f in result.functions) <= 1.0 + 1e-9
    assert result.critical_path[0] == "A"
    assert "M" in result.critical_path
    assert [(f.state, f.reason, f.ms) for f in result.fixed] == [("W", "Wait", 200.0)]
    assert result.executions == ("execution-1",)
    assert result.state_transitions == 19.0
