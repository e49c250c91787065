"""The fixed Python cost of a week: CPU time per week of small runs, and where it goes.

Run on demand (never from the test suite):

    python benchmarks/week_overhead.py [--weeks 104] [--profile CASE] [--top 30]

Cases: the benchmark scenario (``run_benchmarks.bench_scenario``, 8 cities and 8
agencies) at 10 and 10,000 migrants, and ``canada_baseline`` at scale 2,500 (a few
thousand rows over its 21 cities). Each case builds a model, steps week 0 (the arrival
wave, untimed), then times ``--weeks`` weeks with ``time.process_time`` (CPU time of this
process: a figure that load from other processes on a shared machine disturbs least) and
reports the best of ``--repeats`` runs in ms per week, with the total per process step.
``--profile CASE`` runs that case under cProfile instead and prints the functions with
the most own time (tottime). ``--time NAMES`` also times model methods or module functions
where they run (CPU ms per week; a profiler's overhead skews small calls, a timer less).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import os
import pstats
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from run_benchmarks import PROCESSES, bench_scenario  # noqa: E402


def case_scenario(case: str, weeks: int):
    """The scenario of one case, with ``weeks`` + 1 weeks."""
    if case.startswith("bench-"):
        return bench_scenario(int(case.split("-")[1]), weeks)
    from sim.scenario import load_scenario

    name, scale = case.split("@")
    return load_scenario(name, [f"run.weeks={weeks + 1}", f"run.scale={scale}"])


CASES = ("bench-10", "bench-10000", "canada_baseline@2500")


def time_case(case: str, weeks: int, names: tuple[str, ...] = ()) -> dict:
    """CPU ms per week, in all and per process step, after an untimed first week; and of
    each of ``names`` (``--time``), timed where it runs (nested ones overlap)."""
    from sim.model import ReceptionModel

    model = ReceptionModel(scenario=case_scenario(case, weeks))
    model.step()
    spent = dict.fromkeys(PROCESSES, 0.0)
    inner: dict[str, float] = {}
    undo = [_time_in_place(model, name, inner) for name in names]

    def timed(name, method):
        def run():
            c = time.process_time()
            method()
            spent[name] += time.process_time() - c
        return run

    for name in PROCESSES:
        setattr(model, name, timed(name, getattr(model, name)))
    c0 = time.process_time()
    for _ in range(weeks):
        model.step()
    # what collect leaves to be built when read: the columns, Mesa's model and agent tables
    timed("collect", lambda: (model.datacollector.model_vars,
                              model.datacollector._agent_records))()
    cpu = time.process_time() - c0
    for restore in undo:
        restore()
    return {"ms_per_week": cpu / weeks * 1e3, "rows": int(model.migrants.n),
            "munis": len(model.municipalities), "agencies": len(model.agencies),
            "process_ms": {k: v / weeks * 1e3 for k, v in spent.items()},
            "timed_ms": {k: v / weeks * 1e3 for k, v in inner.items()}}


def _time_in_place(model, name: str, spent: dict[str, float]):
    """Wrap ``name`` with a CPU timer adding into ``spent[name]``; return the undo.

    ``name`` is a model method (``service_pools``) or ``module:function``
    (``sim.kernels:tally``), wrapped where callers look it up: a function a module imported
    by name is that module's (``sim.model:arrive``, ``sim.agency:offer_hours``).
    """
    if ":" in name:
        module, attr = name.split(":")
        owner = importlib.import_module(module)
    else:
        owner, attr = model, name
    original = getattr(owner, attr)
    spent[name] = 0.0

    def run(*args, **kwargs):
        c = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[name] += time.process_time() - c

    setattr(owner, attr, run)
    return lambda: setattr(owner, attr, original) if ":" in name else delattr(owner, attr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cases", nargs="*", default=list(CASES))
    ap.add_argument("--profile", help="profile this case with cProfile instead")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--time", default="", help="also time these, comma-separated: model "
                    "methods (service_pools) or module:function (sim.kernels:tally)")
    args = ap.parse_args()
    from sim.model import ReceptionModel

    ReceptionModel(scenario=bench_scenario(100, 2)).run()  # load every numba kernel
    if args.profile:
        model = ReceptionModel(scenario=case_scenario(args.profile, args.weeks))
        model.step()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.weeks):
            model.step()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)
        return 0
    print(f"load average {os.getloadavg()[0]:.2f}; CPU ms per week, best of {args.repeats}")
    names = tuple(n for n in args.time.split(",") if n)
    for case in args.cases:
        best = min((time_case(case, args.weeks, names) for _ in range(args.repeats)),
                   key=lambda r: r["ms_per_week"])
        steps = ", ".join(f"{k} {v:.3f}" for k, v in best["process_ms"].items())
        print(f"{case}: {best['ms_per_week']:.3f} ms/week ({best['rows']} rows, "
              f"{best['munis']} cities, {best['agencies']} agencies)\n    {steps}", flush=True)
        if names:
            print("    timed: " + ", ".join(f"{k} {v:.3f}" for k, v in best["timed_ms"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
