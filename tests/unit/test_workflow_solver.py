"""powertuning/workflow/solver.py: the pick equals a brute-force optimum on the same draws; an
unreachable target is reported unmet; a bounded search's gap is a true bound."""

from __future__ import annotations

import itertools
import random

import pytest

from powertuning.workflow import graph as g
from powertuning.workflow.duration import Duration
from powertuning.workflow.simulate import FASTEST, Option, Simulation, expected_calls
from powertuning.workflow.solver import solve

SIZES = (128, 256, 512, 1024, 2048)


def curve(rng: random.Random, sizes: tuple[int, ...]) -> list[Option]:
    """A function whose time is CPU work (shrinking with memory up to 1 vCPU) plus waiting, each
    size's spread drawn at random: realistic, and not always monotone."""
    work, wait = rng.uniform(50, 800), rng.uniform(5, 200)
    out = []
    for memory in sizes:
        median = work * 128 / min(memory, 1769) + wait * rng.uniform(0.9, 1.1)
        spread = rng.uniform(1.1, 1.6)
        knots = (median * 0.5, median, median * spread, median * spread * 1.1, median * spread * 1.4)
        price = median * memory / 1024 / 1000 * 0.0000166667 + 0.0000002
        out.append(Option(memory, "x86_64", price, Duration(knots, median * 0.1 * spread)))
    return out


def tasks(names: str) -> list[g.Task]:
    return [g.Task(n.upper(), n) for n in names]


A, B, C, D, E, F = tasks("abcdef")
GRAPHS = {
    "sequence": g.Sequence((A, B, C)),
    "parallel": g.Sequence((A, g.Parallel("P", (B, g.Sequence((C, D)))))),
    "map": g.Sequence((A, g.Map("M", g.Sequence((B, C)), ((10, 1.0), (3, 2.0)), 3))),
    "choice": g.Sequence(
        (g.Choice("Ch", ((0.3, A), (0.7, g.Sequence((B, g.Fixed("W", (40.0, 90.0), "Wait")))))), C)
    ),
    "mixed": g.Sequence(
        (
            A,
            g.Parallel("P", (B, C)),
            g.Map("M", D, ((10, 1.0),), 3),
            g.Choice("Ch", ((0.5, E), (0.5, g.Fixed("W", (10.0,), "Wait")))),
        )
    ),
}


def setup(
    name: str, seed: int, sizes: tuple[int, ...] = SIZES, draws: int = 300
) -> tuple[Simulation, dict[str, list[float]]]:
    root = GRAPHS[name]
    rng = random.Random(seed)
    functions = g.functions(root)
    options = {f: curve(rng, sizes) for f in functions}
    sim = Simulation(root, options, draws=draws, seed=seed)
    calls = expected_calls(root)
    costs = {f: [calls[f] * o.cost for o in options[f]] for f in functions}
    return sim, costs


def brute_force(
    sim: Simulation, costs: dict[str, list[float]], statistic: str, target: float
) -> tuple[float | None, float]:
    """(cost, statistic) of the cheapest assignment within the target, and the lowest statistic."""
    best: float | None = None
    lowest = float("inf")
    functions = sim.functions
    for combo in itertools.product(*(range(len(costs[f])) for f in functions)):
        choice = dict(zip(functions, combo, strict=True))
        value = sim.statistic(choice, statistic)
        lowest = min(lowest, value)
        if value <= target:
            cost = sum(costs[f][choice[f]] for f in functions)
            if best is None or cost < best:
                best = cost
    return best, lowest


def targets(sim: Simulation, statistic: str) -> list[float]:
    low = sim.statistic(dict.fromkeys(sim.functions, FASTEST), statistic)
    high = sim.statistic(dict.fromkeys(sim.functions, 0), statistic)
    return [low + (high - low) * share for share in (0.02, 0.2, 0.5, 0.8)] + [high * 1.01]


@pytest.mark.parametrize("statistic", ["average", "p90", "p99"])
@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_the_pick_is_the_brute_force_optimum(name: str, statistic: str) -> None:
    sim, costs = setup(name, seed=len(name))
    for target in targets(sim, statistic):
        optimum, _ = brute_force(sim, costs, statistic, target)
        solution = solve(sim, costs, statistic, target)
        assert solution.method == "exact"
        assert solution.max_gap_pct == 0.0
        if optimum is None:
            assert not solution.met
            continue
        assert solution.met
        assert solution.statistic <= target
        assert solution.cost == pytest.approx(optimum, rel=1e-12)
        assert solution.cost == pytest.approx(sum(costs[f][solution.choice[f]] for f in sim.functions))


def test_an_unreachable_target_is_reported_unmet_with_the_lowest_statistic() -> None:
    sim, costs = setup("mixed", seed=4)
    _, lowest = brute_force(sim, costs, "p90", 0.0)
    solution = solve(sim, costs, "p90", lowest * 0.5)
    assert not solution.met
    # the pick's statistic is no lower than what is possible, and the gap bounds how far above it is
    assert solution.statistic >= lowest - 1e-9
    floor = solution.statistic * (1 - solution.max_gap_pct / 100)
    assert floor <= lowest + 1e-9


def test_a_function_that_never_sets_the_pace_takes_its_cheapest_size() -> None:
    # GIVEN a branch that is always far quicker than the other
    root = g.Parallel("P", (g.Task("Slow", "slow"), g.Task("Quick", "quick")))
    slow = [Option(m, "x86_64", m * 1e-9, Duration.constant(10_000 * 128 / m)) for m in SIZES]
    quick = [Option(m, "x86_64", m * 1e-9, Duration.constant(10 * 128 / m)) for m in SIZES]
    sim = Simulation(root, {"slow": slow, "quick": quick}, draws=50)
    costs = {"slow": [o.cost for o in slow], "quick": [o.cost for o in quick]}
    solution = solve(sim, costs, "average", 3000)
    assert solution.met
    assert solution.choice == {"slow": 2, "quick": 0}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_bounded_search_reports_a_true_gap(seed: int) -> None:
    # GIVEN a space of 5^6 assignments and a budget far too small to search it
    root = g.Sequence((A, g.Parallel("P", (B, g.Sequence((C, D)))), g.Map("M", E, ((6, 1.0),), 2), F))
    rng = random.Random(seed)
    options = {f: curve(rng, SIZES) for f in g.functions(root)}
    sim = Simulation(root, options, draws=150, seed=seed)
    costs = {f: [o.cost * expected_calls(root)[f] for o in options[f]] for f in sim.functions}
    for target in targets(sim, "p95")[1:4]:
        optimum, _ = brute_force(sim, costs, "p95", target)
        assert optimum is not None
        solution = solve(sim, costs, "p95", target, max_evaluations=40)
        assert solution.met
        assert solution.statistic <= target
        assert solution.cost >= optimum * (1 - 1e-12)
        if solution.method == "bounded":
            # THEN the optimum is no cheaper than the bound says
            assert optimum >= solution.cost * (1 - solution.max_gap_pct / 100) * (1 - 1e-12)
        else:
            assert solution.cost == pytest.approx(optimum)
        # and with the budget it needs, the search is exact
        full = solve(sim, costs, "p95", target)
        assert full.method == "exact"
        assert full.cost == pytest.approx(optimum)


def test_the_search_reports_what_it_evaluated_and_how_long_it_took() -> None:
    sim, costs = setup("map", seed=9)
    solution = solve(sim, costs, "average", targets(sim, "average")[1])
    assert solution.evaluated > 0
    assert solution.seconds >= 0
