"""Typed models of the wire format: the execution input, the run's configuration, per-size results.

The execution input is drop-in compatible with aws-lambda-power-tuning v4 (same camelCase keys and
defaults) plus the keys in NEW_KEYS. `TuningRequest.from_dict` is the single validator: the
Initializer, the CLI and the local engine all call it, so a bad input gets the same message everywhere.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Final

from powertuning import payloads
from powertuning import samples as sample_store
from powertuning.errors import InvalidInputError
from powertuning.pricing import (
    DEFAULT_POWER_VALUES,
    FREE_EPHEMERAL_STORAGE_MB,
    MAX_MEMORY_MB,
    MB_PER_VCPU,
    MIN_MEMORY_MB,
)
from powertuning.samples import Sample

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

# \Z, not $: `$` also matches before a trailing newline, which would let "arn...\n" through.
FUNCTION_ARN = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):lambda:(?P<region>(?:[a-z]{2}|us-gov)(-[a-z]+)+-\d):"
    r"(?P<account>\d{12}):function:(?P<name>[a-zA-Z0-9-_]{1,64})(:(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]{1,128}))?\Z"
)


def partition_of(region: str) -> str:
    """The partition a region belongs to (a region of another partition would reach the wrong endpoint)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>[^\x00-\x1f]{1,1024})\Z")
ALIAS_NAME = re.compile(r"^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}\Z")
# The names of the aliases a run creates: RAM<size>, RAM<size>-<i> in cold-start mode.
RUN_ALIAS = re.compile(r"^RAM\d+(-\d+)?\Z")


