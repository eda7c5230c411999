"""How sure a fixed-sampling pick is: the sizes its averages cannot tell from it, and what would.

A run with fixed sampling measures every size `num` times and picks the lowest average; two sizes
within the measurement noise of each other can swap places between identical runs. The statement is
the adaptive race's (`adaptive.outcome`: the same one-sided Student-t bound on Yuen's trimmed
means, Bonferroni over the other sizes, the same wording), made from the averages' noise that
`analysis.summarize` records (`priceVariance`, `durationVariance`, `keptInvocations`), and it adds
how many invocations per size would tell the runner-up from the pick.

Strategies `cost` and `speed` only, on one architecture, without a latency target or a cold-start
rate: a balanced score, a target's filter or a blend of warm and cold has no single noise figure here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from powertuning import stats
from powertuning.adaptive.estimates import Estimate, lower_bound
from powertuning.adaptive.outcome import statement_text, within_pct
from powertuning.input_kinds import MAX_NUM
from powertuning.output import Confidence
from powertuning.size_stats import SizeStats

# The figure each strategy picks on, and its noise.
_FIGURES = {"cost": ("average_price", "price_variance"), "speed": ("average_duration", "duration_variance")}
DEFAULT_LEVEL = 0.95


def _estimate(size: SizeStats, figure: str, noise: str) -> Estimate | None:
    variance, kept = getattr(size, noise), size.kept_invocations
    if variance is None or kept is None or kept < 2:
        return None
    return Estimate(
        size.value, getattr(size, figure), variance, float(kept - 1), size.invocations or kept, kept
    )


def invocations_to_separate(a: Estimate, b: Estimate, level: float) -> int | None:
    """About how many invocations per size would put `a` and `b` apart at `level` (their spreads
    and trimming as measured); None when their averages are equal."""
    gap = abs(a.mean - b.mean)
    if gap <= 0:
        return None
    # Yuen's squared standard error is about the spread / kept invocations; kept / measured trims.
    spread = a.variance * a.kept + b.variance * b.kept
    t = stats.t_quantile(level, stats.welch_df(a.variance, a.df, b.variance, b.df))
    kept = (t / gap) ** 2 * spread
    return math.ceil(kept * max(a.count / a.kept, b.count / b.kept))


def fixed_confidence(
    sizes: Sequence[SizeStats], pick: int, strategy: str | None, level: float = DEFAULT_LEVEL
) -> Confidence | None:
    """The statement for a fixed-sampling run's `pick` among `sizes`; None where it cannot be made."""
    if strategy not in _FIGURES or any(s.architecture or s.warm_price is not None for s in sizes):
        return None
    figure, noise = _FIGURES[strategy]
    est = {s.value: e for s in sizes if (e := _estimate(s, figure, noise)) is not None}
    if pick not in est or len(est) < 2:
        return None
    others = [value for value in est if value != pick]
    alpha = (1 - level) / len(others)
    not_separated: list[dict[str, Any]] = []
    close: list[int] = []
    for value in others:
        lower = lower_bound(est[value], est[pick], 1 - alpha)
        if lower is None or lower <= 0:  # not surely worse than the pick
            not_separated.append({"value": value, "withinPct": within_pct(est[value], est[pick], 1 - alpha)})
            close.append(value)
    text = statement_text(pick, not_separated, level, 0.0)
    if not_separated:
        runner = min(
            (est[s["value"]] for s in not_separated), key=lambda e: (abs(e.mean - est[pick].mean), e.value)
        )
        needed = invocations_to_separate(runner, est[pick], 1 - alpha)
        if needed is None:
            text += f"; {runner.value} MB measured the same as the pick"
        elif needed > MAX_NUM:
            text += (
                f"; more than {MAX_NUM:,} invocations per size (num's limit) would be needed to tell "
                f"{runner.value} MB apart"
            )
        else:
            text += f"; about {needed:,} invocations per size (num) would tell {runner.value} MB apart"
    return Confidence(
        text=text,
        strategy=strategy,
        level=level,
        tolerance_pct=0.0,
        reason="fixed sampling",
        pick=pick,
        not_separated=tuple((value, s["withinPct"]) for value, s in zip(close, not_separated, strict=True)),
    )
