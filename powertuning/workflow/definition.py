"""An Amazon States Language definition and what its executions showed, read into the graph of steps.

Both query languages are read: the top-level `QueryLanguage` ("JSONPath", the default, or
"JSONata") and a state's own. What each state becomes:

- a Lambda task (a function ARN as `Resource`, or `arn:aws:states:::lambda:invoke` with
  `Parameters.FunctionName` / JSONata `Arguments.FunctionName`): a `Task` of that function, with the
  calls per visit the history showed (its `Retry`s included) and the state's time beyond the calls
  as fixed overhead. A function chosen at run time (`FunctionName.$`, a `{% %}` expression), and
  `lambda:invoke.waitForTaskToken` (its time is the callback's), are `Fixed` and say so.
- `states:startExecution.sync` / `.sync:2`: `Nested`, the child state machine read through the
  reader's callback (same account only: the reader refuses another); anything else (activities,
  other integrations, `.waitForTaskToken`, `startExecution` without `.sync`), Wait and Pass: `Fixed`
  with the times the history showed.
- Parallel: its branches; Map (inline `ItemProcessor` or the legacy `Iterator`, DISTRIBUTED mode):
  its item processor, the item counts the history showed, `MaxConcurrency` (an inline Map runs at
  most 40 iterations at once on AWS, so 40 caps it; `MaxConcurrencyPath` or a JSONata expression is
  known only at run time: the most iterations the history showed running at once stand for it).
- Choice, and every state with a `Catch`: where a state was seen to continue to more than one state,
  a `Choice` whose options are what runs from each target until the branches join again (the
  immediate post-dominator), each with the frequency the history showed. A target no execution
  read took is left out (its functions are not tuned: nothing says what they receive or how often);
  a state never reached keeps its definition's targets (Choice: all, equally likely; else `Next`).
  So a caught error that the executions read did take is modelled like a Choice; one never taken
  costs nothing. Succeed, Fail and Choice states take no time in the model.
- Loops (a state jumping back to an earlier one: a strongly connected set of states): the loop must
  have one entry state and one exit target, or WorkflowModelError names its states. It becomes a
  `Choice` over the iteration counts the history showed (visits of the entry state per entry into
  the loop, rounded, per execution), each option the loop's body repeated that many times; the body's
  own branches keep their frequencies, so the mean time is right and the spread approximated.
  Nested loops are read the same way inside the body; nothing here can walk a cycle forever.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from powertuning.arns import FUNCTION_ARN
from powertuning.errors import WorkflowModelError
from powertuning.workflow.graph import Choice, Fixed, Map, Nested, Node, Parallel, Task
from powertuning.workflow.graph import Sequence as Steps
from powertuning.workflow.history import Observations, StateStats
from powertuning.workflow.request import STATE_MACHINE_ARN

STATE_TYPES: Final = ("Task", "Pass", "Wait", "Choice", "Parallel", "Map", "Succeed", "Fail")
INLINE_MAP_CONCURRENCY: Final = 40
# A loop run more times than this per entry is refused rather than unrolled.
MAX_LOOP_ITERATIONS: Final = 200
_EXIT: Final = "\x00exit"
# (state name, child state machine ARN, child execution ARNs the history showed) -> the child's graph.
NestedReader = Callable[[str, str, Sequence[str]], Node]


def load_definition(definition: str | Mapping[str, Any]) -> Mapping[str, Any]:
    """The definition as a JSON object, its structure checked (WorkflowModelError if not ASL)."""
    if isinstance(definition, str):
        try:
            definition = json.loads(definition)
        except ValueError as exc:
            raise WorkflowModelError(f"the state machine's definition is not JSON: {exc}") from exc
    if not isinstance(definition, Mapping):
        raise WorkflowModelError("the state machine's definition is not a JSON object")
    _check_scope(definition, "the definition")
    return definition


def _check_scope(scope: Any, where: str) -> None:
    if not isinstance(scope, Mapping) or not isinstance(scope.get("States"), Mapping) or not scope["States"]:
        raise WorkflowModelError(f"{where} has no States")
    states = scope["States"]
    if scope.get("StartAt") not in states:
        raise WorkflowModelError(f"{where}: StartAt {scope.get('StartAt')!r} is not one of its states")
    for name, state in states.items():
        if not isinstance(state, Mapping) or state.get("Type") not in STATE_TYPES:
            kind = state.get("Type") if isinstance(state, Mapping) else state
            raise WorkflowModelError(f"state {name!r} has an unknown Type {kind!r}")
        for target in _targets(state):
            if target not in states:
                raise WorkflowModelError(
                    f"state {name!r} goes to {target!r}, which is not a state of {where}"
                )
        if state["Type"] == "Parallel":
            branches = state.get("Branches")
            if not isinstance(branches, list) or not branches:
                raise WorkflowModelError(f"Parallel state {name!r} has no Branches")
            for index, branch in enumerate(branches):
                _check_scope(branch, f"branch {index} of {name!r}")
        elif state["Type"] == "Map":
            _check_scope(
                state.get("ItemProcessor") or state.get("Iterator"), f"the item processor of {name!r}"
            )


def _targets(state: Mapping[str, Any]) -> list[str]:
    """Every state this one may go to: Next, a Choice's rules and Default, each Catch's Next."""
    found: list[Any] = []
    if state["Type"] == "Choice":
        found += [rule.get("Next") for rule in state.get("Choices", []) if isinstance(rule, Mapping)]
        if "Default" in state:
            found.append(state["Default"])
    elif "Next" in state:
        found.append(state["Next"])
    found += [c.get("Next") for c in state.get("Catch", []) if isinstance(c, Mapping)]
    return list(dict.fromkeys(str(t) for t in found))


def _ends(state: Mapping[str, Any]) -> bool:
    return state["Type"] in ("Succeed", "Fail") or bool(state.get("End"))


@dataclass(frozen=True)
class Home:
    """Where the state machine lives: bare function names resolve to functions of its account."""

    partition: str
    region: str
    account: str

    @classmethod
    def of(cls, state_machine_arn: str) -> Home:
        match = STATE_MACHINE_ARN.match(state_machine_arn)
        if match is None:
            raise WorkflowModelError(f"not a state machine ARN: {state_machine_arn}")
        return cls(match["partition"], match["region"], match["account"])

    def function_arn(self, name: str) -> str | None:
        """A full function ARN for a FunctionName (name, name:qualifier, partial or full ARN)."""
        if FUNCTION_ARN.match(name):
            return name
        prefix = f"arn:{self.partition}:lambda:{self.region}:"
        parts = name.split(":")
        if len(parts) >= 3 and parts[1] == "function":  # 123456789012:function:name[:qualifier]
            candidate = prefix + name
        else:
            candidate = f"{prefix}{self.account}:function:{name}"
        return candidate if FUNCTION_ARN.match(candidate) else None


def read_definition(
    definition: str | Mapping[str, Any],
    observations: Observations,
    *,
    state_machine_arn: str,
    nested: NestedReader | None = None,
) -> Node:
    """The graph of a state machine's definition, with what `observations` showed of it."""
    loaded = load_definition(definition)
    builder = _Builder(Home.of(state_machine_arn), nested)
    language = str(loaded.get("QueryLanguage", "JSONPath"))
    return builder.scope(loaded, observations, language)


