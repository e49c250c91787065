"""Sweeps on any concurrent.futures executor and on dask-jobqueue clusters: the same parts,
summary and resume as the built-in schedulers; the Slurm job script checked without Slurm."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from experiments import cli
from experiments.jobqueue import job_script, read_cluster_file
from experiments.schema import ExperimentError
from experiments.sweep import MANIFEST, sweep

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = """
[experiment]
name = "tiny_executors"
question = "Same results everywhere?"
replicates = 2
root_seed = 3

[base]
scenario = "{scenario}"

[base.sets]
"run.weeks" = 8

[design]
kind = "factorial"

[design.factors]
"funding.grant_factor.federal" = [0.5, 2.0]

[outputs]
keep = "weekly_totals"
"""


def quiet(msg: str) -> None:
    return None


@pytest.fixture(scope="module")
def experiment(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("executors")
    exp = folder / "tiny_executors.toml"
    exp.write_text(EXPERIMENT.format(scenario=(ROOT / "scenarios" / "classroom.toml")
                                     .as_posix()))
    return exp


def tables(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    summary = pd.read_parquet(out / "summary.parquet").drop(columns="wall_s")
    parts = pd.concat([pd.read_parquet(p) for p in sorted((out / "runs").glob("*.parquet"))])
    return summary.sort_values("run_id").reset_index(drop=True), parts.reset_index(drop=True)


def test_identical_results_on_sync_local_cluster_process_pool_and_dask_executor(
        experiment, tmp_path):
    from distributed import Client, LocalCluster

    ref = sweep(experiment, scheduler="sync", out=tmp_path / "sync", progress=False, log=quiet)
    assert ref.exit_code == 0
    expected = tables(tmp_path / "sync")
    assert len(expected[0]) == 4
    outs = {}
    assert sweep(experiment, scheduler="local", workers=2, out=tmp_path / "local",
                 progress=False, log=quiet).exit_code == 0
    outs["local"] = tmp_path / "local"
    with ProcessPoolExecutor(max_workers=2) as pool:
        res = sweep(experiment, executor=pool, out=tmp_path / "pool", progress=False, log=quiet)
    assert res.exit_code == 0
    outs["pool"] = tmp_path / "pool"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as lc, Client(lc) as client:
        res = sweep(experiment, executor=client.get_executor(), out=tmp_path / "dask",
                    progress=False, log=quiet)
    assert res.exit_code == 0
    outs["dask"] = tmp_path / "dask"
    for name, out in outs.items():
        summary, parts = tables(out)
        pd.testing.assert_frame_equal(summary, expected[0], obj=name)
        pd.testing.assert_frame_equal(parts, expected[1], obj=name)
    manifest = json.loads((tmp_path / "pool" / MANIFEST).read_text())
    assert manifest["sessions"][-1]["scheduler"] == "executor:ProcessPoolExecutor"
    assert manifest["counts"]["done"] == 4


def test_identical_results_on_mpi4py_pool(experiment, tmp_path):
    """mpi4py's MPIPoolExecutor (workers started by MPI_Comm_spawn from this process, no
    mpiexec needed): the same summary and parts as the in-process run. Installs in seconds
    from wheels: pip install mpi4py mpich (the MPI library as a wheel)."""
    futures = pytest.importorskip(
        "mpi4py.futures", reason="mpi4py is not installed (pip install mpi4py mpich): the "
        "MPIPoolExecutor recipe of docs/sweeps.md is then untested here")
    assert sweep(experiment, scheduler="sync", out=tmp_path / "sync", progress=False,
                 log=quiet).exit_code == 0
    with futures.MPIPoolExecutor(max_workers=2) as pool:
        res = sweep(experiment, executor=pool, out=tmp_path / "mpi", progress=False, log=quiet)
    assert res.exit_code == 0
    for got, want in zip(tables(tmp_path / "mpi"), tables(tmp_path / "sync"), strict=True):
        pd.testing.assert_frame_equal(got, want)
    manifest = json.loads((tmp_path / "mpi" / MANIFEST).read_text())
    assert manifest["sessions"][-1]["scheduler"] == "executor:MPIPoolExecutor"


def test_an_executor_resumes_what_another_left(experiment, tmp_path):
    out = tmp_path / "resume"
    first = sweep(experiment, scheduler="sync", out=out, progress=False, log=quiet)
    assert first.exit_code == 0
    (out / "runs" / sorted(p.name for p in (out / "runs").iterdir())[0]).unlink()
    with ProcessPoolExecutor(max_workers=1) as pool:
        again = sweep(experiment, executor=pool, out=out, progress=False, log=quiet)
    assert again.ran == 1
    assert again.done == 4


SLURM = """
kind = "slurm"
jobs = 4

[options]
queue = "compute"
account = "my-project"
cores = 32
processes = 32
memory = "64GB"
walltime = "04:00:00"
job_script_prologue = ["source ~/reception-sim/.venv/bin/activate"]
"""


def test_slurm_job_script_is_generated_without_slurm(tmp_path, experiment, capsys):
    path = tmp_path / "slurm.toml"
    path.write_text(SLURM)
    assert read_cluster_file(path)[:2] == ("SLURMCluster", 4)
    script = job_script(path)
    lines = script.splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "#SBATCH -p compute" in lines
    assert "#SBATCH -A my-project" in lines
    assert "#SBATCH -t 04:00:00" in lines
    assert "#SBATCH --mem=60G" in lines
    assert "source ~/reception-sim/.venv/bin/activate" in lines
    worker = next(line for line in lines if "distributed.cli.dask_worker" in line
                  or "dask worker" in line or "dask_worker" in line)
    assert "--nthreads 1" in worker
    assert "--nworkers 32" in worker
    rc = cli.main(["sweep", str(experiment), "--cluster", str(path), "--dry-run"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "#SBATCH -A my-project" in out
    assert "would write" in out


@pytest.mark.parametrize(("text", "message"), [
    ('kind = "slurmm"', "kind: expected one of slurm"),
    ('kind = "slurm"\njobs = 0', "jobs: expected a whole number"),
    ('kind = "slurm"\nqueue = "x"', "queue: not a key of a cluster file"),
    ('kind = "slurm"\n[options]\nnot_an_option = 1', "SLURMCluster does not accept them"),
])
def test_bad_cluster_files_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ExperimentError) as e:
        job_script(path)
    assert message in e.value.problems[0]
