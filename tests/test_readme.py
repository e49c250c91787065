"""Every `reception ...` example in the README answers its own question, at reduced size.

The commands are read from the README's code blocks, so an example that is changed or added
is run (or must be listed below with the reason it is not). A planner example must give an
answer (exit status 0 and an ``Answer:`` or ``Plan:`` line naming a level or a plan), not
"no level meets the target".
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# Commands that need what another example makes first, a file of the reader's, or a server;
# the tests named cover them. Exact commands, then command prefixes.
NOT_RUN_EXACT = {
    "reception run": "the quick start's bare run (tests/test_default_scenario.py)",
}
NOT_RUN = {
    "reception validate my_city.toml": "the reader's files",
    "reception run my_city.toml": "the reader's file",
    "reception sweep": "a sweep (tests/test_sweep.py, tests/test_experiment_levers.py)",
    "reception report": "a sweep's results (tests/test_analysis_report.py)",
    "reception discover": "a sweep's results (tests/test_discover.py)",
    "reception robust": "a sweep's results (tests/test_robust.py)",
    "reception calibrate": "minutes of fitting (tests/test_calibrate.py)",
    "reception app": "a server (tests/test_app_cli.py, tests/test_app_browser.py)",
}

# What makes each kind of command small: fewer weeks, replicates, trials (the question kept).
REDUCE = {
    "run": ["--weeks", "4"],
    "plan-one": ["--replicates", "2", "--grid", "3", "--tol", "0.5", "--set", "run.scale=100"],
    "plan-many": ["--trials", "8", "--confirm", "4", "--replicates", "2"],
}


def readme_commands() -> list[str]:
    """`reception ...` lines of the README's code blocks, continuations joined, comments
    dropped (a comment starts at two spaces and a #)."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", README.read_text(), flags=re.M | re.S)
    out = []
    for block in blocks:
        text = re.sub(r"\\\n\s*", " ", block)
        for line in text.splitlines():
            line = re.sub(r"\s{2,}#.*$", "", line).strip()
            line = re.sub(r"^python3 -m pip install -e \. && ", "", line)
            if line.startswith("reception"):
                out.append(line)
    return out


def _skipped(cmd: str) -> bool:
    return cmd in NOT_RUN_EXACT or any(cmd == k or cmd.startswith(k + " ") for k in NOT_RUN)


def _own_city(cmd: str) -> bool:
    """The "Your own city" example: commands that make a file and then use it."""
    return "new-city" in cmd or "moncton.toml" in cmd


COMMANDS = readme_commands()
RUN = [c for c in COMMANDS if not _skipped(c) and not _own_city(c)]
OWN_CITY = [c for c in COMMANDS if _own_city(c)]


def test_the_readme_has_the_examples_this_test_knows():
    assert len(COMMANDS) >= 15
    kinds = {shlex.split(c)[1] for c in RUN}
    assert {"run", "plan", "show", "scenarios"} <= kinds


def _reception(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_the_own_city_example_runs_in_order_in_a_fresh_folder(tmp_path):
    """new-city writes into the working folder: the example's commands run there in turn."""
    assert len(OWN_CITY) >= 2
    for line in OWN_CITY:
        for part in line.split("&&"):
            args = shlex.split(part)[1:]
            if args[0] == "run":
                args += [*REDUCE["run"], "--out", str(tmp_path / "out"), "--no-progress"]
            proc = _reception(args, tmp_path)
            assert proc.returncode == 0, f"{part}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    assert (tmp_path / "moncton.toml").is_file()
    assert (tmp_path / "out" / "run.json").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("cmd", RUN)
def test_each_readme_command_answers_at_reduced_size(cmd, tmp_path):
    args = shlex.split(cmd)[1:]
    if args[0] == "run":
        args += [*REDUCE["run"], "--out", str(tmp_path / "out")]
    elif args[0] == "plan":
        many = sum(a == "--lever" for a in args) > 1 or "--cost" in args
        args += [*REDUCE["plan-many" if many else "plan-one"], "--jobs", "2"]
    proc = _reception(args, ROOT)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    if args[0] == "plan":
        answer = [line for line in proc.stdout.splitlines()
                  if line.startswith(("Answer:", "Plan:"))]
        assert answer, proc.stdout
        assert "no level" not in answer[0]
        assert "no candidate" not in answer[0]
