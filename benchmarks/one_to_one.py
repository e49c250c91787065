"""All of the baseline at one agent per person: ``scenarios/canada_one_to_one.toml`` end to end.

Run on demand (never from the test suite):

    python benchmarks/one_to_one.py [--threads T] [--weeks W] [--save benchmarks/results.json]

Runs the scenario the way ``reception run`` does (``runner.simulate``, then ``runner.write``
into a temporary folder) and reports, per phase, wall and CPU time (CPU of every thread),
the rows of state at the end, state bytes per row, peak RSS and the machine's load before
and after. ``--save`` puts the figures under ``"one_to_one"`` in the benchmark JSON, beside
``run_benchmarks.py``'s (which it leaves as they are).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from run_benchmarks import Phases  # noqa: E402 (after the path set-up)

SCENARIO = HERE.parent / "scenarios" / "canada_one_to_one.toml"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(threads_wanted: int | None, weeks: int | None) -> dict:
    """Phases of one run of the scenario: ``{phase: [wall s, CPU s]}`` and its sizes."""
    from sim import runner, threads
    from sim.model import ReceptionModel
    from sim.scenario import load_scenario
    from sim.state import bytes_per_migrant

    if threads_wanted:
        threads.set_threads(threads_wanted)
    clock = Phases()
    lap = clock.lap

    load_before = os.getloadavg()[0]
    t_start = time.perf_counter()
    sc = load_scenario(SCENARIO, [f"run.weeks={weeks}"] if weeks else [])
    lap("load_scenario")
    model = ReceptionModel(scenario=sc)
    rows_at_start = model.migrants.n
    lap("model_init")  # the earlier newcomers' rows and their warm-up
    row_weeks = 0
    for _ in range(sc.run.weeks):
        model.step()
        row_weeks += model.migrants.n
    lap("stepping")
    result = runner.result_of(model, datetime.now(UTC), t_start)
    lap("outputs")
    with tempfile.TemporaryDirectory() as tmp:
        runner.write(result, Path(tmp) / "out")
        lap("write")
    phases = clock.times
    wall = sum(p[0] for p in phases.values())
    cpu = sum(p[1] for p in phases.values())
    return {
        "scenario": SCENARIO.name, "weeks": sc.run.weeks, "scale": sc.run.scale,
        "threads": threads.threads(), "rows_at_start": rows_at_start,
        "rows_at_end": model.migrants.n, "row_weeks": row_weeks,
        "phases_wall_cpu_s": phases, "wall_s": wall, "cpu_s": cpu,
        "row_weeks_per_wall_s": row_weeks / phases["stepping"][0],
        "row_weeks_per_cpu_s": row_weeks / phases["stepping"][1],
        "state_bytes_per_migrant": bytes_per_migrant(),
        "state_mib_at_end": sum(c[:model.migrants.n].nbytes
                                for c in model.migrants.columns.values()) / 2**20,
        "peak_rss_mib": peak_rss_mib(),
        "loadavg_1min_before": load_before, "loadavg_1min_after": os.getloadavg()[0],
        "nproc": os.cpu_count(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=None, help="threads (default: every core)")
    ap.add_argument("--weeks", type=int, default=None, help="weeks (default: the scenario's)")
    ap.add_argument("--save", type=Path, default=None, help="benchmark JSON to add the figures to")
    args = ap.parse_args()
    res = measure(args.threads, args.weeks)
    for name, (wall, cpu) in res["phases_wall_cpu_s"].items():
        print(f"  {name:14} {wall:8.1f} s wall {cpu:8.1f} s CPU")
    print(f"{res['rows_at_end']:,} rows at the end ({res['rows_at_start']:,} at the start) x "
          f"{res['weeks']} weeks on {res['threads']} thread(s): {res['wall_s']:.1f} s wall "
          f"({res['wall_s'] / 60:.2f} min), {res['cpu_s']:.1f} s CPU; "
          f"{res['row_weeks_per_wall_s'] / 1e6:.1f} M row-weeks per wall second stepping; "
          f"state {res['state_bytes_per_migrant']} B per row ({res['state_mib_at_end']:,.0f} MiB), "
          f"peak RSS {res['peak_rss_mib']:,.0f} MiB; load {res['loadavg_1min_before']:.1f} -> "
          f"{res['loadavg_1min_after']:.1f}")
    if args.save:
        data = json.loads(args.save.read_text()) if args.save.exists() else {}
        data["one_to_one"] = res
        args.save.write_text(json.dumps(data, indent=1))
        print(f"wrote {args.save}")


if __name__ == "__main__":
    main()
