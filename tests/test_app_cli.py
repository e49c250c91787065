"""`reception app`: options checked as usage errors; the page can only open presets."""

from __future__ import annotations

import argparse

import pytest

from app import SCENARIO_ENV
from app.cli import add_parser
from app.model import PRESETS, build_scenario, preset_path
from sim.scenario import SCENARIO_DIR, ScenarioError


@pytest.mark.parametrize("port", ["99999", "-1", "65536", "http"])
def test_a_port_out_of_range_is_a_usage_error(port, capsys):
    parser = argparse.ArgumentParser(prog="reception")
    add_parser(parser.add_subparsers())
    with pytest.raises(SystemExit) as e:
        parser.parse_args(["app", "--port", port])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --port: {port!r}: expected a port number from 0 to 65535" in err
    assert "Traceback" not in err
    assert parser.parse_args(["app", "--port", "65535"]).port == 65535


@pytest.mark.parametrize("name", ["../scenarios/classroom", "../../etc/passwd",
                                  str(SCENARIO_DIR / "classroom.toml"), "/etc/hostname.toml",
                                  "classroom.toml"])
def test_the_page_accepts_only_preset_names(name, monkeypatch):
    monkeypatch.delenv(SCENARIO_ENV, raising=False)
    with pytest.raises(ScenarioError, match="not a bundled scenario"):
        preset_path(name)
    with pytest.raises(ScenarioError, match="not a bundled scenario"):
        build_scenario(name)
    assert preset_path("classroom") == SCENARIO_DIR / "classroom.toml"
    assert "classroom" in PRESETS


def test_the_file_the_server_was_started_with_is_the_one_other_preset(tmp_path, monkeypatch):
    own = tmp_path / "mine.toml"
    own.write_text((SCENARIO_DIR / "classroom.toml").read_text())
    monkeypatch.setenv(SCENARIO_ENV, str(own))
    assert preset_path(str(own)) == own
    with pytest.raises(ScenarioError):
        preset_path(str(tmp_path / "other.toml"))
