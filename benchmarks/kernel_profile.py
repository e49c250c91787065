"""Where a week's CPU goes inside the core: each numba kernel timed in a running model.

Run on demand: ``python benchmarks/kernel_profile.py [--migrants N] [--warm-up W] [--weeks T]``.
Builds the ``million.py`` scenario with N migrants, steps it W weeks (by default to week 300:
mostly settled people, the state ``million.py`` spends most of its time in), then steps T more
weeks with every kernel the model calls wrapped in a timer. Prints wall and CPU ms per week and
wall ns per row for each kernel, and what the rest of the week (Python) costs. ``--threads T``
caps the threads of the block-parallel kernels (``sim.threads``; default: every core), so wall
time is the measure of a kernel's cost and CPU time (all threads) the measure of its work.

py-spy and cProfile see a numba kernel only as one opaque call; this is the kernel-level view
that docs/performance.md section 7 reports.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable

from million import scenario

from sim import kernels, threads
from sim.model import ReceptionModel

KERNELS = ("step_status", "step_reception", "step_housing",
           "step_services", "step_integration", "step_moves", "tally")


def timed(fn: Callable, spent: dict[str, list[float]], name: str) -> Callable:
    """``fn`` that adds its wall and CPU time to ``spent[name]`` (the model calls
    kernels.<name>)."""
    def wrapper(*args):
        t, c = time.perf_counter(), time.process_time()
        out = fn(*args)
        spent[name][0] += time.perf_counter() - t
        spent[name][1] += time.process_time() - c
        return out
    return wrapper


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--migrants", type=int, default=1_000_000)
    ap.add_argument("--warm-up", type=int, default=300, help="weeks stepped before timing")
    ap.add_argument("--weeks", type=int, default=20, help="weeks timed")
    ap.add_argument("--threads", type=int, default=None, help="threads (default: all cores)")
    args = ap.parse_args()
    if args.threads:
        threads.set_threads(args.threads)
    model = ReceptionModel(scenario=scenario(args.migrants, args.warm_up + args.weeks + 1))
    for _ in range(args.warm_up):
        model.step()
    spent: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for name in KERNELS:
        setattr(kernels, name, timed(getattr(kernels, name), spent, name))
    rows = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.weeks):
        model.step()
        rows += model.migrants.n
    spent["week"] = [time.perf_counter() - t0, time.process_time() - c0]
    spent["rest (Python)"] = [spent["week"][k] - sum(spent[name][k] for name in KERNELS)
                              for k in (0, 1)]
    n = rows / args.weeks
    print(f"{n:,.0f} rows, weeks {args.warm_up}-{args.warm_up + args.weeks - 1} timed, "
          f"{threads.threads()} thread(s) (wall ms per week, wall ns per row, share of the "
          f"week's wall time; CPU ms per week)")
    for name in (*KERNELS, "rest (Python)", "week"):
        wall, cpu = (x / args.weeks for x in spent[name])
        print(f"  {name:18} {wall * 1e3:8.2f} ms  {wall * 1e9 / n:6.1f} ns  "
              f"{wall / spent['week'][0] * args.weeks:6.1%}  {cpu * 1e3:8.2f} ms CPU")
    print(f"  {n * args.weeks / spent['week'][0] / 1e6:.1f} M migrant-weeks per wall second, "
          f"{n * args.weeks / spent['week'][1] / 1e6:.1f} M per CPU-second")


if __name__ == "__main__":
    main()
