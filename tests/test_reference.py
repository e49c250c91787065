"""The numba core and the plain-Mesa reference (benchmarks/reference_mesa.py) agree in distribution.

Their random draws differ (counter-based streams against Mesa's stdlib generator), so runs
are compared over seeds: for each outcome, Welch's t-test of the reference's ten runs
against the core's ten (on disjoint seeds, so the samples are independent) must not reject
equal means at a family-wise 1% level. ``test_a_changed_rule_is_detected`` and
``test_a_changed_lapse_rule_is_detected`` show the same comparison fails when one rule
differs in one model only. Requests lapse and are made again after a change of status with
the default settings in both (ODD 7.5); their yearly counts, in total and by service, must
also agree within a tolerance set from their sampling error.
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
from sim.params import Scenario

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
}
REFERENCE_SEEDS = range(101, 111)
CORE_SEEDS = range(1, 11)
OUTCOMES = ("employment_rate", "integration_index", "mean_shelter_occupancy",
            "services_started", "stable_housing_share", "mean_unsheltered",
            "waiting_language_at_end", "secondary_moves", "departures",
            "requests_lapsed_per_year", "requests_remade_per_year")
KINDS = ("lapsed", "remade")  # requests lapsed, made again after a change of status
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
            **{f"requests_{kind}_per_year": sum(_per_year(t, kind, s) for s in SERVICES)
               for kind in KINDS},
            **{f"{kind}_{s}": _per_year(t, kind, s) for kind in KINDS for s in SERVICES},
        })
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def _per_year(t, kind: str, service: str) -> float:
    """Requests of ``service`` lapsed or made again per year of the weekly table ``t``."""
    return t[f"requests_{kind}_{service}"].sum() * 52.0 / len(t)


def differing(a: dict, b: dict) -> dict[str, float]:
    """Outcomes whose means differ (Welch p < ALPHA), with their p-values."""
    p = {k: stats.ttest_ind(a[k], b[k], equal_var=False).pvalue for k in OUTCOMES}
    return {k: v for k, v in p.items() if v < ALPHA}


@pytest.fixture(scope="module")
def reference():
    return outcomes(ReferenceModel, REFERENCE_SEEDS)


@pytest.fixture(scope="module")
def core():
    return outcomes(ReceptionModel, CORE_SEEDS)


def test_reference_agrees_with_the_core(reference, core):
    diff = differing(reference, core)
    assert not diff, "; ".join(f"{k}: reference {reference[k].mean():.4g}, core "
                               f"{core[k].mean():.4g} (p = {p:.2g})" for k, p in diff.items())


# How far the mean requests lapsed and made again per year (over the ten seeds of each model)
# may differ, relative to the core's. Measured between-seed standard deviations (seeds
# 101-110 against 1-10, and 201-210 against 11-40), as a share of the mean: lapsed 2.8-3.9%
# in the reference, 2.1% in the core; made again 4.0-5.1% and 3.4-4.7%; by service at most
# 6.1% and 3.9% (lapsed) and 9.0% and 6.4% (made again). With ten seeds each the standard
# error of the difference of the means is then at most 1.4% and 2.2% (totals), 2.3% and
# 3.5% (a service); the tolerances are four of those, so an honest twin fails a check in
# 0.13% of seed sets (t with ~14 degrees of freedom), about 1% for all ten, while a lapse
# or take-up rule off by a tenth for all, or by a sixth for one service, fails.
REQUEST_TOLERANCE = {"total": {"lapsed": 0.06, "remade": 0.09},
                     "service": {"lapsed": 0.09, "remade": 0.14}}


def request_gaps(a: dict, b: dict) -> dict[str, str]:
    """Yearly request counts whose means in ``a`` and ``b`` differ by more than their
    tolerance, relative to ``b``'s, described."""
    gaps = {}
    for kind in KINDS:
        checks = [(f"requests_{kind}_per_year", REQUEST_TOLERANCE["total"][kind])]
        checks += [(f"{kind}_{s}", REQUEST_TOLERANCE["service"][kind]) for s in SERVICES]
        for key, tolerance in checks:
            gap = a[key].mean() / b[key].mean() - 1.0
            if abs(gap) > tolerance:
                gaps[key] = (f"{key}: {a[key].mean():.1f} against {b[key].mean():.1f} a year "
                             f"({gap:+.1%}, tolerance {tolerance:.0%})")
    return gaps


def test_requests_lapse_and_are_made_again_as_in_the_core(reference, core):
    for kind in KINDS:  # every service takes part, in both
        for s in SERVICES:
            assert min(reference[f"{kind}_{s}"].mean(), core[f"{kind}_{s}"].mean()) > 50
    gaps = request_gaps(reference, core)
    assert not gaps, "reference against core: " + "; ".join(gaps.values())


def test_a_changed_rule_is_detected(reference):
    # Job finding 20% faster in the core only: the employment rate must be flagged.
    faster = outcomes(ReceptionModel, CORE_SEEDS, {"employment": {"job_find_per_week": 0.048}})
    assert "employment_rate" in differing(reference, faster)


def test_a_changed_lapse_rule_is_detected(reference):
    # In the core only, people no funder with hours may serve give up after 10 weeks on
    # average instead of 4 (measured: 10% fewer requests lapse a year, p ~ 1e-5).
    patient = outcomes(ReceptionModel, CORE_SEEDS,
                       {"services": {"lapse_unservable_per_week": 0.1}})
    assert "requests_lapsed_per_year" in differing(reference, patient)
    assert "requests_lapsed_per_year" in request_gaps(reference, patient)


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
        assert (agents.iloc[:30] == 0).all()
        assert (agents.iloc[30:] == 5).all()
    ref, core = (t["claims_backlog"].to_numpy() for t in tables)
    assert ref[-1] > 200
    assert abs(ref[-1] - core[-1]) < 0.5 * ref[-1]


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
    """A run of seed 5 of ``changes`` to the test base (or of a ``Scenario``)."""
    model = model_class(scenario=changes if isinstance(changes, Scenario) else scenario(changes),
                        seed=5)
    model.run()
    return model


def test_reference_refers_francophones_as_the_core():
    """Everyone francophone, and outside a RIF no francophone's referral fits: in both models
    nobody starts a service in the city without a RIF, every hour spent there on referrals is
    francophones' misreferred hours, and the city with a RIF starts people (at the LIP
    chance)."""
    fr = {"francophone_share": 1.0}
    changes = CHANGES | {
        "run": {"weeks": 20},
        "streams": {s: CHANGES["streams"].get(s, {}) | fr for s in
                    ("economic_pr", "asylum_claimant", "temporary_worker", "student")},
        "francophone": {"referral_fit_without_rif": 0.0}}
    for cls in (ReferenceModel, ReceptionModel):
        sc = scenario(changes)
        sc.municipalities[0].policies.rif = True  # Metro; Town has none
        rows = frames(_run(cls, sc))[0]
        town, metro = (rows[rows["municipality"] == name] for name in ("Town", "Metro"))
        started = [sum(c[f"started_{s}"].sum() for s in SERVICES) for c in (town, metro)]
        misreferred = [sum(c[f"hours_misreferred_{s}"].sum() for s in SERVICES)
                       for c in (town, metro)]
        assert started[0] == 0
        assert started[1] > 100
        assert misreferred[0] > 0
        assert town["hours_misreferred_francophone"].sum() == pytest.approx(misreferred[0])
        assert metro["hours_misreferred_francophone"].sum() == pytest.approx(misreferred[1])
