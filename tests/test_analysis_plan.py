"""reception plan: the planner's question answered by running a small scenario, and its
errors (exit status 2, one line, nothing run)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main as cli_main
from analysis.plan import plan

CLASSROOM = Path(__file__).resolve().parents[1] / "scenarios" / "classroom.toml"


def test_plan_answers_with_common_seeds_and_a_bracket(tmp_path, capsys):
    csv, fig = tmp_path / "runs.csv", tmp_path / "dose"
    argv = ["plan", "--scenario", str(CLASSROOM), "--city", "Harbourview",
            "--target", "mean_wait_language>1.3", "--lever", "funding.grant_factor.federal",
            "--range", "0.25:3", "--probability", "0.75", "--replicates", "4", "--weeks", "20",
            "--grid", "3", "--tol", "0.2", "--jobs", "1", "--quiet", "--csv", str(csv),
            "--plot", str(fig)]
    rc = cli_main(argv)
    out = capsys.readouterr().out
    assert rc in (0, 1), out
    assert out.startswith("Target:  mean_wait_language > 1.3 in Harbourview")
    assert "seeds 1..4 at every level (common random numbers)" in out
    runs = pd.read_csv(csv)
    levels = sorted(runs["level"].unique())
    assert len(runs) == 4 * len(levels)
    assert f"Runs:    {len(runs)} " in out
    for _, grp in runs.groupby("level"):
        assert sorted(grp["seed"]) == [1, 2, 3, 4]  # the same seeds at every level
    assert (runs["meets"] == (runs["value"] > 1.3)).all()
    assert fig.with_suffix(".png").stat().st_size > 0
    assert fig.with_suffix(".svg").exists()
    share = runs.groupby("level")["meets"].mean()
    if rc == 0:
        answer = float(out.split("Answer:  funding.grant_factor.federal = ")[1].split()[0])
        level = min(levels, key=lambda x: abs(x - answer))
        assert share[level] >= 0.75
        below = [x for x in levels if x < level]
        if below:  # the bracket: the largest level tried below the answer fails
            assert share[max(below)] < 0.75
            assert level - max(below) <= 0.2 + 1e-9  # bisection narrowed it to --tol
            assert f"the answer lies in ({max(below):.6g}, {level:.6g}]" in out
    else:
        assert (share < 0.75).all()
        assert "no level in [0.25, 3] meets the target" in out


def test_plan_in_parallel_gives_the_same_answer():
    kwargs = dict(scenario=CLASSROOM, lever="funding.grant_factor.federal",
                  target="end(waiting_language)<100000", lo=0.5, hi=2.0, replicates=2,
                  sets=["run.weeks=6"], grid=2)
    one = plan(jobs=1, **kwargs)
    two = plan(jobs=2, **kwargs)
    assert one.answer == two.answer == 0.5
    pd.testing.assert_frame_equal(one.runs.drop(columns="wall_s"),
                                  two.runs.drop(columns="wall_s"))


@pytest.mark.parametrize(("args", "message"), [
    (["--target", "mean_wait_languag<8"], "did you mean mean_wait_language"),
    (["--target", "mean_wait_language=8"], "expected OUTCOME OP VALUE"),
    (["--lever", "funding.grant_factor.fedral"], "did you mean federal"),
    (["--lever", "municipalities.Harbourview.policies.lip"], "not a numeric parameter"),
    (["--lever", "municipalities.Harborview.shelter_beds"], "did you mean Harbourview"),
    (["--range", "4:0.5"], "LOW must be below HIGH"),
    (["--range", "0.5-4"], "expected LOW:HIGH"),
    (["--range=-1:4"], "not allowed"),
    (["--city", "Toronto"], "not a municipality of classroom.toml"),
    (["--city", "Harbourview", "--target", "index_student_at_end>0.5"], "system totals only"),
    (["--probability", "1.5"], "expected a share in (0, 1]"),
    (["--set", "run.weeks=abc"], "run.weeks"),
    (["--target", "max(no_such_column)<3", "--weeks", "2", "--replicates", "1", "--grid", "2"],
     "no column 'no_such_column'"),
])
def test_plan_errors_are_one_line(args, message, capsys):
    base = {"--target": "mean_wait_language<8", "--lever": "funding.grant_factor.federal",
            "--range": "0.5:4"}
    given = {a.split("=")[0] for a in args if a.startswith("--")}
    argv = ["plan", "--scenario", str(CLASSROOM), "--quiet", "--jobs", "1"]
    for k, v in base.items():
        if k not in given:
            argv += [k, v]
    assert cli_main(argv + args) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("error: "), captured.err
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert "Answer" not in captured.out


def test_plan_bad_scenario_file(tmp_path, capsys):
    argv = ["plan", "--scenario", str(tmp_path / "none.toml"), "--target", "retention>0.5",
            "--lever", "funding.grant_factor.federal", "--range", "0.5:4"]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cannot read the file" in err


def test_when_no_level_meets_the_target_the_closest_is_named_not_the_smallest():
    """Issue 17: every level fails a `<` target (share 0 everywhere); the level named must be
    the one whose mean outcome is nearest the threshold (the largest here), not the first."""
    from analysis.plan import best_level
    from analysis.targets import parse_target

    table = pd.DataFrame({"level": [0.5, 1.375, 2.25, 4.0], "share": [0.0] * 4,
                          "mean": [71.9, 40.0, 30.5, 22.2]})
    assert best_level(table, parse_target("mean_wait_language<8"))["level"] == 4.0
    assert best_level(table, parse_target("mean_wait_language>80"))["level"] == 0.5
    table.loc[1, "share"] = 0.1  # a level that meets it sometimes comes first
    assert best_level(table, parse_target("mean_wait_language<8"))["level"] == 1.375
