"""How money and time are written, the same in the terminal table and the HTML report.

Costs are USD, except in the China regions, which bill in CNY (`currency="CNY"`, written ¥).
"""

from __future__ import annotations

_SYMBOLS = {"USD": "$", "CNY": "¥"}


def _symbol(currency: str) -> str:
    return _SYMBOLS.get(currency, f"{currency} ")


def usd_per_invocation(value: float, currency: str = "USD") -> str:
    """A per-invocation cost: nine decimals show four significant digits of typical prices."""
    return f"{_symbol(currency)}{value:.9f}"


def usd_per_million(value_per_invocation: float, currency: str = "USD") -> str:
    """The cost of a million invocations."""
    return f"{_symbol(currency)}{value_per_invocation * 1e6:,.2f}"


def usd(value: float, currency: str = "USD") -> str:
    """A total such as what a tuning run cost."""
    return f"{_symbol(currency)}{value:.6f}"


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