@dataclass(frozen=True)
class _Loop:
    head: str
    members: frozenset[str]
    exit: str


class _Builder:
    def __init__(self, home: Home, nested: NestedReader | None) -> None:
        self.home = home
        self.nested = nested

    def scope(self, scope: Mapping[str, Any], observed: Observations, language: str) -> Node:
        states = scope["States"]
        edges = {name: self._used(states[name], observed.stats(name)) for name in states}
        return Steps(
            tuple(
                _Scope(
                    self, states, str(scope["StartAt"]), used=edges, observed=observed, language=language
                ).chain()
            )
        )

    @staticmethod
    def _used(state: Mapping[str, Any], stats: StateStats) -> tuple[str, ...]:
        """The targets the executions took from this state (the definition's if it never left it)."""
        targets = _targets(state)
        ends = _ends(state)
        seen = [t for t in targets if stats.next.get(t)]
        ended = len(stats.times_ms) - sum(stats.next.values())
        if ends and ended > 0:
            seen.append(_EXIT)
        if seen:
            return tuple(seen)
        if state["Type"] == "Choice":
            return tuple(targets)
        return (str(state["Next"]),) if "Next" in state and not ends else (_EXIT,)

    # -- one state -----------------------------------------------------------------------------
    def step(self, name: str, state: Mapping[str, Any], observed: Observations, language: str) -> Node | None:
        kind = state["Type"]
        stats = observed.stats(name)
        language = str(state.get("QueryLanguage", language))
        if kind in ("Choice", "Succeed", "Fail"):
            return None
        if kind in ("Pass", "Wait"):
            return Fixed(name, tuple(stats.times_ms), f"a {kind} state: its time from the history")
        if kind == "Parallel":
            return Parallel(name, tuple(self.scope(b, observed, language) for b in state["Branches"]))
        if kind == "Map":
            return self._map(name, state, observed, language)
        return self._task(name, state, stats, language)

    def _map(self, name: str, state: Mapping[str, Any], observed: Observations, language: str) -> Node:
        processor = state.get("ItemProcessor") or state["Iterator"]
        mode = (processor.get("ProcessorConfig") or {}).get("Mode", "INLINE")
        distributed = mode == "DISTRIBUTED"
        stats = observed.stats(name)
        limit = state.get("MaxConcurrency", 0)
        if isinstance(limit, bool) or not isinstance(limit, int) or "MaxConcurrencyPath" in state:
            limit = stats.concurrency  # known at run time only: what the history showed
        if not distributed:
            limit = min(limit or INLINE_MAP_CONCURRENCY, INLINE_MAP_CONCURRENCY)
        items = tuple(sorted((count, float(weight)) for count, weight in stats.items.items()))
        inner = str(processor.get("QueryLanguage", language))
        body = self.scope(processor, observed.body(name), inner)
        return Map(name, body, items, int(limit), distributed)

    def _task(self, name: str, state: Mapping[str, Any], stats: StateStats, language: str) -> Node:
        resource = str(state.get("Resource", ""))
        samples = tuple(stats.times_ms)
        arguments = state.get("Arguments" if language == "JSONata" else "Parameters")
        if FUNCTION_ARN.match(resource):
            return self._lambda(name, resource, stats)
        service = resource.split(":::", 1)[1] if resource.startswith("arn:") and ":::" in resource else ""
        if service == "lambda:invoke":
            function = self._literal(arguments, "FunctionName", language)
            if function is None:
                return Fixed(
                    name,
                    samples,
                    "a Lambda task whose function is chosen at run time (FunctionName "
                    "is a path or an expression): held fixed",
                )
            arn = self.home.function_arn(function)
            if arn is None:
                raise WorkflowModelError(
                    f"state {name!r} names FunctionName {function!r}, not a Lambda function"
                )
            return self._lambda(name, arn, stats)
        if service == "lambda:invoke.waitForTaskToken":
            return Fixed(
                name, samples, "a Lambda task that waits for a task token: its time is the callback's"
            )
        if service in ("states:startExecution.sync", "states:startExecution.sync:2"):
            return self._nested(name, arguments, stats, language)
        if ":activity:" in resource:
            return Fixed(name, samples, "an activity: its time from the history")
        what = service or resource
        return Fixed(name, samples, f"the {what} integration: its time from the history")

    def _lambda(self, name: str, arn: str, stats: StateStats) -> Task:
        visits = stats.visits
        calls = stats.calls / visits if visits else 1.0
        overhead = stats.mean_ms - (sum(stats.call_ms) / visits if visits else 0.0)
        return Task(name, arn, calls, max(0.0, overhead))

    def _nested(self, name: str, arguments: Any, stats: StateStats, language: str) -> Node:
        machine = self._literal(arguments, "StateMachineArn", language)
        if machine is None and stats.children:
            # A path or expression: the child the history shows (its execution ARN names it).
            parts = stats.children[0].split(":")
            machine = ":".join([*parts[:5], "stateMachine", parts[6]]) if len(parts) >= 8 else None
        if machine is None or not STATE_MACHINE_ARN.match(machine):
            return Fixed(
                name,
                tuple(stats.times_ms),
                "a nested workflow the definition names at run time and "
                "no execution read started: held fixed",
            )
        if self.nested is None:
            return Fixed(
                name, tuple(stats.times_ms), "a nested workflow no execution read started: held fixed"
            )
        return Nested(name, machine, self.nested(name, machine, tuple(stats.children)))

    @staticmethod
    def _literal(arguments: Any, key: str, language: str) -> str | None:
        """A fixed string argument, or None when it is evaluated at run time."""
        if not isinstance(arguments, Mapping) or f"{key}.$" in arguments:
            return None
        value = arguments.get(key)
        if not isinstance(value, str) or (language == "JSONata" and value.strip().startswith("{%")):
            return None
        return value


