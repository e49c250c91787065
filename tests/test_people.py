"""Ages and earlier newcomers at the scale of a scenario (sim/earlier.py, ODD 2.2, 5, 7.6)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import BASE, run, scenario

from sim.codes import (
    AGES,
    CHILD,
    CORE,
    EMPLOYMENT_SVC,
    LANGUAGE,
    NO_JOB,
    SENIOR,
    SVC_NONE,
    SVC_WAITING,
)
from sim.model import ReceptionModel
from sim.outputs import frames
from sim.params import Scenario

FAMILIES = {"child": 0.4, "youth": 0.1, "core": 0.4, "older": 0.05, "senior": 0.05}


def _with_families() -> dict:
    return {"streams": {"economic_pr": {"age_shares": FAMILIES},
                        "asylum_claimant": {"age_shares": FAMILIES}}}


def test_arrivals_get_ages_by_their_streams_shares_and_children_skip_classes():
    model = ReceptionModel(scenario=scenario(_with_families()))
    model.run(26)
    a = model.migrants
    shares = np.bincount(a.age, minlength=len(AGES)) / a.n
    np.testing.assert_allclose(shares, list(FAMILIES.values()), atol=0.02)  # ~1,250 rows
    children, seniors = a.age == CHILD, a.age == SENIOR
    assert (a.svc_state[children, LANGUAGE] == SVC_NONE).all()
    assert (a.svc_state[children | seniors, EMPLOYMENT_SVC] == SVC_NONE).all()
    assert (a.svc_state[~children, LANGUAGE] != SVC_NONE).any()


def test_employment_rates_count_people_aged_15_to_64_only():
    """Half the rows are dependants holding their earner's job: the rate leaves them out."""
    model = run(scenario(_with_families()), 52)
    a = model.migrants
    here = a.housing != 6
    working = here & (a.age != CHILD) & (a.age != SENIOR)
    _, totals = frames(model)
    last = totals.iloc[-1]
    assert last["employment_rate"] == pytest.approx(
        (a.employment[working] != NO_JOB).mean(), rel=1e-9)
    core = here & (a.age == CORE)
    assert last["employment_rate_core_age"] == pytest.approx(
        (a.employment[core] != NO_JOB).mean(), rel=1e-9)
    assert last["children"] == (here & (a.age == CHILD)).sum()  # scale 1


def _stock(n: float = 20_000) -> dict:
    data = copy.deepcopy(BASE)
    data["municipalities"][0]["earlier_newcomers"] = n
    return data


def test_earlier_newcomers_are_there_at_week_0_warmed_up_and_not_counted_as_arrivals():
    model = ReceptionModel(scenario=Scenario.model_validate(_stock()))
    a = model.migrants
    stock = a.arrival_week < 0
    assert stock.sum() == 20_000  # scale 1
    assert a.arrival_week.min() >= -260
    assert (np.diff(a.arrival_week[stock]) >= 0).all()  # earliest first: arrival order
    # The warm-up took them where the weekly rates lead: most of the working-age employed,
    # and the longer here, the more often (the first year against the fifth).
    working = stock & (a.age != CHILD) & (a.age != SENIOR)
    first = working & (a.arrival_week >= -52)
    fifth = working & (a.arrival_week < -208)
    rate = lambda rows: (a.employment[rows] != NO_JOB).mean()  # noqa: E731
    assert 0.2 < rate(first) < rate(fifth)
    assert rate(fifth) > 0.5
    assert a.dims[stock, 0].mean() > 0.3  # economic well-being far above its 0.1 start
    model.run(4)
    _, totals = frames(model)
    assert totals["newcomers"].iloc[0] >= 20_000
    assert totals["retention"].notna().all()  # arrivals only: the stock stays out of it


def test_earlier_newcomers_ask_for_nothing_new_while_their_status_stays():
    """Services they never asked for record their status: no change, no new request."""
    data = _stock(5_000)
    data["streams"] = {"economic_pr": {"per_year": 0}, "asylum_claimant": {"per_year": 0}}
    model = run(Scenario.model_validate(data), 8)
    muni, _ = frames(model)
    remade = muni[[c for c in muni if c.startswith("requests_remade_")]].to_numpy().sum()
    assert remade == 0
    assert (model.migrants.svc_state == SVC_WAITING).sum() == 0


def test_earlier_newcomers_raise_early_employment_and_networks_paired_seeds():
    """The headline: a city that starts with its recent immigrants has working networks."""
    for seed in (1, 2, 3):
        without, with_stock = (
            Scenario.model_validate(copy.deepcopy(BASE) | {"run": BASE["run"] | {"seed": seed}}),
            Scenario.model_validate(_stock() | {"run": BASE["run"] | {"seed": seed}}))
        t0 = frames(run(without, 26))[1].iloc[-1]
        t1 = frames(run(with_stock, 26))[1].iloc[-1]
        assert t1["employment_rate_core_recent"] > t0["employment_rate_core_recent"] + 0.15
        assert t1["networks"] > t0["networks"] + 0.1
