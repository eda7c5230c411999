"""Read a user's workflow into a WorkflowPlan: its definition, the executions' histories, the nested
workflows it starts, and each distinct function's configuration. Reads only; every refusal is a
WorkflowInputError raised before anything changes.

Refused: one of the tuner's own state machines; a state machine that does not exist or cannot be
read; an EXPRESS one (Step Functions keeps no history of Express executions to read); an execution of
another state machine, or one that did not succeed; no SUCCEEDED execution to read; a nested
workflow in another account (or one of the tuner's own); a workflow whose executions ran no Lambda
task; a function that cannot be read (naming the states that call it); a `payload` override naming
no function of the workflow.

A Distributed Map's item counts come from DescribeMapRun, its item processor's observations from up
to MAP_RUN_SAMPLE of the run's SUCCEEDED child executions (when the run lists none, from the
parent's own history).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from powertuning import lambda_api
from powertuning.arns import FunctionRef
from powertuning.aws import state_machines as sfn_api
from powertuning.errors import FunctionNotFoundError, InvalidInputError, WorkflowInputError
from powertuning.inputs import TuningRequest
from powertuning.workflow import graph
from powertuning.workflow.definition import load_definition, read_definition
from powertuning.workflow.history import Observations, combine, read_history, weighted_payload
from powertuning.workflow.plan import PlannedFunction, WorkflowPlan
from powertuning.workflow.request import STATE_MACHINE_ARN, WorkflowRequest

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_stepfunctions import SFNClient

MAP_RUN_SAMPLE: Final = 10
MAX_NESTING: Final = 5
MAX_CHILD_EXECUTIONS: Final = 20


def _base(arn: str) -> str:
    """A state machine ARN without its version or alias."""
    match = STATE_MACHINE_ARN.match(arn)
    return arn if match is None or match["qualifier"] is None else arn.rsplit(":", 1)[0]


class _Reader:
    def __init__(self, request: WorkflowRequest, sfn: SFNClient, own: Sequence[str]) -> None:
        self.request = request
        self.sfn = sfn
        self.own = {_base(a) for a in own}
        self.home = STATE_MACHINE_ARN.match(request.state_machine_arn)
        # Per function: payloads seen, calls without a usable one, the states calling it.
        self.payloads: dict[str, Counter[str]] = {}
        self.unusable: Counter[str] = Counter()
        self.states: dict[str, list[str]] = {}
        self.child_transitions = 0.0
        self.parents = 1
        self._depth = 0

    def refuse_foreign(self, definition: Mapping[str, Any]) -> None:
        """Refuse a definition naming a nested workflow of another account, before any history is read."""
        assert self.home is not None
        for state, machine in _nested_machines(definition):
            match = STATE_MACHINE_ARN.match(machine)
            if match is not None and (match["partition"], match["account"]) != (
                self.home["partition"],
                self.home["account"],
            ):
                raise WorkflowInputError(
                    f"state {state!r} starts {machine}, a workflow in another account: the workflow "
                    f"tuner reads and tunes only its own account's ({self.home['account']})"
                )

    def machine(self, arn: str, who: str) -> Mapping[str, Any]:
        if _base(arn) in self.own:
            raise WorkflowInputError(
                f"{who} {arn} is one of the tuner's own state machines, which it never tunes"
            )
        described = sfn_api.describe_state_machine(self.sfn, arn)
        if described.get("type") == "EXPRESS":
            raise WorkflowInputError(
                f"{who} {arn} is an EXPRESS state machine: Step Functions keeps no execution history of "
                "Express workflows to read; tune a STANDARD one"
            )
        return described

    def executions(self) -> list[str]:
        request = self.request
        if request.execution_arn is not None:
            described = sfn_api.describe_execution(self.sfn, request.execution_arn)
            if _base(str(described.get("stateMachineArn", ""))) != _base(request.state_machine_arn):
                raise WorkflowInputError(
                    f"executionArn {request.execution_arn} is an execution of "
                    f"{described.get('stateMachineArn')}, not of {request.state_machine_arn}"
                )
            if described.get("status") != "SUCCEEDED":
                raise WorkflowInputError(
                    f"executionArn {request.execution_arn} is {described.get('status')}: "
                    "give a SUCCEEDED execution (its history is what the model reads)"
                )
            return [request.execution_arn]
        found = sfn_api.succeeded_executions(self.sfn, request.state_machine_arn, request.executions_wanted)
        if not found:
            raise WorkflowInputError(
                f"{request.state_machine_arn} has no SUCCEEDED execution to read: run it at least once, "
                "or give executionArn"
            )
        return found

    def observe(self, definition: Mapping[str, Any], executions: Sequence[str]) -> Observations:
        observed = combine([read_history(sfn_api.execution_events(self.sfn, e)) for e in executions])
        bodies: dict[str, Observations] = {}
        for name in _distributed_maps(definition):
            stats = observed.stats(name)
            totals = [
                int(sfn_api.describe_map_run(self.sfn, run)["itemCounts"]["total"]) for run in stats.map_runs
            ]
            if totals:
                stats.items.clear()
                stats.items.update(totals)
            children = [
                c for run in stats.map_runs for c in sfn_api.map_run_executions(self.sfn, run, MAP_RUN_SAMPLE)
            ]
            if children:
                bodies[name] = combine(
                    [read_history(sfn_api.execution_events(self.sfn, c)) for c in children]
                )
        return observed.with_bodies(bodies)

    def build(self, arn: str, definition: Mapping[str, Any], observed: Observations) -> graph.Node:
        node = read_definition(definition, observed, state_machine_arn=arn, nested=self.nested)
        self.collect(node, observed)
        return node

    def nested(self, state: str, machine: str, children: Sequence[str]) -> graph.Node:
        match = STATE_MACHINE_ARN.match(machine)
        assert self.home is not None
        if match is None or any(match[k] != self.home[k] for k in ("partition", "account")):
            raise WorkflowInputError(
                f"state {state!r} starts {machine}, a workflow in another account: the workflow "
                f"tuner reads and tunes only its own account's ({self.home['account']})"
            )
        if not children:
            return graph.Fixed(
                state, (), "a nested workflow whose child executions the history does not name"
            )
        if self._depth >= MAX_NESTING:
            raise WorkflowInputError(f"state {state!r} nests workflows more than {MAX_NESTING} deep")
        described = self.machine(machine, f"state {state!r} starts")
        definition = load_definition(str(described["definition"]))
        self.refuse_foreign(definition)
        succeeded = [
            c
            for c in children[:MAX_CHILD_EXECUTIONS]
            if sfn_api.describe_execution(self.sfn, c).get("status") == "SUCCEEDED"
        ]
        self._depth += 1
        try:
            observed = self.observe(definition, succeeded)
            node = self.build(machine, definition, observed)
        finally:
            self._depth -= 1
        # The children's transitions are billed too: per parent execution, as many children as it started.
        if observed.executions:
            self.child_transitions += observed.mean_transitions * len(children) / max(1, self.parents)
        return node

    def collect(self, node: graph.Node, observed: Observations) -> None:
        """Each function's payloads and calling states from the tasks of `node` (not its nested ones)."""
        seen: set[str] = set()
        for task, where in _tasks(node, observed):
            if task.name in seen:
                continue
            seen.add(task.name)
            stats = where.stats(task.name)
            self.payloads.setdefault(task.function, Counter()).update(stats.payloads)
            self.unusable[task.function] += stats.unlogged + stats.truncated
            self.states.setdefault(task.function, []).append(task.name)


