"""The classroom and planner app: ``solara run app/page.py`` serves ``page``.

The page has Mesa's Step / Play / Reset semantics and Mesa's ``update_counter`` (the
views redraw when it is bumped), with the app's own controls and views. It does not
call ``SolaraViz`` itself because a changed setting must rebuild the model at once (a
new preset is a different set of cities), whereas SolaraViz applies changed parameters
only on Reset, and Mesa's ``ModelController`` keeps its play state to itself, so a
rebuilt model would go on playing with no way to pause it. Here every change of a
control stops play and rebuilds the model at week 0, and Reset rebuilds it with the
same settings. The controls are declared in Mesa's ``model_params`` format
(``MODEL_PARAMS``), so ``SolaraViz(AppModel(), model_params=MODEL_PARAMS,
components=[make_view(shelter_chart, "shelter"), ...])`` works too. Each browser session
has its own model.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

if __package__ in (None, ""):  # run as a script (solara run app/page.py): find the repo
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
# as in app/__init__.py, which a script run imports only after Mesa
warnings.filterwarnings("ignore", message=".*ComponentsView: `use_state` found despite",
                        category=UserWarning)

import solara  # noqa: E402
from mesa.visualization.user_param import Slider  # noqa: E402
from mesa.visualization.utils import force_update, update_counter  # noqa: E402

from app.cli import SCENARIO_ENV  # noqa: E402
from app.components import Dashboard  # noqa: E402
from app.model import (  # noqa: E402
    DEFAULTS,
    POLICY_CHOICES,
    PRESETS,
    SURGE_START_WEEK,
    SURGE_WEEKS,
    AppModel,
)
from sim.scenario import ScenarioError  # noqa: E402

TITLE = "Migrant reception: classroom and planner"
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
    "intake_cap": {"type": "Select", "value": DEFAULTS["intake_cap"], "values": POLICY_CHOICES,
                   "label": "Shelter intake cap"},
    "predictable_funding": {"type": "Checkbox", "value": DEFAULTS["predictable_funding"],
                            "label": "Predictable funding (core grants, IHAP pays every claim)"},
    "classroom_speed": {"type": "Checkbox", "value": DEFAULTS["classroom_speed"],
                        "label": "Classroom speed (fewer agents)"},
}


def _value(spec) -> object:
    return spec.value if isinstance(spec, Slider) else spec["value"]


def initial_params() -> dict:
    return {name: _value(spec) for name, spec in MODEL_PARAMS.items()}


@solara.component
def ModelInfo(model):
    """Week, horizon, scale and the preset's question."""
    update_counter.get()
    sc = model.scenario
    solara.Text(f"Week {model.week} of {sc.run.weeks} · 1 agent = {sc.run.scale:g} people · "
                f"{len(model.municipalities)} cities", classes=["app-week"])
    if sc.scenario.question:
        solara.Text(sc.scenario.question, style={"font-style": "italic", "font-size": "0.85rem"})


LABEL_STYLE = {"font-size": "0.9rem", "margin-bottom": "-6px", "color": "#333"}


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

    def play_loop():
        m = model.value
        while playing.value and model.value is m and m.running:
            time.sleep(interval_ms / 1000)
            for _ in range(weeks_per_redraw):
                if not (playing.value and model.value is m and m.running):
                    break
                m.step()
            force_update()
        if model.value is m:
            playing.value = False

    solara.lab.use_task(play_loop, dependencies=[playing.value, current],
                        prefer_threaded=True)

    def step():
        for _ in range(weeks_per_redraw):
            if current.running:
                current.step()
        force_update()

    with solara.Row(justify="space-between"):
        solara.Button(label="Reset", color="primary", on_click=on_reset)
        solara.Button(label="❚❚ Pause" if playing.value else "▶ Play", color="primary",
                      on_click=lambda: playing.set(not playing.value),
                      disabled=not current.running)
        solara.Button(label="Step", color="primary", on_click=step,
                      disabled=playing.value or not current.running)


@solara.component
def Page():
    initial = solara.use_memo(lambda: AppModel(**initial_params()), [])
    model = solara.use_reactive(initial)
    params = solara.use_reactive(initial_params())
    error = solara.use_reactive(None)
    playing = solara.use_reactive(False)
    render_interval = solara.use_reactive(1)

    def rebuild(new: dict) -> None:
        playing.value = False
        params.value = new
        try:
            model.value = AppModel(**new)
            error.value = None
        except ScenarioError as e:
            error.value = "; ".join(e.problems)

    def on_change(name, value):
        if params.value.get(name) != value:
            rebuild({**params.value, name: value})

    def defaults():
        rebuild({**initial_params(), "preset": params.value["preset"]})

    with solara.AppBar():
        solara.AppBarTitle(TITLE)
    with solara.Sidebar(), solara.Column():
        with solara.Card("Run"):
            RunControls(model, playing, on_reset=lambda: rebuild(dict(params.value)),
                        interval_ms=PLAY_INTERVAL_MS, weeks_per_redraw=render_interval.value)
            solara.Text(f"Weeks per redraw: {render_interval.value}", style=LABEL_STYLE)
            solara.SliderInt("", value=render_interval, min=1, max=13)
            ModelInfo(model.value)
        with solara.Card("Scenario and levers"):
            solara.Text("Changing a control restarts the run at week 0.",
                        style={"font-size": "0.85rem", "color": "#555"})
            Controls(params.value, on_change)
            solara.Button("Levers back to the preset's own", on_click=defaults, text=True,
                          color="primary")
            if error.value:
                solara.Error(error.value)
    Dashboard(model.value)


page = Page()
