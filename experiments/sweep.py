"""The sweep driver: plan, run on an executor, write each finished run, resume.

Output folder (``--out``)::

    manifest.json          experiment hash, every run's id/point/seed/status/timing/error,
                           worker warm-up times, software versions (written atomically)
    runs/run-<id>.parquet  one part per finished run (long format: ids, seed, factor values
                           on every row), written atomically as each run arrives
    summary.parquet/.csv   one row per finished run: ids, factor values, summary outcomes
    by_point.csv           mean and standard deviation over replicates, per design point
    sobol_indices.csv      (Sobol designs) first-order and total indices per outcome

Each part's Parquet metadata holds the run's record (key ``reception.run``), so the parts
alone say which runs are done: a driver killed between writing a part and the manifest loses
nothing. Running the same command again runs only what is missing (and failed runs again);
a folder holding a different experiment (hash differs) is refused.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import time
import uuid
import warnings
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from experiments.design import Plan, Run, describe_points, load_plan
from experiments.executors import DaskExecutor, Outcome, make_executor
from experiments.schema import ExperimentError

MANIFEST = "manifest.json"
RUNS_DIR = "runs"
SUMMARY = "summary.parquet"
SUMMARY_CSV = "summary.csv"
BY_POINT = "by_point.csv"
SOBOL_INDICES = "sobol_indices.csv"
SOBOL_SECOND = "sobol_second_order.csv"
MANIFEST_EVERY_S = 1.0
CONNECT_TIMEOUT_S = 10.0  # to reach a scheduler at an address
WORKERS_TIMEOUT_S = 120.0  # for --workers N workers to connect to it
FORMAT = 1
HEADLINE = ("peak_shelter_occupancy", "unsheltered_person_weeks", "mean_wait_language",
            "employment_rate_at_end", "integration_index_at_end", "retention", "spend_total")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass
class SweepResult:
    out: Path
    total: int
    done: int
    failed: int
    ran: int
    wall_s: float
    exit_code: int
    failures: list[dict] = field(default_factory=list)
    workers: dict[str, dict] = field(default_factory=dict)
    # seconds: plan (read, validate, expand), startup (cluster, warm-up), runs (first
    # submission to last result written), tables (summary, by point, indices)
    timings: dict[str, float] = field(default_factory=dict)


@functools.cache
def versions() -> dict[str, str]:
    from sim.runner import package_versions
    from sim.runner import versions as sim_versions

    return {**sim_versions(), **package_versions(
        ("dask", "distributed", "SALib", "scipy", "tqdm", "cloudpickle"))}


def default_out(plan: Plan) -> Path:
    return Path("results") / f"sweep-{plan.name}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then ``os.replace`` it in place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


# ---------------------------------------------------------------------------- the store
class Store:
    """The output folder: parts, manifest, summaries; the single writer is the driver."""

    def __init__(self, out: Path, plan: Plan) -> None:
        self.out = Path(out)
        self.runs_dir = self.out / RUNS_DIR
        self.plan = plan
        self.entries: dict[str, dict] = {}
        self.summaries: dict[str, dict] = {}
        self.sessions: list[dict] = []
        self.created_at = _now()
        self._lock_file: Any = None
        self._last_manifest = 0.0

    # -- opening and resuming
    def check(self) -> dict | None:
        """Refuse a folder that holds something else; return its manifest if it has one."""
        manifest = self.out / MANIFEST
        if not self.out.exists():
            return None
        if not self.out.is_dir():
            raise ExperimentError(self.out, ["--out exists and is not a folder; choose "
                                             "another --out"])
        if not manifest.exists():
            leftovers = [p for p in self.out.iterdir() if not p.name.startswith(".")]
            if any(p.name != RUNS_DIR for p in leftovers) or any(
                    p.suffix == ".parquet" for p in self.runs_dir.glob("*")):
                raise ExperimentError(self.out, [
                    "--out holds files but no manifest.json, so it is not a sweep folder this "
                    "command can resume; choose a new --out"])
            return None
        try:
            data = json.loads(manifest.read_text())
            theirs = data["experiment"]["hash"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ExperimentError(self.out, [f"{MANIFEST} cannot be read ({e}); choose a new "
                                             "--out"]) from None
        if theirs != self.plan.hash:
            raise ExperimentError(self.out, [
                f"holds a sweep of a different experiment (hash {theirs[:12]} there, "
                f"{self.plan.hash[:12]} now): {self.plan.path} or its base scenario changed "
                "since, so these results cannot be resumed; run with a new --out (or delete "
                "this folder to start over)"])
        return data

    def scan(self, previous: dict | None) -> None:
        """Find the finished runs (from the parts) without writing anything."""
        self.stale: list[Path] = []
        if previous:
            self.created_at = previous.get("created_at", self.created_at)
            self.sessions = list(previous.get("sessions", []))
        before = {e["run_id"]: e for e in (previous or {}).get("runs", [])
                  if isinstance(e, dict) and "run_id" in e}
        runs = {r.run_id: r for r in self.plan.runs()}
        for part in sorted(self.runs_dir.glob("run-*.parquet")):
            run_id = part.stem.removeprefix("run-")
            record = self._read_part(part)
            if run_id not in runs or record is None or record.get("seed") != runs[run_id].seed:
                self.stale.append(part)  # not one of this plan's runs, or unreadable: redo
                continue
            self.summaries[run_id] = record.get("summary", {})
            old = before.get(run_id, {})
            if old.get("status") == "done" and old.get("attempts"):
                record = {**record, "attempts": old["attempts"], "worker": old.get("worker")}
            self.entries[run_id] = self._entry(runs[run_id], "done", record)
        for run in self.plan.runs():
            if run.run_id in self.entries:
                continue
            old = before.get(run.run_id, {})
            entry = self._entry(run, "pending", {})
            if old.get("status") == "failed":
                entry.update(status="failed", error=old.get("error"),
                             traceback=old.get("traceback"), attempts=old.get("attempts", 1))
            self.entries[run.run_id] = entry

    def begin(self) -> None:
        """Take the folder: create it, lock it, clear what a killed driver left."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self._lock()
        leftovers = [*self.runs_dir.glob(".*.tmp"), *self.out.glob(".*.tmp"), *self.stale]
        for path in leftovers:
            with contextlib.suppress(OSError):
                path.unlink()

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX
            return
        self._lock_file = open(self.out / ".lock", "a+")  # noqa: SIM115 - held until close
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_file.close()
            self._lock_file = None
            raise ExperimentError(self.out, ["another sweep is writing to this folder right "
                                             "now; wait for it or choose another --out"]) from None

    def close(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    @staticmethod
    def _read_part(path: Path) -> dict | None:
        from experiments.run import read_record

        try:
            return read_record(path)
        except Exception:  # noqa: BLE001 - any unreadable part is simply run again
            return None

    def _entry(self, run: Run, status: str, record: dict) -> dict:
        point = self.plan.points[run.point]
        return {
            "run_id": run.run_id, "point": run.point, "replicate": run.replicate,
            "seed": run.seed, "scenario": point.scenario, "factors": point.factors,
            "status": status,
            "wall_s": record.get("wall_s"),
            "worker": record.get("worker") or (f"{record['host']}:{record['pid']}"
                                               if record.get("host") else None),
            "finished_at": record.get("finished_at"),
            "error": None, "traceback": None, "attempts": record.get("attempts", 1 if
                                                                    status == "done" else 0),
        }

    # -- recording
    def done(self, outcome: Outcome, worker: str | None) -> None:
        """Write the run's part (bytes made by the worker) atomically; mark it done."""
        res = outcome.result
        assert res is not None
        run = outcome.run
        entry = self.entries[run.run_id]
        data: bytes = res["parquet"]
        _write_atomic(self.runs_dir / f"run-{run.run_id}.parquet",
                      lambda tmp: tmp.write_bytes(data))
        self.summaries[run.run_id] = res["summary"]
        attempts = entry.get("attempts", 0) + 1
        entry.update(self._entry(run, "done", {**res, "worker": worker, "attempts": attempts}))

    def failed(self, outcome: Outcome) -> None:
        entry = self.entries[outcome.run.run_id]
        entry.update(status="failed", error=outcome.error, traceback=outcome.traceback,
                     finished_at=_now(), attempts=entry.get("attempts", 0) + 1)

    # -- the manifest and the tables
    def counts(self) -> dict[str, int]:
        statuses = [e["status"] for e in self.entries.values()]
        return {"total": len(statuses), "done": statuses.count("done"),
                "failed": statuses.count("failed"), "pending": statuses.count("pending")}

    def write_manifest(self, force: bool = True) -> None:
        every = MANIFEST_EVERY_S * max(1.0, len(self.entries) / 1000)  # big sweeps: less often
        if not force and time.monotonic() - self._last_manifest < every:
            return
        plan = self.plan
        data = {
            "format": FORMAT,
            "experiment": {
                "name": plan.name,
                "file": str(plan.path.resolve()),
                "hash": plan.hash,
                "hash_of": "sha256 of the experiment file's bytes, the resolved base "
                           "scenario(s) (observed series by content) and the design points",
                "question": plan.experiment.experiment.question,
                "design": plan.kind,
                "points": len(plan.points),
                "replicates": plan.replicates,
                "root_seed": plan.root_seed,
                "seed_policy": "run.seed = SeedSequence(root_seed, spawn_key=(point, "
                               "replicate)).generate_state(1, uint64)[0] >> 1",
                "keep": plan.keep,
                "factors": plan.factor_names,
                "base_scenarios": plan.base_files,
            },
            "created_at": self.created_at,
            "updated_at": _now(),
            "versions": versions(),
            "counts": self.counts(),
            "sessions": self.sessions,
            "points": [{"point": p.index, "scenario": p.scenario, "sets": p.sets}
                       for p in plan.points],
            "runs": [self.entries[r.run_id] for r in plan.runs()],
        }
        text = json.dumps(data, indent=1, default=_json_default)
        _write_atomic(self.out / MANIFEST, lambda tmp: tmp.write_text(text))
        self._last_manifest = time.monotonic()

    def summary_frame(self) -> Any:
        import pandas as pd

        rows = []
        for run in self.plan.runs():
            entry = self.entries[run.run_id]
            if entry["status"] != "done":
                continue
            point = self.plan.points[run.point]
            rows.append({"run_id": run.run_id, "point": run.point, "replicate": run.replicate,
                         "seed": run.seed, "scenario": point.scenario, **point.factors,
                         **self.summaries.get(run.run_id, {}), "wall_s": entry.get("wall_s")})
        return pd.DataFrame(rows)

    def write_tables(self) -> list[str]:
        """summary.parquet/.csv, by_point.csv and (Sobol) the indices; names written."""
        frame = self.summary_frame()
        if frame.empty:
            return []
        written = [SUMMARY, SUMMARY_CSV, BY_POINT]
        _write_atomic(self.out / SUMMARY, lambda tmp: frame.to_parquet(tmp, index=False))
        _write_atomic(self.out / SUMMARY_CSV, lambda tmp: frame.to_csv(tmp, index=False))
        by_point = self.by_point(frame)
        _write_atomic(self.out / BY_POINT, lambda tmp: by_point.to_csv(tmp, index=False))
        if self.plan.kind == "sobol" and self.counts()["done"] == self.counts()["total"]:
            first, second = sobol_indices(self.plan, frame)
            if first is not None:
                _write_atomic(self.out / SOBOL_INDICES,
                              lambda tmp: first.to_csv(tmp, index=False))
                written.append(SOBOL_INDICES)
            if second is not None:
                _write_atomic(self.out / SOBOL_SECOND,
                              lambda tmp: second.to_csv(tmp, index=False))
                written.append(SOBOL_SECOND)
        return written

    def by_point(self, frame: Any) -> Any:
        import pandas as pd

        keys = ["point", "scenario", *self.plan.factor_names]
        metrics = [c for c in frame.columns
                   if c not in (*keys, "run_id", "replicate", "seed", "wall_s")]
        grouped = frame.groupby("point", sort=True)
        head = grouped[keys].first().reset_index(drop=True)
        n = grouped.size().rename("replicates_done").reset_index(drop=True)
        mean = grouped[metrics].mean().add_suffix("_mean").reset_index(drop=True)
        sd = grouped[metrics].std(ddof=1).add_suffix("_sd").reset_index(drop=True)
        return pd.concat([head, n, mean, sd], axis=1)


def sobol_indices(plan: Plan, frame: Any) -> tuple[Any, Any]:
    """Sobol indices of every summary outcome (replicates averaged per point), via SALib."""

    import numpy as np
    import pandas as pd
    from SALib.analyze import sobol as sobol_analyze

    design = plan.experiment.design
    problem = dict(plan.sobol_problem or {})
    names = problem["names"]
    means = frame.groupby("point").mean(numeric_only=True).sort_index()
    if len(means) != len(plan.points):
        return None, None
    skip = {"point", "replicate", "seed", "wall_s", *names}
    first_rows, second_rows = [], []
    for metric in [c for c in means.columns if c not in skip]:
        y = means[metric].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)) or np.var(y) == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sobol_analyze.analyze(problem, y, calc_second_order=design.calc_second_order,
                                        print_to_console=False, seed=design.seed)
        for i, name in enumerate(names):
            first_rows.append({"output": metric, "parameter": name,
                               "S1": res["S1"][i], "S1_conf": res["S1_conf"][i],
                               "ST": res["ST"][i], "ST_conf": res["ST_conf"][i]})
        if design.calc_second_order:
            for i in range(len(names)):
                for j in range(i + 1, len(names)):
                    second_rows.append({"output": metric, "parameter_1": names[i],
                                        "parameter_2": names[j], "S2": res["S2"][i, j],
                                        "S2_conf": res["S2_conf"][i, j]})
    first = pd.DataFrame(first_rows) if first_rows else None
    second = pd.DataFrame(second_rows) if second_rows else None
    return first, second


