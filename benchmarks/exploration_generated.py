"""Generated curves for the exploration benchmark: Lambda's CPU model, with the real curves' noise.

    python -m benchmarks.exploration --generated 300 --runs 3 --seed 11

A robustness suite, not a tuning set: nothing in the race was chosen on these curves. Each curve's
steady-state duration at `m` MB is `off-CPU + CPU work at the quota` (`powertuning.local.cpu_model`:
the share is linear to 1,769 MB = one vCPU and enforced per 20 ms period, so a short burst gets a
stepped curve; threads gain above one vCPU up to the visible cores), drawn from five shapes:

- `cpu`: single-threaded CPU-bound, a plateau from 1,769 MB;
- `threads`: 2-6 threads, a fraction of the work parallel, gains above one vCPU;
- `plateau`: CPU-bound up to an earlier plateau (512-3,008 MB: memory bandwidth, a dependency);
- `io`: mostly off the CPU, nearly flat;
- `burst`: short CPU bursts (2-60 ms), the stepped curve;

and, on a third of the curves, memory-starved small sizes (below 256-1,024 MB, slower by
`(limit / m) ** 0.3-1.5`: garbage collection and swapping under a small heap, a super-linear speed-up).

Noise: every invocation is the curve's duration times a residual of one real curve (a measured
invocation over its size's median, from ../shared/data, or a lognormal of sigma 0.1 when there is
none), so heavy tails and bimodal runs are the real ones; on a quarter of the curves, a second mode
(5-30% of invocations 1.3-2x slower). A fresh version's cold start adds an Init Duration of 2-50x the
median (one factor per curve, log-uniform, jittered 20%).

Listed sizes: one of the lists users pass (the reference's default, SeBS's, every 128 MB to 2 GB, a
wide list to 10 GB). Every size of the "auto" grid up to the curve's limit is generated too, so
"auto" reads exact sizes rather than interpolated ones.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from random import Random

from benchmarks.exploration_curves import Curve, Obs, Population, default_curve_specs, load_curves
from powertuning.input_kinds import auto_grid
from powertuning.local.cpu_model import cpu_duration_ms

SHAPES = ("cpu", "threads", "plateau", "io", "burst")
LISTS: tuple[tuple[int, ...], ...] = (
    (128, 256, 512, 1024, 1536, 3008),
    (128, 256, 512, 1024, 1536, 2048, 3008),
    tuple(range(128, 2049, 128)),
    (128, 256, 512, 1024, 2048, 3008, 4096, 6144, 8192, 10240),
)
STEADY = 120  # steady-state invocations per size (the truth is their trimmed mean)
COLD = 10  # cold first invocations per size
COLD_RANGE = (2.0, 50.0)  # a cold start's Init Duration, as a multiple of the median


@dataclass(frozen=True)
class Shape:
    """The parameters of one generated curve's steady-state duration."""

    kind: str
    cpu_ms: float  # CPU work at one vCPU
    off_ms: float  # time off the CPU
    parallelism: float = 1.0  # threads kept busy in the parallel part
    parallel: float = 0.0  # fraction of the CPU work that runs in parallel
    plateau: float = math.inf  # MB past which more memory buys no CPU
    starved_below: float = 0.0  # MB below which the function is short of memory
    starved_power: float = 0.0

    def duration(self, memory: int) -> float:
        """The steady-state duration (ms) at `memory` MB, before noise."""
        share = min(memory, self.plateau)
        serial = cpu_duration_ms(self.cpu_ms * (1 - self.parallel), share)
        wide = cpu_duration_ms(self.cpu_ms * self.parallel, share, self.parallelism)
        slow = (self.starved_below / memory) ** self.starved_power if memory < self.starved_below else 1.0
        return (self.off_ms + serial + wide) * slow


def residual_pools(specs: Sequence[str] | None = None) -> list[tuple[float, ...]]:
    """Per real curve, every steady invocation over its size's median (the noise to draw from)."""
    pools = []
    for spec in specs if specs is not None else default_curve_specs():
        for curve in load_curves(spec):
            ratios: list[float] = []
            for memory in curve.sizes:
                values = [o.duration_ms + o.init_ms for o in curve.measured[memory].steady]
                middle = statistics.median(values)
                ratios.extend(v / middle for v in values if middle > 0)
            if len(ratios) >= 20:
                pools.append(tuple(ratios))
    return pools


def random_shape(rng: Random) -> Shape:
    """One curve's shape, its family drawn uniformly."""
    kind = rng.choice(SHAPES)
    log_uniform = lambda low, high: math.exp(rng.uniform(math.log(low), math.log(high)))  # noqa: E731
    starved = {}
    if rng.random() < 1 / 3:
        starved = {
            "starved_below": rng.choice((256.0, 512.0, 1024.0)),
            "starved_power": rng.uniform(0.3, 1.5),
        }
    if kind == "cpu":
        return Shape(kind, log_uniform(100, 20000), log_uniform(1, 200), **starved)
    if kind == "threads":
        return Shape(
            kind,
            log_uniform(300, 30000),
            log_uniform(1, 100),
            parallelism=float(rng.randint(2, 6)),
            parallel=rng.uniform(0.3, 0.95),
            **starved,
        )
    if kind == "plateau":
        return Shape(
            kind,
            log_uniform(100, 10000),
            log_uniform(1, 200),
            plateau=rng.choice((512, 1024, 1536, 3008)),
            **starved,
        )
    if kind == "io":
        return Shape(kind, log_uniform(1, 50), log_uniform(50, 3000), **starved)
    return Shape(kind, log_uniform(2, 60), log_uniform(1, 30), **starved)


def generate(
    index: int, seed: int, pools: Sequence[tuple[float, ...]]
) -> tuple[Curve, tuple[int, ...], Shape]:
    """Curve `index` of `seed`: its samples at every listed and grid size, its listed sizes, its shape."""
    rng = Random(f"generated:{seed}:{index}")
    shape = random_shape(rng)
    listed = rng.choice(LISTS)
    limit = max(listed)
    sizes = sorted(set(listed) | {m for m in auto_grid(limit) if m >= min(listed)})
    pool = rng.choice(pools) if pools else ()
    bimodal = (rng.uniform(0.05, 0.3), rng.uniform(1.3, 2.0)) if rng.random() < 0.25 else None
    cold_factor = math.exp(rng.uniform(*(math.log(c) for c in COLD_RANGE)))

    def noise() -> float:
        ratio = rng.choice(pool) if pool else math.exp(rng.gauss(0, 0.1))
        if bimodal and rng.random() < bimodal[0]:
            ratio *= bimodal[1]
        return ratio

    measured = {}
    for memory in sizes:
        base = shape.duration(memory)
        steady = tuple(Obs(round(base * noise(), 3)) for _ in range(STEADY))
        first = tuple(
            Obs(round(base * noise(), 3), round(base * cold_factor * math.exp(rng.gauss(0, 0.2)), 1))
            for _ in range(COLD)
        )
        measured[memory] = Population(steady, first)
    architecture = rng.choice(("x86_64", "arm64"))
    return Curve(f"generated:{seed}:{index}:{shape.kind}", architecture, measured), tuple(listed), shape
