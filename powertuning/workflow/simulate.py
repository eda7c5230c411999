"""The Monte Carlo model: the end-to-end duration distribution of the workflow for one assignment of
sizes, composed along the graph (powertuning/workflow/graph.py), and the cost of one execution.

- `Task`: calls x the function's duration at its size (powertuning/workflow/duration.py) + the
  state's overhead, which is held fixed; a skipped function's Task draws the state's observed times.
- `Fixed`: resampled from the times the history showed.
- `Sequence` adds; `Parallel` takes the slowest branch; `Choice` runs one option, drawn by its
  observed frequency; `Nested` is its body.
- `Map`: the item count is drawn by the history's weights; the items run in waves of the Map's
  concurrency (MaxConcurrency; 0 means no limit of the definition's, yet an inline Map runs at most
  40 at once on AWS and a distributed one at most 10,000 child workflows, one item each). A wave
  lasts as long as its slowest item. Items are independent and alike, so the slowest of m is drawn
  as the body's empirical quantile at v^(1/m) (v uniform): exact for the body's simulated
  distribution, and one draw per wave instead of one simulation of the body per item. Waves are
  an upper bound of AWS's scheduling, which starts the next item as soon as any finishes.

Common random numbers: every uniform is drawn once, from `random.Random(seed)`, when the model is
built, and every assignment is evaluated on the same draws, so the difference between two
assignments is the sizes', not sampling noise. Every composition is monotone (sums, maxima,
quantiles of sorted draws), so an assignment that is no slower at every draw is no slower in every
statistic: the solver's bounds rest on this. The statistic ("average": the plain mean; "pNN" a
percentile) is taken on the simulated end-to-end draws, never summed from the functions' own.

Pure Python (the Lambda runtime has no numpy); each node's draws are cached per choice of the
functions under it, so changing one function recomputes only the states above its tasks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from random import Random
from typing import Final

from powertuning import stats
from powertuning.workflow import graph
from powertuning.workflow.duration import Duration, segments_of

DEFAULT_DRAWS: Final = 2000
# AWS runs at most 40 iterations of an inline Map at once, and 10,000 child workflows of a distributed one.
INLINE_MAP_LIMIT: Final = 40
DISTRIBUTED_MAP_LIMIT: Final = 10_000
# The fastest option at every draw (a lower bound for a function the solver has not chosen yet).
FASTEST: Final = -1
# Cached draws kept per node (the solver changes one function at a time and often goes back).
_CACHE_PER_NODE: Final = 6


@dataclass(frozen=True)
class Option:
    """One size a function can take: its memory, architecture, the cost of one call and its duration.

    `whole_state`: each Task state of the function draws its own observed times (`Task.samples_ms`: a
    skipped function; its calls and overhead are in them already), `duration` then only prices it.
    `source`: "measured", "interpolated", "nearest" or "observed".
    """

    memory: int
    architecture: str
    cost: float
    duration: Duration
    whole_state: bool = False
    source: str = "measured"


def statistic(values: Sequence[float], name: str) -> float:
    """The end-to-end statistic of simulated draws: "average" (mean) or "p50".."p99"."""
    if name == "average":
        return math.fsum(values) / len(values)
    return stats.percentile(values, float(name[1:]))


class _Node:
    """A compiled graph node: its draws per choice of the functions under it."""

    def __init__(self, source: graph.Node, children: list[_Node], functions: tuple[str, ...]) -> None:
        self.source = source
        self.children = children
        self.functions = functions
        self.cache: dict[tuple[int, ...], list[float]] = {}


class Simulation:
    """The workflow's Monte Carlo model on fixed draws (see the module docstring)."""

    def __init__(
        self,
        root: graph.Node,
        options: Mapping[str, Sequence[Option]],
        *,
        draws: int = DEFAULT_DRAWS,
        seed: int = 0,
    ) -> None:
        if draws < 1:
            raise ValueError("draws must be at least 1")
        missing = [f for f in graph.functions(root) if not options.get(f)]
        if missing:
            raise ValueError(f"no sizes to choose from for {', '.join(missing)}")
        self.draws = draws
        self.options = {f: tuple(o) for f, o in options.items()}
        self.functions = graph.functions(root)
        self._index = {f: i for i, f in enumerate(self.functions)}
        self._rng = Random(seed)
        # Per compiled node: its uniforms and what they select (drawn in walk order: the same every time).
        self._task_draws: dict[int, tuple[list[float], list[tuple[int, float]]]] = {}
        self._fixed_draws: dict[int, list[float]] = {}
        self._map_waves: dict[int, list[list[int]]] = {}
        self._choice_picks: dict[int, list[int]] = {}
        self._option_draws: dict[tuple[int, int], list[float]] = {}
        self.root = self._compile(root)
        self.evaluated = 0

    # -- building ---------------------------------------------------------------------------------

    def _compile(self, node: graph.Node) -> _Node:
        children: list[_Node] = []
        if isinstance(node, graph.Sequence):
            children = [self._compile(s) for s in node.steps]
        elif isinstance(node, graph.Parallel):
            children = [self._compile(b) for b in node.branches]
        elif isinstance(node, graph.Map | graph.Nested):
            children = [self._compile(node.body)]
        elif isinstance(node, graph.Choice):
            children = [self._compile(o) for _, o in node.options]
        names: dict[str, None] = {}
        for child in children:
            names.update(dict.fromkeys(child.functions))
        if isinstance(node, graph.Task):
            names[node.function] = None
        compiled = _Node(node, children, tuple(sorted(names, key=self._index.__getitem__)))
        key = id(compiled)
        rng, n = self._rng, self.draws
        if isinstance(node, graph.Task):
            us = [rng.random() for _ in range(n)]
            self._task_draws[key] = (us, segments_of(us))
        elif isinstance(node, graph.Fixed):
            samples = node.samples_ms or (0.0,)
            self._fixed_draws[key] = [
                samples[min(int(rng.random() * len(samples)), len(samples) - 1)] for _ in range(n)
            ]
        elif isinstance(node, graph.Map):
            self._map_waves[key] = self._waves(node, rng)
        elif isinstance(node, graph.Choice):
            self._choice_picks[key] = _picks([p for p, _ in node.options], rng, n)
        return compiled

    def _waves(self, node: graph.Map, rng: Random) -> list[list[int]]:
        """Per draw, the rank (in the body's sorted draws) of each wave's slowest item."""
        limit = DISTRIBUTED_MAP_LIMIT if node.distributed else INLINE_MAP_LIMIT
        concurrency = min(node.max_concurrency, limit) if node.max_concurrency > 0 else limit
        counts = [c for c, _ in node.items] or [0]
        picks = _picks([w for _, w in node.items] or [1.0], rng, self.draws)
        n = self.draws
        out = []
        for pick in picks:
            items = counts[pick]
            ranks = []
            while items > 0:
                width = min(items, concurrency)
                ranks.append(min(int(rng.random() ** (1.0 / width) * n), n - 1))
                items -= width
            out.append(ranks)
        return out

    # -- evaluating -------------------------------------------------------------------------------

    def durations(self, choice: Mapping[str, int]) -> list[float]:
        """The end-to-end draws (ms) with each function at `choice[f]` (an index into its options,
        or FASTEST: at every draw its fastest option's duration)."""
        self.evaluated += 1
        return self._eval(self.root, choice)

    def statistic(self, choice: Mapping[str, int], name: str) -> float:
        """The end-to-end statistic of an assignment."""
        return statistic(self.durations(choice), name)

    def _eval(self, node: _Node, choice: Mapping[str, int]) -> list[float]:
        key = tuple(choice[f] for f in node.functions)
        cached = node.cache.get(key)
        if cached is not None:
            return cached
        values = self._compute(node, choice, key)
        if len(node.cache) >= _CACHE_PER_NODE:
            node.cache.pop(next(iter(node.cache)))
        node.cache[key] = values
        return values

    def _compute(self, node: _Node, choice: Mapping[str, int], key: tuple[int, ...]) -> list[float]:
        source, ident = node.source, id(node)
        if isinstance(source, graph.Task):
            return self._task(ident, source, key[0])
        if isinstance(source, graph.Fixed):
            return self._fixed_draws[ident]
        parts = [self._eval(child, choice) for child in node.children]
        if isinstance(source, graph.Sequence):
            if not parts:
                return [0.0] * self.draws
            return parts[0] if len(parts) == 1 else [sum(t) for t in zip(*parts, strict=True)]
        if isinstance(source, graph.Parallel):
            return [max(t) for t in zip(*parts, strict=True)] if parts else [0.0] * self.draws
        if isinstance(source, graph.Map):
            ordered = sorted(parts[0])
            return [sum([ordered[r] for r in ranks]) for ranks in self._map_waves[ident]]
        if isinstance(source, graph.Choice):
            return [parts[p][i] for i, p in enumerate(self._choice_picks[ident])]
        return parts[0]  # Nested

    def _task(self, ident: int, task: graph.Task, index: int) -> list[float]:
        cached = self._option_draws.get((ident, index))
        if cached is not None:
            return cached
        options = self.options[task.function]
        if index == FASTEST:
            values = [
                min(t) for t in zip(*(self._task(ident, task, i) for i in range(len(options))), strict=True)
            ]
        else:
            option = options[index]
            us, segments = self._task_draws[ident]
            if option.whole_state:
                # Each state that calls the function keeps the times the history showed for it.
                values = Duration.empirical(task.samples_ms or (0.0,)).values(us, segments)
            else:
                calls, overhead = task.calls, task.overhead_ms
                values = [calls * v + overhead for v in option.duration.values(us, segments)]
        self._option_draws[(ident, index)] = values
        return values

    # -- explaining --------------------------------------------------------------------------------

    def explain(self, choice: Mapping[str, int]) -> Explanation:
        """Where the time goes for one assignment: per named state its share of the end-to-end time
        spent on the slowest path, and the path (the named states on it) that is slowest most often."""
        total = self.durations(choice)
        values: dict[int, list[float]] = {}
        self._values(self.root, choice, values)
        contributions: dict[int, float] = {}
        paths: dict[tuple[str, ...], int] = {}
        memo: dict[tuple[int, int], tuple[tuple[str, ...], dict[int, float]]] = {}
        for i in range(self.draws):
            path, parts = self._attribute(self.root, i, values, memo)
            for key, ms in parts.items():
                contributions[key] = contributions.get(key, 0.0) + ms
            named = tuple(dict.fromkeys(path))
            paths[named] = paths.get(named, 0) + 1
        grand = math.fsum(total) or 1.0
        steps: list[tuple[graph.Node, str | None, float]] = []
        self._collect(self.root, None, contributions, grand, steps)
        critical = max(paths.items(), key=lambda kv: kv[1])[0] if paths else ()
        return Explanation(tuple(steps), critical)

    def _collect(
        self,
        node: _Node,
        parent: str | None,
        contributions: Mapping[int, float],
        grand: float,
        out: list[tuple[graph.Node, str | None, float]],
    ) -> None:
        name = getattr(node.source, "name", None)
        if name is not None:
            out.append((node.source, parent, contributions.get(id(node), 0.0) / grand))
        for child in node.children:
            self._collect(child, name if name is not None else parent, contributions, grand, out)

    def _values(self, node: _Node, choice: Mapping[str, int], out: dict[int, list[float]]) -> None:
        out[id(node)] = self._eval(node, choice)
        for child in node.children:
            self._values(child, choice, out)

    def _attribute(
        self,
        node: _Node,
        i: int,
        values: Mapping[int, list[float]],
        memo: dict[tuple[int, int], tuple[tuple[str, ...], dict[int, float]]],
    ) -> tuple[tuple[str, ...], dict[int, float]]:
        """The named states on the slowest path of draw i under `node`, and each node's time on it."""
        key = (id(node), i)
        if key in memo:
            return memo[key]
        source = node.source
        value = values[id(node)][i]
        path: tuple[str, ...] = ()
        parts: dict[int, float] = {}
        if isinstance(source, graph.Sequence):
            for child in node.children:
                sub_path, sub = self._attribute(child, i, values, memo)
                path += sub_path
                _merge(parts, sub)
        elif isinstance(source, graph.Parallel | graph.Choice | graph.Nested):
            if isinstance(source, graph.Parallel):
                pick = max(range(len(node.children)), key=lambda b: values[id(node.children[b])][i])
            else:
                pick = self._choice_picks[id(node)][i] if isinstance(source, graph.Choice) else 0
            path, parts = self._attribute(node.children[pick], i, values, memo)
            parts = dict(parts)
        elif isinstance(source, graph.Map):
            body = values[id(node.children[0])]
            order = self._order(node, body)
            ranks = self._map_waves[id(node)][i]
            longest = max(ranks, key=lambda r: body[order[r]], default=None)
            for r in ranks:
                sub_path, sub = self._attribute(node.children[0], order[r], values, memo)
                _merge(parts, sub)
                if r == longest:
                    path = sub_path
        name = getattr(source, "name", None)
        if name is not None:
            path = (name, *path)
        parts[id(node)] = value
        memo[key] = (path, parts)
        return path, parts

    def _order(self, node: _Node, body: list[float]) -> list[int]:
        # The draws of the body by duration: rank r of a wave is the draw order[r].
        cached = getattr(node, "order", None)
        if cached is None or cached[0] is not body:
            cached = (body, sorted(range(len(body)), key=body.__getitem__))
            node.order = cached  # type: ignore[attr-defined]
        return cached[1]


