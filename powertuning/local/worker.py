"""A local execution environment: one process runs one function version, as a Lambda sandbox does.

`powertuning.local.environment` starts it as `python -I -S -u -B worker.py CTL_IN CTL_OUT` and
speaks JSON lines over those two file descriptors; the process's stdout and stderr are the
function's log. `-I -S` leave the tuner's virtualenv (site-packages, PYTHONPATH, the script's folder)
off `sys.path`; the function then sees what Lambda gives it: its code, its dependencies, the standard
library and the SDK (see `_function_path`). The worker itself imports only the standard library
and the stdlib-only CPU model, by path.

Protocol (worker -> runtime unless marked):
    {"type": "started"}                      interpreter up; the runtime may now cap its CPU
    <- {"type": "init", ...}                 handler, limits, context fields
    {"type": "ready" | "init_error", ...}    Init Duration measured around the handler import
    <- {"type": "invoke", ...}               one event
    {"type": "result" | "timeout", ...}      payload, durations, peak memory; `fatal` = exiting
"""

from __future__ import annotations

import _thread
import contextlib
import importlib
import importlib.util
import json
import logging
import os
import resource
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

_MIB = 1024 * 1024
# importlib's own frames sit between the runtime and the function's module in import tracebacks.
_IMPORTLIB_DIR = os.path.dirname(importlib.__file__)
# Freed on MemoryError so the worker still has room to report the failure.
_reserve: bytearray | None = bytearray(_MIB)


class LambdaContext:
    """The `context` argument, with the fields of Lambda's Python runtime."""

    def __init__(self, request_id: str, config: dict[str, Any], remaining_ms: Callable[[], int]) -> None:
        self.aws_request_id = request_id
        self.function_name: str = config["function_name"]
        self.function_version: str = config["version"]
        self.invoked_function_arn: str = config["function_arn"]
        # Lambda's Python runtime passes the memory size as a string, from AWS_LAMBDA_FUNCTION_MEMORY_SIZE.
        self.memory_limit_in_mb = str(config["memory_mb"])
        self.log_group_name: str = config["log_group_name"]
        self.log_stream_name: str = config["log_stream_name"]
        self.identity: Any = None
        self.client_context: Any = None
        self.tenant_id: str | None = None
        self._remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function times out."""
        return self._remaining_ms()

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},function_name={self.function_name},"
            f"function_version={self.function_version},memory_limit_in_mb={self.memory_limit_in_mb}])"
        )


class _Channel:
    """JSON lines over two inherited pipe file descriptors."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._reader = os.fdopen(read_fd, "rb")
        self._write_fd = write_fd

    def receive(self) -> dict[str, Any] | None:
        line = self._reader.readline()
        return json.loads(line) if line else None

    def send(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message) + "\n").encode()
        while data:
            written = os.write(self._write_fd, data)
            data = data[written:]


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "requestId": getattr(record, "aws_request_id", ""),
        }
        return json.dumps(entry)


def _setup_logging(log_format: str) -> _RequestIdFilter:
    """The root logger Lambda's Python runtime installs: text lines, or JSON records at INFO."""
    request_filter = _RequestIdFilter()
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(request_filter)
    if log_format == "JSON":
        handler.setFormatter(_JsonFormatter())
        logging.getLogger().setLevel(logging.INFO)
    else:
        formatter = logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
    logging.getLogger().addHandler(handler)
    return request_filter


def _error(exc: BaseException, error_type: str | None = None, message: str | None = None) -> dict[str, Any]:
    """Lambda's error payload, and the `[ERROR]` record its Python runtime logs."""
    # The worker's own frames are the runtime's, which Lambda leaves out of stack traces too; for an
    # import failure the frames that matter are the cause's (the function's file and line).
    source = exc.__cause__ if isinstance(exc, _InitError) and exc.__cause__ is not None else exc
    entries = [
        frame
        for frame in traceback.extract_tb(source.__traceback__)
        if frame.filename != __file__
        and not frame.filename.startswith("<frozen ")
        and os.path.dirname(frame.filename) != _IMPORTLIB_DIR
    ]
    frames = traceback.format_list(entries)
    payload = {
        "errorMessage": str(exc) if message is None else message,
        "errorType": error_type or type(exc).__name__,
        "stackTrace": frames,
    }
    print(
        f"[ERROR] {payload['errorType']}: {payload['errorMessage']}\n"
        f"Traceback (most recent call last):\n{''.join(frames)}",
        file=sys.stdout,
        flush=True,
    )
    return payload


def _max_rss_kb() -> int:
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