def _tasks(node: graph.Node, observed: Observations) -> Iterator[tuple[graph.Task, Observations]]:
    if isinstance(node, graph.Task):
        yield node, observed
    elif isinstance(node, graph.Sequence):
        for step in node.steps:
            yield from _tasks(step, observed)
    elif isinstance(node, graph.Parallel):
        for branch in node.branches:
            yield from _tasks(branch, observed)
    elif isinstance(node, graph.Map):
        yield from _tasks(node.body, observed.body(node.name))
    elif isinstance(node, graph.Choice):
        for _, option in node.options:
            yield from _tasks(option, observed)


def _nested_machines(scope: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(state, StateMachineArn) of each startExecution task naming its child literally."""
    for name, state in scope.get("States", {}).items():
        kind = state.get("Type")
        if kind == "Task" and ":states:::states:startExecution" in str(state.get("Resource", "")):
            arguments = state.get("Parameters") or state.get("Arguments") or {}
            machine = arguments.get("StateMachineArn") if isinstance(arguments, Mapping) else None
            if isinstance(machine, str):
                yield name, machine
        for branch in state.get("Branches", []) if kind == "Parallel" else []:
            yield from _nested_machines(branch)
        if kind == "Map":
            yield from _nested_machines(state.get("ItemProcessor") or state.get("Iterator") or {})


def _distributed_maps(scope: Mapping[str, Any]) -> Iterator[str]:
    for name, state in scope.get("States", {}).items():
        if state.get("Type") == "Parallel":
            for branch in state.get("Branches", []):
                yield from _distributed_maps(branch)
        elif state.get("Type") == "Map":
            processor = state.get("ItemProcessor") or state.get("Iterator") or {}
            if (processor.get("ProcessorConfig") or {}).get("Mode") == "DISTRIBUTED":
                yield name
            yield from _distributed_maps(processor)


def expected_calls(node: graph.Node, factor: float = 1.0, found: Counter[str] | None = None) -> Counter[str]:
    """Mean calls per workflow execution of each function: calls per visit x Map items x frequencies."""
    found = Counter() if found is None else found
    if isinstance(node, graph.Task):
        found[node.function] += factor * node.calls  # type: ignore[assignment]
    elif isinstance(node, graph.Sequence):
        for step in node.steps:
            expected_calls(step, factor, found)
    elif isinstance(node, graph.Parallel):
        for branch in node.branches:
            expected_calls(branch, factor, found)
    elif isinstance(node, graph.Map):
        weight = sum(w for _, w in node.items)
        items = sum(c * w for c, w in node.items) / weight if weight else 0.0
        expected_calls(node.body, factor * items, found)
    elif isinstance(node, graph.Choice):
        for probability, option in node.options:
            expected_calls(option, factor * probability, found)
    elif isinstance(node, graph.Nested):
        expected_calls(node.body, factor, found)
    return found


def _override(request: WorkflowRequest, functions: Sequence[str]) -> dict[str, Any]:
    """The `payload` overrides by function ARN; a key naming no function of the workflow is refused."""
    chosen: dict[str, Any] = {}
    for key, payload in request.payloads.items():
        matched = [f for f in functions if _names(key, f)]
        if not matched:
            names = ", ".join(FunctionRef.parse(f).name for f in functions)
            raise WorkflowInputError(
                f"payload names {key}, which no Lambda task of the workflow calls (it calls {names})"
            )
        for function in matched:
            chosen[function] = payload
    return chosen


def _names(key: str, function: str) -> bool:
    ref = FunctionRef.parse(function)
    if key.startswith("arn:"):
        return key in (function, ref.unqualified)
    return key in (ref.name, f"{ref.name}:{ref.qualifier}")


def read_workflow(
    request: WorkflowRequest,
    *,
    sfn: SFNClient,
    lambda_client: LambdaClient,
    own_state_machines: Sequence[str],
) -> WorkflowPlan:
    """The plan for tuning a workflow: what its definition and executions say, each function's size."""
    reader = _Reader(request, sfn, own_state_machines)
    described = reader.machine(request.state_machine_arn, "stateMachineArn")
    definition = load_definition(str(described["definition"]))
    reader.refuse_foreign(definition)
    executions = reader.executions()
    reader.parents = len(executions)
    observed = reader.observe(definition, executions)
    node = reader.build(request.state_machine_arn, definition, observed)
    functions = graph.functions(node)
    if not functions:
        raise WorkflowInputError(
            f"{request.state_machine_arn} has no Lambda task the executions read ran: nothing to tune "
            f"(held fixed: {', '.join(f.name for f in graph.fixed_steps(node)) or 'nothing'})"
        )
    overrides = _override(request, functions)
    calls = expected_calls(node)
    num = int(request.tuning.get("num", 10))
    planned: list[PlannedFunction] = []
    for function in functions:
        try:
            config = lambda_api.get_configuration(lambda_client, function)
        except FunctionNotFoundError as exc:
            states = ", ".join(reader.states.get(function, []))
            raise WorkflowInputError(f"state {states} calls {function}, which cannot be read: {exc}") from exc
        if function in overrides:
            payload, source = overrides[function], "input"
        else:
            found = weighted_payload(reader.payloads.get(function, Counter()), reader.unusable[function], num)
            payload, source = found.payload, found.source
        planned.append(
            PlannedFunction(
                arn=function,
                memory_mb=int(config.get("MemorySize", 128)),
                architecture=str((config.get("Architectures") or ["x86_64"])[0]),
                payload=payload,
                payload_source=source,
                calls_per_execution=float(calls[function]),
            )
        )
    match = STATE_MACHINE_ARN.match(request.state_machine_arn)
    assert match is not None
    plan = WorkflowPlan(
        request=request,
        executions=tuple(executions),
        graph=node,
        functions=tuple(planned),
        observed_ms=observed.durations_ms,
        state_transitions=observed.mean_transitions + reader.child_transitions,
        region=match["region"],
    )
    for child in plan.functions:
        try:
            TuningRequest.from_dict(plan.tuning_input(child))
        except InvalidInputError as exc:
            raise WorkflowInputError(f"the tuning input for {child.arn}: {exc}") from exc
    return plan
