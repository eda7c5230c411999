"""The worker-process runtime: cold and warm starts, REPORT lines, limits, logs, context, CPU share.

These spawn real worker processes (about 50 ms each); CPU proportionality is checked as a loose
ratio band, the precise figure is benchmarks/fidelity.py's.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from powertuning.local.cpu import CGROUP, MODEL, cgroup_v1_available
from powertuning.local.runtime import STOPPED_ERROR, CpuModeUnavailableError, InvocationRecord, WorkerRuntime
from powertuning.local.target import FunctionSpec, InvokeResult
from powertuning.logs import Report, parse_report
from tests.procfs import in_session, running

pytestmark = pytest.mark.slow

HANDLER = """
import json, os, time

print("init: importing the handler")

def handler(event, context):
    action = event.get("action")
    if action == "print":
        print(event["text"])
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "spin":  # a fixed amount of CPU time, whatever the share
        start = time.process_time()
        while time.process_time() - start < event["cpu_seconds"]:
            pass
    if action == "allocate":
        block = bytearray(event["mb"] * 1024 * 1024)
        block[::4096] = b"x" * len(block[::4096])
    if action == "fail":
        raise ValueError("something went wrong")
    if action == "context":
        return {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "invoked_function_arn": context.invoked_function_arn,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "env_memory": os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"],
            "env_name": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
            "cwd": os.getcwd(),
        }
    return {"pid": os.getpid()}
