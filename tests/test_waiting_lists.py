"""Waiting lists that clear: requests lapse and are made again (ODD 7.5), paired seeds.

canada_baseline at week 78 (end of June 2024), with and without lapsing, same seeds. Without
it every request made on arrival waits until served, and the language list holds ~60,000
people (seeds 1, 2: 62,475 and 59,125; children do not ask, and the province rules open
provincial hours to claimants in Ontario and Québec); 2-3% of them are people no funder with
hours in their city may serve.
"""

from __future__ import annotations

import pytest

from sim.explain import waiting_by_funder
from sim.model import ReceptionModel
from sim.outputs import frames
from sim.params import Scenario
from sim.paths import scenario_file
from sim.scenario import load_scenario

SEEDS = (1, 2)
WEEK = 78


def baseline(lapsing: bool) -> Scenario:
    """canada_baseline, or the same with requests only on arrival and never withdrawn."""
    sc = load_scenario(scenario_file("canada_baseline"))
    if not lapsing:
        for service in sc.services.by_code():
            service.lapse_per_week = 0.0
        sc.services.lapse_unservable_per_week = 0.0
        sc.services.takeup_on_status_change = 0.0
    return sc


def language_at_week_78(lapsing: bool, seed: int) -> dict[str, float]:
    model = ReceptionModel(scenario=baseline(lapsing), seed=seed)
    model.run(WEEK + 1)
    muni, _ = frames(model)
    last = muni[muni["week"] == WEEK]
    waiting = last["waiting_language"].sum()
    table = waiting_by_funder(model)
    lang = table[table["service"] == "language"]
    return {
        "waiting": waiting,
        "no_funder_with_hours": (last["waiting_no_hours_language"].sum()
                                 + last["waiting_no_funder_language"].sum()) / waiting,
        "not_federal": 1.0 - lang["waiting_eligible_federal"].sum() / waiting,
        "lapsed": muni["requests_lapsed_language"].sum(),
        "remade": muni["requests_remade_language"].sum(),
        "started": muni["started_language"].sum(),
    }


@pytest.fixture(scope="module")
def paired():
    return {seed: {on: language_at_week_78(on, seed) for on in (False, True)} for seed in SEEDS}


def test_lapsing_shortens_the_language_list(paired):
    # seed 1: 62,475 -> 52,800 waiting (10,475 lapsed); seed 2: 59,125 -> 48,375 (11,300)
    for seed, run in paired.items():
        assert run[False]["waiting"] > 50_000, seed
        assert run[True]["waiting"] < 0.9 * run[False]["waiting"], seed
        assert run[False]["lapsed"] == run[False]["remade"] == 0
        assert run[True]["lapsed"] > 8_000, seed


def test_people_no_funder_with_hours_may_serve_leave_the_list_first(paired):
    # seed 1: 2.3% -> 0.4%; seed 2: 3.1% -> 0.2% of the language list
    for seed, run in paired.items():
        assert run[False]["no_funder_with_hours"] > 0.01, seed
        assert run[True]["no_funder_with_hours"] < 0.3 * run[False]["no_funder_with_hours"], seed


def test_the_list_left_is_people_federal_money_may_not_serve(paired):
    # Federal hours serve the few people they may at once, with or without lapsing, so the
    # share of the list that federal money may not serve stays high (seed 1: 99.7% -> 99.6%;
    # seed 2: 99.6% -> 99.5%): claimants, workers and students waiting for provincial,
    # municipal and charity hours. Claimants accepted as protected persons ask again.
    for seed, run in paired.items():
        assert run[False]["not_federal"] > 0.98, seed
        assert 0.9 < run[True]["not_federal"] < run[False]["not_federal"], seed
        assert run[True]["remade"] > 5_000, seed
        assert run[True]["started"] > run[False]["started"], seed
