"""The execution input's keys, declared once: `INPUTS`, one `InputKey` per key (how it is parsed,
checked and written back, its flag and what the README says of it). `inputs.TuningRequest.from_dict`
parses by this table; `cli.options` builds the flags from it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from powertuning import input_kinds as kinds
from powertuning.input_kinds import (
    AUTO,
    BALANCED_WEIGHT_DEFAULT,
    DEFAULT_CONFIDENCE,
    DEFAULT_TOLERANCE,
    DURATION_STATISTICS,
    MAX_COLD_STARTS_PER_SIZE,
    MAX_CONFIDENCE,
    MAX_DISCARD,
    MAX_NUM,
    MAX_SLEEP_MS,
    MAX_TOLERANCE,
    MIN_CONFIDENCE,
    MIN_NUM,
    ON_ERROR,
    PRODUCTION,
    PRODUCTION_IF_AVAILABLE,
    SAMPLING,
    STRATEGIES,
    Kind,
)
from powertuning.payloads import WeightedPayload
from powertuning.pricing import ARCHITECTURES, DEFAULT_POWER_VALUES, MAX_MEMORY_MB, MIN_MEMORY_MB


class Request(Protocol):
    """What writing a key back reads of a request (an `inputs.TuningRequest`, which imports this)."""

    @property
    def payload_s3(self) -> str | None: ...
    @property
    def sampling(self) -> str: ...
    @property
    def max_duration_ms(self) -> float | None: ...
    @property
    def auto_power_values(self) -> bool: ...
    @property
    def weighted_payloads(self) -> tuple[WeightedPayload, ...]: ...
    @property
    def prices_cold_starts(self) -> bool: ...


def _always(_request: Request) -> bool:
    return True


def _inline_payload(request: Request) -> bool:
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
    written: Callable[[Request], bool] = _always

    @property
    def field(self) -> str:
        """The Request field: the key in snake_case (lambdaARN -> lambda_arn)."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.name.replace("ARN", "Arn")).lower()

    def parse(self, data: Mapping[str, Any]) -> Any:
        """The key's value in `data`, checked on its own (combinations: _check_combinations)."""
        return KIND_PARSERS[self.kind](self, data)

    def render(self, request: Request) -> Any:
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


def _adaptive(request: Request) -> bool:
    return request.sampling == "adaptive"


def _has_target(request: Request) -> bool:
    return request.max_duration_ms is not None


def _has_rate(request: Request) -> bool:
    return request.prices_cold_starts


def _sizes(key: InputKey, data: Mapping[str, Any]) -> Any:
    return None if data.get(key.name) == AUTO else kinds.power_values(data.get(key.name))


# Each kind's parser: the key's declaration and the input -> the value (input_kinds checks it).
KIND_PARSERS: Final[Mapping[Kind, Callable[[InputKey, Mapping[str, Any]], Any]]] = {
    "arn": lambda key, data: kinds.arn(data, key.name, required=key.default_text == "required"),
    "bool": lambda key, data: kinds.boolean(data, key.name, key.default),
    "int": lambda key, data: kinds.integer(data, key.name, key.default, int(key.low), int(key.high)),
    "number": lambda key, data: kinds.number(data, key.name, key.default, key.low, key.high),
    "choice": lambda key, data: kinds.choice(data, key.name, key.choices),
    "names": lambda key, data: kinds.string_list(data, key.name),
    "choices": lambda key, data: kinds.choice_list(data, key.name, key.choices),
    "sizes": _sizes,
    "ms": lambda key, data: kinds.milliseconds(data, key.name),
    "s3": lambda key, data: kinds.s3_uri(data, key.name),
    "images": lambda key, data: kinds.image_uris(data, key.name),
    "alias": lambda key, data: kinds.alias(data, key.name),
    "rate": lambda key, data: kinds.cold_start_rate(data, key.name),
    "amount": lambda key, data: kinds.amount(data, key.name),
    "json": lambda key, data: kinds.sendable(data, key.name),
}


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
    InputKey(
        "coldStartRate",
        "rate",
        'the share of invocations that are cold starts, 0-1, or "production" (the function\'s own over '
        "the last 14 days, from its log group): each size is priced at (1 - rate) x warm + rate x cold, "
        f'INIT billed; "{PRODUCTION_IF_AVAILABLE}": the production rate, or none (and why) when the logs '
        "hold none or are in a custom log group",
        reference=False,
        default_text="none: cold starts are trimmed away, as the reference tool does",
        metavar=f"RATE|{PRODUCTION}",
    ),
    InputKey(
        "coldStartsPerSize",
        "int",
        "with coldStartRate: cold starts measured per size, each on a fresh version",
        None,
        1,
        MAX_COLD_STARTS_PER_SIZE,
        reference=False,
        default_text="1 with coldStartRate",
        metavar="N",
        written=_has_rate,
    ),
    InputKey(
        "monthlyGbSeconds",
        "amount",
        "the account's Lambda GB-seconds a month: duration priced at its marginal tier",
        reference=False,
        default_text="none: the first tier's price",
        metavar="GBS",
    ),
)
INPUT_KEYS: Final = tuple(key.name for key in INPUTS)
REFERENCE_KEYS: Final = tuple(key.name for key in INPUTS if key.reference)
NEW_KEYS: Final = tuple(key.name for key in INPUTS if not key.reference)
