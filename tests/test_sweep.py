"""Sweeps: experiment files, design plans, the seed policy, outputs, resume and failures.

These tests run in this process (``--scheduler sync``) on a tiny scenario; the dask
schedulers, killed workers and a killed driver are in test_sweep_dask.py.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import cli
from experiments.design import load_plan, run_seed
from experiments.run import read_record, run_one
from experiments.schema import ExperimentError
from experiments.sweep import MANIFEST, sweep

ROOT = Path(__file__).resolve().parent.parent

TINY_SCENARIO = """
[scenario]
name = "tiny"

[run]
weeks = 12
seed = 1
scale = 5
progress = false

[streams.economic_pr]
per_year = 3000

[streams.asylum_claimant]
per_year = 2000

[streams.asylum_claimant.housing_on_arrival]
needs_shelter = 0.6
friends_family = 0.2
precarious_rental = 0.2
stable_housing = 0.0

[[municipalities]]
name = "Metro"
population = 500000
rental_stock = 60000
shelter_beds = 100
newcomer_budget_per_year = 1e6

[[municipalities]]
name = "Town"
population = 30000
rental_stock = 3000
shelter_beds = 10
lat = 44.4
lon = -79.7

[[agencies]]
name = "Metro services"
municipality = "Metro"
staff_fte = 4

[[agencies.grants]]
funder = "federal"
amount_per_year = 3e5
kind = "core"
"""

TINY_EXPERIMENT = """
[experiment]
name = "tiny"
replicates = {replicates}
root_seed = 5

[base]
scenario = "tiny.toml"

[base.sets]
"run.weeks" = {weeks}
"run.scale" = {scale}

[design]
kind = "factorial"

[design.factors]
"funding.grant_factor.federal" = {levels}
"housing.search_rate" = [0.05, 0.2]

[outputs]
keep = "{keep}"
"""


def write_experiment(folder: Path, replicates: int = 2, weeks: int = 12, scale: float = 5,
                     levels: str = "[0.5, 1.0, 2.0]", keep: str = "weekly_municipalities",
                     name: str = "exp.toml") -> Path:
    """A tiny factorial experiment (3 x 2 points) next to its tiny base scenario."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny.toml").write_text(TINY_SCENARIO)
    path = folder / name
    path.write_text(TINY_EXPERIMENT.format(replicates=replicates, weeks=weeks, scale=scale,
                                           levels=levels, keep=keep))
    return path


def parts(out: Path) -> dict[str, pd.DataFrame]:
    """Every part of a sweep's runs/ dataset, by run id."""
    return {p.stem.removeprefix("run-"): pd.read_parquet(p)
            for p in sorted((out / "runs").glob("run-*.parquet"))}


def assert_same_parts(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert sorted(a) == sorted(b)
    for run_id in a:
        pd.testing.assert_frame_equal(a[run_id], b[run_id], check_exact=True)


def quiet(_msg: str) -> None:
    return None


def run_sync(exp: Path, out: Path, **kw) -> object:
    return sweep(exp, scheduler="sync", out=out, progress=False, log=quiet, **kw)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path]:
    """A finished sync sweep of the tiny experiment: (experiment file, out folder)."""
    folder = tmp_path_factory.mktemp("reference")
    exp = write_experiment(folder)
    out = folder / "out"
    result = run_sync(exp, out)
    assert result.exit_code == 0
    return exp, out


# ---------------------------------------------------------------------------- seeds and plans
def test_seed_policy_is_seedsequence_of_point_and_replicate():
    for root, p, r in [(0, 0, 0), (5, 3, 1), (2**40, 17, 9)]:
        word = np.random.SeedSequence(root, spawn_key=(p, r)).generate_state(1, np.uint64)[0]
        assert run_seed(root, p, r) == int(word) >> 1
        assert 0 <= run_seed(root, p, r) <= 2**63 - 1
    seeds = {run_seed(5, p, r) for p in range(50) for r in range(10)}
    assert len(seeds) == 500


