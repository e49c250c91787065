"""Hostile and absurd input (issue 16): nonsense refused, runs that cannot fit never started,
every entry point under the same rule (exit 2, one ``error:`` line per problem, no traceback,
nothing written).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import ONE_CITY_TOML

from sim import resources
from sim.cli import main
from sim.scenario import load_scenario

BASE = ONE_CITY_TOML + """[[municipalities]]
name = "Town"
population = 20000
rental_stock = 2000
shelter_beds = 10
[[agencies]]
name = "ISA"
municipality = "Metro"
staff_fte = 5
[[agencies.grants]]
funder = "federal"
amount_per_year = 100000
"""

# The nonsense the issue reported, each as (edit of BASE, words the one error line holds).
NONSENSE = {
    "grant ends before it starts": (BASE + "start_week = 10\nend_week = 5\n",
                                    ["agencies[ISA].grants[0]", "end_week 5", "start_week 10"]),
    "every destination weight 0": (
        BASE.replace("shelter_beds = 200", "shelter_beds = 200\ndestination_weight = 0")
        .replace("shelter_beds = 10", "shelter_beds = 10\ndestination_weight = 0"),
        ["streams.economic_pr", "weight", "nowhere"]),
    "empty city name": (BASE.replace('name = "Town"', 'name = ""'),
                        ["municipalities[1].name", "visible character"]),
    "zero-width city name": (BASE.replace('name = "Town"', 'name = "\u200b"'),
                             ["municipalities[1].name", "visible character"]),
    "names alike after NFC": (
        BASE.replace('name = "Metro"', 'name = "Montr\u00e9al"')
        .replace('"Metro"', '"Montr\u00e9al"').replace('name = "Town"', 'name = "Montre\u0301al"'),
        ["municipalities", "unique", "normalised"]),
    "decision time of a million weeks": (BASE + "[status]\nasylum_decision_weeks = 1e6\n",
                                         ["status.asylum_decision_weeks", "520 weeks"]),
    "population 1e-300": (BASE.replace("population = 20000", "population = 1e-300"),
                          ["municipalities[Town].population", "persons"]),
    "population 1e12": (BASE.replace("population = 20000", "population = 1e12"),
                        ["municipalities[Town].population", "persons"]),
    "weight 1e308": (BASE.replace("shelter_beds = 10", "shelter_beds = 10\n"
                                  "destination_weight = 1e308"),
                     ["municipalities[Town].destination_weight", "less than"]),
    "scale 1e-300": (BASE.replace("scale = 5", "scale = 1e-300"),
                     ["run.scale", "persons per agent"]),
    "1e9 arrivals a year": (BASE.replace("per_year = 2000", "per_year = 1e9"),
                            ["streams.economic_pr.per_year", "persons/year"]),
    "quoted false": (BASE.replace("progress = false", 'progress = "false"'),
                     ["run.progress", "not a string", "without quotes"]),
    "quoted 52": (BASE.replace("weeks = 20", 'weeks = "52"'), ["run.weeks", "not a string"]),
    "quoted weight": (BASE.replace("shelter_beds = 10", "shelter_beds = 10\n"
                                   'stream_weights = {economic_pr = "3"}'),
                      ["municipalities[Town].stream_weights.economic_pr"]),
    "number for a boolean": (BASE.replace("progress = false", "progress = 0"),
                             ["run.progress", "not a number"]),
}


def _one_error(capsys, argv: list[str], path: Path | None = None) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (out, err)
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines
    assert "Traceback" not in err
    if path is not None:
        assert lines[0].startswith(f"error: {path}: ")
    return lines[0]


@pytest.mark.parametrize("label", sorted(NONSENSE))
def test_nonsense_is_refused_in_one_line_naming_key_and_unit(tmp_path, capsys, label):
    text, words = NONSENSE[label]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    line = _one_error(capsys, ["validate", str(path)], path)
    for word in words:
        assert word in line, line
    assert sorted(tmp_path.iterdir()) == [path]


def test_a_sensible_file_still_validates_and_prints_its_cost(tmp_path, capsys):
    path = tmp_path / "ok.toml"
    path.write_text(BASE)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "migrant agents" in out
    assert "of memory" in out


def _big(scale: float = 1.0) -> object:
    return load_scenario(Path("scenarios/classroom.toml"),
                         [f"run.scale={scale}", "run.weeks=520",
                          "streams.economic_pr.per_year=50000000"])


def test_estimate_counts_arrivals_shocks_and_stock(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(BASE.replace("weeks = 20", "weeks = 52")
                    + '[[shocks]]\nstream = "economic_pr"\nstart_week = 0\nend_week = 26\n'
                    "multiplier = 3\n")
    est = resources.estimate(load_scenario(path))
    # 2,000 a year, the first half tripled: 1,000 * 3 + 1,000 = 4,000 people over scale 5
    assert est.agents == pytest.approx(800)
    assert est.bytes > resources.BASE_BYTES
    assert est.seconds > 0


def test_a_run_that_cannot_fit_is_refused_with_a_scale_that_fits():
    memory = 8 * 2**30
    with pytest.raises(resources.ResourceError) as e:
        resources.check(_big(), memory=memory)
    msg = str(e.value)
    assert "run.scale" in msg
    assert "--force" in msg
    assert "would fit" in msg
    suggested = float(msg.split("run.scale = ")[-1].split(" would fit")[0])
    resources.check(_big(suggested), memory=memory)  # the advice is right
    with pytest.raises(resources.ResourceError):
        resources.check(_big(suggested / 2), memory=memory)  # and not wasteful


def test_run_refuses_writes_nothing_and_force_overrides(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(resources.FORCE_ENV, raising=False)
    monkeypatch.setattr(resources, "available_memory", lambda: 100 * 2**20)
    path = tmp_path / "s.toml"
    path.write_text(BASE)
    out = tmp_path / "out"
    line = _one_error(capsys, ["run", str(path), "--out", str(out)], path)
    assert "run.scale" in line
    assert "--force" in line
    assert sorted(tmp_path.iterdir()) == [path]
    assert main(["run", str(path), "--out", str(out), "--force"]) == 0
    assert (out / "run.json").is_file()


def test_every_model_builder_is_guarded(monkeypatch):
    """Sweeps, plans and calibrations build models too: the guard sits in the model."""
    from sim.model import ReceptionModel

    monkeypatch.delenv(resources.FORCE_ENV, raising=False)
    monkeypatch.setattr(resources, "available_memory", lambda: 100 * 2**20)
    with pytest.raises(resources.ResourceError):
        ReceptionModel(scenario="classroom")


@pytest.fixture
def bad_inputs(tmp_path) -> dict[str, Path]:
    out = {"missing": tmp_path / "missing.toml", "folder": tmp_path / "folder.toml",
           "deep": tmp_path / "deep.toml", "big": tmp_path / "big.toml"}
    out["folder"].mkdir()
    out["deep"].write_text(BASE + "[scenario]\nquestion = " + "[" * 3000 + "]" * 3000 + "\n")
    out["big"].write_text(BASE + ("#" * 99 + "\n") * 60_000)
    if hasattr(os, "mkfifo"):
        out["fifo"] = tmp_path / "fifo.toml"
        os.mkfifo(out["fifo"])
    return out


ENTRY_POINTS = {  # command line with FILE for the bad scenario or experiment
    "run": ["run", "FILE"], "validate": ["validate", "FILE"], "show": ["show", "FILE"],
    "sweep": ["sweep", "FILE"], "plan": ["plan", "--scenario", "FILE", "--target",
                                         "peak_unsheltered<1", "--lever", "housing.search_rate"],
    "calibrate": ["calibrate", "FILE", "--observed",
                  "data/toronto_refugees_actively_homeless.csv", "--fit", "housing.search_rate"],
    "app": ["app", "FILE"],
}


@pytest.mark.parametrize("command", sorted(ENTRY_POINTS))
def test_every_entry_point_refuses_bad_files_in_one_line(bad_inputs, capsys, command,
                                                         monkeypatch):
    monkeypatch.chdir(Path(__file__).parent.parent)
    for kind, path in bad_inputs.items():
        argv = [str(path) if a == "FILE" else a for a in ENTRY_POINTS[command]]
        line = _one_error(capsys, argv)
        assert str(path) in line or "--scenario" in line, (kind, line)
