"""Plan a fleet run before paying for it: 1,000 simulated functions through the fleet state machine.

    python -m benchmarks.fleet [--functions 1000] [--concurrency 5 --concurrency 20 --concurrency 100]

Each function gets a measured duration curve from ../shared/data (benchmarks/exploration_curves.py's
loaders: SeBS 2020 and mbwilding's runtime benchmarks), a current memory size and 14 days of
traffic, and is tuned by the reference algorithm (fixed sampling, `num` per size, `strategy: cost`)
on its curve. The benchmark prints what it computes:

- the parent execution's history events, counted from statemachine/fleet.asl.json's top-level
  states (a Distributed Map's child workflows keep their own histories: nothing per function lands
  in the parent's), against the 25,000-event limit;
- the state payload sizes: the resolver's output (the items go to S3), one item, one child
  workflow's largest state, the summary step's output; and the S3 objects (item list, summary);
- wall time of the whole fleet at each concurrency (each tuning's wall time from its curve plus a
  stated per-tuning overhead), and the peak of concurrent invocations and Lambda API calls;
- per function: state transitions (fleet child workflow + tuning), Lambda GB-s and cost;
- the fleet summary itself (powertuning.fleet_summary.summarize over the simulated outcomes): the
  estimated monthly saving and how long ranking 1,000 functions takes.
"""

from __future__ import annotations

import argparse
import heapq
import json
import statistics
import time
from random import Random
from typing import Any

from benchmarks.exploration_curves import Curve, default_curve_specs, load_curves
from benchmarks.exploration_simulation import REGION, run_fixed
from powertuning.asl import fleet_definition_text
from powertuning.fleet_request import DEFAULT_MAX_CONCURRENCY, FleetRequest, FunctionInfo
from powertuning.fleet_selection import select
from powertuning.fleet_summary import FunctionOutcome, Usage, monthly_cost, summarize
from powertuning.limits import MAX_STATE_BYTES
from powertuning.pricing import lambda_price, transition_price

ACCOUNT = "123456789012"
# Step Functions' limit of events in one execution's history.
MAX_HISTORY_EVENTS = 25_000
NUM = 10
# What a tuning spends besides invoking: Initializer, one Publisher call per size (update, publish,
# alias; waits for the update), Cleaner, Analyzer, Optimizer and Step Functions' own scheduling.
# An assumption, stated: about 2 s per size plus 5 s per tuning on AWS.
OVERHEAD_PER_SIZE_S = 2.0
OVERHEAD_PER_TUNING_S = 5.0
# Lambda control-plane calls per published size: UpdateFunctionConfiguration, PublishVersion,
# CreateAlias, and the Cleaner's DeleteAlias, DeleteFunction(version), plus one restore per tuning.
CONTROL_CALLS_PER_SIZE = 5
# History events of each top-level state type on AWS (entered/exited, scheduled/started/succeeded).
EVENTS_BY_TYPE = {"Task": 5, "Map": 6, "Choice": 2, "Pass": 2, "Succeed": 2, "Fail": 1}
# A Distributed Map child workflow of fleet.asl.json: start, TuneFunction (entered, scheduled,
# started, submitted, succeeded, exited), Tuned (entered, exited), end.
CHILD_WORKFLOW_EVENTS = 10
CHILD_WORKFLOW_TRANSITIONS = 2  # TuneFunction, Tuned


def parent_history_events() -> int:
    """Events of the parent execution on its success path: independent of the fleet's size."""
    states = json.loads(fleet_definition_text())["States"]
    path = ["ResolveFleet", "TuneEachFunction", "Summarize", "WithinTolerance", "FleetDone"]
    return 2 + sum(EVENTS_BY_TYPE[states[name]["Type"]] for name in path)


def parent_transitions() -> int:
    """State transitions of the parent on its success path (the Map counts once)."""
    return 5


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())


def makespan_s(durations: list[float], concurrency: int) -> float:
    """Wall time of running these tunings `concurrency` at a time, in the order given."""
    slots = [0.0] * min(concurrency, len(durations))
    heapq.heapify(slots)
    for duration in durations:
        heapq.heappush(slots, heapq.heappop(slots) + duration)
    return max(slots, default=0.0)


