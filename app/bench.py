"""Time one step of the app: ``python -m app.bench [PRESET] [--weeks N] [--browser]``.

Reports, per week: the model's own step (main model and compare twin); Step + re-render
of every view, with the whole page rendered by ``solara.render`` as the server does
(minus the network and the browser: the server-side part alone); and with ``--browser``,
against a server started as ``reception app`` starts it, in Chromium at 1366x768: a
Playwright click on Step until Playwright sees the new caption, and, timed inside the
page, a click until the new caption and until the compare chart is redrawn and painted
(Step-to-chart). ``--repeats`` measures several times and prints the load average each
time (the machine may be shared); ``--json FILE`` writes the figures. docs/app.md and
benchmarks/app_step.json quote them. A benchmark: no test asserts a time.
"""

from __future__ import annotations

import argparse
import statistics
import time


def _summary(name: str, seconds: list[float]) -> str:
    ms = sorted(1000 * s for s in seconds)
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    return (f"{name:38} median {statistics.median(ms):6.1f} ms   mean {statistics.mean(ms):6.1f}"
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
    try:
        for _ in range(weeks):
            t = time.perf_counter()
            button.click()
            out.append(time.perf_counter() - t)
    finally:
        rc.close()  # a page left open would re-render on the next run's steps too
    return out


# In the page: click Step, then wait until the caption shows week ``w`` and the compare
# chart's line A has ``w`` points, then two animation frames (the chart is painted).
# Resolves to [ms to the new caption, ms to the painted chart].
STEP_TO_CHART_JS = """w => new Promise(resolve => {
  const step = Array.from(document.querySelectorAll('button'))
    .find(b => b.textContent.trim() === 'Step');
  const t0 = performance.now();
  let caption = null;
  const check = () => {
    if (caption === null && document.querySelector('.app-caption').textContent
        .startsWith('Week ' + w + ' ')) caption = performance.now() - t0;
    const line = document.querySelector(".app-compare-chart polyline[data-label='A']");
    const n = line ? line.getAttribute('points').trim().split(/\\s+/).length : 0;
    if (caption !== null && n === w) {
      observer.disconnect();
      requestAnimationFrame(() => requestAnimationFrame(
        () => resolve([caption, performance.now() - t0])));
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document.body, {subtree: true, childList: true, characterData: true,
                                   attributes: true});
  step.click();
})"""


def browser_steps(preset: str, weeks: int) -> dict[str, list[float]]:
    """Seconds per Step in Chromium at 1366x768 (Lesson tab), measured two ways:
    ``playwright``, Playwright's click until its poll sees the new caption (includes
    Playwright's own checks and polling), and ``caption`` / ``chart``, timed inside the
    page (``performance.now``) from the click to the new caption, and to the compare
    chart redrawn and painted: what a student waits for."""
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
        out: dict[str, list[float]] = {"playwright": [], "caption": [], "chart": []}
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--no-first-run", "--disable-sync"])
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(url)
            page.locator(".app-caption").wait_for(timeout=60_000)
            step = page.get_by_role("button", name="Step", exact=True)
            half = weeks // 2
            for week in range(1, half + 1):
                t = time.perf_counter()
                step.click()
                page.wait_for_function(
                    "w => document.querySelector('.app-caption').textContent"
                    ".startsWith('Week ' + w + ' ')", arg=week, timeout=30_000)
                out["playwright"].append(time.perf_counter() - t)
            for week in range(half + 1, weeks + 1):
                caption, chart = page.evaluate(STEP_TO_CHART_JS, week)
                out["caption"].append(caption / 1000)
                out["chart"].append(chart / 1000)
            browser.close()
        return out
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def _stats(seconds: list[float]) -> dict[str, float]:
    ms = sorted(1000 * s for s in seconds)
    return {"median_ms": round(statistics.median(ms), 1),
            "p90_ms": round(ms[min(len(ms) - 1, int(0.9 * len(ms)))], 1), "n": len(ms)}


def _load() -> list[float]:
    import os

    return [round(x, 2) for x in os.getloadavg()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.bench", description=__doc__.split("\n")[0])
    p.add_argument("preset", nargs="?", default="classroom")
    p.add_argument("--weeks", type=int, default=52)
    p.add_argument("--repeats", type=int, default=1, help="measure this many times")
    p.add_argument("--browser", action="store_true",
                   help="also time Step clicks in Chromium (/usr/bin/chromium, playwright)")
    p.add_argument("--json", metavar="FILE", help="also write the figures (and the machine's "
                   "load average around each repeat) to FILE")
    args = p.parse_args(argv)
    model_steps(args.preset, 2)  # compile the numba kernels first
    repeats = []
    for r in range(args.repeats):
        before = _load()
        print(f"{args.preset}, {args.weeks} weeks from week 0 (repeat {r + 1}), "
              f"load average {before}:")
        timed = {"model step (main + twin)": model_steps(args.preset, args.weeks),
                 "Step click + page re-render": page_steps(args.preset, args.weeks)}
        if args.browser:
            b = browser_steps(args.preset, args.weeks)
            timed["browser: Playwright click to caption"] = b["playwright"]
            timed["browser: click to new caption"] = b["caption"]
            timed["browser: click to chart painted"] = b["chart"]
        for name, seconds in timed.items():
            print(_summary(name, seconds))
        repeats.append({"load_before": before, "load_after": _load(),
                        **{name: _stats(seconds) for name, seconds in timed.items()}})
    if args.json:
        import json
        import os
        import platform

        record = {"preset": args.preset, "weeks": args.weeks, "viewport": "1366x768",
                  "tab": "Lesson", "cpus": os.cpu_count(), "python": platform.python_version(),
                  "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                  "repeats": repeats}
        with open(args.json, "w") as f:
            json.dump(record, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
