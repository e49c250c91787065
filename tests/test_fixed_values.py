"""Values the model computes once from the parameters (``ReceptionModel.fixed``) follow a
timeline change from the week it applies; agencies' hours offered, computed for every agency
at once, match a hand calculation."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import BASE, scenario

from sim.agency import AgencyTable, offer_hours
from sim.codes import ECONOMIC_PR, FEDERAL, SERVICES
from sim.kernels import MF_LABOUR
from sim.model import ReceptionModel


def test_timeline_change_reaches_the_values_kept_for_the_run() -> None:
    sc = scenario({"run": {"weeks": 6}, "timeline": [{"week": 3, "set": {
        "moves.base_per_year": 0.5, "municipalities.Metro.interim_places": 400,
        "municipalities.Town.labour_demand": 0.45}}]})
    model = ReceptionModel(scenario=sc)
    for _ in range(3):
        model.step()
    before = model.move_choices()[0].copy()
    assert model.shelter_capacity()[1][0] != round(400 / model.scale)
    labour = model.city_features()[:, MF_LABOUR]
    model.step()  # week 3: the change applies before anything else
    assert model.city_features()[1, MF_LABOUR] == 0.45 != labour[1]
    assert model.city_features()[0, MF_LABOUR] == labour[0]
    mv = model.scenario.moves
    want = np.array([0.5 / 52 * (1.0 + mv.transport_factor * (1.0 - m.params.transport_access))
                     for m in model.municipalities])
    np.testing.assert_array_equal(model.move_choices()[0], want)
    assert not np.array_equal(before, want)
    assert model.shelter_capacity()[1][0] == round(400 / model.scale)


def test_timeline_change_of_a_stream_reaches_its_arrivals() -> None:
    sc = scenario({"run": {"weeks": 6}, "timeline": [{"week": 3, "set": {
        "streams.economic_pr.housing_on_arrival": {"stable_housing": 1.0}}}]})
    model = ReceptionModel(scenario=sc)
    a = model.migrants
    for week in range(6):
        first = a.n
        model.step()
        arrived = (a.arrival_week[first:] == week) & (a.status[first:] == ECONOMIC_PR)
        stable = a.view("stable_week")[first:][arrived] == week
        assert arrived.sum() > 10
        assert stable.all() == (week >= 3)


def test_timeline_change_of_an_agency_reaches_its_hours_and_quality() -> None:
    sc = scenario({"run": {"weeks": 4}, "timeline": [{"week": 2, "set": {
        "agencies.Metro Settlement.services": ["language"],
        "agencies.Metro Settlement.quality": 0.9}}]})
    model = ReceptionModel(scenario=sc)
    language = SERVICES.index("language")
    for week in range(4):
        model.step()
        offered = model.week_stats["hours_offered"][0].sum(axis=1) > 0  # Metro, by service
        only_language = offered[language] and offered.sum() == 1
        assert only_language == (week >= 2)
        assert (model.quality[0, language] == 0.9) == (week >= 2)


def test_offer_hours_follow_waiting_lists_by_flexibility() -> None:
    agency = {**BASE["agencies"][0], "services": ["orientation", "employment"],
              "flexibility": 0.5, "staff_fte": 2}
    model = ReceptionModel(scenario=scenario({"agencies": [agency]}))
    waiting = np.zeros((2, len(SERVICES)))
    waiting[0, SERVICES.index("orientation")] = 10
    waiting[0, SERVICES.index("employment")] = 30
    waiting[0, SERVICES.index("language")] = 99  # not offered: no pull
    hours = offer_hours(model.agencies, AgencyTable.of(model.agencies), 0,
                        model.scenario.services, waiting)
    total = 2 * model.scenario.services.client_hours_per_fte_week
    # half evenly over the two services, half by their share of the waiting (1/4, 3/4)
    want = {"orientation": 0.375, "employment": 0.625, "language": 0.0, "housing_help": 0.0}
    for s, name in enumerate(SERVICES):
        assert hours[0, s, FEDERAL] == pytest.approx(total * want[name])
    assert hours[0].sum() == pytest.approx(total)
    np.testing.assert_array_equal(model.agencies[0].hours_available, hours[0])
