"""Fleet tuning: the fleet input, the functions it selects, and where the money is.

Pure: no AWS call here (powertuning/fleet_steps.py does the I/O with lambda_api). A fleet is tuned
by one execution of the fleet state machine, whose Distributed Map starts one ordinary tuning
execution per function; every child input is validated by `TuningRequest.from_dict`, the one
validator of the single-function tuner, so its messages are the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from powertuning.errors import FleetInputError, SelfTargetError
from powertuning.models import FUNCTION_ARN, FunctionRef, TuningRequest
from powertuning.pricing import DEFAULT_POWER_VALUES, lambda_price, step_functions_cost

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
# CloudWatch metrics window, and the month the savings are quoted for (AWS pricing's 730 hours).
METRICS_DAYS: Final = 14
DAYS_PER_MONTH: Final = 730 / 24
# The child's output must carry per-size stats: the savings compare the current and recommended sizes.
FLEET_CHILD_DEFAULTS: Final = {"autoOptimize": False, "includeOutputResults": True}
# Step Functions execution names: 1-80 characters.
MAX_EXECUTION_NAME: Final = 80


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

    @classmethod
    def from_configuration(cls, config: Mapping[str, Any], arn: str | None = None) -> FunctionInfo:
        """From a Lambda FunctionConfiguration; `arn` keeps the ARN as the caller wrote it (qualified)."""
        return cls(
            arn=arn or str(config["FunctionArn"]),
            name=str(config["FunctionName"]),
            memory_size=int(config.get("MemorySize", 128)),
            architecture=str((config.get("Architectures") or ["x86_64"])[0]),
            runtime=str(config.get("Runtime", "")),
            timeout_s=int(config.get("Timeout", 3)),
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
        _validate_tuning("defaults", {**defaults, "lambdaARN": _PLACEHOLDER_ARN})
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
            _validate_tuning(f"overrides for {arn}", {**defaults, **override, "lambdaARN": arn})
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
        merged = {**FLEET_CHILD_DEFAULTS, **self.defaults, **self.override(function_arn)}
        merged["lambdaARN"] = function_arn
        _validate_tuning(f"input for {function_arn}", merged)
        return merged


_PLACEHOLDER_ARN: Final = "arn:aws:lambda:us-east-1:123456789012:function:fleet-default"


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


# -- the selection --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FleetItem:
    """One function of the fleet, as the Distributed Map hands it to its item processor."""

    function: FunctionInfo
    execution_name: str
    tuning_input: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The item in the S3 item list (camelCase)."""
        return {
            "functionArn": self.function.arn,
            "executionName": self.execution_name,
            "memorySize": self.function.memory_size,
            "architecture": self.function.architecture,
            "input": dict(self.tuning_input),
        }