"""
ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn"


@pytest.fixture(scope="module")
def code_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("function")
    (folder / "app.py").write_text(HANDLER)
    (folder / "broken.py").write_text("import not_a_module_anywhere\n")
    return folder


@pytest.fixture
def runtime() -> Iterator[WorkerRuntime]:
    with WorkerRuntime() as started:
        yield started


def spec_for(code_dir: Path, memory_mb: int = 512, **changes: Any) -> FunctionSpec:
    fields: dict[str, Any] = {
        "function_name": "fn",
        "version": "1",
        "memory_mb": memory_mb,
        "timeout_s": 10.0,
        "handler": "app.handler",
        "code_dir": code_dir,
        "function_arn": f"{ARN}:1",
    }
    fields.update(changes)
    return FunctionSpec(**fields)


def invoke(runtime: WorkerRuntime, spec: FunctionSpec, **event: Any) -> tuple[InvokeResult, Any, Report]:
    result = runtime.invoke(spec, json.dumps(event))
    return result, json.loads(result.payload), parse_report(result.logs)


def test_cold_start_then_warm_reuse(runtime, code_dir):
    spec = spec_for(code_dir)
    # WHEN the same version is invoked twice in a row
    first, body1, report1 = invoke(runtime, spec)
    second, body2, report2 = invoke(runtime, spec)
    # THEN the first is a cold start with the handler's import timed, the second reuses the process
    assert report1.is_cold_start
    assert report1.init_duration_ms > 0
    assert first.logs.startswith("INIT_START Runtime Version: python:")
    assert "init: importing the handler" in first.logs
    assert not report2.is_cold_start
    assert "INIT_START" not in second.logs
    assert body1["pid"] == body2["pid"]
    assert (runtime.cold_starts, runtime.invocations, runtime.environments) == (1, 2, 1)


def test_each_memory_size_and_version_has_its_own_environments(runtime, code_dir):
    _, a, _ = invoke(runtime, spec_for(code_dir, 256))
    _, b, _ = invoke(runtime, spec_for(code_dir, 512))
    _, c, _ = invoke(runtime, spec_for(code_dir, 512, version="2"))
    assert len({a["pid"], b["pid"], c["pid"]}) == 3
    assert runtime.cold_starts == 3


def test_a_changed_configuration_gets_a_new_environment(runtime, code_dir):
    _, before, _ = invoke(runtime, spec_for(code_dir))
    _, after, report = invoke(runtime, spec_for(code_dir, environment={"MODE": "new"}))
    assert before["pid"] != after["pid"]
    assert report.is_cold_start


def test_concurrent_invocations_get_separate_environments(runtime, code_dir):
    spec = spec_for(code_dir)
    bodies: list[Any] = []

    def call() -> None:
        bodies.append(invoke(runtime, spec, action="sleep", seconds=0.3)[1])

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len({body["pid"] for body in bodies}) == 3
    assert runtime.environments == 3
    # Afterwards the idle environments are reused: no new cold start.
    invoke(runtime, spec)
    assert runtime.cold_starts == 3


def test_report_line_is_lambdas_text_format(runtime, code_dir):
    result, _, report = invoke(runtime, spec_for(code_dir, 1024))
    lines = result.logs.splitlines()
    request_id = lines[-1].split("\t")[0].removeprefix("REPORT RequestId: ")
    assert lines[-3] == f"START RequestId: {request_id} Version: 1"
    assert lines[-2] == f"END RequestId: {request_id}"
    fields = lines[-1].split("\t")
    assert fields[1].startswith("Duration: ")
    assert fields[1].endswith(" ms")
    assert fields[2] == f"Billed Duration: {report.billed_duration_ms:.0f} ms"
    assert fields[3] == "Memory Size: 1024 MB"
    assert fields[4].startswith("Max Memory Used: ")
    assert 5 < report.max_memory_used_mb < 1024
    assert fields[5].startswith("Init Duration: ")
    assert report.billed_duration_ms >= report.duration_ms + report.init_duration_ms


def test_json_log_format(runtime, code_dir):
    spec = spec_for(code_dir, log_format="JSON")
    cold, _, cold_report = invoke(runtime, spec, action="print", text="plain print")
    warm, _, warm_report = invoke(runtime, spec)
    records = [json.loads(line) for line in cold.logs.splitlines() if line.startswith("{")]
    assert [r["type"] for r in records] == ["platform.initStart", "platform.start", "platform.report"]
    assert "plain print" in cold.logs
    assert cold_report.is_cold_start
    assert not warm_report.is_cold_start
    assert "initDurationMs" not in json.loads(warm.logs.splitlines()[-1])["record"]["metrics"]


def test_prints_appear_in_the_log_between_start_and_end(runtime, code_dir):
    result, _, _ = invoke(runtime, spec_for(code_dir), action="print", text="hello from the handler")
    lines = result.logs.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("START"))
    assert lines[start + 1] == "hello from the handler"
    assert lines[start + 2].startswith("END")


def test_log_tail_is_the_last_4_kb(runtime, code_dir):
    result, _, report = invoke(runtime, spec_for(code_dir), action="print", text="y" * 20_000)
    assert len(result.logs.encode()) <= 4096
    assert result.logs.rstrip("\n").splitlines()[-1].startswith("REPORT")
    assert report.memory_size_mb == 512


def test_context_fields(runtime, code_dir):
    spec = spec_for(code_dir, 256, timeout_s=7.0)
    result, body, _ = invoke(runtime, spec, action="context")
    request_id = result.logs.splitlines()[-1].split("\t")[0].removeprefix("REPORT RequestId: ")
    assert body["function_name"] == "fn"
    assert body["function_version"] == "1"
    assert body["memory_limit_in_mb"] == "256"  # a string, as Lambda's Python runtime passes it
    assert body["aws_request_id"] == request_id
    assert body["invoked_function_arn"] == f"{ARN}:1"
    assert body["log_group_name"] == "/aws/lambda/fn"
    assert "[1]" in body["log_stream_name"]
    assert 0 < body["remaining_ms"] <= 7000
    assert (body["env_memory"], body["env_name"]) == ("256", "fn")
    assert body["cwd"] == str(code_dir)


def test_handler_error_is_lambdas_error_payload(runtime, code_dir):
    result, body, report = invoke(runtime, spec_for(code_dir), action="fail")
    assert result.errored
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "something went wrong"
    assert any("app.py" in frame and "in handler" in frame for frame in body["stackTrace"])
    assert not any("worker.py" in frame for frame in body["stackTrace"])
    assert "[ERROR] ValueError: something went wrong" in result.logs
    assert "Status: error" in result.logs.splitlines()[-1]
    assert report.duration_ms > 0
    # A handler error does not end the environment.
    assert not invoke(runtime, spec_for(code_dir))[2].is_cold_start


def test_import_error_fails_the_invocation_like_lambda(runtime, code_dir):
    result, body, report = invoke(runtime, spec_for(code_dir, handler="broken.handler"))
    assert result.errored
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert "Unable to import module 'broken'" in body["errorMessage"]
    assert report.is_cold_start
    _, missing, _ = invoke(runtime, spec_for(code_dir, handler="app.nothing_here"))
    assert missing["errorType"] == "Runtime.HandlerNotFound"
    assert runtime.environments == 0


def test_exceeding_memory_fails_with_runtime_out_of_memory(runtime, code_dir):
    spec = spec_for(code_dir, 128)
    result, body, report = invoke(runtime, spec, action="allocate", mb=200)
    assert result.errored
    assert body["errorType"] == "Runtime.OutOfMemory"
    assert body["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
    assert report.max_memory_used_mb == 128
    assert "Error Type: Runtime.OutOfMemory" in result.logs
    # The environment is gone: the next invocation is a cold start.
    assert invoke(runtime, spec)[2].is_cold_start


def test_the_same_allocation_fits_in_more_memory(runtime, code_dir):
    result, _, report = invoke(runtime, spec_for(code_dir, 512), action="allocate", mb=200)
    assert not result.errored
    assert 200 <= report.max_memory_used_mb < 512


def test_max_memory_used_is_the_environments_own_not_its_parents(runtime, code_dir):
    # GIVEN a parent process far larger than the function's memory (the tuner with moto and the
    # CDK loaded can be); Linux carries ru_maxrss across execve into the worker it spawns
    ballast = bytearray(600 * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])
    # WHEN a small function runs in a new environment
    _, _, report = invoke(runtime, spec_for(code_dir, 256))
    del ballast
    # THEN Max Memory Used is what the worker itself used, far below the parent's 600 MB
    assert 0 < report.max_memory_used_mb < 200


def test_timeout_fails_like_lambda_and_kills_the_environment(runtime, code_dir):
    spec = spec_for(code_dir, timeout_s=0.5)
    _, first, _ = invoke(runtime, spec)
    result, body, report = invoke(runtime, spec, action="sleep", seconds=5)
    assert result.errored
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Task timed out after 0.50 seconds")
    assert "Task timed out after 0.50 seconds" in result.logs
    assert report.duration_ms == 500.0
    with pytest.raises(ProcessLookupError):
        os.kill(first["pid"], 0)
    _, after, after_report = invoke(runtime, spec)
    assert after["pid"] != first["pid"]
    assert after_report.is_cold_start


def test_close_ends_every_worker(code_dir):
    runtime = WorkerRuntime()
    _, body, _ = invoke(runtime, spec_for(code_dir))
    runtime.close()
    with pytest.raises(ProcessLookupError):
        os.kill(body["pid"], 0)
    assert runtime.environments == 0


def _warm_duration(runtime: WorkerRuntime, spec: FunctionSpec, cpu_seconds: float) -> float:
    invoke(runtime, spec)  # the cold start
    return min(invoke(runtime, spec, action="spin", cpu_seconds=cpu_seconds)[2].duration_ms for _ in range(2))


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param(
            CGROUP,
            marks=pytest.mark.skipif(
                not cgroup_v1_available(), reason="needs a writable cgroup v1 hierarchy"
            ),
        ),
        MODEL,
    ],
)
def test_cpu_share_is_proportional_to_memory(code_dir, mode):
    # GIVEN the same CPU work at 256 MB and 1,024 MB
    with WorkerRuntime(mode) as runtime:
        assert runtime.mode == mode
        small = _warm_duration(runtime, spec_for(code_dir, 256), 0.04)
        large = _warm_duration(runtime, spec_for(code_dir, 1024), 0.04)
    # THEN four times the memory runs it about four times faster (1,769 MB = 1 vCPU)
    assert 2.5 < small / large < 6.0
    assert large > 40 * 1769 / 1024 * 0.7


def test_unavailable_or_unknown_cpu_mode_is_refused():
    with pytest.raises(CpuModeUnavailableError, match="cpu mode must be one of"):
        WorkerRuntime("turbo")
    if not cgroup_v1_available():
        with pytest.raises(CpuModeUnavailableError, match="cgroup"):
            WorkerRuntime(CGROUP)


# -- what the function may import ------------------------------------------------------------------


@pytest.fixture(scope="module")
def imports_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("imports")
    (folder / "uses_yaml.py").write_text(
        "import yaml\n\ndef handler(event, context):\n    return {'yaml': yaml.__file__}\n"
    )
    (folder / "uses_sdk.py").write_text(
        "import sys, boto3, botocore, dateutil\n\n"
        "def handler(event, context):\n"
        "    boto3.client('s3', region_name='us-east-1')\n"
        "    return {'path': sys.path}\n"
    )
    return folder


def test_the_tuners_own_packages_are_not_importable(runtime, imports_dir):
    # GIVEN a handler importing yaml, which the tuner's virtualenv has but the function never declared
    spec = spec_for(imports_dir, handler="uses_yaml.handler")
    result, body, _ = invoke(runtime, spec)
    # THEN it fails as it would on Lambda
    assert result.errored
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == "Unable to import module 'uses_yaml': No module named 'yaml'"
    # with the function's own line in the trace
    assert any("uses_yaml.py" in frame and "import yaml" in frame for frame in body["stackTrace"])


def test_declared_dependencies_are_importable(runtime, imports_dir, tmp_path):
    # GIVEN yaml in the function's dependencies folder (what requirements.txt installs)
    deps_dir = tmp_path / "deps"
    (deps_dir / "yaml").mkdir(parents=True)
    (deps_dir / "yaml" / "__init__.py").write_text("")
    spec = spec_for(imports_dir, handler="uses_yaml.handler", python_path=(str(deps_dir),))
    result, body, _ = invoke(runtime, spec)
    # THEN the function gets that copy, not the tuner's
    assert not result.errored, body
    assert body["yaml"] == str(deps_dir / "yaml" / "__init__.py")


def test_the_sdk_lambda_bundles_is_importable_and_nothing_else(runtime, imports_dir):
    result, body, _ = invoke(runtime, spec_for(imports_dir, handler="uses_sdk.handler"))
    assert not result.errored, body
    path = body["path"]
    assert path[0] == str(imports_dir)
    assert path[-1] == str(runtime.sdk_path)
    assert not any("site-packages" in entry for entry in path)
    assert sorted(p.name for p in runtime.sdk_path.iterdir()) == sorted(
        ["boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"]
    )


def test_a_package_handler_with_relative_imports(runtime, tmp_path):
    # GIVEN Lambda's own layout: app/handlers/main.py importing a sibling module relatively
    package = tmp_path / "app" / "handlers"
    package.mkdir(parents=True)
    (tmp_path / "app" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "util.py").write_text("GREETING = 'hello'\n")
    (package / "main.py").write_text(
        "from .util import GREETING\n\ndef handler(event, context):\n    return {'greeting': GREETING}\n"
    )
    # WHEN it is invoked with the handler string Lambda would use
    _, body, _ = invoke(runtime, spec_for(tmp_path, handler="app.handlers.main.handler"))
    assert body == {"greeting": "hello"}


# -- the CPU model through a real worker -----------------------------------------------------------

THREADS = """
import hashlib, threading, time