class _Scope:
    """The states of one branch, item processor or loop body, with the edges the executions took."""

    def __init__(
        self,
        builder: _Builder,
        states: Mapping[str, Any],
        start: str,
        *,
        used: Mapping[str, tuple[str, ...]],
        observed: Observations,
        language: str,
        rename: Callable[[str], str] = lambda target: target,
    ) -> None:
        self.builder, self.states, self.start = builder, states, start
        self.used, self.observed, self.language, self.rename = used, observed, language, rename
        # The edges as this scope sees them: in a loop's body, back to its entry or out of it is the end.
        self.edges = {n: tuple(dict.fromkeys(rename(t) for t in targets)) for n, targets in used.items()}
        self.nodes = _reachable(start, self.edges)
        self.ipdom = _post_dominators(self.nodes, self.edges)
        self.loops = _loops(self.nodes, start, self.edges)

    def chain(self, start: str | None = None, stop: str = _EXIT) -> list[Node]:
        """The steps from `start` until `stop` (or the end)."""
        nodes: list[Node] = []
        current = self.start if start is None else start
        walked = 0
        while current not in (_EXIT, stop):
            walked += 1
            if walked > len(self.nodes) + 1:  # defensive: every cycle is a loop read below
                raise WorkflowModelError(f"cannot read the flow through state {current!r}")
            loop = self.loops.get(current)
            if loop is not None:
                nodes.append(self._loop(loop))
                current = loop.exit
                continue
            node = self.builder.step(current, self.states[current], self.observed, self.language)
            if node is not None:
                nodes.append(node)
            targets = self.edges[current]
            if len(targets) == 1:
                current = targets[0]
                continue
            join = self.ipdom[current]
            stats = self.observed.stats(current)
            nodes.append(Choice(current, self._options(current, targets, join, stats)))
            current = join
        return nodes

    def _options(
        self, name: str, targets: tuple[str, ...], join: str, stats: StateStats
    ) -> tuple[tuple[float, Node], ...]:
        by_target = dict.fromkeys(targets, 0.0)
        for original in self.used[name]:
            seen = stats.next.get(original, 0) if original != _EXIT else 0
            by_target[self.rename(original)] += seen
        if _EXIT in by_target:
            by_target[_EXIT] += float(max(0, len(stats.times_ms) - sum(stats.next.values())))
        counts = [by_target[t] for t in targets]
        total = sum(counts)
        if total <= 0:
            counts, total = [1.0] * len(targets), float(len(targets))
        return tuple(
            (count / total, Steps(tuple(self.chain(target, join))))
            for target, count in zip(targets, counts, strict=True)
        )

    def _loop(self, loop: _Loop) -> Node:
        def inside(target: str) -> str:
            target = self.rename(target)
            return _EXIT if target == loop.head or target not in loop.members else target

        used = {name: self.used[name] for name in loop.members}
        body = _Scope(
            self.builder,
            self.states,
            loop.head,
            used=used,
            observed=self.observed,
            language=self.language,
            rename=inside,
        )
        steps = body.chain()
        counts = _iterations(loop, self.observed)
        options = tuple((weight, Steps(tuple(steps * k))) for k, weight in counts)
        if len(options) == 1:
            return options[0][1]
        total = sum(w for w, _ in options)
        return Choice(loop.head, tuple((w / total, node) for w, node in options))


