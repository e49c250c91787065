"""Scenario discovery (reception discover): PRIM and CART recover a known box on synthetic
data, find dense boxes on a real sweep of the model, and write files that load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main as cli_main
from analysis.discover import default_threshold, discover
from analysis.load import open_results
from analysis.targets import Target
from experiments.design import load_plan
from experiments.sweep import sweep
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
FAILURE = Target("failure", ">", 0.0, "failure>0")


def _synthetic(n: int = 1000, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    """Failure inside 0.3 <= a <= 0.7 and b >= 0.6 (a 12% box), 2% noise outside; c and d
    do nothing; e is a whole number that does nothing."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.uniform(0, 1, (n, 4)), columns=list("abcd"))
    x["e"] = rng.integers(1, 53, n)
    inside = x["a"].between(0.3, 0.7) & (x["b"] >= 0.6)
    y = inside.to_numpy() | (rng.uniform(0, 1, n) < 0.02)
    return x, y


def test_prim_and_cart_recover_a_known_box():
    x, y = _synthetic()
    d = discover(x, y, FAILURE)
    assert d.n == 1000
    assert d.k == int(y.sum())
    box = d.prim[0]
    assert set(box.limits) == {"a", "b"}  # c, d, e: no restriction survives the quasi-p test
    (a_lo, a_hi), (b_lo, b_hi) = box.limits["a"], box.limits["b"]
    assert abs(a_lo - 0.3) < 0.05
    assert abs(a_hi - 0.7) < 0.05
    assert abs(b_lo - 0.6) < 0.05
    assert b_hi > 0.99
    assert box.density > 0.85
    assert box.coverage > 0.75
    assert box.density >= 2 * d.base_rate
    inside = box.contains(x)
    assert box.n == inside.sum()
    assert box.k == y[inside].sum()
    cart = d.cart[0]
    assert set(cart.limits) >= {"a", "b"}
    assert cart.density > 0.85
    assert abs(cart.limits["b"][0] - 0.6) < 0.05
    # the trajectory runs from the whole sweep (coverage 1, density = base rate) to the box
    traj = d.first_trajectory
    assert traj.loc[0, "coverage"] == 1
    assert abs(traj.loc[0, "density"] - d.base_rate) < 1e-12
    assert traj["res_dim"].iloc[0] == 0


def test_no_box_without_cases_and_the_default_threshold():
    x, _ = _synthetic(200)
    d = discover(x, np.zeros(200, bool), FAILURE)
    assert d.prim == []
    assert d.cart == []
    assert d.base_rate == 0
    assert default_threshold(0.1) == pytest.approx(0.2)
    assert default_threshold(0.6) == pytest.approx(0.8)


EXPERIMENT = """
[experiment]
name = "tiny_discovery"
question = "When do the classroom cities leave people unsheltered?"
replicates = 1
root_seed = 5

[base]
scenario = "{scenario}"

[base.sets]
"run.weeks" = 40

[design]
kind = "latin_hypercube"
samples = 48
seed = 2

[design.ranges]
"streams.asylum_claimant.per_year" = {{ low = 1000, high = 8000 }}
"municipalities.Harbourview.vacancy_rate" = {{ low = 0.005, high = 0.04 }}
"funding.ihap_lag_weeks" = {{ low = 4, high = 52 }}

[outputs]
keep = "summary"
"""


@pytest.fixture(scope="module")
def real_sweep(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("discover")
    exp = folder / "tiny_discovery.toml"
    exp.write_text(EXPERIMENT.format(scenario=(ROOT / "scenarios" / "classroom.toml")
                                     .as_posix()))
    res = sweep(exp, scheduler="sync", out=folder / "results", progress=False,
                log=lambda msg: None)
    assert res.exit_code == 0
    return folder / "results"


def test_real_sweep_boxes_are_dense_and_files_load(real_sweep, tmp_path, capsys):
    runs = open_results(real_sweep).runs
    cut = float(np.quantile(runs["unsheltered_person_weeks"], 0.7))
    expr = f"unsheltered_person_weeks>{cut:.0f}"
    out = tmp_path / "found"
    rc = cli_main(["discover", str(real_sweep), "--outcome", expr, "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0, text
    boxes = pd.read_csv(out / "boxes.csv")
    prim = boxes[boxes["method"] == "prim"]
    base = (runs["unsheltered_person_weeks"] > float(f"{cut:.0f}")).mean()
    assert f"({100 * base:.0f}%, the base rate)" in text
    assert len(prim) >= 1
    assert (prim["density"] >= 2 * base).all()  # at least twice the base rate
    # recounted from the runs themselves, not from the library's statistics: the runs inside
    # each box's limits (boxes.csv) break down at least twice as often as all runs do
    hit = runs["unsheltered_person_weeks"].to_numpy() > float(f"{cut:.0f}")
    for (method, index), limits in boxes.groupby(["method", "box"]):
        inside = np.ones(len(runs), bool)
        for _, lim in limits.iterrows():
            inside &= runs[lim["input"]].between(lim["low"], lim["high"]).to_numpy()
        assert inside.sum() == limits["runs"].iloc[0], (method, index)
        assert hit[inside].mean() >= 2 * hit.mean(), (method, index)
    assert "streams.asylum_claimant.per_year" in set(prim["input"])  # arrivals drive it
    for name in ("discover.txt", "trajectory.csv", "tradeoff.png", "tradeoff.svg"):
        assert (out / name).stat().st_size > 0
    scenario = load_scenario(out / "prim_box1.toml")
    row = prim[prim["input"] == "streams.asylum_claimant.per_year"].iloc[0]
    per_year = scenario.streams["asylum_claimant"].per_year
    assert row["low"] <= per_year <= row["high"]
    assert scenario.run.weeks == 40  # the experiment's [base.sets] carried over
    plan = load_plan(out / "prim_box1_sweep.toml")
    column = np.array([p.sets["streams.asylum_claimant.per_year"] for p in plan.points])
    assert column.min() >= row["low"] - 1e-6
    assert column.max() <= row["high"] + 1e-6
    # a second run refuses to overwrite, one line, exit 2
    assert cli_main(["discover", str(real_sweep), "--outcome", expr, "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["--outcome", "unsheltered_person_weeks>lots"], "not a number"),
    (["--outcome", "nonsense>3"], "unknown outcome"),
    (["--outcome", "retention>0.5", "--inputs", "nope"], "not factors of the sweep"),
    (["--outcome", "retention>0.5", "--min-coverage", "0"], "--min-coverage 0"),
])
def test_discover_errors_are_one_line(real_sweep, tmp_path, capsys, args, message):
    rc = cli_main(["discover", str(real_sweep), "--out", str(tmp_path / "x"), *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "x").exists()
