"""Scenario-level behaviour: the patterns of MODEL.md section 1, each as paired runs."""

from __future__ import annotations

import numpy as np
from conftest import NEEDS_SHELTER, run, scenario

from sim.codes import ASYLUM, NON_STATUS, STATUSES, STUDENT, SVC_DONE, SVC_IN_SERVICE, TEMP_WORKER
from sim.outputs import frames

# One city where claimants arrive faster than they can leave shelter: rentals are scarce.
SURGE_CITY = {
    "run": {"weeks": 78},
    "streams": {"economic_pr": {"per_year": 0},
                "asylum_claimant": {"per_year": 5200, "housing_on_arrival": NEEDS_SHELTER}},
    "municipalities": [{"name": "Metro", "population": 800_000, "rental_stock": 20_000,
                        "vacancy_rate": 0.01, "shelter_beds": 400,
                        "newcomer_budget_per_year": 2e6, "reserves": 1e6}],
    "agencies": [],
    # a council that holds its cap whatever the pressure (the cap's lapse: test_crisis.py)
    "politics": {"act_pressure": 1.0},
}


def _totals(sc):
    return frames(run(sc))[1]


def test_arrivals_above_exits_fill_the_shelters():
    t = _totals(scenario(SURGE_CITY | {"municipalities": [
        SURGE_CITY["municipalities"][0] | {"policies": {"intake_cap": True}}]}))
    # 100 claimants a week against 400 beds: full within weeks and staying full.
    assert t["shelter_occupancy"].iloc[:4].max() < 400
    assert (t["shelter_occupancy"].iloc[20:] == 400).all()


def test_intake_cap_leaves_people_unsheltered():
    capped = SURGE_CITY["municipalities"][0] | {"policies": {"intake_cap": True}}
    t = _totals(scenario(SURGE_CITY | {"municipalities": [capped]}))
    assert t["shelter_occupancy"].max() <= 400
    assert t["unsheltered"].iloc[-1] > 1000  # ~100 a week arrive, a few leave


def test_funded_interim_housing_leaves_nobody_unsheltered():
    capped = SURGE_CITY["municipalities"][0] | {"policies": {"intake_cap": True},
                                               "interim_places": 20_000}
    t = _totals(scenario(SURGE_CITY | {"municipalities": [capped]}))
    assert (t["unsheltered"] == 0).all()
    assert t["interim_occupancy"].iloc[-1] > 3000
    assert t["spend_federal"].iloc[-1] > 3000 * 1340  # interim places are paid federally


def test_uncapped_city_opens_paid_overflow_until_money_runs_out():
    t = _totals(scenario(SURGE_CITY))
    assert t["shelter_occupancy"].max() > 400  # overflow beyond beds
    assert t["shelter_overflow"].max() > 0
    m = frames(run(scenario(SURGE_CITY)))[0]
    assert (m["municipal_cash"] >= -1e-6).all()  # no deficit allowed here


# Temporary residents and rejected claimants (non-status) beside permanent residents.
PRECARIOUS_MIX = {
    "run": {"weeks": 104},
    "streams": {
        "economic_pr": {"per_year": 500},
        "temporary_worker": {"per_year": 500},
        "asylum_claimant": {"per_year": 500},
    },
    "status": {"asylum_decision_weeks": 2, "asylum_acceptance": 0.0, "rejected_departure": 0.0,
               "permit_to_pr": 0.0, "permit_renewal": 1.0, "permit_departure": 0.0,
               "emigration_per_year": 0.0},
    "moves": {"base_per_year": 0.0},
    # claimants are decided within weeks; keep them off municipal hours meanwhile so that
    # whatever non-status people receive, they received without status
    "services": {"eligibility": {"municipal": ["economic_pr", "temporary_worker"]}},
    "municipalities": [{"name": "Metro", "population": 800_000, "rental_stock": 120_000,
                        "shelter_beds": 5000, "newcomer_budget_per_year": 5e6}],
}
FEDERAL_ONLY = [{"name": "ISA", "municipality": "Metro", "staff_fte": 20,
                 "grants": [{"funder": "federal", "amount_per_year": 1.5e6, "kind": "core"}]}]
WITH_MUNICIPAL = [FEDERAL_ONLY[0] | {"staff_fte": 30, "grants": FEDERAL_ONLY[0]["grants"] + [
    {"funder": "municipal", "amount_per_year": 7.5e5, "kind": "core"}]}]


def _served(model, statuses):
    a = model.migrants
    rows = np.isin(a.status, statuses)
    served = (a.svc_state[rows] == SVC_IN_SERVICE) | (a.svc_state[rows] == SVC_DONE)
    return int(served.any(axis=1).sum()), int(rows.sum())


