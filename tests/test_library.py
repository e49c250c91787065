"""The scenario library: every bundled file validates and runs, and each one's headline shows.

Each headline test pairs the scenario with its comparison under the same seed (a second file,
``--set`` style overrides, or timeline entries dropped) and asserts the direction and rough size
the scenario's header claims, with numbers taken from the runs.
"""

from __future__ import annotations

import re
import tomllib

import numpy as np
import pandas as pd
import pytest

from sim.codes import HOUSING, MUNICIPAL, STATUSES
from sim.model import ReceptionModel
from sim.outputs import frames
from sim.runner import simulate
from sim.scenario import SCENARIO_DIR, bundled_scenarios, load_scenario

LIBRARY = ["canada_baseline", "asylum_surge_shelter_cap", "funding_predictable", "funding_adhoc",
           "access_without_fear", "local_immigration_partnership", "small_town_retention",
           "americas_city_network", "classroom"]
SERVICES = ["orientation", "language", "employment", "housing_help"]


def path(name: str):
    return SCENARIO_DIR / f"{name}.toml"


def run(name: str, *sets: str):
    return simulate(load_scenario(path(name), sets))


def city(result, name: str) -> pd.DataFrame:
    m = result.municipalities
    return m[m["municipality"] == name].set_index("week")


# ---------------------------------------------------------------- every file


def test_library_holds_every_scenario():
    names = {p.stem for p in bundled_scenarios()}
    assert set(LIBRARY) <= names


@pytest.mark.parametrize("p", bundled_scenarios(), ids=lambda p: p.stem)
def test_scenario_validates_names_its_question_and_runs_a_short_horizon(p):
    sc = load_scenario(p)  # the file as written, timeline checked against its own horizon
    text = p.read_text(encoding="utf-8")
    assert text.startswith("#"), "a scenario file starts with its comment block"
    assert sc.scenario.name == p.stem
    assert len(sc.scenario.question) > 40
    sc.run.weeks = 6  # later timeline entries simply never apply
    result = simulate(sc)
    m = result.municipalities
    assert len(m) == 6 * len(sc.municipalities)
    assert result.totals["arrivals"].sum() > 0
    assert np.isfinite(m[["newcomers", "staff_fte", "spend_municipal"]].to_numpy()).all()
    present = m[m["newcomers"] > 0]
    assert np.isfinite(present["integration_index"]).all()
    assert result.totals["integration_index"].between(0, 1).all()


NUMBER = re.compile(r"(?<![\w\"'.])[-+]?\d")


@pytest.mark.parametrize("p", bundled_scenarios(), ids=lambda p: p.stem)
def test_every_number_in_a_scenario_file_carries_a_comment(p):
    """Unit and source (or "assumption") travel with every value."""
    bare = []
    for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        code = line.split("#", 1)[0]
        if not code.strip() or code.lstrip().startswith("["):
            continue
        value = code.split("=", 1)[1] if "=" in code else code
        value = re.sub(r'"[^"]*"', '""', value)  # numbers inside strings are names, not values
        if NUMBER.search(value) and "#" not in line:
            bare.append(f"{p.name}:{i}: {line.strip()}")
    assert not bare, "numbers without a comment:\n" + "\n".join(bare)


def test_every_file_is_plain_toml_with_a_scenario_table():
    for p in bundled_scenarios():
        data = tomllib.loads(p.read_text(encoding="utf-8"))
        assert data["scenario"]["question"]


# ---------------------------------------------------------------- asylum surge and shelter cap


