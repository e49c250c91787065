"""HPC clusters through dask-jobqueue, from a small TOML file (``reception sweep --cluster``).

Example ``slurm.toml`` (docs/sweeps.md)::

    kind = "slurm"          # slurm, pbs, sge, lsf, htcondor, oar, moab
    jobs = 4                # batch jobs to submit (cluster.scale(jobs=...))

    [options]               # passed as they are to dask_jobqueue.SLURMCluster(...)
    queue = "compute"
    account = "my-project"
    cores = 32
    processes = 32          # 32 single-threaded workers per job, one per core
    memory = "64GB"
    walltime = "04:00:00"
    job_script_prologue = ["source ~/reception-sim/.venv/bin/activate"]

``job_script(path)`` gives the batch script dask-jobqueue would submit, without submitting
anything (``reception sweep EXP --cluster slurm.toml --dry-run`` prints it), so the file can
be checked on a machine without the scheduler.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from experiments.schema import ExperimentError
from sim import limits

KINDS = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster",
         "lsf": "LSFCluster", "htcondor": "HTCondorCluster", "oar": "OARCluster",
         "moab": "MoabCluster"}


def read_cluster_file(path: Path) -> tuple[str, int, dict[str, Any]]:
    """(cluster class name, jobs, options) from the file, or ``ExperimentError``."""
    path = Path(path)
    try:
        data = tomllib.loads(limits.read_bytes(path).decode())
    except FileNotFoundError:
        raise ExperimentError(path, ["--cluster: file not found"]) from None
    except RecursionError:
        raise ExperimentError(path, [f"--cluster: {limits.too_deep('nested too deeply')}"]
                              ) from None
    except (OSError, ValueError) as e:  # TOML, UTF-8 and size errors are ValueErrors
        raise ExperimentError(path, [f"--cluster: cannot be read ({e})"]) from None
    unknown = sorted(set(data) - {"kind", "jobs", "options"})
    if unknown:
        raise ExperimentError(path, [f"{unknown[0]}: not a key of a cluster file (keys: kind, "
                                     "jobs, [options])"])
    kind = data.get("kind")
    if kind not in KINDS:
        raise ExperimentError(path, [f"kind: expected one of {', '.join(KINDS)}, found "
                                     f"{kind!r}"])
    jobs = data.get("jobs", 1)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ExperimentError(path, [f"jobs: expected a whole number of at least 1, found "
                                     f"{jobs!r}"])
    options = data.get("options") or {}
    if not isinstance(options, dict):
        raise ExperimentError(path, ["options: expected a table of dask-jobqueue arguments"])
    return KINDS[kind], jobs, options


def _cluster(path: Path) -> tuple[Any, int]:
    try:
        import dask_jobqueue
    except ImportError:
        raise ExperimentError(path, ["--cluster needs dask-jobqueue: pip install "
                                     "dask-jobqueue"]) from None
    name, jobs, options = read_cluster_file(path)
    try:
        cluster = getattr(dask_jobqueue, name)(**{"scheduler_options": {"dashboard_address":
                                                                        None}, **options})
    except (TypeError, ValueError) as e:
        raise ExperimentError(path, [f"options: {name} does not accept them ({e})"]) from None
    return cluster, jobs


def job_script(path: Path) -> str:
    """The batch script one job would run (nothing is submitted)."""
    cluster, _ = _cluster(path)
    try:
        return cluster.job_script()
    finally:
        cluster.close()


def start_cluster(path: Path) -> Any:
    """The cluster, with its jobs submitted (``cluster.scale(jobs=...)``)."""
    cluster, jobs = _cluster(path)
    cluster.scale(jobs=jobs)
    return cluster
