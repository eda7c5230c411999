"""Fixtures for whole executions: moto's Step Functions interpreter running the real ASL file.

The six tuner handlers run in-process; the target function is answered by a SimulatedRuntime whose
duration depends on memory, so recommendations are known in advance.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from powertuning.local.engine import LocalEngine
from powertuning.local.simulated import SimulatedRuntime
from tests.iam_recording import RECORD_ENV, Recorder, recording

_names = itertools.count()


def io_plus_cpu(memory_mb: int, _n: int) -> float:
    """50 ms of waiting plus 500 ms of CPU work at one vCPU (1,769 MB); more memory, more CPU."""
    return 50.0 + 500.0 * 1769 / min(memory_mb, 1769)


@pytest.fixture(scope="session", autouse=True)
def iam_calls() -> Iterator[Recorder | None]:
    """With POWERTUNING_IAM_CALLS=<folder>, every call a role makes is recorded (tests/iam_recording.py),
    written to the folder when the session ends; tests/infrastructure/test_iam_simulated.py judges them."""
    folder = os.environ.get(RECORD_ENV)
    if not folder:
        yield None
        return
    with recording(Recorder()) as recorder:
        yield recorder
    recorder.write(Path(folder))


@pytest.fixture(scope="module")
def runtime() -> SimulatedRuntime:
    """The target's runtime, shared by a module's executions (its calls list accumulates)."""
    return SimulatedRuntime(io_plus_cpu, min_memory_mb=256)


@pytest.fixture(scope="module")
def engine(runtime: SimulatedRuntime, start_engine: Callable[[SimulatedRuntime], LocalEngine]) -> LocalEngine:
    """One moto world with the tuner deployed, for a whole test module."""
    return start_engine(runtime)


@pytest.fixture
def target(engine: LocalEngine) -> str:
    """A fresh target function (1,024 MB, described) per test; returns its ARN."""
    name = f"target-{next(_names)}"
    arn = engine.create_target(name=name, handler="app.handler", code_dir=None, memory_mb=1024)
    engine.lambda_client.update_function_configuration(FunctionName=name, Description="the user's own")
    return arn


@pytest.fixture
def leftovers(engine: LocalEngine) -> Callable[[str], dict[str, Any]]:
    """Reads aliases, versions and $LATEST settings of a function after a run."""
    return lambda arn: _leftovers(engine, arn)


def _leftovers(engine: LocalEngine, arn: str) -> dict[str, Any]:
    client = engine.lambda_client
    name = arn.split(":")[6]
    latest = client.get_function_configuration(FunctionName=name)
    return {
        "aliases": [a["Name"] for a in client.list_aliases(FunctionName=name)["Aliases"]],
        "versions": [v["Version"] for v in client.list_versions_by_function(FunctionName=name)["Versions"]],
        "memory": latest["MemorySize"],
        "description": latest["Description"],
    }
