"""The worker's process, as a Lambda sandbox controls it: memory, time, and what the function starts.

Its memory capped at the function's size and its peak measured; its clock (wall time, or the CPU
model's Duration at the memory size, from each thread's CPU and run-queue time); the deadline that
ends an invocation once its modelled time passes the timeout; the subreaper that keeps what the
function forks in the environment. The invocation protocol itself is `worker.py`'s, which loads this
module by path: standard library only, and the tuner's package stays off the function's `sys.path`.
"""

from __future__ import annotations

import _thread
import contextlib
import importlib.util
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

_MIB = 1024 * 1024
# Freed on MemoryError so the worker still has room to report the failure.
_reserve: bytearray | None = bytearray(_MIB)


def max_rss_kb() -> int:
    """The process's peak resident memory, KiB."""
    # Linux keeps ru_maxrss across execve, so a worker spawned by a large process (the tuner with
    # moto loaded) would report its parent's peak; VmHWM is this process image's own peak.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss // 1024 if sys.platform == "darwin" else rss  # bytes on macOS, KiB on Linux


def _unbacked_kb() -> int:
    """Address space mapped but not resident (shared libraries, reservations), Linux only."""
    try:
        with open("/proc/self/status") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
        return max(0, int(fields["VmSize"].split()[0]) - int(fields["VmRSS"].split()[0]))
    except (OSError, KeyError, ValueError):
        return 0


def limit_memory(memory_mb: int) -> None:
    """Cap the address space at the function's memory plus what the interpreter mapped but never touched.

    RLIMIT_AS counts address space, not resident memory, so the unbacked part measured at start-up is
    added back; past the cap allocations raise MemoryError.
    """
    limit = memory_mb * _MIB + _unbacked_kb() * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _load_cpu_model() -> Any:
    """The tuner's CPU model (standard library only), loaded by path under a private name.

    Loading by path keeps the tuner's package off `sys.path`, where the function could import it.
    """
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cpu_model.py")
    spec = importlib.util.spec_from_file_location("_powertuning_cpu_model", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses looks the module up by name
    spec.loader.exec_module(module)
    return module


_cpu_model = _load_cpu_model()


def _thread_times() -> dict[int, tuple[float, float]]:
    """Per thread: (CPU ms, run-queue wait ms) from Linux schedstat; elsewhere the process as one thread."""
    times: dict[int, tuple[float, float]] = {}
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return {0: (time.process_time() * 1000, 0.0)}
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as stats:
                cpu_ns, wait_ns = stats.read().split()[:2]
        except (OSError, ValueError):
            continue  # the thread ended meanwhile: its last sample stands
        times[int(tid)] = (int(cpu_ns) / 1e6, int(wait_ns) / 1e6)
    return times or {0: (time.process_time() * 1000, 0.0)}


# Final (CPU ms, wait ms) of Python threads that ended, by native id: recorded by each thread as it
# exits, since an ended thread disappears from /proc before the invocation's end is measured.
_exited: dict[int, tuple[float, float]] = {}


def _own_thread_times() -> tuple[float, float] | None:
    try:
        with open("/proc/thread-self/schedstat") as stats:
            cpu_ns, wait_ns = stats.read().split()[:2]
    except (OSError, ValueError):
        return None
    return int(cpu_ns) / 1e6, int(wait_ns) / 1e6


def record_thread_exits() -> None:
    """Make every `threading` thread record its CPU use as it ends (for the model)."""
    bootstrap = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]

    def bootstrap_and_record(thread: threading.Thread) -> None:
        try:
            bootstrap(thread)
        finally:
            times = _own_thread_times()
            if times is not None:
                _exited[threading.get_native_id()] = times

    threading.Thread._bootstrap_inner = bootstrap_and_record  # type: ignore[attr-defined]


class Clock:
    """Elapsed time of one phase: wall time ("cgroup" mode), or the model's Duration at the memory size.

    In the model the phase's usage is read per thread from /proc; threads that ended during the phase
    count with what they recorded as they ended, and the CPU time of threads that could not record
    (started outside `threading`) comes from the process total. `exclude` is the deadline watcher.
    """

    def __init__(
        self,
        timeout_ms: float,
        *,
        model: bool = False,
        memory_mb: int = 0,
        period_ms: float = 20.0,
        exclude: int = 0,
    ) -> None:
        self.model = model
        self.memory_mb = memory_mb
        self.period_ms = period_ms
        self.timeout_ms = timeout_ms
        self.exclude = exclude
        self._lock = threading.Lock()  # the watcher reads the clock while the handler runs
        _exited.clear()
        self.wall0 = time.perf_counter()
        self.cpu0 = time.process_time()
        self._start = _thread_times() if model else {}

    def cpu_ms(self) -> float:
        return (time.process_time() - self.cpu0) * 1000

    def wall_ms(self) -> float:
        return (time.perf_counter() - self.wall0) * 1000

    def usage(self) -> Any:
        """The phase so far, as the model's `Usage`."""
        with self._lock:
            now = {**_exited, **_thread_times()}
            process_cpu, wall = self.cpu_ms(), self.wall_ms()
        cpu_known = busy = excluded = 0.0
        for tid, (cpu, wait) in now.items():
            cpu0, wait0 = self._start.get(tid, (0.0, 0.0))
            if tid == self.exclude:
                excluded = cpu - cpu0
                continue
            cpu_known += cpu - cpu0
            busy += (cpu - cpu0) + (wait - wait0)
        cpu_total = max(process_cpu - excluded, cpu_known)
        return _cpu_model.Usage(wall, cpu_total, busy + cpu_total - cpu_known)

    def elapsed_ms(self) -> float:
        if not self.model:
            return self.wall_ms()
        return float(_cpu_model.duration_ms(self.usage(), self.memory_mb, self.period_ms))

    def remaining_ms(self) -> int:
        return max(0, int(self.timeout_ms - self.elapsed_ms()))


