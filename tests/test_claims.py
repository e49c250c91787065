"""The claims board as a capacity (sim/claims.py, claims_board in the schema, ODD 7.2)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import run, scenario
from pydantic import ValidationError

from sim.claims import ClaimsQueue
from sim.codes import ASYLUM, DEPARTED, NON_STATUS, PROTECTED
from sim.model import ReceptionModel
from sim.outputs import frames
from sim.params_claims import ClaimsBoard

# Only claimants arrive, nobody emigrates: the backlog changes only by arrivals and decisions.
CLAIMANTS_ONLY = {"streams": {"economic_pr": {"per_year": 0}},
                  "status": {"emigration_per_year": 0.0}}


def fake_model(per_year, backlog=0.0, stock_rows=0, scale=1.0, pending=0):
    return SimpleNamespace(
        scenario=SimpleNamespace(claims_board=ClaimsBoard(decisions_per_year=per_year,
                                                          backlog_at_start=backlog)),
        scale=scale, migrants=SimpleNamespace(n=stock_rows),
        pending_stock_claims=lambda rows: pending)


def test_without_a_capacity_claims_keep_their_own_delays():
    queue = ClaimsQueue(fake_model(None, backlog=500))
    assert queue.quota(fake_model(None)) == -1
    sc = scenario({"run": {"weeks": 30}, "status": {"asylum_decision_weeks": 10}})
    t = frames(run(sc))[1]
    assert (t["claims_decided"] == t["asylum_accepted"] + t["asylum_rejected"]).all()
    assert (t["claims_backlog"] == t["status_asylum_claimant"]).all()
    assert t["claims_decided"].sum() > 200  # ~1,000 claims a year decided after ~10 weeks


def test_capacity_carries_fractions_and_idle_capacity_is_lost():
    model = fake_model(per_year=26.0, scale=10.0)  # 0.05 agents a week
    queue = ClaimsQueue(model)
    quotas = []
    for _ in range(40):
        q = queue.quota(model)
        queue.settle(q, q)
        quotas.append(q)
    assert sum(quotas) == 2
    assert quotas[19] == 1
    assert quotas[39] == 1
    model = fake_model(per_year=520.0)
    queue = ClaimsQueue(model)
    queue.credit = 0.5
    quota = queue.quota(model)  # 10.5 funded
    assert quota == 10
    queue.settle(quota, 3)  # the queue had only 3 claims: 7 decisions are not banked
    assert abs(queue.credit - 0.5) < 1e-12


def test_the_earlier_backlog_and_the_stock_are_worked_off_in_proportion():
    model = fake_model(per_year=520.0, backlog=300.0, stock_rows=100, pending=100)
    queue = ClaimsQueue(model)
    assert queue.earlier == 200.0  # the 100 stock claimants are agents, the rest are not
    quota = queue.quota(model)  # 10 a week: 2/3 to the earlier claims, 1/3 to the stock
    assert abs(queue.decided_earlier - 20 / 3) < 1e-12
    assert quota == 3
    assert abs(queue.backlog(100) - (100 + 200 - 20 / 3)) < 1e-12


def test_a_funded_board_decides_its_capacity_each_week_and_the_backlog_balances():
    sc = scenario(CLAIMANTS_ONLY | {"run": {"weeks": 60},
                                    "claims_board": {"decisions_per_year": 520,
                                                     "backlog_at_start": 100}})
    t = frames(run(sc))[1]
    assert (t["claims_decided"] == 10.0).all()  # 520 / 52, the queue never runs dry
    # backlog(w) = backlog(w-1) + claims made - claims decided (no one emigrates)
    previous = np.concatenate([[100.0], t["claims_backlog"].to_numpy()[:-1]])
    balance = previous + t["arrivals"] - t["claims_decided"] - t["claims_backlog"]
    assert np.abs(balance).max() < 1e-9
    assert t["claims_backlog"].iloc[-1] > 500  # ~1,000 claims a year against 520 decisions


def test_claims_made_before_week_0_are_decided_first():
    sc = scenario(CLAIMANTS_ONLY | {"run": {"weeks": 30},
                                    "claims_board": {"decisions_per_year": 520,
                                                     "backlog_at_start": 200}})
    t = frames(run(sc))[1]
    agents = t["asylum_accepted"] + t["asylum_rejected"]
    assert (agents.iloc[:20] == 0).all()  # 200 earlier claims at 10 a week
    assert (agents.iloc[20:] == 10).all()


def test_the_in_shelter_stock_is_decided_over_the_clearing_of_the_week0_backlog():
    sc = scenario(CLAIMANTS_ONLY | {
        "run": {"weeks": 40},
        "claims_board": {"decisions_per_year": 520, "backlog_at_start": 300}})
    sc.municipalities[0].initial_shelter_occupancy = 100
    sc.municipalities[1].initial_shelter_occupancy = 0
    model = run(sc, weeks=15)
    a = model.migrants
    stock_left = np.count_nonzero(a.status[:100] == ASYLUM) / 100
    earlier_left = model.claims.earlier / 200
    assert 0.4 < stock_left < 0.6
    assert abs(stock_left - earlier_left) < 0.04
    later = slice(100, a.n)
    assert not np.any((a.status[later] == PROTECTED) | (a.status[later] == NON_STATUS)
                      | ((a.status[later] == ASYLUM) & (a.housing[later] == DEPARTED)))


def test_a_board_funded_below_the_claims_made_keeps_people_claimants_and_in_shelter():
    """The headline effect, paired seeds: the same arrivals, a board deciding 400 claims a year
    instead of 2,000 (above the ~1,000 made): a backlog, fewer protected persons, and more
    people in shelter in the third year (claimants are not refused and do not leave)."""
    out = {}
    for cap in (2000, 400):
        rows = []
        for seed in range(1, 5):
            sc = scenario({"run": {"weeks": 156, "seed": seed},
                           "claims_board": {"decisions_per_year": cap}})
            t = frames(run(sc))[1]
            rows.append((t["claims_backlog"].iloc[-1], t["status_protected_person"].iloc[-1],
                         t["shelter_occupancy"].iloc[-52:].mean()))
        out[cap] = np.array(rows)
    funded, starved = out[2000], out[400]
    assert (funded[:, 0] < 50).all()
    assert (starved[:, 0] > 1_400).all()
    assert (starved[:, 1] < 0.6 * funded[:, 1]).all()
    assert (starved[:, 2] > funded[:, 2] + 30).all()


def test_acceptance_by_claim_year_maps_weeks_to_calendar_years_and_refuses_typos():
    sc = scenario({"run": {"weeks": 60},
                   "claims_board": {"acceptance_by_claim_year": {"2022": 0.1, "2024": 0.4}}})
    sc.municipalities[0].initial_shelter_occupancy = 5
    model = ReceptionModel(scenario=sc)
    a = model.acceptance
    assert (a.first, a.stock_rows, len(a.by_week)) == (-1, 5, 62)
    # week -1 (2022-12-26: the week-0 stock's claims), 2023 at the default, 2024 from week 52
    assert a.by_week[0] == 0.1
    assert set(a.by_week[1:53]) == {0.72}
    assert set(a.by_week[53:]) == {0.4}
    assert len(model.acceptance_to(70).by_week) == 72  # a run past run.weeks extends it
    for table, problem in (({"24": 0.4}, "claim year 24 is outside 1990-2100"),
                           ({"2024": 1.2}, "acceptance 1.2 for claim year 2024 is not in")):
        with pytest.raises(ValidationError, match=problem) as err:
            scenario({"claims_board": {"acceptance_by_claim_year": table}})
        assert "acceptance_by_claim_year" in str(err.value)


def test_a_lower_acceptance_for_2024_claims_leaves_more_of_them_without_status():
    """The headline effect, paired seeds: the same claimants, 2024 claims accepted at 0.4
    instead of the default 0.72. Claims are decided after ~10 weeks, so by week 156 nearly
    all 2024 claims are decided; claims of other years keep the default rate."""
    out = {}
    for table in ({}, {"2024": 0.4}):
        counts = []
        for seed in (1, 2):
            sc = scenario(CLAIMANTS_ONLY | {
                "run": {"weeks": 156, "seed": seed}, "status": {"asylum_decision_weeks": 10,
                                                                "emigration_per_year": 0.0},
                "claims_board": {"acceptance_by_claim_year": table}})
            model = run(sc)
            a = model.migrants
            year = np.array([model.date_of(w).year for w in a.arrival_week])
            rows = []
            for y in (2023, 2024):
                mine = year == y
                rows.append((np.count_nonzero(mine & (a.status == PROTECTED)),
                             np.count_nonzero(mine & ((a.status == NON_STATUS)
                                                      | (a.housing == DEPARTED))),
                             np.count_nonzero(mine & (a.status == ASYLUM)
                                              & (a.housing != DEPARTED))))
            counts.append(rows)
        out[bool(table)] = np.array(counts)  # [seed, 2023/2024, protected/refused/pending]
    default, lower = out[False], out[True]
    assert (default[:, :, 2] < 5).all()  # nearly all decided
    assert (lower[:, :, 2] < 5).all()
    assert (default[:, 1].sum(axis=1) == lower[:, 1].sum(axis=1)).all()  # the same claimants
    decided = default[:, 1, :2].sum(axis=1)  # ~1,000 claims made in 2024
    assert (abs(default[:, 1, 0] / decided - 0.72) < 0.04).all()
    assert (abs(lower[:, 1, 0] / decided - 0.40) < 0.04).all()
    fewer = default[:, 1, 0] - lower[:, 1, 0]  # measured 293 and 345 fewer protected persons
    assert (fewer > 250).all()
    assert (lower[:, 1, 1] - default[:, 1, 1] == fewer).all()  # each one refused instead
    assert (lower[:, 0] == default[:, 0]).all()  # 2023 claims: the same draws, the same fate
