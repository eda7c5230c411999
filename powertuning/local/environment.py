"""One local execution environment: a worker process serving one function version, like a Lambda sandbox.

The process is spawned on a cold start, joins its CPU group once the interpreter is up, imports the
handler (timed as Init Duration) and then serves invocations one at a time until it is killed:
by a timeout, by running out of memory, or when the runtime closes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from powertuning.local import memory_watch
from powertuning.local.control_pipe import Control, WorkerGoneError
from powertuning.local.cpu import CgroupV1, CpuGroup
from powertuning.local.cpu_model import PERIOD_MS
from powertuning.local.process_tree import kill_tree
from powertuning.local.target import FunctionSpec

WORKER_SCRIPT: Final = Path(__file__).with_name("worker.py")
# Lambda gives the init phase up to 10 s whatever the function's timeout.
INIT_TIMEOUT_S: Final = 10.0
_STARTUP_TIMEOUT_S: Final = 30.0
# How late a result may arrive after the timeout (pipe latency) before the invocation counts as timed out.
_TIMEOUT_GRACE_S: Final = 0.05
_MEMORY_HINTS: Final = ("MemoryError", "Cannot allocate memory", "out of memory", "std::bad_alloc")


@dataclass(frozen=True)
class Outcome:
    """How one phase (init or invoke) of an environment ended."""

    status: str  # "success" | "error" | "timeout"
    payload: str
    duration_ms: float
    cpu_ms: float
    max_rss_kb: int
    error_type: str | None = None  # set for timeouts and runtime failures (OOM, exit)
    fatal: bool = False  # the environment is gone
    reason: str = ""  # why the runtime exited, in Lambda's words: "signal: killed", "exit status 1"


class Environment:
    """A worker process for one function version; used by one invocation at a time."""

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        log_dir: Path,
        cpu_model: bool = False,
        period_ms: float = PERIOD_MS,
        cgroup: CgroupV1 | None = None,
        memory_limit: bool = True,
        sdk_path: Path | None = None,
        aws_env: dict[str, str] | None = None,
    ) -> None:
        self.spec = spec
        # The function's AWS variables (endpoint, credentials, region); None = dummy credentials only.
        self.aws_env = aws_env
        self.cpu_model = cpu_model
        self.period_ms = period_ms
        self.sdk_path = sdk_path
        self.memory_limit = memory_limit
        self.log_path = log_dir / f"{uuid.uuid4().hex}.log"
        # The environment's /tmp where the OS cannot map one (see worker.py), removed with it.
        self.tmp_dir = log_dir / f"tmp-{uuid.uuid4().hex}"
        # How /tmp was given: "tmpfs" (its own, mounted at /tmp) or "dir" (TMPDIR only); "" before start.
        self.tmp_mode = ""
        self.log_stream_name = (
            f"{time.strftime('%Y/%m/%d', time.gmtime())}/[{spec.version}]{uuid.uuid4().hex}"
        )
        self.max_rss_kb = 0
        self._cgroup = cgroup
        self._group: CpuGroup | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._control: Control | None = None
        self._kill_lock = threading.Lock()
        self._killed = False
        # Lambda's memory limit on the resident set (memory_watch.py), where /proc tells it.
        self._watch: memory_watch.MemoryWatch | None = None
        self._watch_rss = memory_limit and memory_watch.available()
        # Cleanup problems (a CPU group that would not go), for the runtime to report as warnings.
        self.problems: list[str] = []

    @property
    def alive(self) -> bool:
        """True while the worker can take another invocation."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> Outcome:
        """Spawn the worker, cap its CPU, import the handler; the outcome's duration is Init Duration."""
        with self._kill_lock:
            if self._killed:  # closed before it started (the runtime closing during a cold start)
                return Outcome("error", "", 0.0, 0.0, 0, "Runtime.ExitError", True, "signal: killed")
            self._spawn()
        assert self._control is not None
        assert self._proc is not None
        try:
            started = self._control.receive(time.monotonic() + _STARTUP_TIMEOUT_S)
            if started is None:
                raise WorkerGoneError("worker did not start")
            self.tmp_mode = str(started.get("tmp", ""))
            # Join after the interpreter's own start-up, which Lambda does not count or throttle.
            if self._cgroup is not None:
                self._join_group(self._cgroup, self._proc.pid)
            self._control.send(self._init_message())
            init_timeout = max(INIT_TIMEOUT_S, self.spec.timeout_s)
            message = self._control.receive(time.monotonic() + init_timeout)
        except WorkerGoneError:
            return self._died(0.0)
        if message is None:
            self.kill()
            return Outcome(
                "timeout", "", init_timeout * 1000, 0.0, self.max_rss_kb, "Sandbox.Timedout", fatal=True
            )
        self.max_rss_kb = int(message.get("max_rss_kb", 0))
        duration = message["init_ms"]
        if self.cpu_model and duration > init_timeout * 1000:
            # The modelled init outlasted Lambda's init timeout, though it finished here at full speed.
            self.kill()
            return Outcome(
                "timeout", "", init_timeout * 1000, 0.0, self.max_rss_kb, "Sandbox.Timedout", fatal=True
            )
        if message["type"] == "ready":
            return Outcome("success", "", duration, message["init_cpu_ms"], self.max_rss_kb)
        self.kill()
        error = message["error"]
        reason = "signal: killed" if message.get("fatal") == "Runtime.OutOfMemory" else ""
        return Outcome(
            "error",
            json.dumps(error),
            duration,
            message["init_cpu_ms"],
            self.max_rss_kb,
            error["errorType"],
            True,
            reason,
        )

    def invoke(self, request_id: str, event: str) -> Outcome:
        """Run one invocation; a timeout or a runtime failure kills the environment."""
        assert self._control is not None
        timeout_ms = self.spec.timeout_s * 1000
        started = time.monotonic()
        # The model enforces its modelled deadline in the worker; wall time is only a backstop for
        # a call that never returns to Python, generous because waiting for a busy core is not
        # modelled time.
        backstop = self.spec.timeout_s * 3 + 1.0 if self.cpu_model else self.spec.timeout_s + _TIMEOUT_GRACE_S
        try:
            self._control.send(
                {"type": "invoke", "request_id": request_id, "event": event, "timeout_ms": timeout_ms}
            )
            message = self._control.receive(started + backstop)
        except WorkerGoneError:
            return self._died((time.monotonic() - started) * 1000)
        if message is None or message["type"] == "timeout":
            self.kill()
            # Lambda reports the timeout itself as the Duration of a timed-out invocation.
            return self._timed_out(timeout_ms)
        self.max_rss_kb = max(self.max_rss_kb, int(message["max_rss_kb"]))
        duration = message["duration_ms"]
        if duration > timeout_ms:
            self.kill()
            return self._timed_out(timeout_ms)
        fatal = message.get("fatal")
        if fatal:
            self.kill()
            # The worker caught what Lambda's sandbox would have ended: OOM kill, or sys.exit().
            reason = "signal: killed" if fatal == "Runtime.OutOfMemory" else _exit_status(message["payload"])
            return Outcome("error", "", duration, message["cpu_ms"], self.max_rss_kb, fatal, True, reason)
        status = "error" if message["errored"] else "success"
        return Outcome(status, message["payload"], duration, message["cpu_ms"], self.max_rss_kb)

    def _join_group(self, cgroup: CgroupV1, pid: int) -> None:
        """Put the worker in a CPU group of its own, unless the environment was killed meanwhile."""
        with self._kill_lock:
            if self._killed:
                raise WorkerGoneError("the environment was closed")
            self._group = cgroup.group(self.spec.memory_mb)
            self._group.join(pid)

    def take_log(self) -> str:
        """What the function wrote since the last call, then forget it."""
        try:
            data = self.log_path.read_bytes()
            os.truncate(self.log_path, 0)
        except OSError:
            return ""
        return data.decode("utf-8", errors="replace")

    def kill(self) -> None:
        """End the worker and every process it started, and release its CPU group.

        Safe to call more than once and from any thread; never raises (a CPU group that cannot be
        removed is added to `problems`).
        """
        if self._watch is not None:
            self._watch.stop()
        with self._kill_lock:
            self._killed = True
            if self._proc is not None:
                # A reaped worker's number may be another process's by now: then only its session
                # and process group (numbers the kernel keeps while a member lives) identify it.
                kill_tree(
                    self._proc.pid,
                    self._group.procs if self._group is not None else None,
                    descendants=self._proc.returncode is None,
                )
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=10)
            if self._control is not None:
                self._control.close()
            if self._group is not None and self._cgroup is not None:
                problem = self._cgroup.release(self._group)
                if problem is not None:
                    self.problems.append(problem)
                self._group = None

    def discard(self) -> None:
        """Kill the worker and delete its log file."""
        self.kill()
        with contextlib.suppress(OSError):
            self.log_path.unlink()
        shutil.rmtree(self.tmp_dir, ignore_errors=True)

    def _spawn(self) -> None:
        p2c_read, p2c_write = os.pipe()
        c2p_read, c2p_write = os.pipe()
        log_fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.tmp_dir.mkdir(mode=0o700)
        # The size of its /tmp, the TMPDIR folder where it cannot be mounted, and what to bind back.
        tmp = [str(self.spec.ephemeral_storage_mb), str(self.tmp_dir), *self._kept_tmp_entries()]
        try:
            self._proc = subprocess.Popen(
                # -I -S: none of the tuner's virtualenv on the function's path (see worker.py).
                [
                    sys.executable,
                    "-I",
                    "-S",
                    "-u",
                    "-B",
                    str(WORKER_SCRIPT),
                    str(p2c_read),
                    str(c2p_write),
                    *tmp,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=log_fd,
                pass_fds=(p2c_read, c2p_write),
                env=self._environment(),
                cwd=str(self.spec.code_dir) if self.spec.code_dir else None,
                # Its own session and process group: a timeout or close kills whatever the function
                # started, and Ctrl-C in the terminal reaches the tuner only.
                start_new_session=True,
            )
        finally:
            for fd in (p2c_read, c2p_write, log_fd):
                os.close(fd)
        self._control = Control(c2p_read, p2c_write)
        if self._watch_rss:
            limit = self.spec.memory_mb * 1024 * 1024
            self._watch = memory_watch.MemoryWatch(self._proc.pid, limit, self._out_of_memory).start()

    def _out_of_memory(self) -> None:
        """The worker's resident memory passed the function's: Lambda's sandbox would kill it now."""
        self.max_rss_kb = max(self.max_rss_kb, self.spec.memory_mb * 1024)
        self.kill()

    def _kept_tmp_entries(self) -> list[str]:
        """The entries of the host's /tmp a /tmp of its own must not hide (bound back into it): those
        holding its code, dependencies, SDK, interpreter, the runtime itself, and paths its environment
        variables name (a variable naming a folder or file of the host's /tmp hands it over on purpose)."""
        host_tmp = Path("/tmp").resolve()
        spec = self.spec
        needed = [spec.code_dir, *map(Path, spec.python_path), self.sdk_path, WORKER_SCRIPT.parent]
        needed += [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).parent]
        needed += [Path(p) for p in spec.environment.get("PYTHONPATH", "").split(os.pathsep) if p]
        needed += [Path(v) for v in spec.environment.values() if os.path.isabs(v) and os.path.exists(v)]
        kept = set()
        for path in needed:
            if (
                path is not None
                and (resolved := path.resolve()).is_relative_to(host_tmp)
                and resolved != host_tmp
            ):
                kept.add(resolved.relative_to(host_tmp).parts[0])
        return sorted(kept)

    def _environment(self) -> dict[str, str]:
        """Lambda's reserved variables, then the function's own."""
        spec = self.spec
        arn_parts = spec.function_arn.split(":")
        region = arn_parts[3] if len(arn_parts) > 3 and arn_parts[3] else "us-east-1"
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(spec.code_dir or ""),
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream_name,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            # glibc reserves 64 MB of address space per malloc arena, which RLIMIT_AS would count.
            "MALLOC_ARENA_MAX": "2",
            # The worker mounts its own /tmp where it can, and then points these there instead.
            "TMPDIR": str(self.tmp_dir),
            "TMP": str(self.tmp_dir),
            "TEMP": str(self.tmp_dir),
        }
        if self.aws_env is None:
            # Dummy credentials: never the machine's real ones unless --aws real hands them over.
            env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
            env["AWS_SESSION_TOKEN"] = "testing"
        else:
            env.update(self.aws_env)
        env.update(spec.environment)
        return env

    def _init_message(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "type": "init",
            "handler": spec.handler,
            "code_dir": str(spec.code_dir) if spec.code_dir else "",
            "function_name": spec.function_name,
            "version": spec.version,
            "function_arn": spec.function_arn,
            "memory_mb": spec.memory_mb,
            "memory_limit": self.memory_limit,
            # With the resident set watched, the address-space cap is only a backstop beyond it.
            "memory_headroom_mb": memory_watch.ADDRESS_HEADROOM_MB if self._watch_rss else 0,
            "log_format": spec.log_format,
            "log_group_name": f"/aws/lambda/{spec.function_name}",
            "log_stream_name": self.log_stream_name,
            "cpu_model": self.cpu_model,
            "period_ms": self.period_ms,
            "path_before": list(spec.python_path),
            "path_after": [str(self.sdk_path)] if self.sdk_path else [],
            "init_timeout_ms": max(INIT_TIMEOUT_S, spec.timeout_s) * 1000,
        }

    def _timed_out(self, duration_ms: float) -> Outcome:
        return Outcome("timeout", "", duration_ms, 0.0, self.max_rss_kb, "Sandbox.Timedout", fatal=True)

    def _died(self, duration_ms: float) -> Outcome:
        """The worker exited mid-phase: out of memory if its log says so, else a runtime exit error."""
        assert self._proc is not None
        self.kill()
        code = self._proc.returncode
        try:
            log = self.log_path.read_text(errors="replace")
        except OSError:  # no log, or the runtime closed and removed it meanwhile
            log = ""
        if (self._watch is not None and self._watch.exceeded) or any(hint in log for hint in _MEMORY_HINTS):
            return Outcome(
                "error", "", duration_ms, 0.0, self.max_rss_kb, "Runtime.OutOfMemory", True, "signal: killed"
            )
        return Outcome(
            "error", "", duration_ms, 0.0, self.max_rss_kb, "Runtime.ExitError", True, _exit_reason(code)
        )


def _exit_status(payload: str) -> str:
    """The `exit status N` part of the worker's Runtime.ExitError message."""
    try:
        message = str(json.loads(payload).get("errorMessage", ""))
    except (ValueError, AttributeError):
        return "exit status 1"
    return message.rpartition("error: ")[2] or "exit status 1"


def _exit_reason(code: int | None) -> str:
    """How Lambda words a runtime's exit: `signal: killed`, `exit status 1`."""
    if code is None:
        return "unknown"
    if code < 0:
        name = {signal.SIGKILL: "killed", signal.SIGSEGV: "segmentation fault", signal.SIGABRT: "aborted"}
        return f"signal: {name.get(signal.Signals(-code), signal.Signals(-code).name)}"
    return f"exit status {code}"
