"""Every factor of every shipped experiment moves at least one reported outcome.

A factor whose levels give identical rows tells a reader that the lever does not matter,
when it is the experiment that offers a lever the model does not connect (Millbrook's
budget under a fixed intake cap did this). Each factor is run one at a time at each of its
levels (ranges: low and high), the other factors at the base scenario's values, over at
most two years, with the seed of the experiment's first run; comparisons run each scenario.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest

from experiments.design import Plan, load_plan
from experiments.schema import Comparison, Factorial
from sim import paths
from sim.runner import simulate
from sim.scenario import validate

EXPERIMENTS = sorted((Path(__file__).parent.parent / "experiments").glob("*.toml"))
# The experiment's own horizon, at most two years: some levers act only at the second fiscal
# year (a backlash threshold cuts a budget once sentiment has fallen below it).
MAX_WEEKS = 104


def _summary(plan: Plan, base: str, sets: dict) -> dict[str, float]:
    data = copy.deepcopy(plan.bases[base])
    for key, value in sets.items():
        paths.set_in_data(data, key, value)
    data["run"]["weeks"] = min(int(data["run"].get("weeks", MAX_WEEKS)), MAX_WEEKS)
    data["run"]["seed"] = plan.runs()[0].seed
    return simulate(validate(data, plan.path)).summary


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    return all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in
               zip(a.values(), b.values(), strict=True))


def _levels(plan: Plan, factor: str) -> list:
    design = plan.experiment.design
    if isinstance(design, Factorial):
        return list(design.factors[factor])
    r = design.ranges[factor]
    return [r.low, r.high]


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_every_level_of_every_factor_gives_a_different_outcome(path):
    plan = load_plan(path)
    if isinstance(plan.experiment.design, Comparison):
        rows = {p.scenario: _summary(plan, p.base, p.sets) for p in plan.points}
        names = list(rows)
        same = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]
                if _same(rows[a], rows[b])]
        assert not same, f"{path.name}: scenarios with identical outcomes: {same}"
        return
    assert plan.factor_names
    for factor in plan.factor_names:
        levels = _levels(plan, factor)
        rows = [_summary(plan, "base", {factor: v}) for v in levels]
        same = [(levels[i], levels[j]) for i in range(len(rows)) for j in range(i + 1, len(rows))
                if _same(rows[i], rows[j])]
        assert not same, f"{path.name}: {factor} levels {same} give identical outcomes"


def test_millbrooks_budget_buys_overflow_places_in_funding_levels():
    plan = load_plan(Path(__file__).parent.parent / "experiments" / "funding_levels.toml")
    factor = "municipalities.Millbrook.newcomer_budget_per_year"
    low, mid, high = (_summary(plan, "base", {factor: v}) for v in _levels(plan, factor))
    assert low["unsheltered_person_weeks"] > mid["unsheltered_person_weeks"] \
        > high["unsheltered_person_weeks"]
    assert low["spend_municipal"] < mid["spend_municipal"] < high["spend_municipal"]
