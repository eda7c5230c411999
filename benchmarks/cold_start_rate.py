"""How often and by how much the pick changes once INIT is priced at a cold-start rate.

    python -m benchmarks.cold_start_rate [--curve FILE[#runtime/arch]] [--num 10]

On every curve in ../shared/data that carries cold starts (benchmarks/exploration_curves.py's
loaders: the SeBS 2020 results, with INIT estimated from the cold rows' extra client time, and the
mbwilding runtime benchmarks, whose cold samples carry Init Duration), each measured size is priced
as the tuner prices it with input `coldStartRate` (powertuning/cold_starts.py):

- warm: the mean cost of the warm invocations (mbwilding has only cold samples: their Duration,
  INIT left out, stands for a warm invocation's); cold: the median cost of the cold ones, INIT billed as
  AWS bills on-demand functions since 1 August 2025 (`pricing.cold_billed_ms`);
- today's pick: on the warm figures (the reference trims the cold start away);
- the pick at rates 0.1%, 1%, 5% and 20%: on `(1 - rate) x warm + rate x cold` (cost and duration);
for strategy `cost` and for `balanced` at weight 0.5.

It prints, per rate, how many curves' pick changes, and what 1M invocations a month cost at that
rate on today's pick against the blended pick (the saving). Then what the extra cold starts cost the
tuning itself: a fixed run of `num` invocations per size already has one cold start per size (its
fresh version); `coldStartsPerSize` k adds k - 1 more per size, priced here against the run's cost.
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.exploration_curves import Curve, default_curve_specs, load_curves
from powertuning.pricing import cold_billed_ms, lambda_price

RATES = (0.001, 0.01, 0.05, 0.20)
MONTHLY_INVOCATIONS = 1_000_000
EXTRA_COLD = (1, 3, 5)
STRATEGIES = ("cost", "balanced")


@dataclass(frozen=True)
class SizeCost:
    """One size of a curve: its warm and cold cost per invocation, and its INIT (ms)."""

    memory: int
    warm: float
    cold: float
    init_ms: float
    warm_ms: float = 0.0
    cold_ms: float = 0.0

    def blended(self, rate: float) -> float:
        return (1 - rate) * self.warm + rate * self.cold

    def blended_ms(self, rate: float) -> float:
        return (1 - rate) * self.warm_ms + rate * self.cold_ms


def size_costs(curve: Curve) -> list[SizeCost]:
    """Warm and cold costs of each measured size that has both; [] when the curve has no cold start."""
    price = lambda_price("us-east-1", curve.architecture)
    out = []
    for memory in curve.sizes:
        population = curve.measured[memory]
        observed = [*population.steady, *population.first]
        cold = [o for o in observed if o.init_ms]
        # mbwilding's samples are all cold starts: their Duration (INIT excluded) stands for a warm
        # invocation's, an assumption (a first invocation's body can be slower than a warm one's).
        warm = [o for o in observed if not o.init_ms] or cold
        if not cold:
            continue
        out.append(
            SizeCost(
                memory,
                statistics.fmean(price.invocation_cost(math.ceil(o.duration_ms), memory) for o in warm),
                statistics.median(
                    price.invocation_cost(cold_billed_ms(o.report(memory)), memory) for o in cold
                ),
                statistics.median(o.init_ms for o in cold),
                statistics.fmean(o.duration_ms for o in warm),
                statistics.median(o.duration_ms + o.init_ms for o in cold),
            )
        )
    return out if len(out) >= 2 else []


def pick(sizes: Sequence[SizeCost], rate: float, strategy: str = "cost") -> SizeCost:
    """Strategy cost, or balanced at weight 0.5, at a rate (rate 0: today's pick); ties to the smaller."""
    if strategy == "cost":
        return min(sizes, key=lambda s: (s.blended(rate), s.memory))
    top_cost = max(s.blended(rate) for s in sizes)
    top_ms = max(s.blended_ms(rate) for s in sizes)
    return min(
        sizes, key=lambda s: (0.5 * s.blended(rate) / top_cost + 0.5 * s.blended_ms(rate) / top_ms, s.memory)
    )


@dataclass(frozen=True)
class Change:
    """One curve at one rate: today's pick, the blended pick, and their monthly costs at that rate."""

    curve: str
    strategy: str
    rate: float
    today: int
    blended: int
    today_monthly: float
    blended_monthly: float

    @property
    def saving(self) -> float:
        return self.today_monthly - self.blended_monthly


def changes(name: str, sizes: Sequence[SizeCost], strategy: str = "cost") -> list[Change]:
    """Today's pick against the blended one, at every rate."""
    today = pick(sizes, 0.0, strategy)
    out = []
    for rate in RATES:
        best = pick(sizes, rate, strategy)
        out.append(
            Change(
                name,
                strategy,
                rate,
                today.memory,
                best.memory,
                today.blended(rate) * MONTHLY_INVOCATIONS,
                best.blended(rate) * MONTHLY_INVOCATIONS,
            )
        )
    return out


def tuning_extra(sizes: Sequence[SizeCost], num: int, per_size: int) -> tuple[float, float]:
    """(extra cost, the run's cost without it) of `per_size` cold starts per size in a run of `num`."""
    base = sum((num - 1) * s.warm + s.cold for s in sizes)
    extra = sum((per_size - 1) * (s.cold - s.warm) for s in sizes)
    return extra, base


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--curve", action="append", help="a curve file (default: every one in ../shared/data)"
    )
    parser.add_argument("--num", type=int, default=10, help="invocations per size of the tuning (default 10)")
    args = parser.parse_args(argv)
    curves = [c for spec in (args.curve or default_curve_specs()) for c in load_curves(spec)]
    priced = [(c.name, s) for c in curves if (s := size_costs(c))]
    print(f"{len(priced)} of {len(curves)} curves carry cold starts at two sizes or more\n")
    for strategy in STRATEGIES:
        rows = [change for name, sizes in priced for change in changes(name, sizes, strategy)]
        print(f"Strategy {strategy}: the pick at each rate against today's (cold starts trimmed away)\n")
        print("| rate | pick changes | median saving when it changes | largest saving | largest saving % |")
        print("|---:|---:|---:|---:|---:|")
        for rate in RATES:
            at = [r for r in rows if r.rate == rate]
            moved = [r for r in at if r.blended != r.today]
            savings = [r.saving for r in moved]
            pct = max((r.saving / r.today_monthly for r in moved), default=0.0)
            median = statistics.median(savings) if savings else 0.0
            print(
                f"| {rate:.1%} | {len(moved)} of {len(at)} | ${median:.4f} | "
                f"${max(savings, default=0):.4f} | {pct:.1%} |"
            )
        print(f"\n(cost of {MONTHLY_INVOCATIONS:,} invocations a month at the rate, us-east-1)\n")
        print(
            "| curve | INIT ms (median over sizes) | today | 0.1% | 1% | 5% | 20% | saving at 20% / month |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, sizes in priced:
            mine = [r for r in rows if r.curve == name]
            init = statistics.median(s.init_ms for s in sizes)
            picks = " | ".join(f"{r.blended}" for r in mine)
            print(f"| {name} | {init:,.0f} | {mine[0].today} | {picks} | ${mine[-1].saving:.4f} |")
        print()
    print(f"\nWhat the cold starts cost the tuning (num {args.num} per size, every measured size):\n")
    print("| coldStartsPerSize | extra cost, all curves | the runs' cost | extra % |")
    print("|---:|---:|---:|---:|")
    for k in EXTRA_COLD:
        extra = sum(tuning_extra(s, args.num, k)[0] for _, s in priced)
        base = sum(tuning_extra(s, args.num, k)[1] for _, s in priced)
        print(f"| {k} | ${extra:.6f} | ${base:.6f} | {extra / base:.1%} |")


if __name__ == "__main__":
    main()
