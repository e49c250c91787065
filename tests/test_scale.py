"""The population scale factor: 1 agent = k people, counts scaled back to people."""

from __future__ import annotations

import numpy as np
from conftest import scenario

from sim.codes import SERVICES
from sim.runner import simulate
from sim.state import bytes_per_migrant

CITY = {"run": {"weeks": 104, "seed": 2},
        "streams": {"economic_pr": {"per_year": 20_000}, "asylum_claimant": {"per_year": 10_000}}}


def test_scaled_run_reproduces_people_counts():
    exact = simulate(scenario(CITY | {"run": CITY["run"] | {"scale": 1}}))
    scaled = simulate(scenario(CITY | {"run": CITY["run"] | {"scale": 20}}))
    assert scaled.record["migrant_agents"] < exact.record["migrant_agents"] / 15
    e, s = exact.totals.iloc[-1], scaled.totals.iloc[-1]
    # 60,000 expected arrivals: Poisson noise at scale 20 is ~0.6%; rounding of capacities adds
    assert abs(exact.totals["arrivals"].sum() - 60_000) < 1_000
    assert abs(scaled.totals["arrivals"].sum() - 60_000) < 2_000
    for col in ("newcomers", "status_protected_person", "unsheltered"):
        assert np.isclose(s[col], e[col], rtol=0.1), col
    # occupancy near capacity moves in steps of one agent (20 people): compare run means
    late = slice(20, None)
    assert np.isclose(scaled.totals["shelter_occupancy"][late].mean(),
                      exact.totals["shelter_occupancy"][late].mean(), rtol=0.15)
    for col in ("employment_rate", "integration_index"):
        assert np.isclose(s[col], e[col], atol=0.03), col


def test_state_costs_under_100_bytes_per_migrant():
    assert bytes_per_migrant() == 85  # 58 + the lazy dimensions (26) + the tally's flags (1)
    assert bytes_per_migrant() <= 100


def test_small_service_pools_still_serve_at_a_large_scale():
    # At scale 100 the Town agency's ~5 client-hours a week per service are 0.05 agent-hours:
    # without carrying fractions over, nobody there would ever be served.
    started = [f"started_{s}" for s in ("orientation", "language", "employment", "housing_help")]

    def starts(scale):
        # requests never lapse here: at scale 100 the pool takes months to hold one
        # client-week, longer than a lapsing request waits (lapsing: test_waiting_lists.py)
        never = {s: {"lapse_per_week": 0.0} for s in SERVICES}
        m = simulate(scenario({"run": {"weeks": 104, "scale": scale},
                               "services": never | {"lapse_unservable_per_week": 0.0}})
                     ).municipalities
        return m[started].sum().sum(), m.query("municipality == 'Town'")[started].sum().sum()

    exact_all, exact_town = starts(1)
    scaled_all, _ = starts(10)
    _, coarse_town = starts(100)
    assert exact_town > 100
    assert np.isclose(scaled_all, exact_all, rtol=0.1)  # 1,980 vs 2,008 people
    assert coarse_town > 0
