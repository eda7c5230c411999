"""A synthetic stepped curve for the exploration benchmark, from the local runtime's CPU model.

    python -m benchmarks.stepped_curve --cpu-ms 8 --off-cpu-ms 5 --out stepped.csv
    python -m benchmarks.exploration --curve stepped.csv --runs 30 --compact

Short CPU bursts give Lambda a stepped curve: the share is enforced per slice, and a burst that fits
in one slice's quota runs at full speed (`powertuning/local/cpu_model.py`, docs/local.md). The
measured curves in ../shared/data are long-running and smooth, so this one checks what they cannot:
a model of duration against memory that fits a few probes of such a curve can be badly wrong
between them. Sizes 128 + 52 k MB up to 10,216 (195 sizes, like a study's every-52-MB sweep),
durations `off-CPU + CPU work at the quota`, lognormal noise, and cold rows with an Init Duration:
written as the benchmark's plain CSV (`memory_mb,duration_ms,is_cold,init_ms`). Synthetic: a check
of robustness, not a measurement of Lambda.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from random import Random

from powertuning.local.cpu_model import cpu_duration_ms

SIZES = tuple(range(128, 10241, 52))


def rows(cpu_ms: float, off_cpu_ms: float, sigma: float, init_ms: float, seed: int) -> list[str]:
    """The CSV lines: 100 warm and 30 cold invocations per size."""
    rng = Random(seed)
    out = ["memory_mb,duration_ms,is_cold,init_ms"]
    for memory in SIZES:
        base = off_cpu_ms + cpu_duration_ms(cpu_ms, memory)
        for cold in [0] * 100 + [1] * 30:
            duration = base * math.exp(rng.gauss(0, sigma))
            init = init_ms * math.exp(rng.gauss(0, 0.1)) if cold else 0.0
            out.append(f"{memory},{duration:.3f},{cold},{init:.1f}")
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Write one curve."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stepped_curve", description=__doc__)
    parser.add_argument("--cpu-ms", type=float, required=True, help="CPU work at one vCPU (ms)")
    parser.add_argument("--off-cpu-ms", type=float, default=5.0, help="time off the CPU (ms)")
    parser.add_argument("--sigma", type=float, default=0.08, help="lognormal noise (default 0.08)")
    parser.add_argument("--init-ms", type=float, default=250.0, help="cold start Init Duration (ms)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.cpu_ms <= 0 or args.off_cpu_ms < 0 or args.sigma < 0 or args.init_ms < 0:
        parser.error("--cpu-ms must be positive; --off-cpu-ms, --sigma and --init-ms at least 0")
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(
            "\n".join(rows(args.cpu_ms, args.off_cpu_ms, args.sigma, args.init_ms, args.seed)) + "\n"
        )


if __name__ == "__main__":
    main()
