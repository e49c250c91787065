"""The classroom app without a browser: levers, views, caption, compare mode, lessons,
mid-run changes, export, the page and the CLI.

Views are checked against the model's own outputs (the DataCollector's model-level
columns and ``municipal_history``): what a chart draws is what the model says.
"""

from __future__ import annotations

import inspect
import re
import warnings
from datetime import date
from types import SimpleNamespace

import ipyvuetify
import ipywidgets
import numpy as np
import pytest
import solara
from solara.widgets import HTML

from app import charts
from app import compare as cmp
from app import views as c
from app.cli import add_parser, resolve_scenario, server_command, server_env
from app.model import (
    AGENT_BUDGET,
    ALL_CITIES,
    AS_IN_SCENARIO,
    DEFAULTS,
    NO_CITY,
    POLICY_LEVERS,
    PRESETS,
    SURGE_START_WEEK,
    AppModel,
    build_scenario,
    expected_agents,
)
from app.outcomes import OUTCOMES
from sim.codes import FUNDERS, SERVICES
from sim.scenario import SCENARIO_DIR, ScenarioError, load_scenario

WEEKS = 12
MODEL_PARAMS_LABEL = "Predictable funding (core grants, IHAP pays every claim)"


@pytest.fixture(scope="module")
def stepped() -> AppModel:
    """The classroom preset after WEEKS weeks (module-wide: tests only read it)."""
    model = AppModel(preset="classroom")
    for _ in range(WEEKS):
        model.step()
    return model


def totals(model) -> dict[str, np.ndarray]:
    frame = model.datacollector.get_model_vars_dataframe()
    return {col: frame[col].to_numpy() for col in frame.columns}


def series(chart: charts.Chart, label: str) -> charts.Series:
    return next(s for s in chart.series if s.label == label)


# ------------------------------------------------------------------------------ the model
def test_presets_are_the_bundled_library():
    assert PRESETS == sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))
    assert DEFAULTS["preset"] == "classroom"


def test_app_model_takes_keyword_arguments_only_each_with_a_default():
    from mesa.visualization.solara_viz import _check_model_params

    from app.page import MODEL_PARAMS

    params = inspect.signature(AppModel.__init__).parameters
    levers = [p for name, p in params.items() if name != "self"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in levers)
    assert all(p.default is not inspect.Parameter.empty for p in levers)
    assert set(MODEL_PARAMS) == set(DEFAULTS)
    assert {p.name for p in levers} == set(DEFAULTS) | {"overrides", "schedule"}
    _check_model_params(AppModel.__init__, MODEL_PARAMS)  # what SolaraViz checks


def test_levers_change_the_preset_as_documented():
    base = load_scenario(SCENARIO_DIR / "classroom.toml")
    sc = build_scenario("classroom", federal_funding=1.5, municipal_budget=0.5,
                        shelter_beds=2.0, arrivals=2.0, surge=3.0,
                        access_without_fear=NO_CITY, lip=ALL_CITIES, intake_cap=NO_CITY,
                        predictable_funding=True)
    assert sc.funding.grant_factor["federal"] == pytest.approx(1.5)
    assert sc.funding.ihap_predictable
    for before, after in zip(base.municipalities, sc.municipalities, strict=True):
        assert after.shelter_beds == pytest.approx(2 * before.shelter_beds)
        assert after.newcomer_budget_per_year == pytest.approx(before.newcomer_budget_per_year / 2)
        assert not after.policies.access_without_fear
        assert after.policies.lip
        assert not after.policies.intake_cap
        assert not after.policies.adaptive_cap
    for name, stream in sc.streams.items():
        assert stream.per_year == pytest.approx(2 * base.streams[name].per_year)
    surge = sc.shocks[-1]
    assert (surge.stream, surge.start_week, surge.multiplier) == (
        "asylum_claimant", SURGE_START_WEEK, 3.0)
    assert len(sc.shocks) == len(base.shocks) + 1
    for agency in sc.agencies:
        assert all(g.kind == "core" and g.end_week is None for g in agency.grants)


def test_defaults_leave_the_preset_unchanged():
    base = load_scenario(SCENARIO_DIR / "classroom.toml")
    sc = build_scenario("classroom")
    base.run.progress = False
    assert sc.model_dump() == base.model_dump()


