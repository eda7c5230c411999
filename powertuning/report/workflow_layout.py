"""The shape of the workflow drawing: boxes, and inside a container its lanes of boxes.

Built from the workflow's graph when the caller has it (the exact structure: which branch each
state is in, each Choice option's frequency, each Map's item count), else from the result's `steps`
(each names its enclosing state; a step's `branch`, when a result carries it, groups a Parallel's
or a Choice's children into lanes, otherwise each child is its own lane and the drawing says so).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from powertuning.workflow.graph import Choice, Fixed, Map, Nested, Node, Parallel, Task
from powertuning.workflow.graph import Sequence as Steps

# States that frame others: their children are drawn inside them.
CONTAINERS: Final = ("Parallel", "Map", "Choice", "Nested")


@dataclass
class Box:
    """One state: its name and type, what the result says of it (`step`), a note (a Map's items, a
    fixed state's reason from the graph), and the lanes of boxes it frames (side by side)."""

    name: str
    kind: str
    step: Mapping[str, Any] = field(default_factory=dict)
    note: str | None = None
    lanes: list[tuple[str, list[Box]]] = field(default_factory=list)
    # True when the lanes are a guess (the result did not say which branch each state is in).
    lanes_unknown: bool = False


def _lane_label(kind: str, index: int, probability: float | None) -> str:
    if kind == "Choice":
        share = f": {100.0 * probability:.0f}% of executions" if probability is not None else ""
        return f"option {index + 1}{share}"
    return f"branch {index + 1}"


def from_steps(steps: Sequence[Mapping[str, Any]]) -> list[Box]:
    """Boxes from the result's steps, nested by `parent` (steps come parents first).

    A parent is named by its state name; names repeat only across nested workflows, so a step's
    parent is the most recent container of that name before it.
    """
    roots: list[Box] = []
    latest: dict[str, Box] = {}
    children: dict[int, list[tuple[Mapping[str, Any], Box]]] = {}
    for step in steps:
        box = Box(name=str(step.get("state", "")), kind=str(step.get("type", "Task")), step=step)
        parent = latest.get(str(step["parent"])) if step.get("parent") is not None else None
        if parent is None:
            roots.append(box)
        else:
            children.setdefault(id(parent), []).append((step, box))
        if box.kind in CONTAINERS:
            latest[box.name] = box
    for container in latest.values():
        members = children.get(id(container), [])
        if container.kind in ("Parallel", "Choice"):
            _group(container, members)
        elif members:
            container.lanes = [("", [b for _, b in members])]
    return roots


def _group(container: Box, members: Sequence[tuple[Mapping[str, Any], Box]]) -> None:
    if members and all("branch" in step for step, _ in members):
        grouped: dict[Any, list[tuple[Mapping[str, Any], Box]]] = {}
        for step, box in members:
            grouped.setdefault(step["branch"], []).append((step, box))
        lanes = list(grouped.values())
    else:
        lanes = [[m] for m in members]
        container.lanes_unknown = len(members) > 1
    for index, lane in enumerate(lanes):
        probability = lane[0][0].get("probability")
        label = _lane_label(container.kind, index, probability if isinstance(probability, float) else None)
        container.lanes.append((label, [box for _, box in lane]))


def from_graph(node: Node, steps: Sequence[Mapping[str, Any]]) -> list[Box]:
    """Boxes from the workflow's graph, each named state joined to its step in the result."""
    by_name: dict[str, Mapping[str, Any]] = {}
    for step in steps:
        by_name.setdefault(str(step.get("state", "")), step)
    return _boxes(node, by_name)


def _mean_items(items: Sequence[tuple[int, float]]) -> float | None:
    total = sum(weight for _, weight in items)
    return sum(count * weight for count, weight in items) / total if total > 0 else None


def _boxes(node: Node, by_name: Mapping[str, Mapping[str, Any]]) -> list[Box]:
    if isinstance(node, Steps):
        return [box for step in node.steps for box in _boxes(step, by_name)]
    step = by_name.get(node.name, {})
    if isinstance(node, Task):
        return [Box(node.name, "Task", {"function": node.function, **step})]
    if isinstance(node, Fixed):
        return [Box(node.name, "Fixed", step, note=node.reason)]
    box = Box(node.name, type(node).__name__, step)
    if isinstance(node, Parallel):
        box.lanes = [
            (_lane_label("Parallel", i, None), _boxes(branch, by_name))
            for i, branch in enumerate(node.branches)
        ]
    elif isinstance(node, Choice):
        box.lanes = [
            (_lane_label("Choice", i, p), _boxes(option, by_name))
            for i, (p, option) in enumerate(node.options)
        ]
    elif isinstance(node, Map):
        mean = _mean_items(node.items)
        limit = f", at most {node.max_concurrency} at a time" if node.max_concurrency else ""
        kind = "distributed Map" if node.distributed else "Map"
        box.note = f"{kind} over {mean:g} items{limit}" if mean is not None else f"{kind}{limit}"
        box.lanes = [("", _boxes(node.body, by_name))]
    elif isinstance(node, Nested):
        box.note = f"nested workflow {node.state_machine.rsplit(':', 1)[-1]}"
        box.lanes = [("", _boxes(node.body, by_name))]
    return [box]
