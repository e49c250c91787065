"""ReceptionModel as a Mesa user drives it: batch_run, running, the collector, views."""

from __future__ import annotations

import tomllib

import mesa
import pandas as pd
import pytest
from conftest import BASE, scenario

from sim.agency import Agency
from sim.government import Government
from sim.model import ReceptionModel
from sim.municipality import Municipality
from sim.scenario import SCENARIO_DIR, ScenarioError
from sim.show import to_toml

BEDS = "municipalities.Metro.shelter_beds"


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory) -> str:
    """conftest's BASE scenario for 8 weeks as a TOML file (batch_run takes a name as one
    value, whereas it would iterate over a Scenario object's fields)."""
    path = tmp_path_factory.mktemp("batch") / "small.toml"
    path.write_text(to_toml(scenario({"run": {"weeks": 8}}), {}))
    return str(path)


def test_batch_run_grids_over_a_parameter_path_and_stops_at_the_horizon(scenario_file):
    rows = mesa.batch_run(ReceptionModel, {"scenario": scenario_file, BEDS: [10, 400]},
                          number_processes=1, display_progress=False)
    # default max_steps is 1000: the 8-week horizon stops each run; one row per agent
    # (2 municipalities, 2 agencies, the federal government) at the last week
    assert len(rows) == 2 * 5
    assert {r["Step"] for r in rows} == {7}
    assert {r["week"] for r in rows} == {7.0}
    metro = {r[BEDS]: r for r in rows if r["AgentID"] == 1}
    assert set(metro) == {10, 400}
    # system totals: Metro's beds plus Town's 15
    assert metro[10]["shelter_beds"] == 25
    assert metro[400]["shelter_beds"] == 415
    assert metro[10]["kind"] == "municipality"
    assert metro[10]["name"] == "Metro"
    # fewer beds, more overflow: the parameter reached the model
    assert metro[10]["shelter_overflow"] > metro[400]["shelter_overflow"]


def test_batch_run_rows_of_a_week_describe_that_week(scenario_file):
    rows = mesa.batch_run(ReceptionModel, {"scenario": scenario_file}, number_processes=1,
                          data_collection_period=1, display_progress=False)
    model = ReceptionModel(scenario=scenario_file)
    model.run_model()
    agents = model.datacollector.get_agent_vars_dataframe()
    for r in rows:
        assert r["week"] == r["Step"]
        if r["kind"] != "government":  # governments hold no cash of their own
            assert r["cash"] == agents.loc[(r["Step"], r["AgentID"]), "cash"]
    assert {r["Step"] for r in rows} == set(range(8))


def test_running_turns_false_at_the_horizon_and_run_finishes_the_horizon():
    model = ReceptionModel(scenario=scenario({"run": {"weeks": 5}}))
    assert model.running
    model.run(2)
    assert model.running
    model.run()  # the rest of the horizon, not another full one
    assert (model.week, model.steps, model.running) == (5, 5, False)
    model.run_model()  # Mesa's loop honours running
    assert model.week == 5


def test_datacollector_exists_before_the_first_step():
    model = ReceptionModel(scenario=scenario({"run": {"weeks": 3}}))
    assert model.datacollector.get_model_vars_dataframe().empty
    model.step()
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == 1
    assert "shelter_occupancy" in frame
    assert frame["week"].tolist() == [0.0]


def test_agent_reporters_collect_municipality_and_agency_state_each_week():
    model = ReceptionModel(scenario=scenario({"run": {"weeks": 6}}))
    model.run()
    agents = model.datacollector.get_agent_vars_dataframe()
    assert len(agents) == 6 * 5
    last = agents.xs(5, level="Step").set_index("name")
    town = next(m for m in model.municipalities if m.name == "Town")
    agency = next(a for a in model.agencies if a.name == "Metro Settlement")
    assert last.loc["Town", "cash"] == pytest.approx(town.cash)
    assert last.loc["Town", "kind"] == "municipality"
    row = model.municipal_history[-1]
    assert last.loc["Metro", "shelter_occupancy"] == row["shelter_occupancy"][0]
    assert last.loc["Metro Settlement", "staff_fte"] == pytest.approx(agency.staff)
    assert last.loc["Metro Settlement", "municipality"] == "Metro"
    assert last.loc["Metro Settlement", "hours_available"] == pytest.approx(
        agency.hours_available.sum())
    assert last.loc["Metro Settlement", "hours_available"] > 0
    assert pd.isna(last.loc["Metro", "staff_fte"])  # a municipality has no staff column
    assert last.loc["federal", "kind"] == "government"
    assert last.loc["federal", "paid_total"] == model.governments[0].paid_total


def test_looking_at_a_migrant_leaves_the_agents_unchanged():
    model = ReceptionModel(scenario=scenario({"run": {"weeks": 4}}))
    model.run(2)
    before = list(model.agents)
    view = model.migrant(0)
    assert isinstance(view, mesa.Agent)
    assert view.model is model
    assert view.row == 0
    assert list(model.agents) == before
    assert len(before) == 5
    assert {type(a) for a in model.agents} == {Municipality, Agency, Government}
    assert model.migrant(0) is view
    model.run()  # collection over agents is unaffected by the view
    assert len(model.datacollector.get_agent_vars_dataframe().xs(3, level="Step")) == 5


def test_keyword_parameter_paths_set_the_scenario():
    sc = scenario({"run": {"weeks": 2}})
    model = ReceptionModel(scenario=sc, **{BEDS: 77, "run.weeks": 3})
    assert model.scenario.municipalities[0].shelter_beds == 77
    assert model.scenario.run.weeks == 3
    assert sc.municipalities[0].shelter_beds == BASE["municipalities"][0]["shelter_beds"]


@pytest.mark.parametrize(("key", "value", "says"), [
    ("shelter_beds", 5, "keyword: shelter_beds: unknown key"),
    ("municipalities.Nowhere.shelter_beds", 5, "no item named 'Nowhere'"),
    (BEDS, -5, "shelter_beds"),
])
def test_a_bad_keyword_parameter_names_the_path(key, value, says):
    with pytest.raises(ScenarioError, match=says):
        ReceptionModel(scenario=scenario({"run": {"weeks": 2}}), **{key: value})


@pytest.mark.parametrize("name", ["classroom", "classroom.toml"])
def test_bundled_scenarios_load_by_name_from_any_folder(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = ReceptionModel(scenario=name, **{"run.weeks": 1})
    assert model.scenario.scenario.name == tomllib.loads(
        (SCENARIO_DIR / "classroom.toml").read_text())["scenario"]["name"]
