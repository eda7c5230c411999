"""The local Lambda runtime for the function being tuned: worker processes as execution environments.

`WorkerRuntime` implements `powertuning.local.target.TargetRuntime`. Like Lambda it keeps
execution environments per function version and memory size: a cold start spawns a worker and
reports the handler import as Init Duration; a warm invocation reuses an idle worker; invocations
that overlap get separate workers. Each invocation returns Lambda's payload, error flag and the
last 4 KB of its log, ending with the REPORT record in the function's log format.

CPU follows memory (see `powertuning.local.cpu`, and `mode` for which enforcement ran); memory is
limited on the worker's resident set (`powertuning.local.memory_watch`) and exceeding it fails with
`Runtime.OutOfMemory`; a timeout fails with
`Task timed out after N.NN seconds` and kills the environment, as on Lambda.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final

from powertuning import limits
from powertuning.errors import PowerTuningError
from powertuning.local import platform_logs
from powertuning.local.cpu import CFS_PERIOD_US, CGROUP, MODEL, MODES, CgroupV1, CpuBudget
from powertuning.local.environment import Environment, Outcome
from powertuning.local.isolation import sdk_dir
from powertuning.local.target import FunctionSpec, InvokeResult

CPU_MODES: Final = MODES
# The error of an invocation the runtime stopped because the run ended (another size failed): not
# the function's own failure, and named so that nothing reads it as one.
STOPPED_ERROR: Final = "Local.RunStopped"
# Idle environments kept for reuse across every function version; the oldest goes first past this.
DEFAULT_MAX_IDLE: Final = 32


class CpuModeUnavailableError(PowerTuningError):
    """The requested CPU enforcement cannot run on this machine."""


class RuntimeClosedError(PowerTuningError):
    """An invocation arrived after the runtime was closed."""


@dataclass(frozen=True)
class InvocationRecord:
    """What the runtime observed about one invocation, for progress displays and benchmarks."""

    spec: FunctionSpec
    request_id: str
    cold: bool
    status: str
    duration_ms: float
    init_duration_ms: float | None
    cpu_ms: float = 0.0  # CPU time the worker used during the invocation
    event: str = ""  # the payload the function received
    error: str | None = None  # the error payload Lambda returned, when the invocation failed


class WorkerRuntime:
    """Runs target functions in worker processes with Lambda's CPU, memory and time limits."""

    def __init__(
        self,
        cpu_mode: str = MODEL,
        *,
        memory_limit: bool = True,
        max_idle: int = DEFAULT_MAX_IDLE,
        cores: float | None = None,
        cfs_period_us: int = CFS_PERIOD_US,
        on_invocation: Callable[[InvocationRecord], None] | None = None,
        aws_env: Callable[[int], dict[str, str]] | None = None,
    ) -> None:
        if cpu_mode not in CPU_MODES:
            raise CpuModeUnavailableError(f"cpu mode must be one of {', '.join(CPU_MODES)}, got {cpu_mode!r}")
        self._cgroup: CgroupV1 | None = None
        if cpu_mode == CGROUP:
            self._cgroup = CgroupV1.create(cfs_period_us)
            if self._cgroup is None:
                raise CpuModeUnavailableError(
                    "cpu mode cgroup needs a writable cgroup v1 'cpu' hierarchy (Linux, as root); "
                    f"use {MODEL} (the default), which runs anywhere"
                )
        self.mode: str = cpu_mode
        self.period_ms = cfs_period_us / 1000
        self.sdk_path = sdk_dir()
        self.memory_limit = memory_limit
        self.max_idle = max_idle
        self.on_invocation = on_invocation
        # The function's AWS variables at a memory size (powertuning.local.services); None = dummy
        # credentials and no endpoint.
        self.aws_env = aws_env
        self.cold_starts = 0
        self.invocations = 0
        # In the model a worker's wait for a core is not part of its Duration, so it reserves its
        # share like a throttled one: wall time then stays close to the modelled time.
        self._budget = CpuBudget(cores)
        self._log_dir = Path(tempfile.mkdtemp(prefix="powertuning-envs-"))
        self._lock = threading.Lock()
        self._idle: list[Environment] = []  # most recently used last
        self._all: set[Environment] = set()
        self._closed = False
        self._close_lock = threading.Lock()
        # Why a function's run stopped (stop()): its invocations under way or asked for end with it.
        self._stopped: dict[str, str] = {}
        self._busy: set[Environment] = set()
        # Cleanup problems met so far (a CPU group that would not go): reported, never raised, so
        # that a run's result is not lost to its cleanup.
        self.warnings: list[str] = []

    def __enter__(self) -> WorkerRuntime:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def invoke(self, spec: FunctionSpec, event: str) -> InvokeResult:
        """Run one invocation in an idle environment of this version, or a new one (a cold start)."""
        request_id = str(uuid.uuid4())
        fmt = spec.log_format
        if spec.function_name in self._stopped:
            return self._stopped_result(spec, request_id, event, 0.0)
        with self._budget.reserve(spec.memory_mb):
            env = self._take_idle(spec)
            cold = env is None
            env = self._new_environment(spec) if env is None else env
            with self._lock:
                stopped = spec.function_name in self._stopped
                self._busy.add(env)  # for stop() to find, from here to the outcome
            try:
                log = ""
                init: Outcome | None = None
                if cold and not stopped:
                    init = env.start()
                    log = platform_logs.init_start(fmt, spec.function_name, spec.version) + env.take_log()
                failed_init = init is not None and init.status != "success"
                if stopped:
                    outcome = Outcome("error", "", 0.0, 0.0, 0, STOPPED_ERROR, fatal=True)
                elif failed_init and init is not None:
                    outcome = init
                else:
                    outcome = env.invoke(request_id, event)
            finally:
                with self._lock:
                    self._busy.discard(env)
        if spec.function_name in self._stopped and outcome.fatal:
            # Ended by stop(), not by a failure of its own: say so, and why the run stopped.
            self._release(env)
            return self._stopped_result(spec, request_id, event, outcome.duration_ms)
        log += platform_logs.start(fmt, request_id, spec.version) + env.take_log()
        init_ms = init.duration_ms if init is not None else None
        if outcome is init and init.status == "error":
            init_ms, outcome = _init_failure_split(init)
        elif outcome is init:
            init_ms = None  # a hung init ends as a timeout of the invocation itself
        log += _failure_lines(request_id, outcome)
        used_mb = math.ceil(outcome.max_rss_kb / 1024)
        if outcome.error_type == "Runtime.OutOfMemory":
            used_mb = spec.memory_mb
        log += platform_logs.end(fmt, request_id)
        log += platform_logs.report(
            fmt,
            platform_logs.Invocation(
                request_id=request_id,
                version=spec.version,
                memory_mb=spec.memory_mb,
                duration_ms=outcome.duration_ms,
                max_memory_used_mb=min(used_mb, spec.memory_mb),
                init_duration_ms=init_ms,
                status=outcome.status,
                error_type=outcome.error_type,
            ),
        )
        self._release(env)
        outcome = _response_size_checked(outcome)
        result = InvokeResult(
            payload=_payload(request_id, outcome),
            errored=outcome.status != "success",
            logs=platform_logs.tail(log),
        )
        record = InvocationRecord(
            spec,
            request_id,
            init is not None,
            outcome.status,
            outcome.duration_ms,
            init_ms,
            outcome.cpu_ms,
            event,
            result.payload if result.errored else None,
        )
        self._record(record)
        return result

    def stop(self, reason: str, function_name: str) -> None:
        """A run stopped (`reason`: which size failed): end its function's invocations, refuse new ones.

        On Lambda a Map's other iterations are dropped when one fails; here their invocations end now,
        as `STOPPED_ERROR` with `reason`, rather than as the function's own `Runtime.ExitError`.
        """
        with self._lock:
            if function_name in self._stopped:
                return
            self._stopped[function_name] = reason
            busy = [env for env in self._busy if env.spec.function_name == function_name]
        for env in busy:
            env.kill()

    def resume(self, function_name: str) -> None:
        """The stopped run ended: the function's invocations run again (another run of it)."""
        with self._lock:
            self._stopped.pop(function_name, None)

    def _stopped_result(
        self, spec: FunctionSpec, request_id: str, event: str, duration_ms: float
    ) -> InvokeResult:
        reason = self._stopped.get(spec.function_name, "the run stopped")
        body = {
            "errorType": STOPPED_ERROR,
            "errorMessage": f"RequestId: {request_id} Error: stopped: {reason}",
        }
        result = InvokeResult(payload=json.dumps(body), errored=True, logs="")
        self._record(
            InvocationRecord(
                spec, request_id, False, "stopped", duration_ms, None, 0.0, event, result.payload
            )
        )
        return result

    def close(self) -> None:
        """Kill every environment and whatever its function started, remove the CPU groups and logs.

        Idempotent, safe from any thread, and never raises for a cleanup problem: those are added
        to `warnings`. Interrupted (a signal), it can be called again and finishes the job.
        """
        with self._close_lock:
            with self._lock:
                self._closed = True
                self._idle = []
            while True:
                with self._lock:
                    if not self._all:
                        break
                    env = self._all.pop()
                try:
                    self._discard(env)
                except BaseException:
                    with self._lock:
                        self._all.add(env)  # for the next close() to finish
                    raise
            if self._cgroup is not None:
                try:
                    self.warnings.extend(self._cgroup.close())
                except OSError as exc:
                    self.warnings.append(f"could not remove the CPU groups: {exc}")
            try:
                shutil.rmtree(self._log_dir, ignore_errors=True)
            except OSError as exc:  # ignore_errors does not cover every call (closing a directory)
                self.warnings.append(f"could not remove {self._log_dir}: {exc}")

    def _discard(self, env: Environment) -> None:
        """Kill an environment; a cleanup problem becomes a warning."""
        try:
            env.discard()
        except Exception as exc:  # the run's result matters more than its cleanup
            env.problems.append(f"could not end an execution environment: {exc}")
        if env.problems:
            with self._lock:
                self.warnings.extend(env.problems)
            env.problems.clear()

    @property
    def environments(self) -> int:
        """Live execution environments, idle or busy."""
        with self._lock:
            return len(self._all)

    def _take_idle(self, spec: FunctionSpec) -> Environment | None:
        with self._lock:
            if self._closed:
                raise RuntimeClosedError("the local runtime is closed")
            for index in range(len(self._idle) - 1, -1, -1):
                env = self._idle[index]
                if env.spec.environment_key == spec.environment_key:
                    del self._idle[index]
                    if env.spec == spec and env.alive:
                        return env
                    break
            else:
                return None
        # The configuration changed or the worker died: a new environment, as on Lambda. It leaves
        # `_all` only once killed, so that close() still finds it if a signal interrupts the kill.
        self._discard(env)
        with self._lock:
            self._all.discard(env)
        return None

    def _new_environment(self, spec: FunctionSpec) -> Environment:
        env = Environment(
            spec,
            log_dir=self._log_dir,
            cpu_model=self.mode == MODEL,
            period_ms=self.period_ms,
            cgroup=self._cgroup,
            memory_limit=self.memory_limit,
            sdk_path=self.sdk_path,
            aws_env=self.aws_env(spec.memory_mb) if self.aws_env is not None else None,
        )
        with self._lock:
            if self._closed:
                raise RuntimeClosedError("the local runtime is closed")
            self._all.add(env)
        return env

    def _release(self, env: Environment) -> None:
        evicted: list[Environment] = []
        with self._lock:
            if env.alive and not self._closed:
                self._idle.append(env)
                while len(self._idle) > self.max_idle:
                    evicted.append(self._idle.pop(0))
            else:
                evicted.append(env)
        for old in evicted:
            self._discard(old)
            with self._lock:  # only once killed, as in _take_idle
                self._all.discard(old)

    def _record(self, record: InvocationRecord) -> None:
        with self._lock:
            self.invocations += 1
            self.cold_starts += int(record.cold)
        if self.on_invocation is not None:
            self.on_invocation(record)