def test_federal_services_do_not_serve_temporary_or_non_status_residents():
    model = run(scenario(PRECARIOUS_MIX | {"agencies": FEDERAL_ONLY}))
    served, people = _served(model, [TEMP_WORKER, STUDENT, NON_STATUS, ASYLUM])
    assert people > 500
    assert served == 0
    served_pr, _ = _served(model, [STATUSES.index("economic_pr")])
    assert served_pr > 100


def test_access_without_fear_with_municipal_money_serves_them_and_raises_integration():
    base = PRECARIOUS_MIX | {"agencies": WITH_MUNICIPAL}
    awf_muni = PRECARIOUS_MIX["municipalities"][0] | {"policies": {"access_without_fear": True}}
    without = run(scenario(base))
    with_awf = run(scenario(base | {"municipalities": [awf_muni]}))
    # municipal hours serve temporary workers either way, non-status people only under AWF
    assert _served(without, [NON_STATUS])[0] == 0
    served, people = _served(with_awf, [NON_STATUS])
    assert people > 300
    assert served > 50
    t_without, t_with = frames(without)[1].iloc[-1], frames(with_awf)[1].iloc[-1]
    assert t_with["index_non_status"] > t_without["index_non_status"] + 0.02


GRANT_CLIFF = {
    "run": {"weeks": 130},
    "funding": {"layoff_lag_weeks": 8, "hire_lag_weeks": 8},
    # 25 client hours less the 15% the old fixed referral waste took, so the counts below hold
    "services": {"client_hours_per_fte_week": 21.25},
    # 2,000 adult arrivals a year, a fifth of them want language training: 400 a year
    "streams": {"economic_pr": {"per_year": 2000, "age_shares": {"core": 1.0}},
                "asylum_claimant": {"per_year": 0}},
    "municipalities": [{"name": "Metro", "population": 800_000, "rental_stock": 120_000,
                        "shelter_beds": 500}],
}


def _cliff_agency(end_week):
    # reserves pay the notice period of the staff the lost grant paid for
    # 20 FTE of language training start ~550 clients a year, 10 FTE ~275 a year
    return [{"name": "ISA", "municipality": "Metro", "services": ["language"], "staff_fte": 20,
             "reserves": 2e5, "grants": [
        {"funder": "federal", "amount_per_year": 7.5e5, "kind": "core"},
        {"funder": "provincial", "amount_per_year": 7.5e5, "kind": "program",
         "end_week": end_week, "renewal_probability": 0.0}]}]


def test_expiring_grants_shrink_staff_after_the_layoff_lag_and_waiting_lists_grow():
    cliff = frames(run(scenario(GRANT_CLIFF | {"agencies": _cliff_agency(52)})))[1]
    steady = frames(run(scenario(GRANT_CLIFF | {"agencies": _cliff_agency(None)})))[1]
    staff = cliff.set_index("week")["staff_fte"]
    assert staff[59] == 20  # notice period: nobody leaves before week 52 + 8
    assert staff[60] == 10  # half the money, half the staff
    assert (steady["staff_fte"] == 20).all()
    waiting_cliff = cliff.set_index("week")["waiting_language"]
    waiting_steady = steady.set_index("week")["waiting_language"]
    # The list grows after the cliff (0 before, 132 by week 129); with the grant it stays
    # empty. A few give up (13 from week 70 at the language lapse of 0.002 a week, ODD 7.5).
    assert waiting_cliff[60] == 0
    assert waiting_cliff[129] > waiting_cliff[60] + 100
    assert waiting_steady.loc[70:].max() < 10
    lapsed = [t.set_index("week")["requests_lapsed_language"].loc[70:].sum()
              for t in (cliff, steady)]
    assert lapsed[0] > lapsed[1]
    assert cliff.set_index("week")["mean_wait_language"].loc[110:].mean() > 10  # ~20 weeks


def test_more_employment_service_capacity_raises_employment():
    def agency(employment_fte):
        return [{"name": "Jobs", "municipality": "Metro", "services": ["employment"],
                 "staff_fte": employment_fte, "grants": [
                     {"funder": "provincial", "amount_per_year": employment_fte * 75_000,
                      "kind": "core"}]}]

    base = GRANT_CLIFF | {"run": {"weeks": 104, "seed": 5},
                          "services": {"employment": {"takeup": 0.8}}}
    low = frames(run(scenario(base | {"agencies": agency(1)})))[1].iloc[-1]
    high = frames(run(scenario(base | {"agencies": agency(30)})))[1].iloc[-1]
    assert high["employment_rate"] > low["employment_rate"] + 0.06  # ~0.11 over seeds 5-7
