"""`reception run --out/--overwrite`: only a folder a run wrote is ever replaced; bad --out
fails before the run; interrupted runs leave no temporary folder that lives on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.outdir import MARKER, OutputError, prepare, remove_stale
from sim.runner import MUNICIPAL_TABLE, RUN_RECORD, TOTALS_TABLE
from tests.test_cli import GOOD

ROOT = Path(__file__).resolve().parent.parent


def reception(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300, env=env)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "s.toml").write_text(GOOD)
    return tmp_path


def _one_line_error(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: "), r.stderr
    return lines[0]


def _no_temp_folders(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_overwrite_replaces_a_folder_a_run_wrote(work):
    assert reception("run", "s.toml", "--out", "out", "--no-progress", cwd=work).returncode == 0
    first = json.loads((work / "out" / RUN_RECORD).read_text())
    r = reception("run", "s.toml", "--out", "out", "--overwrite", "--seed", "9",
                  "--no-progress", cwd=work)
    assert r.returncode == 0, r.stderr
    second = json.loads((work / "out" / RUN_RECORD).read_text())
    assert (first["seed"], second["seed"]) == (3, 9)
    assert sorted(p.name for p in (work / "out").iterdir()) == sorted(
        [MUNICIPAL_TABLE, TOTALS_TABLE, "monthly.parquet", RUN_RECORD])
    assert len(pd.read_parquet(work / "out" / TOTALS_TABLE)) == 20
    assert _no_temp_folders(work)


def test_overwrite_refuses_a_folder_of_unrelated_files(work):
    thesis = work / "thesis"
    thesis.mkdir()
    (thesis / "thesis.tex").write_text("years of work")
    (thesis / "data.csv").write_text("a,b\n1,2\n")
    line = _one_line_error(reception("run", "s.toml", "--out", "thesis", "--overwrite",
                                     cwd=work))
    assert "was not written by `reception run`" in line
    assert "run.json" in line
    assert (thesis / "thesis.tex").read_text() == "years of work"
    assert (thesis / "data.csv").read_text() == "a,b\n1,2\n"
    assert _no_temp_folders(work)


def test_overwrite_refuses_a_run_folder_that_also_holds_other_files(work):
    assert reception("run", "s.toml", "--out", "out", "--no-progress", cwd=work).returncode == 0
    (work / "out" / "notes.md").write_text("my notes")
    (work / "out" / "figures").mkdir()
    line = _one_line_error(reception("run", "s.toml", "--out", "out", "--overwrite", cwd=work))
    assert "holds figures, notes.md, which `reception run` did not write" in line
    assert (work / "out" / "notes.md").read_text() == "my notes"
    assert (work / "out" / RUN_RECORD).exists()


def test_overwrite_refuses_a_forged_run_record(work):
    """A run.json that is not a run record (a user's own JSON) does not make a folder ours."""
    (work / "out").mkdir()
    (work / "out" / RUN_RECORD).write_text(json.dumps({"seed": 1}))
    line = _one_line_error(reception("run", "s.toml", "--out", "out", "--overwrite", cwd=work))
    assert "was not written by `reception run`" in line
    assert json.loads((work / "out" / RUN_RECORD).read_text()) == {"seed": 1}


@pytest.mark.parametrize(("out", "what"), [(".", "the working directory"),
                                       ("..", "a parent of the working directory"),
                                       ("/", "a parent of the working directory")])
def test_overwrite_never_touches_the_working_directory_or_its_parents(work, out, what):
    before = sorted(p.name for p in work.iterdir())
    line = _one_line_error(reception("run", "s.toml", "--out", out, "--overwrite", cwd=work))
    assert f"--out {out} is {what}" in line
    assert sorted(p.name for p in work.iterdir()) == before


def test_overwrite_never_touches_home(work):
    home = work / "home"
    home.mkdir()
    (home / "diary.txt").write_text("private")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(home)}
    r = subprocess.run([sys.executable, "-m", "sim.cli", "run", "s.toml", "--out", str(home),
                        "--overwrite"], capture_output=True, text=True, cwd=work, env=env,
                       timeout=300)
    assert "is your home folder" in _one_line_error(r)
    assert (home / "diary.txt").read_text() == "private"


def test_a_symlink_out_is_refused_and_its_target_kept(work):
    assert reception("run", "s.toml", "--out", "real", "--no-progress", cwd=work).returncode == 0
    (work / "link").symlink_to(work / "real")
    line = _one_line_error(reception("run", "s.toml", "--out", "link", "--overwrite",
                                     cwd=work))
    assert "is a symbolic link" in line
    assert (work / "link").is_symlink()
    assert (work / "real" / RUN_RECORD).exists()


