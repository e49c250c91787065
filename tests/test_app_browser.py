"""The classroom app in a real browser (Debian's Chromium driven by Playwright).

Starts the app the way a teacher does (``python -m app.cli classroom --port P``, the
handler of ``reception app``) on a free loopback port, and drives it as a projector
shows it: at 1366x768 (moves a slider, steps, changes a lever mid-run, plays, pauses,
resets) and at 150% browser zoom on the same screen (a 911x512 CSS-pixel viewport at
device scale 1.5: the controls can be hidden and reopened, a lesson is opened, large
text is switched on). Both check that every chart text is at least 14 CSS px, read
from the SVG (font size times the text's on-screen scale), and that the browser
console stayed clean. Screenshots go to tests/artifacts/app.png and app-zoom150.png.

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
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
MIN_TEXT_PX = 14.0  # chart text on a 1366x768 projector (issue 15)
# The smallest chart text on screen: font size times the text's scale (rotation-proof).
SMALLEST_TEXT_JS = """sel => { const px = Array.from(document.querySelectorAll(sel + ' svg text'))
  .filter(t => t.getBBox().width > 0)
  .map(t => { const m = t.getScreenCTM();
              return Math.hypot(m.a, m.b) * parseFloat(getComputedStyle(t).fontSize); });
  return px.length ? Math.min(...px) : null; }"""
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


def smallest_text(page, selector: str = ".app-main") -> float:
    got = page.evaluate(SMALLEST_TEXT_JS, selector)
    assert got is not None, f"no chart text under {selector}"
    return got


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the Vuetify select labelled ``label``."""
    page.locator(".v-select", has_text=label).first.click()
    page.get_by_role("option", name=option, exact=True).click()


def in_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return (box is not None and box["x"] >= 0 and box["y"] >= 0
            and box["x"] + box["width"] <= size["width"]
            and box["y"] + box["height"] <= size["height"])


def wait_week(page, week: int) -> None:
    page.wait_for_function("w => document.querySelector('.app-caption').textContent"
                           ".startsWith('Week ' + w + ' ')", arg=week, timeout=15_000)


