"""Where the money is: each function's traffic and monthly cost, the saving of its recommended size,
the estimated cost of a tuning (`powertune fleet --plan`), and the ranked `FleetSummary`.

Pure, like fleet_request.py: the metrics come from powertuning/fleet_steps.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from powertuning.arns import FunctionRef
from powertuning.fleet_request import DEFAULT_TOLERATED_FAILURE_PERCENTAGE, FunctionInfo
from powertuning.inputs import TuningRequest
from powertuning.pricing import DEFAULT_POWER_VALUES, lambda_price, logs_insights_cost, step_functions_cost

# CloudWatch metrics window, and the month the savings are quoted for (AWS pricing's 730 hours).
METRICS_DAYS: Final = 14
DAYS_PER_MONTH: Final = 730 / 24


@dataclass(frozen=True)
class Usage:
    """A function's traffic over the metrics window (CloudWatch Invocations sum, Duration average)."""

    invocations: float = 0.0
    average_duration_ms: float | None = None
    days: int = METRICS_DAYS
    # The log group's IncomingBytes over the window (read for `--plan` only; None: unknown).
    log_bytes: float | None = None

    @property
    def monthly_invocations(self) -> float:
        """Invocations in a 730-hour month at the window's rate."""
        return self.invocations * DAYS_PER_MONTH / self.days


def monthly_cost(
    usage: Usage, memory_mb: int, architecture: str, region: str, monthly_gb_seconds: float | None = None
) -> float:
    """A month of this traffic at this memory: the window's average duration, request fee included;
    with `monthly_gb_seconds` (the fleet's `defaults.monthlyGbSeconds`), at the account's tier."""
    if usage.average_duration_ms is None or usage.invocations <= 0:
        return 0.0
    price = lambda_price(region, architecture, monthly_gb_seconds=monthly_gb_seconds)
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


def logs_insights_estimate(
    info: FunctionInfo, tuning_input: Mapping[str, Any], usage: Usage, region: str
) -> dict[str, Any]:
    """The Logs Insights query a tuning at a production rate runs, for `--plan`: whether it runs, the
    bytes it scans (the log group's IncomingBytes over the 14 days) and what that costs (None: unknown).
    """
    request = TuningRequest.from_dict({**tuning_input, "lambdaARN": info.arn})
    if not request.reads_production_rate:
        return {"query": False, "cost": 0.0, "note": "no production rate asked"}
    if info.custom_log_group is not None:
        return {
            "query": False,
            "cost": 0.0,
            "customLogGroup": info.custom_log_group,
            "note": f"logs to the custom log group {info.custom_log_group}: not queried",
        }
    group = f"/aws/lambda/{info.name}"
    if usage.log_bytes is None:
        return {
            "query": True,
            "logGroup": group,
            "scannedBytes": None,
            "cost": None,
            "note": "no IncomingBytes datapoint in 14 days: bytes scanned unknown",
        }
    cost = logs_insights_cost(region, usage.log_bytes)
    return {
        "query": True,
        "logGroup": group,
        "scannedBytes": usage.log_bytes,
        "cost": cost,
        "note": "IncomingBytes over 14 days"
        + ("" if cost is not None else ": no price known in this region"),
    }


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
    # The rate the tuning priced cold starts at, or why it had none (None: no rate was asked for).
    cold_start: Mapping[str, Any] | None = None

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
            **({} if self.cold_start is None else {"coldStart": dict(self.cold_start)}),
        }


def saving(
    outcome: FunctionOutcome, usage: Usage, region: str, monthly_gb_seconds: float | None = None
) -> Saving:
    """The saving of moving a tuned function to its recommended size, at its last 14 days' traffic.

    The current cost comes from CloudWatch (real traffic, current size). The recommended size's cost
    is the current one scaled by what the tuning measured at both sizes (same payload, so the ratio
    holds for the real traffic as far as the payload represents it); when the current size was not
    measured, it is the tuning's cost per invocation at the recommended size times the invocations.
    """
    output = outcome.output or {}
    recommended = int(output.get("power", outcome.memory_size))
    current = monthly_cost(usage, outcome.memory_size, outcome.architecture, region, monthly_gb_seconds)
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
        cold_start=cold_start_of(output),
    )


def cold_start_of(output: Mapping[str, Any]) -> dict[str, Any] | None:
    """What a tuning's output says of its cold-start rate: `{rate, source, invocations?, coldStarts?}`,
    `{rate: null, unavailable}` ("production-if-available" with no rate to read), or None (none asked)."""
    cold = output.get("coldStart")
    if isinstance(cold, Mapping) and cold.get("rate") is not None:
        kept = ("rate", "source", "invocations", "coldStarts")
        return {k: cold[k] for k in kept if cold.get(k) is not None}
    if output.get("coldStartUnavailable") is not None:
        return {"rate": None, "unavailable": str(output["coldStartUnavailable"])}
    return None


def cold_start_text(cold: Mapping[str, Any] | None) -> str:
    """A summary row's rate in words: "4.00% (production)", "none: <why>", or "" (none asked)."""
    if cold is None:
        return ""
    if cold.get("rate") is None:
        return f"none: {cold.get('unavailable', 'not read')}"
    return f"{100 * float(cold['rate']):.2f}% ({cold.get('source', 'input')})"


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
    monthly_gb_seconds: float | None = None,
) -> FleetSummary:
    """Rank the tuned functions by monthly saving (largest first); failures and skips keep their causes.

    `monthly_gb_seconds`: the account's usage, taken once for every function (its marginal tier)."""
    savings = [
        saving(
            o, usage.get(FunctionRef.parse(o.function_arn).unqualified, Usage()), region, monthly_gb_seconds
        )
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
