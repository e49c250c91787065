"""The classroom app in a real browser (Debian's Chromium driven by Playwright).

Starts the app the way a teacher does (``python -m app.cli classroom --port P``, the
handler of ``reception app``) on a free loopback port, once for the file, and one
Chromium; each test opens its own page (viewport, zoom) and drives it as a projector or
laptop shows it: at 1366x768 (moves a slider, steps, changes a lever mid-run, plays,
pauses, resets), at 150% browser zoom on the same screen (a 911x512 CSS-pixel viewport
at device scale 1.5: the controls can be hidden and reopened, a lesson is opened, large
text is switched on), and at 1024x768, 1920x1080 and 200% zoom (the run buttons and the
controls stay reachable); it clicks a city on the map, downloads a chart as PNG and SVG,
runs replicate seeds in the background. Chart text must be at least 14 CSS px, read from
the SVG (font size times the text's on-screen scale), and the browser console must stay
clean. Screenshots go to tests/artifacts/ (not committed).

Skipped only when /usr/bin/chromium is missing (CI installs it: see docs/app.md).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from contextlib import contextmanager
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
def app_server(tmp_path_factory):
    """The app served by `python -m app.cli classroom` on a free loopback port: its
    address and the file that collects the server's terminal output."""
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
            yield url, log
        finally:  # the server and anything it started: its own process group
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


@pytest.fixture(scope="module")
def app_url(app_server):
    return app_server[0]


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the whole module; each test opens its own context (viewport,
    zoom) in it."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def open_page(browser, url: str, width: int, height: int, scale: float = 1.0,
              failed: list[str] | None = None):
    """A page of the app at ``width`` x ``height`` CSS px and device scale ``scale``
    (browser zoom z on a W x H screen is W/z x H/z CSS px at scale z), loaded and
    showing week 0; afterwards, no errors in the browser console. With ``failed``, the
    requests that failed are added to it."""
    context = browser.new_context(viewport={"width": width, "height": height},
                                  device_scale_factor=scale, accept_downloads=True)
    console: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        if failed is not None:
            page.on("requestfailed", lambda r: failed.append(r.url))
        page.goto(url)
        page.locator(".app-caption").wait_for(timeout=30_000)
        yield page
    finally:
        context.close()
    assert console == [], "errors in the browser console:\n" + "\n".join(console)


def screenshot(page, tmp_path: Path, name: str) -> Path:
    """Save a screenshot as tests/artifacts/NAME (not committed: .gitignore)."""
    page.screenshot(path=str(tmp_path / name))
    ARTIFACTS.mkdir(exist_ok=True)
    return Path(shutil.copy(tmp_path / name, ARTIFACTS / name))


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


def test_app_in_a_real_browser(app_url, browser, tmp_path):
    failed = []
    with open_page(browser, app_url, 1366, 768, failed=failed) as page:
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

        screenshot(page, tmp_path, "app.png")

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
    assert failed == [], f"requests that failed: {failed}"


def test_app_at_150_percent_zoom_on_a_projector(app_url, browser, tmp_path):
    """1366x768 at 150% zoom: the page is 911x512 CSS px, drawn at device scale 1.5."""
    with open_page(browser, app_url, 911, 512, 1.5) as page:
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
        screenshot(page, tmp_path, "app-zoom150.png")


def test_crisis_response_lesson_marks_bs_emergency_places(app_url, browser, tmp_path):
    """1366x768: the crisis-response lesson, 30 weeks in: B's emergency places are marked
    on the compare chart and listed in the event log; the monitors show them."""
    with open_page(browser, app_url, 1366, 768) as page:
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
        screenshot(page, tmp_path, "app-crisis.png")


# (name, CSS px width, height, device scale): screens and zooms a classroom projector or
# laptop shows the page at; "x200" is 200% browser zoom on a 1366x768 screen.
LAYOUTS = [("1024x768", 1024, 768, 1.0), ("1920x1080", 1920, 1080, 1.0),
           ("1366x768-zoom200", 683, 384, 2.0)]


@pytest.mark.parametrize(("name", "width", "height", "scale"), LAYOUTS,
                         ids=[case[0] for case in LAYOUTS])
