"""The one source of truth for prices and for what one invocation costs.

Prices are the first pricing tier, on-demand, as published by AWS and checked on 2026-11-23 (USD
figures) unless a line says otherwise:
- Lambda duration, x86_64: $0.0000166667 per GB-second in most regions (first 6B GB-s/month);
  arm64: $0.0000133334 (first 7.5B GB-s/month). The regions below cost more; their arm64 price is
  80% of their x86_64 price, the same ratio AWS applies everywhere.
- Lambda requests: $0.20 per 1M, charged on every invocation.
- Lambda ephemeral storage: 512 MB is free; each GB configured above it costs $0.0000000309 per
  GB-second of billed duration (us-east-1, used for every USD region here; added 2026-11-29 from
  AWS's published price, not re-checked against the pricing page that day: no network access).
- Step Functions standard workflows: $0.025 per 1,000 state transitions, more in a few regions;
  retries count as transitions.
- China (cn-north-1 Beijing, cn-northwest-1 Ningxia) bills in CNY. Duration ¥0.000113477 per
  GB-second (x86_64) and Step Functions ¥0.1891 per 1,000 transitions agree with the figures
  aws-lambda-power-tuning v4.4.0 ships (¥1.42e-8 per ms at 128 MB; ¥0.0001891 per transition);
  requests ¥1.36 per 1M. Ephemeral storage in China is derived, not published here: the USD
  price times the China/USD duration price ratio. Recheck the China figures on the
  amazonaws.cn pricing page before relying on them (not re-checked on 2026-11-23).

What one invocation costs (`LambdaPrice.invocation_cost`, the only place it is computed):
  (Billed Duration + Billed Restore Duration) ms, rounded up to 1 ms,
  x memory GB x the duration price of the function's architecture and region
  + the same billed time x (ephemeral storage GB above 0.5) x the ephemeral storage price
  + the request fee.
INIT is billed inside Billed Duration wherever AWS bills it: for on-demand ZIP functions with managed
runtimes since 1 August 2025, and always for container images and custom runtimes; the tuner never
adds Init Duration on top, which would bill it twice. SnapStart's restore is billed as Billed Restore
Duration (the REPORT line's own figure), as aws-lambda-power-tuning bills it. SnapStart's two
charges of its own are priced only at a cold-start rate (`snap_start_price`, below).

SnapStart (checked 2026-12-08 in AWS's Lambda guide, "Monitoring for Lambda SnapStart": a SnapStart
cold start's REPORT line has no Init Duration, INIT runs when a version is published, and carries
Restore Duration and Billed Restore Duration; the billed part - the runtime's load and after-restore
hooks - is charged at the duration price, Java included). Python and .NET also pay, in us-east-1:
- restoration: $0.0001397998 per GB of memory restored, each time an environment is restored (each
  cold start);
- cache: $0.0000015046 per GB-second of memory, for as long as a version with a snapshot is active
  (at least 3 hours), whatever its traffic;
Java pays neither. The two figures are AWS's announcement of SnapStart for Python and .NET (18 Nov
2024) as pages quoting AWS's pricing reproduce them (checked 2026-12-08; the pricing page itself renders
its tables client-side and was not readable that day); used for every USD region, and in China
derived as the ephemeral storage price is (the USD price x the China/USD duration price ratio).

A cold invocation priced at a cold-start rate (input `coldStartRate`, powertuning/cold_starts.py) is
billed `cold_billed_ms`: its Billed Duration, or Duration + Init Duration rounded up to 1 ms where the
REPORT line's Billed Duration leaves INIT out (records written before August 2025), plus the Billed
Restore Duration: what AWS bills an on-demand ZIP function with a managed runtime since 1 August 2025,
and images and custom runtimes always.

The account's tier (input `monthlyGbSeconds`, `marginal_tier`): duration is billed in tiers of the
account's monthly GB-seconds per architecture and region, x86_64 the first 6B at the price above,
the next 9B at 10% off, above 15B at 20% off; arm64 the first 7.5B, the next 11.25B, above 18.75B.
The next GB-second an account at a given usage buys is priced at its tier (the marginal price), the
same factor in every region and currency. Without the input, the first tier's price.

CloudWatch Logs Insights (coldStartRate "production": one query per tuning, `logs_insights_cost`):
$0.005 per GB of data scanned, us-east-1, for both log classes (checked 2026-12-07 as pages quoting
AWS's CloudWatch pricing page give it, dated May and June 2026; the pricing page itself was not
readable that day). Used for every USD region, which is a floor where a region costs more; no China
figure is known here (None). A query scans the log events in its time range, whatever its filter:
estimated from the log group's IncomingBytes metric (uncompressed bytes ingested) over the window,
counted in GB of 10^9 bytes (the larger count).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Final

ARCHITECTURES: Final = ("x86_64", "arm64")
MIN_MEMORY_MB: Final = 128
MAX_MEMORY_MB: Final = 10240
MB_PER_VCPU: Final = 1769
# Ephemeral storage (/tmp) every function gets at no charge.
FREE_EPHEMERAL_STORAGE_MB: Final = 512

REQUEST_PRICE_USD: Final = 0.20 / 1_000_000
EPHEMERAL_GB_SECOND_USD: Final = 0.0000000309

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
    "cn-north-1": 0.000113477,
    "cn-northwest-1": 0.000113477,
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
    "cn-north-1": 0.0001891,
    "cn-northwest-1": 0.0001891,
}

# Regions that bill in another currency than USD, and their request fee in it.
_CURRENCY_BY_REGION: Final[dict[str, str]] = {"cn-north-1": "CNY", "cn-northwest-1": "CNY"}
_REQUEST_PRICE_CNY: Final = 1.36 / 1_000_000
_EPHEMERAL_GB_SECOND_CNY: Final = round(EPHEMERAL_GB_SECOND_USD * 0.000113477 / _DEFAULT_GB_SECOND_X86, 13)

DEFAULT_POWER_VALUES: Final = (128, 256, 512, 1024, 1536, 3008)

# SnapStart's charges on Python and .NET (the module docstring), USD; Java has none.
SNAPSTART_RESTORE_GB_USD: Final = 0.0001397998
SNAPSTART_CACHE_GB_SECOND_USD: Final = 0.0000015046
SNAPSTART_CHARGED_RUNTIMES: Final = ("python", "dotnet")

# Monthly duration tiers: (GB-seconds a month from which it applies, factor on the first tier's price).
DURATION_TIERS: Final[dict[str, tuple[tuple[float, float], ...]]] = {
    "x86_64": ((0, 1.0), (6e9, 0.9), (15e9, 0.8)),
    "arm64": ((0, 1.0), (7.5e9, 0.9), (18.75e9, 0.8)),
}


@dataclass(frozen=True)
class LambdaPrice:
    """What one function is billed at: duration, request and ephemeral storage prices, currency."""

    gb_second: float
    request: float = REQUEST_PRICE_USD
    ephemeral_storage_mb: int = FREE_EPHEMERAL_STORAGE_MB
    ephemeral_gb_second: float = EPHEMERAL_GB_SECOND_USD
    currency: str = "USD"

    def invocation_cost(self, billed_ms: float, memory_mb: int) -> float:
        """What one invocation costs: the module docstring's formula, request fee included.

        `billed_ms` is the REPORT record's Billed Duration plus Billed Restore Duration
        (`logs.Report.billed_total_ms`); it holds INIT wherever AWS bills it.
        """
        return self.duration_cost(billed_ms, memory_mb) + self.storage_cost(billed_ms) + self.request

    def duration_cost(self, billed_ms: float, memory_mb: int) -> float:
        """Cost of the billed duration at this memory size alone."""
        return self.gb_seconds(billed_ms, memory_mb) * self.gb_second

    def storage_cost(self, billed_ms: float) -> float:
        """Cost of the ephemeral storage configured above the free 512 MB, for the billed time."""
        extra_mb = max(0, self.ephemeral_storage_mb - FREE_EPHEMERAL_STORAGE_MB)
        return math.ceil(billed_ms) / 1000 * extra_mb / 1024 * self.ephemeral_gb_second

    def gb_seconds(self, billed_ms: float, memory_mb: int) -> float:
        """GB-seconds of memory billed for one invocation (1 ms steps)."""
        return math.ceil(billed_ms) / 1000 * memory_mb / 1024


def marginal_tier(architecture: str, monthly_gb_seconds: float) -> float:
    """The factor on the first tier's duration price at this monthly usage (1.0, 0.9 or 0.8)."""
    factor = 1.0
    for start, tier_factor in DURATION_TIERS[architecture]:
        if monthly_gb_seconds >= start:
            factor = tier_factor
    return factor