def _json_default(obj: object) -> object:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def _print(msg: str) -> None:
    """Print; output piped into ``head`` and closed must not stop the sweep."""
    try:
        print(msg, flush=True)
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


# ---------------------------------------------------------------------------- the sweep
def sweep(experiment: Path, scheduler: str = "local", workers: int | None = None,
          out: Path | None = None, progress: bool = True, dry_run: bool = False,
          log: Callable[[str], None] | None = None,
          order: Callable[[list[Run]], list[Run]] | None = None,
          executor: Executor | None = None, cluster: Path | None = None) -> SweepResult:
    """Run (or resume) the sweep of ``experiment``; raise ``ExperimentError`` on user errors.

    ``order`` rearranges the runs to submit (tests use it to show that seeds and outputs do
    not depend on execution order). ``executor``: any ``concurrent.futures.Executor`` (the
    caller owns it); ``cluster``: a dask-jobqueue cluster file (``experiments.jobqueue``);
    otherwise ``scheduler`` says where the runs go.
    """
    log = log or _print
    started = time.perf_counter()
    plan = load_plan(Path(experiment), check_all=dry_run)
    timings = {"plan_s": time.perf_counter() - started}
    out = Path(out) if out is not None else default_out(plan)
    runs = plan.runs()
    shape = (f"{len(plan.points)} design points x {plan.replicates} replicates = "
             f"{len(runs)} runs")
    if dry_run:
        log(f"{plan.name}: {plan.kind} design, {shape}; keep {plan.keep}; hash "
            f"{plan.hash[:12]}; would write {out}/")
        log(describe_points(plan))
        return SweepResult(out, len(runs), 0, 0, 0, 0.0, EXIT_OK)

    if plan.unchecked:
        log(f"note: only the first {len(plan.points) - plan.unchecked:,} design points were "
            f"validated before running; a bad one among the other {plan.unchecked:,} fails as "
            "a run (--dry-run validates them all)")
    store = Store(out, plan)
    store.scan(store.check())
    try:
        executor_ = make_executor(scheduler, workers, CONNECT_TIMEOUT_S, WORKERS_TIMEOUT_S,
                                  executor, cluster)
        return _execute(plan, store, runs, executor_, scheduler, progress, log, order,
                        started, shape, timings)
    finally:
        store.close()


