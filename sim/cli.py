"""The ``reception`` command line.

User errors (bad scenario files, an output folder that exists) print one line per
problem to stderr and exit with status 2, never a traceback. Ctrl+C exits with 130 and
SIGTERM with 143, each after one line, leaving no temporary folder behind.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Iterator
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path

import pandas as pd

from sim import access
from sim.outdir import OutputError
from sim.resources import ResourceError
from sim.scenario import DEFAULT_SCENARIO, ScenarioError, load_scenario

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_TERMINATED = 143  # 128 + SIGTERM


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="reception",
                                description="Agent-based simulation of migrant reception.")
    sub = p.add_subparsers(dest="command", required=True)
    allow = argparse.ArgumentParser(add_help=False)
    allow.add_argument("--allow-path", dest="allow_paths", action="append", default=[],
                       type=Path, metavar="DIR",
                       help="let scenarios read files (extends, series) in DIR too; by "
                            "default only their own folder and the bundled library "
                            "(repeatable; also RECEPTION_ALLOW_PATHS)")
    sets = argparse.ArgumentParser(add_help=False, parents=[allow])
    sets.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                      help="override a parameter, e.g. municipalities.Toronto.shelter_beds=9000 "
                           "(repeatable)")

    run = sub.add_parser("run", parents=[sets], help="run a scenario and write its results")
    run.add_argument("scenario", nargs="?", type=Path, default=DEFAULT_SCENARIO,
                     help=f"scenario TOML file (default: {DEFAULT_SCENARIO.name})")
    run.add_argument("--out", type=Path, default=None,
                     help="output folder (default: results/<scenario>-seed<seed>-<time>)")
    run.add_argument("--seed", type=int, default=None, help="shorthand for --set run.seed=N")
    run.add_argument("--weeks", type=int, default=None, help="shorthand for --set run.weeks=N")
    run.add_argument("--overwrite", action="store_true",
                     help="replace an output folder an earlier run wrote (only such a folder: "
                          "docs/outputs.md)")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument("--threads", type=int, default=None, metavar="N",
                     help="threads for the row kernels (default: NUMBA_NUM_THREADS if set, "
                          "else every core); results are the same for any N")
    run.add_argument("--force", action="store_true",
                     help="run even if the estimated memory exceeds what the machine has "
                          "(docs/parameters.md, 'Limits on input files')")
    run.set_defaults(handler=_run)

    show = sub.add_parser("show", parents=[sets],
                          help="print the fully resolved scenario with where each value came from")
    show.add_argument("scenario", nargs="?", type=Path, default=DEFAULT_SCENARIO)
    show.set_defaults(handler=_show)

    val = sub.add_parser("validate", parents=[allow],
                         help="check scenario files without running them")
    val.add_argument("files", nargs="+", type=Path)
    val.set_defaults(handler=_validate)

    lst = sub.add_parser("scenarios", help="list the bundled scenarios and their questions")
    lst.set_defaults(handler=_scenarios)

    new = sub.add_parser(
        "new-city", help="write a one-city scenario from bundled public tables",
        description="Write a scenario for one Canadian city from the public tables bundled "
                    "with the model (data/README.md): population, rental market, shelter beds, "
                    "arrivals following the federal Immigration Levels Plan 2025-2027 and a "
                    "settlement agency. Every value is marked with its source or 'assumption, "
                    "please replace'.")
    new.add_argument("name", help="city, e.g. Moncton or Hamilton (an unknown name lists the "
                                  "known ones)")
    new.add_argument("--province", default=None,
                     help="province code or name, checked against the city's (e.g. NB)")
    new.add_argument("--out", type=Path, default=None,
                     help="scenario file to write (default: NAME.toml in the working folder)")
    new.add_argument("--start", type=int, default=2025, choices=(2025, 2026, 2027),
                     help="first year of the run, a year of the levels plan (default 2025)")
    new.add_argument("--force", action="store_true", help="replace an existing --out file")
    new.set_defaults(handler=_new_city)

    cal = sub.add_parser(
        "calibrate", parents=[sets],
        help="fit parameters to an observed monthly series (docs/validation.md)",
        description="Fit scenario parameters so that a monthly output (monthly.parquet) "
                    "matches an observed CSV (columns month as YYYY-MM, and value). Bounds come "
                    "from the schema's limits when it gives both; otherwise a factor range "
                    "around the current value (log scale), cut to a one-sided schema limit.")
    cal.add_argument("scenario", type=Path, help="scenario TOML file")
    cal.add_argument("--observed", type=Path, required=True, metavar="FILE.csv",
                     help="observed monthly series: columns month (YYYY-MM) and value")
    cal.add_argument("--fit", required=True, metavar="PARAM[,PARAM...]",
                     help="parameter paths to fit, as in --set, e.g. "
                          "streams.asylum_claimant.series.share,housing.search_rate")
    cal.add_argument("--column", default="refugees_actively_homeless",
                     help="modelled monthly column (default: refugees_actively_homeless)")
    cal.add_argument("--observed-column", default="value",
                     help="value column of the observed file (default: value)")
    cal.add_argument("--observed-month-column", default="month",
                     help="month column of the observed file (default: month)")
    cal.add_argument("--from", dest="start", default=None, metavar="YYYY-MM",
                     help="first month of the fit window (default: first month of the run)")
    cal.add_argument("--to", dest="end", default=None, metavar="YYYY-MM",
                     help="last month of the fit window (default: last whole month of the run)")
    cal.add_argument("--replicates", type=int, default=3,
                     help="replicate seeds run.seed, run.seed+1, ... averaged (default 3)")
    cal.add_argument("--seed", type=int, default=None,
                     help="first replicate seed (default: run.seed)")
    cal.add_argument("--bounds", action="append", default=[], metavar="PATH=LO:HI",
                     help="search bounds of one fitted parameter (repeatable)")
    cal.add_argument("--factor", type=float, default=10.0,
                     help="factor range [value/F, value*F] where the schema lacks a limit "
                          "(default 10)")
    cal.add_argument("--grid", type=int, default=None,
                     help="coarse-grid points per parameter (default 13, 7, 4 for 1, 2, 3 "
                          "parameters; 0: start from the current values)")
    cal.add_argument("--max-evals", type=int, default=None,
                     help="Nelder-Mead evaluations after the grid (default 40 per parameter)")
    cal.add_argument("--jobs", type=int, default=None,
                     help="worker processes for the runs (default: one per replicate, at most "
                          "the number of CPUs)")
    cal.add_argument("--no-range", action="store_true",
                     help="skip the per-seed refits that give each value's range")
    cal.add_argument("--profile", action="store_true",
                     help="also report profile ranges (each parameter stepped out from the fit "
                          "with the others re-fitted; slower)")
    cal.add_argument("--write", type=Path, default=None, metavar="FITTED.toml",
                     help="write a scenario that extends SCENARIO with the fitted values")
    cal.add_argument("--overwrite", action="store_true", help="replace an existing --write file")
    cal.set_defaults(handler=_calibrate)

    # The packages built on the model (sweeps, analysis, the app) add their own commands
    # through the "reception.commands" entry points, so sim never imports them.
    for ep in sorted(entry_points(group="reception.commands"), key=lambda e: e.name):
        ep.load()(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    access.allow(getattr(args, "allow_paths", None) or [])
    try:
        return args.handler(args)
    except ScenarioError as e:
        for problem in e.problems:
            print(f"error: {e.path}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except (FileExistsError, OutputError, ResourceError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted (Ctrl+C)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("terminated (SIGTERM)", file=sys.stderr)
        return EXIT_TERMINATED
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


def _run(args: argparse.Namespace) -> int:
    from sim import threads
    from sim.outdir import prepare
    from sim.resources import force
    from sim.runner import simulate, write

    if args.threads is not None:
        threads.set_threads(args.threads)
    sets = list(args.sets)
    if args.seed is not None:
        sets.append(f"run.seed={args.seed}")
    if args.weeks is not None:
        sets.append(f"run.weeks={args.weeks}")
    scenario = load_scenario(args.scenario, sets)
    if args.force:
        force()
    else:
        _resources(scenario, args.scenario)
    out = args.out or Path("results") / (
        f"{args.scenario.stem}-seed{scenario.run.seed}-{datetime.now():%Y%m%d-%H%M%S}")
    with _signals_stop():  # from before the temporary folder exists: no window unguarded
        staging = prepare(out, args.overwrite)  # a bad --out fails here, before the run
        try:
            result = simulate(scenario, progress=scenario.run.progress and not args.no_progress,
                              check=_raise_if_signalled)
            write(result, out, staging=staging, check=_raise_if_signalled)
        finally:
            staging.discard()
    _print_summary(result)
    print(f"\nwrote {out}/ ({result.record['migrant_agents']:,} migrant agents of "
          f"{result.record['scenario']['run']['scale']:g} people each, "
          f"{result.record['wall_time_s']:.1f} s)")
    return 0


_SIGNALLED: list[int] = []  # SIGINT/SIGTERM received while running


class Terminated(BaseException):
    """SIGTERM arrived: unwind (removing temporary folders) and exit with 128 + 15."""


def _raise_if_signalled() -> None:
    """Raise, at a safe point, the stop a signal asked for."""
    if signal.SIGINT in _SIGNALLED:
        raise KeyboardInterrupt
    if _SIGNALLED:
        raise Terminated


@contextlib.contextmanager
def _signals_stop() -> Iterator[None]:
    """While running, SIGINT and SIGTERM only set a flag that the run checks each week.

    Raising from the handler itself is unsafe: a signal that lands in numba's object-cache
    ctypes callback had its exception swallowed (the run went on and exited 0) or crashed the
    process ("double free", seen in CI and here). ``_raise_if_signalled`` raises at the next
    week boundary, before the results are built and before they are moved into place.
    """
    def stop(signum: int, frame: object) -> None:
        _SIGNALLED.append(signum)

    try:
        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: leave the defaults
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _show(args: argparse.Namespace) -> int:
    from sim.scenario import resolve, validate_resolved
    from sim.show import to_toml

    resolved = resolve(args.scenario, args.sets)
    scenario = validate_resolved(resolved, args.scenario)
    print(f"# {args.scenario} resolved; '# from FILE:LINE' marks where a value was set")
    print(to_toml(scenario, resolved.origins), end="")
    return 0


def _validate(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        try:
            scenario = load_scenario(path)
            cost = _resources(scenario, path)
        except ScenarioError as e:
            failed += 1
            for problem in e.problems:
                print(f"error: {e.path}: {problem}", file=sys.stderr)
            continue
        munis = _count(len(scenario.municipalities), "municipality", "municipalities")
        print(f"ok: {path} ({munis}, {_count(len(scenario.agencies), 'agency', 'agencies')}, "
              f"{_count(scenario.run.weeks, 'week', 'weeks')}; {cost})")
    return EXIT_USAGE if failed else 0


def _resources(scenario, path: Path) -> str:
    """The run's estimated cost, or ``ScenarioError`` if it would not fit in memory."""
    from sim.resources import ResourceError, check

    try:
        return str(check(scenario))
    except ResourceError as e:
        raise ScenarioError(path, [str(e)]) from None


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _scenarios(args: argparse.Namespace) -> int:
    from sim.scenario import bundled_scenarios

    for path in bundled_scenarios():
        try:
            question = load_scenario(path).scenario.question.strip().splitlines()
        except ScenarioError:
            question = ["(does not validate: run reception validate on it)"]
        print(f"{path.stem:32} {question[0] if question else ''}")
    return 0