def cold_billed_ms(report: Any) -> float:
    """What a cold invocation is billed (ms): INIT inside, as AWS bills on-demand functions now.

    `report` is a `logs.Report`: Billed Duration when it holds INIT already, else Duration + Init
    Duration rounded up to 1 ms; plus the Billed Restore Duration (SnapStart).
    """
    with_init = math.ceil(round(report.duration_ms + report.init_duration_ms, 6))
    return max(float(report.billed_duration_ms), float(with_init)) + report.billed_restore_duration_ms


@dataclass(frozen=True)
class SnapStartPrice:
    """SnapStart's own charges for one function: per GB restored, per GB-second cached (0 for Java)."""

    restore_gb: float = 0.0
    cache_gb_second: float = 0.0

    def restore_cost(self, memory_mb: int) -> float:
        """What one restore (one SnapStart cold start) costs at this memory, beside its billed time."""
        return memory_mb / 1024 * self.restore_gb

    def cache_cost(self, memory_mb: int, seconds: float) -> float:
        """What caching one version's snapshot at this memory costs for `seconds`."""
        return memory_mb / 1024 * seconds * self.cache_gb_second


def snap_start_runtime(runtime: str) -> str:
    """The runtime family SnapStart prices by: "java", "python", "dotnet" (else the runtime itself)."""
    for family in ("java", "python", "dotnet"):
        if runtime.startswith(family):
            return family
    return runtime


