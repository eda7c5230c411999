"""A function that needs more than 128 MB: it loads `mb` megabytes (default 160) and hashes them.

At 128 MB it fails with Runtime.OutOfMemory, as on Lambda. Tune it with `--on-error skip` to leave
the sizes that cannot run out of the recommendation instead of failing the whole run.
"""

from __future__ import annotations

import hashlib
from typing import Any

_MIB = 1024 * 1024


def handler(event: Any, context: Any) -> dict[str, Any]:  # noqa: ARG001 (Lambda's signature)
    """Fill `mb` MB of memory, then hash it."""
    event = event if isinstance(event, dict) else {}
    size = int(event.get("mb", 160)) * _MIB
    buffer = bytearray(size)
    buffer[::4096] = b"\x01" * len(range(0, size, 4096))  # touch every page: resident, not just reserved
    return {"mb": size // _MIB, "sha256": hashlib.sha256(buffer).hexdigest()}
