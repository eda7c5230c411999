"""The fleet input: `FleetRequest` (a list of functions or a `Selector`, the tuning defaults and
overrides, the fleet's limits), each function's `FunctionInfo`, and `function_of`.

Pure: no AWS call here (powertuning/fleet_steps.py does the I/O with lambda_api). A fleet is tuned
by one execution of the fleet state machine, whose Distributed Map starts one ordinary tuning
execution per function; every child input is validated by `TuningRequest.from_dict`, the one
validator of the single-function tuner, so its messages are the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from powertuning.arns import FUNCTION_ARN, FunctionRef
from powertuning.errors import FleetInputError
from powertuning.input_kinds import PRODUCTION_IF_AVAILABLE
from powertuning.inputs import TuningRequest

FLEET_KEYS: Final = (
    "functions",
    "selector",
    "defaults",
    "overrides",
    "maxConcurrency",
    "toleratedFailurePercentage",
)
SELECTOR_KEYS: Final = ("tags", "namePrefix", "runtime")
# Five tunings at once. Each may publish a version per size (UpdateFunctionConfiguration and
# PublishVersion count against the account's Lambda control-plane request rate, 15 per second per
# region by default) and, with parallelInvocation, run num x sizes invocations at once: 5 x 6 x 10 = 300
# of the default 1,000 concurrent executions of an account, leaving most of it to production.
DEFAULT_MAX_CONCURRENCY: Final = 5
MAX_CONCURRENCY: Final = 100
DEFAULT_TOLERATED_FAILURE_PERCENTAGE: Final = 100.0
# The child's output must carry per-size stats: the savings compare the current and recommended sizes.
FLEET_CHILD_DEFAULTS: Final = {"autoOptimize": False, "includeOutputResults": True}


def _fail(message: str) -> FleetInputError:
    return FleetInputError(message)


@dataclass(frozen=True)
class Selector:
    """Which functions of the account and region to tune: every criterion given must match."""

    tags: tuple[tuple[str, str], ...] = ()
    name_prefix: str | None = None
    runtime: str | None = None

    @classmethod
    def from_dict(cls, data: Any) -> Selector:
        """Validate `selector`: an object with at least one of tags, namePrefix, runtime."""
        data = _object(data, "selector", f"a JSON object with {_keys(SELECTOR_KEYS)}", SELECTOR_KEYS)
        tags = data.get("tags", {})
        if not isinstance(tags, Mapping) or not all(
            isinstance(k, str) and k and isinstance(v, str) for k, v in tags.items()
        ):
            raise _fail(
                'selector.tags must be an object of strings such as {"team": "payments"}, '
                f"got {json.dumps(tags)}"
            )
        prefix = data.get("namePrefix")
        if prefix is not None and (not isinstance(prefix, str) or not prefix):
            raise _fail(f"selector.namePrefix must be a non-empty string, got {json.dumps(prefix)}")
        runtime = data.get("runtime")
        if runtime is not None and (not isinstance(runtime, str) or not runtime):
            raise _fail(
                f"selector.runtime must be a runtime name such as python3.13, got {json.dumps(runtime)}"
            )
        selector = cls(tuple(sorted(tags.items())), prefix, runtime)
        if selector.empty:
            raise _fail(
                f"selector is empty: give at least one of {_keys(SELECTOR_KEYS)} "
                "(an empty selector would tune every function of the account)"
            )
        return selector

    @property
    def empty(self) -> bool:
        """True when no criterion is set."""
        return not (self.tags or self.name_prefix or self.runtime)

    @property
    def needs_tags(self) -> bool:
        """True when functions' tags must be read to decide."""
        return bool(self.tags)

    def matches_configuration(self, info: FunctionInfo) -> bool:
        """Name prefix and runtime (what ListFunctions tells)."""
        if self.name_prefix and not info.name.startswith(self.name_prefix):
            return False
        return not (self.runtime and info.runtime != self.runtime)

    def matches_tags(self, tags: Mapping[str, str]) -> bool:
        """Every tag of the selector, with its value."""
        return all(tags.get(key) == value for key, value in self.tags)

    def to_dict(self) -> dict[str, Any]:
        """The camelCase wire form."""
        out: dict[str, Any] = {}
        if self.tags:
            out["tags"] = dict(self.tags)
        if self.name_prefix:
            out["namePrefix"] = self.name_prefix
        if self.runtime:
            out["runtime"] = self.runtime
        return out


def _keys(keys: Sequence[str]) -> str:
    return ", ".join(keys)