def test_factorial_plan(tmp_path):
    plan = load_plan(write_experiment(tmp_path, replicates=3))
    assert plan.kind == "factorial"
    assert len(plan.points) == 6
    assert [p.factors for p in plan.points[:2]] == [
        {"funding.grant_factor.federal": 0.5, "housing.search_rate": 0.05},
        {"funding.grant_factor.federal": 0.5, "housing.search_rate": 0.2}]
    runs = plan.runs()
    assert len(runs) == 18
    assert runs[4].run_id == "p0001-r001"
    assert all(r.seed == run_seed(5, r.point, r.replicate) for r in runs)
    assert len({r.run_id for r in runs}) == 18
    spec = plan.spec(runs[4])
    assert json.loads(json.dumps(spec)) == spec  # plain JSON-able data
    assert spec["sets"] == plan.points[1].sets
    assert plan.hash == load_plan(tmp_path / "exp.toml").hash


RANGES = """
[experiment]
root_seed = 1
replicates = 2

[base]
scenario = "tiny.toml"

[design]
kind = "{kind}"
{size}
seed = 3

[design.ranges]
"housing.search_rate" = [0.05, 0.2]
"funding.grant_factor.federal" = {{ low = 0.5, high = 2.0, scale = "log" }}
"funding.hire_lag_weeks" = [2, 12]
"""


@pytest.mark.parametrize(("kind", "size", "points"), [
    ("latin_hypercube", "samples = 10", 10),
    ("sobol", "base_samples = 8\ncalc_second_order = false", 8 * (3 + 2)),
    ("sobol", "base_samples = 8", 8 * (2 * 3 + 2)),
])
def test_sampled_plans(tmp_path, kind, size, points):
    write_experiment(tmp_path)
    path = tmp_path / "ranges.toml"
    path.write_text(RANGES.format(kind=kind, size=size))
    plan = load_plan(path)
    assert len(plan.points) == points
    values = pd.DataFrame([p.factors for p in plan.points])
    assert values["housing.search_rate"].between(0.05, 0.2).all()
    assert values["funding.grant_factor.federal"].between(0.5, 2.0).all()
    lags = values["funding.hire_lag_weeks"]
    assert lags.between(2, 12).all()
    assert all(isinstance(v, int) for v in lags)  # an int parameter gets whole numbers
    assert load_plan(path).points == plan.points  # the sampler is seeded
    if kind == "latin_hypercube":  # one sample in each tenth of each range
        bins = np.floor((values["housing.search_rate"] - 0.05) / 0.015).clip(0, 9)
        assert sorted(bins.astype(int)) == list(range(10))


def test_shipped_experiments_load():
    plans = {p.stem: load_plan(p) for p in sorted((ROOT / "experiments").glob("*.toml"))}
    assert {"funding_levels", "sobol_sensitivity", "policy_comparison"} <= set(plans)
    assert plans["funding_levels"].kind == "factorial"
    assert plans["sobol_sensitivity"].kind == "sobol"
    assert 4 <= len(plans["sobol_sensitivity"].factor_names) <= 6
    comparison = plans["policy_comparison"]
    assert comparison.kind == "scenarios"
    assert "canada_baseline" in [p.scenario for p in comparison.points]
    assert comparison.replicates >= 2


