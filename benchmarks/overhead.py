"""Overhead: what local mode adds to each warm invocation, and the wall time of `make demo`.

    .venv/bin/python -m benchmarks.overhead [--num 100] [--rounds 3] [--no-demo]

1. Runtime alone: `WorkerRuntime.invoke` round trips on a no-op handler, minus the Duration it
   reports (spawn excluded: warm invocations only).
2. Whole local execution: the real state machine on moto with the no-op target at one size, `num`
   sequential invocations. Per warm invocation: the gap between two consecutive invocations ending,
   minus the latter's Duration (median), and the issue's definition: total execution time divided
   by invocations, minus function time (Duration + Init Duration).
3. The demo: `powertune local --handler examples/primes/handler.py:handler` (6 sizes x 10), timed.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._common import REPO, load_average, tune
from powertuning.local.runtime import WorkerRuntime
from powertuning.local.target import FunctionSpec
from powertuning.logs import parse_report

NOOP = REPO / "benchmarks" / "targets" / "noop" / "handler.py"


def runtime_overhead(invocations: int) -> list[float]:
    """Per warm invocation: round trip through the runtime minus the reported Duration (ms)."""
    spec = FunctionSpec(
        function_name="noop",
        version="$LATEST",
        memory_mb=1024,
        timeout_s=30,
        handler="handler.handler",
        code_dir=NOOP.parent,
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:noop",
    )
    out = []
    with WorkerRuntime() as runtime:
        runtime.invoke(spec, "{}")  # the cold start
        for _ in range(invocations):
            started = time.perf_counter()
            result = runtime.invoke(spec, "{}")
            elapsed = (time.perf_counter() - started) * 1000
            out.append(elapsed - parse_report(result.logs).duration_ms)
    return out


def execution_overhead(num: int) -> tuple[list[float], float, float]:
    """Gaps between invocations minus Duration (ms), the issue's per-invocation figure (ms), wall (s)."""
    run = tune(NOOP, {"powerValues": [1024], "num": num})
    ended = list(zip(run.ended_at, run.records, strict=True))
    gaps = [(t1 - t0) * 1000 - r1.duration_ms for (t0, _), (t1, r1) in itertools.pairwise(ended)]
    function_ms = sum(r.duration_ms + (r.init_duration_ms or 0.0) for r in run.records)
    per_invocation = (run.wall_s * 1000 - function_ms) / len(run.records)
    return gaps, per_invocation, run.wall_s


def demo_wall() -> float:
    """Seconds for the demo command, as `make demo` runs it."""
    command = [
        str(Path(sys.executable).with_name("powertune")),
        "local",
        "--handler",
        "examples/primes/handler.py:handler",
    ]
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--num", type=int, default=100, help="invocations per execution (5-1000)")
    parser.add_argument("--rounds", type=int, default=3, help="executions to measure")
    parser.add_argument("--no-demo", action="store_true", help="skip timing the demo")
    args = parser.parse_args()

    print(f"before: {load_average()}")
    alone = runtime_overhead(args.num)
    print(
        f"runtime alone, {len(alone)} warm invocations: median {statistics.median(alone):.2f} ms, "
        f"p90 {statistics.quantiles(alone, n=10)[-1]:.2f} ms per invocation"
    )
    gaps: list[float] = []
    totals = []
    for i in range(args.rounds):
        round_gaps, per_invocation, wall = execution_overhead(args.num)
        gaps += round_gaps
        totals.append(per_invocation)
        print(
            f"execution {i + 1}: {args.num} invocations in {wall:.2f} s; (total - function time) / "
            f"invocations = {per_invocation:.2f} ms; median gap {statistics.median(round_gaps):.2f} ms"
        )
    print(
        f"whole local execution: median overhead per warm invocation {statistics.median(gaps):.2f} ms "
        f"(p90 {statistics.quantiles(gaps, n=10)[-1]:.2f} ms); (total - function time) / invocations, "
        f"median of {args.rounds} executions: {statistics.median(totals):.2f} ms (goal: <= 20 ms)"
    )
    if not args.no_demo:
        print(f"demo (6 sizes x 10 invocations of examples/primes): {demo_wall():.1f} s wall (goal: < 180 s)")
    print(f"after:  {load_average()}")


if __name__ == "__main__":
    main()
