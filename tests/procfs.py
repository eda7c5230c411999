"""Process checks through /proc, for tests of handlers that leave processes running (Linux)."""

from __future__ import annotations

from pathlib import Path


def running(pid: int) -> bool:
    """Alive and not a zombie (a killed process whose new parent has not reaped it yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != b"Z"


def in_session(sid: int) -> list[int]:
    """Live processes whose session or process group is `sid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_bytes().rpartition(b")")[2].split()
            except OSError:
                continue
            if fields[0] != b"Z" and sid in (int(fields[2]), int(fields[3])):
                found.append(int(entry.name))
    return found
