"""A short CPU burst: spins for `cpu_ms` of CPU time (default 5 ms), then returns.

Short bursts are where a CFS quota per period departs from a linear share: a burst that fits in the
quota left in a period runs at full speed, so the curve over memory is stepped.
"""

from __future__ import annotations

import time
from typing import Any


def handler(event: Any, context: Any) -> dict[str, float]:  # noqa: ARG001 (Lambda's signature)
    """Burn `cpu_ms` milliseconds of CPU time in this thread."""
    cpu_ms = float(event.get("cpu_ms", 5.0)) if isinstance(event, dict) else 5.0
    start = time.thread_time()
    while (time.thread_time() - start) * 1000 < cpu_ms:
        pass
    return {"cpu_ms": cpu_ms}
