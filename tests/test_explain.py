"""Outputs that say why a wait does not fall: eligibility or hours, and idle hours."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run, scenario

from sim.explain import waiting_by_funder, waiting_by_status
from sim.outputs import frames

# Metro's agency has plenty of federal hours; nearly everyone arriving is an asylum claimant,
# whom federal settlement money may not serve (services.eligibility, seed 004).
# Every referral fits: the tests are about eligibility, not misreferrals (which leave eligible
# people waiting a week).
CLAIMANTS = {"run": {"weeks": 20},
             "streams": {"economic_pr": {"per_year": 100},
                         "asylum_claimant": {"per_year": 3000}},
             "services": {"referral_match": 1.0}}


@pytest.fixture(scope="module")
def claimants():
    return run(scenario(CLAIMANTS))


def _row(table, city: str, service: str):
    return table[(table["municipality"] == city) & (table["service"] == service)].iloc[0]


def test_idle_federal_hours_beside_a_list_of_claimants_show_that_eligibility_binds(claimants):
    table = waiting_by_funder(claimants)
    lang = _row(table, "Metro", "language")
    assert lang["waiting"] > 20
    # the economic PRs were served; claimants and refused claimants (non-status) wait
    assert lang["waiting_asylum_claimant"] + lang["waiting_non_status"] == lang["waiting"]
    assert lang["waiting_eligible_federal"] == 0
    assert lang["waiting_no_funder_with_hours"] == lang["waiting"]
    assert lang["hours_idle_federal"] > 0
    assert lang["hours_used_federal"] < lang["hours_available_federal"]
    assert lang["binds"] == "eligibility"
    # the weekly rows carry the same fact without the pass over migrants
    muni, _ = frames(claimants)
    last = muni[(muni["municipality"] == "Metro") & (muni["week"] == claimants.week - 1)].iloc[0]
    assert last["hours_idle_while_waiting_language"] == pytest.approx(lang["hours_idle_federal"])
    assert last["hours_idle_language"] == pytest.approx(lang["hours_idle_federal"])
    assert last["hours_available_language"] - last["hours_used_language"] >= \
        last["hours_idle_language"]
    # ... and who waits for what: the claimants' funders here have no hours; nobody waits
    # for hours here, and the classes add up to the list
    assert last["waiting_no_hours_language"] + last["waiting_no_funder_language"] == \
        lang["waiting_no_funder_with_hours"]
    assert last["waiting_with_hours_language"] == 0
    assert last["waiting_no_hours_language"] > 0
    for s in ("orientation", "language", "employment", "housing_help"):
        assert sum(muni[f"waiting_{why}_{s}"] for why in ("with_hours", "no_hours", "no_funder")
                   ).equals(muni[f"waiting_{s}"])


def test_more_of_the_same_money_leaves_the_claimants_waiting_but_municipal_money_serves():
    more = run(scenario({**CLAIMANTS, "funding": {"grant_factor": {"federal": 4.0}}}))
    base = run(scenario(CLAIMANTS))
    lang = {name: _row(waiting_by_funder(m), "Metro", "language")
            for name, m in (("base", base), ("more", more))}
    assert lang["more"]["waiting"] == lang["base"]["waiting"]  # 4x federal money: no change
    assert lang["more"]["hours_idle_federal"] > 3 * lang["base"]["hours_idle_federal"]
    city = scenario(CLAIMANTS).agencies[0].model_dump()
    city["grants"].append({"funder": "municipal", "amount_per_year": 4e5, "kind": "core"})
    funded = run(scenario({**CLAIMANTS, "agencies": [city, BASE_TOWN_AGENCY]}))
    served = _row(waiting_by_funder(funded), "Metro", "language")
    # Municipal hours serve claimants; those still waiting wait for hours, not eligibility
    # (and, no longer told that nobody may serve them, they stay on the list longer).
    assert served["hours_used_municipal"] > 0
    assert served["waiting_eligible_municipal"] >= served["waiting_asylum_claimant"]  # + PRs
    assert served["waiting_no_funder_with_hours"] == served["waiting_non_status"]
    assert served["binds"] == "hours"


def test_a_list_of_eligible_people_with_too_few_hours_shows_that_hours_bind():
    short = run(scenario({"run": {"weeks": 20},
                          # more than the base's 1,500: hours no longer lost to referrals
                          # serve more
                          "streams": {"economic_pr": {"per_year": 2500},
                                      "asylum_claimant": {"per_year": 0}},
                          "agencies": [{"name": "Metro Settlement", "municipality": "Metro",
                                        "staff_fte": 1, "grants": [
                                            {"funder": "federal", "amount_per_year": 7.5e4,
                                             "kind": "core"}]}, BASE_TOWN_AGENCY]}))
    lang = _row(waiting_by_funder(short), "Metro", "language")
    assert lang["waiting"] > 20
    assert lang["waiting_no_funder_with_hours"] == 0
    assert lang["hours_idle_federal"] == 0
    assert lang["binds"] == "hours"


def test_waiting_by_status_adds_up_to_the_weekly_waiting_lists(claimants):
    muni, _ = frames(claimants)
    last = muni[muni["week"] == claimants.week - 1].set_index("municipality")
    counts = waiting_by_status(claimants).sum(axis=2) * claimants.scale
    for m, city in enumerate(claimants.municipalities):
        got = [last.loc[city.name, f"waiting_{s}"] for s in
               ("orientation", "language", "employment", "housing_help")]
        np.testing.assert_array_equal(counts[m], got)


BASE_TOWN_AGENCY = {"name": "Town Services", "municipality": "Town", "staff_fte": 1,
                    "grants": [{"funder": "provincial", "amount_per_year": 7.5e4,
                                "kind": "core"}]}


def _plan_text(tmp_path, data: dict, target: str) -> tuple[object, str]:
    from analysis.plan import plan, report
    from sim.show import to_toml

    path = tmp_path / "case.toml"
    path.write_text(to_toml(scenario(data), {}))
    res = plan(path, "funding.grant_factor.federal", target, 1.0, 4.0, replicates=1,
               city="Metro", grid=2, jobs=1)
    return res, report(res)


def test_the_planner_says_eligibility_binds_when_more_federal_money_leaves_claimants_waiting(
        tmp_path):
    res, text = _plan_text(tmp_path, CLAIMANTS, "expected_wait_language<1")
    assert res.answer is None
    why = [line for line in text.splitlines() if "hours idle while" in line]
    assert len(why) == 2  # the lowest and the highest level tried
    assert "funding.grant_factor.federal = 4 " in why[1]
    assert "eligibility binds" in why[1]
    assert "sim.explain.waiting_by_funder" in text


def test_the_planner_says_hours_bind_when_eligible_people_wait_for_too_few_hours(tmp_path):
    short = {"run": {"weeks": 20}, "streams": {"asylum_claimant": {"per_year": 0}},
             "agencies": [{"name": "Metro Settlement", "municipality": "Metro", "staff_fte": 1,
                           "grants": [{"funder": "federal", "amount_per_year": 7.5e4,
                                       "kind": "core"}]}, BASE_TOWN_AGENCY]}
    _, text = _plan_text(tmp_path, short, "end(waiting_language)<1")
    why = [line for line in text.splitlines() if "hours idle while" in line]
    assert why
    assert all("hours bind" in line for line in why)
    assert "eligibility binds" not in text
