"""Fidelity: local speed-ups next to real Lambda's, in each CPU mode, on a quiet and on a busy machine.

The seed talk measured primes <= 1,000,000 x1000 on Lambda: 11.72 s at 128 MB, 6.68 s at 256,
3.19 s at 512, 1.47 s at 1024 (128 -> 1024: 7.97x). Absolute times depend on the language and the
host; the speed-up between sizes is what local mode must reproduce. Goals: every step within 15% of
the seed's, and the same steps within 5% of each other with and without two busy loops beside them.

    .venv/bin/python -m benchmarks.fidelity [--repeat 10] [--rounds 9] [--model-rounds 27]

One run measures each mode (model; cgroup where cgroup v1 is writable) at load 0 (whatever else the
machine runs: the load average is printed) and with two busy loops started by the benchmark
(bounded in time, killed when the phase ends). In each phase the runtime alone invokes the sizes
round-robin, so every size meets the same moments of the machine's load; the figures come from
the Duration on the REPORT lines, i.e. what the tuner reads: a speed-up is the median over rounds
of the ratio within a round (sizes measured minutes apart would also compare the host's drift).
Besides primes it measures a short-burst handler (5 ms of CPU per invocation), whose curve is
stepped on Lambda: a burst that fits in the quota left in the CFS period runs at full speed.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks._common import REPO, load_average
from powertuning.local.cpu import CFS_PERIOD_US, CGROUP, MODEL, cgroup_v1_available
from powertuning.local.cpu_model import cpu_duration_ms
from powertuning.local.runtime import WorkerRuntime
from powertuning.local.target import FunctionSpec
from powertuning.logs import parse_report

SEED_S = {128: 11.72, 256: 6.68, 512: 3.19, 1024: 1.47}
SIZES = sorted(SEED_S)
GOAL_SEED = 0.15
GOAL_LOADS = 0.05
BURST_CPU_MS = 5.0
PRIMES = REPO / "examples" / "primes"
BURST = REPO / "benchmarks" / "targets" / "burst"
# A busy loop that ends by itself after argv[1] seconds, should the benchmark die without killing it.
_BUSY = (
    "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"
)


@dataclass
class Phase:
    """One mode at one load: median Durations (ms) per size for primes and for the short burst."""

    mode: str
    busy_loops: int
    primes_runs: dict[int, list[float]]
    burst_runs: dict[int, list[float]]
    load_before: str
    load_after: str
    seconds: float

    @property
    def primes(self) -> dict[int, float]:
        """Median primes Duration per size (ms)."""
        return {size: statistics.median(runs) for size, runs in self.primes_runs.items()}

    @property
    def burst(self) -> dict[int, float]:
        """Median short-burst Duration per size (ms)."""
        return {size: statistics.median(runs) for size, runs in self.burst_runs.items()}

    def steps(self) -> list[tuple[str, float]]:
        """Speed-ups 128->256, 256->512, 512->1024 and 128->1024: medians of the per-round ratios."""
        pairs = [*itertools.pairwise(SIZES), (SIZES[0], SIZES[-1])]
        runs = self.primes_runs
        return [
            (f"{a}->{b}", statistics.median(x / y for x, y in zip(runs[a], runs[b], strict=True)))
            for a, b in pairs
        ]


@contextlib.contextmanager
def busy_loops(count: int, limit_s: float) -> Iterator[None]:
    """`count` processes spinning on a core each, for at most `limit_s` seconds; killed on exit."""
    loops = [subprocess.Popen([sys.executable, "-c", _BUSY, str(limit_s)]) for _ in range(count)]
    try:
        time.sleep(1.0)  # let the scheduler and the load average see them
        yield
    finally:
        for loop in loops:
            loop.kill()
        for loop in loops:
            loop.wait()


def durations(
    runtime: WorkerRuntime, code: Path, name: str, event: str, rounds: int
) -> dict[int, list[float]]:
    """REPORT Duration per size and round, `rounds` round-robin rounds (cold starts left out)."""
    specs = {
        size: FunctionSpec(name, "1", size, 900, "handler.handler", code, function_arn=name) for size in SIZES
    }
    seen: dict[int, list[float]] = {size: [] for size in SIZES}
    for spec in specs.values():
        runtime.invoke(spec, event)  # the cold start
    for i in range(rounds):
        for size in SIZES[i % len(SIZES) :] + SIZES[: i % len(SIZES)]:
            result = runtime.invoke(specs[size], event)
            if result.errored:
                raise SystemExit(f"{name} at {size} MB failed: {result.payload}")
            seen[size].append(parse_report(result.logs).duration_ms)
    return seen


def measure(mode: str, loops: int, args: argparse.Namespace) -> Phase:
    """Both handlers in one mode, with `loops` busy loops running beside them."""
    before = load_average()
    started = time.perf_counter()
    with (
        busy_loops(loops, args.busy_limit_s),
        WorkerRuntime(mode, cfs_period_us=args.cfs_period_us) as runtime,
    ):
        during = load_average()
        rounds = args.model_rounds if mode == MODEL else args.rounds
        primes = durations(runtime, PRIMES, "primes", f'{{"repeat": {args.repeat}}}', rounds)
        burst = durations(runtime, BURST, "burst", f'{{"cpu_ms": {BURST_CPU_MS}}}', args.burst_rounds)
    seconds = time.perf_counter() - started
    phase = Phase(mode, loops, primes, burst, before if loops == 0 else during, load_average(), seconds)
    print(
        f"  {mode}, {loops} busy loops: {seconds:.0f} s ({phase.load_before} -> {phase.load_after})",
        flush=True,
    )
    return phase


def report(phases: list[Phase], args: argparse.Namespace) -> None:
    """The side-by-side table, the goals, and the short-burst curves."""
    print(
        f"\nprimes <= 1,000,000 x{args.repeat}, {args.model_rounds} rounds (model) / {args.rounds} (cgroup); "
        f"CFS period {args.cfs_period_us} us\n"
    )
    seed_steps = [
        (n, SEED_S[int(n.split("->")[0])] / SEED_S[int(n.split("->")[1])]) for n, _ in phases[0].steps()
    ]
    header = ["mode", "load", *(name for name, _ in seed_steps), "worst vs seed"]
    rows = [["Lambda (seed talk)", "", *(f"{v:.2f}x" for _, v in seed_steps), ""]]
    for phase in phases:
        cells, worst = [], 0.0
        for (_, local), (_, seed) in zip(phase.steps(), seed_steps, strict=True):
            off = local / seed - 1
            worst = max(worst, abs(off))
            cells.append(f"{local:.2f}x ({off:+.1%})")
        load = f"{phase.busy_loops} busy loops" if phase.busy_loops else "quiet"
        rows.append([phase.mode, load, *cells, f"{worst:.1%} {'ok' if worst <= GOAL_SEED else 'MISSED'}"])
    _print(header, rows)

    print(f"\nquiet vs busy (goal: within {GOAL_LOADS:.0%}):")
    for mode in dict.fromkeys(p.mode for p in phases):
        quiet = next((p for p in phases if p.mode == mode and p.busy_loops == 0), None)
        busy = next((p for p in phases if p.mode == mode and p.busy_loops > 0), None)
        if quiet is None or busy is None:
            continue
        step_diffs = [b / q - 1 for (_, q), (_, b) in zip(quiet.steps(), busy.steps(), strict=True)]
        burst_diffs = [busy.burst[s] / quiet.burst[s] - 1 for s in SIZES]
        worst = max(abs(d) for d in step_diffs)
        print(
            f"  {mode}: primes steps {', '.join(f'{d:+.1%}' for d in step_diffs)} "
            f"-> worst {worst:.1%} {'ok' if worst <= GOAL_LOADS else 'MISSED'}; "
            f"burst Durations {', '.join(f'{d:+.1%}' for d in burst_diffs)}"
        )

    period_ms = args.cfs_period_us / 1000
    print(f"\nshort burst ({BURST_CPU_MS:g} ms of CPU), median Duration in ms:")
    header = ["mode", "load", *(f"{s} MB" for s in SIZES)]
    rows = [["linear share", "", *(f"{BURST_CPU_MS * 1769 / s:.1f}" for s in SIZES)]]
    rows.append(
        [
            "quota model (5 ms at full speed)",
            "",
            *(f"{cpu_duration_ms(BURST_CPU_MS, s, 1, period_ms):.1f}" for s in SIZES),
        ]
    )
    for phase in phases:
        load = f"{phase.busy_loops} busy loops" if phase.busy_loops else "quiet"
        rows.append([phase.mode, load, *(f"{phase.burst[s]:.1f}" for s in SIZES)])
    _print(header, rows)
    print(
        "\nprimes median Durations (ms): "
        + "; ".join(
            f"{p.mode}/{p.busy_loops}: " + ", ".join(f"{p.primes[s]:.0f}" for s in SIZES) for p in phases
        )
    )


def _print(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(
            "  ".join(
                cell.rjust(w) if i > 1 else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def main() -> None:
    """Measure every mode at both loads, then print the tables."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=10, help="prime computations per invocation")
    parser.add_argument("--rounds", type=int, default=9, help="primes invocations per size, cgroup phases")
    # The model runs the work at full speed, so more rounds cost little and average out the host's
    # own speed changes (the model's only source of noise: the CPU time the same work takes here).
    parser.add_argument(
        "--model-rounds", type=int, default=27, help="primes invocations per size, model phases"
    )
    parser.add_argument(
        "--burst-rounds", type=int, default=15, help="short-burst invocations per size and phase"
    )
    parser.add_argument("--modes", default=f"{MODEL},{CGROUP}", help="comma-separated CPU modes")
    parser.add_argument("--busy-loops", type=int, default=2, help="busy loops in the loaded phase")
    parser.add_argument(
        "--busy-limit-s", type=float, default=600, help="a busy loop ends after this at the latest"
    )
    parser.add_argument("--cfs-period-us", type=int, default=CFS_PERIOD_US, help="quota period (both modes)")
    args = parser.parse_args()

    modes = [m for m in args.modes.split(",") if m]
    if CGROUP in modes and not cgroup_v1_available():
        print("cgroup mode: no writable cgroup v1 cpu hierarchy here; measuring the model only")
        modes.remove(CGROUP)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; start: {load_average()}")
    phases = [measure(mode, loops, args) for mode in modes for loops in (0, args.busy_loops)]
    report(phases, args)


if __name__ == "__main__":
    main()
