"""How money and time are written, the same in the terminal table and the HTML report."""

from __future__ import annotations


def usd_per_invocation(value: float) -> str:
    """A per-invocation cost: nine decimals show four significant digits of typical prices."""
    return f"${value:.9f}"


def usd_per_million(value_per_invocation: float) -> str:
    """The cost of a million invocations."""
    return f"${value_per_invocation * 1e6:,.2f}"


def usd(value: float) -> str:
    """A total such as what a tuning run cost."""
    return f"${value:.6f}"


def ms(value: float) -> str:
    """A duration in milliseconds."""
    return f"{value:,.2f} ms"


UNKNOWN = "—"
"""What the report shows for a figure the result does not carry (never a made-up 0)."""


def count(value: int | None) -> str:
    """A count (invocations, errors), or the unknown mark."""
    return UNKNOWN if value is None else f"{value:,}"


def maybe_ms(value: float | None) -> str:
    """A duration, or the unknown mark."""
    return UNKNOWN if value is None else ms(value)
