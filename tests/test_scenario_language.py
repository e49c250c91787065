"""The scenario language: extends, --set, timelines, transfers, show, validate, errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.paramdoc import parameters_markdown
from sim.params import Scenario
from sim.runner import simulate
from sim.scenario import ScenarioError, load_scenario, resolve
from sim.show import to_toml

BASE = """
[scenario]
name = "base"
start_date = 2023-01-02

[run]
weeks = 40
seed = 3
scale = 2

[streams.asylum_claimant]
per_year = 5200
housing_on_arrival = { needs_shelter = 1.0, friends_family = 0.0, precarious_rental = 0.0, \
stable_housing = 0.0 }

[[municipalities]]
name = "Metro"
population = 800000
rental_stock = 20000
vacancy_rate = 0.01
shelter_beds = 400
newcomer_budget_per_year = 2e6

[[municipalities]]
name = "Town"
population = 20000
rental_stock = 2000
shelter_beds = 20

[[agencies]]
name = "ISA"
municipality = "Metro"
staff_fte = 4
grants = [{ funder = "federal", amount_per_year = 300000, kind = "core" }]
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "base.toml").write_text(BASE)
    return tmp_path


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_extends_overrides_one_municipality_by_name_and_keeps_the_rest(folder):
    child = write(folder, "child.toml", """
extends = "base.toml"
[scenario]
name = "child"
[[municipalities]]
name = "Town"
shelter_beds = 35
[[municipalities]]
name = "Village"
population = 3000
rental_stock = 200
shelter_beds = 0
""")
    sc = load_scenario(child)
    by_name = {m.name: m for m in sc.municipalities}
    assert list(by_name) == ["Metro", "Town", "Village"]
    assert by_name["Town"].shelter_beds == 35
    assert by_name["Town"].population == 20000  # inherited
    assert by_name["Metro"].shelter_beds == 400
    assert sc.scenario.name == "child"
    assert sc.run.seed == 3


def test_extends_can_remove_an_item_and_use_table_syntax(folder):
    child = write(folder, "child.toml", """
extends = "base.toml"
[municipalities.Metro]
shelter_beds = 999
[[agencies]]
name = "ISA"
remove = true
""")
    sc = load_scenario(child)
    assert [m.shelter_beds for m in sc.municipalities] == [999, 20]
    assert sc.agencies == []


def test_extends_cycle_and_missing_base_are_clear_errors(folder):
    write(folder, "a.toml", 'extends = "b.toml"\n')
    write(folder, "b.toml", 'extends = "a.toml"\n')
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(folder / "a.toml")
    write(folder, "c.toml", 'extends = "nowhere.toml"\n')
    with pytest.raises(ScenarioError, match="nowhere.toml"):
        load_scenario(folder / "c.toml")


def test_set_overrides_by_path_and_name(folder):
    sc = load_scenario(folder / "base.toml", ["municipalities.Metro.shelter_beds=9000",
                                             "run.seed=7", "municipalities[Town].policies"
                                             ".intake_cap=true"])
    assert sc.municipalities[0].shelter_beds == 9000
    assert sc.run.seed == 7
    assert sc.municipalities[1].policies.intake_cap is True
    with pytest.raises(ScenarioError, match="no item named 'Toronto'"):
        load_scenario(folder / "base.toml", ["municipalities.Toronto.shelter_beds=1"])
    with pytest.raises(ScenarioError, match="shelter_bedz: unknown key; did you mean"):
        load_scenario(folder / "base.toml", ["municipalities.Metro.shelter_bedz=1"])


def test_set_addresses_shocks_by_position(folder):
    """Items of a list without names (shocks) are addressed by position from 0."""
    text = BASE + ('[[shocks]]\nstream = "economic_pr"\nstart_week = 2\nend_week = 4\n'
                   'multiplier = 2.0\n[[shocks]]\nstream = "economic_pr"\nstart_week = 8\n'
                   'end_week = 9\nmultiplier = 3.0\n')
    write(folder, "shocked.toml", text)
    sc = load_scenario(folder / "shocked.toml", ["shocks.1.multiplier=5", "shocks[0].end_week=6"])
    assert [(s.multiplier, s.end_week) for s in sc.shocks] == [(2.0, 6), (5.0, 9)]
    with pytest.raises(ScenarioError, match=r"no item 2 \(the list has 2, counted from 0\)"):
        load_scenario(folder / "shocked.toml", ["shocks.2.multiplier=5"])


def test_timeline_caps_intake_from_a_date_and_a_top_up_opens_interim_places(folder):
    text = BASE + """
[politics]
act_pressure = 1.0  # the council holds its cap whatever the pressure (no lapse)

[[timeline]]
date = 2023-03-06
note = "council refuses new intake at capacity"
set = { "municipalities.Metro.policies.intake_cap" = true }

[[timeline]]
week = 26
note = "federal interim-housing top-up"
set = { "municipalities.Metro.interim_places" = 3000 }

[[transfers]]
week = 26
municipality = "Metro"
amount = 5e6
note = "one-time federal money"
"""
    sc = load_scenario(write(folder, "t.toml", text))
    assert [c.week for c in sc.timeline] == [9, 26]  # 2023-03-06 is 9 weeks after start
    result = simulate(sc)
    metro = result.municipalities.query("municipality == 'Metro'").set_index("week")
    assert not metro.loc[8, "intake_cap"]
    assert metro.loc[9, "intake_cap"]
    assert metro.loc[25, "unsheltered"] > 300  # ~50 a week arrive at a capped, full city
    assert metro.loc[26:, "unsheltered"].max() == 0  # the top-up houses everyone
    assert metro.loc[26, "interim_occupancy"] >= metro.loc[25, "unsheltered"]
    assert metro.loc[26, "spend_federal"] > 5e6  # the transfer is federal money
    events = [week for week, _date, _what in result.record["events"]]
    assert events == [9, 26, 26]


