"""A local execution environment: one process runs one function version, as a Lambda sandbox does.

`powertuning.local.environment` starts it as `python -I -S -u -B worker.py CTL_IN CTL_OUT` and
speaks JSON lines over those two file descriptors; the process's stdout and stderr are the
function's log. `-I -S` leave the tuner's virtualenv (site-packages, PYTHONPATH, the script's folder)
off `sys.path`; the function then sees what Lambda gives it: its code, its dependencies, the standard
library and the SDK (see `_function_path`). The worker itself imports only the standard library,
and by path its process control (`worker_process`: memory, clock, deadline) and the CPU model.

Protocol (worker -> runtime unless marked):
    {"type": "started"}                      interpreter up; the runtime may now cap its CPU
    <- {"type": "init", ...}                 handler, limits, context fields
    {"type": "ready" | "init_error", ...}    Init Duration measured around the handler import
    <- {"type": "invoke", ...}               one event
    {"type": "result" | "timeout", ...}      payload, durations, peak memory; `fatal` = exiting
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

_MIB = 1024 * 1024
# importlib's own frames sit between the runtime and the function's module in import tracebacks.
_IMPORTLIB_DIR = os.path.dirname(importlib.__file__)


def _load_sibling(filename: str, name: str) -> Any:
    """A module of this folder (standard library only), loaded by path under a private name.

    Loading by path keeps the tuner's package off `sys.path`, where the function could import it.
    """
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), filename)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses looks the module up by name
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    from powertuning.local import worker_process as process
else:
    process = _load_sibling("worker_process.py", "_powertuning_worker_process")


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


class Worker:
    """The init phase, then one invocation per `invoke` message until stdin closes."""

    def __init__(self, channel: _Channel) -> None:
        self.channel = channel
        self.config: dict[str, Any] = {}
        self.handler: Callable[..., Any] | None = None
        self.request_filter: _RequestIdFilter | None = None
        self.deadline: process.Deadline | None = None

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
            process.record_thread_exits()
            self.deadline = process.Deadline(self.channel.send)
        if config["memory_limit"]:
            process.limit_memory(config["memory_mb"] + config.get("memory_headroom_mb", 0))
        clock = self._clock(config["init_timeout_ms"])
        try:
            self.handler = _load_handler(config["handler"])
        except _InitError as exc:
            self._init_failed(clock, _error(exc, exc.error_type))
            return
        except MemoryError as exc:
            process.release_reserve()
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
                "max_rss_kb": process.max_rss_kb(),
            }
        )

    def _clock(self, timeout_ms: float) -> process.Clock:
        config = self.config
        model, memory_mb, period_ms = config["cpu_model"], config["memory_mb"], config["period_ms"]
        watcher = self.deadline.native_id if self.deadline is not None else 0
        return process.Clock(
            timeout_ms, model=model, memory_mb=memory_mb, period_ms=period_ms, exclude=watcher
        )

    def _init_failed(self, clock: process.Clock, error: dict[str, Any], fatal: str | None = None) -> None:
        sys.stdout.flush()
        self.channel.send(
            {
                "type": "init_error",
                "error": error,
                "init_ms": clock.elapsed_ms(),
                "init_cpu_ms": clock.cpu_ms(),
                "max_rss_kb": process.max_rss_kb(),
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
            process.release_reserve()
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
                "max_rss_kb": process.max_rss_kb(),
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


def main(argv: list[str]) -> int:
    """Serve one execution environment until the runtime closes the control pipe."""
    process.adopt_orphans()
    tmp = process.own_tmp(int(argv[3]), argv[4], tuple(argv[5:])) if len(argv) > 4 else ""
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
