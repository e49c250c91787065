"""Scenario-level crisis response (paired seeds): the surge story, predictable vs ad hoc money
for shelter, and a baseline that no longer spirals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim import paths
from sim.model import ReceptionModel
from sim.outputs import frames
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SURGE = ROOT / "scenarios" / "asylum_surge_shelter_cap.toml"
BASELINE = ROOT / "scenarios" / "canada_baseline.toml"


def _run(path: Path, seed: int, sets: dict | None = None) -> ReceptionModel:
    sc = load_scenario(path)
    for key, value in (sets or {}).items():
        paths.assign(sc, key, value)
    sc.run.seed = seed
    model = ReceptionModel(scenario=sc)
    model.run()
    return model


def _toronto(model: ReceptionModel):
    m = frames(model)[0]
    return m[m["municipality"] == "Toronto"].reset_index(drop=True)


@pytest.mark.slow
def test_surge_saturation_cap_spike_response_recovery():
    model = _run(SURGE, seed=1)
    t = _toronto(model)
    cap = 21  # 2023-06-01 (timeline)
    capacity = t["shelter_beds"] + t["emergency_places"]
    full = t["shelter_occupancy"] >= 0.95 * capacity  # saturated: people leave, others come
    assert full.iloc[cap:cap + 20].all()
    pop = next(m.params.population for m in model.municipalities if m.name == "Toronto")
    trigger = model.scenario.response.trigger_per_100k * pop / 100_000
    strained = t["unsheltered"] >= trigger
    # the first week of strain that lasts: the response waits for trigger_weeks (3) in a row,
    # so a one-week blip over the trigger (an agent more at scale 25) starts no clock
    first_out = next(w for w in t.index if w > cap and strained.iloc[w:w + 3].all())
    order = next(w for w, e in model.events if "Toronto orders" in e and w > cap)
    assert (t["unsheltered"].iloc[order - 2:order + 1] >= trigger).all()  # trigger_weeks = 3
    assert order - first_out <= 6
    # the places take people after their lead time (3 weeks for hotels)
    assert t["emergency_places"].iloc[order + 4] > t["emergency_places"].iloc[first_out]
    # recovery: within a quarter of the order the street count falls below half its peak
    # (at some week: with arrivals still surging, a new wave may follow and bring its own order)
    peak = t["unsheltered"].iloc[first_out:order + 1].max()
    assert t["unsheltered"].iloc[order + 1:order + 14].min() < 0.5 * peak


@pytest.mark.slow
def test_predictable_shelter_money_leaves_fewer_people_outside_at_a_stated_cost():
    seeds = range(1, 7)
    adhoc, formula = [], []
    for seed in seeds:
        for out, mode in ((adhoc, "adhoc"), (formula, "formula")):
            tot = frames(_run(SURGE, seed, {"governments.federal.shelter_funding": mode}))[1]
            out.append((tot["unsheltered"].sum(), tot["spend_federal"].sum(),
                        tot["spend_total"].sum()))
    a, f = np.array(adhoc), np.array(formula)
    d = f - a
    mean, se = d.mean(axis=0), d.std(axis=0, ddof=1) / np.sqrt(len(d))
    # seeds 1-6 (2026-12-02): -5,700 unsheltered person-weeks of ~14,000 (95% CI about
    # -2,500 to -8,900), fewer in every seed; the federal government pays ~$56M more
    assert mean[0] + 2.57 * se[0] < 0  # t(5) 97.5% = 2.57
    assert (d[:, 0] < 0).sum() >= 5
    assert mean[1] > 0  # the cost: the formula is paid whether or not a crisis comes


@pytest.mark.slow
def test_baseline_answers_strain_instead_of_spiralling():
    off = {"politics.act_pressure": 1.0, "governments.federal.shelter_funding": "none",
           "governments.federal.opens_sites": False, "governments.provinces": {}}
    sc = load_scenario(BASELINE)
    off |= {f"municipalities.{m.name}.policies.emergency_response": False
            for m in sc.municipalities}
    with_response, without = _toronto(_run(BASELINE, 1)), _toronto(_run(BASELINE, 1, off))
    last_year = slice(len(with_response) - 52, None)
    # without any response Toronto's newcomers sleeping outside grow to ~5,000 by 2027 and
    # backlash cuts the budget twice; with it the street count stays in the hundreds at most
    assert without["unsheltered"].iloc[last_year].mean() > 3000
    assert with_response["unsheltered"].iloc[last_year].mean() < 500
    assert with_response["newcomer_budget"].iloc[-1] >= with_response["newcomer_budget"].iloc[0]
    assert without["newcomer_budget"].iloc[-1] < without["newcomer_budget"].iloc[0]