def test_predictable_funding_turns_adhoc_lines_into_the_core_lines():
    """funding_adhoc's re-awards are dropped: each line pays its first amount for good,
    the same grants as funding_predictable.toml (which says so in its header)."""
    adhoc = build_scenario("funding_adhoc", predictable_funding=True)
    core = load_scenario(SCENARIO_DIR / "funding_predictable.toml")
    for a, b in zip(adhoc.agencies, core.agencies, strict=True):
        got = sorted((g.funder, g.amount_per_year, g.kind, g.end_week) for g in a.grants)
        want = sorted((g.funder, g.amount_per_year, g.kind, g.end_week) for g in b.grants)
        assert got == want, a.name


def test_a_forced_policy_drops_the_timeline_entries_that_set_it():
    sc = build_scenario("asylum_surge_shelter_cap", intake_cap=NO_CITY, shelter_beds=2.0)
    base = load_scenario(SCENARIO_DIR / "asylum_surge_shelter_cap.toml")
    keys = [k for change in sc.timeline for k in change.set]
    assert not any(k.endswith("intake_cap") for k in keys)
    assert any(k.endswith("intake_cap") for change in base.timeline for k in change.set)
    assert len(sc.timeline) == len(base.timeline) - 1  # that entry set nothing else


def test_classroom_speed_caps_the_agents_and_never_refines():
    fast = build_scenario("canada_baseline", classroom_speed=True)
    full = build_scenario("canada_baseline", classroom_speed=False)
    assert fast.run.scale > full.run.scale
    assert expected_agents(fast) <= AGENT_BUDGET
    town = build_scenario("small_town_retention")  # 324,000 agents at its scale 10
    assert town.run.scale == 2 * load_scenario(
        SCENARIO_DIR / "small_town_retention.toml").run.scale  # at most twice as coarse
    assert build_scenario("classroom").run.scale == load_scenario(
        SCENARIO_DIR / "classroom.toml").run.scale


def test_model_stops_at_the_horizon():
    model = AppModel(preset="classroom")
    model.scenario.run.weeks = 3
    for _ in range(5):
        model.step()
    assert model.week == 3
    assert not model.running
    assert len(model.municipal_history) == 3


# ------------------------------------------------------------------------------ charts
def test_line_charts_draw_the_models_series(stepped):
    t = totals(stepped)
    weeks = np.arange(WEEKS)
    shelter = c.shelter_chart(stepped)
    for label, col in [("in shelter", "shelter_occupancy"), ("beds (capacity)", "shelter_beds"),
                       ("sleeping outside", "unsheltered")]:
        s = series(shelter, label)
        np.testing.assert_array_equal(s.x, weeks)
        np.testing.assert_array_equal(s.y, t[col])
    waits = c.waiting_chart(stepped)
    for svc in SERVICES:
        np.testing.assert_array_equal(series(waits, c.SERVICE_LABELS[svc]).y, t[f"waiting_{svc}"])
    integration = c.integration_chart(stepped)
    np.testing.assert_array_equal(series(integration, "everyone").y, t["integration_index"])
    np.testing.assert_array_equal(series(integration, "asylum claimant").y,
                                  t["index_asylum_claimant"])
    np.testing.assert_allclose(series(c.employment_chart(stepped), "employed").y,
                               100 * t["employment_rate"])


def test_spending_is_stacked_cumulative_spending_by_government(stepped):
    t = totals(stepped)
    chart = c.spending_chart(stepped)
    assert [s.label for s in chart.series] == list(FUNDERS)
    for s, funder in zip(chart.series, FUNDERS, strict=True):
        np.testing.assert_allclose(s.y, np.cumsum(t[f"spend_{funder}"]) / 1e6)
    np.testing.assert_allclose(chart.layers()[-1], np.cumsum(t["spend_total"]) / 1e6)


def test_svg_has_one_point_per_week_and_higher_values_drawn_higher(stepped):
    svg = c.shelter_chart(stepped).svg()
    match = re.search(r"data-label='in shelter' points='([^']*)'", svg)
    points = [tuple(map(float, p.split(","))) for p in match.group(1).split()]
    assert len(points) == WEEKS
    y = series(c.shelter_chart(stepped), "in shelter").y
    hi, lo = int(np.argmax(y)), int(np.argmin(y))
    if y[hi] > y[lo]:
        assert points[hi][1] < points[lo][1]  # SVG y grows downwards


def test_charts_before_the_first_step_say_what_to_do():
    model = AppModel(preset="classroom")
    for make in (c.shelter_chart, c.waiting_chart, c.integration_chart, c.employment_chart,
                 c.spending_chart):
        assert "Press Step" in make(model).svg()
    assert "Press Step" in c.caption(model)
    assert model.municipalities[0].name in c.map_svg(model)


