"""The classroom app in a real browser (Debian's Chromium driven by Playwright).

Starts the app the way a teacher does (``python -m app.cli classroom --port P``, the
handler of ``reception app``) on a free loopback port, loads the page, moves a slider,
presses Step, and checks that the views changed and the browser console stayed clean.
A screenshot goes to the test's tmp dir and to tests/artifacts/app.png.

Skipped only when /usr/bin/chromium is missing (CI installs it: see docs/app.md).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "tests" / "artifacts"
START_TIMEOUT_S = 40
STEPS = 5

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's Chromium at /usr/bin/chromium "
                                       "(apt-get install -y chromium)")


def _wait_for_http(url: str, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the app server exited with {server.returncode}:\n"
                                 f"{server.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"the app did not answer at {url} within {timeout} s")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """The app served by `python -m app.cli classroom` on a free loopback port."""
    from app import assets
    from app.cli import free_port

    if assets.missing():  # CI runs `python -m app.assets` first; fetch here otherwise
        assets.ensure(log=lambda _msg: None)
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log, "w+") as out:
        server = subprocess.Popen([sys.executable, "-m", "app.cli", "classroom", "--port",
                                   str(port)], cwd=REPO, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, text=True,
                                  start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}/"
            _wait_for_http(url, server, START_TIMEOUT_S)
            out.seek(0)
            assert f"Serving the reception app at {url}" in out.read()
            yield url
        finally:  # the server and anything it started: its own process group
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def polyline(page, view: str, label: str, points: int) -> str:
    """The points of one line of one view once it has ``points`` points (widgets update
    one by one, so the caption may show the new week before a chart does)."""
    line = f".app-{view} polyline[data-label='{label}']"
    js = (f"n => {{ const l = document.querySelector(\"{line}\");"
          " const p = l ? l.getAttribute('points').trim() : '';"
          " return p && p.split(/\\s+/).length === n ? p : null; }")
    return page.wait_for_function(js, arg=points, timeout=10_000).json_value()


def test_app_in_a_real_browser(app_url, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    console, failed = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 2300})
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(app_url)
            caption = page.locator(".app-caption")
            caption.wait_for(timeout=30_000)
            assert caption.inner_text().startswith("Week 0 ")
            assert "Press Step" in page.inner_html(".app-shelter")

            # move a slider: shelter beds from x1 to x1.5 (five steps of 0.1)
            thumb = page.locator(".lever-shelter_beds [role=slider]")
            thumb.focus()
            for _ in range(5):
                thumb.press("ArrowRight")
            beds_label = page.locator(".lever-shelter_beds", has_text="Shelter beds: ×1.5")
            beds_label.wait_for(timeout=10_000)
            assert caption.inner_text().startswith("Week 0 ")  # a new run at week 0

            step = page.get_by_role("button", name="Step", exact=True)
            timings = []
            for week in range(1, STEPS + 1):
                t = time.perf_counter()
                step.click()
                page.wait_for_function(
                    "w => document.querySelector('.app-caption').textContent"
                    ".startsWith('Week ' + w + ' ')", arg=week, timeout=10_000)
                timings.append(time.perf_counter() - t)
                if week == STEPS - 1:
                    before = polyline(page, "shelter", "in shelter", week)
            after = polyline(page, "shelter", "in shelter", STEPS)

            text = caption.inner_text()
            assert re.match(rf"Week {STEPS} \(\d+ \w+ 2023\): ", text), text
            assert len(before.split()) == STEPS - 1
            assert len(after.split()) == STEPS
            assert after != before
            for view, label in (("waiting", "language"), ("integration", "everyone"),
                                ("employment", "employed"), ("spending", "municipal")):
                polyline(page, view, label, STEPS)
            page.wait_for_function("w => document.querySelector('.app-compare-text')"
                                   ".textContent.includes('week ' + w + '.')", arg=STEPS,
                                   timeout=10_000)
            assert "shelter beds ×1.5 → ×3" in page.inner_text(".app-compare-text")
            assert page.locator(".app-map svg circle").count() == 3

            page.screenshot(path=str(tmp_path / "app.png"))
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(tmp_path / "app.png", ARTIFACTS / "app.png")

            # play runs on by itself, pause holds the week, reset goes back to week 0
            page.get_by_role("button", name="▶ Play").click()
            page.wait_for_function("w => parseInt(document.querySelector('.app-caption')"
                                   ".textContent.slice(5)) >= w", arg=STEPS + 3,
                                   timeout=20_000)
            page.get_by_role("button", name="❚❚ Pause").click()
            page.get_by_role("button", name="▶ Play").wait_for(timeout=10_000)
            paused = caption.inner_text()
            time.sleep(0.5)
            assert caption.inner_text() == paused
            page.get_by_role("button", name="Reset", exact=True).click()
            page.wait_for_function("document.querySelector('.app-caption').textContent"
                                   ".startsWith('Week 0 ')", timeout=10_000)
            assert page.locator(".lever-shelter_beds", has_text="×1.5").count() == 1
            print(f"browser: Step click to new caption, median "
                  f"{1000 * sorted(timings)[len(timings) // 2]:.0f} ms over {STEPS} steps")
        finally:
            browser.close()
    assert console == [], "errors in the browser console:\n" + "\n".join(console)
    assert failed == [], f"requests that failed: {failed}"
