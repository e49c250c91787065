"""The ``report``, ``plan`` and ``discover`` subcommands.

``add_parser(subparsers)`` adds them to an argparse parser (``sim.cli`` calls it); each handler
returns the exit status: 0 done, 2 a user error (one line on stderr, no traceback); ``plan``
returns 1 when no level in the range meets the target.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_NOT_MET, EXIT_USAGE = 0, 1, 2


def _error(msg: str) -> int:
    print(f"error: {' '.join(str(msg).split())}", file=sys.stderr)
    return EXIT_USAGE


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``report`` and ``plan`` to ``subparsers``."""
    rp = subparsers.add_parser(
        "report", help="write an HTML (or Markdown) report of a sweep's results "
                       "(docs/analysis.md)",
        description="Tables and figures of a sweep folder (reception sweep --out DIR): "
                    "headline outcomes with 95% intervals and differences from a baseline, "
                    "per-city tables, time series, cost-effectiveness frontier, dose-response "
                    "and sensitivity, with the experiment's provenance.")
    rp.add_argument("results", type=Path, help="sweep output folder")
    rp.add_argument("--out", type=Path, default=None,
                    help="report file (default: RESULTS/report.html or report.md)")
    rp.add_argument("--format", choices=("html", "md"), default=None,
                    help="html: one self-contained file (default; or from --out's suffix); "
                         "md: Markdown with PNG and SVG figures in <name>_figures/ next to it")
    rp.add_argument("--baseline", default=None, metavar="NAME",
                    help="design point the others are compared with: a label, scenario name "
                         "or point index (default: the first point)")
    rp.add_argument("--outcomes", default=None, metavar="A,B,...",
                    help="outcomes of the comparison tables (default: every headline outcome)")
    rp.add_argument("--target", default=None, metavar="EXPR",
                    help='mark the level meeting a target on dose-response curves, e.g. '
                         '"mean_wait_language<8"')
    rp.add_argument("--probability", type=float, default=0.8,
                    help="share of replicates that must meet --target (default 0.8)")
    rp.add_argument("--svg", action="store_true",
                    help="embed figures as inline SVG instead of PNG (HTML)")
    rp.add_argument("--overwrite", action="store_true", help="replace an existing report")
    rp.set_defaults(handler=handle_report)

    pp = subparsers.add_parser(
        "plan", help="find the cheapest levers that meet targets with a given probability, "
                     "running the model as needed (docs/analysis.md, docs/planning.md)",
        description="One lever (--lever PATH --range LOW:HIGH, one --target): the smallest "
                    "level at which the share of replicates meeting the target reaches "
                    "--probability, by a coarse grid then bisection. Several levers "
                    "(--lever PATH=LOW:HIGH[:STEP] or a switch PATH, repeated), several "
                    "--target and a --cost: the cheapest lever mix meeting every target, by "
                    "optuna then a local search, confirmed on fresh seeds, with the Pareto "
                    "front. Every candidate runs with the same replicate seeds. Exit status: "
                    "0 answered, 1 nothing in the ranges meets the targets, 2 a bad question.")
    pp.add_argument("--scenario", type=Path, required=True, help="scenario TOML file")
    pp.add_argument("--target", required=True, action="append", metavar="EXPR",
                    help='OUTCOME OP VALUE, e.g. "mean_wait_language<8" or '
                         '"max(unsheltered)<=100" (outcomes: docs/analysis.md); repeat for '
                         "several targets")
    pp.add_argument("--lever", required=True, action="append", metavar="PATH[=LOW:HIGH[:STEP]]",
                    help="a parameter path, e.g. funding.grant_factor.federal (with --range), "
                         "or PATH=LOW:HIGH[:STEP] / a true-false switch PATH, repeated, for "
                         "the many-lever planner")
    pp.add_argument("--range", dest="range_", default=None, metavar="LOW:HIGH",
                    help="one lever: levels to search, e.g. 0.5:4 (a negative LOW: "
                         "--range=-1:4)")
    pp.add_argument("--cost", default=None, metavar="A+B",
                    help="many levers: the cost to minimise, a run-level outcome or a sum "
                         "(default spend_total; by payer: spend_federal, spend_municipal, ...)")
    pp.add_argument("--trials", type=int, default=40,
                    help="many levers: candidates optuna proposes (default 40; the local "
                         "search adds a few)")
    pp.add_argument("--confirm", type=int, default=50, metavar="N",
                    help="many levers: fresh seeds the plan is re-run on (default 50)")
    pp.add_argument("--recheck", type=int, default=0, metavar="N",
                    help="many levers: re-run the plan on N more fresh seeds and say whether "
                         "each share lies in the confirmation's stated interval (default 0)")
    pp.add_argument("--city", default=None,
                    help="the target applies to this municipality's outcomes (default: the "
                         "system totals)")
    pp.add_argument("--probability", type=float, default=0.8,
                    help="share of replicates that must meet the target (default 0.8)")
    pp.add_argument("--replicates", type=int, default=10,
                    help="replicates per level, the same seeds at every level (default 10)")
    pp.add_argument("--seed", type=int, default=None,
                    help="first replicate seed (default: the scenario's run.seed)")
    pp.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                    help="override a scenario parameter (repeatable)")
    pp.add_argument("--weeks", type=int, default=None, help="shorthand for --set run.weeks=N")
    pp.add_argument("--grid", type=int, default=5, help="levels of the coarse grid (default 5)")
    pp.add_argument("--tol", type=float, default=None,
                    help="bisection stops when the bracket is this narrow (default: 1%% of "
                         "the range; whole-number levers: 1)")
    pp.add_argument("--conservative", action="store_true",
                    help="a level meets the target only if the lower end of the 95%% Wilson "
                         "interval of the share reaches --probability")
    pp.add_argument("--jobs", type=int, default=None,
                    help="worker processes (default: one per replicate, at most the CPUs)")
    pp.add_argument("--plot", type=Path, default=None, metavar="FILE",
                    help="write the figure (FILE.png and FILE.svg): the dose-response curve "
                         "(one lever) or cost against each target with the Pareto front")
    pp.add_argument("--csv", type=Path, default=None, metavar="FILE",
                    help="write every run (one lever) or every candidate (many levers) as CSV")
    pp.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    pp.set_defaults(handler=handle_plan)
    _add_discover(subparsers)
    _add_robust(subparsers)


