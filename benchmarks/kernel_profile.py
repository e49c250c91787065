"""Where a week's CPU goes inside the core: each numba kernel timed in a running model.

Run on demand: ``python benchmarks/kernel_profile.py [--migrants N] [--warm-up W] [--weeks T]``.
Builds the ``million.py`` scenario with N migrants, steps it W weeks (by default to week 300:
mostly settled people, the state ``million.py`` spends most of its time in), then steps T more
weeks with every kernel the model calls wrapped in a CPU timer. Prints CPU ms per week and ns
per row for each kernel, and what the rest of the week (Python) costs.

py-spy and cProfile see a numba kernel only as one opaque call; this is the kernel-level view
that docs/performance.md section 7 reports.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable

from million import scenario

from sim import kernels
from sim.model import ReceptionModel

KERNELS = ("step_status", "step_reception", "mark_shelter_use", "step_housing",
           "step_services", "step_integration", "step_moves", "tally")


def timed(fn: Callable, spent: dict[str, float], name: str) -> Callable:
    """``fn`` that adds its CPU time to ``spent[name]`` (the model calls kernels.<name>)."""
    def wrapper(*args):
        t = time.process_time()
        out = fn(*args)
        spent[name] += time.process_time() - t
        return out
    return wrapper


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--migrants", type=int, default=1_000_000)
    ap.add_argument("--warm-up", type=int, default=300, help="weeks stepped before timing")
    ap.add_argument("--weeks", type=int, default=20, help="weeks timed")
    args = ap.parse_args()
    model = ReceptionModel(scenario=scenario(args.migrants, args.warm_up + args.weeks + 1))
    for _ in range(args.warm_up):
        model.step()
    spent: dict[str, float] = defaultdict(float)
    for name in KERNELS:
        setattr(kernels, name, timed(getattr(kernels, name), spent, name))
    rows = 0
    t0 = time.process_time()
    for _ in range(args.weeks):
        model.step()
        rows += model.migrants.n
    week_cpu = time.process_time() - t0
    n = rows / args.weeks
    print(f"{n:,.0f} rows, weeks {args.warm_up}-{args.warm_up + args.weeks - 1} timed "
          f"(CPU ms per week; ns per row)")
    for name in KERNELS:
        ms = spent[name] / args.weeks * 1e3
        print(f"  {name:18} {ms:8.2f} ms  {ms * 1e6 / n:6.1f} ns  {spent[name] / week_cpu:5.1%}")
    rest = week_cpu - sum(spent.values())
    print(f"  {'rest (Python)':18} {rest / args.weeks * 1e3:8.2f} ms  "
          f"{rest / args.weeks * 1e9 / n:6.1f} ns  {rest / week_cpu:5.1%}")
    print(f"  {'week':18} {week_cpu / args.weeks * 1e3:8.2f} ms  "
          f"{week_cpu / args.weeks * 1e9 / n:6.1f} ns  "
          f"({n * args.weeks / week_cpu / 1e6:.1f} M migrant-weeks per CPU-second)")


if __name__ == "__main__":
    main()