def _iterations(loop: _Loop, observed: Observations) -> list[tuple[int, float]]:
    """(iterations per entry, weight) from each execution: visits of the head per entry into the loop."""
    found: dict[int, float] = {}
    for run in observed.runs or (observed.states,):
        head = run.get(loop.head)
        if head is None or not head.visits:
            continue
        entries = sum(n for came_from, n in head.prev.items() if came_from not in loop.members)
        entries = entries or 1
        k = max(1, round(head.visits / entries))
        if k > MAX_LOOP_ITERATIONS:
            raise WorkflowModelError(
                f"the loop at state {loop.head!r} ran {k} times per entry, more than the model unrolls "
                f"({MAX_LOOP_ITERATIONS})"
            )
        found[k] = found.get(k, 0.0) + entries
    return sorted(found.items()) or [(1, 1.0)]


def _reachable(start: str, edges: Mapping[str, tuple[str, ...]]) -> list[str]:
    seen: dict[str, None] = {}
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name == _EXIT:
            continue
        seen[name] = None
        todo += list(edges.get(name, ()))
    return list(seen)


def _post_dominators(nodes: Sequence[str], edges: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """The immediate post-dominator of each state (`_EXIT` when only the end joins its branches)."""
    everything = frozenset(nodes) | {_EXIT}
    pdom: dict[str, frozenset[str]] = dict.fromkeys(nodes, everything)
    pdom[_EXIT] = frozenset({_EXIT})
    changed = True
    while changed:
        changed = False
        for node in nodes:
            successors = [pdom[s] for s in edges[node] if s in pdom]
            new = frozenset({node}) | (frozenset.intersection(*successors) if successors else frozenset())
            if new != pdom[node]:
                pdom[node], changed = new, True
    ipdom: dict[str, str] = {}
    for node in nodes:
        strict = pdom[node] - {node}
        ipdom[node] = next((d for d in strict if pdom[d] == strict), _EXIT)
    return ipdom


def _loops(nodes: Sequence[str], start: str, edges: Mapping[str, tuple[str, ...]]) -> dict[str, _Loop]:
    """Each loop (a strongly connected set of states with a cycle), by its entry state."""
    loops: dict[str, _Loop] = {}
    for component in _components(nodes, edges):
        members = frozenset(component)
        if len(members) == 1:
            (only,) = members
            if only not in edges[only]:
                continue
        heads = {n for n in members if n == start or any(n in edges[p] for p in nodes if p not in members)}
        exits = {t for n in members for t in edges[n] if t not in members}
        if len(heads) != 1 or len(exits) > 1:
            raise WorkflowModelError(
                f"the loop through states {', '.join(sorted(members))} has {len(heads)} entries and "
                f"{len(exits)} exits: the model reads loops with one entry state and one exit"
            )
        (head,) = heads
        loops[head] = _Loop(head, members, next(iter(exits), _EXIT))
    return loops


def _components(nodes: Sequence[str], edges: Mapping[str, tuple[str, ...]]) -> list[list[str]]:
    """Strongly connected components (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = [s for s in edges[node] if s != _EXIT]
            if position < len(successors):
                work.append((node, position + 1))
                nxt = successors[position]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found
