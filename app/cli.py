"""``reception app [SCENARIO] [--port P] [--host 127.0.0.1]``: serve the classroom app.

Registered in ``sim/cli.py`` with ``add_parser(sub)``; also runs alone as
``python -m app.cli``. The server listens on the loopback address unless ``--host``
says otherwise, so the app is reachable only from this computer by default.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

from app import SCENARIO_ENV

PAGE = Path(__file__).resolve().parent / "page.py"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``app`` subcommand to an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "app", help="serve the interactive classroom and planner app in a browser",
        description="Serve the classroom and planner app (Mesa + Solara) and print its "
                    "address. Open the address in a browser; Ctrl+C stops the server.")
    p.add_argument("scenario", nargs="?", default=None,
                   help="preset to start with: a bundled scenario name (e.g. classroom) or a "
                        "scenario TOML file (default: classroom)")
    p.add_argument("--port", type=_port, default=DEFAULT_PORT,
                   help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free port)")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help=f"address to listen on (default {DEFAULT_HOST}: this computer only; "
                        "0.0.0.0 opens it to the network)")
    p.add_argument("--dev", action="store_true",
                   help="development mode: reload the page when app/ files change")
    p.set_defaults(handler=run_app)
    return p


def _port(text: str) -> int:
    """A TCP port number, 0 to 65535 (0: any free port)."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a port number from 0 to 65535 "
                                         "(0 picks a free port)")
    return port


def free_port(host: str = DEFAULT_HOST) -> int:
    """A port nobody listens on now (the OS picks it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def resolve_scenario(scenario: str | None) -> str | None:
    """A bundled name or an existing TOML path, checked; raises ``ScenarioError``."""
    from app.model import PRESETS, preset_path
    from sim.scenario import ScenarioError, load_scenario

    if scenario is None:
        return None
    path = Path(scenario)
    if scenario in PRESETS:
        path = preset_path(scenario)
    elif not path.is_file():
        raise ScenarioError(path, [f"no such scenario file or bundled scenario (bundled: "
                                   f"{', '.join(PRESETS)})"])
    load_scenario(path)  # a bad file is reported like `reception run` reports it
    return scenario if scenario in PRESETS else str(path.resolve())


def server_command(host: str, port: int, dev: bool = False) -> list[str]:
    cmd = [sys.executable, "-m", "solara", "run", str(PAGE), "--host", host, "--port",
           str(port), "--no-open"]
    if not dev:
        cmd.append("--production")
    return cmd


def server_env(scenario: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"  # no calls home from a classroom
    env.pop("HOST", None)  # solara would read it; the command line says where to listen
    env.pop("SOLARA_HOST", None)
    if scenario is not None:
        env[SCENARIO_ENV] = scenario
    else:
        env.pop(SCENARIO_ENV, None)
    return env


def run_app(args: argparse.Namespace) -> int:
    """Serve the app: ``solara run app/page.py`` takes over this process (Ctrl+C stops it).

    On POSIX the server replaces this process (``exec``), so stopping this process stops
    the server and none is left behind; elsewhere it runs as a child that is waited for.
    """
    scenario = resolve_scenario(args.scenario)
    try:
        from app import assets

        gone = assets.missing()
    except ImportError as e:
        print(f"error: the app needs Solara ({e}); install it with: "
              "python3 -m pip install 'mesa[viz]'", file=sys.stderr)
        return 2
    if gone:
        print("Fetching Solara's browser files from the npm registry (once) ...", flush=True)
        try:
            assets.ensure(log=lambda msg: print(f"  {msg}", flush=True))
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            print(f"warning: {e}; the page will try Solara's public CDN instead",
                  file=sys.stderr)
    port = free_port(args.host) if args.port == 0 else args.port
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"Serving the reception app at http://{shown}:{port}/ (Ctrl+C stops it)", flush=True)
    if args.host not in LOOPBACK:
        print(f"warning: listening on {args.host}: other computers on the network can open "
              "the app", file=sys.stderr, flush=True)
    cmd, env = server_command(args.host, port, args.dev), server_env(scenario)
    if os.name == "posix":
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, cmd, env)  # does not return
    with subprocess.Popen(cmd, env=env) as server:
        try:
            return server.wait()
        except KeyboardInterrupt:
            server.terminate()
            server.wait()
            return 0


def main(argv: list[str] | None = None) -> int:
    from sim.scenario import ScenarioError

    sub = argparse.ArgumentParser().add_subparsers()
    parser = add_parser(sub)
    parser.prog = "python -m app.cli"
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ScenarioError as e:
        for problem in e.problems:
            print(f"error: {e.path}: {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
