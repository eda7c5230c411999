"""The load-independent CPU model: quota per period, stepped short bursts, threads, time off the CPU."""

from __future__ import annotations

import itertools

import pytest

from powertuning.local.cpu_model import (
    PERIOD_MS,
    Usage,
    cpu_duration_ms,
    duration_ms,
    vcpus,
    visible_cores,
)

QUOTA_128 = 128 / 1769 * PERIOD_MS  # CPU ms a 128 MB function may run per 20 ms period: 1.45 ms


def single_thread(cpu_ms: float, off_cpu_ms: float = 0.0, waited_ms: float = 0.0) -> Usage:
    """One thread that ran `cpu_ms`, waited `waited_ms` for a busy core and slept `off_cpu_ms`."""
    return Usage(wall_ms=cpu_ms + waited_ms + off_cpu_ms, cpu_ms=cpu_ms, busy_ms=cpu_ms + waited_ms)


def test_a_burst_shorter_than_one_quota_runs_at_full_speed():
    # GIVEN 1 ms of CPU work, less than 128 MB's 1.45 ms quota of a period
    # THEN it finishes in 1 ms, where a linear share would say 13.8 ms
    assert cpu_duration_ms(1.0, 128) == pytest.approx(1.0)
    assert cpu_duration_ms(QUOTA_128, 128) == pytest.approx(QUOTA_128)


def test_a_burst_just_past_the_quota_waits_for_the_next_period():
    # One whole period of waiting, then the rest at full speed: the curve is a staircase.
    just_over = cpu_duration_ms(QUOTA_128 + 0.1, 128)
    assert just_over == pytest.approx(PERIOD_MS + 0.1)
    two_quotas = cpu_duration_ms(2 * QUOTA_128, 128)
    assert two_quotas == pytest.approx(PERIOD_MS + QUOTA_128)
    assert cpu_duration_ms(2 * QUOTA_128 + 0.1, 128) == pytest.approx(2 * PERIOD_MS + 0.1)


def test_a_long_burst_runs_at_the_linear_share():
    # GIVEN 1 s of CPU work: many periods, so the steps average out to memory / 1,769 MB
    for memory in (128, 256, 512, 1024):
        linear = 1000 / vcpus(memory)
        assert cpu_duration_ms(1000, memory) == pytest.approx(linear, rel=0.02)
    # One vCPU or more: a single thread runs at full speed, never throttled
    assert cpu_duration_ms(1000, 1769) == pytest.approx(1000)
    assert cpu_duration_ms(1000, 3008) == pytest.approx(1000)


def test_speed_ups_of_long_work_double_with_memory():
    durations = [cpu_duration_ms(300, memory) for memory in (128, 256, 512, 1024)]
    for small, large in itertools.pairwise(durations):
        assert small / large == pytest.approx(2.0, rel=0.02)


def test_multi_threaded_work_uses_more_than_one_vcpu_above_1769_mb():
    # GIVEN two threads side by side, 1 s of CPU each (busy 2 s over 1 s of wall time)
    usage = Usage(wall_ms=1000, cpu_ms=2000, busy_ms=2000)
    assert usage.parallelism == pytest.approx(2.0)
    # THEN at 1,769 MB (1 vCPU) they share one vCPU's quota: 2 s
    assert duration_ms(usage, 1769) == pytest.approx(2000, rel=0.01)
    # at 3,538 MB (2 vCPUs, 2 visible cores) they run side by side: 1 s
    assert duration_ms(usage, 3538) == pytest.approx(1000, rel=0.01)
    # and more memory does not help past the two threads
    assert duration_ms(usage, 10240) == pytest.approx(1000, rel=0.01)
    # a single thread gets nothing from the second vCPU
    assert duration_ms(single_thread(1000), 3538) == pytest.approx(1000)


def test_threads_are_capped_by_the_visible_cores():
    # Eight busy threads at 3,008 MB see two cores, though the quota is 1.7 vCPUs.
    usage = Usage(wall_ms=1000, cpu_ms=8000, busy_ms=8000)
    assert visible_cores(3008) == 2
    assert duration_ms(usage, 3008) == pytest.approx(8000 / vcpus(3008), rel=0.01)
    # At 10,240 MB six cores, but 5.8 vCPUs of quota: the quota is the limit
    assert duration_ms(usage, 10240) == pytest.approx(8000 / vcpus(10240), rel=0.01)
    # Four threads at 7,077 MB (5 cores, 4 vCPUs) are limited by their own number
    four = Usage(wall_ms=1000, cpu_ms=4000, busy_ms=4000)
    assert duration_ms(four, 7077) == pytest.approx(1000, rel=0.01)


@pytest.mark.parametrize(
    ("memory", "cores"),
    [(128, 2), (3008, 2), (3009, 3), (5307, 3), (5308, 4), (7077, 5), (8846, 6), (10240, 6)],
)
def test_visible_cores_by_memory(memory, cores):
    assert visible_cores(memory) == cores


def test_io_wait_is_not_stretched():
    # GIVEN 200 ms of sleeping (a downstream call) and 2 ms of CPU
    usage = single_thread(2.0, off_cpu_ms=200.0)
    assert usage.off_cpu_ms == pytest.approx(200.0)
    # THEN every size takes about 200 ms: memory buys nothing (one extra period at 128 MB)
    assert duration_ms(usage, 128) == pytest.approx(200 + PERIOD_MS + 2 - QUOTA_128)
    assert duration_ms(usage, 1024) == pytest.approx(202.0)


def test_waiting_for_a_busy_core_here_is_not_part_of_the_duration():
    # GIVEN the same work measured on a quiet machine and with other processes holding the cores
    quiet = single_thread(300.0, off_cpu_ms=50.0)
    loaded = single_thread(300.0, off_cpu_ms=50.0, waited_ms=450.0)
    # THEN the model gives the same Duration: this machine's load is left out
    for memory in (128, 512, 1769):
        assert duration_ms(loaded, memory) == pytest.approx(duration_ms(quiet, memory))
