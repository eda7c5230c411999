"""One invocation's figures as the adaptive race keeps them, and the compaction that bounds them.

A sample is `(Duration ms, billed ms incl. INIT and restore, Init + Restore Duration ms)`, optionally
with a fourth item, its weight: how many invocations it stands for. The race keeps a size's samples
in the execution state (256 KB at most), so once a size has more than COMPACT_ABOVE of them they are
merged, in the order of their measured duration, into COMPACT_TO weighted groups (each the mean of
the invocations it stands for). Every estimator expands a weighted sample back to its count, so up
to COMPACT_ABOVE samples per size nothing is approximated; past it, the trimmed mean is exact up to
the groups at the trimming boundaries and the spread loses what lies within a group (a few percent:
the groups are narrow order-statistic slices).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from powertuning.logs import Report

# Samples a size keeps before they are merged (the first, cold invocation is kept apart: it counts
# separately in the estimate), unless the state-size budget allows fewer (limits.sample_cap): 50
# fits every size of "ALL" (46) twice in a state. Merging leaves half as many.
COMPACT_ABOVE: Final = 50

Sample = tuple[float, ...]
"""`(duration, billed, init)` or `(duration, billed, init, weight)`."""


def parse(raw: Sequence[Any]) -> Sample:
    """A sample from its wire form `[duration, billed, init(, weight)]`."""
    values = [*raw, 0.0, 0.0][:3]
    duration, billed, init = (float(v) for v in values)
    weight = int(raw[3]) if len(raw) > 3 else 1
    return (duration, billed, init) if weight == 1 else (duration, billed, init, weight)


def weight(sample: Sample) -> int:
    """How many invocations the sample stands for."""
    return int(sample[3]) if len(sample) > 3 else 1


def count(samples: Sequence[Sample]) -> int:
    """Invocations the samples stand for."""
    return sum(weight(s) for s in samples)


def expand(samples: Sequence[Sample]) -> list[tuple[float, float, float]]:
    """One `(duration, billed, init)` per invocation (a weighted sample repeated)."""
    return [(s[0], s[1], s[2]) for s in samples for _ in range(weight(s))]


def of_report(report: Report) -> Sample:
    """The sample of one REPORT record."""
    return (
        small(report.duration_ms),
        small(report.billed_total_ms),
        small(report.init_duration_ms + report.restore_duration_ms),
    )


def small(ms: float) -> float:
    """0.01 ms, and whole numbers as integers: the execution state holds the samples."""
    value = round(ms, 2)
    return int(value) if value.is_integer() else value


def compact(samples: Sequence[Sample], above: int = COMPACT_ABOVE) -> tuple[Sample, ...]:
    """At most `above` samples besides the first (kept apart: it may be the cold start); merged
    into `above // 2` weighted ones when there are more."""
    head = tuple(samples[:1])
    rest = list(samples[1:])
    if len(rest) <= above:
        return tuple(samples)
    groups_wanted = max(1, above // 2)
    rest.sort(key=lambda s: s[0] + s[2])
    total = count(rest)
    groups: list[Sample] = []
    bucket: list[Sample] = []
    taken = 0
    for sample in rest:
        bucket.append(sample)
        taken += weight(sample)
        # Close a group at every (1 / groups_wanted)-th of the total weight.
        if taken * groups_wanted >= total * (len(groups) + 1):
            groups.append(_merge(bucket))
            bucket = []
    if bucket:
        groups.append(_merge(bucket))
    return head + tuple(groups)


def _merge(bucket: Sequence[Sample]) -> Sample:
    n = count(bucket)
    if n == 1 and len(bucket) == 1:
        return bucket[0]
    means = [small(sum(s[i] * weight(s) for s in bucket) / n) for i in range(3)]
    return (means[0], means[1], means[2], n)


def to_wire(sample: Sample) -> list[float]:
    """The wire form: a list."""
    return list(sample)
