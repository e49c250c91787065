"""Robustness across an uncertainty sweep's futures (reception robust): the status quo rerun
reproduces the sweep, plans are paired future by future, satisficing and regret add up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.cli import main as cli_main
from analysis.load import open_results
from analysis.robust import STATUS_QUO, parse_plan, robustness
from analysis.targets import PlanError
from experiments.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = """
[experiment]
name = "tiny_futures"
question = "Which futures?"
replicates = 1
root_seed = 9

[base]
scenario = "{scenario}"

[base.sets]
"run.weeks" = 12

[design]
kind = "latin_hypercube"
samples = 6
seed = 4

[design.ranges]
"streams.asylum_claimant.per_year" = {{ low = 1000, high = 9000 }}
"municipalities.Harbourview.vacancy_rate" = {{ low = 0.005, high = 0.04 }}

[outputs]
keep = "summary"
"""


@pytest.fixture(scope="module")
def futures(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("robust")
    exp = folder / "tiny_futures.toml"
    exp.write_text(EXPERIMENT.format(scenario=(ROOT / "scenarios" / "classroom.toml")
                                     .as_posix()))
    assert sweep(exp, scheduler="sync", out=folder / "res", progress=False,
                 log=lambda m: None).exit_code == 0
    return folder / "res"


def test_plans_across_futures_are_paired_and_add_up(futures):
    r = robustness(futures, ["money: funding.grant_factor.federal=3",
                             "beds: municipalities.Millbrook.shelter_beds=600"],
                   ["unsheltered_person_weeks<200", "mean_wait_language<10"], jobs=1)
    sweep_runs = open_results(futures).runs.sort_values("point")
    quo = r.outcomes[STATUS_QUO]
    # the status quo in each future is the sweep's own run (same inputs, same seed)
    np.testing.assert_allclose(quo["unsheltered_person_weeks"],
                               sweep_runs["unsheltered_person_weeks"])
    np.testing.assert_allclose(quo["cost"], sweep_runs["spend_total"])
    s = r.summary().set_index("plan")
    for name, o in r.outcomes.items():
        assert s.loc[name, "meets_all"] == int(o["meets_all"].sum())
        assert s.loc[name, "futures"] == 6
    cost = np.vstack([r.outcomes[p]["cost"] for p in r.plans])
    assert s["cost_regret_max"].min() >= 0
    assert s.loc["money", "cost_regret_max"] == pytest.approx(
        (cost[1] - cost.min(axis=0)).max())
    p = r.paired("money", "beds")
    diff = r.outcomes["beds"]["cost"] - r.outcomes["money"]["cost"]
    assert p.set_index("measure").loc["cost", "difference"] == pytest.approx(diff.mean())
    assert p.attrs["only_a"] == int((r.outcomes["money"]["meets_all"]
                                     & ~r.outcomes["beds"]["meets_all"]).sum())


def test_robust_command_line_and_errors(futures, capsys, tmp_path):
    csv = tmp_path / "futures.csv"
    rc = cli_main(["robust", str(futures), "--plan", "funding.grant_factor.federal=2",
                   "--target", "retention>0.5", "--futures", "3", "--jobs", "1", "--quiet",
                   "--csv", str(csv)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "Futures: 3 runs of the uncertainty sweep" in out
    assert "Paired, plan 1 minus status quo" in out
    assert csv.read_text().count("\n") == 1 + 2 * 3
    rc = cli_main(["robust", str(futures), "--plan", "funding.grant_factor.fedral=2",
                   "--target", "retention>0.5"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "did you mean federal" in err
    with pytest.raises(PlanError, match="not a number"):
        parse_plan("x: a.b=lots", 1)
    assert parse_plan("a.b=2, c.d=true", 3) == ("plan 3", {"a.b": 2, "c.d": True})
