"""Performance benchmarks of the numba core against the plain-Mesa reference, in one run.

Run on demand (never from the test suite):

    python benchmarks/run_benchmarks.py [--quick] [--out benchmarks/results.json]

Measures, each model run in a fresh subprocess (so memory peaks do not mix):

1. throughput: migrant-weeks per second of ``ReceptionModel`` (core) and
   ``benchmarks/reference_mesa.ReferenceModel`` (reference) at 10k, 100k and 1M migrants
   on the same scenario and weeks, and their ratio (at 10k the median of three pairs run
   alternately, all three kept: a week of ~1 ms moves by ~10% between runs). A core run
   shorter than ``CORE_MIN_CPU_S`` of CPU is repeated with fresh models until it is not
   (the rate is over all repeats, each repeat's kept): a 0.1 s run otherwise samples one
   moment of a host whose speed moves by tens of per cent from second to second, where the
   reference's run spans seconds; the reference
   only at sizes where it finishes in reasonable time (nothing is extrapolated: a size not
   run is reported as not run). Also the core on ``benchmarks/million.py``'s 1M x 520-week scenario.
2. per-process CPU time of both models (where a week's time goes), at each size;
3. start-up of ``reception run --weeks 1`` on the default scenario: cold (empty temporary
   ``NUMBA_CACHE_DIR``, so every kernel compiles) and warm (cache filled), and a warm
   phase breakdown (imports, scenario, model, first step, outputs);
4. memory: peak RSS of each run and bytes per migrant = (peak RSS - RSS before the model)
   / migrants, next to ``sim.state.bytes_per_migrant()``;
5. scaling: time per week at several numbers of migrants (core and reference),
   municipalities and agencies (core), with the exponent b of time ~ size^b fitted by
   least squares on logs, and the linear fit time = a + c * size.

Benchmark scenario (``bench_scenario``): every migrant arrives in week 0 (one arrival wave,
half economic immigrants and half asylum claimants) into ``munis`` cities of 2M people served
by ``agencies`` agencies of equal total staff, as in ``million.py``; the first step (arrivals,
and loading or compiling the numba cache) is timed apart, then ``weeks`` weeks are timed.
Migrant-weeks count every row the week steps over (departed included), as ``million.py`` does.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROCESSES = ("apply_timeline", "arrive", "decide_status", "receive", "house", "serve",
             "integrate", "move", "fund_and_decide", "collect")

CORE_MIN_CPU_S = 1.0  # a core measurement repeats its run until this much CPU time
CORE_MAX_REPEATS = 20

# (migrants, weeks) per size; the reference runs fewer weeks, or not at all.
FULL = {
    # pairs: core and reference run alternately that many times, the median ratio reported
    # (a 10k week is ~1 ms: its ratio moves by ~10% from one run to the next on this VM)
    "sizes": {10_000: {"core": 52, "reference": 52, "pairs": 3},
              100_000: {"core": 52, "reference": 13}, 1_000_000: {"core": 52, "reference": 2}},
    "million_weeks": 520,
    "scale_migrants_core": ([10_000, 30_000, 100_000, 300_000, 1_000_000], 13),
    "scale_migrants_reference": ([3_000, 10_000, 30_000, 100_000], 4),
    "scale_munis": ([2, 8, 32, 128, 512], 200_000, 13),
    "scale_agencies": ([8, 32, 128, 512], 200_000, 13),
    "warm_repeats": 3,
}
QUICK = {
    "sizes": {10_000: {"core": 13, "reference": 13}, 100_000: {"core": 13, "reference": 3},
              1_000_000: {"core": 13, "reference": None}},
    "million_weeks": None,
    "scale_migrants_core": ([10_000, 100_000, 1_000_000], 8),
    "scale_migrants_reference": ([3_000, 10_000, 30_000], 3),
    "scale_munis": ([2, 16, 128], 100_000, 8),
    "scale_agencies": ([8, 64, 512], 100_000, 8),
    "warm_repeats": 2,
}


# ---------------------------------------------------------------------------- the scenario
def bench_scenario(migrants: int, weeks: int, munis: int = 8, agencies: int = 8):
    """``migrants`` arriving in week 0 into ``munis`` cities served by ``agencies`` agencies.

    The wave is a week-0 shock on a small yearly rate, chosen so that the core's array
    allocation (expected arrivals x min(peak shock, 2) x 1.1) is about ``migrants`` rows
    (more when the horizon passes 50 weeks: a shock is at most x100, the schema's ceiling;
    rows allocated and never written cost no memory).
    """
    from sim.params import Scenario

    horizon = weeks + 1
    wave = min(2.0 * horizon, 100.0)  # the week-0 shock
    per_year = 26 * migrants / wave  # per stream; the week-0 mean is per_year/52 x wave
    return Scenario.model_validate({
        "scenario": {"name": f"bench-{migrants}"},
        "run": {"weeks": horizon, "seed": 1, "scale": 1, "progress": False},
        "streams": {"economic_pr": {"per_year": per_year},
                    "asylum_claimant": {"per_year": per_year}},
        "shocks": [shock for s in ("economic_pr", "asylum_claimant") for shock in (
            {"stream": s, "start_week": 0, "end_week": 1, "multiplier": wave},
            {"stream": s, "start_week": 1, "end_week": horizon + 1, "multiplier": 0.0})],
        "status": {"emigration_per_year": 0.0},
        "municipalities": [
            {"name": f"City {i}", "population": 2_000_000, "rental_stock": 300_000,
             "shelter_beds": 5000, "lat": 43 + (i % 32) * 0.3, "lon": -79 - (i // 32) * 0.5}
            for i in range(munis)],
        "agencies": [
            {"name": f"ISA {j}", "municipality": f"City {j % munis}",
             "staff_fte": 1600 / agencies,
             "grants": [{"funder": "federal", "amount_per_year": 1.2e8 / agencies,
                         "kind": "core"}]}
            for j in range(agencies)],
    })


# ---------------------------------------------------------------------------- workers
def _maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def worker_model(kind: str, migrants: int, weeks: int, munis: int, agencies: int,
                 million: bool) -> dict:
    """One model run in this process; returns timings, process breakdown and memory."""
    from sim.model import ReceptionModel
    from sim.state import bytes_per_migrant

    if kind == "reference":
        sys.path.insert(0, str(HERE))
        from reference_mesa import ReferenceModel as cls
    else:
        cls = ReceptionModel
    if million:
        sys.path.insert(0, str(HERE))
        from million import scenario as million_scenario
        sc = million_scenario(migrants, weeks + 1)
    else:
        sc = bench_scenario(migrants, weeks, munis, agencies)
    warm = cls(scenario=bench_scenario(100, 1, munis, agencies))  # load every numba kernel
    warm.run()
    del warm
    rss_before = _maxrss_bytes()
    spent = dict.fromkeys(PROCESSES, 0.0)  # CPU seconds per process
    spent_wall = dict.fromkeys(PROCESSES, 0.0)

    def timed(name, method):
        def run():
            t, c = time.perf_counter(), time.process_time()
            method()
            spent[name] += time.process_time() - c
            spent_wall[name] += time.perf_counter() - t
        return run

    def one_run():
        """A fresh model, its arrival wave untimed, then ``weeks`` timed weeks (after a
        full garbage collection: a repeat must not pay for its predecessors' objects)."""
        gc.collect()
        t0 = time.perf_counter()
        model = cls(scenario=sc)
        model.step()  # the arrival wave, outside the timed weeks
        first = time.perf_counter() - t0
        for name in PROCESSES:  # instance attributes shadow the methods step() calls
            setattr(model, name, timed(name, getattr(model, name)))
        count = ((lambda: len(model.people())) if kind == "reference"
                 else (lambda: model.migrants.n))
        migrant_weeks = 0
        t1, cpu1 = time.perf_counter(), time.process_time()
        for _ in range(weeks):
            model.step()
            migrant_weeks += count()
        # what collect leaves to be built when read: the columns, Mesa's model and agent tables
        timed("collect", lambda: (model.datacollector.model_vars,
                                  model.datacollector._agent_records))()
        return (model, count(), first, migrant_weeks, time.perf_counter() - t1,
                time.process_time() - cpu1)

    # A run of the core shorter than the reference's (a 10k run: ~0.1 s against ~7 s) catches
    # one moment of a host whose speed moves from second to second: such runs are repeated,
    # each with a fresh model, until they add up to ``CORE_MIN_CPU_S``; the rate is over all.
    load = os.getloadavg()[0]
    model, n, first, migrant_weeks, stepping, cpu = one_run()
    rates = [migrant_weeks / cpu]
    while kind == "core" and cpu < CORE_MIN_CPU_S and len(rates) < CORE_MAX_REPEATS:
        del model
        model, n, _, more_weeks, more_wall, more_cpu = one_run()
        migrant_weeks, stepping, cpu = (migrant_weeks + more_weeks, stepping + more_wall,
                                        cpu + more_cpu)
        rates.append(more_weeks / more_cpu)
    peak = _maxrss_bytes()
    out = {
        "kind": kind, "migrants": n, "weeks": weeks, "munis": munis, "agencies": agencies,
        "first_step_s": first, "stepping_s": stepping, "migrant_weeks": migrant_weeks,
        "migrant_weeks_per_s": migrant_weeks / stepping,
        "s_per_week": stepping / (weeks * len(rates)),
        "cpu_s": cpu, "migrant_weeks_per_cpu_s": migrant_weeks / cpu,
        "repeats": len(rates), "migrant_weeks_per_cpu_s_each": rates,
        "loadavg_1min_before": load, "loadavg_1min_after": os.getloadavg()[0],
        "ns_per_migrant_week": stepping / migrant_weeks * 1e9,
        "process_s": spent, "process_wall_s": spent_wall,
        "rss_before_model_mib": rss_before / 2**20,
        "peak_rss_mib": peak / 2**20, "bytes_per_migrant_rss": (peak - rss_before) / n,
    }
    if kind == "core":
        cols = model.migrants.columns
        out["state_bytes_per_migrant"] = bytes_per_migrant()
        out["array_capacity"] = int(model.migrants.capacity)
        out["array_mib"] = sum(c.nbytes for c in cols.values()) / 2**20
    out["employment_rate_at_end"] = float(model.week_totals["employment_rate"])
    return out


class Phases:
    """Wall and CPU seconds of consecutive phases: ``lap(name)`` ends the phase ``name``."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self._clock = [time.perf_counter(), time.process_time()]

    def lap(self, name: str) -> None:
        now = [time.perf_counter(), time.process_time()]
        self.times[name] = [now[0] - self._clock[0], now[1] - self._clock[1]]
        self._clock = now


def worker_startup(out_dir: str) -> dict:
    """Phases of a warm ``reception run --weeks 1`` (default scenario) in this process:
    ``{phase: [wall s, CPU s]}``."""
    phases = Phases()
    lap = phases.lap

    from sim import runner  # (pandas, pyarrow, mesa, numba, pydantic, scipy)
    from sim.model import ReceptionModel
    from sim.outputs import frames
    from sim.scenario import DEFAULT_SCENARIO, load_scenario
    lap("imports")
    sc = load_scenario(DEFAULT_SCENARIO, ["run.weeks=1"])
    lap("load_scenario")
    model = ReceptionModel(scenario=sc)
    lap("model_init")  # includes numba's first-call set-up and the cached tally kernel
    model.step()
    lap("first_step")  # the other kernels load from the cache
    frames(model)
    lap("frames")
    result = runner.simulate(sc)
    lap("simulate_again")  # everything loaded: the run itself
    runner.write(result, Path(out_dir))
    lap("write")
    return phases.times


def run_worker(*args: str, env: dict | None = None) -> dict:
    """One measurement in a fresh process, on one thread: these are per-core figures (the
    threads' speed-up is ``thread_speedup.py``'s)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", *args]
    env = {**(env or os.environ), "NUMBA_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def model_run(kind, migrants, weeks, munis=8, agencies=8, million=False) -> dict:
    args = [kind, str(migrants), str(weeks), str(munis), str(agencies)]
    res = run_worker(*args, *(["--million"] if million else []))
    print(f"  {kind:9} {res['migrants']:>9,} migrants x {weeks:>3} weeks, {munis:>3} munis, "
          f"{agencies:>3} agencies: {res['stepping_s']:7.2f} s wall, {res['cpu_s']:7.2f} s CPU, "
          f"{res['migrant_weeks_per_cpu_s'] / 1e6:7.3f} M migrant-weeks/CPU-s, "
          f"peak {res['peak_rss_mib']:6.0f} MiB, load {res['loadavg_1min_before']:.1f}"
          + (f", {res['repeats']} runs" if res.get("repeats", 1) > 1 else ""),
          flush=True)
    return res


# ---------------------------------------------------------------------------- measurements
def machine() -> dict:
    import mesa
    import numba
    import numpy

    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
    return {"nproc": os.cpu_count(), "lscpu_head": lscpu[:20],
            "model_name": next((ln.split(":", 1)[1].strip() for ln in lscpu
                                if ln.startswith("Model name")), platform.processor()),
            "python": platform.python_version(), "numba": numba.__version__,
            "mesa": mesa.__version__, "numpy": numpy.__version__,
            "numba_threads": numba.config.NUMBA_NUM_THREADS}


def throughput(cfg: dict) -> list[dict]:
    rows = []
    for n, weeks in cfg["sizes"].items():
        row = {"migrants_target": n, "core": model_run("core", n, weeks["core"])}
        if weeks["reference"]:
            pairs = []
            for _ in range(weeks.get("pairs", 1)):
                ref = model_run("reference", n, weeks["reference"])
                same = (model_run("core", n, weeks["reference"])
                        if weeks["reference"] != weeks["core"] or pairs else row["core"])
                pairs.append((same["migrant_weeks_per_cpu_s"] / ref["migrant_weeks_per_cpu_s"],
                              same, ref))
            ratio, same, ref = sorted(pairs, key=lambda pair: pair[0])[len(pairs) // 2]
            row.update(reference=ref, core_same_weeks=same, ratio_cpu=ratio,
                       ratio_wall=same["migrant_weeks_per_s"] / ref["migrant_weeks_per_s"],
                       ratio_cpu_pairs=[pair[0] for pair in pairs])
        else:
            row.update(reference=None, core_same_weeks=None, ratio_cpu=None, ratio_wall=None)
        rows.append(row)
    return rows


def startup(repeats: int) -> dict:
    exe = shutil.which("reception")
    cmd = [exe] if exe else [sys.executable, "-m", "sim.cli"]
    out = {"command": " ".join([*cmd, "run", "--weeks", "1", "--no-progress", "--out", "DIR"])}
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {"NUMBA_CACHE_DIR": str(Path(tmp) / "numba_cache")}

        def once(i: int) -> tuple[float, float]:
            """Wall and CPU (user + system) seconds of one ``reception run``."""
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run([*cmd, "run", "--weeks", "1", "--no-progress", "--out",
                            str(Path(tmp) / f"out{i}")], env=env, check=True,
                           capture_output=True, cwd=ROOT)
            wall = time.perf_counter() - t
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)

        out["loadavg_1min_before"] = os.getloadavg()[0]
        out["cold_s"], out["cold_cpu_s"] = once(0)
        warm = [once(i + 1) for i in range(repeats)]
        out["warm_s"], out["warm_cpu_s"] = [w for w, _ in warm], [c for _, c in warm]
        out["warm_phases_s"] = run_worker("startup", str(Path(tmp) / "phases"), env=env)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        out["bare_python_s"] = time.perf_counter() - t
    print(f"  cold {out['cold_s']:.2f} s wall ({out['cold_cpu_s']:.2f} s CPU), warm best "
          f"{min(out['warm_s']):.2f} s wall ({min(out['warm_cpu_s']):.2f} s CPU) of {repeats}",
          flush=True)
    return out


def fit(sizes, times) -> dict:
    """Exponent b of time ~ size^b (least squares on logs) and the line time = a + c*size."""
    import numpy as np

    x, y = np.asarray(sizes, float), np.asarray(times, float)
    b, log_a = np.polyfit(np.log(x), np.log(y), 1)
    c, a = np.polyfit(x, y, 1)
    return {"exponent_b": float(b), "loglog_prefactor": float(np.exp(log_a)),
            "linear_intercept_s": float(a), "linear_slope_s_per_unit": float(c)}


def _series(runs: list[dict], sizes: list[int], **extra) -> dict:
    """Time per week at each size (CPU and wall) and the fits, on CPU seconds per week.

    ``process_s_per_week`` is CPU seconds per process and week."""
    weeks = [r["weeks"] * r.get("repeats", 1) for r in runs]  # timed weeks, all repeats
    cpu = [r["cpu_s"] / w for r, w in zip(runs, weeks, strict=True)]
    return {"sizes": sizes, **extra, "cpu_s_per_week": cpu,
            "wall_s_per_week": [r["s_per_week"] for r in runs],
            "process_s_per_week": [{k: v / w for k, v in r["process_s"].items()}
                                   for r, w in zip(runs, weeks, strict=True)],
            **fit(sizes, cpu)}


def scaling(cfg: dict) -> dict:
    out = {}
    sizes, weeks = cfg["scale_migrants_core"]
    runs = [model_run("core", n, weeks) for n in sizes]
    out["migrants_core"] = _series(runs, [r["migrants"] for r in runs], weeks=weeks)
    sizes, weeks = cfg["scale_migrants_reference"]
    runs = [model_run("reference", n, weeks) for n in sizes]
    out["migrants_reference"] = _series(runs, [r["migrants"] for r in runs], weeks=weeks)
    sizes, n, weeks = cfg["scale_munis"]
    runs = [model_run("core", n, weeks, munis=m, agencies=8) for m in sizes]
    out["munis_core"] = _series(runs, sizes, migrants=n, agencies=8, weeks=weeks)
    sizes, n, weeks = cfg["scale_agencies"]
    runs = [model_run("core", n, weeks, munis=8, agencies=a) for a in sizes]
    out["agencies_core"] = _series(runs, sizes, migrants=n, munis=8, weeks=weeks)
    return out


# ---------------------------------------------------------------------------- report
def _fmt(value, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def table(results: dict) -> str:
    def rate(run, key="migrant_weeks_per_cpu_s"):
        return run[key] / 1e6 if run else None

    loads = [r[k]["loadavg_1min_before"] for r in results["throughput"]
             for k in ("core", "reference") if r[k]]
    lines = ["", f"1-min load average before the runs: {min(loads):.1f} to {max(loads):.1f} on "
             f"{results['machine']['nproc']} CPUs",
             "Throughput, M migrant-weeks per CPU-second (wall in brackets); "
             "ratio = core / reference over the same weeks",
             f"{'migrants':>10} {'weeks c/r':>9} {'core':>15} {'reference':>17} "
             f"{'core@ref-weeks':>15} {'ratio':>11} {'peak MiB c/r':>13} {'B/migrant c/r':>14}"]
    for row in results["throughput"]:
        c, r, s = row["core"], row["reference"] or {}, row["core_same_weeks"] or {}
        lines.append(
            f"{c['migrants']:>10,} {c['weeks']:>4}/{_fmt(r.get('weeks'), 'd'):<4} "
            f"{rate(c):>6.2f} ({rate(c, 'migrant_weeks_per_s'):>6.2f}) "
            f"{_fmt(rate(r), '.4f', 'not run'):>7} "
            f"({_fmt(rate(r, 'migrant_weeks_per_s'), '.4f'):>6}) "
            f"{_fmt(rate(s), '.2f'):>6} ({_fmt(rate(s, 'migrant_weeks_per_s'), '.2f'):>5}) "
            f"{_fmt(row['ratio_cpu'], '.0f'):>4}x ({_fmt(row['ratio_wall'], '.0f')}x) "
            f"{c['peak_rss_mib']:>6.0f}/{_fmt(r.get('peak_rss_mib'), '.0f'):<6} "
            f"{c['bytes_per_migrant_rss']:>6.0f}/{_fmt(r.get('bytes_per_migrant_rss'), '.0f')}")
    m = results.get("million")
    if m:
        lines.append(f"\nmillion.py scenario, {m['migrants']:,} migrants, "
                     f"weeks 2-{m['weeks'] + 1}: "
                     f"{m['cpu_s']:.1f} s CPU ({m['stepping_s']:.1f} s wall), "
                     f"{rate(m):.1f} M migrant-weeks/CPU-s "
                     f"({rate(m, 'migrant_weeks_per_s'):.1f} wall), "
                     f"peak RSS {m['peak_rss_mib']:.0f} MiB")
    su = results["startup"]
    lines.append(f"\nreception run --weeks 1, default scenario: cold {su['cold_s']:.2f} s "
                 f"({su['cold_cpu_s']:.2f} CPU), warm {min(su['warm_s']):.2f} s "
                 f"({min(su['warm_cpu_s']):.2f} CPU); warm phases (s): "
                 + ", ".join(f"{k} {w:.2f} ({c:.2f} CPU)"
                             for k, (w, c) in su["warm_phases_s"].items()))
    lines.append(f"state bytes per migrant (sim.state.bytes_per_migrant): "
                 f"{results['state_bytes_per_migrant']}")
    lines.append("\nScaling: CPU s per week ~ size^b (least squares on logs)")
    for name, sc in results["scaling"].items():
        lines.append(f"  {name:19} sizes {sc['sizes']}")
        lines.append(f"  {'':19} CPU s/week " + ", ".join(f"{t:.4f}" for t in sc["cpu_s_per_week"])
                     + f"   b = {sc['exponent_b']:.2f}, linear {sc['linear_intercept_s']:.4f} s"
                       f" + {sc['linear_slope_s_per_unit']:.3g} s/unit")
    lines.append("\nCore CPU time per process (share of the timed weeks)")
    for row in results["throughput"]:
        c = row["core"]
        total = sum(c["process_s"].values())
        lines.append(f"  {c['migrants']:>9,}: " + ", ".join(
            f"{k} {100 * v / total:.0f}%" for k, v in c["process_s"].items() if v / total > 0.005))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, a few minutes")
    ap.add_argument("--out", type=Path, default=HERE / "results.json")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--million", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        if args.worker[0] == "startup":
            print(json.dumps(worker_startup(args.worker[1])))
        else:
            kind, n, weeks, munis, agencies = args.worker
            print(json.dumps(worker_model(kind, int(n), int(weeks), int(munis), int(agencies),
                                          args.million)))
        return
    cfg = QUICK if args.quick else FULL
    from sim.state import bytes_per_migrant

    t0 = time.perf_counter()
    results = {"mode": "quick" if args.quick else "full", "machine": machine(),
               "state_bytes_per_migrant": bytes_per_migrant()}
    print("Start-up", flush=True)
    results["startup"] = startup(cfg["warm_repeats"])
    print("Throughput", flush=True)
    results["throughput"] = throughput(cfg)
    if cfg["million_weeks"]:
        print("million.py scenario", flush=True)
        results["million"] = model_run("core", 1_000_000, cfg["million_weeks"] - 1, million=True)
    print("Scaling", flush=True)
    results["scaling"] = scaling(cfg)
    results["total_benchmark_s"] = time.perf_counter() - t0
    print(table(results))
    # Figures other benchmarks saved in the same file (one_to_one.py's) are kept.
    kept = json.loads(args.out.read_text()) if args.out.exists() else {}
    args.out.write_text(json.dumps({**kept, **results}, indent=1))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
