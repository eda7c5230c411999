"""The workflow tuner on workflows built from measured curves: what the joint choice saves, how long
it takes to solve, and what the tuning itself costs.

    python -m benchmarks.workflow [--functions 5 --functions 15 --functions 30] [--num 50]
                                  [--statistic p90] [--draws 2000] [--seed 1]

Each function of a workflow gets a curve from ../shared/data (benchmarks/exploration_curves.py's
loaders: SeBS 2020 and mbwilding's runtime benchmarks), its times scaled by a random factor in
[0.5, 2] so that 30 functions are not 11 curves repeated; 12 sizes from 128 to 2,048 MB (a curve's
measured range bounds them: SeBS 311 starts at 256 MB). Its child tuning is simulated as the tuner
runs it (`num` invocations per size drawn from the curve, powertuning.analysis.summarize: the stats
item the tuner writes), and powertuning.workflow.recommend picks the sizes from those items alone.

Printed per workflow and target (the target: the end-to-end statistic when every function takes the
size its own tuning picks for cost, tightened by 10%, 25% and 40%):
- the joint pick: cost per execution, predicted statistic, and the same figures on the measured
  curves (a Monte Carlo of the whole populations: what the pick really does);
- each function alone for its own cost (strategy cost, the reference tool's default): the baseline
  the saving is against, which misses every target tighter than its own statistic;
- the target met by raising every function equally: the same number of size steps up from each
  one's own cheapest, the fewest steps that meet the target;
- each function alone for speed (strategy speed): what meeting a target without a model costs;
- the solver: method, evaluations, maximum gap, seconds; and the whole of recommend()'s time;
- the tuning's own cost and wall time: powertuning.fleet_summary.estimated_tuning_cost (the fleet's
  --plan upper estimate), the simulated tunings' Lambda cost, and the wall time of the child
  tunings run 5 at a time (the fleet's default maxConcurrency) with the fleet benchmark's assumed
  overheads.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from random import Random
from typing import Any

from benchmarks._common import load_average
from benchmarks.exploration_curves import Curve, Obs, default_curve_specs, load_curves
from benchmarks.fleet import OVERHEAD_PER_SIZE_S, OVERHEAD_PER_TUNING_S, makespan_s
from powertuning.analysis import count_transitions, summarize
from powertuning.fleet_request import DEFAULT_MAX_CONCURRENCY, FunctionInfo
from powertuning.fleet_summary import Usage, estimated_tuning_cost
from powertuning.pricing import lambda_price, step_functions_cost, transition_price
from powertuning.size_stats import SizeStats
from powertuning.workflow import graph as g
from powertuning.workflow.duration import Duration
from powertuning.workflow.plan import PlannedFunction, WorkflowPlan
from powertuning.workflow.recommend import recommend
from powertuning.workflow.request import WorkflowRequest
from powertuning.workflow.simulate import Option, Simulation, expected_calls

REGION = "us-east-1"
ACCOUNT = "123456789012"
SIZES = (128, 256, 384, 512, 640, 768, 896, 1024, 1280, 1536, 1792, 2048)
TIGHTEN = (0.9, 0.75, 0.6)
TRIM = 0.2


def arn(i: int) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:step-{i:02d}"


def workflow(functions: int) -> g.Node:
    """A workflow of 5, 15 or 30 functions: sequences, fan-outs (Parallel), Maps and a Choice."""
    t = [g.Task(f"Step{i:02d}", arn(i), overhead_ms=25.0) for i in range(functions)]
    if functions == 5:
        return g.Sequence((t[0], g.Parallel("FanOut", (t[1], t[2])), t[3], t[4]))
    if functions == 15:
        return g.Sequence(
            (
                t[0],
                t[1],
                g.Parallel("FanOut", (g.Sequence((t[2], t[3])), g.Sequence((t[4], t[5])), t[6])),
                g.Map("EachItem", g.Sequence((t[7], t[8])), ((20, 1.0),), 5),
                g.Choice("Route", ((0.3, g.Sequence((t[9], t[10]))), (0.7, t[11]))),
                t[12],
                t[13],
                t[14],
            )
        )
    if functions == 30:
        return g.Sequence(
            (
                *t[0:4],
                g.Parallel("FanOut", tuple(g.Sequence(tuple(t[4 + 3 * b : 7 + 3 * b])) for b in range(4))),
                g.Map("EachOrder", g.Sequence(tuple(t[16:19])), ((10, 1.0), (30, 1.0)), 10),
                g.Choice("Route", ((0.5, g.Sequence(tuple(t[19:22]))), (0.5, g.Sequence((t[22], t[23]))))),
                g.Parallel("Finish", (g.Map("EachLine", t[24], ((50, 1.0),), 0), g.Sequence((t[25], t[26])))),
                g.Fixed("WaitForSettlement", (200.0, 250.0, 400.0), "Wait"),
                *t[27:30],
            )
        )
    raise SystemExit(f"--functions is 5, 15 or 30, got {functions}")


class Function:
    """One function of the benchmark: its curve, scaled, and the sizes it is tuned at."""

    def __init__(self, index: int, curve: Curve, scale: float) -> None:
        self.arn, self.curve, self.scale = arn(index), curve, scale
        low, high = curve.sizes[0], curve.sizes[-1]
        self.sizes = tuple(s for s in SIZES if low <= s <= high)
        self.price = lambda_price(REGION, curve.architecture)

    def population(self, memory: int) -> list[Obs]:
        steady = self.curve.at(memory).steady
        return [Obs(o.duration_ms * self.scale, o.init_ms * self.scale) for o in steady]

    def tune(self, num: int, rng: Random) -> tuple[dict[str, Any], float, float, int]:
        """The child tuning's output (stats of `num` draws per size), its Lambda cost, wall ms and
        state transitions."""
        results, wall, lambda_cost = [], 0.0, 0.0
        for memory in self.sizes:
            pool = self.population(memory)
            reports = [pool[rng.randrange(len(pool))].report(memory) for _ in range(num)]
            result = summarize(memory, reports, self.price, TRIM)
            results.append(result)
            lambda_cost += result.total_cost
            wall = max(wall, sum(r.measured_duration_ms for r in reports))
        stats = [{k: v for k, v in r.to_dict().items() if k not in ("samples", "skipped")} for r in results]
        cheapest = min(results, key=lambda r: r.average_price)
        output = {
            "power": cheapest.value,
            "cost": cheapest.average_price,
            "duration": cheapest.average_duration,
            "stateMachine": {"executionCost": 0.0, "lambdaCost": lambda_cost, "visualization": ""},
            "stats": stats,
        }
        return output, lambda_cost, wall, count_transitions(len(results), results)

    def truth(self) -> list[Option]:
        """Every size as measured: the whole population, priced invocation by invocation."""
        out = []
        for memory in self.sizes:
            pool = self.population(memory)
            cost = statistics.fmean(
                self.price.invocation_cost(o.duration_ms + o.init_ms, memory) for o in pool
            )
            durations = [o.duration_ms + o.init_ms for o in pool]
            out.append(Option(memory, self.curve.architecture, cost, Duration.empirical(durations)))
        return out


def run(
    functions: Sequence[int] = (5, 15, 30),
    *,
    num: int = 50,
    statistic: str = "p90",
    draws: int = 2000,
    seed: int = 1,
    seconds: float | None = None,
) -> None:
    rng = Random(seed)
    curves = [c for spec in default_curve_specs() for c in load_curves(spec)]
    print(f"{len(curves)} measured curves: {', '.join(c.name for c in curves)}")
    print(f"statistic {statistic}, {draws} Monte Carlo draws, num {num} per size, region {REGION}")
    print(f"{load_average()}\n")
    for count in functions:
        _one(count, rng, curves, num=num, statistic=statistic, draws=draws, seconds=seconds)


def _one(
    count: int,
    rng: Random,
    curves: list[Curve],
    *,
    num: int,
    statistic: str,
    draws: int,
    seconds: float | None,
) -> None:
    root = workflow(count)
    fns = [Function(i, rng.choice(curves), rng.uniform(0.5, 2.0)) for i in range(count)]
    tuned = [f.tune(num, rng) for f in fns]
    outputs = {f.arn: t[0] for f, t in zip(fns, tuned, strict=True)}
    transitions = float(sum(1 for n in g.walk(root) if not isinstance(n, g.Sequence)) + 2)
    space = 1
    for f in fns:
        space *= len(f.sizes)
    sizes = sum(len(f.sizes) for f in fns) / count
    print(f"== {count} functions, {sizes:.1f} sizes each ({space:.2e} assignments)")

    # The baselines, on the model the tuner builds from the stats items (the same draws as recommend's).
    model = {f.arn: _options(outputs[f.arn], f) for f in fns}
    calls = expected_calls(root)
    sim = Simulation(root, model, draws=draws, seed=0)
    fixed_cost = transitions * transition_price(REGION)
    solo = {a: _best(o, lambda option: option.cost) for a, o in model.items()}
    speed = {a: _best(o, lambda option: option.duration.mean()) for a, o in model.items()}
    truth_sim = Simulation(root, {f.arn: f.truth() for f in fns}, draws=draws, seed=7)

    def figures(choice: dict[str, int]) -> tuple[float, float, float]:
        cost = fixed_cost + sum(calls[a] * model[a][i].cost for a, i in choice.items())
        return cost, sim.statistic(choice, statistic), truth_sim.statistic(choice, statistic)

    solo_cost, solo_stat, solo_true = figures(solo)
    speed_cost, speed_stat, _ = figures(speed)
    print(
        f"  each alone for cost:  {solo_cost * 1e6:9.2f} µUSD/execution, {statistic} {solo_stat:8.0f} ms "
        f"predicted, {solo_true:8.0f} ms measured"
    )
    print(
        f"  each alone for speed: {speed_cost * 1e6:9.2f} µUSD/execution, {statistic} {speed_stat:8.0f} ms "
        "predicted"
    )
    for tighten in TIGHTEN:
        target = solo_stat * tighten
        plan = _plan(root, fns, target=target, statistic=statistic, transitions=transitions, rng=rng)
        started = time.perf_counter()
        result = recommend(plan, outputs, {}, draws=draws, seconds=seconds)
        wall = time.perf_counter() - started
        pick = {p.function_arn: _index(model[p.function_arn], p.recommended_memory) for p in result.functions}
        cost, predicted, measured = figures(pick)
        uniform = _uniform(sim, model, solo, statistic, target)
        line = f"  target {statistic} <= {target:8.0f} ms ({tighten:.0%} of alone-for-cost): "
        if not result.met:
            print(line + f"unreachable (lowest {result.recommended.duration_ms:.0f} ms predicted)")
            continue
        verdict = "meets" if measured <= target else "MISSES"
        print(line + f"joint {cost * 1e6:9.2f} µUSD, {predicted:8.0f} ms predicted,")
        print(f"    {measured:8.0f} ms measured on the curves ({verdict} the target)")
        if uniform is None:
            print("    raising every function equally: no step count meets the target")
        else:
            steps, choice = uniform
            u_cost, _, u_measured = figures(choice)
            print(
                f"    raising every function {steps} step(s): {u_cost * 1e6:9.2f} µUSD "
                f"({u_measured:.0f} ms measured): the joint pick saves {(u_cost - cost) / u_cost:6.1%}"
            )
        print(
            f"    the joint pick costs {(cost - solo_cost) / solo_cost:+6.1%} vs each alone for cost "
            f"(which misses the target), saves {(speed_cost - cost) / speed_cost:6.1%} vs alone for speed"
        )
        s = result.solver
        print(
            f"    solver: {s.method}, {s.evaluated} evaluations, max gap {s.max_gap_pct:.1f}%, "
            f"{s.seconds:.2f} s; recommend() {wall:.2f} s in all"
        )
    _tuning_cost(fns, tuned, num)
    print()


def _options(output: dict[str, Any], f: Function) -> list[Option]:
    return [
        Option(s["value"], f.curve.architecture, s["averagePrice"], Duration.from_stats(_stats(s), TRIM))
        for s in output["stats"]
    ]


def _stats(item: dict[str, Any]) -> SizeStats:
    return SizeStats.from_dict(item)


def _best(options: list[Option], key: Callable[[Option], float]) -> int:
    return min(range(len(options)), key=lambda i: key(options[i]))


def _index(options: list[Option], memory: int) -> int:
    return next(i for i, o in enumerate(options) if o.memory == memory)


def _uniform(
    sim: Simulation, model: dict[str, list[Option]], start: dict[str, int], statistic: str, target: float
) -> tuple[int, dict[str, int]] | None:
    """The fewest equal size steps up from each function's cheapest that meet the target."""
    by_memory = {
        a: [o.index(x) for x in sorted(o, key=lambda option: option.memory)] for a, o in model.items()
    }
    for steps in range(len(max(by_memory.values(), key=len))):
        choice = {}
        for a, order in by_memory.items():
            position = order.index(start[a])
            choice[a] = order[min(position + steps, len(order) - 1)]
        if sim.statistic(choice, statistic) <= target:
            return steps, choice
    return None