def test_nice_ticks_are_round_and_cover_the_range():
    assert charts.nice_ticks(0, 9.3) == [0, 2, 4, 6, 8, 10]
    ticks = charts.nice_ticks(0, 1234)
    assert ticks[0] == 0
    assert ticks[-1] >= 1234
    assert len(ticks) <= 8


# ------------------------------------------------------------------------------ map
def test_map_sizes_cities_by_newcomers_and_colours_them_by_strain(stepped):
    rows = stepped.municipal_history[-1]
    data = c.map_data(stepped)
    np.testing.assert_array_equal(data["newcomers"], rows["newcomers"])
    need = rows["shelter_occupancy"] + rows["unsheltered"]
    beds = rows["shelter_beds"]
    for i, row in data.iterrows():
        want = need[i] / beds[i] if beds[i] > 0 else (c.STRAIN_MAX if need[i] > 0 else 0.0)
        assert row["strain"] == pytest.approx(want)
    biggest = int(np.argmax(rows["newcomers"]))
    assert data["radius"].idxmax() == biggest
    svg = c.map_svg(stepped)
    for row in data.itertuples():
        circle = re.search(rf"<circle data-city='{row.municipality}'[^>]*fill='([^']*)'", svg)
        assert circle.group(1) == c.strain_colour(row.strain)


def test_strain_of_a_city_without_beds():
    got = c.strain(np.array([0.0, 0.0, 50.0]), np.array([0.0, 5.0, 0.0]),
                   np.array([0.0, 0.0, 100.0]))
    np.testing.assert_allclose(got, [0.0, c.STRAIN_MAX, 0.5])


# ------------------------------------------------------------------------------ caption
def fake_model(rows_before: dict, rows_now: dict, week: int, events=()):
    """Just what ``caption`` reads: two weeks of per-city rows."""
    def rows(values: dict, w: int) -> dict:
        n = len(values["municipality"])
        out = {k: np.asarray(v) for k, v in values.items()}
        out["week"] = np.full(n, w)
        for svc in SERVICES:
            out.setdefault(f"waiting_{svc}", np.zeros(n))
        return out

    return SimpleNamespace(
        municipal_history=[rows(rows_before, week - 1), rows(rows_now, week)],
        events=list(events), running=True,
        date_of=lambda w: date(2023, 1, 2) + (date(2023, 1, 9) - date(2023, 1, 2)) * w)


def test_caption_names_the_fullest_city_the_people_outside_and_the_biggest_change():
    before = {"municipality": ["Toronto", "Ottawa"], "shelter_beds": [1000.0, 500.0],
              "shelter_occupancy": [1300.0, 400.0], "unsheltered": [200.0, 0.0],
              "waiting_language": [1000.0, 300.0], "waiting_employment": [50.0, 50.0]}
    now = dict(before, shelter_occupancy=[1400.0, 450.0], unsheltered=[350.0, 0.0],
               waiting_language=[1150.0, 350.0], waiting_employment=[60.0, 40.0])
    text = c.caption(fake_model(before, now, week=22, events=[(22, "Council caps intake")]))
    assert text == ("Week 23 (5 Jun 2023): Toronto's shelters are 140% full; 350 people are "
                    "sleeping outside in Toronto; the language waiting list grew by 200 "
                    "(now 1,500). News: Council caps intake.")


def test_caption_of_the_real_model_matches_its_numbers(stepped):
    rows = stepped.municipal_history[-1]
    text = c.caption(stepped)
    assert text.startswith(f"Week {WEEKS} (")
    full = rows["shelter_occupancy"] / rows["shelter_beds"]
    i = int(np.argmax(full))
    assert f"{rows['municipality'][i]}'s shelters are {100 * full[i]:.0f}% full" in text
    outside = rows["unsheltered"].sum()
    assert (f"{round(outside):,} people are sleeping outside" in text if outside > 1
            else "sleeping outside" in text)
    change = {s: stepped.municipal_history[-1][f"waiting_{s}"].sum()
              - stepped.municipal_history[-2][f"waiting_{s}"].sum() for s in SERVICES}
    svc = max(SERVICES, key=lambda k: abs(change[k]))
    if round(change[svc]):
        assert f"{c.SERVICE_LABELS[svc]} waiting list" in text
        assert f"by {round(abs(change[svc])):,}" in text


# ------------------------------------------------------------------------------ compare
HEAD = [OUTCOMES[h] for h in ("people in shelter", "sleeping outside")]


