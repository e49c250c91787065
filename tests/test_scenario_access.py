"""What a scenario may read: its own folder tree and the bundled library, unless allowed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.design import load_plan
from experiments.schema import ExperimentError
from sim.access import ALLOW_ENV
from sim.scenario import ScenarioError, load_scenario
from tests.test_cli import GOOD

ROOT = Path(__file__).resolve().parent.parent
SERIES = '\n[streams.asylum_claimant.series]\nfile = "{file}"\n'


@pytest.fixture
def layout(tmp_path: Path, monkeypatch) -> Path:
    """proj/ holds the user's scenarios; secret/ holds files no scenario may read."""
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "creds.toml").write_text('TOKEN = "SECRET-toml"\n')
    (secret / "notes.txt").write_text("SECRET-txt\n")
    (secret / "series.csv").write_text("month,value\nSECRET-csv,1\n")
    proj = tmp_path / "proj"
    (proj / "sub").mkdir(parents=True)
    (proj / "good.toml").write_text(GOOD)
    (proj / "sub" / "series.csv").write_text("month,value\n2024-01,100\n2024-02,120\n")
    return proj


def _problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert not any("SECRET" in p for p in e.value.problems), e.value.problems
    return e.value.problems


@pytest.mark.parametrize("target", ["ABS/secret/creds.toml", "../secret/creds.toml"])
def test_extends_outside_the_folder_tree_is_refused(layout, target):
    child = layout / "child.toml"
    child.write_text(f'extends = "{target.replace("ABS", str(layout.parent))}"\n')
    problems = _problems(child)
    assert len(problems) == 1
    assert problems[0].startswith("child.toml:1: extends: '")
    assert problems[0].endswith(
        f"creds.toml' is outside the scenario's folder ({layout}) and the bundled library; "
        "pass --allow-path DIR (or set RECEPTION_ALLOW_PATHS) to allow reading from another "
        "folder")


def test_extends_of_a_file_that_is_not_toml_is_refused_unread(layout):
    child = layout / "child.toml"
    child.write_text('extends = "notes.txt"\n')
    (layout / "notes.txt").write_text("SECRET-txt = 1\n")
    assert _problems(child) == ["child.toml:1: extends: expected a .toml file, found 'notes.txt'"]


def test_a_link_inside_the_tree_cannot_lead_outside(layout):
    (layout / "link.toml").symlink_to(layout.parent / "secret" / "creds.toml")
    child = layout / "child.toml"
    child.write_text('extends = "link.toml"\n')
    assert "is outside the scenario's folder" in _problems(child)[0]


@pytest.mark.parametrize(("file", "expected"), [
    ("ABS/secret/series.csv", "'SECRET_DIR/series.csv' is outside the scenario's folder (PROJ)"),
    ("../secret/series.csv", "'SECRET_DIR/series.csv' is outside the scenario's folder (PROJ)"),
    ("../secret/notes.txt", "expected a .csv file, found 'notes.txt'")])
def test_series_files_are_confined_and_must_be_csv(layout, file, expected):
    s = layout / "s.toml"
    s.write_text(GOOD + SERIES.format(file=file.replace("ABS", str(layout.parent))))
    problems = _problems(s)
    expected = expected.replace("SECRET_DIR", str(layout.parent / "secret")).replace(
        "PROJ", str(layout))
    assert len(problems) == 1
    assert problems[0].startswith(f"s.toml:41: streams.asylum_claimant.series.file: "
                                  f"{expected}")


def test_files_inside_the_tree_and_the_bundled_library_are_read(layout):
    s = layout / "s.toml"
    s.write_text(GOOD + SERIES.format(file="sub/series.csv"))
    assert load_scenario(s).streams["asylum_claimant"].series is not None
    child = layout / "child.toml"
    child.write_text('extends = "toronto_refugee_shelter.toml"\n')  # bundled; reads data/
    assert load_scenario(child).streams["asylum_claimant"].series is not None


def test_allow_path_and_the_environment_variable_let_more_in(layout, monkeypatch):
    s = layout / "s.toml"
    s.write_text(GOOD + SERIES.format(file="../secret/series.csv"))
    monkeypatch.setenv(ALLOW_ENV, str(layout.parent / "secret"))
    with pytest.raises(ScenarioError) as e:
        load_scenario(s)  # now read (a CSV: its content may be shown)
    assert "month 'SECRET-csv' is not a month" in e.value.problems[0]
    monkeypatch.delenv(ALLOW_ENV)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "sim.cli", "validate", "s.toml"]
    refused = subprocess.run(cmd, capture_output=True, text=True, cwd=layout, env=env,
                             timeout=120)
    allowed = subprocess.run([*cmd, "--allow-path", "../secret"], capture_output=True,
                             text=True, cwd=layout, env=env, timeout=120)
    assert refused.returncode == allowed.returncode == 2
    assert "outside the scenario's folder" in refused.stderr
    assert "SECRET" not in refused.stderr
    assert "month 'SECRET-csv' is not a month" in allowed.stderr


def test_experiment_base_scenario_is_confined(layout):
    exp = layout / "exp.toml"
    exp.write_text(f'[experiment]\nroot_seed = 1\n[base]\nscenario = '
                   f'"{layout.parent / "secret" / "creds.toml"}"\n[design]\nkind = "factorial"\n'
                   '[design.factors]\n"housing.search_rate" = [0.1]\n')
    with pytest.raises(ExperimentError) as e:
        load_plan(exp)
    assert e.value.problems[0].startswith("line 4: base.scenario: ")
    assert "is outside the scenario's folder" in e.value.problems[0]
    assert "SECRET" not in " ".join(e.value.problems)
