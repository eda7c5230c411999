"""Memory limits as Lambda's: what a function maps does not count, what it uses does."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from powertuning.local import memory_watch
from powertuning.local.runtime import WorkerRuntime
from powertuning.local.target import FunctionSpec

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not memory_watch.available(), reason="the resident-memory watch reads /proc (Linux)"),
]
HANDLER = """
import json, mmap

def handler(event, context):
    if event.get("reserve_mb"):  # mapped, never touched: address space only
        region = mmap.mmap(-1, event["reserve_mb"] * 1024 * 1024)
        region.close()
    if event.get("use_mb"):  # touched: resident
        block = bytearray(event["use_mb"] * 1024 * 1024)
        block[::4096] = b"x" * len(block[::4096])
    return {"ok": True}
"""


def spec(code: Path, memory_mb: int = 128, **changes) -> FunctionSpec:
    fields = {"function_name": "mem", "version": "1", "memory_mb": memory_mb, "timeout_s": 20,
              "handler": "app.handler", "code_dir": code, **changes}  # fmt: skip
    return FunctionSpec(**fields)


@pytest.fixture
def code(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "app.py").write_text(HANDLER)
    return folder


def report_of(logs: str) -> str:
    return next(line for line in logs.splitlines() if line.startswith("REPORT"))


def test_address_space_mapped_but_not_used_does_not_count_at_128_mb(code):
    # GIVEN 1 GB mapped and never touched at 128 MB (Lambda counts resident memory, not mappings)
    with WorkerRuntime() as runtime:
        result = runtime.invoke(spec(code), json.dumps({"reserve_mb": 1024}))
    # THEN it runs
    assert json.loads(result.payload) == {"ok": True}, result.logs


def test_memory_used_past_the_size_is_runtime_out_of_memory_as_lambda_kills_it(code):
    with WorkerRuntime() as runtime:
        result = runtime.invoke(spec(code), json.dumps({"use_mb": 300}))
    body = json.loads(result.payload)
    assert body["errorType"] == "Runtime.OutOfMemory"
    assert body["errorMessage"].endswith("Runtime exited with error: signal: killed")
    assert "Max Memory Used: 128 MB" in report_of(result.logs)


NATIVE = [name for name in ("numpy", "PIL") if importlib.util.find_spec(name) is not None]


@pytest.mark.skipif(not NATIVE, reason="needs numpy or Pillow installed beside the tests")
def test_a_native_import_lambda_runs_at_128_mb_runs_here(tmp_path):
    # GIVEN a function importing numpy and Pillow (shared objects, OpenBLAS's threads and buffers:
    # far more address space than 128 MB, far less resident), its packages as its dependencies
    deps = tmp_path / "deps"
    deps.mkdir()
    for name in NATIVE:
        package = Path(importlib.util.find_spec(name).origin).parent
        for item in package.parent.iterdir():  # the package and its vendored libraries (numpy.libs)
            if (
                item.name == name
                or item.name.startswith(f"{name.lower()}.libs")
                or (name == "PIL" and item.name == "pillow.libs")
            ):
                (deps / item.name).symlink_to(item)
    code = tmp_path / "code"
    code.mkdir()
    imports = "\n".join(f"import {name}" for name in NATIVE)
    (code / "app.py").write_text(f"{imports}\n\ndef handler(event, context):\n    return {{'ok': True}}\n")
    with WorkerRuntime() as runtime:
        result = runtime.invoke(spec(code, python_path=(str(deps),)), "{}")
    # THEN it imports and runs at 128 MB, using less than that
    assert json.loads(result.payload) == {"ok": True}, result.logs
    used = int(report_of(result.logs).split("Max Memory Used: ")[1].split(" MB")[0])
    assert 0 < used < 128
