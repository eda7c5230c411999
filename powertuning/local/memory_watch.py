"""Lambda's memory limit as Lambda applies it: on resident memory, not on address space.

Lambda's sandbox is a cgroup whose limit is the function's memory: a process may map as much
address space as it likes (shared libraries, thread stacks, OpenBLAS buffers it never touches) and
is killed only when the memory it actually uses passes the limit. An address-space cap (RLIMIT_AS)
at the memory size fails where Lambda does not: a numpy or Pillow import at 128 MB ("failed to map
segment from shared object", OpenBLAS unable to start its threads). So the runtime watches the
worker's resident set from outside, about every 5 ms, and kills the environment when it passes the
function's memory; the worker keeps only a far larger address-space cap as a backstop against an
allocation faster than the watch (see `ADDRESS_HEADROOM_MB`).

Linux only (/proc/PID/statm); elsewhere the worker caps its address space at the memory size, as
before (macOS does not enforce even that).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final

PERIOD_S: Final = 0.005
# Address space the worker may map beyond its memory when the watch enforces the limit: room for
# shared libraries and untouched reservations (numpy with OpenBLAS maps ~100 MB more than it
# touches on 2 cores, more with more cores); a runaway allocation is still stopped here by
# MemoryError if it outruns the watch.
ADDRESS_HEADROOM_MB: Final = 2048
_PAGE: Final = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def available() -> bool:
    """Whether resident memory can be read per process (Linux /proc)."""
    return Path(f"/proc/{os.getpid()}/statm").exists()


def resident_bytes(pid: int) -> int | None:
    """A process's resident set size, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class MemoryWatch:
    """Polls one process's resident memory; the first time it passes `limit_bytes`, `on_exceeded()`."""

    def __init__(
        self,
        pid: int,
        limit_bytes: int,
        on_exceeded: Callable[[], None],
        *,
        period_s: float = PERIOD_S,
        read: Callable[[int], int | None] = resident_bytes,
    ) -> None:
        self.pid, self.limit_bytes, self.period_s = pid, limit_bytes, period_s
        self.exceeded = False
        self._on_exceeded, self._read = on_exceeded, read
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"memory-watch-{pid}", daemon=True)

    def start(self) -> MemoryWatch:
        """Start watching (a daemon thread)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching; safe from any thread, the watch's own included."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=1.0)

    def _watch(self) -> None:
        while not self._stop.is_set():
            used = self._read(self.pid)
            if used is None:
                return  # the process is gone
            if used > self.limit_bytes:
                self.exceeded = True
                self._on_exceeded()
                return
            self._stop.wait(self.period_s)
