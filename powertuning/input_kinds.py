"""The kinds of execution input value: each kind's range or choices, and its one parser.

Each parser reads one key from the input and checks it on its own, raising InvalidInputError naming
the key and what is allowed; `input_keys.INPUTS` says which kind each key is, `input_rules` what keys mean
together.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from powertuning import payloads
from powertuning.arns import ALIAS_NAME, FUNCTION_ARN, IMAGE_URI, MAX_REPOSITORY_LENGTH, S3_URI, partition_of
from powertuning.errors import InvalidInputError
from powertuning.markers import RUN_ALIAS
from powertuning.pricing import ARCHITECTURES, MAX_MEMORY_MB, MB_PER_VCPU, MIN_MEMORY_MB

STRATEGIES: Final = ("cost", "speed", "balanced")
ON_ERROR: Final = ("fail", "skip")
SAMPLING: Final = ("fixed", "adaptive")
# "ALL" in aws-lambda-power-tuning: every size from 128 to 3,008 MB in 64 MB steps.
ALL_POWER_VALUES: Final = tuple(range(128, 3009, 64))
# "auto" searches these sizes (powertuning/adaptive/auto.py): about sqrt(2) apart, since CPU is
# proportional to memory and equal ratios matter equally; plus 1 vCPU (1,769 MB) and 3,008 MB.
AUTO_GRID: Final = (
    128, 192, 256, 384, 512, 768, 1024, 1536, 1769, 2048, 3008,
    4096, 5120, 6144, 7168, 8192, 10240,
)  # fmt: skip
# First probes of "auto": every fourth grid size (a factor of about 4 apart).
AUTO_LADDER_STEP: Final = 4
MIN_NUM: Final = 5
MAX_NUM: Final = 1000
MAX_DISCARD: Final = 0.4
MAX_SLEEP_MS: Final = 60_000
# sampling "adaptive" (powertuning/adaptive/): a size is dropped once, with this confidence, it
# cannot beat the leader by more than `tolerance` (a fraction of the leader's objective).
DEFAULT_CONFIDENCE: Final = 0.9
MIN_CONFIDENCE: Final = 0.5
MAX_CONFIDENCE: Final = 0.999
DEFAULT_TOLERANCE: Final = 0.05
MAX_TOLERANCE: Final = 0.5
AUTO: Final = "auto"
# maxDurationMs: a latency target the recommendation must meet, on this statistic of the durations
# (`average` is the trimmed mean the output's `duration` reports; the percentiles are untrimmed).
DURATION_STATISTICS: Final = ("average", "p50", "p90", "p95", "p99")
QUANTILES: Final = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}
# A percentile needs at least this many invocations expected above it: num x (1 - q) >= 2, so
# p50 >= 4 (any num), p90 >= 20, p95 >= 40, p99 >= 200. With fewer, the estimate (linear
# interpolation between closest ranks) rests on the largest one or two durations, i.e. on a single
# stall or on the cold start every freshly published version begins with: "p99 of 10 invocations"
# is the slowest invocation, not a p99. With two expected above it, the largest value never sets it.
MIN_TAIL_INVOCATIONS: Final = 2
# The reference tool's default balancedWeight; the only weight accepted with a strategy other than balanced.
BALANCED_WEIGHT_DEFAULT: Final = 0.5


Kind = Literal[
    "arn",
    "sizes",
    "int",
    "number",
    "ms",
    "bool",
    "choice",
    "choices",
    "json",
    "s3",
    "alias",
    "names",
    "images",
    "rate",
    "amount",
]

# coldStartRate "production": the function's own rate, read from its log group (powertuning/cold_rate.py).
PRODUCTION: Final = "production"
# coldStartRate "production-if-available": the production rate where it can be read; a function with
# no REPORT record in the window, no log group, or a custom log group is tuned without a rate and the
# output says why (what a fleet gives each function unless told otherwise; docs/fleet.md).
PRODUCTION_IF_AVAILABLE: Final = "production-if-available"
PRODUCTION_FORMS: Final = (PRODUCTION, PRODUCTION_IF_AVAILABLE)
# coldStartsPerSize: at most this many fresh versions per size, and never more than half of `num`
# (the warm figure needs warm invocations).
MAX_COLD_STARTS_PER_SIZE: Final = 20


def boolean(data: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise InvalidInputError(f"{key} must be true or false, got {json.dumps(value)}")
    return value


def integer(data: Mapping[str, Any], key: str, default: int | None, low: int, high: int) -> int | None:
    value = data.get(key, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{key} must be an integer from {low} to {high}, got {json.dumps(value)}")
    if not low <= value <= high:
        raise InvalidInputError(f"{key} must be an integer from {low} to {high}, got {value}")
    return value


def number(data: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"{key} must be a number from {low} to {high}, got {json.dumps(value)}")
    if not low <= value <= high:
        raise InvalidInputError(f"{key} must be a number from {low} to {high}, got {value}")
    return float(value)


def cold_start_rate(data: Mapping[str, Any], key: str) -> float | str | None:
    """A share of invocations from 0 to 1, "production" (the function's own, from its logs) or
    "production-if-available" (the same, or no rate when its logs hold none)."""
    if key not in data:
        return None
    value = data[key]
    if isinstance(value, str) and value in PRODUCTION_FORMS:
        return value
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= 1
    ):
        raise InvalidInputError(
            f"{key} must be a number from 0 to 1 (the share of invocations that are cold starts) or "
            f'"{PRODUCTION}" (the function\'s own rate over the last 14 days) or "{PRODUCTION_IF_AVAILABLE}" '
            f"(the same where its logs hold one, else no rate), got {json.dumps(value)}"
        )
    return float(value)


def amount(data: Mapping[str, Any], key: str) -> float | None:
    """A finite number of at least 0, no upper bound (None when the key is not given)."""
    if key not in data:
        return None
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InvalidInputError(f"{key} must be a number of at least 0, got {json.dumps(value)}")
    return float(value)


def choice(data: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = data.get(key, allowed[0])
    if value not in allowed:
        options = ", ".join(f'"{a}"' for a in allowed)
        raise InvalidInputError(f"{key} must be one of {options}, got {json.dumps(value)}")
    return str(value)


def arn(data: Mapping[str, Any], key: str, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if value is None:
        raise InvalidInputError(f"{key} is required: the ARN of the Lambda function to tune")
    match = FUNCTION_ARN.match(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidInputError(
            f"{key} must be a Lambda function ARN such as "
            f"arn:aws:lambda:us-east-1:123456789012:function:name[:alias-or-version], got {json.dumps(value)}"
        )
    if partition_of(match["region"]) != match["partition"]:
        raise InvalidInputError(
            f"{key} names region {match['region']}, which is not in partition {match['partition']}"
        )
    return str(value)


def milliseconds(data: Mapping[str, Any], key: str) -> float | None:
    if key not in data:
        return None
    value = data[key]
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InvalidInputError(
            f"{key} must be a number of milliseconds greater than 0, got {json.dumps(value)}"
        )
    return float(value)


def s3_uri(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and (not isinstance(value, str) or not S3_URI.match(value)):
        raise InvalidInputError(f"{key} must look like s3://bucket/key, got {json.dumps(value)}")
    return value


def alias(data: Mapping[str, Any], key: str) -> str | None:
    alias = data.get(key)
    if alias is None:
        return None
    if not isinstance(alias, str) or not ALIAS_NAME.match(alias):
        raise InvalidInputError(
            f"{key} must be an alias name (letters, digits, - and _, not only digits), "
            f"got {json.dumps(alias)}"
        )
    if RUN_ALIAS.match(alias):
        raise InvalidInputError(
            f"{key} {alias!r} has the form RAM<size>, which the tuner reserves for the aliases "
            "it creates and deletes during a run: choose another name"
        )
    return alias


class MemorySizesError(ValueError):
    """A list of memory sizes is not one; `problem` says how, `item` what."""

    def __init__(self, problem: str, item: Any) -> None:
        super().__init__(f"{problem}: {item!r}")
        self.problem = problem
        self.item = item


def check_memory_sizes(value: Any) -> tuple[int, ...]:
    """A non-empty list of distinct sizes from 128 to 10,240 MB: the one check of the input's
    powerValues and the deploy option's. Raises MemorySizesError; each caller phrases its message."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
        raise MemorySizesError("not a list", value)
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int):
            raise MemorySizesError("not an integer", item)
        if not MIN_MEMORY_MB <= item <= MAX_MEMORY_MB:
            raise MemorySizesError("out of range", item)
    if len(set(value)) != len(value):
        raise MemorySizesError("repeated", sorted({v for v in value if list(value).count(v) > 1}))
    return tuple(value)


