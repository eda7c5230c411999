"""The workflow tuner's result: `WorkflowResult` (the execution's output, what the CLI prints) and
`recommend`, which turns the plan and the child tunings into it.

Wire form (camelCase): {met, statistic, maxDurationMs, current: {durationMs, costPerExecution,
observedMs}, recommended: {durationMs, costPerExecution}, functions: [...], criticalPath, fixed,
steps, solver: {method, evaluated, maxGapPct, seconds}, stateTransitions, executions}.

How `recommend` gets there (docs/workflow.md has the model in full):
- each function's options are the sizes its child tuning measured (`stats` items without errors),
  each a distribution (duration.py) and a cost per call (the item's averagePrice: the request fee
  and the billed duration, as the tuner priced them);
- the current size is one of them when it was measured; otherwise its distribution is the
  quantile-wise blend of the two measured neighbours, linear in 1/memory (exact for CPU-bound time
  and for time that does not scale), priced at the blended mean (`currentEstimate` "interpolated"),
  or, outside the measured range, the nearest measured size's distribution priced at the current
  memory (`currentEstimate` "nearest"): an estimate, never presented as measured;
- a function whose tuning failed under onError "skip" keeps its size, and its states keep the times
  the history showed (`tuned` false, `error` the cause);
- the solver (solver.py) picks; the recommended assignment's simulation gives each state's share of
  the time and the critical path (the named states on the slowest path in most draws).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from powertuning.errors import ResultFormatError, WorkflowModelError, WorkflowTuningError
from powertuning.output import TuningOutput
from powertuning.pricing import lambda_price, transition_price
from powertuning.wire import finite_number
from powertuning.workflow import graph
from powertuning.workflow.duration import Duration
from powertuning.workflow.plan import PlannedFunction, WorkflowPlan
from powertuning.workflow.simulate import Option, Simulation, expected_calls, statistic
from powertuning.workflow.solver import DEFAULT_SECONDS, solve


@dataclass(frozen=True)
class Prediction:
    """The model's end-to-end figures for one assignment of sizes: the statistic's value (ms) and the
    cost of one workflow execution (Lambda + state transitions); `observed_ms` is the same statistic
    over the executions the history showed (current only; None when none was read)."""

    duration_ms: float
    cost_per_execution: float
    observed_ms: float | None = None

    def to_dict(self, *, observed: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"durationMs": self.duration_ms, "costPerExecution": self.cost_per_execution}
        if observed:
            out["observedMs"] = self.observed_ms
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Prediction:
        observed = data.get("observedMs")
        return cls(
            duration_ms=finite_number(data["durationMs"]),
            cost_per_execution=finite_number(data["costPerExecution"]),
            observed_ms=None if observed is None else finite_number(observed),
        )


@dataclass(frozen=True)
class FunctionPick:
    """One function: its size now and the size recommended, the cost of its calls in one workflow
    execution at the recommended size, and its share of the end-to-end time (on the slowest path).

    `tuned` false: its child tuning failed (onError "skip"; `error` says why) and it keeps its size.
    `current_estimate`: "interpolated" or "nearest" when the current size was not among the sizes
    measured and its figures were derived from the measured ones (None: measured).
    """

    function_arn: str
    current_memory: int
    recommended_memory: int
    architecture: str
    cost_per_execution: float
    share_of_time: float
    tuned: bool = True
    error: str | None = None
    current_estimate: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "functionArn": self.function_arn,
            "currentMemory": self.current_memory,
            "recommendedMemory": self.recommended_memory,
            "architecture": self.architecture,
            "costPerExecution": self.cost_per_execution,
            "shareOfTime": self.share_of_time,
            "tuned": self.tuned,
        }
        if self.error is not None:
            out["error"] = self.error
        if self.current_estimate is not None:
            out["currentEstimate"] = self.current_estimate
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FunctionPick:
        return cls(
            function_arn=str(data["functionArn"]),
            current_memory=int(data["currentMemory"]),
            recommended_memory=int(data["recommendedMemory"]),
            architecture=str(data["architecture"]),
            cost_per_execution=finite_number(data["costPerExecution"]),
            share_of_time=finite_number(data["shareOfTime"]),
            tuned=bool(data.get("tuned", True)),
            error=None if data.get("error") is None else str(data["error"]),
            current_estimate=None if data.get("currentEstimate") is None else str(data["currentEstimate"]),
        )


@dataclass(frozen=True)
class FixedState:
    """A state the tuner does not size, with why and its mean observed time per visit."""

    state: str
    reason: str
    ms: float

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "reason": self.reason, "ms": self.ms}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FixedState:
        return cls(str(data["state"]), str(data["reason"]), finite_number(data["ms"]))


@dataclass(frozen=True)
class Step:
    """One named state of the graph, to draw the workflow: its type (graph class name), the function
    and recommended memory of a Task, its share of the end-to-end time, the enclosing named state."""

    state: str
    type: str
    share_of_time: float
    function: str | None = None
    memory: int | None = None
    parent: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state, "type": self.type}
        if self.function is not None:
            out["function"] = self.function
        if self.memory is not None:
            out["memory"] = self.memory
        out["shareOfTime"] = self.share_of_time
        if self.parent is not None:
            out["parent"] = self.parent
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Step:
        return cls(
            state=str(data["state"]),
            type=str(data["type"]),
            share_of_time=finite_number(data["shareOfTime"]),
            function=None if data.get("function") is None else str(data["function"]),
            memory=None if data.get("memory") is None else int(data["memory"]),
            parent=None if data.get("parent") is None else str(data["parent"]),
        )


@dataclass(frozen=True)
class SolverReport:
    """How the sizes were chosen: "exact" (every assignment accounted for) or "bounded" (a search
    stopped early: its pick costs at most `max_gap_pct` % more than the optimum), the assignments
    evaluated and the seconds spent."""

    method: str
    evaluated: int
    max_gap_pct: float
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "evaluated": self.evaluated,
            "maxGapPct": self.max_gap_pct,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SolverReport:
        return cls(
            method=str(data["method"]),
            evaluated=int(data["evaluated"]),
            max_gap_pct=finite_number(data["maxGapPct"]),
            seconds=finite_number(data["seconds"]),
        )


@dataclass(frozen=True)
class WorkflowResult:
    """The workflow tuner's output. `met` false: no assignment meets the target, and the
    recommendation is the one with the lowest statistic."""

    met: bool
    statistic: str
    max_duration_ms: float
    current: Prediction
    recommended: Prediction
    functions: tuple[FunctionPick, ...]
    critical_path: tuple[str, ...]
    fixed: tuple[FixedState, ...]
    steps: tuple[Step, ...]
    solver: SolverReport
    state_transitions: float
    executions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The wire form (the execution's output)."""
        return {
            "met": self.met,
            "statistic": self.statistic,
            "maxDurationMs": self.max_duration_ms,
            "current": self.current.to_dict(observed=True),
            "recommended": self.recommended.to_dict(observed=False),
            "functions": [f.to_dict() for f in self.functions],
            "criticalPath": list(self.critical_path),
            "fixed": [f.to_dict() for f in self.fixed],
            "steps": [s.to_dict() for s in self.steps],
            "solver": self.solver.to_dict(),
            "stateTransitions": self.state_transitions,
            "executions": list(self.executions),
        }

    @classmethod
    def from_dict(cls, data: Any) -> WorkflowResult:
        """Parse the wire form (ResultFormatError naming what is wrong: saved files get edited)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("met"), bool):
            raise ResultFormatError("a workflow result is a JSON object with met true or false")
        try:
            return cls(
                met=data["met"],
                statistic=str(data["statistic"]),
                max_duration_ms=finite_number(data["maxDurationMs"]),
                current=Prediction.from_dict(data["current"]),
                recommended=Prediction.from_dict(data["recommended"]),
                functions=tuple(FunctionPick.from_dict(f) for f in data["functions"]),
                critical_path=tuple(str(s) for s in data["criticalPath"]),
                fixed=tuple(FixedState.from_dict(f) for f in data["fixed"]),
                steps=tuple(Step.from_dict(s) for s in data["steps"]),
                solver=SolverReport.from_dict(data["solver"]),
                state_transitions=finite_number(data["stateTransitions"]),
                executions=tuple(str(e) for e in data["executions"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ResultFormatError(f"malformed workflow result: {exc!r}") from exc


def recommend(
    plan: WorkflowPlan,
    tunings: Mapping[str, Mapping[str, Any]],
    failures: Mapping[str, str],
    *,
    seed: int = 0,
    draws: int | None = None,
    seconds: float | None = None,
) -> WorkflowResult:
    """One size per function, chosen jointly: the cheapest workflow execution whose end-to-end
    statistic is within the plan's target (see the module docstring and docs/workflow.md).

    `tunings`: function ARN (as plan.functions names it) -> its child tuning's output (with `stats`);
    `failures`: function ARN -> "Error: cause" of a child that failed. onError "fail" with any
    failure raises WorkflowTuningError naming them; "skip": that function keeps its size and the
    time the history showed for it (listed as not tuned). `draws` and `seconds`: the simulation's
    size and the solver's budget (defaults: simulate.DEFAULT_DRAWS, solver.DEFAULT_SECONDS).
    """
    request = plan.request
    if failures and request.on_error == "fail":
        named = "; ".join(f"{arn}: {cause}" for arn, cause in sorted(failures.items()))
        raise WorkflowTuningError(f"the tuning of {len(failures)} function(s) failed (onError fail): {named}")
    arns = graph.functions(plan.graph)
    planned = {arn: _planned(plan, arn) for arn in arns}
    discard = _discard(request.tuning)
    options: dict[str, list[Option]] = {}
    current: dict[str, Option] = {}
    for arn in arns:
        if arn in failures:
            options[arn] = [_observed(plan, planned[arn])]
            current[arn] = options[arn][0]
        else:
            options[arn] = _measured(arn, tunings, planned[arn], discard)
            current[arn] = _current(options[arn], planned[arn], plan.region)
    calls = expected_calls(plan.graph)
    fixed_cost = plan.state_transitions * transition_price(plan.region)
    kwargs: dict[str, Any] = {"seed": seed} if draws is None else {"seed": seed, "draws": draws}
    # An estimated current size is simulated beside the measured ones (on the same draws), never picked.
    candidates = {arn: tuple(range(len(options[arn]))) for arn in arns}
    now_choice = {}
    for arn in arns:
        if current[arn] not in options[arn]:
            options[arn].append(current[arn])
        now_choice[arn] = options[arn].index(current[arn])
    sim = Simulation(plan.graph, options, **kwargs)
    costs = {arn: [calls.get(arn, 0.0) * o.cost for o in options[arn]] for arn in arns}
    solution = solve(
        sim,
        costs,
        request.duration_statistic,
        request.max_duration_ms,
        fixed_cost=fixed_cost,
        candidates=candidates,
        seconds=DEFAULT_SECONDS if seconds is None else seconds,
    )
    now_cost = fixed_cost + sum(costs[arn][now_choice[arn]] for arn in arns)
    observed = statistic(plan.observed_ms, request.duration_statistic) if plan.observed_ms else None
    explanation = sim.explain(solution.choice)
    shares = explanation.function_shares()
    picks = []
    for arn in arns:
        chosen = options[arn][solution.choice[arn]]
        picks.append(
            FunctionPick(
                function_arn=arn,
                current_memory=planned[arn].memory_mb,
                recommended_memory=chosen.memory,
                architecture=chosen.architecture,
                cost_per_execution=costs[arn][solution.choice[arn]],
                share_of_time=shares.get(arn, 0.0),
                tuned=arn not in failures,
                error=failures.get(arn),
                current_estimate=None
                if current[arn].source in ("measured", "observed")
                else current[arn].source,
            )
        )
    steps = tuple(
        Step(
            state=str(getattr(node, "name", "")),
            type=type(node).__name__,
            share_of_time=share,
            function=node.function if isinstance(node, graph.Task) else None,
            memory=options[node.function][solution.choice[node.function]].memory
            if isinstance(node, graph.Task)
            else None,
            parent=parent,
        )
        for node, parent, share in explanation.steps
    )
    return WorkflowResult(
        met=solution.met,
        statistic=request.duration_statistic,
        max_duration_ms=request.max_duration_ms,
        current=Prediction(sim.statistic(now_choice, request.duration_statistic), now_cost, observed),
        recommended=Prediction(solution.statistic, solution.cost),
        functions=tuple(picks),
        critical_path=explanation.critical_path,
        fixed=tuple(
            FixedState(f.name, f.reason, statistics.fmean(f.samples_ms) if f.samples_ms else 0.0)
            for f in graph.fixed_steps(plan.graph)
        ),
        steps=steps,
        solver=SolverReport(
            solution.method, solution.evaluated, round(solution.max_gap_pct, 3), solution.seconds
        ),
        state_transitions=plan.state_transitions,
        executions=plan.executions,
    )


def _planned(plan: WorkflowPlan, arn: str) -> PlannedFunction:
    try:
        return plan.function(arn)
    except KeyError:
        raise WorkflowModelError(f"the workflow calls {arn}, which the plan does not list") from None


def _discard(tuning: Mapping[str, Any]) -> float:
    # The children's averageDuration is trimmed as the tuner trims (none with onlyColdStarts).
    if tuning.get("onlyColdStarts"):
        return 0.0
    value = tuning.get("discardTopBottom", 0.2)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.2


def _measured(
    arn: str, tunings: Mapping[str, Mapping[str, Any]], planned: PlannedFunction, discard: float
) -> list[Option]:
    """The sizes a function's child tuning measured without errors, as options."""
    if arn not in tunings:
        raise WorkflowModelError(f"no tuning output and no failure for {arn}")
    output = TuningOutput.from_dict(tunings[arn])
    items = [s for s in output.sizes if not s.errors]
    if not items:
        raise WorkflowModelError(f"the tuning of {arn} measured no size without errors")
    return [
        Option(
            memory=s.value,
            architecture=s.architecture or planned.architecture,
            cost=s.average_price,
            duration=Duration.from_stats(s, discard),
        )
        for s in items
    ]


