"""Fidelity: the primes example at 128-1024 MB locally, speed-ups next to the seed talk's measurements.

The seed talk measured primes <= 1,000,000 x1000 on Lambda: 11.72 s at 128 MB, 6.68 s at 256,
3.19 s at 512, 1.47 s at 1024 (128 -> 1024: 7.97x). Absolute times depend on the language and the
host; the speed-up between sizes is what the local runtime must reproduce (goal: within 15%).

    .venv/bin/python -m benchmarks.fidelity [--repeat 10] [--num 10] [--cpu-mode auto] [--isolated | --direct]

Besides the Duration the tuner sees, it prints the CPU time each invocation used: Duration x share
/ CPU time is how exactly the runtime enforced the share (1.00 = exact); the CPU time itself varies
with what else the machine runs. By default one execution of the state machine measures the four
sizes at once (its Map runs sizes in parallel); `--isolated` runs one execution per size;
`--direct` skips the state machine and invokes the runtime round-robin, one invocation per size per
round, so that every size meets the same moments of the machine's load (medians of `num` rounds).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

from benchmarks._common import REPO, load_average, tune
from powertuning.local.cpu import CFS_PERIOD_US, cpu_share
from powertuning.local.runtime import InvocationRecord, WorkerRuntime
from powertuning.local.target import FunctionSpec

SEED_S = {128: 11.72, 256: 6.68, 512: 3.19, 1024: 1.47}
GOAL = 0.15


def measure(
    sizes: list[int], repeat: int, num: int, cpu_mode: str, period_us: int
) -> tuple[dict[int, float], list[InvocationRecord], str, float]:
    """One execution: trimmed mean Duration (ms) per size, invocations, CPU mode, wall time."""
    run = tune(
        REPO / "examples" / "primes" / "handler.py",
        {"powerValues": sizes, "num": num, "payload": {"repeat": repeat}, "includeOutputResults": True},
        cpu_mode=cpu_mode,
        cfs_period_us=period_us,
    )
    assert run.outcome.output is not None
    durations = {int(s["value"]): float(s["averageDuration"]) for s in run.outcome.output["stats"]}
    return durations, run.records, run.mode, run.wall_s


def measure_direct(
    sizes: list[int], repeat: int, rounds: int, cpu_mode: str, period_us: int
) -> tuple[dict[int, float], list[InvocationRecord], str, float]:
    """Round-robin invocations through the runtime alone: median Duration (ms) per size."""
    records: list[InvocationRecord] = []
    code = REPO / "examples" / "primes"
    specs = {
        size: FunctionSpec("primes", "1", size, 900, "handler.handler", code, function_arn=f"primes-{size}")
        for size in sizes
    }
    event = f'{{"repeat": {repeat}}}'
    started = time.perf_counter()
    with WorkerRuntime(cpu_mode, on_invocation=records.append, cfs_period_us=period_us) as runtime:
        for spec in specs.values():
            runtime.invoke(spec, event)  # cold starts, left out below
        for i in range(rounds):
            for size in sizes[i % len(sizes) :] + sizes[: i % len(sizes)]:
                runtime.invoke(specs[size], event)
        mode = runtime.mode
    durations = {
        size: statistics.median(r.duration_ms for r in records if r.spec.memory_mb == size and not r.cold)
        for size in sizes
    }
    return durations, records, mode, time.perf_counter() - started


def main() -> None:
    """Measure, then print the table of speed-ups."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=10, help="prime computations per invocation")
    parser.add_argument("--num", type=int, default=10, help="invocations per size")
    parser.add_argument("--cpu-mode", default="model", choices=("model", "cgroup"))
    parser.add_argument("--cfs-period-us", type=int, default=CFS_PERIOD_US, help="CFS period (both modes)")
    layouts = parser.add_mutually_exclusive_group()
    layouts.add_argument("--isolated", action="store_true", help="one execution per size")
    layouts.add_argument("--direct", action="store_true", help="the runtime alone, sizes round-robin")
    args = parser.parse_args()

    print(f"before: {load_average()}")
    sizes = sorted(SEED_S)
    durations: dict[int, float] = {}
    records: list[InvocationRecord] = []
    wall = 0.0
    if args.direct:
        durations, records, mode, wall = measure_direct(
            sizes, args.repeat, args.num, args.cpu_mode, args.cfs_period_us
        )
        layout = "runtime alone, sizes round-robin, medians"
    else:
        for group in [[size] for size in sizes] if args.isolated else [sizes]:
            measured, seen, mode, seconds = measure(
                group, args.repeat, args.num, args.cpu_mode, args.cfs_period_us
            )
            durations.update(measured)
            records += seen
            wall += seconds
        layout = "one execution per size" if args.isolated else "one execution, sizes in parallel"
    print(f"after:  {load_average()}")
    mode += f" (CFS period {args.cfs_period_us} us)" if mode == "cgroup" else ""
    print(f"primes <= 1,000,000 x{args.repeat}, num {args.num}, CPU mode {mode}, {layout}, {wall:.1f} s\n")

    header = [
        "size",
        "Duration",
        "CPU time",
        "enforced",
        "seed",
        "speed-up",
        "seed's",
        "off by",
        "at eq. CPU",
    ]
    print("  ".join(f"{h:>10}" for h in header))
    cpu: dict[int, float] = {}
    for size in sizes:
        warm = [r for r in records if r.spec.memory_mb == size and not r.cold and r.status == "success"]
        cpu[size] = statistics.median(r.cpu_ms for r in warm)
        enforced = statistics.median(r.duration_ms * cpu_share(size) / r.cpu_ms for r in warm)
        cells = [f"{size} MB", f"{durations[size]:.1f} ms", f"{cpu[size]:.1f} ms", f"{enforced:.3f}"]
        print("  ".join(f"{c:>10}" for c in [*cells, f"{SEED_S[size]} s"]))
    worst = 0.0
    pairs = [*itertools.pairwise(sizes), (sizes[0], sizes[-1])]
    for small, large in pairs:
        local, seed = durations[small] / durations[large], SEED_S[small] / SEED_S[large]
        # The same speed-up if the host had run the work at one speed (its CPU time varies with load).
        equal_cpu = local * cpu[large] / cpu[small]
        worst = max(worst, abs(local / seed - 1))
        cells = [
            f"{small}->{large}",
            "",
            "",
            "",
            "",
            f"{local:.2f}x",
            f"{seed:.2f}x",
            f"{local / seed - 1:+.1%}",
        ]
        print("  ".join(f"{c:>10}" for c in [*cells, f"{equal_cpu:.2f}x"]))
    verdict = "met" if worst <= GOAL else "NOT met"
    print(f"\nlargest deviation from the seed's speed-ups: {worst:.1%} (goal: within {GOAL:.0%}): {verdict}")
    print("enforced = Duration x (memory / 1769) / CPU time, median of warm invocations; 1.000 = exact share")
    print("at eq. CPU = the speed-up with each size's Duration scaled to the same CPU time for the work")


if __name__ == "__main__":
    main()