# ---------------------------------------------------------------------------- outputs
def test_sync_sweep_writes_long_parts_summary_and_manifest(reference):
    exp, out = reference
    plan = load_plan(exp)
    got = parts(out)
    assert sorted(got) == [r.run_id for r in plan.runs()]
    for run in plan.runs():
        frame = got[run.run_id]
        point = plan.points[run.point]
        assert len(frame) == 12 * 2  # weeks x municipalities
        assert (frame["run_id"] == run.run_id).all()
        assert (frame["point"] == run.point).all()
        assert (frame["replicate"] == run.replicate).all()
        assert (frame["seed"] == run.seed).all()
        for name, value in point.factors.items():
            assert (frame[name] == value).all()
        assert read_record(out / "runs" / f"run-{run.run_id}.parquet")["seed"] == run.seed
    everything = pd.read_parquet(out / "runs")  # the folder reads as one dataset
    assert len(everything) == 12 * 24

    summary = pd.read_parquet(out / "summary.parquet")
    assert sorted(summary["run_id"]) == sorted(got)
    assert {"peak_shelter_occupancy", "integration_index_at_end", "seed",
            "funding.grant_factor.federal"} <= set(summary.columns)
    by_point = pd.read_csv(out / "by_point.csv")
    assert len(by_point) == 6
    assert (by_point["replicates_done"] == 2).all()

    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["experiment"]["hash"] == plan.hash
    assert manifest["counts"] == {"total": 12, "done": 12, "failed": 0, "pending": 0}
    assert [r["run_id"] for r in manifest["runs"]] == [r.run_id for r in plan.runs()]
    assert all(r["status"] == "done" and r["wall_s"] > 0 for r in manifest["runs"])
    assert all(r["seed"] == run_seed(5, r["point"], r["replicate"]) for r in manifest["runs"])
    assert {"reception-sim", "numba", "dask", "distributed", "SALib"} <= set(
        manifest["versions"])
    warm = manifest["sessions"][-1]["workers"]["driver"]
    assert warm["numba"] in ("compiled", "loaded", "mixed")
    assert warm["numba_s"] > 0


def test_keep_summary_and_weekly_totals(tmp_path):
    for keep, rows in (("summary", 1), ("weekly_totals", 12)):
        exp = write_experiment(tmp_path / keep, replicates=1, levels="[1.0]", keep=keep)
        assert run_sync(exp, tmp_path / keep / "out").exit_code == 0
        for frame in parts(tmp_path / keep / "out").values():
            assert len(frame) == rows
            assert "municipality" not in frame.columns


def test_seeds_and_outputs_do_not_depend_on_execution_order(reference, tmp_path):
    exp, out = reference
    result = run_sync(exp, tmp_path / "reversed", order=lambda runs: runs[::-1])
    assert result.exit_code == 0
    assert_same_parts(parts(out), parts(tmp_path / "reversed"))
    # and a run alone, outside any sweep, gives the same rows
    plan = load_plan(exp)
    run = plan.runs()[7]
    alone = run_one(json.loads(json.dumps(plan.spec(run))))
    pd.testing.assert_frame_equal(pd.read_parquet(__import__("io").BytesIO(alone["parquet"])),
                                  parts(out)[run.run_id])


