"""`reception run`: outputs for good input; one clear line and nothing written for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from sim.runner import MUNICIPAL_TABLE, RUN_RECORD, TOTALS_TABLE

GOOD = """
[scenario]
name = "cli test"

[run]
weeks = 20
seed = 3
scale = 5

[streams.economic_pr]
per_year = 2000

[streams.asylum_claimant]
per_year = 1000

[streams.asylum_claimant.housing_on_arrival]
needs_shelter = 0.8
friends_family = 0.2
precarious_rental = 0.0
stable_housing = 0.0

[[municipalities]]
name = "Metro"
population = 500000
rental_stock = 60000
shelter_beds = 200

[[municipalities]]
name = "Town"
population = 20000
rental_stock = 2000
shelter_beds = 10

[[agencies]]
name = "ISA"
municipality = "Metro"
staff_fte = 5
grants = [{ funder = "federal", amount_per_year = 375000, kind = "core" }]
"""


def reception(*args, cwd):
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_run_writes_tables_and_run_record(tmp_path):
    (tmp_path / "s.toml").write_text(GOOD)
    r = reception("run", "s.toml", "--out", "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Metro" in r.stdout
    assert "Town" in r.stdout
    muni = pd.read_parquet(tmp_path / "out" / MUNICIPAL_TABLE)
    totals = pd.read_parquet(tmp_path / "out" / TOTALS_TABLE)
    assert len(muni) == 40
    assert len(totals) == 20
    assert set(muni["municipality"]) == {"Metro", "Town"}
    record = json.loads((tmp_path / "out" / RUN_RECORD).read_text())
    assert record["seed"] == 3
    assert record["scenario"]["run"]["weeks"] == 20
    assert record["versions"]["mesa"].startswith("3.")
    assert record["wall_time_s"] > 0
    # counts come back in people: arrivals are multiples of the scale (5)
    assert (totals["arrivals"] % 5 == 0).all()
    assert totals["arrivals"].sum() > 0


def test_existing_output_is_never_replaced_without_overwrite(tmp_path):
    (tmp_path / "s.toml").write_text(GOOD)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("precious")
    r = reception("run", "s.toml", "--out", "out", cwd=tmp_path)
    assert r.returncode == 2
    assert "already holds files" in r.stderr
    assert "Traceback" not in r.stderr
    assert (tmp_path / "out" / "keep.txt").read_text() == "precious"


BAD = [
    ("unknown key", "shelter_beds = 200", "shelter_bedz = 200",
     ["municipalities[Metro].shelter_bedz", "unknown key", "did you mean shelter_beds"]),
    ("wrong type", "staff_fte = 5", 'staff_fte = "five"',
     ["agencies[ISA].staff_fte", "five"]),
    ("negative capacity", "shelter_beds = 10", "shelter_beds = -10",
     ["municipalities[Town].shelter_beds", "greater than or equal to 0", "-10"]),
    ("shares", "friends_family = 0.2", "friends_family = 0.5",
     ["streams.asylum_claimant", "sum to 1", "1.3"]),
    ("reference", 'municipality = "Metro"', 'municipality = "Metropolis"',
     ["agencies[ISA].municipality", "Metropolis", "not a municipality"]),
    ("toml syntax", "[run]", "[run", ["not valid TOML"]),
]


@pytest.mark.parametrize(("label", "old", "new", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_scenario_gives_one_clear_line_and_writes_nothing(tmp_path, label, old, new,
                                                              expected):
    assert old in GOOD
    (tmp_path / "bad.toml").write_text(GOOD.replace(old, new, 1))
    r = reception("run", "bad.toml", "--out", "out", cwd=tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: bad.toml: ")
    for fragment in expected:
        assert fragment in lines[0]
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out.*"))


def test_missing_file_is_a_clear_error(tmp_path):
    r = reception("run", "nope.toml", cwd=tmp_path)
    assert r.returncode == 2
    assert "nope.toml" in r.stderr
    assert "cannot read" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "results").exists()


def test_bundled_scenarios_are_found_by_name_from_any_folder(tmp_path):
    done = reception("validate", "classroom", "classroom.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [line.split(";")[0] for line in done.stdout.splitlines()]  # before the estimate
    assert lines == ["ok: classroom (3 municipalities, 3 agencies, 104 weeks",
                     "ok: classroom.toml (3 municipalities, 3 agencies, 104 weeks"]
    done = reception("run", "classroom", "--weeks", "2", "--out", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "overflow" in done.stdout.splitlines()[1]  # the summary table's header
    assert json.loads((tmp_path / "out" / RUN_RECORD).read_text())["scenario"]["scenario"][
        "name"] == "classroom"


def test_a_file_in_the_working_folder_comes_before_a_bundled_one(tmp_path):
    (tmp_path / "classroom.toml").write_text(GOOD.replace(
        '[[municipalities]]\nname = "Town"\npopulation = 20000\nrental_stock = 2000\n'
        'shelter_beds = 10\n', ""))
    done = reception("validate", "classroom", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: classroom (1 municipality, 1 agency, 20 weeks;")
