"""The resident-memory watch that stands in for Lambda's memory cgroup."""

from __future__ import annotations

import os
import threading

import pytest

from powertuning.local import memory_watch
from powertuning.local.memory_watch import MemoryWatch


def test_it_calls_back_once_when_resident_memory_passes_the_limit():
    readings = iter([10, 50, 99, 101, 500])
    called = threading.Event()
    calls = []

    def exceeded() -> None:
        calls.append(1)
        called.set()

    watch = MemoryWatch(1, 100, exceeded, period_s=0.001, read=lambda _pid: next(readings, 500)).start()
    assert called.wait(5)
    watch.stop()
    assert watch.exceeded
    assert calls == [1]


def test_it_stops_quietly_when_the_process_is_gone():
    gone = threading.Event()

    def read(_pid: int) -> int | None:
        gone.set()
        return None

    watch = MemoryWatch(1, 100, lambda: pytest.fail("not exceeded"), period_s=0.001, read=read).start()
    assert gone.wait(5)
    watch.stop()
    assert not watch.exceeded


def test_stop_ends_the_watch_of_a_process_under_its_limit():
    watch = MemoryWatch(1, 100, lambda: pytest.fail("not exceeded"), period_s=0.001, read=lambda _p: 1)
    watch.start()
    watch.stop()
    assert not watch._thread.is_alive()


@pytest.mark.skipif(not memory_watch.available(), reason="reads /proc (Linux)")
def test_resident_bytes_reads_a_live_process_and_none_for_a_missing_one():
    assert memory_watch.resident_bytes(os.getpid()) > 1024 * 1024
    assert memory_watch.resident_bytes(2**22 + 12345) is None