def test_layout_keeps_the_controls_and_run_buttons_reachable(app_url, browser, tmp_path, name,
                                                             width, height, scale):
    """At each size: Step and Play are on screen and clickable, also scrolled down; the
    controls panel can be hidden and reopened, and its levers reached; chart text is at
    least 14 CSS px; Solara's badge is not shown."""
    with open_page(browser, app_url, width, height, scale) as page:
        step = page.get_by_role("button", name="Step", exact=True)
        play = page.get_by_role("button", name="▶ Play")
        assert in_viewport(page, step)
        assert in_viewport(page, play)
        step.click()  # Playwright clicks only what is visible, enabled and not covered
        wait_week(page, 1)

        page.get_by_role("button", name="All cities", exact=True).click()
        polyline(page, "shelter", "in shelter", 1)
        text_px = smallest_text(page)
        print(f"{name}: smallest chart text {text_px:.1f} CSS px")
        assert text_px >= MIN_TEXT_PX
        top = page.locator(".app-caption").bounding_box()["y"]
        page.mouse.move(width / 2, height - 20)
        page.mouse.wheel(0, 20 * height)  # scroll to the bottom, as with a mouse
        page.wait_for_function("y => document.querySelector('.app-caption')"
                               ".getBoundingClientRect().y < y - 100", arg=top)
        last = page.locator(".app-spending").bounding_box()  # the last chart, reached
        bar = page.locator(".app-topbar").bounding_box()
        assert bar["y"] + bar["height"] < last["y"] + last["height"] <= height + 1
        assert in_viewport(page, step)  # the top bar stays on screen
        step.click()
        wait_week(page, 2)

        page.get_by_role("button", name="✕ Hide controls").click()
        page.locator(".app-side").wait_for(state="detached", timeout=10_000)
        reopen = page.get_by_role("button", name="☰ Controls")
        assert in_viewport(page, reopen)
        reopen.click()
        page.locator(".app-side").wait_for(timeout=10_000)
        lever = page.locator(".lever-classroom_speed")  # the panel's last lever
        lever.scroll_into_view_if_needed()
        assert in_viewport(page, lever)
        assert in_viewport(page, step)
        assert bar["height"] <= height / 2, f"the top bar takes {bar['height']:.0f} px"

        assert page.get_by_text("This website runs on").count() == 0  # Solara's badge
        assert page.locator("a[href='https://solara.dev']").count() == 0
        page.mouse.wheel(0, -20 * height)
        screenshot(page, tmp_path, f"app-{name}.png")
        page.get_by_role("button", name="✕ Hide controls").click()
        page.locator(".app-side").wait_for(state="detached", timeout=10_000)
        screenshot(page, tmp_path, f"app-{name}-charts.png")


def test_clicking_a_bubble_on_the_map_selects_the_city(app_url, browser):
    """A bubble clicked on the All cities map is the Planner's city; one clicked on the
    Planner's map switches it."""
    with open_page(browser, app_url, 1366, 768) as page:
        page.get_by_role("button", name="Step", exact=True).click()
        wait_week(page, 1)
        page.get_by_role("button", name="Planner", exact=True).click()
        monitors = page.locator(".app-monitors-city")
        monitors.wait_for(timeout=10_000)
        first = monitors.locator(".app-monitor").first.inner_text().split("\n")[0]
        others = [c for c in ("Harbourview", "Millbrook", "Pinecrest") if c != first]

        page.get_by_role("button", name="All cities", exact=True).click()
        page.locator(".app-planner").wait_for(state="detached", timeout=10_000)
        page.locator(f".app-map circle[data-city='{others[0]}']").click()
        page.get_by_role("button", name="Planner", exact=True).click()
        page.locator(".app-monitors-city", has_text=others[0]).wait_for(timeout=10_000)
        page.locator(".app-planner .app-map circle").first.wait_for(timeout=10_000)
        page.get_by_text(f"{others[0]}: shelter beds").wait_for(timeout=10_000)

        page.locator(f".app-planner .app-map circle[data-city='{others[1]}']").click()
        page.locator(".app-monitors-city", has_text=others[1]).wait_for(timeout=10_000)
        page.get_by_text(f"{others[1]}: shelter beds").wait_for(timeout=10_000)
        assert page.locator(".app-planner .v-select", has_text=others[1]).count() == 1
        chosen = page.locator(f".app-planner .app-map circle[data-city='{others[1]}']")
        assert chosen.get_attribute("stroke-width") == "3"  # outlined on the map


