"""Sweeps on dask: same outputs on every scheduler, a killed worker, a killed driver.

The real cluster is a ``dask scheduler`` and ``dask worker`` processes started here on
127.0.0.1 with free ports, and stopped (by their own process group) when a test ends.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_sweep import ROOT, assert_same_parts, parts, quiet, run_sync, write_experiment

from experiments.design import load_plan
from experiments.schema import ExperimentError
from experiments.sweep import MANIFEST, sweep

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def wait_until(condition, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise TimeoutError(what)


class Cluster:
    """A dask scheduler and workers as separate processes, each in its own process group."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen] = []
        self._start("scheduler", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                    "--port", str(self.port), "--no-dashboard")
        wait_for_port(self.port)

    def _start(self, name: str, module: str, *args: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}-{len(self.procs)}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT, env=ENV,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    def worker(self, nanny: bool = True) -> subprocess.Popen:
        return self._start("worker", "distributed.cli.dask_worker", self.address,
                           "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                           "--nanny" if nanny else "--no-nanny")

    def stop(self) -> None:
        for proc in reversed(self.procs):  # workers first, then the scheduler
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def cluster(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    c = Cluster(logs)
    yield c
    c.stop()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny experiment (12 short runs) and its sync outputs."""
    folder = tmp_path_factory.mktemp("tiny")
    exp = write_experiment(folder)
    assert run_sync(exp, folder / "sync").exit_code == 0
    return exp, parts(folder / "sync")


@pytest.fixture(scope="module")
def slow(tmp_path_factory):
    """16 runs of about 0.4 s (so a sweep can be interrupted) and their sync outputs."""
    folder = tmp_path_factory.mktemp("slow")
    exp = write_experiment(folder, replicates=2, weeks=150, scale=1,
                           levels="[0.5, 1.0, 1.5, 2.0]", keep="weekly_totals")
    assert run_sync(exp, folder / "sync").exit_code == 0
    return exp, parts(folder / "sync")


def assert_complete_once(exp: Path, out: Path) -> None:
    """Every run of the plan exactly once: in the parts, the manifest and the summary."""
    plan = load_plan(exp)
    ids = [r.run_id for r in plan.runs()]
    files = sorted(p.name for p in (out / "runs").iterdir())
    assert files == [f"run-{i}.parquet" for i in ids]
    manifest = json.loads((out / MANIFEST).read_text())
    assert [r["run_id"] for r in manifest["runs"]] == ids
    assert {r["status"] for r in manifest["runs"]} == {"done"}
    assert manifest["counts"]["done"] == len(ids)
    import pandas as pd

    summary = pd.read_parquet(out / "summary.parquet")
    assert sorted(summary["run_id"]) == ids


def test_same_outputs_in_process_on_a_local_cluster_and_on_dask_processes(tiny, cluster,
                                                                         tmp_path):
    exp, expected = tiny
    local = sweep(exp, scheduler="local", workers=2, out=tmp_path / "local", progress=False,
                  log=quiet)
    assert local.exit_code == 0
    assert len(local.workers) == 2  # a warm-up record per worker process
    assert all(w["numba_s"] > 0 for w in local.workers.values())
    assert_same_parts(parts(tmp_path / "local"), expected)

    cluster.worker()
    cluster.worker()
    remote = sweep(exp, scheduler=cluster.address, workers=2, out=tmp_path / "remote",
                   progress=False, log=quiet)
    assert remote.exit_code == 0
    assert_same_parts(parts(tmp_path / "remote"), expected)
    manifest = json.loads((tmp_path / "remote" / MANIFEST).read_text())
    workers = manifest["sessions"][-1]["workers"]
    assert len(workers) == 2
    assert {w["numba"] for w in workers.values()} <= {"compiled", "loaded", "mixed"}


def test_a_killed_worker_loses_nothing(slow, cluster, tmp_path):
    exp, expected = slow
    victim = cluster.worker(nanny=False)  # no nanny: killed means gone
    cluster.worker(nanny=False)
    out = tmp_path / "out"
    box: dict = {}

    def drive() -> None:
        try:
            box["result"] = sweep(exp, scheduler=cluster.address, workers=2, out=out,
                                  progress=False, log=quiet)
        except BaseException as e:  # noqa: BLE001 - shown by the assertion below
            box["error"] = e

    driver = threading.Thread(target=drive)
    driver.start()
    from distributed import Client

    with Client(cluster.address, timeout="20s") as watcher:
        watcher.wait_for_workers(2, timeout=60)
        address = next(a for a, pid in watcher.run(os.getpid).items() if pid == victim.pid)

        def victim_busy() -> list[str]:
            return [str(k) for k in watcher.processing().get(address, [])]

        wait_until(lambda: len(list((out / "runs").glob("run-*.parquet"))) >= 3
                   and victim_busy(), 120, "no runs finished on the victim's watch")
        in_flight = victim_busy()
        done_at_kill = len(list((out / "runs").glob("run-*.parquet")))
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
    driver.join(timeout=180)
    assert not driver.is_alive()
    assert "error" not in box, box.get("error")
    result = box["result"]
    assert done_at_kill < 16, "the sweep ended before the worker was killed"
    assert in_flight, "the killed worker had no task in hand"
    assert (result.exit_code, result.done, result.failed) == (0, 16, 0)
    assert_complete_once(exp, out)
    assert_same_parts(parts(out), expected)


def test_a_killed_driver_resumes_without_loss_or_duplicates(slow, tmp_path):
    exp, expected = slow
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "experiments", "sweep", str(exp), "--scheduler", "sync",
           "--out", str(out), "--no-progress"]
    first = subprocess.Popen(cmd, cwd=tmp_path, env=ENV, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: len(list((out / "runs").glob("run-*.parquet"))) >= 3, 120,
                   "no runs finished")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    before = sorted((out / "runs").glob("run-*.parquet"))
    assert 3 <= len(before) < 16
    again = subprocess.run(cmd, cwd=tmp_path, env=ENV, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"{len(before)} done, {16 - len(before)} to run" in again.stdout
    assert_complete_once(exp, out)
    assert_same_parts(parts(out), expected)


def test_unreachable_scheduler_is_a_user_error(tiny, tmp_path, monkeypatch):
    import experiments.sweep

    monkeypatch.setattr(experiments.sweep, "CONNECT_TIMEOUT_S", 2.0)
    exp, _ = tiny
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(ExperimentError) as e:
        sweep(exp, scheduler=address, out=tmp_path / "out", progress=False, log=quiet)
    assert e.value.path == address
    assert "cannot connect to a dask scheduler" in e.value.problems[0]
    assert not (tmp_path / "out").exists()
