"""The classroom and planner app: ``solara run app/page.py`` serves ``page``.

The page has Mesa's Step / Play / Reset semantics and Mesa's ``update_counter`` (the
views redraw when it is bumped), with the app's own controls and views. It does not
call ``SolaraViz`` itself because a changed setting must rebuild the model at once (a
new preset is a different set of cities), whereas SolaraViz applies changed parameters
only on Reset, and Mesa's ``ModelController`` keeps its play state to itself, so a
rebuilt model would go on playing with no way to pause it. Here a changed control
either applies from the current week through the model's timeline ("apply from this
week", the levers a timeline can change) or stops play and rebuilds the model at week 0;
Reset rebuilds it with the controls' settings from week 0. The controls are declared in
Mesa's ``model_params`` format (``MODEL_PARAMS``), so ``SolaraViz(AppModel(),
model_params=MODEL_PARAMS, components=[make_view(shelter_chart, "shelter"), ...])``
works too. Each browser session has its own model.

The layout (top bar with the run buttons, a controls panel that can be hidden and that
stacks above the charts below 1100 CSS px) is written for projectors: see docs/app.md.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script (solara run app/page.py): find the repo
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
# Reacton's fast renderer (opt-in, fuzz-tested against the default one by reacton): a
# Step then re-renders the views under ``Main`` and the run buttons, not the controls
# panel too; it halved the server's time per Step (docs/app.md, "How fast"). Read at each
# render, so setting it before the first page is rendered is enough; REACTON_FAST=0 in
# the environment keeps the default renderer.
os.environ.setdefault("REACTON_FAST", "1")
from app import quiet_warnings  # noqa: E402

quiet_warnings()  # before Mesa is imported (a script run imports app only here)

import sim.mesa_import  # noqa: E402, F401  (Mesa first, by its cheap import)

# isort: split
import solara  # noqa: E402
import solara.server.settings  # noqa: E402
from mesa.visualization.user_param import Slider  # noqa: E402
from mesa.visualization.utils import force_update, update_counter  # noqa: E402
from reacton.core import get_render_context  # noqa: E402

from app import SCENARIO_ENV  # noqa: E402
from app.compare import COMPARE_LEVERS, Twin  # noqa: E402
from app.components import (  # noqa: E402
    CSS,
    CaptionView,
    CompareView,
    ExportView,
    LessonCard,
    MarksList,
    Monitors,
    PlannerView,
    SystemView,
    outcome_choices,
)
from app.crisis import ACT_PRESSURES, FEDERAL_SHELTER, RESPONSE_SPEEDS  # noqa: E402
from app.lessons import BY_KEY, LESSONS  # noqa: E402
from app.model import (  # noqa: E402
    DEFAULTS,
    POLICY_CHOICES,
    PRESETS,
    SURGE_START_WEEK,
    SURGE_WEEKS,
    AppModel,
)
from sim.scenario import ScenarioError  # noqa: E402

solara.server.settings.theme.show_banner = False  # its badge covered the charts' axes

TITLE = "Migrant reception"
PLAY_INTERVAL_MS = 100  # Mesa's default play interval

# The preset to start with: `reception app SCENARIO` passes it in the environment.
START_PRESET = os.environ.get(SCENARIO_ENV) or DEFAULTS["preset"]

# Controls, in Mesa's model_params format (AppModel's keyword arguments).
MODEL_PARAMS: dict = {
    "preset": {"type": "Select", "value": START_PRESET,
               "values": PRESETS if START_PRESET in PRESETS else [*PRESETS, START_PRESET],
               "label": "Scenario (bundled preset)"},
    "seed": {"type": "SliderInt", "value": DEFAULTS["seed"], "min": 0, "max": 99, "step": 1,
             "label": "Seed"},
    "federal_funding": Slider("Federal settlement funding", DEFAULTS["federal_funding"],
                              0.0, 3.0, 0.1),
    "municipal_budget": Slider("Municipal newcomer budget", DEFAULTS["municipal_budget"],
                               0.0, 3.0, 0.1),
    "shelter_beds": Slider("Shelter beds", DEFAULTS["shelter_beds"], 0.0, 3.0, 0.1),
    "arrivals": Slider("Arrivals", DEFAULTS["arrivals"], 0.0, 3.0, 0.1),
    "surge": Slider(f"Asylum surge, weeks {SURGE_START_WEEK}-{SURGE_START_WEEK + SURGE_WEEKS - 1}",
                    DEFAULTS["surge"], 1.0, 5.0, 0.5),
    "access_without_fear": {"type": "Select", "value": DEFAULTS["access_without_fear"],
                            "values": POLICY_CHOICES, "label": "Access without fear"},
    "lip": {"type": "Select", "value": DEFAULTS["lip"], "values": POLICY_CHOICES,
            "label": "LIP coordination"},
    "rif": {"type": "Select", "value": DEFAULTS["rif"], "values": POLICY_CHOICES,
            "label": "Francophone networks (RIF, outside Québec)"},
    "intake_cap": {"type": "Select", "value": DEFAULTS["intake_cap"], "values": POLICY_CHOICES,
                   "label": "Shelter intake cap"},
    "emergency_response": {"type": "Select", "value": DEFAULTS["emergency_response"],
                           "values": POLICY_CHOICES, "label": "Cities open emergency places"},
    "response_speed": {"type": "Select", "value": DEFAULTS["response_speed"],
                       "values": list(RESPONSE_SPEEDS), "label": "Response speed"},
    "act_pressure": {"type": "Select", "value": DEFAULTS["act_pressure"],
                     "values": list(ACT_PRESSURES),
                     "label": "Pressure to act a council needs (0-1)"},
    "federal_shelter": {"type": "Select", "value": DEFAULTS["federal_shelter"],
                        "values": list(FEDERAL_SHELTER), "label": "Federal shelter money"},
    "predictable_funding": {"type": "Checkbox", "value": DEFAULTS["predictable_funding"],
                            "label": "Predictable funding (core grants, IHAP pays every claim)"},
    "classroom_speed": {"type": "Checkbox", "value": DEFAULTS["classroom_speed"],
                        "label": "Classroom speed (fewer agents)"},
}


def _value(spec) -> object:
    return spec.value if isinstance(spec, Slider) else spec["value"]


def initial_params() -> dict:
    return {name: _value(spec) for name, spec in MODEL_PARAMS.items()}




# Levers a timeline can change during a run (the others need a restart at week 0).
MIDRUN = ("federal_funding", "municipal_budget", "shelter_beds", "arrivals",
          "access_without_fear", "lip", "rif", "intake_cap", "emergency_response",
          "response_speed", "act_pressure", "federal_shelter")
TABS = ["Lesson", "All cities", "Planner", "Export"]
FREE = "(free exploration)"
TITLES = {les.key: les.title for les in LESSONS}
KEYS = {les.title: les.key for les in LESSONS}
LABEL_STYLE = {"margin-bottom": "-6px", "color": "#333"}


@solara.component
def Controls(params: dict, on_change):
    """The controls of ``MODEL_PARAMS`` showing the current ``params`` (label: value)."""
    for name, spec in MODEL_PARAMS.items():
        value = params[name]

        def changed(v, name=name):
            on_change(name, v)

        with solara.Column(gap="0px", classes=[f"lever-{name}"]):
            if isinstance(spec, Slider):
                solara.Text(f"{spec.label}: ×{value:g}", style=LABEL_STYLE)
                solara.SliderFloat("", value=value, min=spec.min, max=spec.max, step=spec.step,
                                   on_value=changed)
            elif spec["type"] == "SliderInt":
                solara.Text(f"{spec['label']}: {value}", style=LABEL_STYLE)
                solara.SliderInt("", value=value, min=spec["min"], max=spec["max"],
                                 step=spec["step"], on_value=changed)
            elif spec["type"] == "Select":
                solara.Select(spec["label"], value=value, values=spec["values"],
                              on_value=changed)
            elif spec["type"] == "Checkbox":
                solara.Checkbox(label=spec["label"], value=value, on_value=changed)


@solara.component
def RunControls(model, playing, on_reset, interval_ms: int, weeks_per_redraw: int):
    """Reset, Play/Pause and Step (as Mesa's ModelController), with play state outside.

    Play steps the model it started with, ``weeks_per_redraw`` weeks per redraw, every
    ``interval_ms``; it stops at the horizon, on Pause, and when the model is replaced.
    """
    update_counter.get()
    current = model.value
    render_context = get_render_context()

    def redraw() -> None:
        """Bump ``update_counter`` in one batch: its two listeners (this and ``Main``)
        then re-render the page once, not once each."""
        with render_context:
            force_update()

    def play_loop():
        m = model.value
        while playing.value and model.value is m and m.running:
            time.sleep(interval_ms / 1000)
            for _ in range(weeks_per_redraw):
                if not (playing.value and model.value is m and m.running):
                    break
                m.step()
            redraw()
        if model.value is m:
            playing.value = False

    solara.lab.use_task(play_loop, dependencies=[playing.value, current],
                        prefer_threaded=True)

    def step():
        for _ in range(weeks_per_redraw):
            if current.running:
                current.step()
        redraw()

    with solara.Row(gap="6px", style={"align-items": "center"}) as main:
        solara.Button(label="Reset", color="primary", on_click=on_reset,
                      classes=["app-reset"])
        solara.Button(label="❚❚ Pause" if playing.value else "▶ Play", color="primary",
                      on_click=lambda: playing.set(not playing.value),
                      disabled=not current.running)
        solara.Button(label="Step", color="primary", on_click=step,
                      disabled=playing.value or not current.running)
        solara.Text(f"Week {current.week} of {current.scenario.run.weeks}",
                    classes=["app-week"])
    return main


@solara.component
def Main(model, b_choice, lesson, tab: str, city: str, on_city, large: bool, on_override):
    """The selected tab, redrawn after each step; B is kept in step with A here."""
    update_counter.get()
    week = model.week
    changes = b_choice if isinstance(b_choice, dict) else None
    key = str(sorted(changes.items())) if changes else b_choice
    twin = solara.use_memo(lambda: Twin(model, changes if changes else b_choice),
                           [model, key])
    twin.sync(model)
    cities = [m.name for m in model.municipalities]
    city = city if city in cities else cities[0]
    with solara.Column(gap="8px") as main:
        Monitors(model, week)
        with solara.Column(classes=["app-card"], gap="0px"):
            CaptionView(model, week)
        if tab == "Lesson":
            if lesson is not None:
                LessonCard(lesson)
            with solara.Column(classes=["app-card"], gap="4px"):
                solara.Text("Compare A with B" + ("" if lesson else " (one lever flipped)"),
                            style={"font-weight": "bold"})
                CompareView(model, twin, week, outcome_choices(lesson), large,
                            (lesson.a_name, lesson.b_name) if lesson else None)
            MarksList(model, week, twin=twin.model)
        elif tab == "All cities":
            SystemView(model, week, large, on_city)
            MarksList(model, week)
        elif tab == "Planner":
            PlannerView(model, week, city, cities, on_city, large, on_override)
        else:
            ExportView(model, twin, week)
    return main


@solara.component
def Page():
    initial = solara.use_memo(lambda: AppModel(**initial_params()), [])
    model = solara.use_reactive(initial)
    params = solara.use_reactive(initial_params())
    overrides = solara.use_reactive({})
    error = solara.use_reactive(None)
    notice = solara.use_reactive(None)
    playing = solara.use_reactive(False)
    render_interval = solara.use_reactive(1)
    lesson_key = solara.use_reactive(FREE)
    flip = solara.use_reactive("shelter beds")
    tab = solara.use_reactive("Lesson")
    city = solara.use_reactive("")
    large = solara.use_reactive(False)
    side_open = solara.use_reactive(True)
    midrun = solara.use_reactive(True)

    def rebuild(new: dict, new_overrides: dict | None = None) -> None:
        playing.value = False
        new_overrides = overrides.value if new_overrides is None else new_overrides
        try:
            model.value = AppModel(**new, overrides=tuple(new_overrides.items()))
            params.value = new
            overrides.value = new_overrides
            error.value = None
        except ScenarioError as e:
            error.value = "; ".join(e.problems)

    def apply(levers: dict, new_overrides: dict) -> None:
        """From this week through the timeline when possible, else restart at week 0."""
        m = model.value
        if midrun.value and m.week > 0 and m.running:
            fixed = m.change_levers(levers, new_overrides)
            if not fixed:
                params.value = {**params.value, **levers}
                overrides.value = {**overrides.value, **new_overrides}
                notice.value = f"Applied from week {m.week + 1} (marked on the charts)."
                force_update()
                return
            notice.value = ("Restarted at week 0: this change cannot be made during a run "
                            f"({', '.join(fixed[:2])}).")
        else:
            notice.value = None
        rebuild({**params.value, **levers}, {**overrides.value, **new_overrides})

    def on_change(name, value):
        if params.value.get(name) == value:
            return
        if name == "preset":  # a different set of cities: the preset's own settings
            lesson_key.value = FREE
            notice.value = None
            rebuild({**initial_params(), "preset": value}, {})
        elif name in MIDRUN:
            apply({name: value}, {})
        else:
            notice.value = None
            rebuild({**params.value, name: value})

    def on_lesson(key):
        lesson_key.value = key
        if key != FREE:
            lesson = BY_KEY[key]
            tab.value = "Lesson"
            notice.value = None
            rebuild({**initial_params(), "preset": lesson.preset,
                     **{k: v for k, v in lesson.a.items() if k != "overrides"}},
                    dict(lesson.a.get("overrides", ())))

    def defaults():
        notice.value = None
        rebuild({**initial_params(), "preset": params.value["preset"]}, {})

    lesson = BY_KEY.get(lesson_key.value)
    b_choice = dict(lesson.b) if lesson else flip.value
    root = ["app-root"] + (["app-large"] if large.value else [])
    solara.Style(CSS)
    with solara.Div(classes=root):
        with solara.Div(classes=["app-topbar"]):
            solara.Text(TITLE, classes=["app-title"])
            solara.Button("☰ Controls" if not side_open.value else "✕ Hide controls",
                          on_click=lambda: side_open.set(not side_open.value),
                          classes=["app-toggle-controls"])
            RunControls(model, playing, on_reset=lambda: rebuild(dict(params.value)),
                        interval_ms=PLAY_INTERVAL_MS, weeks_per_redraw=render_interval.value)
            solara.ToggleButtonsSingle(value=tab, values=TABS, classes=["app-tabs"])
            solara.Checkbox(label="Large text", value=large)
        with solara.Div(classes=["app-body"]):
            if side_open.value:
                with solara.Div(classes=["app-side"]):
                    with solara.Card("Lesson", margin=0):
                        solara.Select("Lesson", value=TITLES.get(lesson_key.value, FREE),
                                      values=[FREE] + [les.title for les in LESSONS],
                                      on_value=lambda t: on_lesson(KEYS.get(t, FREE)))
                        if lesson is None:
                            solara.Select("B flips", value=flip.value,
                                          values=list(COMPARE_LEVERS), on_value=flip.set)
                    with solara.Card("Scenario and levers", margin=0):
                        solara.Checkbox(label="Changes apply from this week (no restart)",
                                        value=midrun)
                        solara.Text("Reset restarts at week 0 with the settings below.",
                                    style={"color": "#555"})
                        if notice.value:
                            solara.Info(notice.value, classes=["app-notice"])
                        Controls(params.value, on_change)
                        solara.Button("Levers back to the preset's own", on_click=defaults,
                                      text=True, color="primary")
                        if error.value:
                            solara.Error(error.value)
                        solara.Text(f"Weeks per redraw: {render_interval.value}",
                                    style=LABEL_STYLE)
                        solara.SliderInt("", value=render_interval, min=1, max=13)
                        sc = model.value.scenario
                        solara.Text(f"1 agent = {sc.run.scale:g} people · "
                                    f"{len(model.value.municipalities)} cities",
                                    style={"color": "#555"})
            with solara.Div(classes=["app-main"]):
                Main(model.value, b_choice, lesson, tab.value, city.value, city.set,
                     large.value, lambda o: apply({}, o))


page = Page()
