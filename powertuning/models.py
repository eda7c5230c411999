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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Final, Literal

from powertuning import payloads
from powertuning import samples as sample_store
from powertuning.errors import InvalidInputError
from powertuning.pricing import (
    ARCHITECTURES,
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
# The reference tool's default balancedWeight; the only weight accepted with a strategy other than balanced.
BALANCED_WEIGHT_DEFAULT: Final = 0.5

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
# A container image in Amazon ECR, by tag or by digest: the only images Lambda runs. ASCII only,
# no whitespace: the registry host (account, region), a repository name as ECR allows it
# (lowercase components joined by `.`, `_`, `-`, separated by `/`), then a tag or a digest.
ECR_REGISTRY = (
    r"(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2})\.amazonaws\.com(?:\.cn)?"
)
ECR_REPOSITORY = r"(?P<repository>(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/){0,16}[a-z0-9]+(?:[._-][a-z0-9]+)*)"
IMAGE_URI = re.compile(
    rf"^{ECR_REGISTRY}/{ECR_REPOSITORY}"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@(?P<digest>sha256:[0-9a-f]{64}))\Z"
)
# A repository (registry host and name), as the deploy option imageRepositories names one.
REPOSITORY_URI = re.compile(rf"^{ECR_REGISTRY}/{ECR_REPOSITORY}\Z")
# ECR's longest repository name.
MAX_REPOSITORY_LENGTH = 256
ALIAS_NAME = re.compile(r"^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}\Z")
# The names of the aliases a run creates: RAM<size>, RAM<size>-<i> in cold-start mode; on an
# architecture other than the function's own (input `architectures`), RAM<size>-<arch>[-<i>].
RUN_ALIAS = re.compile(r"^RAM\d+(-(?:x86_64|arm64))?(-\d+)?\Z")


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
    """The validated execution input, defaults applied. Each field is declared once in INPUTS."""

    lambda_arn: str
    power_values: tuple[int, ...] | None = None
    num: int = 10
    # No payload sends {} (powertuning.payloads.no_payload); None is an explicit null, sent as null.
    payload: Any = field(default_factory=dict)
    weighted_payloads: tuple[WeightedPayload, ...] = ()
    payload_s3: str | None = None
    parallel_invocation: bool = False
    strategy: str = "cost"
    balanced_weight: float = BALANCED_WEIGHT_DEFAULT
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
    # None: the function's own architecture only.
    architectures: tuple[str, ...] | None = None
    # Container images: the image per architecture (None: the function's own, multi-architecture).
    image_uris: Mapping[str, str] | None = None

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
        values = {key.field: key.parse(data) for key in INPUTS}
        _check_combinations(data, values)
        # What the keys mean together: "auto" sizes, a weighted payload list.
        values["auto_power_values"] = data.get("powerValues") == AUTO
        if payloads.is_weighted(values["payload"]):
            values["weighted_payloads"] = payloads.parse_weighted(values["payload"], values["num"])
            values["payload"] = None
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The camelCase execution input, with every default written out."""
        out: dict[str, Any] = {}
        for key in INPUTS:
            value = key.render(self)
            if value is not None or (key.kind == "json" and key.written(self)):
                out[key.name] = value
        return out


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
]


def _always(_request: TuningRequest) -> bool:
    return True


def _inline_payload(request: TuningRequest) -> bool:
    # Written even when null (an explicit null is sent as null), never beside payloadS3.
    return request.payload_s3 is None


@dataclass(frozen=True)
class InputKey:
    """One execution input key, declared once: how it is parsed, checked and written back, its
    command-line flag, and what the README's input table says of it (tests/unit/test_readme.py)."""

    name: str
    kind: Kind
    # What the key does, for the flag's help (its range and default are added from below).
    help: str
    default: Any = None
    # The range of an "int", "number" or "sizes" key.
    low: float = 0
    high: float = 0
    choices: tuple[str, ...] = ()
    # A key of aws-lambda-power-tuning v4 (False: one of ours, marked **new** in the README).
    reference: bool = True
    # How the help says the default when it is not the value itself (None: "none").
    default_text: str | None = None
    metavar: str | None = None
    # The flag when it is not the key in kebab-case; None for lambdaARN, which each command names.
    flag: str | None = ""
    # Written back by to_dict only when this holds (and the value is not None).
    written: Callable[[TuningRequest], bool] = _always

    @property
    def field(self) -> str:
        """The TuningRequest field: the key in snake_case (lambdaARN -> lambda_arn)."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.name.replace("ARN", "Arn")).lower()

    def parse(self, data: Mapping[str, Any]) -> Any:
        """The key's value in `data`, checked on its own (combinations: _check_combinations)."""
        name, kind = self.name, self.kind
        if kind == "arn":
            return _arn(data, name, required=self.default_text == "required")
        if kind == "bool":
            return _bool(data, name, self.default)
        if kind == "int":
            return _int(data, name, self.default, int(self.low), int(self.high))
        if kind == "number":
            return _number(data, name, self.default, self.low, self.high)
        if kind == "choice":
            return _choice(data, name, self.choices)
        if kind == "names":
            return _string_list(data, name)
        if kind == "choices":
            return _choice_list(data, name, self.choices)
        if kind == "sizes":
            return None if data.get(name) == AUTO else _power_values(data.get(name))
        if kind == "ms":
            return _milliseconds(data, name)
        if kind == "s3":
            return _s3_uri(data, name)
        if kind == "images":
            return _image_uris(data, name)
        if kind == "alias":
            return _alias(data, name)
        return _sendable(data, name)

    def render(self, request: TuningRequest) -> Any:
        """The key's camelCase wire value in `request.to_dict()`; None leaves it out."""
        if not self.written(request):
            return None
        if self.kind == "sizes" and request.auto_power_values:
            return AUTO
        if self.kind == "json" and request.weighted_payloads:
            return [{"payload": w.payload, "weight": w.weight} for w in request.weighted_payloads]
        value = getattr(request, self.field)
        if isinstance(value, Mapping):
            return dict(value)
        return list(value) if isinstance(value, tuple) else value