def test_twin_with_no_change_is_identical_so_only_the_lever_differs():
    main = AppModel(preset="classroom")
    twin = cmp.Twin(main, {})
    for _ in range(8):
        main.step()
    twin.sync(main)
    rows = cmp.compare_rows(main, twin.model, cmp.table_outcomes(HEAD))
    assert all(diff == "0" or diff.endswith("0.0%") or set(diff) <= set("0.$K%")
               for _, _, _, diff, _ in rows), rows


def test_twin_flips_one_lever_and_keeps_step_with_the_model(stepped):
    twin = cmp.Twin(stepped, "shelter beds")
    assert twin.changes == {"shelter_beds": 2.0}
    assert twin.model.app_params == {**stepped.app_params, "shelter_beds": 2.0}
    twin.sync(stepped)
    assert twin.model.week == stepped.week
    (label, a, b, _, _), = cmp.compare_rows(stepped, twin.model, HEAD[:1])
    assert a == f"{round(totals(stepped)['shelter_occupancy'][-1]):,}"
    assert b == f"{round(totals(twin.model)['shelter_occupancy'][-1]):,}"
    html = cmp.compare_html(stepped, twin.model, twin.changes, HEAD)
    assert "shelter beds ×1 → ×2" in html
    assert f"week {WEEKS}" in html
    chart = cmp.compare_chart(stepped, twin.model, OUTCOMES["sleeping outside"])
    np.testing.assert_array_equal(series(chart, "B").y, totals(twin.model)["unsheltered"])


@pytest.mark.parametrize("lever", list(cmp.COMPARE_LEVERS))
def test_every_compare_lever_changes_exactly_one_setting(lever):
    params = dict(DEFAULTS)
    changes = cmp.COMPARE_LEVERS[lever](params)
    assert len(changes) == 1
    (name, value), = changes.items()
    assert value != params[name]
    if name in POLICY_LEVERS and params[name] == AS_IN_SCENARIO:
        assert value == ALL_CITIES
    # the flip changes B's scenario, not only its arguments
    assert (build_scenario(**{**params, **changes}).model_dump()
            != build_scenario(**params).model_dump())


# ------------------------------------------------------------------------------ the page
@pytest.fixture
def page():
    from app.page import Page

    _, rc = solara.render(solara.AppLayout(children=[Page()]), handle_error=False)
    yield rc
    rc.close()  # else it would listen to Mesa's update_counter in the next tests too


def caption_text(rc) -> str:
    return rc.find(ipyvuetify.Html, class_="app-caption").widget.children[0]


def view_svg(rc, name: str) -> str:
    """The SVG text of a chart on the page (ChartBox widgets carry it in ``svg``)."""
    def walk(w):
        yield w
        for child in getattr(w, "children", None) or []:
            if isinstance(child, ipywidgets.Widget):
                yield from walk(child)

    return next(w.svg for w in walk(rc.container) if isinstance(getattr(w, "svg", None), str)
                and f"data-chart='{name}'" in w.svg)


def click_tab(rc, name: str) -> None:
    from app.page import TABS

    assert name in TABS
    rc.find(ipyvuetify.BtnToggle).widget.v_model = name


def test_page_steps_and_every_view_follows(page):
    assert caption_text(page).startswith("Week 0 ")
    step = page.find(ipyvuetify.Btn, children=["Step"]).widget
    for _ in range(3):
        step.click()
    assert caption_text(page).startswith("Week 3 ")
    assert "Press Step" not in view_svg(page, "compare")
    click_tab(page, "All cities")
    for name in ("shelter", "waiting", "integration", "employment", "spending"):
        svg = view_svg(page, name)
        assert "Press Step" not in svg, name
        first = re.search(r"<polyline data-label='[^']*' points='([^']*)'", svg).group(1)
        assert len(first.split()) == 3, name
    assert "Week 3 of 104" in page.find(ipyvuetify.Html, class_="app-week").widget.children[0]
    click_tab(page, "Planner")
    for name in ("city-shelter", "city-waits", "city-spending"):
        assert "Harbourview" in view_svg(page, name)


def test_a_lever_changed_mid_run_applies_from_this_week_and_is_marked(page):
    step = page.find(ipyvuetify.Btn, children=["Step"]).widget
    step.click()
    step.click()
    select = page.find(ipyvuetify.Select, label="Shelter intake cap").widget
    select.v_model = NO_CITY
    assert caption_text(page).startswith("Week 2 ")  # no restart
    step.click()
    assert caption_text(page).startswith("Week 3 ")
    assert "data-mark='week 3: no shelter intake cap in any city'" in view_svg(page, "compare")
    compare = page.find(ipyvuetify.Select, label="B flips").widget
    compare.v_model = "shelter intake cap"
    assert "intake cap: as in scenario → all cities" in " ".join(
        w.unsafe_innerHTML for w in page.find(HTML).widgets
        if "app-compare-table" in (w.unsafe_innerHTML or ""))