def _object(data: Any, subject: str, expected: str, keys: Sequence[str]) -> Mapping[str, Any]:
    """`data` as an object of `keys` only, or the error naming `subject` and what is allowed."""
    if not isinstance(data, Mapping):
        raise _fail(f"{subject} must be {expected}, got {json.dumps(data)}")
    unknown = sorted(set(data) - set(keys))
    if unknown:
        raise _fail(f"{subject} has unknown key {unknown[0]!r}: allowed are {_keys(keys)}")
    return data


@dataclass(frozen=True)
class FunctionInfo:
    """What the fleet needs to know of a function: from GetFunctionConfiguration or ListFunctions."""

    arn: str
    name: str
    memory_size: int
    architecture: str = "x86_64"
    runtime: str = ""
    timeout_s: int = 3
    # LoggingConfig.LogGroup when it is not the default /aws/lambda/<name> (the tuner reads no other).
    custom_log_group: str | None = None

    @classmethod
    def from_configuration(cls, config: Mapping[str, Any], arn: str | None = None) -> FunctionInfo:
        """From a Lambda FunctionConfiguration; `arn` keeps the ARN as the caller wrote it (qualified)."""
        name = str(config["FunctionName"])
        group = (config.get("LoggingConfig") or {}).get("LogGroup")
        return cls(
            arn=arn or str(config["FunctionArn"]),
            name=name,
            memory_size=int(config.get("MemorySize", 128)),
            architecture=str((config.get("Architectures") or ["x86_64"])[0]),
            runtime=str(config.get("Runtime", "")),
            timeout_s=int(config.get("Timeout", 3)),
            custom_log_group=str(group) if group and group != f"/aws/lambda/{name}" else None,
        )

    @property
    def unqualified(self) -> str:
        """The ARN without alias or version (what CloudWatch metrics and the run table key on)."""
        return FunctionRef.parse(self.arn).unqualified


@dataclass(frozen=True)
class FleetRequest:
    """The validated fleet input: the functions (listed, or a selector), tuning defaults, overrides."""

    functions: tuple[str, ...] = ()
    selector: Selector | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    tolerated_failure_percentage: float = DEFAULT_TOLERATED_FAILURE_PERCENTAGE

    @classmethod
    def from_dict(cls, data: Any) -> FleetRequest:
        """Validate a fleet input; the defaults with `TuningRequest.from_dict`, as the Initializer does."""
        data = _object(data, "the fleet input", "a JSON object", FLEET_KEYS)
        if ("functions" in data) == ("selector" in data):
            raise _fail(
                "give either functions (a list of function ARNs) or selector (tags, namePrefix, runtime)"
            )
        functions: tuple[str, ...] = ()
        selector = None
        if "functions" in data:
            functions = _function_list(data["functions"])
        else:
            selector = Selector.from_dict(data["selector"])
        defaults = data.get("defaults", {})
        if not isinstance(defaults, Mapping):
            raise _fail(f"defaults must be a JSON object of tuning input keys, got {json.dumps(defaults)}")
        if "lambdaARN" in defaults:
            raise _fail("defaults must not hold lambdaARN: list the functions in functions or selector")
        _validate_tuning("defaults", {**_merge(defaults, {}), "lambdaARN": _PLACEHOLDER_ARN})
        overrides = data.get("overrides", {})
        if not isinstance(overrides, Mapping) or not all(isinstance(v, Mapping) for v in overrides.values()):
            raise _fail(
                f"overrides must map function ARNs to tuning input objects, got {json.dumps(overrides)}"
            )
        for arn, override in overrides.items():
            if not isinstance(arn, str) or FUNCTION_ARN.match(arn) is None:
                raise _fail(f"overrides key must be a Lambda function ARN, got {json.dumps(arn)}")
            if "lambdaARN" in override:
                raise _fail(f"overrides for {arn} must not hold lambdaARN: the key names the function")
            _validate_tuning(f"overrides for {arn}", {**_merge(defaults, override), "lambdaARN": arn})
        _once("overrides", list(overrides), "name")
        if selector is None:
            listed = {function_of(arn) for arn in functions}
            stray = [arn for arn in overrides if function_of(arn) not in listed]
            if stray:
                raise _fail(f"overrides name a function that is not in the fleet: {stray[0]}")
        concurrency = data.get("maxConcurrency", DEFAULT_MAX_CONCURRENCY)
        if (
            isinstance(concurrency, bool)
            or not isinstance(concurrency, int)
            or not 1 <= concurrency <= MAX_CONCURRENCY
        ):
            raise _fail(
                f"maxConcurrency must be an integer from 1 to {MAX_CONCURRENCY}, "
                f"got {json.dumps(concurrency)}"
            )
        tolerated = data.get("toleratedFailurePercentage", DEFAULT_TOLERATED_FAILURE_PERCENTAGE)
        if isinstance(tolerated, bool) or not isinstance(tolerated, int | float) or not 0 <= tolerated <= 100:
            raise _fail(
                f"toleratedFailurePercentage must be a number from 0 to 100, got {json.dumps(tolerated)}"
            )
        return cls(
            functions,
            selector,
            dict(defaults),
            {k: dict(v) for k, v in overrides.items()},
            concurrency,
            float(tolerated),
        )

    def to_dict(self) -> dict[str, Any]:
        """The camelCase wire form (what `from_dict` reads back)."""
        out: dict[str, Any] = {}
        if self.selector is not None:
            out["selector"] = self.selector.to_dict()
        else:
            out["functions"] = list(self.functions)
        if self.defaults:
            out["defaults"] = dict(self.defaults)
        if self.overrides:
            out["overrides"] = {k: dict(v) for k, v in self.overrides.items()}
        out["maxConcurrency"] = self.max_concurrency
        out["toleratedFailurePercentage"] = self.tolerated_failure_percentage
        return out

    def override(self, function_arn: str) -> Mapping[str, Any]:
        """The override of this ARN's function, whichever ARN of the function keys it (`{}` if none)."""
        function = function_of(function_arn)
        return next((v for k, v in self.overrides.items() if function_of(k) == function), {})

    def tuning_input(self, function_arn: str) -> dict[str, Any]:
        """One function's tuning input: the fleet's defaults, then `defaults`, then its override."""
        merged = {**FLEET_CHILD_DEFAULTS, **_merge(self.defaults, self.override(function_arn))}
        merged["lambdaARN"] = function_arn
        _validate_tuning(f"input for {function_arn}", merged)
        return merged


