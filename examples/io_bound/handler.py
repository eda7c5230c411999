"""An I/O-bound function: waits on a (simulated) downstream call, then writes and reads a small file.

Almost none of its time is CPU, so more memory buys no speed: the curve is flat and 128 MB is the
cheapest size. Event: {"wait_ms": 200, "kb": 64}, both optional.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from typing import Any


def handler(event: Any, context: Any) -> dict[str, Any]:  # noqa: ARG001 (Lambda's signature)
    """Sleep as a network call would, then round-trip `kb` KB through a file in /tmp."""
    event = event if isinstance(event, dict) else {}
    time.sleep(int(event.get("wait_ms", 200)) / 1000)
    data = os.urandom(int(event.get("kb", 64)) * 1024)
    with tempfile.TemporaryFile() as scratch:
        scratch.write(data)
        scratch.seek(0)
        digest = hashlib.sha256(scratch.read()).hexdigest()
    return {"bytes": len(data), "sha256": digest}