def test_a_lever_a_timeline_cannot_change_restarts_at_week_0(page):
    page.find(ipyvuetify.Btn, children=["Step"]).widget.click()
    page.find(ipyvuetify.Checkbox, label=MODEL_PARAMS_LABEL).widget.v_model = True
    assert caption_text(page).startswith("Week 0 ")


def test_switching_preset_resets_the_levers(page):
    page.find(ipyvuetify.Checkbox, label=MODEL_PARAMS_LABEL).widget.v_model = True
    select = page.find(ipyvuetify.Select, label="Scenario (bundled preset)").widget
    select.v_model = "funding_adhoc"
    assert page.find(ipyvuetify.Checkbox, label=MODEL_PARAMS_LABEL).widget.v_model is False


def test_switching_preset_rebuilds_the_model_with_its_cities(page):
    select = page.find(ipyvuetify.Select, label="Scenario (bundled preset)").widget
    select.v_model = "americas_city_network"
    page.find(ipyvuetify.Btn, children=["Step"]).widget.click()
    click_tab(page, "All cities")
    svg = view_svg(page, "map")
    for name in load_scenario(SCENARIO_DIR / "americas_city_network.toml").municipalities:
        assert f"data-city='{name.name}'" in svg


def test_a_step_is_one_render_pass_of_reacton_s_fast_renderer(page):
    """What makes a Step fast (docs/app.md, "How fast"): the page is rendered by reacton's
    fast renderer, which re-renders only what changed, and a Step is one render pass (the
    run buttons' and Main's listeners batched), in which Main runs once and the controls
    panel not at all."""
    from reacton.core import _RenderContextFast

    from app.page import Controls, Main

    assert isinstance(page, _RenderContextFast)
    step = page.find(ipyvuetify.Btn, children=["Step"]).widget
    step.click()
    before = (page.render_count, Main.render_count, Controls.render_count)
    for _ in range(3):
        step.click()
    after = (page.render_count, Main.render_count, Controls.render_count)
    assert [b - a for a, b in zip(before, after, strict=True)] == [3, 3, 0]
    assert caption_text(page).startswith("Week 4 ")


def test_solaras_badge_is_switched_off():
    import solara.server.settings

    import app.page  # noqa: F401  (sets it)

    assert solara.server.settings.theme.show_banner is False


def test_only_the_servers_noise_warnings_are_filtered():
    from app import quiet_warnings

    cookie = ("Cookies with samesite=none require https, but according to the asgi "
              "framework, the scheme is 'http'")
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("always")
        quiet_warnings()
        warnings.warn(cookie, UserWarning, stacklevel=1)
        warnings.warn("ComponentsView: `use_state` found despite early return",
                      UserWarning, stacklevel=1)
        warnings.warn("Cookies are fine", UserWarning, stacklevel=1)
        warnings.warn(cookie, DeprecationWarning, stacklevel=1)
    assert [(str(w.message)[:16], w.category) for w in caught] == [
        ("Cookies are fine", UserWarning), (cookie[:16], DeprecationWarning)]


# ------------------------------------------------------------------------------ the CLI
def test_app_subcommand_listens_on_loopback_by_default():
    import argparse

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["app"])
    assert (args.host, args.port, args.scenario) == ("127.0.0.1", 8765, None)
    cmd = server_command(args.host, 8123)
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert "0.0.0.0" not in cmd
    assert "--production" in cmd
    assert cmd[cmd.index("--port") + 1] == "8123"
    env = server_env("classroom")
    assert env["RECEPTION_APP_SCENARIO"] == "classroom"
    assert "HOST" not in env
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"


def test_app_subcommand_checks_the_scenario(tmp_path):
    assert resolve_scenario("classroom") == "classroom"
    with pytest.raises(ScenarioError):
        resolve_scenario("no_such_preset")
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario]\nname = 'x'\n")
    with pytest.raises(ScenarioError):
        resolve_scenario(str(bad))


def test_assets_are_the_packages_solaras_page_names():
    from app import assets

    needed = assets.needed()
    assert "requirejs@2.3.6" in needed
    assert any(s.startswith("@widgetti/solara-vuetify") for s in needed)
    assert all(re.fullmatch(r"(@[\w.-]+/)?[\w.-]+@\d+\.\d+\.\d+\S*", s) for s in needed)
