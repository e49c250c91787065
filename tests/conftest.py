"""Shared builders: small scenarios written as plain dicts, changed per test."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sim.model import ReceptionModel
from sim.params import Scenario

# The smallest scenario file that validates: one city, one stream (tests of files and the CLI).
ONE_CITY_TOML = """[run]
weeks = 20
scale = 5
progress = false
[streams.economic_pr]
per_year = 2000
[[municipalities]]
name = "Metro"
population = 500000
rental_stock = 60000
shelter_beds = 200
"""

NEEDS_SHELTER = {"needs_shelter": 1.0, "friends_family": 0.0, "precarious_rental": 0.0,
                 "stable_housing": 0.0}

BASE: dict[str, Any] = {
    "scenario": {"name": "test"},
    "run": {"weeks": 104, "seed": 11, "scale": 1, "progress": False},
    "streams": {
        "economic_pr": {"per_year": 1500},
        "asylum_claimant": {"per_year": 1000, "housing_on_arrival": NEEDS_SHELTER},
    },
    "municipalities": [
        {"name": "Metro", "kind": "gateway", "population": 800_000, "rental_stock": 120_000,
         "vacancy_rate": 0.015, "shelter_beds": 250, "newcomer_budget_per_year": 1.5e6,
         "reserves": 2e5, "lat": 43.7, "lon": -79.4, "destination_weight": 4.0},
        {"name": "Town", "kind": "small_town", "population": 20_000, "rental_stock": 2_500,
         "shelter_beds": 15, "newcomer_budget_per_year": 5e4, "lat": 44.4, "lon": -79.7,
         "transport_access": 0.3, "destination_weight": 0.25},
    ],
    "agencies": [
        {"name": "Metro Settlement", "municipality": "Metro", "staff_fte": 8,
         "grants": [{"funder": "federal", "amount_per_year": 6e5, "kind": "core"}]},
        {"name": "Town Services", "municipality": "Town", "staff_fte": 1,
         "grants": [{"funder": "provincial", "amount_per_year": 7.5e4, "kind": "core"}]},
    ],
}


def scenario(changes: dict[str, Any] | None = None, base: dict | None = None) -> Scenario:
    """A validated scenario: ``base`` (default BASE) with ``changes`` merged in."""
    data = copy.deepcopy(base or BASE)
    _merge(data, changes or {})
    return Scenario.model_validate(data)


def _merge(into: dict, changes: dict) -> None:
    for k, v in changes.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = copy.deepcopy(v)


def run(sc: Scenario, weeks: int | None = None) -> ReceptionModel:
    model = ReceptionModel(scenario=sc)
    model.run(weeks)
    return model


@pytest.fixture
def base_scenario() -> Scenario:
    return scenario()
