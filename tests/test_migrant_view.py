"""Migrant agents are views on the arrays: reading and writing go through them."""

from __future__ import annotations

import mesa
import pytest
from conftest import run, scenario

from sim.agency import Agency
from sim.codes import HOUSING, STATUSES
from sim.migrant import Migrant
from sim.municipality import Municipality


@pytest.fixture(scope="module")
def model():
    return run(scenario({"run": {"weeks": 30}}))


def test_agents_are_mesa_agents_of_the_model(model):
    assert all(isinstance(m, Municipality) for m in model.municipalities)
    assert all(isinstance(a, Agency) for a in model.agencies)
    assert len(model.agents_by_type[Municipality]) == 2
    assert len(model.agents_by_type[Agency]) == 2
    assert Migrant not in model.agents_by_type  # no migrant objects unless asked for


def test_view_reads_the_arrays(model):
    a = model.migrants
    for row in range(0, a.n, max(1, a.n // 50)):
        m = model.migrant(row)
        assert isinstance(m, mesa.Agent)
        assert m.status == STATUSES[a.status[row]]
        assert m.housing == HOUSING[a.housing[row]]
        assert m.municipality == model.municipalities[a.muni[row]].name
        assert m.language == pytest.approx(float(a.language[row]))
        if m.housing == "departed":
            continue  # as of the week they were last settled
        # kept lazily: targets held since ``dim_since``, closing ``adjust`` of the gap a week
        start, target = a.dims[row].astype(float), a.dim_target[row].astype(float)
        held = model.week - a.dim_since[row]  # weeks stepped since
        dims = target + (start - target) * (1 - model.integration_params.adjust) ** held
        assert m.integration_index == pytest.approx(float(dims @ model.index_weights))


def test_view_writes_through_and_follows_later_steps(model):
    m = model.migrant(0)
    m.housing = "stable_housing"
    m.municipality = "Town"
    assert HOUSING[model.migrants.housing[0]] == "stable_housing"
    assert model.municipalities[model.migrants.muni[0]].name == "Town"
    model.migrants.columns["language"][0] = 0.25
    assert m.language == pytest.approx(0.25)
    before = dict(m.integration)
    model.step()
    assert m.integration != before  # the kernel moved the row; the view shows it


def test_no_view_on_a_row_that_does_not_exist(model):
    with pytest.raises(IndexError):
        model.migrant(model.migrants.n)


def test_arrival_week_is_read_only(model):
    """The arrival ledger counts arrivals by their week: a view cannot rewrite it."""
    m = model.migrant(0)
    week = m.arrival_week
    with pytest.raises(AttributeError):
        m.arrival_week = week + 1
    assert model.migrants.arrival_week[0] == week