def image_uris(data: Mapping[str, Any], key: str) -> dict[str, str] | None:
    if key not in data:
        return None
    value = data[key]
    shape = (
        "an object of architecture to ECR image URI, e.g. "
        '{"arm64": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:arm64"}'
    )
    if not isinstance(value, dict) or not value:
        raise InvalidInputError(f"{key} must be {shape}, got {json.dumps(value)}")
    for arch, uri in value.items():
        if arch not in ARCHITECTURES:
            raise InvalidInputError(
                f"{key} keys must be {' or '.join(json.dumps(a) for a in ARCHITECTURES)}; "
                f"unknown: {json.dumps(arch)}"
            )
        match = IMAGE_URI.match(uri) if isinstance(uri, str) else None
        if match is None or len(match["repository"]) > MAX_REPOSITORY_LENGTH:
            raise InvalidInputError(
                f"{key}.{arch} must be an Amazon ECR image URI by digest "
                "(<account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:<64 hex digits>), "
                f"got {json.dumps(uri)}"
            )
    return {str(a): str(u) for a, u in value.items()}


def choice_list(data: Mapping[str, Any], key: str, choices: Sequence[str]) -> tuple[str, ...] | None:
    if key not in data:
        return None
    value = data[key]
    some = "both" if len(choices) == 2 else "more"
    allowed = f"a list of one or {some} of {', '.join(json.dumps(a) for a in choices)}"
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InvalidInputError(f"{key} must be {allowed}, got {json.dumps(value)}")
    unknown = [v for v in value if v not in choices]
    if unknown:
        raise InvalidInputError(f"{key} must be {allowed}; unknown: {json.dumps(unknown)}")
    if len(set(value)) != len(value):
        raise InvalidInputError(f"{key} must be {allowed}, each once; got {json.dumps(value)}")
    return tuple(value)


