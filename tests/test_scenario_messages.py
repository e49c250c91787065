"""Error messages point where the user wrote the mistake, with a did-you-mean."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario import ScenarioError, load_scenario
from tests.test_cli import GOOD


def _problems(path: Path, sets: list[str] | None = None) -> list[str]:
    with pytest.raises(ScenarioError) as e:
        load_scenario(path, sets or [])
    return e.value.problems


@pytest.fixture
def base(tmp_path: Path) -> Path:
    (tmp_path / "base.toml").write_text(GOOD)
    return tmp_path / "base.toml"


def test_set_of_a_whole_table_is_blamed_not_the_next_set(base):
    assert _problems(base, ["run=5", "run.weeks=2"]) == [
        "--set run: run is a table of parameters, not one value; set one of its keys "
        "(e.g. run.weeks=...)"]
    assert _problems(base, ["run.weeks.x=5"]) == [
        "--set run.weeks.x: not a parameter path (a part of it is a single value, not a "
        "table)"]


def test_a_table_check_broken_by_the_child_names_the_childs_line(base, tmp_path):
    """Shares inherited from the base no longer sum to 1 because the child changed one:
    the problem is reported at the child's line, where the user wrote the change."""
    child = tmp_path / "child.toml"
    child.write_text('extends = "base.toml"\n\n[streams.asylum_claimant.housing_on_arrival]\n'
                     "needs_shelter = 0.9\n")
    problems = _problems(child)
    assert problems == ["child.toml:4: streams.asylum_claimant: housing_on_arrival must sum "
                        "to 1, found 1.1"]
    assert _problems(base, ["streams.asylum_claimant.housing_on_arrival.needs_shelter=0.5"]
                     ) == ["--set: streams.asylum_claimant: housing_on_arrival must sum to 1, "
                           "found 0.7"]


def test_a_misspelt_item_name_gets_a_did_you_mean(base, tmp_path):
    child = tmp_path / "child.toml"
    child.write_text('extends = "base.toml"\n[municipalities.metro]\nshelter_beds = 3\n')
    problems = _problems(child)
    assert problems[0] == (
        "child.toml:3: municipalities[metro].population: required key is missing; did you "
        "mean Metro? ('metro' matches no item, so it was taken as a new one; names are "
        "case-sensitive)")
    assert _problems(base, ["municipalities.metro.shelter_beds=5"]) == [
        "--set municipalities.metro.shelter_beds: municipalities: no item named 'metro' "
        "(known: Metro, Town); did you mean Metro?"]


def test_whole_scenario_checks_name_the_line_of_the_list_item(tmp_path):
    """Windows, references, timeline changes and extends: the line the user wrote."""
    text = """extends = "classroom.toml"

[[shocks]]
stream = "asylum_claimant"
start_week = 10
end_week = 5

[[transfers]]
week = 2
municipality = "Nowhere"
amount = 5
"""
    cases = {
        "window": (text, "s.toml:3: shocks[0]: the shock must end after it starts"),
        "reference": (text.replace("end_week = 5", "end_week = 15"),
                      "s.toml:10: transfers[0].municipality: 'Nowhere' is not a municipality"),
        "timeline": ('extends = "classroom.toml"\n\n[[timeline]]\nweek = 3\n'
                     'set = { "municipalities.Millbrook.shelter_beds" = -5 }\n',
                     "s.toml:5: timeline[0].set.municipalities.Millbrook.shelter_beds: "),
        "date": ('extends = "classroom.toml"\n\n[[timeline]]\ndate = 2020-01-01\n'
                 'set = { "run.seed" = 3 }\n',
                 "s.toml:4: timeline[0].date: 2020-01-01 is before scenario.start_date"),
        "missing base": ('\n\nextends = "nothere.toml"\n',
                         "s.toml:3: extends: 'nothere.toml' not found"),
        "cycle": ('extends = "s.toml"\n', "s.toml:1: extends: s.toml extends itself"),
    }
    for name, (body, expected) in cases.items():
        path = tmp_path / "s.toml"
        path.write_text(body)
        with pytest.raises(ScenarioError) as e:
            load_scenario(path)
        assert len(e.value.problems) == 1, name
        assert e.value.problems[0].startswith(expected), (name, e.value.problems)