def test_timeline_errors_name_the_entry_and_the_path(folder):
    text = BASE + """
[[timeline]]
week = 5
set = { "municipalities.Metro.shelter_bedz" = 10, "municipalities.Metro.vacancy_rate" = 2.0 }
[[timeline]]
week = 99
set = { "run.seed" = 4 }
"""
    with pytest.raises(ScenarioError) as e:
        load_scenario(write(folder, "bad.toml", text))
    problems = "\n".join(e.value.problems)
    assert "timeline[0].set.municipalities.Metro.shelter_bedz" in problems
    assert "timeline[0].set.municipalities.Metro.vacancy_rate" in problems
    assert "less than or equal to 1" in problems
    assert "run.seed: fixed for the whole run" in problems


def test_dated_shock_becomes_weeks(folder):
    text = BASE + """
[[shocks]]
stream = "asylum_claimant"
start_date = 2023-02-06
end_date = 2023-03-06
multiplier = 3.0
"""
    shock = load_scenario(write(folder, "s.toml", text)).shocks[0]
    assert (shock.start_week, shock.end_week) == (5, 9)


def test_all_problems_at_once_with_file_and_line(folder):
    bad = BASE.replace("shelter_beds = 400", "shelter_beds = -400").replace(
        "staff_fte = 4", 'staff_fte = "four"')
    with pytest.raises(ScenarioError) as e:
        load_scenario(write(folder, "bad.toml", bad))
    problems = e.value.problems
    assert len(problems) == 2
    line_of_beds = bad.splitlines().index("shelter_beds = -400") + 1
    assert problems[0].startswith(f"bad.toml:{line_of_beds}: municipalities[Metro].shelter_beds")
    assert "agencies[ISA].staff_fte" in problems[1]


def test_show_round_trips_and_marks_origins(folder, capsys):
    child = write(folder, "child.toml", 'extends = "base.toml"\n[run]\nweeks = 12\n')
    assert main(["show", str(child), "--set", "municipalities.Town.shelter_beds=33"]) == 0
    text = capsys.readouterr().out
    again = Scenario.model_validate(tomllib.loads(text))
    assert again == load_scenario(child, ["municipalities.Town.shelter_beds=33"])
    assert "# from child.toml:3" in text  # weeks = 12
    assert "# from base.toml:" in text
    assert "# from --set" in text
    assert "# default" in text


def test_show_without_origins_is_plain_valid_toml(folder):
    sc = load_scenario(folder / "base.toml")
    assert Scenario.model_validate(tomllib.loads(to_toml(sc))) == sc


def test_validate_reports_every_file_and_exits_2_on_any_failure(folder, capsys):
    bad = write(folder, "bad.toml", BASE.replace("population = 20000", "population = 0"))
    assert main(["validate", str(folder / "base.toml")]) == 0
    assert main(["validate", str(folder / "base.toml"), str(bad)]) == 2
    out, err = capsys.readouterr()
    assert "ok: " in out
    assert "municipalities[Town].population" in err
    assert "greater than or equal to 1 persons" in err


def test_resolve_records_where_values_came_from(folder):
    child = write(folder, "child.toml", 'extends = "base.toml"\n[municipalities.Town]\n'
                  'shelter_beds = 1\n')
    origins = resolve(child).origins
    assert origins[("municipalities", "Town", "shelter_beds")] == "child.toml:3"
    assert str(origins[("municipalities", "Metro", "shelter_beds")]).startswith("base.toml:")


def test_parameters_doc_is_generated_from_the_current_schema():
    doc = Path(__file__).parent.parent / "docs" / "parameters.md"
    assert doc.read_text() == parameters_markdown(), (
        "docs/parameters.md is stale: run python -m sim.paramdoc > docs/parameters.md")
    assert "| `refugee_program_beds` |" in doc.read_text()
    assert "`shelter_beds` means `refugee_program_beds`" in doc.read_text()


def test_same_seed_same_timeline_same_result(folder):
    text = BASE + '[[timeline]]\nweek = 10\nset = { "housing.search_rate" = 0.3 }\n'
    sc = load_scenario(write(folder, "t.toml", text))
    a, b = simulate(sc).totals, simulate(sc).totals
    assert a.equals(b)
    plain = simulate(load_scenario(folder / "base.toml")).totals
    assert np.allclose(a["moved_to_stable"][:10], plain["moved_to_stable"][:10])
    assert a["moved_to_stable"][10:].sum() > plain["moved_to_stable"][10:].sum()


def test_a_partial_service_table_keeps_that_services_defaults():
    sc = Scenario.model_validate({"municipalities": [{"name": "A", "population": 1000,
                                                      "rental_stock": 100, "shelter_beds": 0}],
                                  "services": {"language": {"takeup": 0.05}}})
    assert sc.services.language.takeup == 0.05
    assert sc.services.language.duration_weeks == 40  # not the generic 8
    assert sc.services.language.lapse_per_week == 0.002  # not the generic 0.04
    assert sc.services.orientation.duration_weeks == 2