@dataclass(frozen=True)
class Explanation:
    """Per named state (walk order): the graph node, its enclosing named state, its share of the
    end-to-end time on the slowest path; and the states of the path slowest most often."""

    steps: tuple[tuple[graph.Node, str | None, float], ...]
    critical_path: tuple[str, ...]

    def function_shares(self) -> dict[str, float]:
        """Each function's share of the end-to-end time (its tasks' shares added)."""
        out: dict[str, float] = {}
        for node, _, share in self.steps:
            if isinstance(node, graph.Task):
                out[node.function] = out.get(node.function, 0.0) + share
        return out


def _merge(into: dict[int, float], parts: Mapping[int, float]) -> None:
    for key, ms in parts.items():
        into[key] = into.get(key, 0.0) + ms


def _picks(weights: Sequence[float], rng: Random, n: int) -> list[int]:
    """n draws of an index, each with probability proportional to its weight."""
    total = sum(max(w, 0.0) for w in weights)
    if total <= 0:
        return [0] * n
    cumulative, running = [], 0.0
    for w in weights:
        running += max(w, 0.0) / total
        cumulative.append(running)
    out = []
    for _ in range(n):
        u = rng.random()
        out.append(next((i for i, c in enumerate(cumulative) if u < c), len(weights) - 1))
    return out


def expected_calls(node: graph.Node) -> dict[str, float]:
    """The mean calls one execution makes of each function (Map items and retries included)."""
    if isinstance(node, graph.Task):
        return {node.function: node.calls}
    if isinstance(node, graph.Fixed):
        return {}
    if isinstance(node, graph.Sequence | graph.Parallel):
        parts = node.steps if isinstance(node, graph.Sequence) else node.branches
        return _add([expected_calls(p) for p in parts], [1.0] * len(parts))
    if isinstance(node, graph.Map):
        total = sum(w for _, w in node.items)
        mean_items = sum(c * w for c, w in node.items) / total if total > 0 else 0.0
        return _add([expected_calls(node.body)], [mean_items])
    if isinstance(node, graph.Choice):
        total = sum(p for p, _ in node.options) or 1.0
        return _add([expected_calls(o) for _, o in node.options], [p / total for p, _ in node.options])
    return expected_calls(node.body)


def _add(parts: Sequence[Mapping[str, float]], factors: Sequence[float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for part, factor in zip(parts, factors, strict=True):
        for f, calls in part.items():
            out[f] = out.get(f, 0.0) + calls * factor
    return out