def test_toronto_cap_leaves_people_outside_and_the_top_up_brings_it_down():
    full = load_scenario(path("asylum_surge_shelter_cap"), ["run.weeks=104"])

    def without(key: str | None, seed: int = 1):
        """The scenario on ``seed`` without the timeline entries that set ``key``."""
        sc = full.model_copy(deep=True)
        sc.run.seed = seed
        sc.timeline = [c for c in sc.timeline if not (key and any(key in k for k in c.set))]
        return sc

    cap = city(simulate(full), "Toronto")
    no_cap = city(simulate(without("intake_cap")), "Toronto")
    no_top_up = city(simulate(without("interim_places")), "Toronto")
    u = cap["unsheltered"]

    # The cap (week 21, 2023-06-01) refuses overflow places; emergency places the city opens
    # (the crisis response) and interim places still take people in. In the year after it the
    # cap leaves people outside where nobody is without it (late in the second year, with
    # overflow places full, a few are outside without the cap too: seeds 1-3 after week 90).
    assert u.loc[21:72].sum() > 2_000
    assert no_cap["unsheltered"].loc[21:72].sum() == 0
    assert no_cap["unsheltered"].loc[21:].sum() < 0.3 * u.loc[21:].sum()
    # The top-up (weeks 28-64): ~1,130 extra interim places fill up (seed 1: ~2,000 in use on
    # average in weeks 36-64 against <= 1,000 without it); fewer people outside while they
    # last (84 vs 245 on average).
    assert cap["interim_occupancy"].loc[36:64].mean() > 1_500
    assert no_top_up["interim_occupancy"].loc[36:64].max() <= 1_000
    assert u.loc[28:64].mean() < 0.6 * no_top_up["unsheltered"].loc[28:64].mean()
    # Interim places also stand in for emergency places the city would pay for, but the
    # saving is small against the run-to-run spread (seeds 1-5: +1%, -2%, -3%, -2%, -4%; it
    # was 5-8% before ages and the other issue-18 mechanisms slowed exits), so it is asserted
    # over seeds 1-3 together.
    pairs = [(cap, no_top_up)] + [
        tuple(city(simulate(without(key, seed)), "Toronto") for key in (None, "interim_places"))
        for seed in (2, 3)]
    spend = np.array([[r["spend_line_emergency_places"].sum() for r in pair] for pair in pairs])
    assert spend[:, 0].sum() < spend[:, 1].sum()
    # The $35M transfer of week 60 lands in the newcomer money.
    assert cap["municipal_cash"].loc[60] - cap["municipal_cash"].loc[59] > 30e6


# ---------------------------------------------------------------- predictable vs ad hoc money


def test_ad_hoc_program_money_makes_staffing_volatile_and_waits_longer():
    pred = run("funding_predictable", "run.weeks=156")
    adhoc = run("funding_adhoc", "run.weeks=156")
    tp, ta = pred.totals, adhoc.totals
    # Same money until the first renewal draw (week 39): the pair differs only in predictability.
    first = slice(0, 38)
    assert ta["spend_line_services"][first].sum() == pytest.approx(
        tp["spend_line_services"][first].sum(), rel=0.01)

    def volatility(t):  # total absolute weekly staff change / mean staff
        return t["staff_fte"].diff().abs().sum() / t["staff_fte"].mean()

    def weeks_short(r):  # share of city-weeks with staff below 90% of week 0
        staff = r.municipalities.pivot(index="week", columns="municipality", values="staff_fte")
        return float((staff < 0.9 * staff.iloc[0]).to_numpy().mean())

    # seed 1: volatility 0.00 vs 0.85; city-weeks short-staffed 0% vs 28%
    assert volatility(tp) < 0.02
    assert volatility(ta) > 0.3
    assert weeks_short(pred) == 0
    assert weeks_short(adhoc) > 0.1
    # Hiring lags and cash-carry cuts: fewer caseworker-weeks per dollar. Which grants lapse
    # differs by seed (seed 1: 4.13 vs 4.15 FTE per $M, seeds 2-8 all lower), so over paired
    # seeds 1-4: 4.13 vs 4.04.
    def per_dollar(name: str) -> float:
        t = [tp] if name == "funding_predictable" else [ta]
        t += [run(name, "run.weeks=156", f"run.seed={seed}").totals for seed in (2, 3, 4)]
        return float(np.mean([x["staff_fte"].mean() / x["spend_line_services"].sum()
                              for x in t]))

    assert per_dollar("funding_adhoc") < 0.99 * per_dollar("funding_predictable")
    # Waits are not asserted: whether the typical city's clients wait longer depends on
    # which grants happen to lapse or get re-awarded (longer in 18 of 20 paired seeds, +0.67
    # weeks on average; see the header of scenarios/funding_adhoc.toml). One seed cannot
    # show it; replicates with common seeds (experiments/policy_comparison.toml) can.


# ---------------------------------------------------------------- access without fear

AWF_CITIES = ["Calgary", "Ottawa", "Winnipeg", "Halifax"]


def _non_status_in(model: ReceptionModel, cities: list[str]) -> tuple[float, float, int]:
    """Share of present non-status residents of ``cities`` ever served, their mean index, count."""
    a = model.migrants
    index = model.scenario.muni_index()
    sel = ((a.view("status") == STATUSES.index("non_status"))
           & np.isin(a.view("muni"), [index[c] for c in cities])
           & (a.view("housing") != HOUSING.index("departed")))
    served = np.isin(a.view("svc_state")[sel], (2, 3)).any(axis=1)
    index = model.dimensions(np.flatnonzero(sel)) @ model.index_weights
    return float(served.mean()), float(index.mean()), int(sel.sum())


