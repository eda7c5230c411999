"""Finding and killing every process of one execution environment (the worker and what it started)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from typing import Final

# Rounds of finding and stopping an environment's processes before killing them (a process may fork
# while it is found).
_KILL_ROUNDS: Final = 50
_EXIT_WAIT_S: Final = 5.0


def kill_tree(
    root: int, group_procs: Callable[[], list[int]] | None = None, *, descendants: bool = True
) -> None:
    """SIGKILL a worker and every process of its environment.

    The environment's processes are the worker's session and process group (it leads both), its
    descendants (the worker is their subreaper on Linux, so a daemon that forked twice and called
    setsid() is still one), and, in cgroup mode, whatever is listed in its group's `cgroup.procs`.
    They are stopped first, round after round until no new one appears, so none can fork out of
    reach or be orphaned before it is found; then all are killed.
    """
    stopped: set[int] = set()
    try:
        for _ in range(_KILL_ROUNDS):
            found = _environment_processes(root, stopped, descendants=descendants)
            if group_procs is not None:
                found.update(group_procs())
            found.discard(os.getpid())
            new = found - stopped
            if not new:
                break
            for pid in new:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGSTOP)
                stopped.add(pid)
    finally:
        # Even when a signal (SIGTERM, Ctrl-C) cuts the search short: a process stopped and never
        # killed would be left behind for good.
        for pid in stopped:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.killpg(root, signal.SIGKILL)
    # A killed process exits a moment later: wait, so that none is still running when this returns.
    deadline = time.monotonic() + _EXIT_WAIT_S
    while any(_running(pid) for pid in stopped) and time.monotonic() < deadline:
        time.sleep(0.001)


def _running(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[:1] != [b"Z"]
    except OSError:
        return False


def _environment_processes(root: int, known: set[int], *, descendants: bool = True) -> set[int]:
    """Live processes in `root`'s session or process group, or descended from `root` or `known`.

    `known` are processes already stopped, so their numbers cannot have been reused.
    """
    parents: dict[int, int] = {}
    found: set[int] = set()
    try:
        entries = os.listdir("/proc")
    except OSError:  # no /proc (macOS): the process group is all there is to find
        try:
            os.killpg(root, 0)
        except OSError:
            return set()
        return {root}
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:
            continue
        # After the command: state, ppid, pgrp, session. Zombies have exited already.
        if fields[0] == b"Z":
            continue
        pid, ppid, pgrp, session = int(entry), int(fields[1]), int(fields[2]), int(fields[3])
        parents[pid] = ppid
        if root in (pgrp, session) or (descendants and pid == root):
            found.add(pid)
    ancestors = ({root} if descendants else set()) | known
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in ancestors and pid not in ancestors:
                ancestors.add(pid)
                found.add(pid)
                changed = True
    return found & set(parents)