def simulate(functions: int, seed: int, concurrencies: list[int]) -> None:
    rng = Random(seed)
    curves: list[Curve] = [c for spec in default_curve_specs() for c in load_curves(spec)]
    print(f"{len(curves)} measured curves: {', '.join(c.name for c in curves)}")
    arns = [f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:service-{i:04d}-handler" for i in range(functions)]
    defaults = {"num": NUM, "strategy": "cost"}
    request = FleetRequest.from_dict({"functions": arns, "defaults": defaults})

    started = time.perf_counter()
    infos, runs, outcomes, usage = [], [], [], {}
    for arn in arns:
        curve = rng.choice(curves)
        current = rng.choice(curve.sizes)
        info = FunctionInfo(
            arn=arn, name=arn.split(":")[6], memory_size=current, architecture=curve.architecture
        )
        run = run_fixed(curve, "cost", NUM, rng, lambda_price(REGION, curve.architecture), cold=False)
        # What the tuning's output carries: per-size average price, the pick and its cost.
        truth = {size: curve.at(size).steady for size in run.per_size}
        price = lambda_price(REGION, curve.architecture)
        stats: list[dict[str, Any]] = []
        for size, observed in truth.items():
            entry: dict[str, Any] = {"value": size}
            entry["averagePrice"] = statistics.fmean(
                price.invocation_cost(o.duration_ms + o.init_ms, size) for o in observed
            )
            stats.append(entry)
            # The other keys of a stats entry (includeOutputResults), so the payload sizes are real.
            durations = [o.duration_ms for o in observed]
            entry.update(
                {
                    k: round(statistics.fmean(durations), 2)
                    for k in ("averageDuration", "p50", "p90", "p95", "p99")
                }
            )
            entry.update({"totalCost": entry["averagePrice"] * NUM, "invocations": NUM, "coldStarts": 0})
            entry.update({"errors": 0, "gbSeconds": run.gb_seconds / len(stats), "transitions": 3})
        by_size = {s["value"]: s["averagePrice"] for s in stats}
        output = {
            "power": run.chosen,
            "cost": by_size[run.chosen],
            "duration": 0.0,
            "stateMachine": {"executionCost": run.step_functions_usd, "lambdaCost": run.lambda_usd},
            "stats": stats,
        }
        invocations = rng.lognormvariate(11, 2.0)  # median ~60,000 in 14 days, a long tail
        average = statistics.fmean(o.duration_ms for o in truth.get(current, curve.at(current).steady))
        usage[arn] = Usage(invocations=invocations, average_duration_ms=average)
        infos.append(info)
        runs.append(run)
        outcomes.append(
            FunctionOutcome.from_record(
                {
                    "functionArn": arn,
                    "memorySize": current,
                    "architecture": info.architecture,
                    "status": "SUCCEEDED",
                    "output": output,
                }
            )
        )
    simulated_s = time.perf_counter() - started

    # -- the parent execution ----------------------------------------------------------------
    events = parent_history_events()
    print(
        f"\nParent execution: {events} history events for {functions:,} functions "
        f"(limit {MAX_HISTORY_EVENTS:,});"
    )
    print("  independent of the fleet's size: each function's events are in its child workflow and tuning.")
    selection = select(
        request, infos, own_functions=[], fleet_execution="arn:aws:states:us-east-1:1:execution:f:x"
    )
    resolver_output = {
        **selection.to_dict(),
        "items": {"bucket": "powertuning-fleet-results-abcdef", "key": "fleet/x/items.json"},
        "results": {"bucket": "powertuning-fleet-results-abcdef", "prefix": "fleet/x"},
        "maxConcurrency": DEFAULT_MAX_CONCURRENCY,
        "toleratedFailurePercentage": 100.0,
    }
    items = [item.to_dict() for item in selection.items]
    largest_output = max((o.output for o in outcomes if o.output), key=_size)
    child_state = {**items[0], "tuning": {"executionArn": "arn:" + "x" * 120, "output": largest_output}}
    summary_started = time.perf_counter()
    summary = summarize(outcomes, usage, region=REGION).to_dict()
    summary_s = time.perf_counter() - summary_started
    summary_state = {
        **resolver_output,
        "mapRun": {"ResultWriterDetails": {"Bucket": "b", "Key": "k" * 80}},
        "summary": {"summary": {"bucket": "b", "key": "fleet/x/summary.json"}, "totals": summary["totals"]},
    }
    print(f"\nState payloads (limit {MAX_STATE_BYTES:,} bytes per state):")
    print(
        f"  resolver output (parent state): {_size(resolver_output):,} bytes; "
        f"the {functions:,} items go to S3"
    )
    print(f"  one item: {_size(items[0]):,} bytes; item list in S3: {_size(items):,} bytes")
    print(f"  largest child workflow state (item + tuning output with stats): {_size(child_state):,} bytes")
    print(f"  parent state after the summary step: {_size(summary_state):,} bytes")
    print(f"  summary JSON in S3: {_size(summary):,} bytes")
    print(f"  GetMetricData calls: {-(-2 * functions // 500)} (two queries per function, 500 a call)")

    # -- time ----------------------------------------------------------------------------------
    durations = [
        r.wall_ms / 1000 + OVERHEAD_PER_TUNING_S + OVERHEAD_PER_SIZE_S * len(r.per_size) for r in runs
    ]
    sizes = statistics.fmean(len(r.per_size) for r in runs)
    print(
        f"\nOne tuning (num {NUM}, sequential invocations): median {statistics.median(durations):,.0f} s, "
        f"p90 {sorted(durations)[int(0.9 * len(durations))]:,.0f} s, max {max(durations):,.0f} s "
        f"(curve time + {OVERHEAD_PER_TUNING_S:g} s + {OVERHEAD_PER_SIZE_S:g} s per size, assumed)"
    )
    for concurrency in concurrencies:
        wall = makespan_s(durations, concurrency)
        per_s = concurrency * sizes * CONTROL_CALLS_PER_SIZE / statistics.fmean(durations)
        print(
            f"  maxConcurrency {concurrency:>3}: fleet wall time {wall / 3600:,.1f} h; at most "
            f"{concurrency * int(sizes)} concurrent invocations ({concurrency * int(sizes) * NUM} with "
            f"parallelInvocation); ~{per_s:.1f} Lambda control-plane calls/s on average"
        )

    # -- cost ----------------------------------------------------------------------------------
    # run_fixed prices analysis.count_transitions of the tuning: read the count back from its cost.
    transitions = [round(r.step_functions_usd / transition_price(REGION)) for r in runs]
    tuning_usd = [r.lambda_usd + r.step_functions_usd for r in runs]
    print("\nPer function (tuning + its fleet child workflow):")
    print(
        f"  state transitions: median {statistics.median(transitions) + CHILD_WORKFLOW_TRANSITIONS:.0f} "
        f"(child workflow {CHILD_WORKFLOW_TRANSITIONS}, {CHILD_WORKFLOW_EVENTS} history events)"
    )
    gb_s = [r.gb_seconds for r in runs]
    print(f"  Lambda: median {statistics.median(gb_s):,.1f} GB-s, mean {statistics.fmean(gb_s):,.1f} GB-s")
    print(
        f"  cost: median ${statistics.median(tuning_usd):.4f}, mean ${statistics.fmean(tuning_usd):.4f}; "
        f"fleet of {functions:,}: ${sum(tuning_usd):,.2f} + parent {parent_transitions()} transitions"
    )

    # -- where the money is ----------------------------------------------------------------------
    totals = summary["totals"]
    current_total = sum(monthly_cost(usage[i.arn], i.memory_size, i.architecture, REGION) for i in infos)
    print(
        f"\nSummary of {functions:,} functions ranked in {summary_s * 1000:,.0f} ms: monthly saving "
        f"${totals['monthlySaving']:,.2f} of ${current_total:,.2f}; tuning cost ${totals['tuningCost']:,.2f}"
    )
    for row in summary["functions"][:5]:
        print(
            f"  {row['functionArn'].split(':')[6]}: {row['memorySize']} -> {row['recommendedMemory']} MB, "
            f"saves ${row['monthlySaving']:,.2f}/month"
        )
    print(f"\n(simulated in {simulated_s:,.1f} s, seed {seed})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, action="append")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    simulate(args.functions, args.seed, args.concurrency or [DEFAULT_MAX_CONCURRENCY, 20, 100])


if __name__ == "__main__":
    main()
