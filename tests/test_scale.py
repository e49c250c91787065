"""The population scale factor: 1 agent = k people, counts scaled back to people."""

from __future__ import annotations

import numpy as np
from conftest import scenario

from sim.runner import simulate
from sim.state import bytes_per_migrant

CITY = {"run": {"weeks": 104, "seed": 2},
        "streams": {"economic_pr": {"per_year": 20_000}, "asylum_claimant": {"per_year": 10_000}}}


def test_scaled_run_reproduces_people_counts():
    exact = simulate(scenario(CITY | {"run": CITY["run"] | {"scale": 1}}))
    scaled = simulate(scenario(CITY | {"run": CITY["run"] | {"scale": 20}}))
    assert scaled.record["agents"] < exact.record["agents"] / 15
    e, s = exact.totals.iloc[-1], scaled.totals.iloc[-1]
    # 60,000 expected arrivals: Poisson noise at scale 20 is ~0.6%; rounding of capacities adds
    assert abs(exact.totals["arrivals"].sum() - 60_000) < 1_000
    assert abs(scaled.totals["arrivals"].sum() - 60_000) < 2_000
    for col in ("newcomers", "shelter_occupancy", "status_protected_person"):
        assert np.isclose(s[col], e[col], rtol=0.1), col
    for col in ("employment_rate", "integration_index"):
        assert np.isclose(s[col], e[col], atol=0.03), col


def test_state_costs_under_100_bytes_per_migrant():
    assert bytes_per_migrant() <= 100
