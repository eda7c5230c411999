"""`powertune local` on a terminal: the bar counts invocations as they end, with an ETA.

Run in a pseudo-terminal (stderr is its slave end), as a user's shell would: rich draws the bar
only on a terminal, and redraws it about ten times a second.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX"),
]

ROOT = Path(__file__).resolve().parents[2]
ENTRY = "import sys; from powertuning.cli import main; sys.exit(main())"
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]")
FRAME = re.compile(r"(\d+)/(\d+) invocations +(\S+) +ETA +(\S+)")
SIZES, NUM = 2, 10


def run_in_a_terminal(argv: list[str], timeout_s: float = 180.0) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal; (exit code, stdout, what the terminal showed)."""
    import pty

    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "PYTHONPATH": str(ROOT)}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", ENTRY, *argv], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=slave, env=env, cwd=ROOT,
    )  # fmt: skip
    os.close(slave)
    shown = bytearray()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the slave end is closed, the process gone
                    break
                if not chunk:
                    break
                shown += chunk
            elif proc.poll() is not None:
                break
        else:
            proc.kill()
            pytest.fail(f"powertune local did not finish in {timeout_s} s")
        out = proc.stdout.read().decode() if proc.stdout else ""
        code = proc.wait(timeout=30)
    finally:
        os.close(master)
    return code, out, ANSI.sub("", shown.decode(errors="replace"))


def test_the_bar_advances_per_invocation_with_an_eta():
    # GIVEN the primes example (~0.1 s of CPU per invocation), 2 sizes x 10 invocations, no -v
    code, out, shown = run_in_a_terminal(
        [
            "local",
            "--handler", "examples/primes/handler.py:handler",
            "--power-values", "512,1024",
            "--num", str(NUM),
            "--payload", '{"repeat": 1, "limit": 1000000}',
        ]
    )  # fmt: skip
    assert code == 0, shown
    frames = [(int(d), int(t), eta) for d, t, _elapsed, eta in FRAME.findall(shown)]
    total = SIZES * NUM
    # THEN the bar's count went through values between 0 and the end, never backwards
    counts = [d for d, t, _ in frames if t == total]
    assert counts, shown
    between = sorted({d for d in counts if 0 < d < total})
    assert len(between) >= 3, f"intermediate counts {between} in:\n{shown}"
    assert counts == sorted(counts)
    assert counts[-1] == total
    # and once invocations have ended, the ETA is a time, not rich's "-:--:--" for unknown
    etas = [eta for d, t, eta in frames if t == total and 2 <= d < total]
    assert etas, shown
    assert any(re.fullmatch(r"\d+:\d\d:\d\d", eta) for eta in etas), etas
    # and no line per invocation (that is -v); a line per size measured, the table on stdout
    assert "MB invocation" not in shown
    assert "512 MB measured:" in shown
    assert "1024 MB measured:" in shown
    assert "512" in out
