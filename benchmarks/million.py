"""One million migrants over 520 weeks: wall time, migrant-weeks per second, peak memory.

Run on demand: ``python benchmarks/million.py [--migrants N] [--weeks W] [--threads T]``.
A first-year arrival wave brings the population to N; the run then continues to W weeks,
so most weeks step the full population.
"""

from __future__ import annotations

import argparse
import resource
import time

from sim import threads
from sim.model import ReceptionModel
from sim.params import Scenario


def scenario(migrants: int, weeks: int) -> Scenario:
    per_year = migrants / 2  # two streams, all arriving in the first 52 weeks
    return Scenario.model_validate({
        "scenario": {"name": "million"},
        "run": {"weeks": weeks, "seed": 1, "scale": 1, "progress": False},
        "streams": {"economic_pr": {"per_year": per_year},
                    "asylum_claimant": {"per_year": per_year}},
        "shocks": [{"stream": s, "start_week": 52, "end_week": weeks + 1, "multiplier": 0.0}
                   for s in ("economic_pr", "asylum_claimant")],
        "status": {"emigration_per_year": 0.0},
        "municipalities": [
            {"name": f"City {i}", "population": 2_000_000, "rental_stock": 300_000,
             "shelter_beds": 5000, "lat": 43 + i, "lon": -79 - i} for i in range(8)],
        "agencies": [
            {"name": f"ISA {i}", "municipality": f"City {i}", "staff_fte": 200,
             "grants": [{"funder": "federal", "amount_per_year": 1.5e7, "kind": "core"}]}
            for i in range(8)],
    })


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--migrants", type=int, default=1_000_000)
    ap.add_argument("--weeks", type=int, default=520)
    ap.add_argument("--threads", type=int, default=None, help="threads (default: all cores)")
    args = ap.parse_args()
    if args.threads:
        threads.set_threads(args.threads)
    sc = scenario(args.migrants, args.weeks)
    t0 = time.perf_counter()
    model = ReceptionModel(scenario=sc)
    model.step()  # compile (or load the numba cache) outside the timed loop
    t1, c1 = time.perf_counter(), time.process_time()
    migrant_weeks = 0
    for _ in range(args.weeks - 1):
        model.step()
        migrant_weeks += model.migrants.n
    t2, c2 = time.perf_counter(), time.process_time()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"migrants {model.migrants.n:,}  weeks {args.weeks}  first step {t1 - t0:.1f} s  "
          f"stepping {t2 - t1:.1f} s wall, {c2 - c1:.1f} s CPU on {threads.threads()} thread(s)  "
          f"{migrant_weeks / (t2 - t1) / 1e6:.1f} M migrant-weeks/s  peak RSS {rss:,.0f} MiB")


if __name__ == "__main__":
    main()
