"""Wall time of a 1M-migrant week on 1, 2, ... threads, measured back to back in one model.

Run on demand: ``python benchmarks/thread_speedup.py [--migrants N] [--threads 1 2]
[--weeks W] [--repeats R] [--out benchmarks/thread_speedup.json]``.

Builds the ``million.py`` scenario, steps it past its arrival year (every row exists), then
R times in turn steps W weeks on each thread count (``sim.threads.set_threads``; the order is
reversed every other repeat). Results do not depend on the thread count, so switching it in
the middle of a run changes nothing but the speed. On a machine shared with other work, wall
times swing with the load; a ratio of two stretches measured a few seconds apart is the
steadiest measure, so the script reports the median of the per-repeat ratios, with the load
average before and after each stretch. Per stretch it also splits the wall time into the
serial part (outside every parallel call) and the idle part of the parallel calls (their wall
time beyond an even share of their work): where the rest of a perfect speed-up went.

It also measures the machine's own ceiling on the same thread counts (``ceiling``): the
speed-up of a pure arithmetic loop and of a memory stream run on every thread at once. A
week reads every migrant column several times, so where the stream does not speed up, the
model cannot either.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from million import scenario
from numba import njit

from sim import threads
from sim.model import ReceptionModel


class Spans:
    """``threads.each_part`` calls (every block of rows, group of cities and part of gaps
    goes through one): CPU time of all threads (work), of the busiest thread in each call
    (span), and the wall time inside the calls (inside)."""

    def __init__(self, each_part: Callable) -> None:
        self.work = self.span = self.inside = 0.0
        self._each_part = each_part

    def each_part(self, count: int, work: Callable[[int], None]) -> None:
        per: dict[int, float] = defaultdict(float)

        def timed(k: int) -> None:
            c = time.thread_time()
            work(k)
            per[threading.get_ident()] += time.thread_time() - c

        t = time.perf_counter()
        self._each_part(count, timed)
        self.inside += time.perf_counter() - t
        self.work += sum(per.values())
        self.span += max(per.values(), default=0.0)


def stretch(model: ReceptionModel, weeks: int, spans: Spans,
            n_threads: int) -> dict[str, float]:
    """Step ``weeks`` weeks; per week (ms): wall, CPU (all threads), CPU critical path, wall
    outside the parallel calls (serial: Python and the sequential kernels) and, inside
    them, wall beyond an even share of their work (idle: blocks that did not split evenly,
    handing out and waiting); the 1-minute load average before and after."""
    load0 = os.getloadavg()[0]
    work0, span0, inside0 = spans.work, spans.span, spans.inside
    t, c = time.perf_counter(), time.process_time()
    for _ in range(weeks):
        model.step()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    critical = cpu - (spans.work - work0) + (spans.span - span0)
    inside = spans.inside - inside0
    idle = inside - (spans.work - work0) / n_threads
    return {"wall_ms_per_week": round(wall / weeks * 1e3, 2),
            "cpu_ms_per_week": round(cpu / weeks * 1e3, 2),
            "critical_path_ms_per_week": round(critical / weeks * 1e3, 2),
            "serial_ms_per_week": round((wall - inside) / weeks * 1e3, 2),
            "idle_in_parallel_ms_per_week": round(idle / weeks * 1e3, 2),
            "load_1min": [round(load0, 2), round(os.getloadavg()[0], 2)]}


@njit(cache=True, nogil=True)
def _arithmetic(n: int) -> int:
    """``n`` steps of a 48-bit LCG: work in registers only."""
    x = 1
    for _ in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFF
    return x


@njit(cache=True, nogil=True)
def _stream(a: np.ndarray) -> int:
    """Read every element of ``a`` once (larger than any cache: from memory)."""
    s = 0
    for i in range(a.shape[0]):
        s += a[i]
    return s


def ceiling(n_threads: int, repeats: int) -> dict[str, dict]:
    """The speed-up this machine gives ``n_threads`` threads at once over one, for a pure
    arithmetic loop and for a memory stream (256 MiB a thread): medians and ranges over
    ``repeats`` pairs measured back to back."""
    arrays = [np.ones(1 << 25, np.int64) for _ in range(n_threads)]
    kinds = {"arithmetic": (_arithmetic, [150_000_000] * n_threads), "memory": (_stream, arrays)}
    out = {}
    for name, (fn, args) in kinds.items():
        fn(args[0])  # compiled or loaded, and the pages touched
        ratios = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn(args[0])
            alone = time.perf_counter() - t
            workers = [threading.Thread(target=fn, args=(a,)) for a in args]
            t = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            ratios.append(n_threads * alone / (time.perf_counter() - t))
        out[name] = {"speedup_median": round(statistics.median(ratios), 3),
                     "speedup_range": [round(min(ratios), 3), round(max(ratios), 3)]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--migrants", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--warm-up", type=int, default=60, help="weeks stepped before timing")
    ap.add_argument("--weeks", type=int, default=10, help="weeks per timed stretch")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None, help="write the figures to this JSON file")
    args = ap.parse_args()
    total = args.warm_up + args.repeats * len(args.threads) * args.weeks + 1
    model = ReceptionModel(scenario=scenario(args.migrants, total))
    for _ in range(args.warm_up):
        model.step()
    rows = model.migrants.n
    spans = Spans(threads.each_part)
    threads.each_part = spans.each_part  # every parallel call goes through the module's name
    runs: list[dict] = []
    for r in range(args.repeats):
        order = args.threads if r % 2 == 0 else args.threads[::-1]
        for t in order:
            threads.set_threads(t)
            runs.append({"repeat": r, "threads": t, **stretch(model, args.weeks, spans, t)})
            print(f"repeat {r} threads {t}: {runs[-1]}", flush=True)
    base = args.threads[0]
    summary = {}
    for t in args.threads:
        mine = [x for x in runs if x["threads"] == t]
        ratios = [next(y["wall_ms_per_week"] for y in runs
                       if y["repeat"] == x["repeat"] and y["threads"] == base)
                  / x["wall_ms_per_week"] for x in mine]
        free = [next(y["cpu_ms_per_week"] for y in runs
                     if y["repeat"] == x["repeat"] and y["threads"] == base)
                / x["critical_path_ms_per_week"] for x in mine]
        summary[str(t)] = {
            "wall_ms_per_week_median": statistics.median(x["wall_ms_per_week"] for x in mine),
            "cpu_ms_per_week_median": statistics.median(x["cpu_ms_per_week"] for x in mine),
            "critical_path_ms_per_week_median": statistics.median(
                x["critical_path_ms_per_week"] for x in mine),
            "serial_ms_per_week_median": statistics.median(
                x["serial_ms_per_week"] for x in mine),
            "idle_in_parallel_ms_per_week_median": statistics.median(
                x["idle_in_parallel_ms_per_week"] for x in mine),
            "speedup_median": round(statistics.median(ratios), 3),
            "speedup_range": [round(min(ratios), 3), round(max(ratios), 3)],
            "speedup_on_free_cores_median": round(statistics.median(free), 3),
            "speedup_on_free_cores_range": [round(min(free), 3), round(max(free), 3)],
            "M_migrant_weeks_per_wall_s": round(
                rows / statistics.median(x["wall_ms_per_week"] for x in mine) / 1e3, 2),
        }
        if t > 1:
            summary[str(t)]["machine_ceiling"] = ceiling(t, args.repeats)
        print(f"{t} thread(s): {summary[str(t)]}")
    if args.out:
        args.out.write_text(json.dumps({
            "what": "million.py scenario, weeks stepped back to back on each thread count",
            "migrants": rows, "warm_up_weeks": args.warm_up, "weeks_per_stretch": args.weeks,
            "repeats": args.repeats, "cpus": os.cpu_count(), "python": platform.python_version(),
            "block_rows": threads.BLOCK, "summary": summary, "stretches": runs}, indent=1))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
