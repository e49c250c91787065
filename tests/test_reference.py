"""The numba core and the plain-Mesa reference (benchmarks/reference_mesa.py) agree in distribution.

Their random draws differ (counter-based streams against Mesa's stdlib generator), so runs
are compared over seeds: for each outcome, Welch's t-test of the reference's ten runs
against the core's ten (on disjoint seeds, so the samples are independent) must not reject
equal means at a family-wise 1% level. ``test_a_changed_rule_is_detected`` shows the same
comparison fails when one rule differs in one model only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import scenario
from scipy import stats

from sim.codes import DEPARTED, SERVICES
from sim.model import ReceptionModel
from sim.outputs import frames
from sim.params import Services

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from reference_mesa import Person, ReferenceModel  # noqa: E402

# The test base scenario (two cities, two agencies, ~3,200 arrivals a year at scale 1) with
# every status path exercised within 78 weeks: permits expire, claims are decided, non-status
# people regularize; the town runs access without fear, the city has interim places.
CHANGES = {
    "run": {"weeks": 78},
    "streams": {"temporary_worker": {"per_year": 400}, "student": {"per_year": 300}},
    "status": {"permit_weeks_worker": 30, "permit_weeks_student": 40,
               "regularization_per_year": 0.3, "asylum_decision_weeks": 30},
    # The reference has no lapsing or renewed requests (ODD 7.5): requests only on arrival.
    "services": {**{s: getattr(Services(), s).model_dump() | {"lapse_per_week": 0.0}
                    for s in SERVICES},
                 "lapse_unservable_per_week": 0.0, "takeup_on_status_change": 0.0},
}
REFERENCE_SEEDS = range(101, 111)
CORE_SEEDS = range(1, 11)
OUTCOMES = ("employment_rate", "integration_index", "mean_shelter_occupancy",
            "services_started", "stable_housing_share", "mean_unsheltered",
            "waiting_language_at_end", "secondary_moves", "departures")
ALPHA = 0.01 / len(OUTCOMES)  # Bonferroni: a false alarm in under 1% of seed sets


def outcomes(model_class, seeds, changes=None) -> dict[str, np.ndarray]:
    rows = []
    for seed in seeds:
        sc = scenario(CHANGES | (changes or {}))
        model = model_class(scenario=sc, seed=seed)
        model.run()
        t = frames(model)[1]
        last = t.iloc[-1]
        rows.append({
            "employment_rate": last["employment_rate"],
            "integration_index": last["integration_index"],
            "mean_shelter_occupancy": t["shelter_occupancy"].mean(),
            "services_started": sum(t[f"started_{s}"].sum() for s in SERVICES),
            "stable_housing_share": last["housing_stable_housing"] / last["newcomers"],
            "mean_unsheltered": t["unsheltered"].mean(),
            "waiting_language_at_end": last["waiting_language"],
            "secondary_moves": t["moved_out"].sum(),
            "departures": t["departures"].sum(),  # emigration, refused claimants, permits
        })
    return {k: np.array([r[k] for r in rows]) for k in OUTCOMES}


def differing(a: dict, b: dict) -> dict[str, float]:
    """Outcomes whose means differ (Welch p < ALPHA), with their p-values."""
    p = {k: stats.ttest_ind(a[k], b[k], equal_var=False).pvalue for k in OUTCOMES}
    return {k: v for k, v in p.items() if v < ALPHA}


@pytest.fixture(scope="module")
def reference():
    return outcomes(ReferenceModel, REFERENCE_SEEDS)


def test_reference_agrees_with_the_core(reference):
    core = outcomes(ReceptionModel, CORE_SEEDS)
    diff = differing(reference, core)
    assert not diff, "; ".join(f"{k}: reference {reference[k].mean():.4g}, core "
                               f"{core[k].mean():.4g} (p = {p:.2g})" for k, p in diff.items())


def test_a_changed_rule_is_detected(reference):
    # Job finding 20% faster in the core only: the employment rate must be flagged.
    faster = outcomes(ReceptionModel, CORE_SEEDS, {"employment": {"job_find_per_week": 0.048}})
    assert "employment_rate" in differing(reference, faster)


def test_reference_migrants_are_mesa_agents_in_arrival_order():
    model = ReferenceModel(scenario=scenario(CHANGES), seed=3)
    model.run(10)
    people = list(model.agents_by_type[Person])
    assert len(people) > 300
    assert all(isinstance(p, Person) for p in people)
    assert [p.unique_id for p in people] == sorted(p.unique_id for p in people)
    weeks = [p.arrival_week for p in people]
    assert weeks == sorted(weeks)
    present = sum(p.housing != DEPARTED for p in people)
    assert frames(model)[1]["newcomers"].iloc[-1] == present


def test_reference_follows_a_funded_claims_board():
    """Under a capacity both decide exactly the board's quota each week, earlier claims first,
    and keep the same backlog while the queue never runs dry (the quota does not depend on
    random draws, only on who is still waiting)."""
    board = {"claims_board": {"decisions_per_year": 260, "backlog_at_start": 150}}
    changes = CHANGES | board | {"run": {"weeks": 40}}
    tables = [frames(_run(cls, changes))[1] for cls in (ReferenceModel, ReceptionModel)]
    for t in tables:
        assert (t["claims_decided"] == 5.0).all()
        agents = t["asylum_accepted"] + t["asylum_rejected"]
        assert (agents.iloc[:30] == 0).all() and (agents.iloc[30:] == 5).all()
    ref, core = (t["claims_backlog"].to_numpy() for t in tables)
    assert ref[-1] > 200 and abs(ref[-1] - core[-1]) < 0.5 * ref[-1]


def test_reference_accepts_claims_at_the_rate_of_their_claim_year():
    """Claims of 2023 accepted at 0, of the week-0 stock (claims of 2022) at 1: both models
    accept exactly the stock's decided claims and refuse every other."""
    board = {"claims_board": {"acceptance_by_claim_year": {"2022": 1.0, "2023": 0.0}}}
    for cls in (ReferenceModel, ReceptionModel):
        sc = scenario(CHANGES | board | {"run": {"weeks": 40}})
        sc.municipalities[0].initial_shelter_occupancy = 30
        sc.status.emigration_per_year = 0.0  # so none of the stock leaves before its decision
        model = cls(scenario=sc, seed=5)
        model.run()
        t = frames(model)[1]
        assert t["asylum_accepted"].sum() == 30  # the stock, due within 30 weeks
        assert t["asylum_rejected"].sum() > 100  # 2023 claims, decided after ~30 weeks


def _run(model_class, changes):
    model = model_class(scenario=scenario(changes), seed=5)
    model.run()
    return model
