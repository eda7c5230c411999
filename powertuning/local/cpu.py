"""CPU in proportion to memory for local execution environments, as Lambda gives it.

Lambda gives a function one vCPU per 1,769 MB, linearly. Locally two modes exist, and the runtime
reports which one ran:

- "model" (the default, anywhere): the worker runs at full speed, measures per thread the CPU time
  and the time spent waiting for a core, and reports the Duration `powertuning.local.cpu_model`
  computes for a CFS quota of `period x memory / 1769` per period. The result does not depend on
  this machine's load. The same clock drives timeouts and `get_remaining_time_in_millis()`.
- "cgroup": each execution environment gets a cgroup v1 `cpu` group whose CFS quota is
  `period x memory / 1769` (a 128 MB function runs 7.2% of every period), and Duration is wall
  time. Needs a writable cgroup v1 `cpu` hierarchy (Linux, root). The kernel throttles the worker
  for real, so what else runs on the machine changes the result.

Both modes admit invocations through a `CpuBudget` so that, together, running environments never
ask for more cores than their shares add up to: overlapping invocations get environments of their
own, as on Lambda. In the model a worker runs unthrottled and its wait for a core is left out of
its Duration, so the budget only keeps wall time close to the modelled time.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from powertuning.pricing import vcpus

MODEL: Final = "model"
CGROUP: Final = "cgroup"
MODES: Final = (MODEL, CGROUP)

# A short period keeps a 128 MB function (1.45 ms of every 20 ms) from bursting through a whole
# 100 ms quota at full speed at the start of a short invocation. The price: many short slices cost
# long CPU-bound work at small sizes more CPU time (measured in docs/local.md). Kernel minimum: 1 ms.
CFS_PERIOD_US: Final = 20_000
_MIN_QUOTA_US: Final = 1_000
# Weight of all environments together against everything else on the machine (1,024 per busy process,
# the tuner's own included): under contention the environments still get their full quota, as they
# would on Lambda, and the orchestration waits instead. The quota remains the cap.
PRIORITY_SHARES: Final = 262_144
_GROUP_PREFIX: Final = "powertuning-"
# How long removing a group may wait for its killed processes to leave it (they exit asynchronously).
_REMOVE_RETRY_S: Final = 5.0


def cpu_share(memory_mb: int) -> float:
    """Cores a memory size is entitled to (1,769 MB = 1 vCPU)."""
    return vcpus(memory_mb)


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def quota_us(memory_mb: int, period_us: int = CFS_PERIOD_US) -> int:
    """CFS quota for a memory size over one period."""
    return max(_MIN_QUOTA_US, round(period_us * cpu_share(memory_mb)))


def _cpu_mount() -> Path | None:
    """Where the cgroup v1 hierarchy with the `cpu` controller is mounted, if any."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        left, _, right = line.partition(" - ")
        parts, fs = left.split(), right.split()
        if len(fs) >= 3 and fs[0] == "cgroup" and "cpu" in fs[2].split(","):
            return Path(parts[4])
    return None


def _own_cpu_path() -> str:
    """This process's group inside the `cpu` hierarchy ("/" at the root)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if "cpu" in controllers.split(","):
                return path
    return "/"


@dataclass
class CpuGroup:
    """One environment's cgroup: a CFS quota proportional to its memory."""

    path: Path
    memory_mb: int

    def join(self, pid: int) -> None:
        """Move a process (all of its threads) into the group."""
        (self.path / "cgroup.procs").write_text(str(pid))

    def procs(self) -> list[int]:
        """The processes still in the group (a worker and whatever it started)."""
        try:
            text = (self.path / "cgroup.procs").read_text()
        except OSError:
            return []
        return [int(line) for line in text.split() if line.isdigit()]

    def kill(self) -> None:
        """SIGKILL every process still in the group."""
        for pid in self.procs():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def remove(self, retry_s: float = _REMOVE_RETRY_S) -> None:
        """Kill what is left in the group and delete it, retrying while killed processes exit.

        Raises OSError if the group is still busy after `retry_s`.
        """
        deadline = time.monotonic() + retry_s
        delay = 0.005
        while True:
            self.kill()
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError as exc:
                if exc.errno != errno.EBUSY or time.monotonic() >= deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