DATA = b"x" * (4 << 20)


def hash_a_while():
    for _ in range(20):
        hashlib.sha256(DATA).digest()  # releases the GIL: threads run side by side


def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
        return 0
    threads = [threading.Thread(target=hash_a_while) for _ in range(event["threads"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(threads)
"""


@pytest.fixture(scope="module")
def threads_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("threads")
    (folder / "app.py").write_text(THREADS)
    return folder


def _warm_record(code: Path, memory_mb: int, **event: Any) -> InvocationRecord:
    records: list[InvocationRecord] = []
    with WorkerRuntime(MODEL, on_invocation=records.append) as runtime:
        spec = spec_for(code, memory_mb)
        invoke(runtime, spec, **event)
        _, _, report = invoke(runtime, spec, **event)
    assert report.duration_ms == pytest.approx(records[-1].duration_ms, abs=0.01)  # the REPORT line says it
    return records[-1]


def test_threads_that_ended_count_and_use_more_than_one_vcpu_above_1769_mb(threads_dir):
    # GIVEN two threads hashing side by side, ended before the handler returns
    # WHEN run at 1,769 MB (1 vCPU) and at 3,538 MB (2 vCPUs, 2 cores)
    one_vcpu = _warm_record(threads_dir, 1769, threads=2)
    two_vcpus = _warm_record(threads_dir, 3538, threads=2)
    # THEN at two vCPUs the work takes about half its CPU time; at one vCPU most of it (the first
    # period's quota runs on both cores at once, then one vCPU's quota per period). Each record is
    # compared with its own CPU time, so the host's speed does not matter.
    # (How much of the work overlapped varies with this host's load; the bounds leave room for it.)
    assert one_vcpu.cpu_ms > 60  # several 20 ms periods of quota
    one, two = one_vcpu.duration_ms / one_vcpu.cpu_ms, two_vcpus.duration_ms / two_vcpus.cpu_ms
    assert one > 0.8
    assert two < 0.85 * one


def test_sleeping_is_neither_stretched_nor_shortened(threads_dir):
    for memory in (128, 3008):
        record = _warm_record(threads_dir, memory, sleep=0.2)
        assert 200 <= record.duration_ms < 1000


def test_an_init_whose_modelled_time_passes_the_init_timeout_times_out(tmp_path):
    # GIVEN an import that burns 0.8 s of CPU: at 128 MB about 11 s, past Lambda's 10 s init phase
    (tmp_path / "heavy.py").write_text(
        "import time\n_t = time.process_time()\nwhile time.process_time() - _t < 0.8:\n    pass\n\n"
        "def handler(event, context):\n    return 1\n"
    )
    with WorkerRuntime(MODEL) as runtime:
        result, body, _ = invoke(runtime, spec_for(tmp_path, 128, handler="heavy.handler", timeout_s=3.0))
        # THEN the invocation times out, as on Lambda, though the import finished here in 0.8 s
        assert result.errored
        assert body["errorType"] == "Sandbox.Timedout"
        assert runtime.environments == 0


# -- handlers that leave processes behind ------------------------------------------------------------

FORKING = Path(__file__).resolve().parents[1] / "fixtures" / "forking"
CPU_MODES_HERE = [
    MODEL,
    pytest.param(
        CGROUP,
        marks=pytest.mark.skipif(
            not cgroup_v1_available(), reason="cgroup mode needs a writable cgroup v1 'cpu' hierarchy (root)"
        ),
    ),
]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="checks processes through Linux /proc")
@pytest.mark.parametrize("how", ["popen", "fork", "daemon"])
@pytest.mark.parametrize("mode", CPU_MODES_HERE)
def test_a_handler_that_leaves_processes_running_is_cleaned_up_on_close(mode, how):
    # GIVEN a handler that starts a process and returns while it still runs
    runtime = WorkerRuntime(mode)
    groups = runtime._cgroup.root if runtime._cgroup is not None else None
    spec = spec_for(FORKING, handler="handler.handler")
    try:
        result, body, report = invoke(runtime, spec, how=how)
        # THEN the invocation's result comes back as usual
        assert not result.errored, body
        assert report.memory_size_mb == 512
        worker, children = body["pid"], body["children"]
        assert all(running(pid) for pid in children), "the handler's child should still be running"
        # (and a warm invocation of the same environment still works)
        assert invoke(runtime, spec, how=how)[1]["pid"] == worker
    finally:
        # WHEN the runtime closes (twice: close is idempotent)
        runtime.close()
        runtime.close()
    # THEN no process of the environment is left: not the worker, its children, or its session
    assert not running(worker)
    assert [pid for pid in children if running(pid)] == []
    assert in_session(worker) == []
    # AND its CPU groups are gone, without a warning
    if groups is not None:
        assert not groups.exists()
    assert runtime.warnings == []


def test_close_while_an_invocation_runs_ends_it_and_removes_everything(code_dir):
    # GIVEN an invocation under way in another thread (as the engine's Map iterations are)
    runtime = WorkerRuntime()
    log_dir = runtime._log_dir
    results: list[InvokeResult] = []
    spec = spec_for(code_dir, timeout_s=60.0)
    invoke(runtime, spec)  # warm: the next invocation takes this environment
    thread = threading.Thread(
        target=lambda: results.append(runtime.invoke(spec, '{"action": "sleep", "seconds": 30}'))
    )
    thread.start()
    deadline = time.monotonic() + 60  # a guard against a hang, not a timing check
    while runtime._idle and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not runtime._idle, "the invocation did not take the environment"
    # WHEN the runtime closes (as Ctrl-C or SIGTERM does), twice
    runtime.close()
    runtime.close()
    thread.join(timeout=60)  # a guard against a hang, not a timing check
    # THEN the invocation ends as one whose runtime died, nothing raised, nothing is left
    assert not thread.is_alive()
    assert results
    assert results[0].errored
    assert runtime.environments == 0
    assert not log_dir.exists()
    assert runtime.warnings == []


def test_the_control_pipe_is_closed_once_and_never_closes_a_reused_descriptor():
    # GIVEN a control pipe closed once, and a descriptor the kernel then hands out again
    from powertuning.local.control_pipe import Control

    read_fd, write_fd = os.pipe()
    control = Control(read_fd, write_fd)
    control.close()
    reused = os.open(os.devnull, os.O_RDONLY)
    try:
        # WHEN it is closed again (a timeout's kill, then the runtime's close)
        control.close()
        # THEN the other owner's descriptor is untouched (what made shutil.rmtree fail with EBADF)
        os.fstat(reused)
    finally:
        os.close(reused)


def test_stop_ends_the_functions_invocations_as_stopped_and_refuses_new_ones(code_dir):
    # GIVEN an invocation of "fn" under way, and records of what the runtime observed
    records: list[InvocationRecord] = []
    with WorkerRuntime(on_invocation=records.append) as runtime:
        results: list[InvokeResult] = []
        spec = spec_for(code_dir, timeout_s=60.0)
        invoke(runtime, spec)  # warm: the next invocation takes this environment
        thread = threading.Thread(
            target=lambda: results.append(runtime.invoke(spec, '{"action": "sleep", "seconds": 30}'))
        )
        thread.start()
        deadline = time.monotonic() + 60  # a guard against a hang, not a timing check
        while runtime._idle and time.monotonic() < deadline:
            time.sleep(0.01)
        # WHEN the run stops because another size failed
        runtime.stop("the run stopped because 256 MB failed (TargetFunctionError)", "fn")
        thread.join(timeout=60)  # a guard against a hang, not a timing check
        # THEN the invocation under way ends as stopped, with the reason, not as the function's own exit
        body = json.loads(results[0].payload)
        assert body["errorType"] == STOPPED_ERROR
        assert body["errorMessage"].endswith(
            "stopped: the run stopped because 256 MB failed (TargetFunctionError)"
        )
        assert records[-1].status == "stopped"
        # AND a new invocation is refused the same way, without an environment
        refused = json.loads(runtime.invoke(spec_for(code_dir, memory_mb=1024), "{}").payload)
        assert refused["errorType"] == STOPPED_ERROR
        # AND another function, or the same one once resumed, runs
        assert not runtime.invoke(spec_for(code_dir, function_name="other"), "{}").errored
        runtime.resume("fn")
        assert not runtime.invoke(spec, "{}").errored
