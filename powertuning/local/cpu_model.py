"""How long an invocation would take on Lambda at a memory size, from what it did here at full speed.

Lambda shares the CPU with a CFS-style quota: per period P an environment may run `share x P` of CPU
time (share = memory / 1,769 MB vCPUs), spread over at most its visible cores (2 up to 3,008 MB,
then 3/4/5/6 from 3,009/5,308/7,077/8,846 MB). Once the quota of a period is spent the environment
waits for the next period. So a burst of CPU work W that fits in the quota runs at full speed, and a
longer one finishes after `n x P + the rest`, with n whole periods of quota used up: the curve is
stepped, not linear (measured on Lambda by UBC, EuroSys'26; short bursts beat a linear share).

The worker measures, per thread, CPU time and time spent runnable but waiting for a core (this
machine's load, which Lambda does not have), and the invocation's wall time. Time when no thread
was on or waiting for a CPU is off-CPU time (sleeps, I/O): it is not stretched, as on Lambda. The
model is a pure function of those measurements, so the result does not depend on this machine's
load. Assumptions: each invocation starts with a full quota (the environment was idle before it),
and off-CPU time and CPU work do not overlap within one thread.

Standard library only: the worker process loads this file by path, so nothing else of the tuner
becomes importable by the function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

VCPU_MB = 1769  # 1,769 MB = 1 vCPU of CPU credit, linear in memory (AWS Lambda docs)
# Visible cores by memory size: (from MB, cores), largest first; 2 below 3,009 MB.
_CORE_STEPS = ((8846, 6), (7077, 5), (5308, 4), (3009, 3))
# The quota period. Lambda does not publish it; 20 ms matches the cgroup mode's period (see
# docs/local.md for the measured effect of the period on short bursts).
PERIOD_MS = 20.0


def vcpus(memory_mb: float) -> float:
    """CPU time per second of wall time a memory size is entitled to."""
    return memory_mb / VCPU_MB


def visible_cores(memory_mb: float) -> int:
    """Cores the function sees (and may run threads on at once) at a memory size."""
    return next((cores for start, cores in _CORE_STEPS if memory_mb >= start), 2)


@dataclass(frozen=True)
class Usage:
    """What one phase (init or invoke) did at full speed on this machine.

    `busy_ms` is the sum over threads of CPU time plus run-queue wait: with one thread it is the
    time the thread wanted a CPU; with threads running side by side it exceeds the wall time.
    """

    wall_ms: float
    cpu_ms: float
    busy_ms: float

    @property
    def off_cpu_ms(self) -> float:
        """Wall time when no thread wanted a CPU: sleeps and I/O, unchanged by the CPU share."""
        return max(0.0, self.wall_ms - self.busy_ms)

    @property
    def parallelism(self) -> float:
        """How many threads wanted a CPU at once, on average while any did (at least 1)."""
        span = self.wall_ms - self.off_cpu_ms
        return max(1.0, self.busy_ms / span) if span > 0 else 1.0


def cpu_duration_ms(
    cpu_ms: float, memory_mb: float, parallelism: float = 1.0, period_ms: float = PERIOD_MS
) -> float:
    """Wall time CPU work takes at a memory size's quota, starting with a full quota."""
    if cpu_ms <= 0:
        return 0.0
    width = max(1.0, min(parallelism, visible_cores(memory_mb)))  # cores kept busy at once
    quota = vcpus(memory_mb) * period_ms  # CPU ms per period, all threads together
    if quota >= width * period_ms:
        return cpu_ms / width  # the quota outlasts the period: never throttled
    full_periods = math.ceil(cpu_ms / quota) - 1  # periods whose whole quota is used, then a wait
    return full_periods * period_ms + (cpu_ms - full_periods * quota) / width


def duration_ms(usage: Usage, memory_mb: float, period_ms: float = PERIOD_MS) -> float:
    """Modelled wall time of a phase: its off-CPU time plus its CPU work at the memory size's quota."""
    return usage.off_cpu_ms + cpu_duration_ms(usage.cpu_ms, memory_mb, usage.parallelism, period_ms)
