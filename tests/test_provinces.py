"""Province rules ([provinces.<P>]): per-city tables, validation, and each rule's headline
effect in paired runs (same seed, with and without the rule)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import NEEDS_SHELTER, run, scenario

from sim import provinces
from sim.codes import (
    ASYLUM,
    ECONOMIC_PR,
    FEDERAL,
    LANGUAGE,
    MUNICIPAL,
    ORIENTATION,
    PROVINCIAL,
    STUDENT,
)

CLAIMANT_ROW = ["economic_pr", "family_pr", "resettled_refugee", "protected_person",
                "temporary_worker", "student", "asylum_claimant"]

# Two cities in two provinces; claimants only, so every service start is a claimant's.
TWO = {
    "run": {"weeks": 30},
    "streams": {"economic_pr": {"per_year": 0},
                "asylum_claimant": {"per_year": 2000, "housing_on_arrival": NEEDS_SHELTER}},
    "services": {"language": {"takeup": 1.0}},
    "claims_board": {"decisions_per_year": 0},  # claimants stay claimants
    "municipalities": [
        {"name": "Metro", "province": "ON", "population": 800_000, "rental_stock": 120_000,
         "shelter_beds": 2000, "newcomer_budget_per_year": 1.5e6, "destination_weight": 1.0},
        {"name": "Ville", "province": "QC", "population": 800_000, "rental_stock": 120_000,
         "shelter_beds": 2000, "newcomer_budget_per_year": 1.5e6, "destination_weight": 1.0,
         "lat": 45.5, "lon": -73.6},
    ],
    "agencies": [
        {"name": "Metro Provincial", "municipality": "Metro", "staff_fte": 4, "services":
         ["language"], "grants": [{"funder": "provincial", "amount_per_year": 3e5,
                                   "kind": "core"}]},
        {"name": "Ville Federal", "municipality": "Ville", "staff_fte": 4, "services":
         ["language"], "grants": [{"funder": "federal", "amount_per_year": 3e5,
                                   "kind": "core"}]},
    ],
}


def frame(model) -> pd.DataFrame:
    names = [m.name for m in model.scenario.municipalities]
    return pd.concat([pd.DataFrame(r, index=names).assign(week=w)
                      for w, r in enumerate(model.municipal_history)])


def started(model, city: str) -> float:
    f = frame(model)
    return float(f.loc[city, "started_language"].sum())


# ------------------------------------------------------------------ per-city tables


def test_a_province_table_changes_only_its_own_cities():
    sc = scenario(TWO | {"provinces": {"ON": {"eligibility": CLAIMANT_ROW,
                                              "social_assistance": {"asylum_claimant": 733.0}}}})
    elig = provinces.eligibility(sc)
    assert elig.shape == (2, 4, 8)
    assert elig[0, PROVINCIAL, ASYLUM]
    assert not elig[1, PROVINCIAL, ASYLUM]
    assert elig[0, PROVINCIAL, STUDENT]
    assert elig[1, PROVINCIAL, STUDENT]
    # other funders keep the national rows everywhere
    np.testing.assert_array_equal(elig[0, [FEDERAL, MUNICIPAL]], elig[1, [FEDERAL, MUNICIPAL]])
    income = provinces.income_without_job(sc)
    assert income[0, ASYLUM] == 733.0
    assert income[0, ECONOMIC_PR] == 900.0
    assert income[1, ASYLUM] == 900.0


def test_a_province_without_a_table_follows_the_national_rules():
    sc = scenario(TWO)
    national = provinces.eligibility(sc)
    assert not national[:, PROVINCIAL, ASYLUM].any()
    assert (provinces.income_without_job(sc) == sc.employment.income_none).all()
    assert not provinces.delivered_by_province(sc).any()
    assert provinces.stream_pull(sc, "economic_pr").tolist() == [1.0, 1.0]


def test_a_province_can_narrow_the_provincial_row():
    # Alberta: claimants are not eligible for provincial employment initiatives; an empty
    # list shuts provincial hours to everyone in the province.
    sc = scenario(TWO | {"provinces": {"QC": {"eligibility": []}}})
    elig = provinces.eligibility(sc)
    assert not elig[1, PROVINCIAL].any()
    assert elig[0, PROVINCIAL].sum() == 6


def test_hand_over_moves_federal_hours_of_delivered_services_to_the_province():
    hours = np.zeros((2, 4, 4))
    hours[:, LANGUAGE, FEDERAL] = 10.0
    hours[:, ORIENTATION, FEDERAL] = 4.0
    hours[:, LANGUAGE, PROVINCIAL] = 1.0
    delivered = np.zeros((2, 4), bool)
    delivered[1, LANGUAGE] = True
    out = provinces.hand_over(hours, delivered)
    assert out[1, LANGUAGE].tolist() == [0.0, 11.0, 0.0, 0.0]
    assert out[1, ORIENTATION].tolist() == [4.0, 0.0, 0.0, 0.0]
    np.testing.assert_array_equal(out[0], hours[0])
    assert out.sum() == hours.sum()


# ------------------------------------------------------------------ validation


def test_a_province_no_municipality_has_is_refused_with_a_suggestion():
    with pytest.raises(ValueError, match=r"provinces\.QCC: no municipality has province "
                                         r"'QCC'; did you mean 'QC'\?"):
        scenario(TWO | {"provinces": {"QCC": {"eligibility": CLAIMANT_ROW}}})


def test_negative_assistance_is_refused():
    with pytest.raises(ValueError, match="social_assistance must not be negative"):
        scenario(TWO | {"provinces": {"ON": {"social_assistance": {"asylum_claimant": -1}}}})


# ------------------------------------------------------------------ headline effects, paired


def test_provincial_eligibility_opens_provincial_hours_to_claimants():
    base = run(scenario(TWO))
    opened = run(scenario(TWO | {"provinces": {"ON": {"eligibility": CLAIMANT_ROW}}}))
    assert started(base, "Metro") == 0.0
    assert started(opened, "Metro") >= 20.0  # 4 FTE x 25 h / 1 h a client: ~100 places
    assert started(opened, "Ville") == started(base, "Ville") == 0.0


def test_accord_lets_the_province_deliver_federal_language_hours():
    qc = {"eligibility": CLAIMANT_ROW}
    rules = run(scenario(TWO | {"provinces": {"QC": qc}}))
    accord = run(scenario(TWO | {"provinces": {"QC": qc | {"delivers_federal_services":
                                                          ["language"]}}}))
    assert started(rules, "Ville") == 0.0  # federal hours do not serve claimants
    assert started(accord, "Ville") >= 20.0
    # the federal money still pays: spending by funder is the same in both runs
    f0, f1 = frame(rules), frame(accord)
    np.testing.assert_allclose(f0.loc["Ville", "spend_federal"], f1.loc["Ville", "spend_federal"])
    assert f1.loc["Ville", "spend_provincial"].sum() == 0.0


def test_social_assistance_raises_claimants_reaching_stable_housing():
    # Claimants in friends' homes search a slack market; at the national 900 a month no
    # unit is affordable; 3,000 (a made-up level, to show the mechanism) makes one-person
    # units affordable in Metro only.
    sc = TWO | {"run": {"weeks": 40},
                "streams": {"economic_pr": {"per_year": 0},
                            "asylum_claimant": {"per_year": 2000, "household_size": 1.0,
                                                "housing_on_arrival": {
                                                    "needs_shelter": 0.0, "friends_family": 1.0,
                                                    "precarious_rental": 0.0,
                                                    "stable_housing": 0.0}}},
                "employment": {"job_find_per_week": 0.0}}
    base = frame(run(scenario(sc)))
    paid = frame(run(scenario(sc | {"provinces": {"ON": {"social_assistance":
                                                         {"asylum_claimant": 3000.0}}}})))
    last = base["week"].max()
    assert base.loc["Metro", "moved_to_stable"].sum() == 0.0
    assert paid.loc["Metro", "moved_to_stable"].sum() >= 100.0
    assert paid.loc["Ville", "moved_to_stable"].sum() == 0.0
    assert paid[paid.week == last].loc["Metro", "housing_stable_housing"] >= 100.0


def test_nominee_pull_draws_economic_arrivals_to_the_province():
    sc = TWO | {"streams": {"economic_pr": {"per_year": 5000},
                            "asylum_claimant": {"per_year": 0}}}
    base = frame(run(scenario(sc)))
    pulled = frame(run(scenario(sc | {"provinces": {"QC": {"stream_pull":
                                                          {"economic_pr": 3.0}}}})))
    share0 = base.loc["Ville", "arrivals"].sum() / base["arrivals"].sum()
    share1 = pulled.loc["Ville", "arrivals"].sum() / pulled["arrivals"].sum()
    assert 0.4 < share0 < 0.6
    assert 0.68 < share1 < 0.82  # 3 / (3 + 1) = 0.75 before the network pull
    assert pulled["arrivals"].sum() == pytest.approx(base["arrivals"].sum(), rel=0.05)


def test_a_timeline_can_change_a_province_rule():
    sc = TWO | {"provinces": {"ON": {}},
                "timeline": [{"week": 10, "set": {"provinces.ON.eligibility": CLAIMANT_ROW},
                              "note": "Ontario opens its programme to claimants"}]}
    f = frame(run(scenario(sc)))
    metro = f.loc["Metro"]
    assert metro[metro.week < 10]["started_language"].sum() == 0.0
    assert metro[metro.week >= 10]["started_language"].sum() >= 20.0


def test_a_scenario_file_with_a_misspelt_province_names_file_key_and_suggestion(tmp_path):
    from sim.scenario import ScenarioError, load_scenario

    path = tmp_path / "bad.toml"
    path.write_text((Path(__file__).parents[1] / "scenarios" / "classroom.toml").read_text()
                    + "\n[provinces.Fictionl]\nsocial_assistance = { asylum_claimant = 700 }\n")
    with pytest.raises(ScenarioError, match=r"bad\.toml: provinces\.Fictionl: .*did you mean "
                                            r"'Fictional'\?"):
        load_scenario(path)
