"""The ``sweep`` subcommand: ``reception sweep EXP.toml [--scheduler S] [--workers N] [--out DIR]``.

``add_parser(subparsers)`` adds it to an argparse parser (``sim.cli`` calls it); the handler
returns the exit status: 0 every run done, 1 some run failed, 2 a user error (one line per
problem on stderr, nothing run), 130 interrupted.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from sim.scenario import ScenarioError

EXIT_USAGE = 2


SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
HOST_PORT = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:(?P<port>[0-9]{1,5}))?$")


def _scheduler(text: str) -> str:
    """``local``, ``sync`` or a dask address ``SCHEME://HOST[:PORT]``, checked here."""
    text = text.strip()
    if text in ("local", "sync"):
        return text
    scheme, sep, rest = text.partition("://")
    m = HOST_PORT.match(rest) if sep and scheme in SCHEMES else None
    if m and (m["port"] is None or int(m["port"]) <= 65535):
        return text
    raise argparse.ArgumentTypeError(
        f"{text!r}: expected local, sync or a scheduler address SCHEME://HOST:PORT "
        f"(scheme {', '.join(SCHEMES)}; port 0 to 65535), such as tcp://10.0.0.5:8786")


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number of at least 1")
    return n


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``sweep`` subcommand to ``subparsers``; its handler returns an exit status."""
    p = subparsers.add_parser(
        "sweep", help="run an experiment: a parameter sweep, sensitivity design or scenario "
                      "comparison, with replicates (docs/sweeps.md)",
        description="Run every design point of an experiment file with its replicates and "
                    "write a Parquet dataset. Running the same command again finishes only "
                    "what is missing. Exit status: 0 all runs done, 1 some run failed, 2 a "
                    "bad experiment or option.")
    p.add_argument("experiment", type=Path, help="experiment TOML file (experiments/*.toml)")
    p.add_argument("--scheduler", type=_scheduler, default="local",
                   metavar="local|sync|tcp://HOST:PORT",
                   help="local: a LocalCluster of worker processes on this machine (default); "
                        "sync: one run after another in this process; an address: an "
                        "existing dask scheduler and its workers")
    p.add_argument("--workers", type=_positive, default=None, metavar="N",
                   help="local: worker processes (default: one per CPU); an address: wait "
                        "until N workers are connected (default 1)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default: results/sweep-<experiment name>)")
    p.add_argument("--cluster", type=Path, default=None, metavar="FILE",
                   help="an HPC cluster through dask-jobqueue, described in a TOML file "
                        "(kind = slurm|pbs|..., jobs, [options]; docs/sweeps.md); with "
                        "--dry-run, print the job script it would submit")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--allow-path", dest="allow_paths", action="append", default=[], type=Path,
                   metavar="DIR", help="let the experiment and its scenarios read files in DIR "
                   "too; by default only their own folders and the bundled library "
                   "(repeatable; also RECEPTION_ALLOW_PATHS)")
    p.add_argument("--dry-run", action="store_true",
                   help="check the experiment and list its design points; run nothing")
    p.set_defaults(handler=handle)
    return p


def handle(args: argparse.Namespace) -> int:
    """Run the sweep the arguments describe; user errors print and return 2."""
    from experiments.sweep import sweep
    from sim import access

    access.allow(getattr(args, "allow_paths", None) or [])
    try:
        if args.cluster is not None and args.dry_run:
            from experiments.jobqueue import job_script

            print(f"job script from {args.cluster} (one job; nothing submitted):")
            print(job_script(args.cluster))
        result = sweep(args.experiment, scheduler=args.scheduler, workers=args.workers,
                       out=args.out, progress=not args.no_progress and sys.stderr.isatty(),
                       dry_run=args.dry_run, cluster=args.cluster)
    except ScenarioError as e:  # ExperimentError is one
        for problem in e.problems:
            print(f"error: {e.path}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    return result.exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments",
                                     description="Experiments on the reception model.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(argv)
    return args.handler(args)