def test_run_one_needs_only_its_spec(tmp_path, monkeypatch):
    """Workers never read the driver's files: the spec carries scenario and series data."""
    folder = tmp_path / "driver"
    write_experiment(folder)
    (folder / "claims.csv").write_text(
        "month,value\n" + "".join(f"2022-{m:02d},{100 * m}\n" for m in range(1, 13)))
    scenario = (folder / "tiny.toml").read_text().replace(
        "[streams.asylum_claimant]\nper_year = 2000",
        '[streams.asylum_claimant]\nseries = { file = "claims.csv" }')
    (folder / "tiny.toml").write_text(scenario)
    plan = load_plan(folder / "exp.toml")
    spec = json.loads(json.dumps(plan.spec(plan.runs()[0])))
    assert list(spec["files"].values())[0].startswith("month,value")
    expected = run_one(spec)["summary"]
    for f in folder.iterdir():
        f.unlink()
    monkeypatch.chdir(tmp_path)
    again = run_one(spec)["summary"]  # compared as JSON text, where NaN equals NaN
    assert json.dumps(again, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert expected["arrivals"] > 0


# ---------------------------------------------------------------------------- resume
def test_rerun_finishes_only_what_is_missing(reference, tmp_path):
    exp, ref_out = reference
    out = tmp_path / "out"
    assert run_sync(exp, out).exit_code == 0
    again = run_sync(exp, out)
    assert (again.exit_code, again.ran) == (0, 0)
    for run_id in ("p0002-r001", "p0005-r000"):
        (out / "runs" / f"run-{run_id}.parquet").unlink()
    (out / "runs" / ".run-p0001-r000.parquet.999.abc.tmp").write_bytes(b"half a file")
    resumed = run_sync(exp, out)
    assert (resumed.exit_code, resumed.ran, resumed.done) == (0, 2, 12)
    assert not list((out / "runs").glob(".*"))  # leftovers of a killed driver are cleared
    assert_same_parts(parts(out), parts(ref_out))
    manifest = json.loads((out / MANIFEST).read_text())
    assert [s["ran"] for s in manifest["sessions"]] == [12, 0, 2]


def test_changed_experiment_is_refused(reference, tmp_path, capsys):
    exp, _ = reference
    out = tmp_path / "out"
    assert run_sync(exp, out).exit_code == 0
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    changed = write_experiment(tmp_path / "changed", levels="[0.5, 1.0, 3.0]")
    code = cli.main(["sweep", str(changed), "--scheduler", "sync", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "different experiment" in err
    assert "new --out" in err
    assert "Traceback" not in err
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_failed_run_is_recorded_and_the_sweep_goes_on(reference, tmp_path, monkeypatch):
    import sim.runner

    exp, ref_out = reference
    plan = load_plan(exp)
    bad_seed = plan.runs()[3].seed
    real = sim.runner.simulate

    def flaky(scenario, progress=False):
        if scenario.run.seed == bad_seed:
            raise RuntimeError("shelter kernel exploded")
        return real(scenario, progress)

    monkeypatch.setattr(sim.runner, "simulate", flaky)
    out = tmp_path / "out"
    result = run_sync(exp, out)
    assert (result.exit_code, result.done, result.failed) == (1, 11, 1)
    manifest = json.loads((out / MANIFEST).read_text())
    failed = [r for r in manifest["runs"] if r["status"] == "failed"]
    assert [r["run_id"] for r in failed] == [plan.runs()[3].run_id]
    assert "RuntimeError: shelter kernel exploded" in failed[0]["error"]
    assert "flaky" in failed[0]["traceback"]
    assert len(parts(out)) == 11

    monkeypatch.setattr(sim.runner, "simulate", real)
    retried = run_sync(exp, out)
    assert (retried.exit_code, retried.ran, retried.failed) == (0, 1, 0)
    assert_same_parts(parts(out), parts(ref_out))
    entry = json.loads((out / MANIFEST).read_text())["runs"][3]
    assert (entry["status"], entry["attempts"], entry["error"]) == ("done", 2, None)


# ---------------------------------------------------------------------------- bad files
BAD = {
    "misspelt key": ("""
[experiment]
root_seed = 1
replicats = 3
[base]
scenario = "tiny.toml"
[design]
kind = "factorial"
factors = { "housing.search_rate" = [0.1] }
""", ["line 4: experiment.replicats: unknown key; did you mean replicates?"]),
    "unknown kind": ("""
[experiment]
root_seed = 1
[base]
scenario = "tiny.toml"
[design]
kind = "sobl"
""", ["line 7: design.kind: unknown design kind 'sobl'", "did you mean sobol?"]),
    "bad factor paths and levels": ("""
[experiment]
root_seed = 1
[base]
scenario = "tiny.toml"
[design]
kind = "factorial"
[design.factors]
"housing.serch_rate" = [0.1]
"municipalities.Metroo.shelter_beds" = [10]
"status.asylum_acceptance" = [0.5, 1.5]
"run.seed" = [1, 2]
""", ["line 9: design.factors.\"housing.serch_rate\": 'serch_rate' is not a parameter of housing",
      "did you mean search_rate?",
      "line 10: design.factors.\"municipalities.Metroo.shelter_beds\": municipalities: no item "
      "named 'Metroo' (known: Metro, Town); did you mean Metro?",
      "line 11: design.factors.\"status.asylum_acceptance\": level 1.5: "
      "status.asylum_acceptance: Input should be less than or equal to 1",
      "line 12: design.factors.\"run.seed\": the seed of each run comes from"]),
    "bad ranges": ("""
[experiment]
root_seed = 1
[base]
scenario = "tiny.toml"
[design]
kind = "sobol"
base_samples = 100
[design.ranges]
"housing.search_rate" = [0.3, 0.1]
""", ["line 8: design.base_samples: must be a power of 2",
      "line 10: design.ranges.\"housing.search_rate\": low must be below high"]),
    "missing base and root seed": ("""
[experiment]
name = "x"
[base]
scenario = "nowhere.toml"
[design]
kind = "latin_hypercube"
samples = 4
ranges = { "housing.search_rate" = [0.1, 2.0] }
""", ["experiment.root_seed: required key is missing"]),
    "missing scenario file": ("""
[experiment]
root_seed = 1
[base]
scenario = "nowhere.toml"
[design]
kind = "latin_hypercube"
samples = 4
ranges = { "housing.search_rate" = [0.1, 2.0] }
""", ["line 5: base.scenario: 'nowhere.toml' not found next to the experiment file"]),
    "range out of the schema's limits": ("""
[experiment]
root_seed = 1
[base]
scenario = "tiny.toml"
sets = { "run.weeks" = 4 }
[design]
kind = "latin_hypercube"
samples = 4
ranges = { "housing.search_rate" = [0.1, 2.0] }
""", ["design.ranges.\"housing.search_rate\": high 2.0: housing.search_rate: Input should be "
      "less than or equal to 1"]),
    "bad base sets": ("""
[experiment]
root_seed = 1
[base]
scenario = "tiny.toml"
[base.sets]
"run.weeks" = 0
"run.seed" = 4
[design]
kind = "factorial"
factors = { "housing.search_rate" = [0.1] }
""", ["line 8: base.sets.\"run.seed\": the seed of each run comes from experiment.root_seed",
      "exp.toml:7: run.weeks: Input should be greater than or equal to 1"]),
    "comparison": ("""
[experiment]
root_seed = 1
[base]
scenario = "tiny.toml"
[design]
kind = "scenarios"
[[design.scenarios]]
name = "a"
file = "tiny.toml"
[[design.scenarios]]
name = "b"
file = "tiny.toml"
""", ["base.scenario: a scenario comparison names its files in [[design.scenarios]]"]),
    "not toml": ("x = [", ["not valid TOML"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_experiment_files_get_clear_errors(case, tmp_path, capsys):
    text, expected = BAD[case]
    write_experiment(tmp_path)
    path = tmp_path / "exp.toml"
    path.write_text(text)
    out = tmp_path / "out"
    code = cli.main(["sweep", str(path), "--scheduler", "sync", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert lines
    assert all(line.startswith(f"error: {path}: ") for line in lines), lines
    for fragment in expected:
        assert any(fragment in line for line in lines), (fragment, lines)
    assert "Traceback" not in captured.err
    assert captured.out == ""
    assert not out.exists()


def test_comparison_entries_are_checked_one_by_one(tmp_path):
    write_experiment(tmp_path)
    path = tmp_path / "cmp.toml"
    path.write_text("""
[experiment]
root_seed = 1
[design]
kind = "scenarios"
[[design.scenarios]]
file = "missing.toml"
[[design.scenarios]]
name = "fast search"
file = "tiny.toml"
sets = { "housing.search_rate" = 2 }
""")
    with pytest.raises(ExperimentError) as e:
        load_plan(path)
    assert e.value.problems[0].startswith("line 7: design.scenarios[0].file: 'missing.toml'")
    assert "cmp.toml:11: housing.search_rate: Input should be less than or equal to 1" in \
        e.value.problems[1]


def test_command_line_process_exit_status_and_no_traceback(tmp_path):
    """The real process: one line per problem, status 2, nothing written; --dry-run lists."""
    exp = write_experiment(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text(exp.read_text().replace("root_seed", "root_sead"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get(
        "PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "experiments", "sweep", str(bad), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"error: {bad}: line 5: experiment.root_sead: unknown key; "
                                   "did you mean root_seed?")
    assert not (tmp_path / "out").exists()
    proc = subprocess.run([sys.executable, "-m", "experiments", "sweep", str(exp), "--dry-run"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "6 design points x 2 replicates = 12 runs" in proc.stdout
    assert not (tmp_path / "results").exists()


def test_add_parser_registers_the_sweep_subcommand(reference, tmp_path):
    exp, _ = reference
    parser = argparse.ArgumentParser(prog="reception")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sweep", str(exp), "--scheduler", "sync", "--out",
                              str(tmp_path / "o"), "--no-progress"])
    assert args.handler(args) == 0
    assert len(parts(tmp_path / "o")) == 12
    for bad in (["--scheduler", "cluster"], ["--workers", "0"]):
        with pytest.raises(SystemExit) as e:
            parser.parse_args(["sweep", str(exp), *bad])
        assert e.value.code == 2


def test_sobol_sweep_writes_indices_and_comparison_labels_rows(tmp_path):
    write_experiment(tmp_path)
    sobol = tmp_path / "sobol.toml"
    sobol.write_text(RANGES.format(kind="sobol", size="base_samples = 4\n"
                                                    "calc_second_order = true")
                     .replace("replicates = 2", "replicates = 1"))
    assert run_sync(sobol, tmp_path / "sobol").exit_code == 0
    indices = pd.read_csv(tmp_path / "sobol" / "sobol_indices.csv")
    assert list(indices.columns) == ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert set(indices["parameter"]) == {"housing.search_rate", "funding.grant_factor.federal",
                                         "funding.hire_lag_weeks"}
    assert "arrivals" in set(indices["output"])
    pairs = pd.read_csv(tmp_path / "sobol" / "sobol_second_order.csv")
    assert len(pairs[pairs["output"] == "arrivals"]) == 3

    comparison = tmp_path / "cmp.toml"
    comparison.write_text("""
[experiment]
root_seed = 9
replicates = 2
[base.sets]
"run.weeks" = 8
[design]
kind = "scenarios"
[[design.scenarios]]
file = "tiny.toml"
[[design.scenarios]]
name = "more beds"
file = "tiny.toml"
sets = { "municipalities.Metro.shelter_beds" = 400 }
""")
    assert run_sync(comparison, tmp_path / "cmp").exit_code == 0
    by_point = pd.read_csv(tmp_path / "cmp" / "by_point.csv")
    assert list(by_point["scenario"]) == ["tiny", "more beds"]
    frames = parts(tmp_path / "cmp")
    assert sorted({f["scenario"].iloc[0] for f in frames.values()}) == ["more beds", "tiny"]


def test_common_seeds_give_every_point_the_same_replicate_seeds(tmp_path):
    path = write_experiment(tmp_path, replicates=3)
    path.write_text(path.read_text().replace("root_seed = 5", 'root_seed = 5\nseeds = "common"'))
    plan = load_plan(path)
    by_replicate = {}
    for r in plan.runs():
        by_replicate.setdefault(r.replicate, set()).add(r.seed)
    assert all(len(seeds) == 1 for seeds in by_replicate.values())
    assert by_replicate[0] == {run_seed(5, 0, 0)}
    assert len({s for seeds in by_replicate.values() for s in seeds}) == 3
    assert plan.hash != load_plan(write_experiment(tmp_path / "other", replicates=3)).hash


def _levels(lo: float, step: float, n: int) -> str:
    return "[" + ", ".join(repr(round(lo + step * i, 6)) for i in range(n)) + "]"


def test_a_design_too_big_to_run_is_counted_not_built(tmp_path):
    """1e10 factorial points (or 1e11 hypercube runs) fail at once with the count."""
    write_experiment(tmp_path)
    huge = tmp_path / "huge.toml"
    factors = {f"funding.grant_factor.{f}": _levels(0.5, 0.01, 100)
               for f in ("federal", "provincial", "municipal", "charity")}
    factors["housing.search_rate"] = _levels(0.01, 0.001, 100)
    huge.write_text("[experiment]\nroot_seed = 1\n[base]\nscenario = \"tiny.toml\"\n"
                    "[design]\nkind = \"factorial\"\n[design.factors]\n"
                    + "".join(f'"{k}" = {v}\n' for k, v in factors.items()))
    with pytest.raises(ExperimentError) as e:
        load_plan(huge)
    assert e.value.problems == [
        "line 6: design: 10,000,000,000 design points x 1 replicates = 10,000,000,000 runs, "
        "more than the 1,000,000 one sweep can hold; use fewer levels, samples or replicates, "
        "or split it into several experiments"]
    lhs = tmp_path / "lhs.toml"
    lhs.write_text(RANGES.format(kind="latin_hypercube", size="samples = 1000000")
                   .replace("replicates = 2", "replicates = 100000"))
    with pytest.raises(ExperimentError) as e:
        load_plan(lhs)
    assert "1,000,000 design points x 100,000 replicates = 100,000,000,000 runs" in \
        e.value.problems[0]


def test_dry_run_validates_every_point_beyond_the_limit(tmp_path, monkeypatch):
    """Above MAX_VALIDATED_POINTS a sweep says which points went unchecked; --dry-run
    checks them all (here: the limit lowered to 2 of 6 points, point 5 invalid)."""
    import experiments.design as design

    monkeypatch.setattr(design, "MAX_VALIDATED_POINTS", 2)
    exp = write_experiment(tmp_path, levels="[0.5, 1.0, 2.0]")
    text = exp.read_text().replace('"funding.grant_factor.federal" = [0.5, 1.0, 2.0]',
                                   '"status.permit_to_pr" = [0.1, 0.5, 0.6]')
    text = text.replace('"housing.search_rate" = [0.05, 0.2]', '"status.permit_renewal" = '
                        '[0.1, 0.6]').replace('"run.scale"', '"status.permit_departure" = 0.0\n'
                                              '"run.scale"')
    exp.write_text(text)  # each level alone is valid; 0.5 + 0.6 and 0.6 + 0.6 exceed 1
    plan = load_plan(exp)
    assert plan.unchecked == 4
    with pytest.raises(ExperimentError) as e:
        load_plan(exp, check_all=True)
    assert [p.split(" (")[0] for p in e.value.problems] == ["design point 3", "design point 5"]
    logged: list[str] = []
    with pytest.raises(ExperimentError):
        sweep(exp, scheduler="sync", out=tmp_path / "o", dry_run=True, log=logged.append)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("address", ["tcp://x:1;y", "tcp://x:99999", "x:8786", "tcp://",
                                     "tcp://a b:1"])
def test_bad_scheduler_address_is_a_usage_error(reference, address, capsys):
    exp, _ = reference
    parser = argparse.ArgumentParser(prog="reception")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))
    with pytest.raises(SystemExit) as e:
        parser.parse_args(["sweep", str(exp), "--scheduler", address])
    assert e.value.code == 2
    assert f"argument --scheduler: {address!r}: expected local, sync or a scheduler " \
        "address" in capsys.readouterr().err
    good = parser.parse_args(["sweep", str(exp), "--scheduler", "tcp://[::1]:8786"])
    assert good.scheduler == "tcp://[::1]:8786"


def test_a_shock_is_a_factor_by_position(tmp_path):
    """A surge's size is an uncertainty an experiment can vary: shocks.0.multiplier."""
    folder = tmp_path / "shock"
    exp = write_experiment(folder, replicates=1, weeks=8)
    (folder / "tiny.toml").write_text(TINY_SCENARIO + '\n[[shocks]]\nstream = "asylum_claimant"\n'
                                      'start_week = 2\nend_week = 6\nmultiplier = 2.0\n')
    exp.write_text(exp.read_text().replace('"housing.search_rate" = [0.05, 0.2]',
                                           '"shocks.0.multiplier" = [1.0, 4.0]'))
    plan = load_plan(exp)
    arrivals = {}
    for run in plan.runs():
        factors = plan.points[run.point].factors
        spec = json.loads(json.dumps(plan.spec(run)))
        arrivals[(factors["funding.grant_factor.federal"], factors["shocks.0.multiplier"])] = \
            run_one(spec)["summary"]["arrivals"]
    # The same seed and funding: four times the claimants for four weeks instead of twice.
    for federal in (0.5, 1.0, 2.0):
        assert arrivals[(federal, 4.0)] > 1.2 * arrivals[(federal, 1.0)]
