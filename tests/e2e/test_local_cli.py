"""`powertune local` end to end: moto's interpreter, the real tuner handlers, worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from powertuning.cli import main
from powertuning.local import deps
from powertuning.local.cpu import CGROUP, MODEL, cgroup_v1_available
from tests.procfs import in_session, running

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
FORKING = ROOT / "tests" / "fixtures" / "forking" / "handler.py"
ENTRY = "import sys; from powertuning.cli import main; sys.exit(main())"
CGROUP_MODE = pytest.param(
    CGROUP,
    marks=pytest.mark.skipif(
        not cgroup_v1_available(), reason="cgroup mode needs a writable cgroup v1 'cpu' hierarchy (root)"
    ),
)
needs_proc = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="checks processes through Linux /proc"
)


def test_tunes_the_primes_example_and_prints_the_output_json(capsys):
    # GIVEN the primes example, two sizes, five invocations each; the work (~0.1 s of CPU at one
    # vCPU) is long enough that throttling, not the first period's full quota, sets the duration
    code = main(
        [
            "local",
            "--handler", f"{EXAMPLES}/primes/handler.py:handler",
            "--power-values", "512,1024",
            "--num", "5",
            "--payload", '{"repeat": 1, "limit": 1000000}',
            "--output", "json",
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    # THEN stdout is exactly the execution output, in aws-lambda-power-tuning's shape
    assert code == 0, captured.err
    output = json.loads(captured.out)
    assert output["power"] in (512, 1024)
    assert output["duration"] > 0
    assert output["cost"] > 0
    machine = output["stateMachine"]
    assert machine["executionCost"] > 0
    assert machine["lambdaCost"] > 0
    assert machine["visualization"].startswith("https://")
    stats = {s["value"]: s for s in output["stats"]}
    assert set(stats) == {512, 1024}
    for size in stats.values():
        assert size["invocations"] == 5
        assert size["coldStarts"] >= 1
        assert size["errors"] == 0
    # More CPU, less time: the primes are CPU-bound.
    assert stats[1024]["averageDuration"] < stats[512]["averageDuration"]
    # Progress went to stderr, with the CPU mode that ran.
    assert "CPU mode" in captured.err
    # without -v, one line per size, none per invocation
    assert "512 MB measured:" in captured.err
    assert "MB invocation" not in captured.err


def test_on_error_skip_leaves_out_a_size_that_runs_out_of_memory(capsys):
    code = main(
        [
            "local",
            "--handler", f"{EXAMPLES}/memory_hungry/handler.py:handler",
            "--power-values", "128,1024",
            "--num", "5",
            "--payload", '{"mb": 140}',
            "--on-error", "skip",
            "--output", "json",
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    output = json.loads(captured.out)
    assert output["power"] == 1024
    assert [s["value"] for s in output["stats"]] == [1024]
    (skipped,) = output["skipped"]
    assert skipped["value"] == 128
    assert "Runtime.OutOfMemory" in skipped["reason"]


def test_a_failing_function_fails_the_run_with_error_and_cause(tmp_path, capsys):
    (tmp_path / "app.py").write_text("def handler(event, context):\n    raise KeyError('no such order')\n")
    code = main(["local", "--handler", f"{tmp_path}/app.py:handler", "--power-values", "1024", "--num", "5"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert "Error: TargetFunctionError" in captured.err
    assert "Cause: " in captured.err
    assert "KeyError" in captured.err
    assert "no such order" in captured.err
    # and the function's own traceback, the payload it got, and what to do about it
    assert f'File "{tmp_path / "app.py"}", line 2, in handler' in captured.err
    # No payload sends {}, as the console and `aws lambda invoke` do (docs/migrating.md).
    assert "Payload it received: {}" in captured.err
    assert "--allowed-exceptions KeyError" in captured.err


def test_lambdas_handler_string_in_a_code_dir_with_relative_imports_and_a_report(tmp_path, capsys):
    # GIVEN a project laid out as for Lambda: app/handlers/main.py importing a sibling relatively
    package = tmp_path / "src" / "app" / "handlers"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "util.py").write_text("def double(n):\n    return 2 * n\n")
    (package / "main.py").write_text(
        "from .util import double\n\n\ndef handler(event, context):\n    return {'n': double(event)}\n"
    )
    html, png = tmp_path / "report.html", tmp_path / "chart.png"
    # WHEN it is tuned with Lambda's handler string, a plain JSON number payload, and reports asked for
    code = main(
        [
            "local",
            "--code-dir", str(tmp_path / "src"),
            "--handler", "app.handlers.main.handler",
            "--power-values", "128,256",
            "--num", "5",
            "--payload", "21",
            "--report", str(html),
            "--png", str(png),
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    # THEN it tunes, says which CPU mode measured, and writes both files
    assert code == 0, captured.err
    assert "Measured locally: CPU mode model" in captured.out
    assert "local runtime: CPU mode model" in captured.err
    assert "CPU mode model" in html.read_text()
    assert png.read_bytes().startswith(b"\x89PNG")


def test_a_dependency_declared_in_requirements_txt_is_importable(tmp_path, capsys, monkeypatch):
    # GIVEN a handler importing yaml that declares it, and the cache holding the installed copy
    # (pip itself is left out: no package index here)
    (tmp_path / "app.py").write_text(
        "import yaml\n\n\ndef handler(event, context):\n    return yaml.__file__\n"
    )
    (tmp_path / "requirements.txt").write_text("PyYAML\n")
    installed = tmp_path / "installed"
    (installed / "yaml").mkdir(parents=True)
    (installed / "yaml" / "__init__.py").write_text("")
    monkeypatch.setattr(deps, "install", lambda requirements: installed)
    # WHEN it is tuned
    code = main(["local", "--handler", f"{tmp_path}/app.py:handler", "--power-values", "128", "--num", "5"])
    # THEN it loads the declared copy and tunes
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Installing" in captured.err


# -- handlers that leave processes running, and SIGTERM ------------------------------------------


def _recorded(pids_dir: Path) -> tuple[list[int], list[int]]:
    """(workers, their children) as the forking handler recorded them."""
    workers, children = [], []
    for path in pids_dir.iterdir():
        worker, *rest = (int(pid) for pid in path.read_text().split())
        workers.append(worker)
        children.extend(rest)
    return workers, children


def _cpu_groups_of(pid: int) -> list[Path]:
    """CPU groups left by the runtime of process `pid` (named powertuning-<pid>-...)."""
    return list(Path("/sys/fs/cgroup/cpu").glob(f"**/powertuning-{pid}-*"))


def _assert_nothing_left(pids_dir: Path) -> None:
    workers, children = _recorded(pids_dir)
    assert workers, "the handler recorded no invocation"
    assert [pid for pid in workers + children if running(pid)] == []
    assert [pid for worker in set(workers) for pid in in_session(worker)] == []


@needs_proc
@pytest.mark.parametrize("how", ["popen", "fork"])
@pytest.mark.parametrize("mode", [MODEL, CGROUP_MODE])
def test_a_handler_that_leaves_processes_running_is_tuned_and_cleaned_up(mode, how, tmp_path, capsys):
    # GIVEN a handler that starts a process (subprocess.Popen, os.fork) and returns while it runs
    pids_dir = tmp_path / "pids"
    pids_dir.mkdir()
    code = main(
        [
            "local",
            "--handler", f"{FORKING}:handler",
            "--power-values", "128,512",
            "--num", "5",
            "--payload", json.dumps({"how": how}),
            "--env", f"PIDS_DIR={pids_dir}",
            "--cpu-mode", mode,
            "--output", "json",
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    # THEN the run's result is printed, with no cleanup warning
    assert code == 0, captured.err
    output = json.loads(captured.out)
    assert {s["value"] for s in output["stats"]} == {128, 512}
    assert "warning" not in captured.err
    # AND no process of any environment is left, nor a CPU group
    _assert_nothing_left(pids_dir)
    assert _cpu_groups_of(os.getpid()) == []


@needs_proc
@pytest.mark.parametrize("mode", [MODEL, CGROUP_MODE])
def test_sigterm_mid_run_cleans_up_and_exits_143_with_one_line(mode, tmp_path):
    # GIVEN a local run of a handler that leaves a process running, its temp folder its own
    pids_dir, temp = tmp_path / "pids", tmp_path / "tmp"
    pids_dir.mkdir()
    temp.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-c", ENTRY, "local", "--handler", f"{FORKING}:handler",
         "--power-values", "128,512", "--num", "50", "--cpu-mode", mode,
         "--payload", json.dumps({"how": "popen", "work_s": 0.2}), "--env", f"PIDS_DIR={pids_dir}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(temp)},
    )  # fmt: skip
    assert process.stderr is not None
    before = []
    for line in process.stderr:
        before.append(line)
        if "invocation" in line:
            break
    assert before, "no output"
    assert "invocation" in before[-1], "".join(before)
    assert _cpu_groups_of(process.pid) or mode == MODEL

    # WHEN SIGTERM reaches the CLI alone (kill, systemd, a container stopping)
    process.send_signal(signal.SIGTERM)
    try:
        out, after = process.communicate(timeout=120)  # a guard against a hang, not a timing check
    except subprocess.TimeoutExpired:
        process.kill()
        raise

    # THEN it exits 143 with one line, nothing else printed after it
    assert process.returncode == 143, after
    told = [line for line in after.splitlines() if not line.lstrip().startswith("[")]
    assert told == ["powertune: terminated"], after
    assert "Traceback" not in after
    assert out == ""
    # AND no worker or process the handler started is left, nor a CPU group or a temp folder
    _assert_nothing_left(pids_dir)
    assert _cpu_groups_of(process.pid) == []
    assert sorted(path.name for path in temp.iterdir()) == []


def test_an_unmet_latency_target_exits_3_with_the_closest_size(tmp_path, capsys):
    # GIVEN a handler that cannot run within a microsecond at any size
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return sum(range(10000))\n")
    # WHEN it is tuned locally with that latency target
    code = main(
        [
            "local",
            "--handler", f"{tmp_path}/app.py:handler",
            "--power-values", "128,256",
            "--num", "5",
            "--latency-target-ms", "0.001",
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    # THEN the table is printed with the closest size, and the command exits 3 saying why
    assert code == 3, captured.err
    assert "* recommended:" in captured.out
    assert "latency target average <= 0.001 ms NOT met" in captured.out
    assert "powertune: gate failed: latency target not met: no size has average <= 0.001 ms" in captured.err


FAILS_AT_256 = """import os, time