def test_access_without_fear_serves_non_status_residents_at_a_municipal_cost():
    runs = {}
    for name in ("canada_baseline", "access_without_fear"):
        model = ReceptionModel(scenario=load_scenario(path(name), ["run.weeks=104"]))
        model.run()
        runs[name] = (model, *frames(model))
    (base, bm, bt), (awf, am, at) = runs["canada_baseline"], runs["access_without_fear"]
    b_served, b_index, b_n = _non_status_in(base, AWF_CITIES)
    a_served, a_index, a_n = _non_status_in(awf, AWF_CITIES)
    assert min(b_n, a_n) > 100  # agents: ~4,800 non-status people in the four cities
    # seed 1: 49.0% -> 50.0% ever served; index 0.387 -> 0.434 (seed 2: 48.6% -> 59.0%,
    # 0.389 -> 0.441). Few claims are refused within two years with the claims board's
    # backlog, so most non-status people are former permit holders, served while they held a
    # permit: the share ever served moves little, the index clearly, through its two channels
    # (seed 1: access to services 0.418 -> 0.583, safety 0.368 -> 0.433; economic 0.287 ->
    # 0.289). With police covered (not so in Canada, seed 004) safety would be 0.520.
    assert a_served > b_served
    # ~190 non-status agents a run, so the index gain carries +-0.01 of noise from the arrival
    # draws: +0.037 on main before the francophone arrivals (issue 18), seeds 1-3 since then
    # +0.019, +0.041, +0.037 (0.425 -> 0.444, 0.417 -> 0.457, 0.422 -> 0.459)
    assert a_index > b_index + 0.015
    assert at["index_non_status"].iloc[-1] > bt["index_non_status"].iloc[-1]
    # Cost: the cities pay their agencies most of the new lines ($3.96M/yr, ~$7.9M over two
    # years; seeds 1-3: +$8.4M, +$7.7M, +$7.4M). Not total municipal spending: shelter
    # costs swing it by +-$10M between runs (seeds 1-3: -$1.3M, +$23.4M, +$21.8M).
    paid = [sum(ag.received[MUNICIPAL] for ag in model.agencies
                if model.municipalities[ag.muni].name in AWF_CITIES) for model in (base, awf)]
    assert paid[1] - paid[0] > 0.8 * 2 * 3.96e6
    # Sentiment barely moves: the direct effect of the spending (spending_weight x ~$1 per
    # resident-year, ~0.005) is below the run-to-run spread of the shelter-driven part
    # (last quarter, seeds 1-4: +0.006, -0.015, +0.010, -0.017).
    sent = [m[m["municipality"].isin(AWF_CITIES) & (m["week"] >= 91)]["sentiment"].mean()
            for m in (bm, am)]
    assert abs(sent[1] - sent[0]) < 0.05


# ---------------------------------------------------------------- LIPs


def test_lip_everywhere_fits_more_referrals_and_shortens_waits():
    base = run("canada_baseline", "run.weeks=104")
    lip = run("local_immigration_partnership", "run.weeks=104")

    def total(r, family):
        return sum(r.totals[f"{family}_{s}"].sum() for s in SERVICES)

    # A LIP adds no hours; it makes referrals fit, so fewer hours go to intakes of referrals
    # that do not (seeds 1-3: 256,400 -> 82,900, 247,100 -> 77,800, 259,500 -> 80,400 hours
    # over two years, ~1.3% of the hours used) and more clients start.
    assert total(lip, "hours_available") == pytest.approx(total(base, "hours_available"),
                                                          rel=0.01)
    assert total(lip, "hours_misreferred") < 0.4 * total(base, "hours_misreferred")
    assert total(lip, "started") > total(base, "started")  # seed 1: 1,009,950 -> 1,016,400
    # Seed 1, weeks: orientation 8.62 -> 8.41, employment 6.99 -> 6.85; language and housing
    # help move less (their lists are mostly claimants only some funders may serve).
    for s in ("orientation", "employment"):
        assert lip.summary[f"mean_wait_{s}"] < base.summary[f"mean_wait_{s}"]
    mean = [sum(r.summary[f"mean_wait_{s}"] for s in SERVICES) / 4 for r in (base, lip)]
    assert mean[1] < 0.995 * mean[0]  # seeds 1-3: -1.3%, -1.7%, -1.3%


# ---------------------------------------------------------------- small towns

TOWNS = ["Brandon", "Steinbach", "Thunder Bay"]
NO_INVESTMENT = [
    *(f"municipalities.{t}.policies.welcoming_strategy=false" for t in TOWNS),
    *(f"municipalities.{t}.policies.outreach=false" for t in TOWNS),
    "municipalities.Brandon.transport_access=0.4",
    "municipalities.Steinbach.transport_access=0.2",
    "municipalities.Thunder Bay.transport_access=0.5",
]