@dataclass(frozen=True)
class Selection:
    """The functions a fleet tunes, and those a selector matched but the fleet leaves out."""

    items: tuple[FleetItem, ...]
    excluded: tuple[dict[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The camelCase wire form (the items themselves go to S3)."""
        return {"count": len(self.items), "excluded": [dict(e) for e in self.excluded]}


def child_execution_name(fleet_execution: str, function_arn: str) -> str:
    """A name unique per fleet execution and function (not per ARN of it), readable in the console:
    fleet-<hash>-<name>."""
    digest = hashlib.sha256(f"{fleet_execution}\n{function_of(function_arn)}".encode()).hexdigest()[:12]
    name = FunctionRef.parse(function_arn).name
    return f"fleet-{digest}-{name}"[:MAX_EXECUTION_NAME]


def select(
    request: FleetRequest,
    found: Sequence[FunctionInfo],
    *,
    own_functions: Sequence[str],
    fleet_execution: str,
) -> Selection:
    """The fleet's items from the functions found; refuses what cannot be tuned, before anything starts.

    `found`: for a list, each listed function's configuration (in order); for a selector, every
    function that matched it. The tuner's own functions are refused when listed and left out (and
    reported) when a selector matches them.
    """
    own = {FunctionRef.parse(arn).unqualified for arn in own_functions if arn}
    chosen: list[FunctionInfo] = []
    excluded: list[dict[str, str]] = []
    for info in found:
        if info.unqualified in own:
            if request.selector is None:
                raise SelfTargetError(f"{info.arn} is one of the tuner's own functions, which it never tunes")
            excluded.append({"functionArn": info.arn, "reason": "one of the tuner's own functions"})
            continue
        chosen.append(info)
    if not chosen:
        what = json.dumps(request.selector.to_dict()) if request.selector else "the list"
        raise _fail(f"the selector {what} matched no function that can be tuned")
    functions = {info.unqualified for info in chosen}
    stray = [arn for arn in request.overrides if function_of(arn) not in functions]
    if stray:
        raise _fail(f"overrides name a function that is not in the fleet: {stray[0]}")
    items = tuple(
        FleetItem(info, child_execution_name(fleet_execution, info.arn), request.tuning_input(info.arn))
        for info in chosen
    )
    return Selection(items, tuple(excluded))


# -- where the money is ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """A function's traffic over the metrics window (CloudWatch Invocations sum, Duration average)."""

    invocations: float = 0.0
    average_duration_ms: float | None = None
    days: int = METRICS_DAYS

    @property
    def monthly_invocations(self) -> float:
        """Invocations in a 730-hour month at the window's rate."""
        return self.invocations * DAYS_PER_MONTH / self.days


def monthly_cost(usage: Usage, memory_mb: int, architecture: str, region: str) -> float:
    """A month of this traffic at this memory: the window's average duration, request fee included."""
    if usage.average_duration_ms is None or usage.invocations <= 0:
        return 0.0
    price = lambda_price(region, architecture)
    return usage.monthly_invocations * price.invocation_cost(usage.average_duration_ms, memory_mb)


def estimated_tuning_cost(
    info: FunctionInfo,
    tuning_input: Mapping[str, Any],
    usage: Usage,
    region: str,
    default_power_values: Sequence[int] = DEFAULT_POWER_VALUES,
) -> dict[str, float]:
    """An upper estimate of one tuning's cost, for `--plan`.

    Lambda: `num` invocations per size at the function's recent average duration (or its timeout when
    it had no traffic), as if more memory never made it faster (an I/O-bound function's case, the
    dearest). Step Functions: the fixed-sampling transitions (analysis.count_transitions with one
    Executor call per size).
    """
    request = TuningRequest.from_dict({**tuning_input, "lambdaARN": info.arn})
    sizes = request.resolved_power_values(tuple(default_power_values))
    duration = usage.average_duration_ms if usage.average_duration_ms else info.timeout_s * 1000.0
    price = lambda_price(region, info.architecture)
    lambda_cost = sum(request.invocations_per_size * price.invocation_cost(duration, size) for size in sizes)
    transitions = 1 + 2 * (len(sizes) + 1) + 1 + 3 * len(sizes) + 3
    return {"lambdaCost": lambda_cost, "stepFunctionsCost": step_functions_cost(transitions, region)}


@dataclass(frozen=True)
class FunctionOutcome:
    """One function's tuning as the fleet recorded it."""

    function_arn: str
    memory_size: int
    architecture: str
    status: str  # SUCCEEDED, FAILED or SKIPPED (already being tuned)
    execution_arn: str | None = None
    output: Mapping[str, Any] | None = None
    error: str | None = None
    cause: str | None = None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> FunctionOutcome:
        """From the item processor's output (`Tuned` or `NotTuned` state of fleet.asl.json)."""
        status = str(record.get("status", "FAILED"))
        error, cause = record.get("error"), record.get("cause")
        execution_arn = record.get("executionArn")
        if status != "SUCCEEDED":
            error, cause, child_arn = _child_failure(error, cause)
            execution_arn = execution_arn or child_arn
            status = "SKIPPED" if error == "RunInProgressError" else "FAILED"
        output = record.get("output")
        if isinstance(output, str):
            output = json.loads(output)
        return cls(
            function_arn=str(record["functionArn"]),
            memory_size=int(record.get("memorySize", 0)),
            architecture=str(record.get("architecture", "x86_64")),
            status=status,
            execution_arn=str(execution_arn) if execution_arn else None,
            output=output if isinstance(output, Mapping) else None,
            error=str(error) if error else None,
            cause=str(cause) if cause else None,
        )


def _child_failure(error: Any, cause: Any) -> tuple[Any, Any, Any]:
    """startExecution.sync:2 fails with States.TaskFailed and the child's DescribeExecution as Cause:
    the child's own Error and Cause are inside."""
    if isinstance(cause, str) and cause.startswith("{"):
        try:
            described = json.loads(cause)
        except json.JSONDecodeError:
            return error, cause, None
        if isinstance(described, Mapping):
            inner_error = described.get("Error", described.get("error"))
            inner_cause = described.get("Cause", described.get("cause"))
            arn = described.get("ExecutionArn", described.get("executionArn"))
            status = described.get("Status", described.get("status"))
            if inner_error or inner_cause:
                return inner_error, inner_cause, arn
            return error or f"States.{status or 'TaskFailed'}", f"the tuning execution ended {status}", arn
    return error, cause, None


@dataclass(frozen=True)
class Saving:
    """Where the money is, for one function."""

    function_arn: str
    memory_size: int
    recommended_memory: int
    invocations: float
    average_duration_ms: float | None
    current_monthly_cost: float
    recommended_monthly_cost: float
    tuning_cost: float
    basis: str
    execution_arn: str | None

    @property
    def monthly_saving(self) -> float:
        """Current minus recommended monthly cost (negative: the recommendation costs more, e.g. speed)."""
        return self.current_monthly_cost - self.recommended_monthly_cost

    def to_dict(self) -> dict[str, Any]:
        """camelCase, money rounded to 1/100 of a cent per month."""
        return {
            "functionArn": self.function_arn,
            "memorySize": self.memory_size,
            "recommendedMemory": self.recommended_memory,
            "invocations14d": self.invocations,
            "averageDurationMs": None
            if self.average_duration_ms is None
            else round(self.average_duration_ms, 3),
            "currentMonthlyCost": round(self.current_monthly_cost, 4),
            "recommendedMonthlyCost": round(self.recommended_monthly_cost, 4),
            "monthlySaving": round(self.monthly_saving, 4),
            "tuningCost": round(self.tuning_cost, 6),
            "basis": self.basis,
            "executionArn": self.execution_arn,
        }


def saving(outcome: FunctionOutcome, usage: Usage, region: str) -> Saving:
    """The saving of moving a tuned function to its recommended size, at its last 14 days' traffic.

    The current cost comes from CloudWatch (real traffic, current size). The recommended size's cost
    is the current one scaled by what the tuning measured at both sizes (same payload, so the ratio
    holds for the real traffic as far as the payload represents it); when the current size was not
    measured, it is the tuning's cost per invocation at the recommended size times the invocations.
    """
    output = outcome.output or {}
    recommended = int(output.get("power", outcome.memory_size))
    current = monthly_cost(usage, outcome.memory_size, outcome.architecture, region)
    by_size = {
        int(s["value"]): float(s["averagePrice"]) for s in output.get("stats", []) if "averagePrice" in s
    }
    if outcome.memory_size in by_size and recommended in by_size and by_size[outcome.memory_size] > 0:
        recommended_cost = current * by_size[recommended] / by_size[outcome.memory_size]
        basis = "measured ratio"
    else:
        recommended_cost = usage.monthly_invocations * float(output.get("cost", 0.0))
        basis = "tuning payload"
    machine = output.get("stateMachine", {})
    tuning = float(machine.get("executionCost", 0.0)) + float(machine.get("lambdaCost", 0.0))
    return Saving(
        function_arn=outcome.function_arn,
        memory_size=outcome.memory_size,
        recommended_memory=recommended,
        invocations=usage.invocations,
        average_duration_ms=usage.average_duration_ms,
        current_monthly_cost=current,
        recommended_monthly_cost=recommended_cost,
        tuning_cost=tuning,
        basis=basis,
        execution_arn=outcome.execution_arn,
    )


@dataclass(frozen=True)
class FleetSummary:
    """The fleet's result: savings sorted by what they save, then failures and skips with causes."""

    savings: tuple[Saving, ...]
    failed: tuple[FunctionOutcome, ...]
    skipped: tuple[FunctionOutcome, ...]
    excluded: tuple[Mapping[str, str], ...]
    tolerated_failure_percentage: float
    region: str

    @property
    def total(self) -> int:
        """Functions the fleet started a tuning for."""
        return len(self.savings) + len(self.failed) + len(self.skipped)

    @property
    def failed_percentage(self) -> float:
        """Share of the fleet's functions whose tuning failed (skipped ones are not failures)."""
        return 100.0 * len(self.failed) / self.total if self.total else 0.0

    @property
    def within_tolerance(self) -> bool:
        """False when more functions failed than toleratedFailurePercentage allows."""
        return self.failed_percentage <= self.tolerated_failure_percentage

    def to_dict(self) -> dict[str, Any]:
        """The summary JSON written to S3 (and what `powertune fleet --output json` prints)."""
        totals = {
            "functions": self.total,
            "succeeded": len(self.savings),
            "failed": len(self.failed),
            "skipped": len(self.skipped),
            "excluded": len(self.excluded),
            "currentMonthlyCost": round(sum(s.current_monthly_cost for s in self.savings), 4),
            "monthlySaving": round(sum(max(0.0, s.monthly_saving) for s in self.savings), 4),
            "tuningCost": round(sum(s.tuning_cost for s in self.savings), 6),
            "failedPercentage": round(self.failed_percentage, 2),
            "toleratedFailurePercentage": self.tolerated_failure_percentage,
            "withinTolerance": self.within_tolerance,
        }
        return {
            "region": self.region,
            "metricsDays": METRICS_DAYS,
            "totals": totals,
            "functions": [s.to_dict() for s in self.savings],
            "failed": [_failure(o) for o in self.failed],
            "skipped": [_failure(o) for o in self.skipped],
            "excluded": [dict(e) for e in self.excluded],
        }


def _failure(outcome: FunctionOutcome) -> dict[str, Any]:
    return {
        "functionArn": outcome.function_arn,
        "error": outcome.error,
        "cause": outcome.cause,
        "executionArn": outcome.execution_arn,
    }


def summarize(
    outcomes: Sequence[FunctionOutcome],
    usage: Mapping[str, Usage],
    *,
    region: str,
    tolerated_failure_percentage: float = DEFAULT_TOLERATED_FAILURE_PERCENTAGE,
    excluded: Sequence[Mapping[str, str]] = (),
) -> FleetSummary:
    """Rank the tuned functions by monthly saving (largest first); failures and skips keep their causes."""
    savings = [
        saving(o, usage.get(FunctionRef.parse(o.function_arn).unqualified, Usage()), region)
        for o in outcomes
        if o.status == "SUCCEEDED"
    ]
    savings.sort(key=lambda s: (-s.monthly_saving, s.function_arn))
    return FleetSummary(
        savings=tuple(savings),
        failed=tuple(o for o in outcomes if o.status == "FAILED"),
        skipped=tuple(o for o in outcomes if o.status == "SKIPPED"),
        excluded=tuple(excluded),
        tolerated_failure_percentage=tolerated_failure_percentage,
        region=region,
    )


def tolerance_cause(summary: Mapping[str, Any]) -> str:
    """The Cause of a fleet that failed more functions than it tolerates."""
    totals = summary["totals"]
    return (
        f"{totals['failed']} of {totals['functions']} functions failed ({totals['failedPercentage']}%), "
        f"more than toleratedFailurePercentage {totals['toleratedFailurePercentage']}; "
        "every function was still tuned or tried"
    )
