"""The visualization link, byte-compatible with aws-lambda-power-tuning's.

The fragment is three base64 fields joined by `;`: memory sizes as little-endian Int16, average
durations as little-endian Float32, average costs as little-endian Float32, all sorted by memory.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_VISUALIZATION_URL = "https://lambda-power-tuning.show/"


@dataclass(frozen=True)
class Point:
    """One memory size with its average duration (ms) and average cost (USD)."""

    power: int
    duration: float
    cost: float


def encode(points: Sequence[Point]) -> str:
    """The URL fragment for these points."""
    ordered = sorted(points, key=lambda p: p.power)
    sizes = struct.pack(f"<{len(ordered)}h", *(p.power for p in ordered))
    durations = struct.pack(f"<{len(ordered)}f", *(p.duration for p in ordered))
    costs = struct.pack(f"<{len(ordered)}f", *(p.cost for p in ordered))
    return ";".join(base64.b64encode(part).decode("ascii") for part in (sizes, durations, costs))


def decode(fragment: str) -> list[Point]:
    """Points from a URL fragment (with or without the leading `#`)."""
    fields = fragment.lstrip("#").split(";")
    sizes_b, durations_b, costs_b = (base64.b64decode(f) for f in [*fields, "", "", ""][:3])
    sizes = struct.unpack(f"<{len(sizes_b) // 2}h", sizes_b)
    durations = struct.unpack(f"<{len(durations_b) // 4}f", durations_b)
    costs = struct.unpack(f"<{len(costs_b) // 4}f", costs_b)
    return [
        Point(power, durations[i] if i < len(durations) else 0.0, costs[i] if i < len(costs) else 0.0)
        for i, power in enumerate(sizes)
    ]


def build_url(
    points: Sequence[Point], base_url: str = DEFAULT_VISUALIZATION_URL, currency: str = "USD"
) -> str:
    """The full visualization link: base URL, `?currency=CNY` for costs in CNY, `#`, encoded fragment.

    The reference tool adds `?currency=CNY` in the China regions so the page labels costs in CNY.
    """
    if currency != "USD":
        base_url += f"{'&' if '?' in base_url else '?'}currency={currency}"
    return f"{base_url}#{encode(points)}"
