"""The control pipe between the runtime and one worker: JSON lines both ways, with deadlines."""

from __future__ import annotations

import contextlib
import json
import os
import select
import threading
import time
from collections.abc import Iterator
from typing import Any


class WorkerGoneError(Exception):
    """The worker process exited or closed its control pipe."""


class Control:
    """JSON lines to and from the worker, with deadlines.

    `close()` may come from another thread (the runtime closing while an invocation waits): each
    descriptor is closed exactly once, and only when no send or receive is using it, so a number
    the kernel hands out again is never closed or read by mistake.
    """

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd, self.write_fd = read_fd, write_fd
        self._buffer = b""
        self._lock = threading.Lock()
        self._users = 0
        self._closing = False
        self._closed = False
        # Wakes a receive blocked in select() when the pipe is closed from another thread.
        self._wake_read, self._wake_write = os.pipe()

    @contextlib.contextmanager
    def _use(self) -> Iterator[None]:
        with self._lock:
            if self._closing:
                raise WorkerGoneError("control pipe closed")
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                release = self._closing and self._users == 0 and not self._closed
                self._closed = self._closed or release
            if release:
                self._close_fds()

    def send(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message) + "\n").encode()
        with self._use():
            try:
                while data:
                    data = data[os.write(self.write_fd, data) :]
            except OSError as exc:  # BrokenPipeError
                raise WorkerGoneError(str(exc)) from exc

    def receive(self, deadline: float) -> dict[str, Any] | None:
        """The next message, or None when `deadline` (time.monotonic) passes first."""
        with self._use():
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                try:
                    ready, _, _ = select.select([self.read_fd, self._wake_read], [], [], remaining)
                    if not ready:
                        return None
                    if self._wake_read in ready:
                        raise WorkerGoneError("control pipe closed")
                    chunk = os.read(self.read_fd, 1 << 16)
                except (OSError, ValueError) as exc:
                    raise WorkerGoneError(str(exc)) from exc
                if not chunk:
                    raise WorkerGoneError("control pipe closed")
                self._buffer += chunk
            line, _, self._buffer = self._buffer.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        return message

    def close(self) -> None:
        """Close the pipe once; a send or receive under way ends with WorkerGoneError and closes it."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            release = self._users == 0
            self._closed = release
            if not release:
                with contextlib.suppress(OSError):
                    os.write(self._wake_write, b"x")
        if release:
            self._close_fds()

    def _close_fds(self) -> None:
        for fd in (self.read_fd, self.write_fd, self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)
