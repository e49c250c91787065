"""Bounded reading (issue 16): every input limit refuses in one line, fast, naming its fix.

Each test builds the hostile file the issue reported (a 10 MB scenario, 40,000
municipalities, a FIFO or folder, deep nesting, a series that is a FIFO) and checks that
``reception validate`` exits 2 within seconds with one ``error:`` line naming the limit and
the environment variable that raises it, and that raising the limit lets the file through.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from conftest import ONE_CITY_TOML

from sim.cli import main

BASE = ONE_CITY_TOML


def validate(path: Path, capsys) -> tuple[int, list[str], float]:
    t0 = time.perf_counter()
    code = main(["validate", str(path)])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err, time.perf_counter() - t0


def refused(path: Path, capsys, *words: str) -> str:
    code, err, seconds = validate(path, capsys)
    assert code == 2, err
    assert len(err) == 1, err
    assert err[0].startswith(f"error: {path}: ")
    assert "Traceback" not in err[0]
    for word in words:
        assert word in err[0], err[0]
    assert seconds < 15
    return err[0]


def test_a_file_over_the_size_limit_is_refused_and_the_limit_can_be_raised(tmp_path, capsys,
                                                                          monkeypatch):
    big = tmp_path / "big.toml"
    big.write_text(BASE + ("# " + "x" * 98 + "\n") * 60_000)  # ~6 MB of comments
    refused(big, capsys, "MB", "limit of 5 megabytes", "RECEPTION_MAX_FILE_MB")
    monkeypatch.setenv("RECEPTION_MAX_FILE_MB", "10")
    assert validate(big, capsys)[0] == 0


def test_too_many_municipalities_are_refused_before_any_check(tmp_path, capsys, monkeypatch):
    many = tmp_path / "many.toml"
    many.write_text("[run]\nweeks = 5\n" + "".join(
        f'[[municipalities]]\nname = "M{i}"\npopulation = 1000\nrental_stock = 100\n'
        f'shelter_beds = 1\n' for i in range(40_000)))
    msg = refused(many, capsys, "municipalities: 40,000 entries", "RECEPTION_MAX_ITEMS")
    assert "limit of 2,000" in msg
    monkeypatch.setenv("RECEPTION_MAX_ITEMS", "50000")
    few = tmp_path / "few.toml"
    few.write_text(many.read_text()[: many.read_text().index('[[municipalities]]\nname = "M30"')])
    assert validate(few, capsys)[0] == 0


@pytest.mark.parametrize("nesting", ["[" * 5000 + "]" * 5000, "[" * 40 + "]" * 40,
                                     "{a = " * 3000 + "1" + "}" * 3000])
def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path, capsys, nesting):
    deep = tmp_path / "deep.toml"
    deep.write_text(BASE + f"[scenario]\nquestion = {nesting}\n")
    refused(deep, capsys, "levels", "RECEPTION_MAX_DEPTH")


def test_deep_set_value_is_refused(tmp_path, capsys):
    ok = tmp_path / "ok.toml"
    ok.write_text(BASE)
    code = main(["show", str(ok), "--set", "run.weeks=" + "[" * 3000 + "]" * 3000])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert "RECEPTION_MAX_DEPTH" in err[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_scenario_and_fifo_series_are_refused_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    refused(fifo, capsys, "FIFO", "only regular files are read")
    os.mkfifo(tmp_path / "pipe.csv")
    series = tmp_path / "series.toml"
    series.write_text(BASE + '[streams.economic_pr.series]\nfile = "pipe.csv"\n')
    refused(series, capsys, "streams.economic_pr.series.file", "FIFO")


def test_folder_and_device_are_refused(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    refused(folder, capsys, "a folder, not a regular file")
    if Path("/dev/zero").exists():
        monkeypatch.setenv("RECEPTION_ALLOW_PATHS", "/dev")
        (tmp_path / "zero.csv").symlink_to("/dev/zero")
        dev = tmp_path / "dev.toml"
        dev.write_text(BASE + '[streams.economic_pr.series]\nfile = "zero.csv"\n')
        code, err, seconds = validate(dev, capsys)
        assert code == 2, err
        assert len(err) == 1, err
        assert seconds < 15
