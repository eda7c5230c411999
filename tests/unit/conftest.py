"""Fixtures shared by the unit tests."""

from __future__ import annotations

import random
from pathlib import Path

import pytest


def write_plain_curve(path: Path, seed: int = 7) -> Path:
    """A plain CSV curve: 400 ms of waiting plus CPU work, 30 warm rows and 2 cold rows per size."""
    rng = random.Random(seed)
    lines = ["memory_mb,duration_ms,is_cold,init_ms"]
    for memory in (128, 256, 512, 1024, 2048):
        base = 400 + 4000 * 128 / min(memory, 1769)
        lines += [f"{memory},{base * rng.lognormvariate(0, 0.08):.2f},false," for _ in range(30)]
        lines += [f"{memory},{base * 2:.2f},true,250" for _ in range(2)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def plain_curve(tmp_path: Path) -> Path:
    return write_plain_curve(tmp_path / "small.csv")