def test_small_town_header_lists_the_counterfactual_overrides():
    text = path("small_town_retention").read_text(encoding="utf-8")
    for item in NO_INVESTMENT:
        key, value = item.split("=")
        assert re.search(re.escape(key) + r"=" + re.escape(value), text), item


def _pooled_retention(result) -> float:
    m = result.municipalities
    towns = m[m["municipality"].isin(TOWNS)]
    arrived = towns.groupby("municipality")["arrivals"].sum()
    last = towns[towns["week"] == towns["week"].max()].set_index("municipality")
    return float((last["retention"] * arrived).sum() / arrived.sum())


def test_welcoming_and_transport_keep_more_newcomers_in_small_towns():
    with_ = run("small_town_retention", "run.weeks=156")
    without = run("small_town_retention", "run.weeks=156", *NO_INVESTMENT)
    r_with, r_without = _pooled_retention(with_), _pooled_retention(without)
    # seed 1: 0.861 vs 0.819 after three years
    assert r_with > r_without + 0.015
    assert min(with_.municipalities.query("municipality in @TOWNS")["arrivals"].sum(),
               without.municipalities.query("municipality in @TOWNS")["arrivals"].sum()) > 10_000


# ---------------------------------------------------------------- Americas network

SHORT = ["Lima", "Cúcuta", "Boa Vista", "Ciudad Juárez"]
RESOURCED = ["Bogotá", "Santiago"]


def test_americas_network_most_cities_strained_and_regularization_helps():
    reg = run("americas_city_network")
    none = run("americas_city_network", "status.regularization_per_year=0")
    m = reg.municipalities
    last = m[m["week"] > m["week"].max() - 13].groupby("municipality").mean(numeric_only=True)
    strained = set(last.index[last["unsheltered"] > 0])
    # Two thirds short of resources (seed 000): the four leave people unsheltered, the two
    # resourced capitals do not (seed 1, last quarter: 2,877-8,415 vs 0).
    assert len(strained) >= 4
    assert set(SHORT) <= strained
    per_1000 = last["unsheltered"] / last["newcomers"] * 1000
    assert per_1000[SHORT].min() > per_1000[RESOURCED].max()
    # Regularization (20%/year) gives non-status people work permits (temporary_worker), not
    # permanent residence, and raises integration through them (seed 1, week 155: 271,000 vs
    # 340,750 non-status, 190,800 vs 123,400 temporary workers, economic PR 121,900 vs 121,150;
    # index 0.3187 vs 0.3148, seed 2 0.3187 vs 0.3156; employment rate 0.604 vs 0.597).
    r_end, n_end = reg.totals.iloc[-1], none.totals.iloc[-1]
    assert r_end["status_non_status"] < 0.85 * n_end["status_non_status"]
    assert r_end["status_temporary_worker"] > 1.3 * n_end["status_temporary_worker"]
    assert r_end["status_economic_pr"] == pytest.approx(n_end["status_economic_pr"], rel=0.02)
    assert reg.totals["regularized"].sum() > 50_000
    assert none.totals["regularized"].sum() == 0
    assert r_end["integration_index"] > n_end["integration_index"] + 0.002
    assert r_end["employment_rate"] > n_end["employment_rate"]


# ---------------------------------------------------------------- classroom


def test_classroom_runs_a_year_and_shows_its_three_contrasts():
    year = run("classroom", "run.weeks=52")
    assert len(year.totals) == 52
    two = run("classroom")
    h, mb, p = (city(two, c) for c in ("Harbourview", "Millbrook", "Pinecrest"))
    # Millbrook's cap leaves people outside after the spring surge; Harbourview has room.
    assert mb["unsheltered"].loc[20:].mean() > 20
    assert h["unsheltered"].sum() == 0
    # Millbrook's program grant ends at week 52 without renewal: staff fall, waits grow.
    assert mb["staff_fte"].loc[70:].mean() < 0.7 * mb["staff_fte"].loc[:50].mean()
    assert mb["current_wait_orientation"].iloc[-1] > h["current_wait_orientation"].iloc[-1]
    # Access without fear, LIP and welcoming: the highest integration index.
    last = two.municipalities[two.municipalities["week"] == 103].set_index("municipality")
    assert last["integration_index"].idxmax() == "Harbourview"
    # Poor transport and tight housing: Pinecrest keeps the fewest of its arrivals.
    assert last["retention"].idxmin() == "Pinecrest"
    assert p["retention"].iloc[-1] < last.loc["Harbourview", "retention"] - 0.05