def power_values(value: Any) -> tuple[int, ...] | None:
    if value is None or value == []:
        # No list, or an empty one: the deploy-time default, as the reference tool does.
        return None
    if value == "ALL":
        return ALL_POWER_VALUES
    allowed = f'a list of integers from {MIN_MEMORY_MB} to {MAX_MEMORY_MB} (MB), "auto" or "ALL"'
    try:
        # A JSON input's list is a list: a string or an object is not one.
        return check_memory_sizes(value if isinstance(value, list) else None)
    except MemorySizesError as exc:
        if exc.problem == "not a list":
            raise InvalidInputError(f"powerValues must be {allowed}, got {json.dumps(value)}") from None
        if exc.problem == "not an integer":
            raise InvalidInputError(
                f"powerValues must be {allowed}; {json.dumps(exc.item)} is not an integer"
            ) from None
        if exc.problem == "out of range":
            raise InvalidInputError(f"powerValues must be {allowed}; {exc.item} is out of range") from None
        raise InvalidInputError(f"powerValues must not repeat a size; repeated: {exc.item}") from None


def sendable(data: Mapping[str, Any], key: str) -> Any:
    # The reference tool's rule for a weighted list: see powertuning/payloads.py.
    payload = data[key] if key in data else payloads.no_payload()
    payloads.check_finite(payload, key)
    try:
        # A lone surrogate passes json.loads but cannot be sent: Lambda payloads are UTF-8.
        json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError) as exc:
        raise InvalidInputError(f"{key} must be sendable JSON (UTF-8, no NaN or Infinity): {exc}") from None
    return payload


def string_list(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidInputError(
            f"{key} must be a list of error type names (strings), got {json.dumps(value)}"
        )
    return tuple(value)


def auto_grid(max_memory: int = MAX_MEMORY_MB) -> tuple[int, ...]:
    """Sizes "auto" may try, up to `max_memory`."""
    return tuple(m for m in AUTO_GRID if MIN_MEMORY_MB <= m <= max_memory)


def climb_step(grid: Sequence[int], memory: int) -> int | None:
    """Where "auto" climbs above `memory`: two grid steps up (a factor of about 2), or the grid's
    last size; None when nothing on the grid is larger."""
    above = [m for m in grid if m > memory]
    return above[min(len(above), AUTO_LADDER_STEP // 2) - 1] if above else None


def auto_initial_sizes(max_memory: int = MAX_MEMORY_MB, strategy: str = "balanced") -> tuple[int, ...]:
    """First probes of "auto": a coarse ladder up to 1 vCPU; larger sizes only when the data asks.

    With CPU at most proportional to memory, a bigger size is never cheaper without a super-linear
    speed-up and a smaller one never faster: `cost` starts on the ladder's two lowest rungs. More
    memory is never slower, so `speed` starts at one vCPU and where the climb above it would go next
    (`climb_step`: 3,008 MB): a plateau shows at once, and no cold start is spent below one vCPU,
    where speed's answer cannot lie.
    """
    grid = auto_grid(max_memory)
    ladder = [m for i, m in enumerate(grid) if i % AUTO_LADDER_STEP == 0 and m <= MB_PER_VCPU]
    if grid and max_memory < MB_PER_VCPU and grid[-1] not in ladder:
        ladder.append(grid[-1])
    if strategy == "cost":
        return tuple(ladder[:2])
    if strategy == "speed":
        step = climb_step(grid, ladder[-1])
        return (ladder[-1], step) if step is not None else tuple(ladder[-2:])
    return tuple(ladder)
