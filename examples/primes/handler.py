"""The seed talk's CPU-bound function: every prime up to 1,000,000, computed `repeat` times.

Event: {"repeat": N, "limit": L}, both optional (defaults 5 and 1,000,000). The talk ran
1,000 repetitions; `make demo` uses the default so that six sizes x ten invocations finish quickly.
"""

from __future__ import annotations

from typing import Any

DEFAULT_REPEAT = 5
DEFAULT_LIMIT = 1_000_000


def primes_up_to(limit: int) -> list[int]:
    """The sieve of Eratosthenes; single-threaded interpreter work, as in the talk's Node.js version."""
    sieve = bytearray([1]) * (limit + 1)
    sieve[0:2] = b"\x00\x00"
    for i in range(2, int(limit**0.5) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytes(len(range(i * i, limit + 1, i)))
    return [i for i in range(limit + 1) if sieve[i]]


def handler(event: Any, context: Any) -> dict[str, int]:  # noqa: ARG001 (Lambda's signature)
    """Compute the primes `repeat` times; return how many there are."""
    event = event if isinstance(event, dict) else {}
    repeat = int(event.get("repeat", DEFAULT_REPEAT))
    limit = int(event.get("limit", DEFAULT_LIMIT))
    count = 0
    for _ in range(repeat):
        count = len(primes_up_to(limit))
    return {"limit": limit, "repeat": repeat, "primes": count}