def _adaptive(request: TuningRequest) -> bool:
    return request.sampling == "adaptive"


def _has_target(request: TuningRequest) -> bool:
    return request.max_duration_ms is not None


# Every execution input key, in the README's order: aws-lambda-power-tuning v4's, then ours.
INPUTS: Final[tuple[InputKey, ...]] = (
    InputKey("lambdaARN", "arn", "the function to tune", default_text="required", flag=None),
    InputKey(
        "powerValues",
        "sizes",
        "memory sizes to test",
        low=MIN_MEMORY_MB,
        high=MAX_MEMORY_MB,
        choices=("ALL", AUTO),
        default_text="the deployment's, "
        f"{','.join(str(v) for v in DEFAULT_POWER_VALUES)} unless changed at deploy",
        metavar="MB,MB,...|ALL|auto",
    ),
    InputKey("num", "int", "invocations per memory size", 10, MIN_NUM, MAX_NUM, metavar="N"),
    InputKey(
        "payload",
        "json",
        "event sent to the function, JSON or a plain string",
        {},
        metavar="JSON",
        written=_inline_payload,
    ),
    InputKey("payloadS3", "s3", "read the payload from S3", metavar="s3://BUCKET/KEY"),
    InputKey("parallelInvocation", "bool", "invoke a size's invocations concurrently", False),
    InputKey("strategy", "choice", "what to optimise", "cost", choices=STRATEGIES),
    InputKey(
        "balancedWeight",
        "number",
        "balanced strategy: 0 = fastest, 1 = cheapest",
        BALANCED_WEIGHT_DEFAULT,
        0.0,
        1.0,
        metavar="W",
    ),
    InputKey("autoOptimize", "bool", "apply the recommended memory to $LATEST", False),
    InputKey(
        "autoOptimizeAlias",
        "alias",
        "with --auto-optimize, point this alias at the recommended size",
        metavar="ALIAS",
    ),
    InputKey(
        "dryRun", "bool", "one invocation of the first size only, to check permissions and payload", False
    ),
    InputKey("preProcessorARN", "arn", "function invoked before each invocation", metavar="ARN"),
    InputKey("postProcessorARN", "arn", "function invoked after each invocation", metavar="ARN"),
    InputKey(
        "discardTopBottom", "number", "fraction trimmed from each end", 0.2, 0.0, MAX_DISCARD, metavar="F"
    ),
    InputKey(
        "sleepBetweenRunsMs",
        "int",
        "pause in ms after each sequential invocation",
        0,
        0,
        MAX_SLEEP_MS,
        metavar="MS",
    ),
    InputKey("disablePayloadLogs", "bool", "keep payloads out of logs and error messages", False),
    InputKey("includeOutputResults", "bool", "per-size stats in the output", False),
    InputKey("onlyColdStarts", "bool", "a fresh version per invocation, so every one is a cold start", False),
    InputKey(
        "allowedExceptions",
        "names",
        "error types that do not fail the tuning",
        (),
        default_text="none",
        metavar="TYPE,...",
    ),
    InputKey(
        "maxConcurrency",
        "int",
        "cap on parallel invocations per memory size",
        None,
        1,
        MAX_NUM,
        reference=False,
        default_text="unlimited",
        metavar="N",
    ),
    InputKey(
        "onError",
        "choice",
        "fail the run, or skip sizes that run out of memory or time",
        "fail",
        choices=ON_ERROR,
        reference=False,
    ),
    InputKey(
        "sampling",
        "choice",
        "fixed num per size, or adaptive rounds",
        "fixed",
        choices=SAMPLING,
        reference=False,
    ),
    InputKey(
        "confidence",
        "number",
        "adaptive: confidence to drop a size",
        DEFAULT_CONFIDENCE,
        MIN_CONFIDENCE,
        MAX_CONFIDENCE,
        reference=False,
        metavar="P",
        written=_adaptive,
    ),
    InputKey(
        "tolerance",
        "number",
        "adaptive: indifference zone, a fraction",
        DEFAULT_TOLERANCE,
        0.0,
        MAX_TOLERANCE,
        reference=False,
        metavar="F",
        written=_adaptive,
    ),
    InputKey(
        "maxDurationMs",
        "ms",
        "latency target: cost and balanced choose only among sizes whose --duration-statistic is at most "
        "this; the input key maxDurationMs",
        reference=False,
        metavar="MS",
        # `powertune run --max-duration-ms` is a gate on the result.
        flag="--latency-target-ms",
    ),
    InputKey(
        "durationStatistic",
        "choice",
        "which duration the latency target limits",
        "average",
        choices=DURATION_STATISTICS,
        reference=False,
        written=_has_target,
    ),
    InputKey(
        "architectures",
        "choices",
        "measure every size on each of x86_64,arm64 and recommend an (architecture, size) pair; "
        "not in powertune local",
        choices=ARCHITECTURES,
        reference=False,
        default_text="the function's own architecture only",
        metavar="ARCH,...",
    ),
    InputKey(
        "imageUris",
        "images",
        "for a container image (needed): the ECR image URI to measure on each architecture listed "
        "in architectures other than the function's own, as ARCH=URI,...",
        reference=False,
        metavar="ARCH=URI,...",
    ),
)
INPUT_KEYS: Final = tuple(key.name for key in INPUTS)
REFERENCE_KEYS: Final = tuple(key.name for key in INPUTS if key.reference)
NEW_KEYS: Final = tuple(key.name for key in INPUTS if not key.reference)


