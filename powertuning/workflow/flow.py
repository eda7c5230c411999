"""The flow of one scope of a state machine as a graph of state names: what is reachable, where
branches join (immediate post-dominators), and its loops (strongly connected states).

`EXIT` stands for the end of the scope (End, Succeed, Fail; in a loop's body, the end of an iteration).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from powertuning.errors import WorkflowModelError

EXIT: Final = "\x00exit"
_EXIT: Final = EXIT


@dataclass(frozen=True)
class Loop:
    """A loop: its one entry state, its states, where it leaves to."""

    head: str
    members: frozenset[str]
    exit: str


def reachable(start: str, edges: Mapping[str, tuple[str, ...]]) -> list[str]:
    seen: dict[str, None] = {}
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name == _EXIT:
            continue
        seen[name] = None
        todo += list(edges.get(name, ()))
    return list(seen)


def post_dominators(nodes: Sequence[str], edges: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
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


def loops(nodes: Sequence[str], start: str, edges: Mapping[str, tuple[str, ...]]) -> dict[str, Loop]:
    """Each loop (a strongly connected set of states with a cycle), by its entry state."""
    found: dict[str, Loop] = {}
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
        found[head] = Loop(head, members, next(iter(exits), _EXIT))
    return found


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