def test_a_symlink_inside_a_run_folder_is_never_followed(work, tmp_path_factory):
    """A run folder whose table is a link to a user's file is not ours: nothing is removed."""
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "precious.parquet"
    elsewhere.write_text("precious")
    assert reception("run", "s.toml", "--out", "out", "--no-progress", cwd=work).returncode == 0
    (work / "out" / TOTALS_TABLE).unlink()
    (work / "out" / TOTALS_TABLE).symlink_to(elsewhere)
    line = _one_line_error(reception("run", "s.toml", "--out", "out", "--overwrite", cwd=work))
    assert TOTALS_TABLE in line
    assert elsewhere.read_text() == "precious"


def test_out_that_is_a_file_fails_before_running(work):
    (work / "out").write_text("a file")
    line = _one_line_error(reception("run", "s.toml", "--out", "out", cwd=work))
    assert "exists and is a file, not a folder" in line
    assert (work / "out").read_text() == "a file"


def test_out_where_nothing_can_be_written_fails_before_running(work):
    """/proc refuses new folders even to root: the error comes before the 20-week run."""
    r = reception("run", "s.toml", "--out", "/proc/reception-test-out", cwd=work)
    assert "cannot write in /proc" in _one_line_error(r)
    assert "Week" not in r.stdout  # no summary: nothing ran


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root may write into a read-only folder")
def test_read_only_out_fails_before_running(work):
    (work / "ro").mkdir()
    (work / "ro").chmod(0o555)
    try:
        r = reception("run", "s.toml", "--out", "ro/run", cwd=work)
        assert "cannot write in ro" in _one_line_error(r)
        assert "Week" not in r.stdout
    finally:
        (work / "ro").chmod(0o755)


def _wait_for_temp(folder: Path, proc: subprocess.Popen) -> Path:
    """The run's temporary folder, once it exists (the run is then under way)."""
    while True:
        temps = [p for p in folder.iterdir() if p.name.startswith(".out.reception-")]
        if temps:
            return temps[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)


def _start_long_run(work: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "sim.cli", "run", "s.toml", "--out", "out", "--weeks", "5200",
           "--set", "run.scale=1", "--no-progress"]
    return subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize(("sig", "status", "line"), [(signal.SIGINT, 130, "interrupted (Ctrl+C)"),
                                               (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_interrupted_run_exits_with_one_line_and_leaves_nothing(work, sig, status, line):
    proc = _start_long_run(work)
    temp = _wait_for_temp(work, proc)
    assert json.loads((temp / MARKER).read_text())["pid"] == proc.pid
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == status, err
    assert err.strip() == line
    assert not (work / "out").exists()
    assert _no_temp_folders(work)


def test_a_killed_runs_temporary_folder_is_removed_by_the_next_run(work):
    proc = _start_long_run(work)
    temp = _wait_for_temp(work, proc)
    (temp / TOTALS_TABLE).write_bytes(b"PAR1 half a file")  # as if killed while writing
    proc.kill()
    proc.communicate()
    assert temp.exists()
    r = reception("run", "s.toml", "--out", "out", "--no-progress", cwd=work)
    assert r.returncode == 0, r.stderr
    assert "removed 1 temporary folder(s) left beside out by interrupted runs" in r.stderr
    assert not temp.exists()
    assert _no_temp_folders(work)


def test_stale_cleanup_spares_live_runs_foreign_content_and_other_names(tmp_path):
    out = tmp_path / "out"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()

    def temp(name: str, pid: int, extra: str | None = None) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / MARKER).write_text(json.dumps({"pid": pid}))
        (folder / TOTALS_TABLE).write_bytes(b"partial")
        if extra:
            (folder / extra).write_text("user file")
        return folder

    stale = temp(".out.reception-1-aaaaaaaa", dead.pid)
    live = temp(".out.reception-2-bbbbbbbb", os.getpid())
    foreign = temp(".out.reception-3-cccccccc", dead.pid, extra="mine.txt")
    other = temp(".other.reception-4-dddddddd", dead.pid)
    legacy = tmp_path / ".out.k3j_x9a2"  # an older version's mkdtemp folder
    legacy.mkdir()
    (legacy / MUNICIPAL_TABLE).write_bytes(b"partial")
    backup = tmp_path / ".out.20240101"  # a user's copy of a finished run: has run.json
    backup.mkdir()
    (backup / RUN_RECORD).write_text("{}")
    assert remove_stale(out) == 2
    assert not stale.exists()
    assert not legacy.exists()
    assert live.exists()
    assert other.exists()
    assert backup.exists()
    assert (foreign / "mine.txt").read_text() == "user file"


def test_prepare_refuses_before_making_anything(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.txt").write_text("keep")
    with pytest.raises(OutputError, match="working directory"):
        prepare(Path("."), overwrite=True)
    staging = prepare(Path("new"), overwrite=False)
    assert staging.tmp.parent.resolve() == tmp_path
    assert (staging.tmp / MARKER).exists()
    staging.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.txt"]
