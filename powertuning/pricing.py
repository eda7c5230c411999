"""The one source of truth for prices: Lambda duration and requests, Step Functions transitions.

Prices are USD, first pricing tier, on-demand, as published by AWS and checked on 2026-11-23:
- Lambda duration, x86_64: $0.0000166667 per GB-second in most regions (first 6B GB-s/month);
  arm64: $0.0000133334 (first 7.5B GB-s/month). The regions below cost more; their arm64 price is
  80% of their x86_64 price, the same ratio AWS applies everywhere.
- Lambda requests: $0.20 per 1M, charged on every invocation.
- Step Functions standard workflows: $0.025 per 1,000 state transitions, more in a few regions;
  retries count as transitions.
China regions bill in CNY and are not in this table: their costs are reported at the default USD
rates (the README says so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

ARCHITECTURES: Final = ("x86_64", "arm64")
MIN_MEMORY_MB: Final = 128
MAX_MEMORY_MB: Final = 10240
MB_PER_VCPU: Final = 1769

REQUEST_PRICE_USD: Final = 0.20 / 1_000_000

_DEFAULT_GB_SECOND_X86: Final = 0.0000166667
_DEFAULT_GB_SECOND_ARM: Final = 0.0000133334
_ARM_DISCOUNT: Final = 0.8

# Regions whose x86_64 duration price differs from the default.
_GB_SECOND_X86_BY_REGION: Final[dict[str, float]] = {
    "af-south-1": 0.0000221,
    "ap-east-1": 0.00002292,
    "ap-northeast-3": 0.00002153,
    "eu-south-1": 0.0000195172,
    "me-south-1": 0.0000206667,
}

_TRANSITION_DEFAULT: Final = 0.025 / 1000
_TRANSITION_BY_REGION: Final[dict[str, float]] = {
    "af-south-1": 0.00002975,
    "ap-east-1": 0.0000275,
    "ap-northeast-2": 0.0000271,
    "ap-south-1": 0.0000285,
    "eu-south-1": 0.00002625,
    "eu-west-3": 0.0000297,
    "me-south-1": 0.0000275,
    "sa-east-1": 0.0000375,
    "us-gov-east-1": 0.00003,
    "us-gov-west-1": 0.00003,
    "us-west-1": 0.0000279,
}

DEFAULT_POWER_VALUES: Final = (128, 256, 512, 1024, 1536, 3008)


@dataclass(frozen=True)
class LambdaPrice:
    """Duration and request prices for one region and architecture."""

    gb_second: float
    request: float = REQUEST_PRICE_USD

    def invocation_cost(self, billed_ms: float, memory_mb: int) -> float:
        """Cost of one invocation: billed duration (1 ms steps) x memory, plus the request fee."""
        return self.duration_cost(billed_ms, memory_mb) + self.request

    def duration_cost(self, billed_ms: float, memory_mb: int) -> float:
        """Cost of the billed duration alone, in USD."""
        return math.ceil(billed_ms) / 1000 * memory_mb / 1024 * self.gb_second

    def gb_seconds(self, billed_ms: float, memory_mb: int) -> float:
        """GB-seconds billed for one invocation."""
        return math.ceil(billed_ms) / 1000 * memory_mb / 1024


def lambda_price(region: str, architecture: str = "x86_64") -> LambdaPrice:
    """Lambda prices for a region and architecture (unknown regions get the default prices)."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}")
    x86 = _GB_SECOND_X86_BY_REGION.get(region)
    if x86 is None:
        return LambdaPrice(_DEFAULT_GB_SECOND_X86 if architecture == "x86_64" else _DEFAULT_GB_SECOND_ARM)
    return LambdaPrice(x86 if architecture == "x86_64" else round(x86 * _ARM_DISCOUNT, 10))


def transition_price(region: str) -> float:
    """Price of one Step Functions standard state transition in a region."""
    return _TRANSITION_BY_REGION.get(region, _TRANSITION_DEFAULT)


def step_functions_cost(transitions: int, region: str) -> float:
    """Cost of a standard workflow execution that made this many state transitions."""
    return transitions * transition_price(region)


def vcpus(memory_mb: int) -> float:
    """CPU credit Lambda gives a memory size: 1,769 MB buys one vCPU, linearly."""
    return memory_mb / MB_PER_VCPU