def _plan(
    root: g.Node, fns: list[Function], *, target: float, statistic: str, transitions: float, rng: Random
) -> WorkflowPlan:
    request = WorkflowRequest.from_dict(
        {
            "stateMachineArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:benchmark",
            "maxDurationMs": target,
            "durationStatistic": statistic,
            "powerValues": list(SIZES),
        }
    )
    planned = tuple(
        PlannedFunction(f.arn, rng.choice((128, 512, 1000, 1024)), f.curve.architecture, {}, "history", 1.0)
        for f in fns
    )
    return WorkflowPlan(request, ("benchmark",), root, planned, (), transitions, REGION)


def _tuning_cost(
    fns: list[Function], tuned: list[tuple[dict[str, Any], float, float, int]], num: int
) -> None:
    estimate_lambda = estimate_sfn = 0.0
    for f, (output, _, _, _) in zip(fns, tuned, strict=True):
        info = FunctionInfo(
            arn=f.arn, name=f.arn.split(":")[6], memory_size=1024, architecture=f.curve.architecture
        )
        at_1024 = next((s["averageDuration"] for s in output["stats"] if s["value"] == 1024), None)
        estimate = estimated_tuning_cost(
            info, {"powerValues": list(f.sizes), "num": num}, Usage(1.0, at_1024), REGION
        )
        estimate_lambda += estimate["lambdaCost"]
        estimate_sfn += estimate["stepFunctionsCost"]
    simulated_lambda = sum(t[1] for t in tuned)
    simulated_sfn = sum(step_functions_cost(t[3], REGION) for t in tuned)
    walls = [
        t[2] / 1000 + OVERHEAD_PER_TUNING_S + OVERHEAD_PER_SIZE_S * len(f.sizes)
        for f, t in zip(fns, tuned, strict=True)
    ]
    wall_min = makespan_s(walls, DEFAULT_MAX_CONCURRENCY) / 60
    print(
        f"  tuning: {len(fns)} child tunings, simulated ${simulated_lambda + simulated_sfn:.4f} "
        f"(Lambda ${simulated_lambda:.4f} + Step Functions ${simulated_sfn:.4f});"
    )
    print(
        f"    fleet --plan estimate ${estimate_lambda + estimate_sfn:.4f}; wall {wall_min:.1f} min "
        f"{DEFAULT_MAX_CONCURRENCY} at a time (the longest tuning {max(walls):.0f} s)"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--functions", type=int, action="append", choices=(5, 15, 30))
    parser.add_argument("--num", type=int, default=50)
    parser.add_argument("--statistic", default="p90", choices=("average", "p50", "p90", "p95", "p99"))
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    run(
        args.functions or (5, 15, 30),
        num=args.num,
        statistic=args.statistic,
        draws=args.draws,
        seed=args.seed,
    )


if __name__ == "__main__":
    main()