@dataclass
class CgroupV1:
    """A per-runtime parent group under the cgroup v1 `cpu` hierarchy, holding one group per environment."""

    root: Path
    period_us: int = CFS_PERIOD_US
    _groups: list[CpuGroup] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, period_us: int = CFS_PERIOD_US) -> CgroupV1 | None:
        """A fresh parent group, or None where cgroup v1 `cpu` is missing or not writable."""
        mount = _cpu_mount()
        if mount is None:
            return None
        base = mount / _own_cpu_path().lstrip("/")
        if not (base / "cpu.cfs_quota_us").exists():
            return None
        _remove_stale_groups(base)
        root = base / f"{_GROUP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            root.mkdir()
        except OSError:
            return None
        with contextlib.suppress(OSError):
            (root / "cpu.shares").write_text(str(PRIORITY_SHARES))
        return cls(root=root, period_us=period_us)

    def group(self, memory_mb: int) -> CpuGroup:
        """A new group for one environment, with the quota for its memory size."""
        path = self.root / f"env-{uuid.uuid4().hex[:12]}"
        path.mkdir()
        (path / "cpu.cfs_period_us").write_text(str(self.period_us))
        (path / "cpu.cfs_quota_us").write_text(str(quota_us(memory_mb, self.period_us)))
        group = CpuGroup(path=path, memory_mb=memory_mb)
        with self._lock:
            self._groups.append(group)
        return group

    def release(self, group: CpuGroup) -> str | None:
        """Kill what is left in an environment's group and remove it; a problem is returned, not raised.

        A group that cannot be removed stays listed, so that `close()` tries again.
        """
        try:
            group.remove()
        except OSError as exc:
            return f"could not remove the CPU group {group.path}: {exc.strerror or exc}"
        with self._lock:
            if group in self._groups:
                self._groups.remove(group)
        return None

    def close(self) -> list[str]:
        """Kill every process left in the groups, remove them and the parent group; the problems met."""
        with self._lock:
            groups, self._groups = self._groups, []
        problems = []
        for group in groups:
            try:
                group.remove()
            except OSError as exc:
                problems.append(f"could not remove the CPU group {group.path}: {exc.strerror or exc}")
        # Groups created after `groups` was taken (a cold start racing the close) are still children.
        for path in self.root.glob("env-*"):
            try:
                CpuGroup(path, 0).remove()
            except OSError as exc:
                problems.append(f"could not remove the CPU group {path}: {exc.strerror or exc}")
        try:
            self.root.rmdir()
        except FileNotFoundError:
            pass
        except OSError as exc:
            problems.append(f"could not remove the CPU group {self.root}: {exc.strerror or exc}")
        return problems


def cgroup_v1_available() -> bool:
    """True where CPU groups can be created here (checked by creating and removing one)."""
    groups = CgroupV1.create()
    if groups is None:
        return False
    groups.close()
    return True


def _remove_stale_groups(base: Path) -> None:
    """Remove empty groups left by runtimes whose process died without closing."""
    for path in base.glob(f"{_GROUP_PREFIX}*"):
        pid_text = path.name.removeprefix(_GROUP_PREFIX).split("-", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        for child in path.glob("env-*"):
            with contextlib.suppress(OSError):
                # Whatever a killed run's function left running goes with its group.
                CpuGroup(child, 0).remove(retry_s=1.0)
        with contextlib.suppress(OSError):
            path.rmdir()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


class CpuBudget:
    """Admits invocations first come, first served while their CPU shares fit in the machine's cores.

    Waiting happens before an invocation starts, so it is never part of its Duration.
    """

    def __init__(self, cores: float | None = None, *, min_demand: float = 0.0) -> None:
        self.cores = float(cores if cores is not None else available_cores())
        self.min_demand = min_demand
        self._used = 0.0
        self._queue: deque[object] = deque()
        self._cond = threading.Condition()

    def demand(self, memory_mb: int) -> float:
        """Cores an invocation reserves: its share (at least `min_demand`), at most the whole machine."""
        return min(max(cpu_share(memory_mb), self.min_demand), self.cores)

    @contextlib.contextmanager
    def reserve(self, memory_mb: int) -> Iterator[None]:
        """Hold `demand(memory_mb)` cores for the duration of the block."""
        need = self.demand(memory_mb)
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            # A tiny epsilon absorbs float error when shares add up to exactly the core count.
            self._cond.wait_for(lambda: self._queue[0] is ticket and self._used + need <= self.cores + 1e-9)
            self._queue.popleft()
            self._used += need
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._used -= need
                self._cond.notify_all()
