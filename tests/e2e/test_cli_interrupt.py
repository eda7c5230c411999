"""Ctrl-C during `powertune local`: one line, exit code 130, no traceback and no library noise."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ENTRY = "import sys; from powertuning.cli import main; sys.exit(main())"


def test_ctrl_c_during_a_local_run_ends_with_one_line_and_130():
    # GIVEN a local run in its own process group, as a terminal's foreground job is
    process = subprocess.Popen(
        [sys.executable, "-c", ENTRY, "local", "--handler", "examples/primes/handler.py:handler",
         "--power-values", "128,512", "--num", "20"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stderr is not None
    before = []
    for line in process.stderr:
        before.append(line)
        if "measuring" in line:
            break
    assert before, "no output"
    assert "measuring" in before[-1], "".join(before)

    # WHEN Ctrl-C reaches the whole group (the CLI and the handler's worker processes)
    os.killpg(process.pid, signal.SIGINT)
    try:
        out, after = process.communicate(timeout=120)  # a guard against a hang, not a timing check
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise

    # THEN the CLI exits 130 with one line, and nothing else is printed after it
    assert process.returncode == 130, after
    told = [line for line in after.splitlines() if not line.lstrip().startswith("[")]
    assert told == ["powertune: interrupted"], after
    assert "Traceback" not in after
    assert out == ""