def _new_city(args: argparse.Namespace) -> int:
    from sim.newcity import new_city, slug, write_scenario
    from sim.newcity_tables import NewCityError

    try:
        text, summary = new_city(args.name, args.province, args.start)
    except NewCityError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    out = write_scenario(text, args.out or Path(f"{slug(summary['city'])}.toml"), args.force)
    print(f"wrote {out}: {summary['city']} ({summary['province']}), "
          f"{summary['arrivals']:,} arrivals a year from {summary['start']}; "
          f"{summary['assumed']} of {summary['values']} values are assumptions to replace "
          "(marked 'assumption, please replace')")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from sim.calibrate import CalibrationError, calibrate, parse_bounds, report, write_fitted

    progress = (lambda msg: print(msg, file=sys.stderr)) if sys.stderr.isatty() else None
    try:
        if args.write is not None and args.write.exists() and not args.overwrite:
            raise FileExistsError(f"{args.write} exists; choose another --write file or pass "
                                  "--overwrite")
        result = calibrate(
            args.scenario, args.observed, args.fit.split(","), column=args.column,
            observed_column=args.observed_column,
            observed_month_column=args.observed_month_column, start=args.start, end=args.end,
            replicates=args.replicates, sets=args.sets, bounds=parse_bounds(args.bounds),
            factor=args.factor, seed=args.seed, grid=args.grid, max_evals=args.max_evals,
            seed_range=not args.no_range, profile=args.profile, jobs=args.jobs, log=progress)
    except CalibrationError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    print(report(result))
    if args.write is not None:
        out = write_fitted(result, args.write, overwrite=args.overwrite)
        load_scenario(out)  # the written file must load
        print(f"\nwrote {out}")
    return 0


