"""The ``reception`` command line.

User errors (bad scenario files, an output folder that exists) print one line per
problem to stderr and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd

from sim.scenario import DEFAULT_SCENARIO, ScenarioError, load_scenario

EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="reception",
                                description="Agent-based simulation of migrant reception.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario and write its results")
    run.add_argument("scenario", nargs="?", type=Path, default=DEFAULT_SCENARIO,
                     help=f"scenario TOML file (default: {DEFAULT_SCENARIO.name})")
    run.add_argument("--out", type=Path, default=None,
                     help="output folder (default: results/<scenario>-seed<seed>-<time>)")
    run.add_argument("--seed", type=int, default=None, help="override run.seed")
    run.add_argument("--weeks", type=int, default=None, help="override run.weeks")
    run.add_argument("--overwrite", action="store_true",
                     help="replace an existing output folder")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except ScenarioError as e:
        for problem in e.problems:
            print(f"error: {e.path}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except FileExistsError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


def _run(args: argparse.Namespace) -> int:
    from sim.runner import simulate, write

    scenario = load_scenario(args.scenario)
    if args.seed is not None or args.weeks is not None:
        overrides = {"seed": args.seed, "weeks": args.weeks}
        data = scenario.model_dump()
        data["run"].update({k: v for k, v in overrides.items() if v is not None})
        from sim.scenario import validate

        scenario = validate(data, args.scenario)
    out = args.out or Path("results") / (
        f"{args.scenario.stem}-seed{scenario.run.seed}-{datetime.now():%Y%m%d-%H%M%S}")
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        raise FileExistsError(f"{out} already holds results; choose another --out or pass "
                              "--overwrite")
    result = simulate(scenario, progress=scenario.run.progress and not args.no_progress)
    write(result, out, overwrite=args.overwrite)
    _print_summary(result)
    print(f"\nwrote {out}/ ({result.record['agents']} agents, "
          f"{result.record['wall_time_s']:.1f} s)")
    return 0


def _print_summary(result) -> None:
    muni = result.municipalities
    last = muni[muni["week"] == muni["week"].max()].set_index("municipality")
    table = pd.DataFrame({
        "newcomers": last["newcomers"],
        "shelter": last["shelter_occupancy"],
        "beds": last["shelter_beds"],
        "unsheltered": last["unsheltered"],
        "waiting_language": last["waiting_language"],
        "employed_%": 100 * last["employment_rate"],
        "index": last["integration_index"],
        "retention_%": 100 * last["retention"],
    })
    week = int(muni["week"].max())
    print(f"Week {week} ({last['date'].iloc[0]}), people (scaled):")
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
