"""Shelter beds in three parts: the refugee programme, the general system, newcomers' share.

Newcomers are placed in ``refugee_program_beds + newcomer_share_of_system x
shelter_system_beds``; the public, and so sentiment, sees the whole system's fill.
"""

from __future__ import annotations

import copy

import pytest
from conftest import BASE, run, scenario

from sim import paths
from sim.params import Municipality
from sim.scenario import ScenarioError, validate

CITY = {"name": "C", "population": 100_000, "rental_stock": 10_000}


def city(**beds) -> Municipality:
    return Municipality.model_validate(CITY | beds)


def test_newcomer_beds_are_the_programme_plus_their_share_of_the_system():
    c = city(refugee_program_beds=500, shelter_system_beds=9_000, newcomer_share_of_system=0.2)
    assert c.newcomer_beds() == pytest.approx(500 + 1_800)
    assert city(shelter_system_beds=9_000).newcomer_beds() == 0.0


def test_old_key_shelter_beds_is_the_programme_with_no_share_of_a_system():
    c = city(shelter_beds=250)
    assert (c.refugee_program_beds, c.shelter_system_beds, c.newcomer_share_of_system) == (
        250, 0.0, 0.0)
    assert c.shelter_beds == c.newcomer_beds() == 250


@pytest.mark.parametrize(("beds", "says"), [
    ({"shelter_beds": 1, "refugee_program_beds": 1}, "not both"),
    ({}, "give refugee_program_beds"),
    ({"shelter_system_beds": 10, "newcomer_share_of_system": 1.5}, "less than or equal to 1"),
])
def test_bad_bed_keys_are_refused(beds, says):
    with pytest.raises(ValueError, match=says):
        city(**beds)


def test_public_fill_counts_the_others_in_the_general_system():
    c = city(refugee_program_beds=500, shelter_system_beds=8_917, newcomer_share_of_system=0.0)
    # 2,408 claimants: 8,917 others + 2,408 over 9,417 beds
    assert c.public_fill(2_408, 0.0) == pytest.approx((8_917 + 2_408) / 9_417)
    assert c.public_fill(2_408, 1_908.0) == pytest.approx(1.0)  # emergency places add beds
    share = city(refugee_program_beds=0, shelter_system_beds=1_000, newcomer_share_of_system=0.47)
    assert share.public_fill(470, 0.0) == pytest.approx(1.0)  # newcomers fill their share
    assert share.public_fill(570, 0.0) == pytest.approx(1.1)


def test_without_a_general_system_the_fill_is_the_programmes_as_before():
    assert city(shelter_beds=500).public_fill(2_346, 0.0) == pytest.approx(2_346 / 500)
    assert city(shelter_beds=0).public_fill(5, 0.0) == 2.0  # no beds: over by one
    assert city(shelter_beds=0).public_fill(0, 0.0) == 0.0


def test_paths_with_the_old_key_set_the_programme():
    sc = scenario()
    paths.assign(sc, "municipalities.Metro.shelter_beds", 300)  # a timeline entry
    assert sc.municipalities[0].refugee_program_beds == 300
    data = copy.deepcopy(BASE)
    paths.set_in_data(data, "municipalities.Metro.refugee_program_beds", 40)  # --set, new key
    assert "shelter_beds" not in data["municipalities"][0]
    assert validate(data, "x").municipalities[0].newcomer_beds() == 40


def test_an_error_names_the_key_the_file_wrote():
    data = copy.deepcopy(BASE)
    data["municipalities"][0]["shelter_beds"] = -3
    with pytest.raises(ScenarioError, match=r"municipalities\[Metro\]\.shelter_beds"):
        validate(data, "x")


def test_same_beds_for_newcomers_with_a_general_system_only_sentiment_differs():
    """Paired seeds: 1,000 claimants in shelter at week 0 and 250 beds for newcomers, given
    as a programme alone, or as a 5% share of a 5,000-bed system. Placement is the same; with
    the whole system the over-capacity the public sees is smaller, so sentiment ends higher."""
    crowded = {"run": {"weeks": 40},
               # only the over-capacity term moves sentiment here
               "sentiment": {"spending_weight": 0.0, "unsheltered_weight": 0.0},
               "municipalities": [dict(BASE["municipalities"][0], initial_shelter_occupancy=1_000),
                                  BASE["municipalities"][1]]}
    alone = run(scenario(crowded))
    split = copy.deepcopy(crowded)
    metro = split["municipalities"][0]
    del metro["shelter_beds"]
    metro.update(refugee_program_beds=0, shelter_system_beds=5_000, newcomer_share_of_system=0.05)
    whole = run(scenario(split))
    a, w = alone.municipal_history[-1], whole.municipal_history[-1]
    assert a["shelter_beds"][0] == w["shelter_beds"][0] == 250
    assert a["shelter_occupancy"][0] == w["shelter_occupancy"][0] > 250  # over the beds
    # seed 11: 0.545 against 0.597 (from 0.6): the programme alone looks swamped, the whole
    # system only a little over its beds
    assert alone.municipalities[0].sentiment < 0.56
    assert whole.municipalities[0].sentiment > 0.59