def handler(event, context):
    if int(context.memory_limit_in_mb) == 256:
        raise RuntimeError("no room at 256 MB")
    time.sleep(2)  # the other sizes are under way when 256 MB fails
    return {}
"""


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    # In a process of its own: stderr is what a terminal shows (moto's log included, which pytest's
    # logging capture would otherwise take).
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_sizes_stopped_because_another_failed_say_so_and_every_line_names_that_size(tmp_path):
    (tmp_path / "app.py").write_text(FAILS_AT_256)
    flags = ["local", "--handler", f"{tmp_path}/app.py:handler", "--power-values", "128,256,512,1024"]
    # WHEN 256 MB fails while the other sizes run
    done = _run_cli(*flags, "--num", "5")
    # THEN the progress line, the Cause and the explanation name 256 MB, and only it
    assert done.returncode == 1, done.stderr
    assert "Executor failed: TargetFunctionError: at 256 MB the function failed" in done.stderr
    assert "Cause: at 256 MB the function failed with RuntimeError" in done.stderr
    assert "The function failed at 256 MB" in done.stderr
    for size in (128, 512, 1024):
        assert f"at {size} MB" not in done.stderr
        assert f"failed at {size} MB" not in done.stderr
    # AND no size reads as the function's own exit, and no interpreter dump is printed
    assert "Runtime.ExitError" not in done.stderr
    assert "Exception=FailureEventException" not in done.stderr
    assert len(done.stderr) < 4000, done.stderr
    # WHEN -v THEN each stopped invocation says why, and the interpreter's full text is there too
    verbose = _run_cli(*flags, "--num", "5", "-v")
    assert verbose.returncode == 1, verbose.stderr
    assert "[stopped: the run stopped because 256 MB failed (TargetFunctionError)]" in verbose.stderr
    assert "Exception=FailureEventException" in verbose.stderr
    assert "Cause: at 256 MB the function failed with RuntimeError" in verbose.stderr