def _add_robust(subparsers: argparse._SubParsersAction) -> None:
    rb = subparsers.add_parser(
        "robust", help="how plans fare across the futures of an uncertainty sweep: "
                       "satisficing share, regret, paired comparison (docs/planning.md)",
        description="Runs the status quo and every --plan in every future of an uncertainty "
                    "sweep (each run's inputs and seed), and reports the share of futures in "
                    "which each meets every target (95%% Wilson interval), regret against the "
                    "best plan in each future, and paired differences between plans.")
    rb.add_argument("results", type=Path, help="the uncertainty sweep's output folder")
    rb.add_argument("--plan", action="append", required=True, metavar="[NAME:] PATH=V,...",
                    help='lever values, e.g. "more money: funding.grant_factor.federal=2, '
                         'municipalities.Millbrook.shelter_beds=200" (repeatable)')
    rb.add_argument("--target", action="append", required=True, metavar="EXPR",
                    help='OUTCOME OP VALUE, e.g. "unsheltered_person_weeks<3000" (repeatable)')
    rb.add_argument("--cost", default="spend_total", metavar="A+B",
                    help="cost outcome or sum (default spend_total)")
    rb.add_argument("--futures", type=int, default=None, metavar="N",
                    help="use the first N runs of the sweep (default: all)")
    rb.add_argument("--jobs", type=int, default=None, help="worker processes (default: CPUs)")
    rb.add_argument("--csv", type=Path, default=None, metavar="FILE",
                    help="write every plan's outcomes per future as CSV")
    rb.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    rb.set_defaults(handler=handle_robust)


def handle_robust(args: argparse.Namespace) -> int:
    from analysis.load import ResultsError
    from analysis.robust import report, robustness
    from analysis.targets import PlanError

    log = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    try:
        res = robustness(args.results, args.plan, args.target, cost=args.cost,
                         futures=args.futures, jobs=args.jobs, log=log)
    except (PlanError, ResultsError) as e:
        return _error(str(e))
    print(report(res))
    if args.csv is not None:
        import pandas as pd

        frame = pd.concat([res.futures.join(o).assign(plan=name)
                           for name, o in res.outcomes.items()], ignore_index=True)
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return EXIT_OK