def _execute(plan: Plan, store: Store, runs: list[Run], executor: Any, scheduler: str,
             progress: bool, log: Callable[[str], None],
             order: Callable[[list[Run]], list[Run]] | None, started: float,
             shape: str, timings: dict[str, float]) -> SweepResult:
    from tqdm import tqdm

    todo = [r for r in runs if store.entries[r.run_id]["status"] != "done"]
    if order is not None:
        todo = order(list(todo))
    counts = store.counts()
    retry = f" ({counts['failed']} failed before: run again)" if counts["failed"] else ""
    log(f"{plan.name}: {shape}; {counts['done']} done, {len(todo)} to run{retry}; "
        f"keep {plan.keep}; out {store.out}/")
    session = {"started_at": _now(), "scheduler": executor_name(executor, scheduler),
               "ran": 0, "failed": 0,
               "workers": {}, "ended_at": None, "interrupted": False}
    ran = failed = 0
    failures: list[dict] = []
    warmups: dict[str, dict] = {}
    interrupted = False
    if not todo:
        store.begin()
        store.sessions.append(session)
    else:
        t_start = time.perf_counter()
        try:
            with executor:  # a scheduler that cannot be reached is reported before any write
                timings["startup_s"] = time.perf_counter() - t_start
                store.begin()
                store.sessions.append(session)
                warmups = dict(executor.warmups)
                session["workers"] = warmups
                session["scheduler_detail"] = executor.label
                log(f"scheduler: {executor.label}")
                log("warm-up per worker (import sim, then numba compile or cache load): "
                    + "; ".join(f"{w}: {v['import_s']:.1f} s + {v['numba_s']:.1f} s "
                                f"{v['numba']}" for w, v in warmups.items()))
                store.write_manifest()
                bar = tqdm(total=len(runs), initial=len(runs) - len(todo), unit="run",
                           desc=plan.name, disable=not progress, file=sys.stderr,
                           dynamic_ncols=True, smoothing=0.1)
                bar.set_postfix(failed=0)
                t_runs = time.perf_counter()
                try:
                    for outcome in executor.run(plan, todo):
                        if outcome.result is not None:
                            store.done(outcome, executor.worker_of(outcome))
                            ran += 1
                        else:
                            store.failed(outcome)
                            failed += 1
                            failures.append({"run_id": outcome.run.run_id,
                                             "error": outcome.error})
                        bar.update(1)
                        bar.set_postfix(failed=failed)
                        session["ran"], session["failed"] = ran, failed
                        store.write_manifest(force=False)
                except KeyboardInterrupt:
                    interrupted = True
                finally:
                    bar.close()
                    timings["runs_s"] = time.perf_counter() - t_runs
                if isinstance(executor, DaskExecutor):
                    executor.refresh_warmups()
                    warmups = dict(executor.warmups)
                    session["workers"] = warmups
        except KeyboardInterrupt:
            interrupted = True
    session["ended_at"] = _now()
    session["interrupted"] = interrupted
    store.write_manifest()
    t_tables = time.perf_counter()
    written = store.write_tables()
    timings["tables_s"] = time.perf_counter() - t_tables
    session["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
    store.write_manifest()
    wall = time.perf_counter() - started
    counts = store.counts()
    if interrupted and counts["pending"]:
        log(f"interrupted: {counts['done']} of {counts['total']} runs done; run the same "
            "command again to finish the rest")
        code = EXIT_INTERRUPTED
    else:
        rate = (ran + failed) / wall * 60 if wall > 0 else float("nan")
        this = (f"this session ran {ran + failed} in {wall:.1f} s ({rate:.1f} runs/min)"
                if ran + failed else "nothing was left to run")
        log(f"{counts['done']} of {counts['total']} runs done, {counts['failed']} failed; {this}")
        code = EXIT_FAILED if counts["failed"] or counts["pending"] else EXIT_OK
    for f in failures[:10]:
        log(f"failed: {f['run_id']}: {f['error']}")
    if len(failures) > 10:
        log(f"... and {len(failures) - 10} more failures (see {store.out / MANIFEST})")
    if counts["failed"]:
        log("run the same command again to retry the failed runs")
    if written:
        log(f"wrote {store.out}/: {MANIFEST}, {RUNS_DIR}/ ({counts['done']} parts), "
            + ", ".join(written))
    _print_headline(plan, store, log)
    return SweepResult(store.out, counts["total"], counts["done"], counts["failed"], ran + failed,
                       wall, code, failures, warmups, timings)


def executor_name(executor: Any, scheduler: str) -> str:
    """What the manifest records as the session's scheduler."""
    from experiments.executors import FuturesExecutor

    if isinstance(executor, FuturesExecutor):
        return f"executor:{type(executor.executor).__name__}"
    if isinstance(executor, DaskExecutor) and executor.cluster_file is not None:
        return f"cluster:{executor.cluster_file}"
    return scheduler


def _short(names: list[str]) -> dict[str, str]:
    """Parameter paths shortened to their last part where that stays unique."""
    last = [n.split(".")[-1] for n in names]
    return {n: (s if last.count(s) == 1 else n) for n, s in zip(names, last, strict=True)}


def _print_headline(plan: Plan, store: Store, log: Callable[[str], None]) -> None:
    """A short table for the person at the terminal: means by point, or Sobol totals."""
    import pandas as pd

    path = store.out / (SOBOL_INDICES if plan.kind == "sobol" else BY_POINT)
    if not path.exists():
        return
    frame = pd.read_csv(path)
    short = _short(plan.factor_names)
    with pd.option_context("display.width", 200, "display.max_columns", 30,
                           "display.float_format", lambda v: f"{v:,.3g}"):
        if plan.kind == "sobol":
            table = frame[frame["output"].isin(HEADLINE)].pivot(
                index="output", columns="parameter", values="ST")
            if not table.empty:
                table = table.rename(columns=short)
                table.columns.name = None
                log("\nTotal-order Sobol indices (ST) of headline outcomes "
                    f"({SOBOL_INDICES} has S1 and ST of every outcome, with intervals):")
                log(table.to_string())
            return
        if len(frame) > 40:
            return
        cols = [f"{m}_mean" for m in HEADLINE if f"{m}_mean" in frame.columns]
        keys = ["scenario"] if plan.kind == "scenarios" else plan.factor_names
        table = frame[[*keys, *cols]].rename(
            columns=lambda c: short.get(c, c.removesuffix("_mean")))
        log(f"\nMeans over replicates by design point ({BY_POINT} has them all, with "
            "standard deviations):")
        log(table.to_string(index=False))