def snap_start_price(region: str, runtime: str) -> SnapStartPrice:
    """SnapStart's charges for a runtime (`snap_start_runtime`'s family) in a region: none for Java."""
    if snap_start_runtime(runtime) not in SNAPSTART_CHARGED_RUNTIMES:
        return SnapStartPrice()
    if currency(region) == "CNY":
        ratio = _GB_SECOND_X86_BY_REGION[region] / _DEFAULT_GB_SECOND_X86
        return SnapStartPrice(
            round(SNAPSTART_RESTORE_GB_USD * ratio, 13), round(SNAPSTART_CACHE_GB_SECOND_USD * ratio, 13)
        )
    return SnapStartPrice(SNAPSTART_RESTORE_GB_USD, SNAPSTART_CACHE_GB_SECOND_USD)


LOGS_INSIGHTS_GB_SCANNED_USD: Final = 0.005
BYTES_PER_GB: Final = 1_000_000_000


def logs_insights_cost(region: str, scanned_bytes: float) -> float | None:
    """What a Logs Insights query scanning this many bytes costs (None where no price is known)."""
    if currency(region) != "USD":
        return None
    return max(0.0, scanned_bytes) / BYTES_PER_GB * LOGS_INSIGHTS_GB_SCANNED_USD


def currency(region: str) -> str:
    """The currency a region bills in: "CNY" in the China regions, "USD" everywhere else."""
    return _CURRENCY_BY_REGION.get(region, "USD")


def lambda_price(
    region: str,
    architecture: str = "x86_64",
    ephemeral_storage_mb: int = FREE_EPHEMERAL_STORAGE_MB,
    monthly_gb_seconds: float | None = None,
) -> LambdaPrice:
    """Lambda prices for a region, architecture and ephemeral storage size (unknown regions: default);
    with `monthly_gb_seconds`, duration at the account's marginal tier."""
    price = _first_tier_price(region, architecture, ephemeral_storage_mb)
    if monthly_gb_seconds is None:
        return price
    factor = marginal_tier(architecture, monthly_gb_seconds)
    return price if factor == 1.0 else replace(price, gb_second=round(price.gb_second * factor, 13))


def _first_tier_price(region: str, architecture: str, ephemeral_storage_mb: int) -> LambdaPrice:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}")
    x86 = _GB_SECOND_X86_BY_REGION.get(region)
    if x86 is None:
        gb_second = _DEFAULT_GB_SECOND_X86 if architecture == "x86_64" else _DEFAULT_GB_SECOND_ARM
    else:
        gb_second = x86 if architecture == "x86_64" else round(x86 * _ARM_DISCOUNT, 10)
    if currency(region) == "CNY":
        return LambdaPrice(
            gb_second, _REQUEST_PRICE_CNY, ephemeral_storage_mb, _EPHEMERAL_GB_SECOND_CNY, "CNY"
        )
    return LambdaPrice(gb_second, ephemeral_storage_mb=ephemeral_storage_mb)


def transition_price(region: str) -> float:
    """Price of one Step Functions standard state transition in a region (in its currency)."""
    return _TRANSITION_BY_REGION.get(region, _TRANSITION_DEFAULT)


def step_functions_cost(transitions: int, region: str) -> float:
    """Cost of a standard workflow execution that made this many state transitions."""
    return transitions * transition_price(region)


def vcpus(memory_mb: int) -> float:
    """CPU credit Lambda gives a memory size: 1,769 MB buys one vCPU, linearly."""
    return memory_mb / MB_PER_VCPU