def _add_discover(subparsers: argparse._SubParsersAction) -> None:
    dp = subparsers.add_parser(
        "discover", help="scenario discovery: the ranges of a sweep's inputs in which an "
                         "outcome crosses a threshold (PRIM and CART; docs/planning.md)",
        description="Reads a sweep over uncertain inputs (Latin hypercube or Sobol) and finds "
                    "boxes of input ranges where the outcome expression holds in many runs: "
                    "PRIM (with its peeling trajectory) and CART, via ema_workbench. Writes the "
                    "boxes, the trajectory, a coverage-density figure, and per box a scenario "
                    "at its centre and an experiment file sampling inside it.")
    dp.add_argument("results", type=Path, help="sweep output folder")
    dp.add_argument("--outcome", required=True, metavar="EXPR",
                    help='the runs of interest, OUTCOME OP VALUE, e.g. '
                         '"unsheltered_person_weeks>20000"')
    dp.add_argument("--inputs", default=None, metavar="A,B,...",
                    help="inputs to search over (default: every factor of the sweep)")
    dp.add_argument("--threshold", type=float, default=None, metavar="D",
                    help="report boxes of at least this density (default: twice the base "
                         "rate, or halfway to 1 when that is out of reach)")
    dp.add_argument("--min-coverage", type=float, default=0.5, metavar="C",
                    help="PRIM: choose the densest box on the trajectory that covers at least "
                         "this share of the cases (default 0.5)")
    dp.add_argument("--boxes", type=int, default=3, help="PRIM: at most this many boxes "
                                                         "(default 3)")
    dp.add_argument("--peel-alpha", type=float, default=0.05,
                    help="PRIM: share peeled off at each step (default 0.05)")
    dp.add_argument("--mass-min", type=float, default=0.05,
                    help="PRIM and CART: smallest share of runs in a box (default 0.05)")
    dp.add_argument("--max-qp", type=float, default=0.05,
                    help="PRIM: drop restrictions whose quasi-p-value is at least this "
                         "(default 0.05; 1 keeps every restriction)")
    dp.add_argument("--out", type=Path, default=None, metavar="DIR",
                    help="write discover.txt, boxes.csv, trajectory.csv, tradeoff.png/.svg "
                         "and the box files here (default: RESULTS/discover)")
    dp.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    dp.set_defaults(handler=handle_discover)


def handle_report(args: argparse.Namespace) -> int:
    from analysis.load import ResultsError
    from analysis.report import write_report
    from analysis.targets import PlanError

    fmt = args.format or ("md" if args.out is not None and args.out.suffix.lower() in
                          (".md", ".markdown") else "html")
    out = args.out or args.results / f"report.{fmt}"
    if out.exists() and not args.overwrite:
        return _error(f"{out} exists; choose another --out or pass --overwrite")
    if not 0 < args.probability <= 1:
        return _error(f"--probability {args.probability:g}: expected a share in (0, 1]")
    outcomes = None
    try:
        from analysis.load import open_results

        if args.target:
            from analysis.targets import parse_target

            parse_target(args.target)
        res = open_results(args.results)
        if args.outcomes:
            outcomes = [o.strip() for o in args.outcomes.split(",") if o.strip()]
            missing = [o for o in outcomes if o not in res.runs.columns]
            if missing:
                return _error(f"--outcomes: not in the results: {', '.join(missing)} "
                              "(outcomes: docs/analysis.md)")
        path, rep = write_report(res, out, fmt=fmt, baseline=args.baseline,
                                 outcomes=outcomes, target=args.target,
                                 probability=args.probability, svg=args.svg)
    except (ResultsError, PlanError, ValueError) as e:
        return _error(str(e))
    print(f"wrote {path} ({rep.tables} tables, {rep.figures} figures)")
    return EXIT_OK


def _many(args: argparse.Namespace) -> bool:
    """The many-lever form: several levers or targets, a PATH=RANGE lever or a --cost."""
    return (len(args.lever) > 1 or len(args.target) > 1 or args.cost is not None
            or any("=" in lv for lv in args.lever) or args.range_ is None)


def _save_figure(fig, stem: Path) -> None:  # noqa: ANN001 - a matplotlib Figure
    from analysis.plots import save

    paths = save(fig, stem.with_suffix("") if stem.suffix in (".png", ".svg") else stem)
    print(f"wrote {', '.join(str(p) for p in paths)}")