def _limit_memory(memory_mb: int) -> None:
    """Cap the address space at the function's memory plus what the interpreter mapped but never touched.

    RLIMIT_AS counts address space, not resident memory, so the unbacked part measured at start-up is
    added back; past the cap allocations raise MemoryError.
    """
    limit = memory_mb * _MIB + _unbacked_kb() * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _load_handler(handler: str) -> Callable[..., Any]:
    """Import `module.function` as Lambda's Python runtime does, with its error types."""
    module_name, _, function_name = handler.rpartition(".")
    if not module_name or not function_name:
        raise _InitError(
            "Runtime.MalformedHandlerName", f"Bad handler '{handler}': not enough values to unpack"
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from exc
    except SyntaxError as exc:
        raise _InitError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}"
        ) from exc
    function = getattr(module, function_name, None)
    if not callable(function):
        raise _InitError(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        )
    return function


def _function_path(code_dir: str, before: list[str], after: list[str]) -> list[str]:
    """`sys.path` in Lambda's order: the code (like /var/task), its PYTHONPATH and dependencies, the
    standard library, then the SDK Lambda's runtime bundles. Nothing of the tuner's environment.

    The worker runs with `-I -S`, so its own path is the standard library alone.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    stdlib = [p for p in sys.path if p and os.path.abspath(p) != here]
    own = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]  # Lambda honours it
    return [code_dir, *own, *before, *stdlib, *after]


class _InitError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


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


def _record_thread_exits() -> None:
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


class _Clock:
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


class _Deadline:
    """Model mode: ends an invocation once its modelled time passes the timeout.

    A thread of its own (left out of the measurements) rather than a timer signal: a signal wakes the
    handler's thread from a sleep, and the wait for a core after each wake-up would be taken out of
    time the function spent sleeping. Started with `_thread` so that `threading.enumerate()` in the
    function does not list it.
    """

    def __init__(self, channel: _Channel) -> None:
        self.channel = channel
        self.clock: _Clock | None = None
        self.native_id = 0
        self._armed = threading.Event()
        self._started = threading.Event()
        _thread.start_new_thread(self._watch, ())
        self._started.wait()

    def arm(self, clock: _Clock) -> None:
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
                self.channel.send(
                    {"type": "timeout", "elapsed_ms": clock.elapsed_ms(), "max_rss_kb": _max_rss_kb()}
                )
                os._exit(0)


class Worker:
    """The init phase, then one invocation per `invoke` message until stdin closes."""

    def __init__(self, channel: _Channel) -> None:
        self.channel = channel
        self.config: dict[str, Any] = {}
        self.handler: Callable[..., Any] | None = None
        self.request_filter: _RequestIdFilter | None = None
        self.deadline: _Deadline | None = None

    def init(self, config: dict[str, Any]) -> None:
        """Apply the limits, import the handler, report Init Duration."""
        self.config = config
        code_dir = config["code_dir"] or os.getcwd()
        os.chdir(code_dir)
        sys.path[:] = _function_path(code_dir, config.get("path_before", []), config.get("path_after", []))
        # Thread stacks count against RLIMIT_AS at their full size: keep them modest.
        threading.stack_size(config.get("thread_stack_bytes", 2 * _MIB))
        self.request_filter = _setup_logging(config["log_format"])
        if config["cpu_model"]:
            _record_thread_exits()
            self.deadline = _Deadline(self.channel)
        if config["memory_limit"]:
            _limit_memory(config["memory_mb"] + config.get("memory_headroom_mb", 0))
        clock = self._clock(config["init_timeout_ms"])
        try:
            self.handler = _load_handler(config["handler"])
        except _InitError as exc:
            self._init_failed(clock, _error(exc, exc.error_type))
            return
        except MemoryError as exc:
            _release_reserve()
            self._init_failed(clock, _error(exc, "Runtime.OutOfMemory"), fatal="Runtime.OutOfMemory")
            return
        except BaseException as exc:
            self._init_failed(clock, _error(exc))
            return
        self.channel.send(
            {
                "type": "ready",
                "init_ms": clock.elapsed_ms(),
                "init_cpu_ms": clock.cpu_ms(),
                "max_rss_kb": _max_rss_kb(),
            }
        )

    def _clock(self, timeout_ms: float) -> _Clock:
        config = self.config
        model, memory_mb, period_ms = config["cpu_model"], config["memory_mb"], config["period_ms"]
        watcher = self.deadline.native_id if self.deadline is not None else 0
        return _Clock(timeout_ms, model=model, memory_mb=memory_mb, period_ms=period_ms, exclude=watcher)

    def _init_failed(self, clock: _Clock, error: dict[str, Any], fatal: str | None = None) -> None:
        sys.stdout.flush()
        self.channel.send(
            {
                "type": "init_error",
                "error": error,
                "init_ms": clock.elapsed_ms(),
                "init_cpu_ms": clock.cpu_ms(),
                "max_rss_kb": _max_rss_kb(),
                "fatal": fatal,
            }
        )

    def invoke(self, message: dict[str, Any]) -> bool:
        """Run one invocation and report it; False when the environment must end."""
        assert self.handler is not None
        assert self.request_filter is not None
        request_id = message["request_id"]
        self.request_filter.request_id = request_id
        clock = self._clock(message["timeout_ms"])
        context = LambdaContext(request_id, self.config, clock.remaining_ms)
        if self.deadline is not None:
            self.deadline.arm(clock)
        fatal: str | None = None
        payload: str | dict[str, Any]
        try:
            try:
                event = json.loads(message["event"])
            except ValueError as exc:
                payload = _error(exc, "Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}")
            else:
                payload = self._call(event, context)
        except MemoryError as exc:
            _release_reserve()
            payload = _error(exc, "Runtime.OutOfMemory")
            fatal = "Runtime.OutOfMemory"
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            payload = _error(exc, "Runtime.ExitError", f"Runtime exited with error: exit status {status}")
            fatal = "Runtime.ExitError"
        finally:
            if self.deadline is not None:
                self.deadline.disarm()
        sys.stdout.flush()
        sys.stderr.flush()
        errored = isinstance(payload, dict)
        body = json.dumps(payload) if errored else payload
        self.channel.send(
            {
                "type": "result",
                "payload": body,
                "errored": errored,
                "duration_ms": clock.elapsed_ms(),
                "cpu_ms": clock.cpu_ms(),
                "max_rss_kb": _max_rss_kb(),
                "fatal": fatal,
            }
        )
        return fatal is None

    def _call(self, event: Any, context: LambdaContext) -> str | dict[str, Any]:
        """The handler's JSON response, or an error payload (a dict)."""
        assert self.handler is not None
        try:
            result = self.handler(event, context)
        except (MemoryError, SystemExit):
            raise
        except BaseException as exc:
            return _error(exc)
        try:
            return json.dumps(result)
        except (TypeError, ValueError) as exc:
            return _error(exc, "Runtime.MarshalError", f"Unable to marshal response: {exc}")


