"""Time one step of the app: ``python -m app.bench [PRESET] [--weeks N] [--browser]``.

Reports, per week: the model's own step (main model and compare twin); Step + re-render
of every view, with the whole page rendered by ``solara.render`` as the server does
(minus the network and the browser); and with ``--browser``, a click on Step in Chromium
until the new caption shows, against a server started as ``reception app`` starts it.
docs/app.md quotes these figures.
"""

from __future__ import annotations

import argparse
import statistics
import time


def _summary(name: str, seconds: list[float]) -> str:
    ms = sorted(1000 * s for s in seconds)
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    return (f"{name:34} median {statistics.median(ms):6.1f} ms   mean {statistics.mean(ms):6.1f}"
            f" ms   p90 {p90:6.1f} ms")


def model_steps(preset: str, weeks: int) -> list[float]:
    """Seconds per week of AppModel.step (main and compare twin, as the page runs them)."""
    from app.compare import DEFAULT_COMPARE, Twin
    from app.model import AppModel

    model = AppModel(preset=preset)
    twin = Twin(model, DEFAULT_COMPARE)
    out = []
    for _ in range(weeks):
        t = time.perf_counter()
        model.step()
        twin.sync(model)
        out.append(time.perf_counter() - t)
    return out


def page_steps(preset: str, weeks: int) -> list[float]:
    """Seconds per Step click on the rendered page (step + every view re-rendered)."""
    import ipyvuetify
    import solara

    from app import page as app_page

    app_page.MODEL_PARAMS["preset"]["value"] = preset
    _, rc = solara.render(solara.AppLayout(children=[app_page.Page()]), handle_error=False)
    button = rc.find(ipyvuetify.Btn, children=["Step"]).widget
    out = []
    for _ in range(weeks):
        t = time.perf_counter()
        button.click()
        out.append(time.perf_counter() - t)
    return out


def browser_steps(preset: str, weeks: int) -> list[float]:
    """Seconds from a click on Step in Chromium until the page shows the new week."""
    import os
    import signal
    import subprocess
    import sys
    import urllib.request

    from playwright.sync_api import sync_playwright

    from app.cli import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "app.cli", preset, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"},
                              start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(200):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--no-first-run", "--disable-sync"])
            page = browser.new_page(viewport={"width": 1500, "height": 1200})
            page.goto(url)
            page.locator(".app-caption").wait_for(timeout=60_000)
            step = page.get_by_role("button", name="Step")
            out = []
            for week in range(1, weeks + 1):
                t = time.perf_counter()
                step.click()
                page.wait_for_function(
                    "w => document.querySelector('.app-caption').textContent"
                    ".startsWith('Week ' + w + ' ')", arg=week, timeout=30_000)
                out.append(time.perf_counter() - t)
            browser.close()
        return out
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.bench", description=__doc__.split("\n")[0])
    p.add_argument("preset", nargs="?", default="classroom")
    p.add_argument("--weeks", type=int, default=52)
    p.add_argument("--browser", action="store_true",
                   help="also time Step clicks in Chromium (/usr/bin/chromium, playwright)")
    args = p.parse_args(argv)
    model_steps(args.preset, 2)  # compile the numba kernels first
    print(f"{args.preset}, {args.weeks} weeks from week 0:")
    print(_summary("model step (main + twin)", model_steps(args.preset, args.weeks)))
    print(_summary("Step click + page re-render", page_steps(args.preset, args.weeks)))
    if args.browser:
        print(_summary("browser: click to new caption", browser_steps(args.preset, args.weeks)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
