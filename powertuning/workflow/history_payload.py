"""The payload a function's child tuning measures with, from the payloads its calls sent (as
history.py counted them): one payload, or a weighted list as the tuner's `payload` key takes it.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Final

from powertuning import payloads as payload_rules

# Payloads a child tuning is given at most: its own input must stay far below a state's 256 KB.
MAX_PAYLOAD_BYTES: Final = 64 * 1024


@dataclass(frozen=True)
class HistoryPayload:
    """The payload a function's child tuning measures with, from the history, and what was left out."""

    payload: Any
    # "history", or "not-logged" when the history holds none of this function's payloads.
    source: str
    distinct: int
    kept: int
    unusable: int

    @property
    def note(self) -> str:
        """What the history gave and what was not used."""
        parts = [f"{self.kept} of {self.distinct} distinct payloads kept"]
        if self.unusable:
            parts.append(f"{self.unusable} calls without a usable payload (not logged or truncated)")
        return "; ".join(parts)


def weighted_payload(counts: Counter[str], unusable: int, num: int) -> HistoryPayload:
    """The payloads seen as the tuner's `payload` key takes them: one payload, or a weighted list.

    Identical payloads are one item weighted by how often they were sent. A weighted list gives each
    payload floor(num x weight / total) invocations, so only the most frequent payloads that each
    get at least one invocation of `num` are kept, up to MAX_PAYLOAD_BYTES; payloads JavaScript
    deems falsy (null, false, 0, "") cannot be items of a weighted list, so beside other payloads
    they are left out (alone, they are sent as they are).
    """
    if not counts:
        return HistoryPayload(payload_rules.no_payload(), "not-logged", 0, 0, unusable)
    ranked = counts.most_common()
    if len(ranked) == 1:
        only = json.loads(ranked[0][0])
        if payload_rules.is_weighted(only):  # a list that would read as weighted: send it as one item
            only = [{"payload": only, "weight": 1}]
        return HistoryPayload(only, "history", 1, 1, unusable)
    kept: list[tuple[Any, int]] = []
    size = 2
    for text, count in ranked:
        value = json.loads(text)
        if not payload_rules.js_truthy(value):
            continue
        trial = [*kept, (value, count)]
        total = sum(c for _, c in trial)
        if (
            any(math.floor(num * c / total) < 1 for _, c in trial)
            or size + len(text) + 30 > MAX_PAYLOAD_BYTES
        ):
            break
        kept = trial
        size += len(text) + 30
    if not kept:  # only falsy payloads, or the most frequent one alone is too large
        value = json.loads(ranked[0][0])
        return HistoryPayload(value, "history", len(ranked), 1, unusable)
    if len(kept) == 1:
        value = kept[0][0]
        if payload_rules.is_weighted(value):
            value = [{"payload": value, "weight": 1}]
        return HistoryPayload(value, "history", len(ranked), 1, unusable)
    listed = [{"payload": value, "weight": count} for value, count in kept]
    return HistoryPayload(listed, "history", len(ranked), len(kept), unusable)