def _observed(plan: WorkflowPlan, planned: PlannedFunction) -> Option:
    """A skipped function: its size now, its states' observed times, its cost estimated from them."""
    tasks = [t for t in graph.walk(plan.graph) if isinstance(t, graph.Task) and t.function == planned.arn]
    missing = [t.name for t in tasks if not t.samples_ms]
    if missing:
        raise WorkflowModelError(
            f"the tuning of {planned.arn} failed and the history holds no time for its state(s) "
            f"{', '.join(missing)}: the model cannot keep it as it is"
        )
    # The function's own time per call: the state's time without its overhead, per call.
    per_call = [
        max(0.0, (math.fsum(t.samples_ms) / len(t.samples_ms) - t.overhead_ms) / max(t.calls, 1e-9))
        for t in tasks
    ]
    price = lambda_price(plan.region, planned.architecture)
    cost = price.invocation_cost(statistics.fmean(per_call), planned.memory_mb)
    return Option(
        planned.memory_mb,
        planned.architecture,
        cost,
        Duration.constant(0.0),
        whole_state=True,
        source="observed",
    )


def _current(options: list[Option], planned: PlannedFunction, region: str) -> Option:
    """The current size's option: measured, interpolated between measured neighbours, or the nearest."""
    same = [o for o in options if o.architecture == planned.architecture]
    for option in same:
        if option.memory == planned.memory_mb:
            return option
    if not same:
        same = options
    below = [o for o in same if o.memory < planned.memory_mb]
    above = [o for o in same if o.memory > planned.memory_mb]
    price = lambda_price(region, planned.architecture)
    if below and above:
        low = max(below, key=lambda o: o.memory)
        high = min(above, key=lambda o: o.memory)
        weight = (1 / low.memory - 1 / planned.memory_mb) / (1 / low.memory - 1 / high.memory)
        duration = low.duration.blend(high.duration, weight)
        source = "interpolated"
    else:
        nearest = min(same, key=lambda o: abs(o.memory - planned.memory_mb))
        duration, source = nearest.duration, "nearest"
    cost = price.invocation_cost(duration.mean(), planned.memory_mb)
    return Option(planned.memory_mb, planned.architecture, cost, duration, source=source)
