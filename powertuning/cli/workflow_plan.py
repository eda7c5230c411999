"""`powertune workflow --plan`: what tuning a workflow's functions would cost, starting nothing.

Each distinct function is priced as `powertune fleet --plan` prices one (fleet_summary.
estimated_tuning_cost: `num` invocations per size at its recent CloudWatch average duration, else
its timeout, as if memory never made it faster; the tuner's fixed-sampling transitions), with the
child tuning input the workflow tuner would give it (WorkflowPlan.tuning_input).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from powertuning import fleet_steps, lambda_api
from powertuning.arns import FunctionRef
from powertuning.cli.output import render_rows
from powertuning.fleet_request import FunctionInfo
from powertuning.fleet_summary import Usage, estimated_tuning_cost
from powertuning.inputs import TuningRequest
from powertuning.report.units import ms
from powertuning.workflow.graph import fixed_steps
from powertuning.workflow.plan import WorkflowPlan


@dataclass(frozen=True)
class PricedFunction:
    """One function of the plan with its child tuning's estimated cost."""

    arn: str
    memory_mb: int
    architecture: str
    calls_per_execution: float
    payload_source: str
    power_values: tuple[int, ...]
    invocations: int
    duration_basis: str
    lambda_cost: float
    step_functions_cost: float

    @property
    def cost(self) -> float:
        """Lambda plus Step Functions."""
        return self.lambda_cost + self.step_functions_cost

    def to_dict(self) -> dict[str, Any]:
        return {
            "functionArn": self.arn,
            "memorySize": self.memory_mb,
            "architecture": self.architecture,
            "callsPerExecution": self.calls_per_execution,
            "payloadSource": self.payload_source,
            "powerValues": list(self.power_values),
            "invocations": self.invocations,
            "durationBasis": self.duration_basis,
            "estimatedTuningCost": round(self.cost, 6),
        }


@dataclass(frozen=True)
class PricedPlan:
    """The plan's functions priced, and what the model would hold fixed."""

    plan: WorkflowPlan
    functions: tuple[PricedFunction, ...]

    @property
    def total_cost(self) -> float:
        """Every child tuning's estimated cost."""
        return sum(f.cost for f in self.functions)

    def to_dict(self) -> dict[str, Any]:
        """What `--plan --output json` prints."""
        request = self.plan.request
        return {
            "stateMachineArn": request.state_machine_arn,
            "executions": list(self.plan.executions),
            "maxDurationMs": request.max_duration_ms,
            "durationStatistic": request.duration_statistic,
            "observedMs": list(self.plan.observed_ms),
            "functions": [f.to_dict() for f in self.functions],
            "fixed": [
                {"state": s.name, "reason": s.reason, "ms": _mean(s.samples_ms)}
                for s in fixed_steps(self.plan.graph)
            ],
            "totalEstimatedTuningCost": round(self.total_cost, 6),
        }

    def format(self) -> str:
        """The plan as text: a row per function, what is fixed, the total; says nothing was started."""
        rows = [
            (
                FunctionRef.parse(f.arn).name,
                f"{f.memory_mb} MB",
                f"{f.calls_per_execution:g}",
                f.payload_source,
                f"{len(f.power_values)}",
                f"{f.invocations:,}",
                f"${f.cost:.4f}",
                f.duration_basis,
            )
            for f in self.functions
        ]
        table = render_rows(
            (
                "Function",
                "Memory",
                "Calls/execution",
                "Payload",
                "Sizes",
                "Invocations",
                "Tuning cost (est.)",
                "Duration basis",
            ),
            rows,
            (False, True, True, False, True, True, True, False),
        )
        request = self.plan.request
        observed = self.plan.observed_ms
        lines = [
            table,
            "",
            f"Target: {request.duration_statistic} end-to-end duration at most "
            f"{ms(request.max_duration_ms)}; read from {len(self.plan.executions)} execution(s)"
            + (f" (observed {ms(_mean(observed))} on average)" if observed else ""),
        ]
        fixed = fixed_steps(self.plan.graph)
        if fixed:
            lines.append(
                "Held fixed: " + "; ".join(f"{s.name} ({s.reason}, {ms(_mean(s.samples_ms))})" for s in fixed)
            )
        lines.append(
            f"\n{len(self.functions)} functions; tuning them costs at most about ${self.total_cost:.4f}. "
            "Nothing was started."
        )
        return "\n".join(lines)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def price_plan(plan: WorkflowPlan, *, lambda_client: Any, cloudwatch: Any) -> PricedPlan:
    """Price each function's child tuning (its configuration and 14 days of metrics are read)."""
    usage = fleet_steps.usage(cloudwatch, [f.arn for f in plan.functions]) if plan.functions else {}
    priced = []
    for planned in plan.functions:
        config = lambda_api.get_configuration(lambda_client, planned.arn)
        info = FunctionInfo.from_configuration(config, arn=planned.arn)
        used = usage.get(FunctionRef.parse(planned.arn).unqualified, Usage())
        tuning_input = plan.tuning_input(planned)
        request = TuningRequest.from_dict(tuning_input)
        sizes = request.resolved_power_values()
        cost = estimated_tuning_cost(info, tuning_input, used, plan.region)
        basis = (
            f"{ms(used.average_duration_ms)} (CloudWatch, 14 days)"
            if used.average_duration_ms
            else f"timeout {info.timeout_s} s (no recent traffic)"
        )
        priced.append(
            PricedFunction(
                arn=planned.arn,
                memory_mb=planned.memory_mb,
                architecture=planned.architecture,
                calls_per_execution=planned.calls_per_execution,
                payload_source=planned.payload_source,
                power_values=sizes,
                invocations=request.invocations_per_size * len(sizes),
                duration_basis=basis,
                lambda_cost=cost["lambdaCost"],
                step_functions_cost=cost["stepFunctionsCost"],
            )
        )
    return PricedPlan(plan=plan, functions=tuple(priced))