def test_app_in_a_real_browser(app_url, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    console, failed = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(app_url)
            caption = page.locator(".app-caption")
            caption.wait_for(timeout=30_000)
            assert caption.inner_text().startswith("Week 0 ")
            page.get_by_role("button", name="All cities", exact=True).click()
            page.locator(".app-shelter svg").wait_for(timeout=10_000)
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
                wait_week(page, week)
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
            assert page.locator(".app-map svg circle").count() == 3
            assert "newcomers" in page.locator(".app-map svg circle title").first.text_content()
            assert smallest_text(page) >= MIN_TEXT_PX

            # a lever changed mid-run applies from this week, without a restart
            choose(page, "Shelter intake cap", "no city")
            page.locator(".app-notice", has_text=f"Applied from week {STEPS + 1}").wait_for(
                timeout=10_000)
            assert caption.inner_text().startswith(f"Week {STEPS} ")
            step.click()
            wait_week(page, STEPS + 1)
            page.locator(".app-shelter [data-mark]").wait_for(timeout=10_000)

            page.get_by_role("button", name="Lesson", exact=True).click()
            page.locator(".app-compare-text").wait_for(timeout=10_000)
            page.wait_for_function("w => document.querySelector('.app-compare-text')"
                                   ".textContent.includes('week ' + w + '.')", arg=STEPS + 1,
                                   timeout=10_000)
            assert "shelter beds ×1.5 → ×3" in page.inner_text(".app-compare-text")
            assert smallest_text(page) >= MIN_TEXT_PX
            assert in_viewport(page, step)

            page.screenshot(path=str(tmp_path / "app.png"))
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(tmp_path / "app.png", ARTIFACTS / "app.png")

            # play runs on by itself, pause holds the week, reset goes back to week 0
            page.get_by_role("button", name="▶ Play").click()
            page.wait_for_function("w => parseInt(document.querySelector('.app-caption')"
                                   ".textContent.slice(5)) >= w", arg=STEPS + 4,
                                   timeout=20_000)
            page.get_by_role("button", name="❚❚ Pause").click()
            page.get_by_role("button", name="▶ Play").wait_for(timeout=10_000)
            paused = caption.inner_text()
            time.sleep(0.5)
            assert caption.inner_text() == paused
            page.get_by_role("button", name="Reset", exact=True).click()
            wait_week(page, 0)
            assert page.locator(".lever-shelter_beds", has_text="×1.5").count() == 1
            print(f"browser: Step click to new caption, median "
                  f"{1000 * sorted(timings)[len(timings) // 2]:.0f} ms over {STEPS} steps")
        finally:
            browser.close()
    assert console == [], "errors in the browser console:\n" + "\n".join(console)
    assert failed == [], f"requests that failed: {failed}"


def test_app_at_150_percent_zoom_on_a_projector(app_url, tmp_path):
    """1366x768 at 150% zoom: the page is 911x512 CSS px, drawn at device scale 1.5."""
    sync_api = pytest.importorskip("playwright.sync_api")
    console = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 911, "height": 512},
                                    device_scale_factor=1.5)
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}")
                    if m.type == "error" else None)
            page.goto(app_url)
            page.locator(".app-caption").wait_for(timeout=30_000)
            step = page.get_by_role("button", name="Step", exact=True)
            assert in_viewport(page, step)  # the run buttons stay in the top bar

            # the controls can be hidden and always reopened
            page.get_by_role("button", name="✕ Hide controls").click()
            page.locator(".app-side").wait_for(state="detached", timeout=10_000)
            reopen = page.get_by_role("button", name="☰ Controls")
            assert in_viewport(page, reopen)
            reopen.click()
            lesson_select = page.locator(".v-select", has_text="Lesson").first
            lesson_select.scroll_into_view_if_needed()
            assert lesson_select.is_visible()

            choose(page, "Lesson", "Grant cliff")
            page.locator(".app-lesson-card", has_text="Question for the class").wait_for(
                timeout=20_000)
            page.get_by_role("button", name="✕ Hide controls").click()
            for week in range(1, 4):
                step.click()
                wait_week(page, week)
            page.locator(".app-compare-chart polyline[data-label='A']").wait_for(
                state="attached", timeout=10_000)
            assert smallest_text(page) >= MIN_TEXT_PX
            normal = smallest_text(page, ".app-compare-chart")
            page.get_by_label("Large text").check()
            page.wait_for_function(
                "([js, n]) => (new Function('return ' + js))()('.app-compare-chart') > n",
                arg=[SMALLEST_TEXT_JS, normal * 1.2], timeout=10_000)
            page.locator(".app-compare-chart").scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / "zoom.png"))
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(tmp_path / "zoom.png", ARTIFACTS / "app-zoom150.png")
        finally:
            browser.close()
    assert console == [], "errors in the browser console:\n" + "\n".join(console)


def test_crisis_response_lesson_marks_bs_emergency_places(app_url, tmp_path):
    """1366x768: the crisis-response lesson, 30 weeks in: B's emergency places are marked
    on the compare chart and listed in the event log; the monitors show them."""
    sync_api = pytest.importorskip("playwright.sync_api")
    console = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}")
                    if m.type == "error" else None)
            page.goto(app_url)
            page.locator(".app-caption").wait_for(timeout=30_000)
            choose(page, "Lesson", "Crisis response")
            page.locator(".app-lesson-card", has_text="Crisis response").wait_for(
                timeout=20_000)
            page.locator(".lever-emergency_response", has_text="as in scenario").wait_for(
                timeout=10_000)  # A is the preset: no city opens places
            step = page.get_by_role("button", name="Step", exact=True)
            for week in range(1, 31):
                step.click()
                wait_week(page, week)
            page.locator(".app-compare-chart [data-mark*='B: Millbrook orders']").first.wait_for(
                state="attached", timeout=10_000)
            log = page.locator(".app-marks").inner_text()
            assert "B: Millbrook orders" in log
            assert "community space places" in log
            assert "emergency places" in page.locator(".app-monitors-all").inner_text()
            assert smallest_text(page) >= MIN_TEXT_PX
            page.get_by_role("button", name="✕ Hide controls").click()
            page.locator(".app-side").wait_for(state="detached", timeout=10_000)
            page.screenshot(path=str(tmp_path / "crisis.png"))
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(tmp_path / "crisis.png", ARTIFACTS / "app-crisis.png")
        finally:
            browser.close()
    assert console == [], "errors in the browser console:\n" + "\n".join(console)