_PLACEHOLDER_ARN: Final = "arn:aws:lambda:us-east-1:123456789012:function:fleet-default"
RATE_KEY: Final = "coldStartRate"


def takes_implicit_rate(tuning_input: Mapping[str, Any]) -> bool:
    """Whether a function whose fleet input says nothing of coldStartRate gets its own production rate:
    not with onlyColdStarts (no warm invocation to blend), the adaptive race (it compares warm
    invocations) or a dry run (nothing is measured, so no query is spent)."""
    return not (
        tuning_input.get("onlyColdStarts") is True
        or tuning_input.get("sampling") == "adaptive"
        or tuning_input.get("dryRun") is True
    )


def _merge(defaults: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A function's input: the defaults, then its override. coldStartRate unset anywhere: the
    function's own production rate where its logs hold one ("production-if-available"); null (in
    defaults or an override): no rate, and an override's null drops the defaults' coldStartsPerSize."""
    merged = {**defaults, **override}
    if RATE_KEY not in merged:
        if takes_implicit_rate(merged):
            merged[RATE_KEY] = PRODUCTION_IF_AVAILABLE
    elif merged[RATE_KEY] is None:
        del merged[RATE_KEY]
        if RATE_KEY in override and override.get("coldStartsPerSize") is None:
            merged.pop("coldStartsPerSize", None)
    return merged


def _validate_tuning(where: str, data: Mapping[str, Any]) -> TuningRequest:
    try:
        return TuningRequest.from_dict(data)
    except FleetInputError:
        raise
    except Exception as exc:  # InvalidInputError: the single-function tuner's own message
        raise _fail(f"{where}: {exc}") from exc


def _function_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise _fail(f"functions must be a non-empty list of Lambda function ARNs, got {json.dumps(value)}")
    for arn in value:
        if not isinstance(arn, str) or FUNCTION_ARN.match(arn) is None:
            raise _fail(
                "functions must hold Lambda function ARNs such as "
                f"arn:aws:lambda:us-east-1:123456789012:function:name, got {json.dumps(arn)}"
            )
    _once("functions", value, "lists")
    return tuple(value)


def function_of(arn: str) -> str:
    """The function an entry names: its unqualified ARN, whatever alias or version qualifies it.

    The tuner tunes a function (one run per function, versions published from `$LATEST`), so
    `f`, `f:$LATEST`, `f:prod` and `f:3` are one fleet entry: compared, de-duplicated and matched
    to overrides as `f`.
    """
    return FunctionRef.parse(arn).unqualified


def _once(where: str, arns: Sequence[str], verb: str) -> None:
    """Refuse two entries of `where` that name one function (as the same ARN or two of its ARNs)."""
    seen: dict[str, str] = {}
    for arn in arns:
        function = function_of(arn)
        if function not in seen:
            seen[function] = arn
            continue
        first = seen[function]
        same = "twice" if first == arn else f"twice, as {first} and {arn}"
        raise _fail(
            f"{where} {verb} {function} {same}: a fleet tunes each function once, "
            "whichever alias or version names it; list it once"
        )
