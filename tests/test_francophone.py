"""Francophones outside Québec (docs/ODD.md 7.11): the pure rules on hand-made cases, the
services kernel on small arrays, schema errors, and the headline effect of a RIF in paired
runs (same seed, with and without)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import ONE_CITY_TOML, run, scenario

from sim import francophone, kernels
from sim.codes import ECONOMIC_PR, N_FUNDER, N_SERVICE, N_STATUS, SVC_IN_SERVICE, SVC_WAITING
from sim.kernels import RequestParams

# One city in Ontario with a francophone community, one in Québec; economic PRs only.
FR = {
    "run": {"weeks": 40, "seed": 3, "scale": 1, "progress": False},
    "streams": {"economic_pr": {"per_year": 4000, "francophone_share": 0.3},
                "asylum_claimant": {"per_year": 0}},
    "services": {"language": {"takeup": 1.0}, "orientation": {"takeup": 1.0}},
    "francophone": {"pull_per_share": 10.0},
    "municipalities": [
        {"name": "Metro", "province": "ON", "population": 800_000, "rental_stock": 120_000,
         "shelter_beds": 250, "newcomer_budget_per_year": 1.5e6, "destination_weight": 1.0,
         "francophone_share": 0.15},
        {"name": "Town", "province": "ON", "population": 100_000, "rental_stock": 15_000,
         "shelter_beds": 50, "newcomer_budget_per_year": 1e5, "destination_weight": 1.0,
         "francophone_share": 0.0},
        {"name": "Ville", "province": "QC", "population": 800_000, "rental_stock": 120_000,
         "shelter_beds": 250, "newcomer_budget_per_year": 1.5e6, "destination_weight": 2.0,
         "francophone_share": 0.6, "lat": 45.5, "lon": -73.6},
    ],
    "agencies": [
        {"name": "Metro Settlement", "municipality": "Metro", "staff_fte": 6,
         "grants": [{"funder": "federal", "amount_per_year": 4.5e5, "kind": "core"}]},
        {"name": "Town Settlement", "municipality": "Town", "staff_fte": 2,
         "grants": [{"funder": "federal", "amount_per_year": 1.5e5, "kind": "core"}]},
        {"name": "Ville Settlement", "municipality": "Ville", "staff_fte": 6,
         "grants": [{"funder": "provincial", "amount_per_year": 4.5e5, "kind": "core"}]},
    ],
}


def fr(changes: dict | None = None):
    sc = scenario(changes or {}, base=FR)
    return sc


# --------------------------------------------------------------------------- pure rules
def test_mixed_weights_keep_quebecs_share_and_give_francophones_their_share_outside():
    sc = fr()
    w = np.array([0.25, 0.25, 0.5])  # Metro, Town, Ville
    mixed, p_fr = francophone.mixed_weights(sc, "economic_pr", w)
    # outside Québec: francophone mass 0.3 x 0.5 = 0.15, pulled 0.25 x 2.5 : 0.25 x 1
    fr_metro, fr_town = 0.15 * 2.5 / 3.5, 0.15 * 1.0 / 3.5
    np.testing.assert_allclose(mixed, [0.7 * 0.25 + fr_metro, 0.7 * 0.25 + fr_town, 0.5])
    np.testing.assert_allclose(p_fr, [fr_metro / mixed[0], fr_town / mixed[1], 0.0])
    assert mixed.sum() == pytest.approx(1.0)
    assert (p_fr * mixed).sum() / mixed[:2].sum() == pytest.approx(0.3)  # the stream's share


def test_without_francophones_the_weights_are_the_very_same_array():
    sc = fr({"streams": {"economic_pr": {"francophone_share": 0.0}}})
    w = np.array([0.25, 0.25, 0.5])
    mixed, p_fr = francophone.mixed_weights(sc, "economic_pr", w)
    assert mixed is w
    assert not p_fr.any()


def test_flags_put_each_citys_binomial_draw_first_in_its_block():
    counts, p = np.array([3, 0, 4]), np.array([0.5, 0.9, 1.0])
    got = francophone.flags(np.random.default_rng(5), counts, p)
    k = np.random.default_rng(5).binomial(counts, p)
    assert got.tolist() == [True] * k[0] + [False] * (3 - k[0]) + [True] * 4
    assert k[2] == 4


def test_language_factor_outside_quebec_follows_the_community_share():
    sc = fr({"francophone": {"english_gap": 0.4}})
    np.testing.assert_allclose(francophone.language_factor(sc, np.array([0, 1, 2, 0])),
                               [1 - 0.4 * 0.85, 0.6, 1.0, 1 - 0.4 * 0.85])


def test_referral_match_with_a_rif_is_the_lip_chance_and_without_one_lower():
    sc = fr({"francophone": {"referral_fit_without_rif": 0.5},
             "services": {"lip_referral_match": 0.9}})
    got = francophone.referral_match(sc, np.array([0.75, 0.75, 0.75]),
                                     np.array([True, False, False]))
    np.testing.assert_allclose(got, [0.9, 0.375, 0.75])  # Québec: everyone's chance


# --------------------------------------------------------------------------- the kernel
def _waiting(n: int) -> SimpleNamespace:
    svc_state = np.zeros((n, N_SERVICE), np.int8)
    svc_state[:, 0] = SVC_WAITING
    return SimpleNamespace(svc_state=svc_state, svc_week=np.zeros((n, N_SERVICE), np.int16),
                           status=np.zeros(n, np.int8), age=np.full(n, 2, np.int8),
                           housing=np.full(n, 4, np.int8), muni=np.zeros(n, np.int16))


def _serve(pop, francophone_flags=None, match_fr=None):
    hours = np.zeros((1, N_SERVICE, N_FUNDER))
    hours[0, 0, 0] = 10.0
    eligible = np.ones((1, N_FUNDER, N_STATUS), np.bool_)
    req = RequestParams(np.zeros(N_SERVICE), 0.0, np.zeros((1, N_SERVICE)),
                        np.ones((5, N_SERVICE), np.bool_))
    out = SimpleNamespace(used=np.zeros((1, N_SERVICE, N_FUNDER)),
                          started=np.zeros((1, N_SERVICE), np.int64),
                          wait_sum=np.zeros((1, N_SERVICE), np.int64),
                          completed=np.zeros((1, N_SERVICE), np.int64),
                          requests=np.zeros((1, N_SERVICE, 2), np.int64),
                          eligibility=np.zeros((1, N_SERVICE, N_STATUS), np.int8),
                          misreferred=np.zeros((1, N_SERVICE)), misreferred_fr=np.zeros(1))
    kernels.step_services(pop.svc_state, pop.svc_week, pop.status, pop.age, pop.housing,
                          pop.muni, 3, np.uint64(99), hours, eligible, np.zeros(1, np.bool_),
                          np.full(N_SERVICE, 1.0), np.full(N_SERVICE, 4, np.int64), req,
                          np.ones(1), 1.5, out.used, out.started, out.wait_sum, out.completed,
                          out.requests, out.eligibility, out.misreferred, francophone_flags,
                          match_fr, out.misreferred_fr)
    return out


def test_kernel_a_francophones_referral_fits_with_its_own_chance():
    pop = _waiting(4)
    flags = np.array([0, 1, 0, 1], np.int8)
    out = _serve(pop, flags, np.zeros(1))  # francophones' referrals never fit here
    assert out.started[0, 0] == 2  # the two others start
    assert pop.svc_state[:, 0].tolist() == [SVC_IN_SERVICE, SVC_WAITING] * 2
    assert pop.svc_week[:, 0].tolist() == [3, 0, 3, 0]  # weeks left; still joined in week 0
    assert out.wait_sum[0, 0] == 6  # two starters waited weeks 0 to 3
    assert out.misreferred[0, 0] == 3.0  # 2 x 1.5 hours
    assert out.misreferred_fr[0] == 3.0
    assert out.used[0, 0, 0] == 2 * 1.0 + 2 * 1.5


def test_kernel_without_francophones_is_unchanged():
    a, b = _waiting(4), _waiting(4)
    old = _serve(a)  # no francophone arguments
    new = _serve(b, np.zeros(4, np.int8), np.zeros(1))  # nobody is francophone
    assert old.started[0, 0] == new.started[0, 0] == 4
    np.testing.assert_array_equal(a.svc_state, b.svc_state)
    assert new.misreferred_fr[0] == 0.0


# --------------------------------------------------------------------------- schema
def test_a_rif_in_quebec_is_refused_naming_the_key():
    with pytest.raises(ValueError, match=r"municipalities\.Ville\.policies\.rif: there are no "
                                         r"RIFs in Québec"):
        fr({"municipalities": [*FR["municipalities"][:2],
                               FR["municipalities"][2] | {"policies": {"rif": True}}]})


def test_a_rif_in_quebec_in_a_file_names_file_and_key(tmp_path):
    from sim.scenario import ScenarioError, load_scenario

    path = tmp_path / "bad.toml"
    path.write_text(ONE_CITY_TOML + 'province = "QC"\n[municipalities.policies]\nrif = true\n')
    with pytest.raises(ScenarioError, match=r"bad\.toml: .*municipalities\.Metro\.policies\.rif"
                                            r": there are no RIFs in Québec"):
        load_scenario(path)


def test_a_timeline_setting_a_rif_in_quebec_is_refused(tmp_path):
    from sim.scenario import ScenarioError, load_scenario

    path = tmp_path / "later.toml"
    path.write_text(ONE_CITY_TOML + 'province = "QC"\n[[timeline]]\nweek = 5\n'
                    '[timeline.set]\n"municipalities.Metro.policies.rif" = true\n')
    with pytest.raises(ScenarioError, match=r"later\.toml.*timeline\[0\].*no RIFs in Québec"):
        load_scenario(path)


def test_shares_outside_zero_to_one_are_refused():
    with pytest.raises(ValueError, match="francophone_share"):
        fr({"streams": {"economic_pr": {"francophone_share": 1.2}}})


# --------------------------------------------------------------------------- runs
def test_share_zero_gives_the_tables_of_a_scenario_without_the_section():
    """Shares 0 everywhere: bit-identical to a run that never heard of francophones."""
    plain = scenario({"run": {"weeks": 30}})
    zero = scenario({"run": {"weeks": 30},
                     "streams": {"economic_pr": {"francophone_share": 0.0}},
                     "francophone": {"pull_per_share": 50.0, "english_gap": 0.9},
                     "municipalities": [{**c, "francophone_share": 0.3, "policies": {"rif": r}}
                                        for c, r in zip(plain.model_dump()["municipalities"],
                                                        (False, True), strict=True)]})
    from sim.outputs import frames
    a, b = frames(run(plain)), frames(run(zero))
    drop = ["rif"]
    pd.testing.assert_frame_equal(a[0].drop(columns=drop), b[0].drop(columns=drop))
    pd.testing.assert_frame_equal(a[1], b[1])


def test_arrivals_outside_quebec_are_francophone_at_the_streams_share_and_pulled():
    from sim.outputs import frames

    muni, totals = frames(run(fr({"run": {"weeks": 104}})))
    by_city = muni.groupby("municipality")[["arrivals", "francophone_arrivals",
                                            "pr_arrivals", "francophone_pr_arrivals"]].sum()
    outside = by_city.loc[["Metro", "Town"]].sum()
    assert outside.francophone_pr_arrivals / outside.pr_arrivals == pytest.approx(0.3, abs=0.02)
    assert by_city.loc["Ville", "francophone_arrivals"] == 0
    # Metro (15% francophone) pulls 2.5x Town's francophones per weight; equal weights
    share = by_city.francophone_arrivals / by_city.arrivals
    assert share["Metro"] > 0.33
    assert share["Town"] < 0.22
    # Québec keeps its half of the stream
    assert by_city.loc["Ville", "arrivals"] / by_city.arrivals.sum() == pytest.approx(
        0.5, abs=0.03)
    assert totals["francophone_arrivals"].sum() == by_city.francophone_arrivals.sum()


def test_francophones_arrive_with_lower_language_outside_quebec():
    model = run(fr({"francophone": {"english_gap": 0.5}}), 20)
    a = model.migrants
    fr_rows, other = a.francophone == 1, (a.francophone == 0) & (a.muni != 2)
    # draws with mean 0.5; Metro factor 0.575, Town 0.5 (same dims, weeks of learning aside)
    assert a.language[fr_rows].mean() < 0.75 * a.language[other].mean()


def test_earlier_newcomers_outside_quebec_include_francophones():
    sc = fr({"municipalities": [c | {"earlier_newcomers": 3000} for c in FR["municipalities"]]})
    model = run(sc, 1)
    a = model.migrants
    stock = a.arrival_week < 0
    fr_rows = stock & (a.francophone == 1)
    # economic PRs take the economic stream's share; the other statuses' streams have none
    outside = stock & (a.origin != 2) & (a.status == ECONOMIC_PR)
    assert fr_rows[outside].mean() == pytest.approx(0.3, abs=0.03)
    assert not fr_rows[stock & (a.status != ECONOMIC_PR)].any()
    assert not fr_rows[a.origin == 2].any()


def test_a_rif_cuts_francophones_misreferred_hours_in_paired_runs():
    """Headline: same seeds with and without RIFs in the two Ontario cities."""
    from sim.outputs import frames

    def misreferred(rif: bool, seed: int) -> tuple[float, float]:
        cities = [c | {"policies": {"rif": rif and c["province"] != "QC"}}
                  for c in FR["municipalities"]]
        m, _ = frames(run(fr({"run": {"seed": seed}, "municipalities": cities})))
        return (m["hours_misreferred_francophone"].sum(),
                m[m.municipality != "Ville"]["started_orientation"].sum())

    for seed in (1, 2, 3):
        (with_h, with_started), (without_h, without_started) = (misreferred(True, seed),
                                                                misreferred(False, seed))
        # without: francophones fit 0.75 x 0.8 = 0.6, misfit 0.4; with: 0.9, misfit 0.1
        assert with_h < 0.45 * without_h, seed
        assert with_started >= without_started, seed


def test_new_city_writes_the_census_share_and_a_rif_outside_quebec_only():
    from sim.newcity import new_city

    moncton, _ = new_city("Moncton")
    assert "\nfrancophone_share = 0.32  # source: Census 2021" in moncton
    assert "\nrif = true  # assumption, please replace" in moncton
    montreal, _ = new_city("Montréal")
    assert "\nrif = false  # source: seed 004" in montreal
    hamilton, _ = new_city("Hamilton")  # not in the table: the schema default, nothing written
    assert "\nfrancophone_share = 0." not in hamilton.split("[[municipalities]]")[1]


def test_the_app_lever_sets_rifs_outside_quebec_only():
    from app.model import ALL_CITIES, NO_CITY, apply_levers

    data = {"municipalities": [{"name": "A", "province": "ON"}, {"name": "B", "province": "QC"}]}
    on = apply_levers(data, rif=ALL_CITIES)["municipalities"]
    assert on[0]["policies"] == {"rif": True}
    assert "policies" not in on[1]
    off = apply_levers(data, rif=NO_CITY)["municipalities"]
    assert off[0]["policies"] == {"rif": False}
    assert "policies" not in off[1]
