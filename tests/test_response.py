"""Crisis response on small hand-made cases: the rules of sim.response, one city opening and
closing emergency places, the cap that lapses under pressure, and governments' money."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import NEEDS_SHELTER, run, scenario
from test_kernels import features_table, integration_params, people, week_dims

from sim import response
from sim.codes import ECONOMIC_PR, SHELTER, STABLE
from sim.kernels import MF_SHELTER_QUALITY
from sim.outputs import frames
from sim.params_response import Politics, Response

# -------------------------------------------------------------------- pure rules


def test_strain_counts_people_outside_and_in_overflow_against_the_trigger():
    # 2 per 100k of 1,000,000 residents = 20 people
    assert not response.strained(10, 9, 1_000_000, 2.0)
    assert response.strained(10, 10, 1_000_000, 2.0)
    assert not response.strained(0, 0, 1_000_000, 0.0)  # nobody outside is never strain
    assert response.strained(1, 0, 1_000_000, 0.0)


def test_pressure_target_rises_with_people_outside_and_saturates():
    p = Politics(pressure_scale_per_100k=10.0)
    assert response.pressure_target(0, 1_000_000, p) == 0.0
    # 100 people in 1,000,000 = 10 per 100k -> 1 - 1/e
    assert response.pressure_target(100, 1_000_000, p) == pytest.approx(1 - math.exp(-1))
    assert response.pressure_target(10_000, 1_000_000, p) > 0.99


def test_places_fill_in_the_order_of_the_kinds():
    np.testing.assert_array_equal(response.fill_by_kind(7, np.array([5, 4, 3])), [5, 2, 0])
    np.testing.assert_array_equal(response.fill_by_kind(0, np.array([5, 4])), [0, 0])
    np.testing.assert_array_equal(response.fill_by_kind(20, np.array([5, 4])), [5, 4])


def test_order_spreads_the_gap_over_kinds_within_room_and_money():
    room = np.array([10, 100, 5, 50])
    rich = np.full(4, 10**9)
    # kinds 0, 1, 2 in that order; kind 3 is not the opener's
    np.testing.assert_array_equal(response.order(30, [0, 1, 2], room, rich), [10, 20, 0, 0])
    np.testing.assert_array_equal(response.order(200, [0, 1, 2], room, rich), [10, 100, 5, 0])
    poor = np.array([3, 4, 10**9, 10**9])
    np.testing.assert_array_equal(response.order(30, [0, 1, 2], room, poor), [3, 4, 5, 0])
    np.testing.assert_array_equal(response.order(0, [0, 1], room, rich), [0, 0, 0, 0])


def test_closing_keeps_occupied_places_and_closes_the_last_kinds_first():
    open_places = np.array([10, 10, 10])
    occupied = np.array([10, 4, 0])
    np.testing.assert_array_equal(response.closable(open_places, occupied, [0, 1, 2]),
                                  [0, 6, 10])
    # keep 5 empty places open: the 16 empty places become 11 to close, the last kind first
    np.testing.assert_array_equal(response.closable(open_places, occupied, [0, 1, 2], keep=5),
                                  [0, 1, 10])
    # only the opener's kinds close
    np.testing.assert_array_equal(response.closable(open_places, occupied, [1]), [0, 6, 0])


def test_running_cost_by_payer_and_shelter_quality():
    r = Response()  # community_space 420 mun, hotel 1340 mun, respite 900 mun, federal 1340 fed
    cost = response.cost_per_week(r, np.array([1, 2, 0, 3]), scale=10.0)
    assert cost[0] == pytest.approx(10 * (420 + 2 * 1340))  # municipal
    assert cost[1] == 0.0  # provincial
    assert cost[2] == pytest.approx(10 * 3 * 1340)  # federal
    # 10 in regular beds (quality 1), 10 in community space (0.6): mean 0.8
    assert response.quality_of_shelter(10, np.array([10, 0, 0, 0]), 0, r) == pytest.approx(0.8)
    assert response.quality_of_shelter(0, np.zeros(4, np.int64), 0, r) == 1.0


def test_bundled_kinds_keep_their_values_when_a_scenario_changes_one_field():
    r = Response(kinds={"hotel": {"lead_weeks": 1}})
    assert r.kinds["hotel"].lead_weeks == 1
    assert r.kinds["hotel"].cost_per_place_week == 1340.0
    assert list(r.kinds) == ["community_space", "hotel", "respite_site", "federal_site"]


# -------------------------------------------------------------------- one city
# 100 claimants a week need shelter against 400 beds in a city that cannot house them
# quickly; the city may open one kind of place (hotel rooms, 4 weeks' lead time).
KINDS = {"hotel": {"lead_weeks": 4, "cost_per_place_week": 1000.0, "max_per_100k": 1000.0,
                   "quality": 0.5},
         "community_space": {"max_per_100k": 0}, "respite_site": {"max_per_100k": 0},
         "federal_site": {"max_per_100k": 0}}
CITY = {
    "run": {"weeks": 40, "scale": 10.0},
    "streams": {"economic_pr": {"per_year": 0},
                "asylum_claimant": {"per_year": 5200, "housing_on_arrival": NEEDS_SHELTER}},
    "status": {"emigration_per_year": 0.0},
    "response": {"trigger_per_100k": 2.0, "trigger_weeks": 3, "close_weeks": 4, "margin": 0.0,
                 "funded_weeks": 13, "kinds": KINDS},
    "municipalities": [{"name": "Metro", "population": 800_000, "rental_stock": 20_000,
                        "vacancy_rate": 0.01, "shelter_beds": 400,
                        "newcomer_budget_per_year": 0, "reserves": 1e9,
                        "policies": {"intake_cap": True, "emergency_response": True}}],
    "politics": {"act_pressure": 1.0},  # the cap holds: places are the only answer
    "agencies": [],
}


def test_a_city_with_persistent_unsheltered_opens_places_after_the_lead_time():
    model = run(scenario(CITY))
    m = frames(model)[0]
    strained = m.index[m["unsheltered"] >= 16][0]  # 2 per 100k of 800,000
    ordered = strained + 2  # third week of strain
    opened = ordered + 4  # lead time
    assert (m["emergency_places"].iloc[:opened] == 0).all()
    assert m["emergency_on_order"].iloc[ordered] > 0
    assert m["emergency_places"].iloc[opened] == m["emergency_on_order"].iloc[ordered]
    # the people outside in the ordering week got a place (no margin: the gap exactly)
    assert m["emergency_places"].iloc[opened] == m["unsheltered"].iloc[ordered]
    assert m["emergency_occupancy"].iloc[opened] == m["emergency_places"].iloc[opened]
    assert any("orders" in e and "hotel" in e for _, e in model.events)


def test_the_city_pays_what_its_places_cost():
    m = frames(run(scenario(CITY)))[0]
    # every open place costs its week, occupied or not, from the city's newcomer money
    assert m["emergency_places"].max() > 0
    np.testing.assert_allclose(m["emergency_paid_municipal"], m["emergency_places"] * 1000.0)
    assert (m["emergency_paid_federal"] == 0).all()
    np.testing.assert_allclose(m["spend_line_emergency_places"], m["emergency_places"] * 1000.0)


def test_the_quality_of_emergency_places_scales_the_safety_of_people_in_shelter_only():
    pop = people(3, status=[ECONOMIC_PR] * 3, housing=[SHELTER, SHELTER, STABLE], muni=[0, 1, 0])
    feats = features_table(2, sentiment=1.0)
    feats[0, MF_SHELTER_QUALITY] = 0.5  # city 0: half its shelter users in places of quality 0
    dims = week_dims(pop, 10, integration_params(adjust=1.0), feats)
    # safety target: 0.5 in shelter x quality, 1.0 in stable housing (sentiment 1, permanent)
    np.testing.assert_allclose(dims[:, 4], [0.25, 0.5, 1.0], rtol=1e-6)


def test_places_close_when_pressure_falls_but_never_with_people_in_them():
    # arrivals stop after week 12: strain ends, then empty places close after close_weeks
    calm = CITY | {"shocks": [{"stream": "asylum_claimant", "start_week": 12, "end_week": 40,
                               "multiplier": 0.0}],
                   "housing": {"search_rate": 0.5}}
    model = run(scenario(calm))
    m = frames(model)[0]
    assert m["emergency_places"].max() > 0
    closed = [w for w, e in model.events if "closes" in e]
    assert closed
    assert (m["emergency_occupancy"] <= m["emergency_places"]).all()
    w = closed[0] + 1  # decided at the end of that week; a row shows the places it began with
    assert m["emergency_places"].iloc[w] < m["emergency_places"].iloc[w - 1]
    assert m["emergency_places"].iloc[w] >= m["emergency_occupancy"].iloc[w]


def test_a_city_without_money_opens_no_places():
    poor = CITY | {"municipalities": [CITY["municipalities"][0] | {"reserves": 0}],
                   "funding": {"ihap_share": 0.0}}  # no refunds either
    m = frames(run(scenario(poor)))[0]
    assert (m["emergency_places"] == 0).all()
    assert m["unsheltered"].iloc[-1] > 1000


def test_an_intake_cap_lapses_under_pressure_and_its_duration_is_an_outcome():
    lapsing = CITY | {"politics": {"act_pressure": 0.5, "pressure_scale_per_100k": 10.0,
                                   "pressure_adjust_per_week": 0.25}}
    model = run(scenario(lapsing))
    m = frames(model)[0]
    lifted = m.index[~m["intake_cap"].astype(bool)][0]
    assert 2 < lifted < 20
    assert m["pressure"].iloc[lifted] >= 0.5
    assert m["pressure"].iloc[lifted - 1] < 0.5
    assert any(f"lifts its intake cap after {lifted} weeks" in e for _, e in model.events)
    # without the cap the city opens overflow places: nobody stays outside for long
    assert m["unsheltered"].iloc[-5:].max() < m["unsheltered"].iloc[lifted - 1]


def test_federal_ad_hoc_top_up_comes_after_the_political_lag_and_pays_the_strain():
    fed = CITY | {
        "municipalities": [CITY["municipalities"][0] | {"reserves": 0}],
        "politics": {"act_pressure": 0.3},
        "governments": {"federal": {"shelter_funding": "adhoc", "envelope_per_year": 1e9,
                                    "political_lag_weeks": 5, "topup_weeks": 10}},
    }
    model = run(scenario(fed))
    m = frames(model)[0]
    crisis = [w for w, e in model.events if "ad hoc top-up" in e]
    assert crisis
    w = crisis[0]
    # the city had been strained and under pressure for the lag before the money came
    assert (m["pressure"].iloc[w - 5:w] >= 0.3).all()
    # the transfer is the federal government's spending: 10 weeks of strain at overflow cost
    strain = m["unsheltered"].iloc[w] + m["shelter_overflow"].iloc[w]
    assert m["spend_federal"].iloc[w] == pytest.approx(strain * 2000.0 * 10)
    assert m["municipal_cash"].iloc[w] > m["municipal_cash"].iloc[w - 1]


def test_formula_funding_is_paid_in_advance_each_quarter():
    fed = CITY | {
        "municipalities": [CITY["municipalities"][0] | {"reserves": 0}],
        "governments": {"federal": {"shelter_funding": "formula", "envelope_per_year": 1e9,
                                    "formula_share": 0.5}},
    }
    model = run(scenario(fed))
    advances = [w for w, e in model.events if "formula advance" in e]
    assert len(advances) >= 2
    assert all(b - a == 13 for a, b in zip(advances, advances[1:], strict=False))


def test_provincial_cost_share_reimburses_claimant_shelter_costs_after_its_lag():
    base = CITY | {"run": {"weeks": 30, "scale": 10.0},
                   "funding": {"ihap_share": 0.0},
                   "municipalities": [CITY["municipalities"][0] | {"province": "QC"}]}
    shared = base | {"governments": {"provinces": {"QC": {"claimant_cost_share": 0.5,
                                                          "cost_share_lag_weeks": 4}}}}
    m0, m1 = frames(run(scenario(base)))[0], frames(run(scenario(shared)))[0]
    assert (m0["spend_provincial"] == 0).all()
    assert (m1["spend_provincial"].iloc[:4] == 0).all()  # the lag
    assert m1["spend_provincial"].iloc[4:].sum() > 0
    # what the province pays comes off the city's spending
    total0 = m0[["spend_municipal", "spend_provincial"]].sum(axis=1)
    total1 = m1[["spend_municipal", "spend_provincial"]].sum(axis=1)
    np.testing.assert_allclose(total0, total1)


def test_unknown_province_in_governments_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="no municipality has province 'ON'"):
        scenario(CITY | {"governments": {"provinces": {"ON": {"claimant_cost_share": 0.5}}}})