def _bool(data: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise InvalidInputError(f"{key} must be true or false, got {json.dumps(value)}")
    return value


def _int(data: Mapping[str, Any], key: str, default: int | None, low: int, high: int) -> int | None:
    value = data.get(key, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{key} must be an integer from {low} to {high}, got {json.dumps(value)}")
    if not low <= value <= high:
        raise InvalidInputError(f"{key} must be an integer from {low} to {high}, got {value}")
    return value


def _number(data: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"{key} must be a number from {low} to {high}, got {json.dumps(value)}")
    if not low <= value <= high:
        raise InvalidInputError(f"{key} must be a number from {low} to {high}, got {value}")
    return float(value)


def _choice(data: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = data.get(key, allowed[0])
    if value not in allowed:
        options = ", ".join(f'"{a}"' for a in allowed)
        raise InvalidInputError(f"{key} must be one of {options}, got {json.dumps(value)}")
    return str(value)


def _arn(data: Mapping[str, Any], key: str, required: bool = False) -> str | None:
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


@dataclass(frozen=True)
class FunctionRef:
    """The parts of a Lambda function ARN."""

    arn: str
    partition: str
    region: str
    account: str
    name: str
    qualifier: str | None

    @classmethod
    def parse(cls, arn: str) -> FunctionRef:
        """Split a function ARN (unqualified, or qualified by alias or version)."""
        match = FUNCTION_ARN.match(arn)
        if not match:
            raise InvalidInputError(f"not a Lambda function ARN: {arn!r}")
        return cls(
            arn=arn,
            partition=match["partition"],
            region=match["region"],
            account=match["account"],
            name=match["name"],
            qualifier=match["qualifier"],
        )

    @property
    def unqualified(self) -> str:
        """The ARN without alias or version."""
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{self.name}"

    def qualified(self, qualifier: str) -> str:
        """The ARN of an alias or version of this function."""
        return f"{self.unqualified}:{qualifier}"


@dataclass(frozen=True)
class WeightedPayload:
    """One payload of a weighted list, with its share of the invocations."""

    payload: Any
    weight: float


@dataclass(frozen=True)
class TuningRequest:
    """The validated execution input, defaults applied."""

    lambda_arn: str
    power_values: tuple[int, ...] | None = None
    num: int = 10
    payload: Any = None
    weighted_payloads: tuple[WeightedPayload, ...] = ()
    payload_s3: str | None = None
    parallel_invocation: bool = False
    strategy: str = "cost"
    balanced_weight: float = 0.5
    auto_optimize: bool = False
    auto_optimize_alias: str | None = None
    dry_run: bool = False
    pre_processor_arn: str | None = None
    post_processor_arn: str | None = None
    discard_top_bottom: float = 0.2
    sleep_between_runs_ms: int = 0
    disable_payload_logs: bool = False
    include_output_results: bool = False
    only_cold_starts: bool = False
    allowed_exceptions: tuple[str, ...] = ()
    max_concurrency: int | None = None
    on_error: str = "fail"
    sampling: str = "fixed"
    confidence: float = DEFAULT_CONFIDENCE
    tolerance: float = DEFAULT_TOLERANCE
    auto_power_values: bool = False
    max_duration_ms: float | None = None
    duration_statistic: str = "average"

    @property
    def function(self) -> FunctionRef:
        """The function to tune."""
        return FunctionRef.parse(self.lambda_arn)

    def resolved_power_values(self, default: tuple[int, ...] = DEFAULT_POWER_VALUES) -> tuple[int, ...]:
        """Power values to test: the input's, else the deploy-time default; one for a dry run."""
        values = self.power_values or default
        return values[:1] if self.dry_run else values

    @property
    def invocations_per_size(self) -> int:
        """How many times each memory size is invoked (one for a dry run)."""
        return 1 if self.dry_run else self.num

    @classmethod
    def from_dict(cls, data: Any) -> TuningRequest:
        """Validate an execution input: only input keys, each checked, defaults applied."""
        if not isinstance(data, Mapping):
            raise InvalidInputError(f"the execution input must be a JSON object, got {json.dumps(data)}")
        _reject_unknown_keys(data)
        num = _int(data, "num", 10, MIN_NUM, MAX_NUM)
        assert num is not None
        sampling = _choice(data, "sampling", SAMPLING)
        _check_adaptive_keys(data, sampling)
        payload, weighted = _payload(data, num)
        payload_s3 = data.get("payloadS3")
        if payload_s3 is not None:
            if not isinstance(payload_s3, str) or not S3_URI.match(payload_s3):
                raise InvalidInputError(
                    f"payloadS3 must look like s3://bucket/key, got {json.dumps(payload_s3)}"
                )
            if "payload" in data:
                raise InvalidInputError("payload and payloadS3 are exclusive: give one of them")
        parallel = _bool(data, "parallelInvocation")
        # With parallelInvocation the sleep has no effect, as in the reference tool (not an error).
        sleep_ms = _int(data, "sleepBetweenRunsMs", 0, 0, MAX_SLEEP_MS) or 0
        max_concurrency = _int(data, "maxConcurrency", None, 1, MAX_NUM)
        if max_concurrency is not None and not parallel:
            raise InvalidInputError(
                "maxConcurrency needs parallelInvocation: true (it caps parallel invocations)"
            )
        auto_optimize = _bool(data, "autoOptimize")
        dry_run = _bool(data, "dryRun")
        alias = _optimize_alias(data, auto_optimize, dry_run)
        max_duration_ms, statistic = _latency_target(data, num, sampling)
        return cls(
            lambda_arn=str(_arn(data, "lambdaARN", required=True)),
            power_values=None if data.get("powerValues") == AUTO else _power_values(data.get("powerValues")),
            num=num,
            payload=payload,
            weighted_payloads=weighted,
            payload_s3=payload_s3,
            parallel_invocation=parallel,
            strategy=_choice(data, "strategy", STRATEGIES),
            balanced_weight=_number(data, "balancedWeight", 0.5, 0.0, 1.0),
            auto_optimize=auto_optimize,
            auto_optimize_alias=alias,
            dry_run=dry_run,
            pre_processor_arn=_arn(data, "preProcessorARN"),
            post_processor_arn=_arn(data, "postProcessorARN"),
            discard_top_bottom=_number(data, "discardTopBottom", 0.2, 0.0, MAX_DISCARD),
            sleep_between_runs_ms=sleep_ms,
            disable_payload_logs=_bool(data, "disablePayloadLogs"),
            include_output_results=_bool(data, "includeOutputResults"),
            only_cold_starts=_bool(data, "onlyColdStarts"),
            allowed_exceptions=_string_list(data, "allowedExceptions"),
            max_concurrency=max_concurrency,
            on_error=_choice(data, "onError", ON_ERROR),
            sampling=sampling,
            confidence=_number(data, "confidence", DEFAULT_CONFIDENCE, MIN_CONFIDENCE, MAX_CONFIDENCE),
            tolerance=_number(data, "tolerance", DEFAULT_TOLERANCE, 0.0, MAX_TOLERANCE),
            auto_power_values=data.get("powerValues") == AUTO,
            max_duration_ms=max_duration_ms,
            duration_statistic=statistic,
        )

    def to_dict(self) -> dict[str, Any]:
        """The camelCase execution input, with every default written out."""
        out: dict[str, Any] = {
            "lambdaARN": self.lambda_arn,
            "num": self.num,
            "parallelInvocation": self.parallel_invocation,
            "strategy": self.strategy,
            "balancedWeight": self.balanced_weight,
            "autoOptimize": self.auto_optimize,
            "dryRun": self.dry_run,
            "discardTopBottom": self.discard_top_bottom,
            "sleepBetweenRunsMs": self.sleep_between_runs_ms,
            "disablePayloadLogs": self.disable_payload_logs,
            "includeOutputResults": self.include_output_results,
            "onlyColdStarts": self.only_cold_starts,
            "allowedExceptions": list(self.allowed_exceptions),
            "onError": self.on_error,
            "sampling": self.sampling,
        }
        if self.power_values is not None:
            out["powerValues"] = list(self.power_values)
        if self.auto_power_values:
            out["powerValues"] = AUTO
        if self.sampling == "adaptive":
            out.update(confidence=self.confidence, tolerance=self.tolerance)
        if self.max_duration_ms is not None:
            out.update(maxDurationMs=self.max_duration_ms, durationStatistic=self.duration_statistic)
        if self.weighted_payloads:
            out["payload"] = [{"payload": w.payload, "weight": w.weight} for w in self.weighted_payloads]
        elif self.payload is not None:
            out["payload"] = self.payload
        optional = {
            "payloadS3": self.payload_s3,
            "autoOptimizeAlias": self.auto_optimize_alias,
            "preProcessorARN": self.pre_processor_arn,
            "postProcessorARN": self.post_processor_arn,
            "maxConcurrency": self.max_concurrency,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        return out


# Keys of aws-lambda-power-tuning v4, then ours.
REFERENCE_KEYS: Final = (
    "lambdaARN",
    "powerValues",
    "num",
    "payload",
    "payloadS3",
    "parallelInvocation",
    "strategy",
    "balancedWeight",
    "autoOptimize",
    "autoOptimizeAlias",
    "dryRun",
    "preProcessorARN",
    "postProcessorARN",
    "discardTopBottom",
    "sleepBetweenRunsMs",
    "disablePayloadLogs",
    "includeOutputResults",
    "onlyColdStarts",
    "allowedExceptions",
)
NEW_KEYS: Final = (
    "maxConcurrency",
    "onError",
    "sampling",
    "confidence",
    "tolerance",
    "maxDurationMs",
    "durationStatistic",
)
INPUT_KEYS: Final = REFERENCE_KEYS + NEW_KEYS


def _optimize_alias(data: Mapping[str, Any], auto_optimize: bool, dry_run: bool) -> str | None:
    alias = data.get("autoOptimizeAlias")
    if alias is None:
        return None
    if not isinstance(alias, str) or not ALIAS_NAME.match(alias):
        raise InvalidInputError(
            "autoOptimizeAlias must be an alias name (letters, digits, - and _, not only digits), "
            f"got {json.dumps(alias)}"
        )
    if RUN_ALIAS.match(alias):
        raise InvalidInputError(
            f"autoOptimizeAlias {alias!r} has the form RAM<size>, which the tuner reserves for the aliases "
            "it creates and deletes during a run: choose another name"
        )
    if not auto_optimize:
        raise InvalidInputError("autoOptimizeAlias needs autoOptimize: true")
    if dry_run:
        raise InvalidInputError(
            "autoOptimizeAlias cannot be used with dryRun: true (a dry run applies nothing)"
        )
    return alias


def _reject_unknown_keys(data: Mapping[str, Any]) -> None:
    # Only input keys: the execution state is the tuner's own, so a caller can never set its keys.
    for key in data:
        if key in INPUT_KEYS:
            continue
        close = difflib.get_close_matches(str(key), INPUT_KEYS, n=1, cutoff=0.6) or difflib.get_close_matches(
            str(key).lower(), [k.lower() for k in INPUT_KEYS], n=1, cutoff=0.6
        )
        hint = ""
        if close:
            match = next(k for k in INPUT_KEYS if k.lower() == close[0].lower())
            hint = f"; did you mean {match}?"
        raise InvalidInputError(f"unknown input key {key!r}{hint} Valid keys: {', '.join(INPUT_KEYS)}")


def _check_adaptive_keys(data: Mapping[str, Any], sampling: str) -> None:
    # The adaptive keys mean nothing to fixed sampling: reject them rather than ignore them.
    if sampling != "adaptive":
        for key in ("confidence", "tolerance"):
            if key in data:
                raise InvalidInputError(f'{key} needs sampling: "adaptive" (it tunes when to stop sampling)')
        if data.get("powerValues") == AUTO:
            raise InvalidInputError(
                'powerValues "auto" needs sampling: "adaptive" (the search decides as it measures)'
            )
        return
    # How many samples the race may keep is bounded with the rest of the state: powertuning/limits.py.


def min_num_for(statistic: str) -> int:
    """The smallest `num` whose durations give a meaningful `statistic` (see MIN_TAIL_INVOCATIONS)."""
    q = QUANTILES.get(statistic)
    if q is None:
        return MIN_NUM
    # round(): 2 / (1 - 0.9) is 19.999... in floating point.
    return max(MIN_NUM, math.ceil(round(MIN_TAIL_INVOCATIONS / (1 - q), 9)))


def _latency_target(data: Mapping[str, Any], num: int, sampling: str) -> tuple[float | None, str]:
    # maxDurationMs: the cheapest (or best balanced) size whose durationStatistic is at most this.
    statistic = data.get("durationStatistic", DURATION_STATISTICS[0])
    if statistic not in DURATION_STATISTICS:
        options = ", ".join(f'"{a}"' for a in DURATION_STATISTICS)
        raise InvalidInputError(f"durationStatistic must be one of {options}, got {json.dumps(statistic)}")
    if "maxDurationMs" not in data:
        if "durationStatistic" in data:
            raise InvalidInputError(
                "durationStatistic needs maxDurationMs (it says which duration the target limits)"
            )
        return None, str(statistic)
    value = data["maxDurationMs"]
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InvalidInputError(
            f"maxDurationMs must be a number of milliseconds greater than 0, got {json.dumps(value)}"
        )
    if sampling == "adaptive":
        # The race drops sizes on the strategy's objective alone; it could drop the cheapest size
        # that meets the target. Refused until the race honours the target.
        raise InvalidInputError(
            'maxDurationMs cannot be combined with sampling: "adaptive" yet (the race could drop the '
            'cheapest size that meets the target): use sampling: "fixed"'
        )
    needed = min_num_for(str(statistic))
    if num < needed:
        raise InvalidInputError(
            f"durationStatistic {statistic} needs num of at least {needed}, got num {num}: with fewer "
            f"invocations a {statistic} is the slowest one or two of them, not a {statistic}"
        )
    return float(value), str(statistic)


def _power_values(value: Any) -> tuple[int, ...] | None:
    if value is None or value == []:
        # No list, or an empty one: the deploy-time default, as the reference tool does.
        return None
    if value == "ALL":
        return ALL_POWER_VALUES
    allowed = f'a list of integers from {MIN_MEMORY_MB} to {MAX_MEMORY_MB} (MB), "auto" or "ALL"'
    if not isinstance(value, list) or not value:
        raise InvalidInputError(f"powerValues must be {allowed}, got {json.dumps(value)}")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int):
            raise InvalidInputError(f"powerValues must be {allowed}; {json.dumps(item)} is not an integer")
        if not MIN_MEMORY_MB <= item <= MAX_MEMORY_MB:
            raise InvalidInputError(f"powerValues must be {allowed}; {item} is out of range")
    if len(set(value)) != len(value):
        dupes = sorted({v for v in value if value.count(v) > 1})
        raise InvalidInputError(f"powerValues must not repeat a size; repeated: {dupes}")
    return tuple(value)


def _payload(data: Mapping[str, Any], num: int) -> tuple[Any, tuple[WeightedPayload, ...]]:
    # The reference tool's rule for a weighted list: see powertuning/payloads.py.
    payload = data.get("payload")
    try:
        # A lone surrogate passes json.loads but cannot be sent: Lambda payloads are UTF-8.
        json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError) as exc:
        raise InvalidInputError(f"payload must be sendable JSON (UTF-8, no NaN or Infinity): {exc}") from None
    if not payloads.is_weighted(payload):
        return payload, ()
    return None, payloads.parse_weighted(payload, num)


def _string_list(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidInputError(
            f"{key} must be a list of error type names (strings), got {json.dumps(value)}"
        )
    return tuple(value)


# Every description a run writes: "powertuning <runId> ...". The run id is 12 hex digits.
MARKER_PREFIX: Final = "powertuning "
# What a run's own versions are described as while it runs (and what `powertune clean` removes).
RUN_VERSION_MARKER = re.compile(r"^powertuning (?P<run>[0-9a-f]{12}) RAM(?P<power>\d+)(-\d+)?\Z")
RUN_ID = re.compile(r"^[0-9a-f]{12}\Z")
# Any description a run wrote ($LATEST while it publishes or optimizes, its versions).
RUN_MARKER = re.compile(r"^powertuning (?P<run>[0-9a-f]{12}) ")


@dataclass(frozen=True)
class TuningConfig:
    """The run's own bookkeeping, written once by the Initializer: `$.run`."""

    function_arn: str
    power_values: tuple[int, ...]
    run_id: str
    original_memory: int
    original_description: str
    architecture: str
    sampling: str = "fixed"
    execution_arn: str = ""
    # The target's own timeout: the longest one invocation can take.
    timeout_s: int = 3
    # The function's /tmp size: storage above 512 MB is billed (powertuning/pricing.py).
    ephemeral_storage_mb: int = FREE_EPHEMERAL_STORAGE_MB

    @property
    def marker_prefix(self) -> str:
        """How every description this run writes begins."""
        return f"{MARKER_PREFIX}{self.run_id} "

    def marker(self, power: int) -> str:
        """The description that marks $LATEST and the versions this run publishes."""
        return f"{self.marker_prefix}RAM{power}"

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form."""
        return {
            "functionArn": self.function_arn,
            "powerValues": list(self.power_values),
            "runId": self.run_id,
            "executionArn": self.execution_arn,
            "original": {"memorySize": self.original_memory, "description": self.original_description},
            "architecture": self.architecture,
            "sampling": self.sampling,
            "timeoutSeconds": self.timeout_s,
            "ephemeralStorageMB": self.ephemeral_storage_mb,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TuningConfig:
        """Parse the wire form (the tuner's own: written by the Initializer)."""
        run_id = str(data["runId"])
        if not RUN_ID.match(run_id):
            raise ValueError(f"not a run id: {run_id!r}")
        return cls(
            function_arn=FunctionRef.parse(str(data["functionArn"])).unqualified,
            power_values=tuple(int(p) for p in data["powerValues"]),
            run_id=run_id,
            original_memory=int(data["original"]["memorySize"]),
            original_description=str(data["original"].get("description", "")),
            architecture=str(data.get("architecture", "x86_64")),
            sampling=str(data.get("sampling", "fixed")),
            execution_arn=str(data.get("executionArn", "")),
            timeout_s=int(data.get("timeoutSeconds", 3)),
            ephemeral_storage_mb=int(data.get("ephemeralStorageMB", FREE_EPHEMERAL_STORAGE_MB)),
        )


@dataclass(frozen=True)
class PublishState:
    """The Publisher's progress: `$.publish`. Sizes published so far are `power_values[:index]`."""

    power_values: tuple[int, ...]
    index: int = 0
    # Sizes Lambda refused (above the account's memory limit; powerValues "auto" only).
    refused: tuple[int, ...] = ()

    @property
    def done(self) -> bool:
        """True once every size has its version and alias."""
        return self.index >= len(self.power_values)

    @property
    def published(self) -> tuple[int, ...]:
        """The sizes published so far."""
        return self.power_values[: self.index]

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form; `continue` drives the Publisher loop's Choice state."""
        return {
            "powerValues": list(self.power_values),
            "index": self.index,
            "refused": list(self.refused),
            "continue": not self.done,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PublishState:
        """Parse the wire form."""
        return cls(
            power_values=tuple(int(p) for p in data["powerValues"]),
            index=int(data["index"]),
            refused=tuple(int(p) for p in data.get("refused", [])),
        )


@dataclass(frozen=True)
class SizeResult:
    """What the Executor measured at one memory size.

    The items of `$.results` (fixed sampling) and of `$.round` (an adaptive batch, with its samples);
    the output's `stats` lists them too (`$.analysis.stats`: there is no `$.stats` path).
    """

    value: int
    average_price: float = 0.0
    average_duration: float = 0.0
    total_cost: float = 0.0
    p50: float = 0.0
    p90: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    invocations: int = 0
    cold_starts: int = 0
    errors: int = 0
    gb_seconds: float = 0.0
    transitions: int = 1
    skipped: bool = False
    reason: str | None = None
    # Adaptive rounds only: (duration, billed, init[, weight]) ms of the invocations, for the
    # decision step (powertuning/samples.py).
    samples: tuple[Sample, ...] = ()

    def statistic(self, name: str) -> float:
        """A duration statistic of DURATION_STATISTICS: "average" (trimmed) or a percentile."""
        return self.average_duration if name == "average" else float(getattr(self, name))

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form; the first four keys are aws-lambda-power-tuning's."""
        out: dict[str, Any] = {
            "value": self.value,
            "averagePrice": self.average_price,
            "averageDuration": self.average_duration,
            "totalCost": self.total_cost,
            "p50": self.p50,
            "p90": self.p90,
            "p95": self.p95,
            "p99": self.p99,
            "invocations": self.invocations,
            "coldStarts": self.cold_starts,
            "errors": self.errors,
            "gbSeconds": self.gb_seconds,
            "transitions": self.transitions,
        }
        if self.skipped:
            out.update(skipped=True, reason=self.reason)
        if self.samples:
            out["samples"] = [list(s) for s in self.samples]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SizeResult:
        """Parse the wire form (unknown keys ignored)."""
        names = {f.name: f for f in fields(cls)}
        camel = {_snake(k): v for k, v in data.items()}
        if "samples" in camel:
            camel["samples"] = tuple(sample_store.parse(s) for s in camel["samples"])
        return cls(**{k: v for k, v in camel.items() if k in names})


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def auto_grid(max_memory: int = MAX_MEMORY_MB) -> tuple[int, ...]:
    """Sizes "auto" may try, up to `max_memory`."""
    return tuple(m for m in AUTO_GRID if MIN_MEMORY_MB <= m <= max_memory)


def auto_initial_sizes(max_memory: int = MAX_MEMORY_MB) -> tuple[int, ...]:
    """First probes of "auto": a coarse ladder up to 1 vCPU; larger sizes only when the data asks."""
    grid = auto_grid(max_memory)
    ladder = [m for i, m in enumerate(grid) if i % AUTO_LADDER_STEP == 0 and m <= MB_PER_VCPU]
    if grid and max_memory < MB_PER_VCPU and grid[-1] not in ladder:
        ladder.append(grid[-1])
    return tuple(ladder)