def _release_reserve() -> None:
    global _reserve
    _reserve = None


def _adopt_orphans() -> None:
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


def _own_tmp(size_mb: int, fallback: str) -> str:
    """Give the environment a /tmp of its own, as Lambda does; which way it went.

    Linux as root: a private mount namespace with a tmpfs of `size_mb` on /tmp (a write past it fails
    with ENOSPC, and it goes when the environment's last process exits). Elsewhere `TMPDIR` (and
    TMP, TEMP) name the runtime's folder for this environment, and a literal "/tmp/..." path is the
    host's. Must run before any thread starts: unshare(CLONE_NEWNS) refuses a threaded process.
    """
    if size_mb <= 0 or not sys.platform.startswith("linux") or os.geteuid() != 0:
        return "dir"
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        clone_newns, ms_rec, ms_private = 0x00020000, 0x4000, 0x40000
        if libc.unshare(clone_newns) != 0:
            return "dir"
        # Private first, so the tmpfs is not propagated back to the host's mount namespace.
        if libc.mount(b"none", b"/", None, ms_rec | ms_private, None) != 0:
            return "dir"
        options = f"size={size_mb}m,mode=1777".encode()
        if libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 0, options) != 0:
            return "dir"
    except (OSError, AttributeError):
        return "dir"
    for name in ("TMPDIR", "TMP", "TEMP"):
        os.environ[name] = "/tmp"
    with contextlib.suppress(OSError):
        os.rmdir(fallback)  # unused: the tmpfs is the /tmp
    return "tmpfs"


def main(argv: list[str]) -> int:
    """Serve one execution environment until the runtime closes the control pipe."""
    _adopt_orphans()
    tmp = _own_tmp(int(argv[3]), argv[4]) if len(argv) > 4 else ""
    channel = _Channel(int(argv[1]), int(argv[2]))
    worker = Worker(channel)
    channel.send({"type": "started", "tmp": tmp})
    message = channel.receive()
    if message is None or message.get("type") != "init":
        return 1
    worker.init(message)
    if worker.handler is None:
        return 0
    while (message := channel.receive()) is not None:
        if message.get("type") == "invoke" and not worker.invoke(message):
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
