"""Hashes of every week's state and outputs of several scenarios: a check that a speed-up
changed nothing.

Run on demand (never from the test suite), before and after a change:

    python benchmarks/output_hash.py --save /tmp/before.json
    python benchmarks/output_hash.py --check /tmp/before.json

Per scenario and week, one SHA-256 over: every live column of the migrant state, the
tally arrays, the week's per-municipality output columns and totals (values, dtypes and
names), the agents' money and staff, the emergency books, the claims queue, the events
and both random generators' states. At the end also the collector's model and agent
tables and the run summary. ``--check`` names the first scenario and week that differ.
Bit-identical means the same bytes, so a float summed in another order shows up.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

# Bundled scenarios (their own horizon unless given) and the 10k benchmark scenario.
SCENARIOS: dict[str, int | None] = {
    "classroom": None, "canada_baseline": 156, "asylum_surge_shelter_cap": None,
    "toronto_refugee_shelter": None, "americas_city_network": None, "funding_adhoc": 156,
    "small_town_retention": 156, "access_without_fear": 104,
    "local_immigration_partnership": 104, "funding_predictable": 104,
}


def _feed(h, value) -> None:
    """Add one value to the hash: arrays by dtype, shape and bytes; a float by its value
    (a Python or a NumPy float alike); the rest by repr."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            h.update(repr(value.tolist()).encode())
        else:
            h.update(f"{value.dtype}{value.shape}".encode())
            h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, dict):
        for k in value:
            h.update(repr(k).encode())
            _feed(h, value[k])
    elif isinstance(value, float | np.floating):  # a number, whether NumPy's or Python's
        h.update(f"float:{float(value)!r}".encode())
    elif isinstance(value, list | tuple):
        h.update(f"{type(value).__name__}{len(value)}".encode())
        for v in value:
            _feed(h, v)
    else:
        h.update(f"{type(value).__name__}:{value!r}".encode())


# Columns that only record what a pass last did (the tally's flags: its outputs are hashed),
# left out so that a hash taken before such a column existed still compares.
BOOKKEEPING = ("tally_flags",)


def week_hash(model) -> str:
    """One week's hash (see the module docstring for what it covers)."""
    h = hashlib.sha256()
    a = model.migrants
    for name in a.columns:
        if name not in BOOKKEEPING:
            _feed(h, a.view(name))
    t = model.tally
    _feed(h, [t.counts, t.services, t.dims, t.status_index, t.status_count, t.hist, t.misc,
              t.homeless])
    _feed(h, model.municipal_history[-1])
    _feed(h, model.week_totals)
    _feed(h, [[m.cash, m.spent, m.sentiment, m.budget_per_year, m.rent, m.ihap_received,
               m.spent_this_quarter, m.unfunded_this_quarter, dict(m.policies),
               m.emergency.open, [vars(o) for o in m.emergency.pipeline],
               m.emergency.strain_weeks, m.emergency.calm_weeks, m.emergency.pressure,
               m.emergency.pressure_peak, m.emergency.cap_since] for m in model.municipalities])
    _feed(h, [[ag.cash, ag.staff, ag.received, ag.spent, ag.hours_available, ag.hours_used,
               ag.pending, [vars(g) for g in ag.grants]] for ag in model.agencies])
    _feed(h, [[g.crisis_weeks, g.spent_this_year, g.paid_total, g.last_help]
              for g in model.governments])
    _feed(h, [model.hours_carry, model.claims_queue, model.events, model.event_counts,
              model.cumulative_spend, model.quality])
    _feed(h, model.rng.bit_generator.state)
    _feed(h, model.random.getstate())
    return h.hexdigest()


def final_hash(model) -> str:
    """The collector's tables and the run summary at the end of the run."""
    from sim.outputs import frames
    from sim.runner import summarize

    h = hashlib.sha256()
    muni, total = frames(model)
    agents = model.datacollector.get_agent_vars_dataframe().reset_index()
    for frame in (muni, total, agents):
        for col in frame.columns:
            h.update(f"{col}:{frame[col].dtype}".encode())
            _feed(h, frame[col].to_numpy())
    _feed(h, summarize(muni, total))
    return h.hexdigest()


def scenario_hashes(name: str, weeks: int | None) -> dict:
    from sim.model import ReceptionModel
    from sim.scenario import load_scenario

    if name.startswith("bench-"):
        from run_benchmarks import bench_scenario
        sc = bench_scenario(int(name.split("-")[1]), weeks or 52)
    else:
        sc = load_scenario(name, [f"run.weeks={weeks}"] if weeks else [])
    model = ReceptionModel(scenario=sc)
    out = []
    while model.running:
        model.step()
        out.append(week_hash(model))
    return {"weeks": out, "final": final_hash(model)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path, help="write the hashes to this JSON file")
    group.add_argument("--check", type=Path, help="compare with hashes saved before")
    ap.add_argument("--only", nargs="*", help="scenario names (default: all, and bench-10000)")
    args = ap.parse_args()
    names = dict(SCENARIOS, **{"bench-10000": 52})
    if args.only:
        names = {n: names.get(n) for n in args.only}
    t0 = time.process_time()
    got = {}
    for name, weeks in names.items():
        got[name] = scenario_hashes(name, weeks)
        print(f"  {name}: {len(got[name]['weeks'])} weeks, final {got[name]['final'][:12]}",
              flush=True)
    print(f"({time.process_time() - t0:.1f} s CPU)")
    if args.save:
        args.save.write_text(json.dumps(got, indent=1))
        print(f"wrote {args.save}")
        return 0
    saved = json.loads(args.check.read_text())
    bad = 0
    for name, h in got.items():
        if name not in saved:
            print(f"{name}: not in {args.check}")
            bad += 1
            continue
        ref = saved[name]
        week = next((w for w, (x, y) in enumerate(zip(h["weeks"], ref["weeks"], strict=False))
                     if x != y), None)
        if week is not None or len(h["weeks"]) != len(ref["weeks"]) or h["final"] != ref["final"]:
            where = f"first at week {week}" if week is not None else "in the final tables"
            print(f"{name}: DIFFERS ({where})")
            bad += 1
    print("all identical" if not bad else f"{bad} scenario(s) differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
