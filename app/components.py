"""Solara components of the app: charts, caption, monitors, lesson, compare, planner, export.

Only ``Main`` (and the run buttons) listen to Mesa's ``update_counter`` (bumped after each
Step); they pass the week down, so one step re-renders each view once. Charts are SVG
text (``app.views``) shown by ``ChartBox`` (app/chartbox.vue), which also saves them as
SVG or PNG in the browser and reports clicks on a city of the map.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import solara

from app import export, views
from app.charts import Chart, esc
from app.compare import compare_chart, compare_html, table_outcomes
from app.lessons import Lesson
from app.outcomes import OUTCOMES, Outcome, fmt_money
from app.replicates import Replicates, run_replicates

HERE = Path(__file__).resolve().parent

# The layout (see docs/app.md, "Projector"): charts are never shown narrower than
# GRID_MIN px, so their 15-unit text (app.charts.FONT_SIZE) is >= 14 px.
GRID_MIN = 500
CSS = f"""
.app-root {{ font-size: 16px; }}
.app-root.app-large {{ font-size: 21px; }}
.app-root .v-label, .app-root .v-field, .app-root .v-btn, .app-root .v-select__selection-text
  {{ font-size: 1em !important; }}
.app-topbar {{ position: sticky; top: 0; z-index: 20; display: flex; flex-wrap: wrap;
  gap: 6px 10px; align-items: center; background: #263238; color: white; padding: 6px 10px; }}
.app-topbar .app-title, .app-topbar .app-week {{ font-weight: bold; color: white; }}
.app-topbar > div, .app-topbar .v-sheet {{ background: transparent !important; }}
.app-topbar .v-input {{ flex: none; }}
.app-topbar .v-input__details {{ display: none; }}  /* an empty message row under a box */
.app-topbar .v-selection-control {{ min-height: 40px; }}
@media (max-height: 520px) {{  /* 150-200% zoom on a 768-px screen: a compact top bar */
  .app-topbar {{ padding: 3px 6px; gap: 3px 6px; }}
  .app-topbar .app-title {{ display: none; }}
  .app-topbar .v-btn {{ height: 32px !important; padding: 0 10px !important; }}
  .app-topbar .v-btn-group {{ height: auto; }}
  .app-topbar .v-selection-control {{ min-height: 32px; }}
}}
.app-body {{ display: flex; align-items: flex-start; }}
.app-side {{ flex: 0 0 320px; width: 320px; padding: 6px; position: sticky; top: 56px;
  max-height: calc(100vh - 60px); overflow-y: auto; }}
.app-main {{ flex: 1 1 auto; min-width: 0; padding: 6px; }}
@media (max-width: 1100px) {{
  .app-topbar > div, .app-topbar .v-sheet {{ background: transparent !important; }}
.app-body {{ flex-direction: column; }}
  .app-side {{ position: static; width: 100%; max-height: none; flex: none; }}
}}
.app-grid {{ display: grid; gap: 8px;
  grid-template-columns: repeat(auto-fill, minmax(min({GRID_MIN}px, 100%), 1fr)); }}
.app-card {{ background: white; border: 1px solid #ddd; border-radius: 6px; padding: 4px; }}
.app-chartbox-tools {{ text-align: right; }}
.app-dl {{ font-size: 14px; margin-left: 6px; padding: 0 8px; border: 1px solid #999;
  border-radius: 4px; background: #f5f5f5; color: #222; }}
.app-monitors {{ display: flex; flex-wrap: wrap; gap: 8px; }}
.app-monitor {{ background: #eceff1; border-radius: 6px; padding: 4px 10px; min-width: 9em; }}
.app-monitor b {{ font-size: 1.4em; display: block; }}
.app-compare-table {{ border-collapse: collapse; width: 100%; font-size: 1em; }}
.app-compare-table td, .app-compare-table th {{ padding: 2px 6px;
  border-bottom: 1px solid #ddd; }}
.app-compare-table .num {{ text-align: right; }}
.app-lesson-card {{ background: #fff8e1; border-left: 6px solid #ffb300; padding: 8px 12px; }}
.app-marks ol {{ padding-left: 1.8em; }}
.app-question {{ font-weight: bold; font-size: 1.15em; }}
"""


@solara.component_vue(str(HERE / "chartbox.vue"))
def ChartBox(svg: str, name: str, event_select: Callable[[str], None] | None = None):
    """An SVG chart with SVG / PNG download buttons; clicks on ``data-city`` select it."""


@solara.component
def SvgView(model, week: int, draw: Callable, name: str = "chart", large: bool = False,
            on_select: Callable[[str], None] | None = None):
    """The SVG of ``draw(model)`` (a ``Chart`` or an SVG string) for ``week``."""

    def render() -> str:
        out = draw(model)
        return out.svg(large) if isinstance(out, Chart) else out

    svg = solara.use_memo(render, [model, week, draw, large])
    with solara.Column(classes=["app-view", f"app-{name}", "app-card"], gap="0px") as main:
        ChartBox(svg=svg, name=f"{name}-week{week}", event_select=on_select)
    return main


def make_view(draw: Callable, name: str):
    """A component function ``View(model)`` for ``draw`` (like Mesa's make_plot_component:
    usable in ``SolaraViz(components=[...])``, where it redraws after each step)."""
    from mesa.visualization.utils import update_counter

    @solara.component
    def View(model):
        update_counter.get()
        return SvgView(model, model.week, draw, name)

    return View


@solara.component
def CaptionView(model, week: int):
    """The plain-language caption of the week."""
    text = solara.use_memo(lambda: views.caption(model), [model, week])
    return solara.Text(text, classes=["app-caption"],
                       style={"font-size": "1.15em", "line-height": "1.5"})


@solara.component
def MarksList(model, week: int, city: str | None = None, twin=None):
    """The event log: the numbered events of the charts, in plain words (with ``twin``,
    B's own events too, as on the compare chart)."""
    items = views.marks(model, city) if twin is None else views.compare_marks(model, twin,
                                                                              city)
    if not items:
        return solara.Text("")
    html = "".join(f"<li>{esc(text)}</li>" for _, text in items)
    return solara.HTML(tag="div", classes=["app-marks"],
                       unsafe_innerHTML=f"<b>Marked on the charts:</b><ol>{html}</ol>")


@solara.component
def Monitors(model, week: int, city: str | None = None):
    """A few live numbers for the system (or one city)."""
    items = views.monitors(model, city)
    cells = "".join(f"<div class='app-monitor'>{esc(label)}<b>{esc(value)}</b>"
                    f"</div>" for label, value in items)
    where = city or "All cities"
    kind = "city" if city else "all"
    return solara.HTML(tag="div", classes=["app-monitors", f"app-monitors-{kind}"],
                       unsafe_innerHTML=f"<div class='app-monitor'>{esc(where)}<b>"
                                        f"week {week}</b></div>{cells}")


@solara.component
def LessonCard(lesson: Lesson):
    """What the lesson shows and the question for the class."""
    with solara.Column(classes=["app-lesson-card"], gap="4px") as main:
        solara.Text(f"Lesson: {lesson.title}", style={"font-weight": "bold",
                                                     "font-size": "1.2em"})
        solara.Text(lesson.explanation)
        solara.Text(f"A: {lesson.a_name}. B: {lesson.b_name}.")
        solara.Text(f"Question for the class: {lesson.question}", classes=["app-question"])
    return main


@solara.component
def CompareView(model, twin, week: int, outcomes: list[Outcome], large: bool,
                names: tuple[str, str] | None = None):
    """A vs B: table, one outcome plotted, and replicate seeds run in the background."""
    titles = [o.title for o in outcomes]
    plotted, set_plotted = solara.use_state(titles[0])
    n_seeds, set_n = solara.use_state(5 if model.scenario.run.scale > 10 else 10)
    reps: solara.Reactive[Replicates | None] = solara.use_reactive(None)
    progress = solara.use_reactive(0.0)
    if plotted not in titles:
        plotted = titles[0]
    outcome = outcomes[titles.index(plotted)]
    key = (tuple(sorted(map(str, model.app_params.items()))),
           tuple(sorted(map(str, twin.model.app_params.items()))), n_seeds)

    current = solara.use_ref(key)
    current.current = key

    def run_seeds() -> None:
        """In a thread; dropped when the settings change while it runs."""
        started = key
        progress.value = 0.0
        done = run_replicates(dict(model.app_params), dict(twin.model.app_params), outcomes,
                              n_seeds, progress=progress.set,
                              cancelled=lambda: current.current != started)
        if done is not None and current.current == started:
            reps.value = done

    start = solara.lab.use_task(run_seeds, dependencies=None, prefer_threaded=True)

    solara.use_effect(lambda: reps.set(None), [key])
    table = compare_html(model, twin.model, twin.changes, outcomes, reps.value, names)
    svg = compare_chart(model, twin.model, outcome, reps.value).svg(large)
    with solara.Column(gap="4px", classes=["app-compare"]) as main:
        with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
            solara.Select("Plot", value=plotted, values=titles, on_value=set_plotted)
            solara.Text(f"Seeds: {n_seeds}")
            solara.SliderInt("", value=n_seeds, min=3, max=20, on_value=set_n)
            solara.Button(f"Run {n_seeds} seeds (chance)", color="primary",
                          on_click=start, disabled=start.pending)
            if start.pending:
                solara.ProgressLinear(value=100 * progress.value)
                solara.Text(f"{100 * progress.value:.0f}%", classes=["app-progress"])
        with solara.Div(classes=["app-grid"]):
            with solara.Column(classes=["app-view", "app-compare-chart", "app-card"],
                               gap="0px"):
                ChartBox(svg=svg, name=f"compare-week{week}")
            solara.HTML(tag="div", unsafe_innerHTML=table, classes=["app-compare-text"])
    return main


@solara.component
def PlannerView(model, week: int, city: str, cities: list[str], on_city, large: bool,
                on_override: Callable[[dict], None]):
    """One city: its numbers, its charts, and its own levers."""
    p = next(m for m in model.scenario.municipalities if m.name == city)
    base = next(m for m in model.app_data["municipalities"] if m["name"] == city)
    with solara.Column(gap="6px", classes=["app-planner"]) as main:
        solara.Select("City", value=city, values=cities, on_value=on_city)
        Monitors(model, week, city)
        with solara.Row(style={"flex-wrap": "wrap", "gap": "16px"}):
            beds = float(base.get("shelter_beds", p.shelter_beds))
            with solara.Column(gap="0px", classes=["city-beds"], style={"min-width": "260px"}):
                solara.Text(f"{city}: shelter beds {beds:,.0f}")
                solara.SliderInt("", value=int(beds), min=0,
                                 max=int(max(10, 3 * beds)), step=max(1, int(beds // 20) or 1),
                                 on_value=lambda v: on_override(
                                     {f"municipalities.{city}.shelter_beds": float(v)}))
            budget = float(base.get("newcomer_budget_per_year", p.newcomer_budget_per_year))
            with solara.Column(gap="0px", classes=["city-budget"], style={"min-width": "260px"}):
                solara.Text(f"{city}: newcomer budget {fmt_money(budget)} a year")
                solara.SliderFloat("", value=budget / 1e6, min=0.0,
                                   max=max(1.0, 3 * budget / 1e6), step=0.05,
                                   on_value=lambda v: on_override(
                                       {f"municipalities.{city}.newcomer_budget_per_year":
                                        round(v * 1e6, -3)}))
            for name in ("intake_cap", "emergency_response", "access_without_fear", "lip",
                         "welcoming_strategy"):
                value = bool(getattr(p.policies, name))
                solara.Checkbox(label=CITY_POLICY_WORDS.get(name, name.replace("_", " ")),
                                value=value,
                                on_value=lambda v, name=name: on_override(
                                    {f"municipalities.{city}.policies.{name}": bool(v)}))
        with solara.Div(classes=["app-grid"]):
            SvgView(model, week, lambda m: views.map_svg(m, city, large), "map", large,
                    on_select=on_city)
            for name, draw in (("city-shelter", views.city_shelter_chart),
                               ("city-emergency", views.city_emergency_chart),
                               ("city-waits", views.city_waits_chart),
                               ("city-spending", views.city_spending_chart)):
                SvgView(model, week, lambda m, draw=draw: draw(m, city), name, large)
        MarksList(model, week, city)
    return main


@solara.component
def ExportView(model, twin, week: int):
    """Downloads: the runs as CSV / Parquet, the settings as TOML, and the command line."""
    runs = {"A": model, "B": twin.model}
    preset = model.app_params["preset"]
    with solara.Column(gap="8px", classes=["app-export"]) as main:
        solara.Text("Charts: each chart has its own SVG and PNG buttons.")
        with solara.Row(style={"flex-wrap": "wrap"}):
            solara.FileDownload(lambda: export.table_bytes(export.runs_table(runs), "csv"),
                                filename=f"{preset}-runs-week{week}.csv",
                                label="Runs (A and B) as CSV", mime_type="text/csv")
            solara.FileDownload(lambda: export.table_bytes(export.runs_table(runs), "parquet"),
                                filename=f"{preset}-runs-week{week}.parquet",
                                label="Runs as Parquet")
            solara.FileDownload(lambda: export.scenario_toml(model),
                                filename=f"{preset}_app.toml",
                                label="Settings of A as a scenario (TOML)",
                                mime_type="application/toml")
        solara.Text("The same run from the command line:")
        solara.HTML(tag="pre", unsafe_innerHTML=esc(export.run_command(model)),
                    classes=["app-command"],
                    style={"white-space": "pre-wrap", "word-break": "break-all",
                           "background": "#f5f5f5", "padding": "6px"})
    return main


@solara.component
def SystemView(model, week: int, large: bool, on_select):
    """The whole system: the map and the five charts."""
    with solara.Div(classes=["app-grid"]) as main:
        for name, draw in VIEWS:
            if name == "map":
                SvgView(model, week, lambda m: views.map_svg(m, None, large), name, large,
                        on_select=on_select)
            else:
                SvgView(model, week, draw, name, large)
    return main


def outcome_choices(lesson: Lesson | None) -> list[Outcome]:
    """The compare table's outcomes: the lesson's first, then the headlines."""
    return table_outcomes(lesson.outcomes() if lesson else [OUTCOMES["sleeping outside"]])


# The views of the system page: (name, function of the model -> Chart or SVG string).
VIEWS: list[tuple[str, Callable]] = [
    ("map", views.map_svg),
    ("shelter", views.shelter_chart),
    ("waiting", views.waiting_chart),
    ("integration", views.integration_chart),
    ("employment", views.employment_chart),
    ("emergency", views.emergency_chart),
    ("pressure", views.pressure_chart),
    ("spending", views.spending_chart),
]
CITY_POLICY_WORDS = {"emergency_response": "opens emergency places"}