def handle_plan(args: argparse.Namespace) -> int:
    from analysis.targets import PlanError

    sets = list(args.sets)
    if args.weeks is not None:
        sets.append(f"run.weeks={args.weeks}")
    log = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    if not _many(args):
        if args.recheck:
            return _error("--recheck belongs to the many-lever form (--lever PATH=LOW:HIGH)")
        return _plan_one(args, sets, log)
    from analysis.plan_many import figure, plan_many, report

    if args.range_ is not None:
        return _error("--range belongs to the one-lever form; with several levers give each "
                      "its range as --lever PATH=LOW:HIGH[:STEP]")
    if args.conservative or args.grid != 5 or args.tol is not None:
        return _error("--grid, --tol and --conservative belong to the one-lever form "
                      "(--lever PATH --range LOW:HIGH)")
    try:
        res = plan_many(args.scenario, args.lever, args.target, cost=args.cost or "spend_total",
                        probability=args.probability, replicates=args.replicates,
                        city=args.city, sets=sets, seed=args.seed, trials=args.trials,
                        confirm_seeds=args.confirm, recheck_seeds=args.recheck,
                        jobs=args.jobs, log=log)
    except PlanError as e:
        return _error(str(e))
    print(report(res))
    if args.plot is not None:
        _save_figure(figure(res), args.plot)
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        res.search.table().to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return EXIT_OK if res.plan is not None else EXIT_NOT_MET


def _plan_one(args: argparse.Namespace, sets: list[str], log) -> int:  # noqa: ANN001
    from analysis.plan import figure, plan, report
    from analysis.targets import PlanError, parse_range

    try:
        lo, hi = parse_range(args.range_)
        res = plan(args.scenario, args.lever[0], args.target[0], lo, hi,
                   probability=args.probability, replicates=args.replicates, city=args.city,
                   sets=sets, seed=args.seed, grid=args.grid, tol=args.tol, jobs=args.jobs,
                   conservative=args.conservative, log=log)
    except PlanError as e:
        return _error(str(e))
    print(report(res))
    if args.plot is not None:
        _save_figure(figure(res), args.plot)
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        res.runs.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return EXIT_OK if res.answer is not None else EXIT_NOT_MET


def _share(name: str, value: float, low_open: bool = False) -> str | None:
    ok = (0 < value <= 1) if low_open else (0 <= value <= 1)
    return None if ok else f"{name} {value:g}: expected a share in {'(0' if low_open else '[0'}, 1]"


def handle_discover(args: argparse.Namespace) -> int:
    from analysis.boxfiles import write_box_files
    from analysis.discover import boxes_table, cases, discover, report, tradeoff_figure
    from analysis.load import ResultsError, open_results
    from analysis.plots import save
    from analysis.targets import PlanError, parse_target

    out = args.out or args.results / "discover"
    if out.exists() and not args.overwrite:
        return _error(f"{out} exists; choose another --out or pass --overwrite")
    for problem in (_share("--min-coverage", args.min_coverage, True),
                    _share("--peel-alpha", args.peel_alpha, True),
                    _share("--mass-min", args.mass_min, True),
                    _share("--max-qp", args.max_qp, True),
                    None if args.threshold is None else _share("--threshold", args.threshold),
                    None if args.boxes >= 1 else f"--boxes {args.boxes}: expected at least 1"):
        if problem:
            return _error(problem)
    try:
        target = parse_target(args.outcome, option="--outcome")
        res = open_results(args.results)
        runs = res.runs
        inputs = res.factors
        if args.inputs:
            inputs = [f.strip() for f in args.inputs.split(",") if f.strip()]
            missing = [f for f in inputs if f not in res.factors]
            if missing:
                return _error(f"--inputs: not factors of the sweep: {', '.join(missing)} "
                              f"(factors: {', '.join(res.factors)})")
        if not inputs:
            return _error(f"{args.results}: the sweep has no factors to search over (a "
                          "comparison of scenarios?); scenario discovery needs a sweep over "
                          "inputs (latin_hypercube or sobol)")
        found = discover(runs[inputs], cases(runs, target), target, threshold=args.threshold,
                         min_coverage=args.min_coverage, mass_min=args.mass_min,
                         peel_alpha=args.peel_alpha, max_boxes=args.boxes,
                         max_qp=args.max_qp)
        text = report(found, where=f" in {args.results}")
        out.mkdir(parents=True, exist_ok=True)
        written = write_box_files(found, args.results, res.manifest, out)
    except (ResultsError, PlanError) as e:
        return _error(str(e))
    print(text)
    (out / "discover.txt").write_text(text + "\n")
    boxes_table(found).to_csv(out / "boxes.csv", index=False)
    if found.first_trajectory is not None:
        found.first_trajectory.to_csv(out / "trajectory.csv", index_label="step")
    figs = save(tradeoff_figure(found), out / "tradeoff")
    names = ["discover.txt", "boxes.csv", "trajectory.csv", *(p.name for p in figs),
             *(p.name for p in written)]
    print(f"wrote {out}/: {', '.join(names)}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis report|plan ...`` without the ``reception`` CLI."""
    parser = argparse.ArgumentParser(prog="python -m analysis",
                                     description="Reports and planning on the reception model.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(argv)
    return args.handler(args)
