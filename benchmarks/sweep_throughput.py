"""Sweep throughput: runs per minute at 1 and 2 workers, and the overhead per run.

Run on demand (never from the test suite):

    python benchmarks/sweep_throughput.py [--runs 48] [--weeks 52] [--keep summary]
                                          [--out benchmarks/sweep_throughput.json] [--no-cold]

One fixed design (a factorial on scenarios/classroom.toml, ``--runs`` runs of ``--weeks``
weeks) is run, in one process, as:

1. bare: a plain in-process loop over the same runs (resolve, validate, ``simulate``), after
   a warm-up, writing nothing: the floor;
2. sync: ``sweep --scheduler sync`` (in process, writing parts, manifest and tables);
3. local-1 and local-2: ``sweep`` on a LocalCluster of 1 and 2 worker processes;
4. cold-2 (unless --no-cold): local-2 again with an empty NUMBA_CACHE_DIR for the workers, so
   each worker compiles the kernels: the per-worker compile time next to the cache-load time.

Reported per configuration: wall time end to end, start-up (cluster and warm-up), the run
phase (first submission to last part written), runs per minute over the run phase and end
to end, the seconds of worker time per run (run phase x workers / runs) and the overhead per
run against the bare loop (worker time per run minus bare time per run), and each worker's
warm-up (imports, then numba compile or cache load).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

EXPERIMENT = """
[experiment]
name = "throughput"
replicates = {replicates}
root_seed = 1

[base]
scenario = "{scenario}"

[base.sets]
"run.weeks" = {weeks}

[design]
kind = "factorial"

[design.factors]
"funding.grant_factor.federal" = [0.5, 1.0, 1.5, 2.0]
"housing.search_rate" = [0.05, 0.1, 0.2]

[outputs]
keep = "{keep}"
"""


def bare_loop(plan) -> float:
    """The same runs in a plain loop: the cost of the model alone."""
    from experiments.run import warm_up
    from sim import paths
    from sim.runner import simulate
    from sim.scenario import validate

    warm_up()
    t0 = time.perf_counter()
    for run in plan.runs():
        spec = plan.spec(run)
        data = copy.deepcopy(spec["scenario"])
        for key, value in spec["sets"].items():
            paths.set_in_data(data, key, value)
        data["run"]["seed"] = run.seed
        simulate(validate(data, Path(run.run_id)))
    return time.perf_counter() - t0


def measure(name: str, exp: Path, out: Path, scheduler: str, workers: int | None,
            bare_per_run: float) -> dict:
    from experiments.sweep import sweep

    t0 = time.perf_counter()
    result = sweep(exp, scheduler=scheduler, workers=workers, out=out, progress=False,
                   log=lambda msg: None)
    wall = time.perf_counter() - t0
    assert result.exit_code == 0, f"{name}: {result.failures[:3]}"
    n = result.ran
    runs_s = result.timings.get("runs_s", wall)
    nworkers = workers or 1
    worker_s_per_run = runs_s * nworkers / n
    return {
        "config": name, "workers": nworkers, "runs": n, "wall_s": round(wall, 2),
        "startup_s": round(result.timings.get("startup_s", 0.0), 2),
        "runs_phase_s": round(runs_s, 2),
        "runs_per_min": round(n / runs_s * 60, 1),
        "runs_per_min_end_to_end": round(n / wall * 60, 1),
        "worker_s_per_run": round(worker_s_per_run, 4),
        "overhead_per_run_s": round(worker_s_per_run - bare_per_run, 4),
        "warmups": {k: {f: v[f] for f in ("import_s", "numba_s", "numba")}
                    for k, v in result.workers.items()},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=48, help="runs (a multiple of 12; default 48)")
    ap.add_argument("--weeks", type=int, default=52, help="weeks per run (default 52)")
    ap.add_argument("--keep", default="summary",
                    choices=("summary", "weekly_totals", "weekly_municipalities"))
    ap.add_argument("--out", type=Path, default=HERE / "sweep_throughput.json")
    ap.add_argument("--no-cold", action="store_true", help="skip the cold-cache measurement")
    args = ap.parse_args()

    from experiments.design import load_plan

    tmp = Path(tempfile.mkdtemp(prefix="sweep-throughput-"))
    exp = tmp / "throughput.toml"
    exp.write_text(EXPERIMENT.format(replicates=max(1, args.runs // 12), weeks=args.weeks,
                                     keep=args.keep,
                                     scenario=(ROOT / "scenarios" / "classroom.toml").as_posix()))
    plan = load_plan(exp)
    n = len(plan.runs())
    print(f"design: {len(plan.points)} points x {plan.replicates} replicates = {n} runs of "
          f"{args.weeks} weeks (classroom), keep {args.keep}; {os.cpu_count()} CPUs")

    bare = bare_loop(plan)
    bare_per_run = bare / n
    rows = [{"config": "bare loop", "workers": 1, "runs": n, "wall_s": round(bare, 2),
             "startup_s": 0.0, "runs_phase_s": round(bare, 2),
             "runs_per_min": round(n / bare * 60, 1),
             "runs_per_min_end_to_end": round(n / bare * 60, 1),
             "worker_s_per_run": round(bare_per_run, 4), "overhead_per_run_s": 0.0,
             "warmups": {}}]
    configs = [("sync", "sync", None), ("local-1", "local", 1), ("local-2", "local", 2)]
    for name, scheduler, workers in configs:
        rows.append(measure(name, exp, tmp / name, scheduler, workers, bare_per_run))
        print(f"  {name}: {rows[-1]['runs_per_min']} runs/min", flush=True)
    if not args.no_cold:
        cache = tmp / "numba-cache"
        cache.mkdir()
        old = os.environ.get("NUMBA_CACHE_DIR")
        os.environ["NUMBA_CACHE_DIR"] = str(cache)  # inherited by the new worker processes
        try:
            rows.append(measure("cold-2", exp, tmp / "cold-2", "local", 2, bare_per_run))
        finally:
            if old is None:
                os.environ.pop("NUMBA_CACHE_DIR")
            else:
                os.environ["NUMBA_CACHE_DIR"] = old

    head = (f"{'config':<10} {'wall s':>7} {'start s':>8} {'runs s':>7} {'runs/min':>9} "
            f"{'e2e/min':>8} {'wrk s/run':>10} {'overhead':>9}  warm-up per worker")
    print("\n" + head)
    print("-" * len(head))
    for r in rows:
        warm = "; ".join(f"{v['import_s']:.1f}+{v['numba_s']:.1f} s {v['numba']}"
                         for v in r["warmups"].values())
        print(f"{r['config']:<10} {r['wall_s']:>7.1f} {r['startup_s']:>8.1f} "
              f"{r['runs_phase_s']:>7.1f} {r['runs_per_min']:>9.0f} "
              f"{r['runs_per_min_end_to_end']:>8.0f} {r['worker_s_per_run']:>10.3f} "
              f"{r['overhead_per_run_s']:>9.3f}  {warm}")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    report = {
        "design": {"runs": n, "weeks": args.weeks, "keep": args.keep,
                   "scenario": "scenarios/classroom.toml"},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "load_average_after": load},
        "results": rows,
    }
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