def _response_size_checked(outcome: Outcome) -> Outcome:
    """A response past Lambda's 6 MB is an error, as Lambda returns it (the environment stays)."""
    size = len(outcome.payload.encode())
    if outcome.status != "success" or size <= limits.MAX_INVOKE_PAYLOAD_BYTES:
        return outcome
    error = {
        "errorMessage": f"Response payload size ({size} bytes) exceeded maximum allowed payload size "
        f"({limits.MAX_INVOKE_PAYLOAD_BYTES} bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    return Outcome(
        "error",
        json.dumps(error),
        outcome.duration_ms,
        outcome.cpu_ms,
        outcome.max_rss_kb,
        error["errorType"],
    )


def _init_failure_split(init: Outcome) -> tuple[float, Outcome]:
    """A failed init: its time is the Init Duration and the invocation itself lasted no time."""
    return init.duration_ms, Outcome(
        init.status, init.payload, 0.0, 0.0, init.max_rss_kb, init.error_type, init.fatal, init.reason
    )


def _failure_lines(request_id: str, outcome: Outcome) -> str:
    """The platform's own log lines for a timeout or a runtime that died."""
    if outcome.status == "timeout":
        seconds = outcome.duration_ms / 1000
        return f"{platform_logs.timestamp()} {request_id} Task timed out after {seconds:.2f} seconds\n"
    if outcome.reason:
        exited = f"RequestId: {request_id} Error: Runtime exited with error: {outcome.reason}"
        return f"{exited}\n{outcome.error_type}\n"
    return ""


def _payload(request_id: str, outcome: Outcome) -> str:
    """The response body: the function's, or the error Lambda returns for timeouts and dead runtimes."""
    if outcome.status == "timeout":
        seconds = outcome.duration_ms / 1000
        return json.dumps(
            {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {request_id} Error: Task timed out after {seconds:.2f} seconds",
            }
        )
    if outcome.reason:
        return json.dumps(
            {
                "errorType": outcome.error_type,
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {outcome.reason}",
            }
        )
    if outcome.status == "error":
        with contextlib.suppress(ValueError, TypeError):
            body = json.loads(outcome.payload)
            if isinstance(body, dict) and "errorType" in body:
                ordered = {k: body[k] for k in ("errorMessage", "errorType") if k in body}
                return json.dumps({**ordered, "requestId": request_id, **body})
    return outcome.payload
