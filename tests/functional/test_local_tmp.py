"""Each local execution environment has a /tmp of its own, of the function's ephemeral storage size."""

from __future__ import annotations

import json
import os
import threading
import uuid
from pathlib import Path

import pytest

from powertuning.local.runtime import WorkerRuntime
from powertuning.local.target import FunctionSpec

pytestmark = pytest.mark.slow

HANDLER_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "tmp_writer"
MOUNTS_TMP = hasattr(os, "geteuid") and os.geteuid() == 0 and Path("/proc").exists()
as_root_on_linux = pytest.mark.skipif(
    not MOUNTS_TMP,
    reason="a /tmp mount of its own needs Linux and root (elsewhere TMPDIR names a folder per environment)",
)


def spec(storage_mb: int = 512) -> FunctionSpec:
    return FunctionSpec(
        function_name="tmp-writer",
        version="1",
        memory_mb=256,
        timeout_s=10,
        handler="handler.handler",
        code_dir=HANDLER_DIR,
        ephemeral_storage_mb=storage_mb,
    )


@as_root_on_linux
def test_two_concurrent_environments_do_not_see_each_others_tmp_and_leave_nothing_behind():
    # GIVEN two invocations at once (two environments), each writing the same /tmp path
    results: list[dict] = []
    with WorkerRuntime() as runtime:
        threads = [
            threading.Thread(target=lambda: results.append(json.loads(runtime.invoke(spec(), "{}").payload)))
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        folders = list(runtime._log_dir.glob("tmp-*"))
        # THEN each read back what it wrote: the other's write went to its own /tmp
        assert len(results) == 2
        assert results[0]["wrote"] != results[1]["wrote"]
        assert all(r["read"] == r["wrote"] for r in results)
        assert all(r["tmpdir"] == "/tmp" for r in results)
        # /tmp is Lambda's default 512 MB
        assert all(r["tmp_mb"] == 512 for r in results)
    # and the host's /tmp never had the file; nothing of the environments is left once closed
    host = Path("/tmp/shared.txt")
    assert not host.exists() or host.read_text() not in {r["wrote"] for r in results}
    assert not any(folder.exists() for folder in folders)


@as_root_on_linux
def test_ephemeral_storage_sets_the_size_of_tmp():
    with WorkerRuntime() as runtime:
        result = json.loads(runtime.invoke(spec(2048), '{"wait": 0}').payload)
    assert result["tmp_mb"] == 2048


def test_code_under_the_host_tmp_runs_and_its_temporary_files_stay_the_environments(tmp_path):
    # GIVEN code under the host's /tmp (a checkout or a test's folder there)
    code = tmp_path / "code"
    code.mkdir()
    name = f"mine-{uuid.uuid4().hex}.txt"
    (code / "handler.py").write_text(
        "import os, tempfile\n"
        "def handler(event, context):\n"
        f"    path = os.path.join(tempfile.gettempdir(), {name!r})\n"
        "    open(path, 'w').write('x')\n"
        "    return {'tmpdir': tempfile.gettempdir()}\n"
    )
    function = FunctionSpec(
        function_name="code-in-tmp", version="1", memory_mb=256, timeout_s=10, handler="handler.handler",
        code_dir=code,
    )  # fmt: skip
    with WorkerRuntime() as runtime:
        tmpdir = Path(json.loads(runtime.invoke(function, "{}").payload)["tmpdir"])
        if MOUNTS_TMP:
            # THEN as root on Linux its /tmp is its own (the code bound back into it): the host's has no file
            assert tmpdir == Path("/tmp")
            assert not (Path("/tmp") / name).exists()
        else:
            # THEN elsewhere the function's temporary folder is the environment's own, under the runtime's
            assert tmpdir.parent == runtime._log_dir
            assert (tmpdir / name).exists()
    # and nothing of it is left once the environment is gone
    assert not (Path("/tmp") / name).exists()
    assert MOUNTS_TMP or not tmpdir.exists()


@as_root_on_linux
def test_a_host_tmp_path_named_by_an_environment_variable_stays_visible(tmp_path):
    # GIVEN a folder of the host's /tmp handed to the function by --env (a test harness's, say)
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "in.txt").write_text("from the host")
    function = FunctionSpec(
        function_name="reads-host-tmp", version="1", memory_mb=256, timeout_s=10, handler="handler.handler",
        code_dir=HANDLER_DIR, environment={"SHARED_DIR": str(shared)},
    )  # fmt: skip
    with WorkerRuntime() as runtime:
        result = json.loads(runtime.invoke(function, '{"wait": 0, "read_from_env": "SHARED_DIR"}').payload)
    # THEN the function reads it: bound back into its own /tmp, which stays its temporary folder
    assert result["shared"] == "from the host"
    assert result["tmpdir"] == "/tmp"