def _print_summary(result) -> None:
    muni = result.municipalities
    last = muni[muni["week"] == muni["week"].max()].set_index("municipality")
    table = pd.DataFrame({
        "newcomers": last["newcomers"],
        "shelter": last["shelter_occupancy"],
        "beds": last["shelter_beds"],
        "overflow": last["shelter_overflow"],
        "unsheltered": last["unsheltered"],
        "waiting_language": last["waiting_language"],
        "employed_%": 100 * last["employment_rate"],
        "index": last["integration_index"],
        "retention_%": 100 * last["retention"],
    })
    week = int(muni["week"].max())
    print(f"Week {week} ({last['date'].iloc[0]}), people (scaled); shelter = beds used plus "
          "overflow places:")
    formats = {c: (lambda v: f"{v:.3f}") if c == "index" else (lambda v: f"{v:,.0f}")
               for c in table.columns}
    print(table.to_string(formatters=formats))
    s = result.summary
    print(f"\nPeak shelter occupancy {s['peak_shelter_occupancy']:,.0f}; "
          f"unsheltered person-weeks {s['unsheltered_person_weeks']:,.0f}; "
          f"employment {100 * s['employment_rate_at_end']:.1f}%; "
          f"integration index {s['integration_index_at_end']:.3f}; "
          f"spending ${s['spend_total'] / 1e6:,.1f}M")


if __name__ == "__main__":
    sys.exit(main())