def test_chart_downloads_are_a_real_png_and_svg(app_url, browser):
    """A chart's PNG button saves a PNG (its magic bytes, three times the chart's size),
    its SVG button an SVG that parses and holds the chart's title and lines."""
    with open_page(browser, app_url, 1366, 768) as page:
        page.get_by_role("button", name="All cities", exact=True).click()
        step = page.get_by_role("button", name="Step", exact=True)
        for week in (1, 2):
            step.click()
            wait_week(page, week)
        polyline(page, "shelter", "in shelter", 2)
        box = page.locator(".app-shelter")
        with page.expect_download(timeout=20_000) as got:
            box.get_by_role("button", name="PNG", exact=True).click()
        png = Path(got.value.path()).read_bytes()
        assert got.value.suggested_filename == "shelter-week2.png"
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
        view = box.locator("svg").get_attribute("viewBox").split()
        assert (width, height) == (3 * int(float(view[2])), 3 * int(float(view[3])))
        assert len(png) > 5_000  # a drawn chart, not an empty canvas

        with page.expect_download(timeout=20_000) as got:
            box.get_by_role("button", name="SVG", exact=True).click()
        assert got.value.suggested_filename == "shelter-week2.svg"
        root = ET.fromstring(Path(got.value.path()).read_bytes())
        svg = "{http://www.w3.org/2000/svg}"
        assert root.tag == f"{svg}svg"
        texts = ["".join(t.itertext()) for t in root.iter(f"{svg}text")]
        assert "Shelter and sleeping outside" in texts
        lines = {p.get("data-label"): p.get("points").split() for p in root.iter(f"{svg}polyline")}
        assert len(lines["in shelter"]) == 2


PROGRESS_JS = """() => { window.seenProgress = [];
  new MutationObserver(() => { const p = document.querySelector('.app-progress');
    const bar = document.querySelector('.app-compare .v-progress-linear');
    if (p && bar) window.seenProgress.push(p.textContent); })
  .observe(document.body, {subtree: true, childList: true, characterData: true}); }"""


def test_replicate_seeds_run_in_the_background_with_progress_then_bands(app_url, browser):
    """*Run 3 seeds*: a progress bar counts up while the page stays live, then the compare
    chart draws A's and B's bands and the table gets the interval column."""
    with open_page(browser, app_url, 1366, 768) as page:
        compare = page.locator(".app-compare")
        thumb = compare.locator("[role=slider]")
        thumb.focus()
        thumb.press("Home")  # the fewest seeds: 3
        compare.get_by_text("Seeds: 3").wait_for(timeout=10_000)
        page.evaluate(PROGRESS_JS)
        compare.get_by_role("button", name="Run 3 seeds (chance)").click()
        page.locator(".app-compare-chart polygon[data-band]").nth(1).wait_for(
            state="attached", timeout=180_000)
        bands = page.locator(".app-compare-chart polygon[data-band]")
        assert sorted(b.get_attribute("data-band") for b in bands.all()) == [
            "A, band: range of 3 seeds", "B, band: range of 3 seeds"]
        assert "B − A over 3 seeds at the end (95% interval)" in page.inner_text(
            ".app-compare-text")
        seen = [int(t.rstrip("%")) for t in page.evaluate("window.seenProgress")]
        assert seen == sorted(seen), seen  # a progress bar that counts up
        assert any(0 < p < 100 for p in seen), seen  # and showed a run part done
        assert page.locator(".app-progress").count() == 0  # gone when done
        assert compare.get_by_role("button", name="Run 3 seeds (chance)").is_enabled()


def test_the_servers_terminal_has_no_cookie_warning(app_server):
    """Solara warns about iframe cookies on every page load over http at 127.0.0.1; the
    app filters it (app.QUIET). Runs after the pages above were loaded."""
    url, log = app_server
    with urllib.request.urlopen(url, timeout=10) as r:  # one more page load
        assert r.status == 200
    time.sleep(0.5)
    text = log.read_text()
    assert "Serving the reception app" in text
    assert "samesite" not in text.lower(), text[-2000:]