class Deadline:
    """Model mode: ends an invocation once its modelled time passes the timeout.

    A thread of its own (left out of the measurements) rather than a timer signal: a signal wakes the
    handler's thread from a sleep, and the wait for a core after each wake-up would be taken out of
    time the function spent sleeping. Started with `_thread` so that `threading.enumerate()` in the
    function does not list it.
    """

    def __init__(self, send: Callable[[dict[str, Any]], None]) -> None:
        self.send = send
        self.clock: Clock | None = None
        self.native_id = 0
        self._armed = threading.Event()
        self._started = threading.Event()
        _thread.start_new_thread(self._watch, ())
        self._started.wait()

    def arm(self, clock: Clock) -> None:
        self.clock = clock
        self._armed.set()

    def disarm(self) -> None:
        self._armed.clear()
        self.clock = None

    def _watch(self) -> None:
        self.native_id = threading.get_native_id()
        self._started.set()
        while True:
            self._armed.wait()
            time.sleep(0.025)
            clock = self.clock
            if clock is not None and clock.elapsed_ms() >= clock.timeout_ms and self.clock is clock:
                sys.stdout.flush()
                self.send({"type": "timeout", "elapsed_ms": clock.elapsed_ms(), "max_rss_kb": max_rss_kb()})
                os._exit(0)


def release_reserve() -> None:
    """Free the memory kept to report an out-of-memory failure."""
    global _reserve
    _reserve = None


def adopt_orphans() -> None:
    """Become the subreaper of what the function starts (Linux): a daemon that forks twice stays a
    descendant of this process, so the runtime finds and kills it with the environment."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        pr_set_child_subreaper = 36
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)
    except (OSError, AttributeError, ImportError):
        pass


def own_tmp(size_mb: int, fallback: str, keep: tuple[str, ...] = ()) -> str:
    """Give the environment a /tmp of its own, as Lambda does; which way it went.

    Linux as root: a private mount namespace with a tmpfs of `size_mb` on /tmp (a write past it fails
    with ENOSPC, and it goes when the environment's last process exits). Elsewhere `TMPDIR` (and
    TMP, TEMP) name the runtime's folder for this environment, and a literal "/tmp/..." path is the
    host's. `keep`: entries of the host's /tmp the worker needs (its code, interpreter or a path its
    environment names, when they live there), bound back into the new /tmp at the same paths.
    Must run before any thread starts: unshare(CLONE_NEWNS) refuses a threaded process.
    """
    if size_mb <= 0 or not sys.platform.startswith("linux") or os.geteuid() != 0:
        return "dir"
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        clone_newns, ms_bind, ms_rec, ms_private = 0x00020000, 0x1000, 0x4000, 0x40000
        if libc.unshare(clone_newns) != 0:
            return "dir"
        # Private first, so the tmpfs is not propagated back to the host's mount namespace.
        if libc.mount(b"none", b"/", None, ms_rec | ms_private, None) != 0:
            return "dir"
        # The host's /tmp stays reachable through this descriptor once the tmpfs covers the path.
        host_tmp = os.open("/tmp", os.O_RDONLY | os.O_DIRECTORY)
        options = f"size={size_mb}m,mode=1777".encode()
        if libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 0, options) != 0:
            os.close(host_tmp)
            return "dir"
        try:
            for name in keep:
                source = f"/proc/self/fd/{host_tmp}/{name}"
                target = f"/tmp/{name}"
                if os.path.isdir(source):
                    os.mkdir(target)
                else:
                    open(target, "x").close()
                if libc.mount(source.encode(), target.encode(), None, ms_bind | ms_rec, None) != 0:
                    raise OSError(ctypes.get_errno(), f"cannot bind {name} of the host's /tmp")
        except OSError:
            libc.umount2(b"/tmp", 2)  # MNT_DETACH: the host's /tmp again, whole, as with no mount
            raise
        finally:
            os.close(host_tmp)
    except (OSError, AttributeError):
        return "dir"
    for name in ("TMPDIR", "TMP", "TEMP"):
        os.environ[name] = "/tmp"
    with contextlib.suppress(OSError):
        os.rmdir(fallback)  # unused: the tmpfs is the /tmp
    return "tmpfs"
