"""Run one scenario and write its outputs: two Parquet tables and a JSON run record.

The output folder is written under a temporary name and renamed into place only when
complete, so a failed or interrupted run leaves nothing half-done behind (``sim.outdir``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import multiprocessing
import platform
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from sim import threads
from sim.codes import FUNDERS, SERVICES
from sim.model import ReceptionModel
from sim.outdir import RUN_RECORD, TABLES, Staging, prepare
from sim.outputs import frames, monthly
from sim.params import Scenario

MUNICIPAL_TABLE, TOTALS_TABLE, MONTHLY_TABLE = TABLES


@contextlib.contextmanager
def process_pool(jobs: int) -> Iterator[Executor | None]:
    """Worker processes for independent runs (forked where the platform allows); None for 1.

    Each worker runs its kernels on one thread (``sim.threads``): the processes already
    use the cores, and more threads than cores would only make them wait for each other.
    """
    if jobs <= 1:
        yield None
        return
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=threads.set_threads,
                             initargs=(1,)) as pool:
        yield pool


@dataclass
class RunResult:
    municipalities: pd.DataFrame
    totals: pd.DataFrame
    summary: dict[str, float]
    record: dict
    out_dir: Path | None = None


@functools.cache
def package_versions(packages: tuple[str, ...]) -> dict[str, str]:
    """Installed version of each package, or "not installed" (read once per process: the
    package metadata cost ~10 ms, a tenth of a small run in a sweep)."""
    out = {}
    for pkg in packages:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def versions() -> dict[str, str]:
    """Python and the packages a run's results depend on (for the run record)."""
    return {"python": platform.python_version(), **package_versions(
        ("reception-sim", "mesa", "numba", "numpy", "pandas", "pyarrow", "pydantic"))}


def summarize(muni: pd.DataFrame, totals: pd.DataFrame) -> dict[str, float]:
    """Per-run headline outcomes (MODEL.md section 6)."""
    last = totals.iloc[-1]
    out = {
        "weeks": float(len(totals)),
        "arrivals": float(totals["arrivals"].sum()),
        "newcomers_at_end": float(last["newcomers"]),
        "peak_shelter_occupancy": float(totals["shelter_occupancy"].max()),
        "mean_shelter_occupancy": float(totals["shelter_occupancy"].mean()),
        "unsheltered_person_weeks": float(totals["unsheltered"].sum()),
        "peak_unsheltered": float(totals["unsheltered"].max()),
        "emergency_place_weeks": float(totals["emergency_places"].sum()),
        "peak_emergency_places": float(totals["emergency_places"].max()),
        "emergency_cost": float(totals["spend_line_emergency_places"].sum()),
        "intake_cap_weeks": float(muni["intake_cap"].sum()),
        # budgets after backlash cuts or raises under pressure (all cities, CAD/year)
        "newcomer_budget_at_end": float(muni.loc[muni["week"] == muni["week"].max(),
                                                 "newcomer_budget"].sum()),
        "employment_rate_at_end": float(last["employment_rate"]),
        "integration_index_at_end": float(last["integration_index"]),
        "reached_stable_share": float(last["reached_stable_share"]),
        "mean_weeks_to_stable": float(last["mean_weeks_to_stable"]),
        "stable_within_a_year_share": float(last["stable_within_a_year_share"]),
        "retention": float(last["retention"]),
    }
    for s in SERVICES:
        started = totals[f"started_{s}"]
        waited = (totals[f"mean_wait_{s}"].fillna(0.0) * started).sum()
        out[f"mean_wait_{s}"] = float(waited / started.sum()) if started.sum() else float("nan")
        # Little's law: weeks the mean list holds at the mean pace of starts (what a new
        # joiner can expect in a steady queue; people no funder may serve count too)
        out[f"expected_wait_{s}"] = (float(totals[f"waiting_{s}"].mean() / started.mean())
                                     if started.sum() else float("nan"))
        out[f"waiting_{s}_at_end"] = float(last[f"waiting_{s}"])
    for f in FUNDERS:
        out[f"spend_{f}"] = float(totals[f"spend_{f}"].sum())
    out["spend_total"] = float(last["cumulative_spend"])
    out["cost_per_integration_point"] = float(last["cost_per_integration_point"])
    return out


def simulate(scenario: Scenario, progress: bool = False,
             check: Callable[[], None] | None = None) -> RunResult:
    """Run the scenario's horizon in memory (``check``: see ``ReceptionModel.run``)."""
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    model = ReceptionModel(scenario=scenario)
    model.run(progress=progress, check=check)
    return result_of(model, started, t0, check)


def result_of(model: ReceptionModel, started: datetime, t0: float,
              check: Callable[[], None] | None = None) -> RunResult:
    """The tables, summary and run record of a model that has run (``t0``: its
    ``time.perf_counter()`` at the start, for the wall time)."""
    scenario = model.scenario
    muni, totals = frames(model)
    if check is not None:
        check()
    wall = time.perf_counter() - t0
    summary = summarize(muni, totals)
    summary.update({f"events_{k}": float(n) for k, n in model.event_counts.items()})
    record = {
        "scenario": scenario.model_dump(mode="json"),
        "seed": scenario.run.seed,
        "started_at": started.isoformat(timespec="seconds"),
        "wall_time_s": round(wall, 3),
        "migrant_agents": int(model.migrants.n),  # rows ever created, each run.scale people
        "threads": threads.threads(),  # for the wall time only: results do not depend on it
        "events": [[week, str(model.date_of(week)), what] for week, what in model.events],
        "versions": versions(),
        "summary": summary,
    }
    return RunResult(muni, totals, summary, record)


def write(result: RunResult, out_dir: Path, overwrite: bool = False,
          staging: Staging | None = None, check: Callable[[], None] | None = None) -> Path:
    """Write the run into a temporary folder beside ``out_dir``, then swap it into place.

    ``overwrite`` replaces only a folder a run wrote (``sim.outdir``); ``staging`` is one
    ``outdir.prepare`` made before the run (so a bad ``--out`` fails before running).
    """
    staging = staging or prepare(Path(out_dir), overwrite)
    tmp = staging.tmp
    try:
        result.municipalities.to_parquet(tmp / MUNICIPAL_TABLE, index=False)
        result.totals.to_parquet(tmp / TOTALS_TABLE, index=False)
        monthly(result.totals).to_parquet(tmp / MONTHLY_TABLE, index=False)
        (tmp / RUN_RECORD).write_text(json.dumps(result.record, indent=2, default=_json_default))
        if check is not None:
            check()
        staging.commit()
    finally:
        staging.discard()
    result.out_dir = staging.out
    return staging.out


def _json_default(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")
