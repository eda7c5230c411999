"""The workflow as a tree of steps: what runs one after another, side by side, per item, or by choice.

The reader (definition.py, history.py) turns the ASL definition and the executions' histories into
this tree; the model (simulate.py) composes durations along it: a `Sequence` adds, a `Parallel` takes
its slowest branch, a `Map` runs its items in waves of its concurrency, a `Choice` picks an option by
its observed frequency. Every state that is not a Lambda function call the tuner can size is `Fixed`:
it keeps the times the history showed.

Wire form: `{"type": <class name>, ...camelCase fields}` (to_dict/node_from_dict), so a plan can be
written to S3 by one Lambda function and read by another.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Union

from powertuning.errors import ResultFormatError


@dataclass(frozen=True)
class Task:
    """A Lambda function call the tuner sizes.

    `function` is the ARN the definition names (its qualifier kept); `calls` the mean invocations per
    visit the history showed (retries included); `overhead_ms` the state's observed time per visit
    beyond the function's own duration (Step Functions' and Lambda's invoke overhead), held fixed;
    `samples_ms` the state's whole observed times per visit (what the model uses for a function whose
    tuning failed and was skipped: it keeps the time the history showed).
    """

    name: str
    function: str
    calls: float = 1.0
    overhead_ms: float = 0.0
    samples_ms: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "Task",
            "name": self.name,
            "function": self.function,
            "calls": self.calls,
            "overheadMs": self.overhead_ms,
            "samplesMs": list(self.samples_ms),
        }


@dataclass(frozen=True)
class Fixed:
    """A state whose time the tuner does not change: Wait, Pass, an activity, `.waitForTaskToken`,
    another service's integration, a Lambda task whose function is chosen at run time.

    `samples_ms` are the times the history showed (one per visit); `reason` says why it is fixed.
    """

    name: str
    samples_ms: tuple[float, ...]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "Fixed", "name": self.name, "samplesMs": list(self.samples_ms), "reason": self.reason}


@dataclass(frozen=True)
class Sequence:
    """Steps that run one after another."""

    steps: tuple[Node, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"type": "Sequence", "steps": [s.to_dict() for s in self.steps]}


@dataclass(frozen=True)
class Parallel:
    """Branches that run side by side; the state ends when the slowest does."""

    name: str
    branches: tuple[Node, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"type": "Parallel", "name": self.name, "branches": [b.to_dict() for b in self.branches]}


@dataclass(frozen=True)
class Map:
    """One run of `body` per item, at most `max_concurrency` at once (0: no limit of the definition's).

    `items` are the item counts the history showed with their weights (how many executions had them).
    """

    name: str
    body: Node
    items: tuple[tuple[int, float], ...]
    max_concurrency: int = 0
    distributed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "Map",
            "name": self.name,
            "body": self.body.to_dict(),
            "items": [[count, weight] for count, weight in self.items],
            "maxConcurrency": self.max_concurrency,
            "distributed": self.distributed,
        }


@dataclass(frozen=True)
class Choice:
    """One of `options` runs, each with its observed frequency (they sum to 1); an option is what runs
    from the branch's first state until the branches join again."""

    name: str
    options: tuple[tuple[float, Node], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "Choice",
            "name": self.name,
            "options": [{"probability": p, "then": n.to_dict()} for p, n in self.options],
        }


@dataclass(frozen=True)
class Nested:
    """A `states:startExecution.sync` child workflow of the same account, modelled inside."""

    name: str
    state_machine: str
    body: Node

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "Nested",
            "name": self.name,
            "stateMachine": self.state_machine,
            "body": self.body.to_dict(),
        }


Node = Union[Task, Fixed, Sequence, Parallel, Map, Choice, Nested]


def node_from_dict(data: Any) -> Node:
    """Parse the wire form (ResultFormatError when it is not one: a plan is read back from S3)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("type"), str):
        raise ResultFormatError(f"a workflow step is a JSON object with a type, got {data!r:.80}")
    kind = data["type"]
    try:
        if kind == "Task":
            return Task(
                name=str(data["name"]),
                function=str(data["function"]),
                calls=float(data.get("calls", 1.0)),
                overhead_ms=float(data.get("overheadMs", 0.0)),
                samples_ms=tuple(float(v) for v in data.get("samplesMs", ())),
            )
        if kind == "Fixed":
            return Fixed(
                name=str(data["name"]),
                samples_ms=tuple(float(v) for v in data["samplesMs"]),
                reason=str(data["reason"]),
            )
        if kind == "Sequence":
            return Sequence(tuple(node_from_dict(s) for s in data["steps"]))
        if kind == "Parallel":
            return Parallel(str(data["name"]), tuple(node_from_dict(b) for b in data["branches"]))
        if kind == "Map":
            return Map(
                name=str(data["name"]),
                body=node_from_dict(data["body"]),
                items=tuple((int(c), float(w)) for c, w in data["items"]),
                max_concurrency=int(data.get("maxConcurrency", 0)),
                distributed=bool(data.get("distributed", False)),
            )
        if kind == "Choice":
            return Choice(
                str(data["name"]),
                tuple((float(o["probability"]), node_from_dict(o["then"])) for o in data["options"]),
            )
        if kind == "Nested":
            return Nested(str(data["name"]), str(data["stateMachine"]), node_from_dict(data["body"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultFormatError(f"malformed workflow step {kind}: {exc}") from exc
    raise ResultFormatError(f"unknown workflow step type {kind!r}")


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents before children."""
    yield node
    if isinstance(node, Sequence):
        for step in node.steps:
            yield from walk(step)
    elif isinstance(node, Parallel):
        for branch in node.branches:
            yield from walk(branch)
    elif isinstance(node, Map | Nested):
        yield from walk(node.body)
    elif isinstance(node, Choice):
        for _, option in node.options:
            yield from walk(option)


def functions(node: Node) -> tuple[str, ...]:
    """The distinct functions the tree calls, in order of first appearance."""
    seen: dict[str, None] = {}
    for step in walk(node):
        if isinstance(step, Task):
            seen.setdefault(step.function, None)
    return tuple(seen)


def fixed_steps(node: Node) -> tuple[Fixed, ...]:
    """Every state held fixed, in order."""
    return tuple(step for step in walk(node) if isinstance(step, Fixed))
