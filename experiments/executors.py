"""Where a sweep's runs run: in this process, on a dask cluster (local, at an address, or
started from a dask-jobqueue file), or on any ``concurrent.futures.Executor``.

Each executor takes the plan and the runs to do and yields an ``Outcome`` per run as it
finishes; the sweep driver (``experiments.sweep``) records them. Every executor calls the same
``experiments.run.run_one(spec)``, so the parts, summaries and manifests do not depend on which
one ran them (tests compare them).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import traceback
import uuid
import warnings
from collections.abc import Iterator
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments.design import Plan, Run
from experiments.schema import ExperimentError


@dataclass
class Outcome:
    run: Run
    result: dict[str, Any] | None = None
    error: str | None = None
    traceback: str | None = None



class SyncExecutor:
    """Runs in this process, one run after another (debugging, tiny sweeps, tests)."""

    label = "sync (in this process)"

    def __enter__(self) -> SyncExecutor:
        from experiments.run import warm_up

        self.warmups = {"driver": warm_up()}
        self.nworkers = 1
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def run(self, plan: Plan, runs: list[Run]) -> Iterator[Outcome]:
        from experiments.run import run_one

        for run in runs:
            try:
                result = run_one(plan.spec(run))
            except Exception as e:  # noqa: BLE001 - a failed run is recorded, the sweep goes on
                yield Outcome(run, error=_one_line(e), traceback=traceback.format_exc())
            else:
                yield Outcome(run, result=result)

    def worker_of(self, outcome: Outcome) -> str:
        return "driver"


class DaskExecutor:
    """A dask cluster: a LocalCluster of worker processes, or one at an address."""

    def __init__(self, scheduler: str, workers: int | None, connect_timeout: float = 10.0,
                 workers_timeout: float = 120.0, cluster_file: Path | None = None) -> None:
        self.scheduler = scheduler
        self.nworkers_wanted = workers
        self.connect_timeout = connect_timeout
        self.workers_timeout = workers_timeout
        self.cluster_file = cluster_file
        self.cluster: Any = None
        self.client: Any = None
        self.warmups: dict[str, dict] = {}
        self.worker_versions: dict[str, dict] = {}

    @property
    def label(self) -> str:
        if self.cluster_file is not None:
            return (f"dask-jobqueue cluster from {self.cluster_file} ({self.nworkers} workers "
                    "connected)")
        if self.scheduler == "local":
            return (f"LocalCluster: {self.nworkers} worker processes, 1 thread each, "
                    "on this machine")
        return f"dask scheduler at {self.scheduler} ({self.nworkers} workers)"

    def __enter__(self) -> DaskExecutor:
        from distributed import Client, LocalCluster

        from experiments.run import WarmUp, probe, warmup_record

        try:
            if self.scheduler == "local":
                n = self.nworkers_wanted or os.cpu_count() or 1
                try:
                    with warnings.catch_warnings(), _workers_ignore_ctrl_c():
                        # "port 8787 in use": no dashboard is wanted
                        warnings.filterwarnings("ignore", message=".*already in use")
                        self.cluster = LocalCluster(n_workers=n, threads_per_worker=1,
                                                    processes=True, dashboard_address=None,
                                                    silence_logs=logging.ERROR)
                except Exception as e:  # noqa: BLE001 - say what failed, no traceback
                    raise ExperimentError("--scheduler local", [
                        f"could not start {n} local worker processes ({_one_line(e)}); "
                        "try fewer --workers, or --scheduler sync"]) from None
                self.client = Client(self.cluster)
            elif self.cluster_file is not None:
                from experiments.jobqueue import start_cluster

                self.cluster = start_cluster(self.cluster_file)
                self.client = Client(self.cluster)
                need = self.nworkers_wanted or 1
                try:
                    self.client.wait_for_workers(need, timeout=self.workers_timeout)
                except TimeoutError:
                    raise ExperimentError(self.cluster_file, [
                        f"fewer than {need} dask worker(s) joined within "
                        f"{self.workers_timeout:.0f} s; check the queue (squeue) and the job "
                        "logs"]) from None
            else:
                try:
                    self.client = Client(self.scheduler, timeout=f"{self.connect_timeout}s")
                except (OSError, TimeoutError, ValueError) as e:  # ValueError: bad address
                    raise ExperimentError(self.scheduler, [
                        f"cannot connect to a dask scheduler there ({_one_line(e)}); start "
                        "one with `dask scheduler` or check the address"]) from None
                need = self.nworkers_wanted or 1
                try:
                    self.client.wait_for_workers(need, timeout=self.workers_timeout)
                except TimeoutError:
                    raise ExperimentError(self.scheduler, [
                        f"fewer than {need} dask worker(s) connected within "
                        f"{self.workers_timeout:.0f} s; start workers with `dask worker "
                        f"{self.scheduler} --nthreads 1`"]) from None
            try:
                self.worker_versions = self.client.run(probe)
            except Exception as e:  # noqa: BLE001 - report, do not crash
                raise ExperimentError(self.scheduler, [
                    f"the workers cannot import the project ({_one_line(e)}); install it on "
                    "every worker (pip install -e . in a checkout, or the same version)"]) \
                    from None
            self.client.register_plugin(WarmUp(), name=WarmUp.name)
            self.warmups = {k: v for k, v in self.client.run(warmup_record).items() if v}
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    @property
    def nworkers(self) -> int:
        if self.client is None:
            return 0
        try:
            info = self.client.scheduler_info(n_workers=-1)  # newer: only 5 listed by default
        except TypeError:
            info = self.client.scheduler_info()
        return len(info.get("workers", {}))

    def refresh_warmups(self) -> None:
        from experiments.run import warmup_record

        with contextlib.suppress(Exception):
            for k, v in self.client.run(warmup_record).items():
                if v:
                    self.warmups[k] = v

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            if self.client is not None:
                self.client.close()
        with contextlib.suppress(Exception):
            if self.cluster is not None:
                self.cluster.close()
        self.client = self.cluster = None

    def run(self, plan: Plan, runs: list[Run]) -> Iterator[Outcome]:
        from distributed import as_completed

        from experiments.run import run_one

        token = uuid.uuid4().hex[:8]
        by_key: dict[str, Run] = {}
        futures = []
        for run in runs:
            key = f"reception-run-{run.run_id}-{token}"
            fut = self.client.submit(run_one, plan.spec(run), key=key, pure=False)
            by_key[fut.key] = run
            futures.append(fut)
        self._where: dict[str, str] = {}
        try:
            for fut in as_completed(futures):
                run = by_key[fut.key]
                try:
                    result = fut.result()
                except Exception as e:  # noqa: BLE001 - recorded, the sweep goes on
                    tb = fut.traceback()
                    text = "".join(traceback.format_tb(tb)) if tb is not None else ""
                    yield Outcome(run, error=_one_line(e), traceback=text + _one_line(e))
                else:
                    yield Outcome(run, result=result)
                finally:
                    fut.release()
        finally:
            for fut in futures:
                if fut.status == "pending":
                    fut.cancel()

    def worker_of(self, outcome: Outcome) -> str:
        res = outcome.result or {}
        return f"{res.get('host')}:{res.get('pid')}"


class FuturesExecutor:
    """Any ``concurrent.futures.Executor`` the caller made and owns: a ProcessPoolExecutor,
    dask's ``client.get_executor()``, mpi4py's ``MPIPoolExecutor``, ... (the Mesa-style
    runner interface). Runs are submitted as ``run_one(spec)``; the records, the resume and the
    results are the sweep's own, so they are the same on every executor."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.warmups: dict[str, dict] = {}
        self.nworkers = int(getattr(executor, "_max_workers", 0) or 0)

    @property
    def label(self) -> str:
        kind = type(self.executor).__name__
        n = f", {self.nworkers} workers" if self.nworkers else ""
        return f"{kind} (a concurrent.futures executor{n})"

    def __enter__(self) -> FuturesExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None  # the caller owns the executor and shuts it down

    def run(self, plan: Plan, runs: list[Run]) -> Iterator[Outcome]:
        from experiments.run import run_one

        by_future = {self.executor.submit(run_one, plan.spec(run)): run for run in runs}
        try:
            for fut in as_completed(by_future):
                run = by_future[fut]
                try:
                    result = fut.result()
                except Exception as e:  # noqa: BLE001 - recorded, the sweep goes on
                    text = "".join(traceback.format_exception(e))
                    yield Outcome(run, error=_one_line(e), traceback=text)
                else:
                    yield Outcome(run, result=result)
        finally:
            for fut in by_future:
                fut.cancel()

    def worker_of(self, outcome: Outcome) -> str:
        res = outcome.result or {}
        return f"{res.get('host')}:{res.get('pid')}"


@contextlib.contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start worker processes with SIGINT ignored (inherited): Ctrl-C reaches the driver only.

    The driver then records what is done and closes the cluster, instead of every worker
    printing its own KeyboardInterrupt traceback. (Only possible in the main thread.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)



def _one_line(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}".strip()
    return " ".join(text.split())


def make_executor(scheduler: str, workers: int | None, connect_timeout: float = 10.0,
                  workers_timeout: float = 120.0, executor: Executor | None = None,
                  cluster: Path | None = None) -> SyncExecutor | DaskExecutor | FuturesExecutor:
    """The executor a sweep runs on: any ``concurrent.futures.Executor`` given, a
    dask-jobqueue cluster file, ``sync``, ``local`` or a scheduler address."""
    if executor is not None:
        return FuturesExecutor(executor)
    if cluster is not None:
        return DaskExecutor("cluster", workers, connect_timeout, workers_timeout, cluster)
    if scheduler == "sync":
        return SyncExecutor()
    return DaskExecutor(scheduler, workers, connect_timeout, workers_timeout)