def _check_combinations(data: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    # What one key means for another; each key on its own is checked by InputKey.parse.
    if values["sampling"] != "adaptive":
        # The adaptive keys mean nothing to fixed sampling: reject them rather than ignore them.
        for key in ("confidence", "tolerance"):
            if key in data:
                raise InvalidInputError(f'{key} needs sampling: "adaptive" (it tunes when to stop sampling)')
        if data.get("powerValues") == AUTO:
            raise InvalidInputError(
                'powerValues "auto" needs sampling: "adaptive" (the search decides as it measures)'
            )
    # How many samples the race may keep is bounded with the rest of the state: powertuning/limits.py.
    if values["payload_s3"] is not None and "payload" in data:
        raise InvalidInputError("payload and payloadS3 are exclusive: give one of them")
    # With parallelInvocation the sleep has no effect, as in the reference tool (not an error).
    if values["max_concurrency"] is not None and not values["parallel_invocation"]:
        raise InvalidInputError(
            "maxConcurrency needs parallelInvocation: true (it caps parallel invocations)"
        )
    _check_balanced_weight(data, values)
    if values["auto_optimize_alias"] is not None:
        if not values["auto_optimize"]:
            raise InvalidInputError("autoOptimizeAlias needs autoOptimize: true")
        if values["dry_run"]:
            raise InvalidInputError(
                "autoOptimizeAlias cannot be used with dryRun: true (a dry run applies nothing)"
            )
    _check_latency_target(data, values)
    _check_architectures(values)


def _check_balanced_weight(data: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    # Only "balanced" weighs cost against speed: any other weight with "cost" or "speed" is a mistake
    # that would be ignored (as the reference tool ignores it). Exactly the default is accepted with
    # any strategy: the reference documents every key with its default, inputs written from that
    # table carry it, and to_dict writes it back for every request (docs/migrating.md).
    if "balancedWeight" not in data or values["strategy"] == "balanced":
        return
    if values["balanced_weight"] != BALANCED_WEIGHT_DEFAULT:
        raise InvalidInputError(
            f'balancedWeight {json.dumps(data["balancedWeight"])} needs strategy: "balanced" '
            f'(strategy "{values["strategy"]}" ignores the weight): set strategy "balanced" or remove '
            f"balancedWeight; only its default {BALANCED_WEIGHT_DEFAULT} is accepted with another strategy"
        )


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


def min_num_for(statistic: str) -> int:
    """The smallest `num` whose durations give a meaningful `statistic` (see MIN_TAIL_INVOCATIONS)."""
    q = QUANTILES.get(statistic)
    if q is None:
        return MIN_NUM
    # round(): 2 / (1 - 0.9) is 19.999... in floating point.
    return max(MIN_NUM, math.ceil(round(MIN_TAIL_INVOCATIONS / (1 - q), 9)))


def _check_latency_target(data: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    # maxDurationMs: the cheapest (or best balanced) size whose durationStatistic is at most this.
    statistic = values["duration_statistic"]
    if values["max_duration_ms"] is None:
        if "durationStatistic" in data:
            raise InvalidInputError(
                "durationStatistic needs maxDurationMs (it says which duration the target limits)"
            )
        return
    if values["sampling"] == "adaptive":
        # The race drops sizes on the strategy's objective alone; it could drop the cheapest size
        # that meets the target. Refused until the race honours the target.
        raise InvalidInputError(
            'maxDurationMs cannot be combined with sampling: "adaptive" yet (the race could drop the '
            'cheapest size that meets the target): use sampling: "fixed"'
        )
    needed = min_num_for(statistic)
    if values["num"] < needed:
        raise InvalidInputError(
            f"durationStatistic {statistic} needs num of at least {needed}, got num {values['num']}: with "
            f"fewer invocations a {statistic} is the slowest one or two of them, not a {statistic}"
        )


def _milliseconds(data: Mapping[str, Any], key: str) -> float | None:
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


def _s3_uri(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and (not isinstance(value, str) or not S3_URI.match(value)):
        raise InvalidInputError(f"{key} must look like s3://bucket/key, got {json.dumps(value)}")
    return value


def _alias(data: Mapping[str, Any], key: str) -> str | None:
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


def _image_uris(data: Mapping[str, Any], key: str) -> dict[str, str] | None:
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


def _choice_list(data: Mapping[str, Any], key: str, choices: Sequence[str]) -> tuple[str, ...] | None:
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


def _check_architectures(values: Mapping[str, Any]) -> None:
    # architectures: measure every size on each (powertuning/architectures.py switches the code).
    images = values["image_uris"]
    if images is not None:
        listed = values["architectures"] or ()
        if not listed:
            raise InvalidInputError(
                "imageUris needs architectures (it says which image to measure on each architecture)"
            )
        unlisted = [a for a in images if a not in listed]
        if unlisted:
            raise InvalidInputError(
                f"imageUris names {', '.join(unlisted)}, which architectures does not list "
                f"({', '.join(listed)}): give an image only for an architecture measured"
            )
    if values["architectures"] is None:
        return
    if values["sampling"] == "adaptive":
        raise InvalidInputError(
            'architectures cannot be combined with sampling: "adaptive" yet: use sampling: "fixed"'
        )
    if values["auto_optimize"]:
        # Changing the architecture is a deployment (code and layers), not a memory setting.
        raise InvalidInputError(
            "architectures cannot be combined with autoOptimize: true: the tuner applies memory only; "
            "deploy the recommended architecture yourself, then tune again to apply its memory"
        )


def _power_values(value: Any) -> tuple[int, ...] | None:
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


def _sendable(data: Mapping[str, Any], key: str) -> Any:
    # The reference tool's rule for a weighted list: see powertuning/payloads.py.
    payload = data[key] if key in data else payloads.no_payload()
    payloads.check_finite(payload, key)
    try:
        # A lone surrogate passes json.loads but cannot be sent: Lambda payloads are UTF-8.
        json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError) as exc:
        raise InvalidInputError(f"{key} must be sendable JSON (UTF-8, no NaN or Infinity): {exc}") from None
    return payload


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
RUN_VERSION_MARKER = re.compile(
    r"^powertuning (?P<run>[0-9a-f]{12}) RAM(?P<power>\d+)(-(?P<arch>x86_64|arm64))?(-\d+)?\Z"
)
RUN_ID = re.compile(r"^[0-9a-f]{12}\Z")
# Any description a run wrote ($LATEST while it publishes or optimizes, its versions).
RUN_MARKER = re.compile(r"^powertuning (?P<run>[0-9a-f]{12}) ")


@dataclass(frozen=True)
class OriginalCode:
    """The function's code when the run began, and where a copy of it is kept (input `architectures`).

    Recorded in the run table before the code is switched to another architecture, so every path
    that restores the function (cleanup, recovery, `powertune clean`) can put it back and verify it.
    """

    code_sha256: str
    # A zip: s3://<staging bucket>/<key>, a copy of the zip, checked against code_sha256 when made.
    staged: str | None = None
    # A container image: its URI, by digest when Lambda resolved one (the very same image).
    image_uri: str | None = None
    # The CodeSha256 of the code the run's own switches deploy on the other architectures, besides
    # code_sha256 (a zip moves the same package, so none; an image, the imageUris digests); None when
    # it cannot be known in advance (an image by tag, a run recorded before this was), so any code
    # then counts as the run's own.
    switched: tuple[str, ...] | None = None

    @property
    def location(self) -> str:
        """Where the original is restored from: the staged copy or the image."""
        return str(self.staged or self.image_uri)

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form."""
        out: dict[str, Any] = {"codeSha256": self.code_sha256}
        if self.staged is not None:
            out["staged"] = self.staged
        if self.image_uri is not None:
            out["imageUri"] = self.image_uri
        if self.switched is not None:
            out["switchedCodeSha256"] = list(self.switched)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OriginalCode:
        """Parse the wire form (the tuner's own): exactly one of a staged copy and an image."""
        staged, image = data.get("staged"), data.get("imageUri")
        if (staged is None) == (image is None):
            raise ValueError(f"original code needs one of staged and imageUri: {dict(data)!r}")
        if staged is not None and not S3_URI.match(str(staged)):
            raise ValueError(f"not an s3:// location: {staged!r}")
        if image is not None and not IMAGE_URI.match(str(image)):
            raise ValueError(f"not an ECR image URI: {image!r}")
        switched = data.get("switchedCodeSha256")
        return cls(
            code_sha256=str(data["codeSha256"]),
            staged=None if staged is None else str(staged),
            image_uri=None if image is None else str(image),
            switched=None if switched is None else tuple(str(s) for s in switched),
        )


@dataclass(frozen=True)
class RunState:
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
    # The architectures measured, the function's own first; () means its own only.
    architectures: tuple[str, ...] = ()
    # Set when another architecture is measured: the code to restore (architecture = the original).
    original_code: OriginalCode | None = None

    @property
    def measured_architectures(self) -> tuple[str, ...]:
        """The architectures every size is measured on, in publishing order."""
        return self.architectures or (self.architecture,)

    def slots(self, power_values: Sequence[int] | None = None) -> list[tuple[str, int]]:
        """(architecture, size) pairs in publishing order: every size on one architecture, then the next."""
        sizes = self.power_values if power_values is None else power_values
        return [(arch, power) for arch in self.measured_architectures for power in sizes]

    def arch_suffix(self, architecture: str) -> str:
        """ "" on the function's own architecture (RAM<size> as ever), "-arm64" or "-x86_64" otherwise."""
        return "" if architecture == self.architecture else f"-{architecture}"

    @property
    def marker_prefix(self) -> str:
        """How every description this run writes begins."""
        return f"{MARKER_PREFIX}{self.run_id} "

    def marker(self, power: int, architecture: str | None = None) -> str:
        """The description that marks $LATEST and the versions this run publishes."""
        return f"{self.marker_prefix}RAM{power}{self.arch_suffix(architecture or self.architecture)}"

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form; `targets` (one item per (size, architecture)) feeds the Map."""
        out: dict[str, Any] = {
            "functionArn": self.function_arn,
            "powerValues": list(self.power_values),
            "runId": self.run_id,
            "executionArn": self.execution_arn,
            "original": {"memorySize": self.original_memory, "description": self.original_description},
            "architecture": self.architecture,
            "sampling": self.sampling,
            "timeoutSeconds": self.timeout_s,
            "ephemeralStorageMB": self.ephemeral_storage_mb,
            "targets": [{"value": p, "architecture": a} for a, p in self.slots()],
        }
        if self.architectures:
            out["architectures"] = list(self.architectures)
        if self.original_code is not None:
            out["original"]["code"] = self.original_code.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunState:
        """Parse the wire form (the tuner's own: written by the Initializer)."""
        run_id = str(data["runId"])
        if not RUN_ID.match(run_id):
            raise ValueError(f"not a run id: {run_id!r}")
        architectures = tuple(str(a) for a in data.get("architectures", []))
        if not set(architectures) <= set(ARCHITECTURES):
            raise ValueError(f"not architectures: {architectures!r}")
        code = data["original"].get("code")
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
            architectures=architectures,
            original_code=None if code is None else OriginalCode.from_dict(code),
        )


@dataclass(frozen=True)
class PublishState:
    """The Publisher's progress: `$.publish`. Sizes published so far are `power_values[:index]`."""

    power_values: tuple[int, ...]
    index: int = 0
    # Sizes Lambda refused (above the account's memory limit; powerValues "auto" only).
    refused: tuple[int, ...] = ()
    # Input `architectures`: every size is published on each, in this order; () = the function's own.
    architectures: tuple[str, ...] = ()

    @property
    def slots(self) -> list[tuple[str | None, int]]:
        """(architecture, size) pairs to publish (architecture None: the function's own)."""
        return [(a, p) for a in (self.architectures or (None,)) for p in self.power_values]

    @property
    def done(self) -> bool:
        """True once every size has its version and alias."""
        return self.index >= len(self.slots)

    @property
    def published(self) -> tuple[int, ...]:
        """The sizes published so far."""
        return self.power_values[: self.index]

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form; `continue` drives the Publisher loop's Choice state."""
        out: dict[str, Any] = {
            "powerValues": list(self.power_values),
            "index": self.index,
            "refused": list(self.refused),
            "continue": not self.done,
        }
        if self.architectures:
            out["architectures"] = list(self.architectures)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PublishState:
        """Parse the wire form."""
        return cls(
            power_values=tuple(int(p) for p in data["powerValues"]),
            index=int(data["index"]),
            refused=tuple(int(p) for p in data.get("refused", [])),
            architectures=tuple(str(a) for a in data.get("architectures", [])),
        )


@dataclass(frozen=True)
class SizeResult:
    """What the Executor measured at one memory size.

    The items of `$.results` (fixed sampling) and of `$.round` (an adaptive batch, with its samples);
    the output's `stats` items (`output.SizeStats`, `$.analysis.stats`: there is no `$.stats` path)
    are their wire form without the state-only keys.
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
    # Input `architectures`: which one this size was measured on (None: the function's own only).
    architecture: str | None = None

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
        if self.architecture is not None:
            out["architecture"] = self.architecture
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


def finite_number(value: Any) -> float:
    """A finite number from a saved document (a string of one too: files get edited by hand)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def whole_number(value: Any) -> int:
    """A whole number from a saved document (see finite_number)."""
    number = finite_number(value)
    if number != int(number):
        raise ValueError(f"expected a whole number, got {value!r}")
    return int(number)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def auto_grid(max_memory: int = MAX_MEMORY_MB) -> tuple[int, ...]:
    """Sizes "auto" may try, up to `max_memory`."""
    return tuple(m for m in AUTO_GRID if MIN_MEMORY_MB <= m <= max_memory)


def auto_initial_sizes(max_memory: int = MAX_MEMORY_MB, strategy: str = "balanced") -> tuple[int, ...]:
    """First probes of "auto": a coarse ladder up to 1 vCPU; larger sizes only when the data asks.

    With CPU at most proportional to memory, a bigger size is never cheaper without a super-linear
    speed-up and a smaller one never faster: `cost` starts on the ladder's two lowest rungs and
    `speed` on its two highest (the walk climbs or descends from there when the data asks).
    """
    grid = auto_grid(max_memory)
    ladder = [m for i, m in enumerate(grid) if i % AUTO_LADDER_STEP == 0 and m <= MB_PER_VCPU]
    if grid and max_memory < MB_PER_VCPU and grid[-1] not in ladder:
        ladder.append(grid[-1])
    if strategy == "cost":
        return tuple(ladder[:2])
    if strategy == "speed":
        return tuple(ladder[-2:])
    return tuple(ladder)
