"""Command-line fuzz of every entry point (issue 16): whatever file and options a user gives,
the command answers with exit 0 or 2, no traceback, and on exit 2 only ``error:`` lines
(argparse's usage line and its one error line for a malformed option).

Hypothesis breaks a small valid scenario (or an experiment naming it) in one way: bytes cut
off, a line replaced by junk, a key's value replaced by a random value, or an option's value
replaced by a random string. ``tests/test_scenario_fuzz.py`` checks the messages of the
scenario loader in detail; this file checks that every command keeps to the rule.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from conftest import ONE_CITY_TOML
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]

SCENARIO = ONE_CITY_TOML.replace("weeks = 20", "weeks = 2").replace("scale = 5\n", "scale = 50\n")

EXPERIMENT = """[base]
scenario = "s.toml"
[design]
kind = "factorial"
[design.factors]
"funding.grant_factor.federal" = [1.0, 2.0]
"""

# Each entry point with FILE for the fuzzed file; options whose value the fuzz may replace
# are written OPTION=VALUE so the value can be swapped.
ENTRY_POINTS = {
    "validate": (SCENARIO, ["validate", "FILE"]),
    "show": (SCENARIO, ["show", "FILE", "--set", "run.seed=3"]),
    "run": (SCENARIO, ["run", "FILE", "--weeks", "1", "--no-progress", "--out", "OUT"]),
    "sweep": (EXPERIMENT, ["sweep", "FILE", "--dry-run", "--out", "OUT"]),
    "plan": (SCENARIO, ["plan", "--scenario", "FILE", "--target", "peak_unsheltered<1",
                        "--lever", "housing.search_rate", "--range", "0.1:0.2",
                        "--replicates", "1", "--grid", "2", "--jobs", "1"]),
    "report": (None, ["report", "FILE", "--out", "OUT"]),
    "discover": (None, ["discover", "FILE", "--outcome", "unsheltered_person_weeks>1"]),
}

# Options whose values the fuzz replaces (sizes such as --weeks stay as given: a valid but
# huge value would only make a long run, which issue 16's resource check covers).
FUZZED_OPTIONS = ("--set", "--target", "--lever", "--range", "--outcome")

JUNK = st.one_of(st.text(max_size=30), st.sampled_from(
    ["", "[", "]]", "= 1", "x =", "nan", "inf", "1e999", "-1", "\"", "'''", "\x00", "[[a]]",
     "weeks = \"52\"", "scale = 1e-300", "per_year = 1e12", "population = -5", "true"]))


@st.composite
def broken(draw: st.DrawFn, text: str) -> str:
    """``text`` broken in one way."""
    lines = text.splitlines()
    how = draw(st.sampled_from(["cut", "line", "value"]))
    if how == "cut":
        return text[:draw(st.integers(0, len(text) - 1))]
    i = draw(st.integers(0, len(lines) - 1))
    if how == "line":
        lines[i] = draw(JUNK)
    elif "=" in lines[i]:
        lines[i] = lines[i].split("=")[0] + "= " + draw(JUNK)
    return "\n".join(lines) + "\n"


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, str | None, list[str]]:
    name = draw(st.sampled_from(sorted(ENTRY_POINTS)))
    text, argv = ENTRY_POINTS[name]
    argv = list(argv)
    content = draw(broken(text)) if text is not None else None
    fuzzable = [j for j in range(1, len(argv)) if argv[j - 1] in FUZZED_OPTIONS]
    if fuzzable and draw(st.booleans()):  # an option's value replaced
        argv[draw(st.sampled_from(fuzzable))] = draw(JUNK)
    return name, content, argv


def _check(name: str, content: str | None, argv: list[str], capsys) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        target = folder / ("s.toml" if name != "sweep" else "e.toml")
        if name == "sweep":
            (folder / "s.toml").write_text(SCENARIO)
        if content is not None:
            target.write_text(content)
        else:  # results folders: an empty one, or a file where a folder is expected
            target = folder / "results"
            target.mkdir()
        args = [str(target) if a == "FILE" else str(folder / "out") if a == "OUT" else a
                for a in argv]
        capsys.readouterr()
        try:
            code = main(args)
        except SystemExit as e:  # argparse: usage and one error line
            code = e.code
        out, err = capsys.readouterr()
        assert code in (0, 2), (args, code, err[-2000:])
        assert "Traceback" not in err, err[-2000:]
        if code == 2:
            lines = [ln for ln in err.splitlines() if ln.strip()]
            assert lines, "exit 2 without a message"
            assert all(ln.startswith(("error:", "usage:", "reception", " "))
                       for ln in lines), lines


@pytest.mark.slow
@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=cases())
def test_every_entry_point_answers_any_broken_input_with_exit_0_or_2(case, capsys):
    _check(*case, capsys)


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_the_unbroken_inputs_pass_or_fail_cleanly(name, capsys):
    """The starting points themselves: the fuzz breaks something that worked (or, for the
    results commands, an empty results folder is refused in one line)."""
    text, argv = ENTRY_POINTS[name]
    _check(name, text, list(argv), capsys)
