"""Views of the app: plain functions that draw a model's state, and Solara components.

Each ``*_chart(model)`` returns a ``Chart`` (``app.charts``) of the model's own outputs
(the DataCollector's model-level columns, ``municipal_history``), ``map_svg(model)`` the
map, and ``caption(model)`` the plain-language sentence of the week; the tests check
these against the model. The Solara components wrap them and redraw when the week changes.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import solara
from mesa.visualization.utils import update_counter

from app.charts import Bubble, Chart, Series, bubble_map, esc, percent
from sim.codes import FUNDERS, SERVICES, STATUSES

STRAIN_MAX = 2.0  # strain of a city without beds where someone needs one
FUNDER_COLOURS = {"federal": "#d62728", "provincial": "#1f77b4", "municipal": "#2ca02c",
                  "charity": "#9467bd"}
SERVICE_COLOURS = {"orientation": "#8c564b", "language": "#1f77b4", "employment": "#ff7f0e",
                   "housing_help": "#2ca02c"}
STATUS_LABELS = {s: s.replace("_", " ") for s in STATUSES}
STATUS_COLOURS = dict(zip(STATUSES, ("#1f77b4", "#17becf", "#2ca02c", "#d62728", "#ff7f0e",
                                     "#9467bd", "#8c564b", "#7f7f7f"), strict=True))
SERVICE_LABELS = {"orientation": "orientation", "language": "language",
                  "employment": "employment", "housing_help": "housing help"}


# ---------------------------------------------------------------------------- data
def totals(model) -> pd.DataFrame:
    """The model-level DataCollector table so far (empty before the first step).

    Cached on the model per week: every view of one render reads the same frame.
    """
    cached = getattr(model, "_app_totals", None)
    if cached is not None and cached[0] == model.week:
        return cached[1]
    if not model.municipal_history:
        frame = pd.DataFrame()
    else:
        frame = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    model._app_totals = (model.week, frame)
    return frame


def latest_cities(model) -> dict[str, np.ndarray] | None:
    """This week's per-municipality columns (None before the first step)."""
    return model.municipal_history[-1] if model.municipal_history else None


def fmt_count(value: float) -> str:
    """People as a whole number with thousands separators ('1,234')."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{round(value):,}"


def fmt_money(value: float) -> str:
    """Dollars in millions ('$12.3M') or thousands ('$450K')."""
    if abs(value) >= 1e6:
        return f"${value / 1e6:,.1f}M"
    return f"${value / 1e3:,.0f}K"


def strain(shelter_occupancy: np.ndarray, unsheltered: np.ndarray,
           beds: np.ndarray) -> np.ndarray:
    """People who need a bed (in shelter or sleeping outside) per bed.

    A city without beds has strain 0 when nobody needs one, else ``STRAIN_MAX``.
    """
    need = np.asarray(shelter_occupancy, float) + np.asarray(unsheltered, float)
    beds = np.asarray(beds, float)
    out = np.where(need > 0, STRAIN_MAX, 0.0)
    np.divide(need, beds, out=out, where=beds > 0)
    return out


# ---------------------------------------------------------------------------- charts
def _x(frame: pd.DataFrame) -> np.ndarray:
    return frame["week"].to_numpy() if "week" in frame else np.arange(len(frame))


def shelter_chart(model) -> Chart:
    """People in shelter against the beds, people sleeping outside, interim housing."""
    chart = Chart("Shelter: people in shelter vs beds, and sleeping outside",
                  y_label="people", name="shelter")
    frame = totals(model)
    if not frame.empty:
        x = _x(frame)
        chart.series = [
            Series("beds (capacity)", x, frame["shelter_beds"].to_numpy(), "#222222", 1.5,
                   "6 4"),
            Series("in shelter", x, frame["shelter_occupancy"].to_numpy(), "#1f77b4"),
            Series("sleeping outside", x, frame["unsheltered"].to_numpy(), "#d62728"),
            Series("federal interim places", x, frame["interim_occupancy"].to_numpy(),
                   "#9467bd", 1.2),
        ]
    return chart


def waiting_chart(model) -> Chart:
    """People on each service's waiting list."""
    chart = Chart("Waiting lists by service", y_label="people waiting", name="waiting")
    frame = totals(model)
    if not frame.empty:
        chart.series = [Series(SERVICE_LABELS[s], _x(frame), frame[f"waiting_{s}"].to_numpy(),
                               SERVICE_COLOURS[s]) for s in SERVICES]
    return chart


def integration_chart(model) -> Chart:
    """Integration index (0-1) by legal status (statuses present so far), and everyone."""
    chart = Chart("Integration index by legal status", y_label="index (0-1)", y_max=1.0,
                  y_format=lambda v: f"{v:.1f}", name="integration")
    frame = totals(model)
    if not frame.empty:
        x = _x(frame)
        chart.series = [Series(STATUS_LABELS[s], x, frame[f"index_{s}"].to_numpy(),
                               STATUS_COLOURS[s], 1.3)
                        for s in STATUSES if frame[f"index_{s}"].notna().any()]
        chart.series.append(Series("everyone", x, frame["integration_index"].to_numpy(),
                                   "#000000", 3.0))
    return chart


def employment_chart(model) -> Chart:
    """Share of newcomers present who have a job, in percent."""
    chart = Chart("Employment rate of newcomers", y_label="% employed", y_max=100.0,
                  y_format=percent, name="employment")
    frame = totals(model)
    if not frame.empty:
        chart.series = [Series("employed", _x(frame),
                               100 * frame["employment_rate"].to_numpy(), "#ff7f0e")]
    return chart


def spending_chart(model) -> Chart:
    """Spending so far by order of government: stacked cumulative sums, $ millions."""
    chart = Chart("Spending so far by order of government", y_label="$ millions",
                  stacked=True, name="spending")
    frame = totals(model)
    if not frame.empty:
        chart.series = [Series(f, _x(frame), frame[f"spend_{f}"].cumsum().to_numpy() / 1e6,
                               FUNDER_COLOURS[f]) for f in FUNDERS]
    return chart


# Strain bands of the map: (upper bound of people needing a bed per bed, colour, label).
STRAIN_BANDS = [(0.5, "#1a9850", "under 50%"), (0.9, "#91cf60", "50-90%"),
                (1.1, "#fee08b", "90-110%"), (1.5, "#fc8d59", "110-150%"),
                (math.inf, "#d73027", "over 150%")]
NO_DATA = "#bbbbbb"


def strain_colour(value: float) -> str:
    return next(colour for bound, colour, _ in STRAIN_BANDS if value < bound)


def map_data(model) -> pd.DataFrame:
    """One row per municipality: position, newcomers, strain and the numbers shown."""
    rows = latest_cities(model)
    munis = model.municipalities
    frame = pd.DataFrame({
        "municipality": [m.name for m in munis],
        "lon": [m.params.lon for m in munis],
        "lat": [m.params.lat for m in munis],
    })
    if rows is None:
        for col in ("newcomers", "shelter_occupancy", "unsheltered"):
            frame[col] = 0.0
        frame["shelter_beds"] = [float(m.params.shelter_beds) for m in munis]
    else:
        for col in ("newcomers", "shelter_occupancy", "unsheltered", "shelter_beds"):
            frame[col] = np.asarray(rows[col], float)
    frame["strain"] = strain(frame["shelter_occupancy"], frame["unsheltered"],
                             frame["shelter_beds"])
    biggest = frame["newcomers"].max()
    frame["radius"] = 4.0 + (26.0 * np.sqrt(frame["newcomers"] / biggest) if biggest > 0
                             else 0.0)
    return frame


def map_svg(model) -> str:
    """Cities at their longitude and latitude: bubble area ~ newcomers present, colour =
    strain (people in shelter or sleeping outside per bed)."""
    data = map_data(model)
    started = latest_cities(model) is not None
    bubbles = []
    for row in data.itertuples():
        lines = []
        if started:
            text = (f"{100 * row.shelter_occupancy / row.shelter_beds:.0f}% full"
                    if row.shelter_beds > 0 else "no beds")
            if row.unsheltered > 0:
                text += f", {fmt_count(row.unsheltered)} outside"
            lines.append(text)
        bubbles.append(Bubble(row.municipality, row.lon, row.lat, row.radius,
                              strain_colour(row.strain) if started else NO_DATA, lines))
    legend = [(colour, label) for _, colour, label in STRAIN_BANDS]
    return bubble_map("Cities: size = newcomers, colour = shelter strain", bubbles, legend,
                      "need a bed, per bed")


# ---------------------------------------------------------------------------- caption
def caption(model) -> str:
    """What just happened, in one or two plain sentences.

    E.g. "Week 23 (5 Jun 2023): Millbrook's shelters are 140% full; 350 people are
    sleeping outside, most in Millbrook (300); the language waiting list grew by 200."
    The week is the number of weeks run; the date is the start of the last week run.
    """
    rows = latest_cities(model)
    if rows is None:
        return (f"Week 0 ({model.date_of(0):%-d %b %Y}): nothing has happened yet. "
                "Press Step or ▶ to run the model.")
    week = int(rows["week"][0])
    parts = []
    names = list(rows["municipality"])
    beds = np.asarray(rows["shelter_beds"], float)
    occupancy = np.asarray(rows["shelter_occupancy"], float)
    outside = np.asarray(rows["unsheltered"], float)
    with_beds = np.flatnonzero(beds > 0)
    if len(with_beds):
        full = occupancy[with_beds] / beds[with_beds]
        i = int(with_beds[np.argmax(full)])
        parts.append(f"{names[i]}'s shelters are {100 * occupancy[i] / beds[i]:.0f}% full")
    total_outside = outside.sum()
    if total_outside > 0:
        i = int(np.argmax(outside))
        where = (f" in {names[i]}" if outside[i] == total_outside
                 else f", most in {names[i]} ({fmt_count(outside[i])})")
        verb = "person is" if round(total_outside) == 1 else "people are"
        parts.append(f"{fmt_count(total_outside)} {verb} sleeping outside{where}")
    else:
        parts.append("nobody is sleeping outside")
    parts.append(_waiting_change(model))
    text = f"Week {week + 1} ({model.date_of(week):%-d %b %Y}): " + "; ".join(parts) + "."
    news = [t for w, t in model.events if w == week]
    if news:
        text += " News: " + "; ".join(news) + "."
    if not model.running:
        text += " The scenario's horizon is reached: press Reset to run again."
    return text


def _waiting_change(model) -> str:
    history = model.municipal_history
    now = {s: float(np.sum(history[-1][f"waiting_{s}"])) for s in SERVICES}
    if len(history) < 2:
        total = sum(now.values())
        return f"{fmt_count(total)} people are on waiting lists"
    before = {s: float(np.sum(history[-2][f"waiting_{s}"])) for s in SERVICES}
    change = {s: now[s] - before[s] for s in SERVICES}
    s = max(SERVICES, key=lambda k: abs(change[k]))
    if round(change[s]) == 0:
        return "waiting lists did not change"
    verb = "grew" if change[s] > 0 else "shrank"
    return (f"the {SERVICE_LABELS[s]} waiting list {verb} by {fmt_count(abs(change[s]))} "
            f"(now {fmt_count(now[s])})")


# ---------------------------------------------------------------------------- compare
# Levers a class can flip for the twin: label -> function(app_params) -> changes.
def _flip_policy(name: str) -> Callable[[dict], dict]:
    from app.model import ALL_CITIES, NO_CITY

    return lambda p: {name: NO_CITY if p[name] == ALL_CITIES else ALL_CITIES}


def _double(name: str) -> Callable[[dict], dict]:
    return lambda p: {name: p[name] / 2 if p[name] > 1.5 else p[name] * 2}


COMPARE_LEVERS: dict[str, Callable[[dict], dict]] = {
    "access without fear": _flip_policy("access_without_fear"),
    "LIP coordination": _flip_policy("lip"),
    "shelter intake cap": _flip_policy("intake_cap"),
    "predictable funding": lambda p: {"predictable_funding": not p["predictable_funding"]},
    "federal settlement funding": _double("federal_funding"),
    "municipal newcomer budget": _double("municipal_budget"),
    "shelter beds": _double("shelter_beds"),
    "arrivals": _double("arrivals"),
    "asylum surge": lambda p: {"surge": 1.0 if p["surge"] > 1.0 else 3.0},
    "seed (chance alone)": lambda p: {"seed": p["seed"] + 1},
}
DEFAULT_COMPARE = "shelter beds"


def describe_change(changes: dict, params: dict) -> str:
    """'access without fear: as in scenario -> all cities' for the table header."""
    out = []
    for k, v in changes.items():
        old = params[k]
        if isinstance(v, float):
            out.append(f"{k.replace('_', ' ')} ×{old:g} → ×{v:g}")
        else:
            out.append(f"{k.replace('_', ' ')}: {old} → {v}")
    return "; ".join(out)


class Twin:
    """A second model with one lever flipped, kept at the main model's week."""

    def __init__(self, main, lever: str) -> None:
        self.lever = lever
        self.changes = COMPARE_LEVERS[lever](main.app_params)
        self.model = main.twin(**self.changes)

    def sync(self, main) -> None:
        """Step the twin until it has run as many weeks as ``main`` (never past its end)."""
        while self.model.week < main.week and self.model.running:
            self.model.step()


# (label, function of the model's totals frame -> series, formatter)
HEADLINES: list[tuple[str, Callable[[pd.DataFrame], pd.Series], Callable[[float], str]]] = [
    ("people in shelter", lambda t: t["shelter_occupancy"], fmt_count),
    ("sleeping outside", lambda t: t["unsheltered"], fmt_count),
    ("on waiting lists", lambda t: sum(t[f"waiting_{s}"] for s in SERVICES), fmt_count),
    ("language class wait (weeks)", lambda t: t["current_wait_language"],
     lambda v: f"{v:.1f}"),
    ("employment rate", lambda t: 100 * t["employment_rate"], lambda v: f"{v:.1f}%"),
    ("integration index", lambda t: t["integration_index"], lambda v: f"{v:.3f}"),
    ("spending so far", lambda t: t["spend_total"].cumsum(), fmt_money),
    ("municipal spending so far", lambda t: t["spend_municipal"].cumsum(), fmt_money),
]


def compare_table(a, b) -> pd.DataFrame:
    """Headline outcomes of the latest week of both models: A, B and B - A (numbers)."""
    ta, tb = totals(a), totals(b)
    rows = []
    for label, get, _ in HEADLINES:
        va = float(get(ta).iloc[-1]) if not ta.empty else float("nan")
        vb = float(get(tb).iloc[-1]) if not tb.empty else float("nan")
        rows.append({"outcome": label, "A": va, "B": vb, "B - A": vb - va})
    return pd.DataFrame(rows)


def compare_rows(a, b) -> list[tuple[str, str, str, str]]:
    """The comparison as text: (outcome, A, B, B - A) per headline outcome."""
    table = compare_table(a, b)
    fmt = {label: f for label, _, f in HEADLINES}

    def show(f: Callable[[float], str], v: float) -> str:
        return "n/a" if v is None or math.isnan(v) else f(v)

    rows = []
    for row in table.itertuples(index=False):
        f = fmt[row.outcome]
        diff = row[3]
        sign = "+" if diff > 0 else "−" if diff < 0 else ""
        rows.append((row.outcome, show(f, row.A), show(f, row.B),
                     "n/a" if math.isnan(diff) else sign + f(abs(diff))))
    return rows


def compare_html(a, b, changes: dict) -> str:
    """What B changes, and the comparison table, as HTML."""
    weeks = f"week {a.week}" if a.week == b.week else f"A at week {a.week}, B at week {b.week}"
    head = (f"<p><b>A</b>: the settings on the left. <b>B</b>: the same, but "
            f"{esc(describe_change(changes, a.app_params))}. Same seed unless the seed is the "
            f"lever; {weeks}.</p>")
    cells = "".join(
        f"<tr><td>{esc(o)}</td><td class='num'>{esc(va)}</td><td class='num'>{esc(vb)}</td>"
        f"<td class='num'>{esc(d)}</td></tr>" for o, va, vb, d in compare_rows(a, b))
    return (f"{head}<table class='app-compare-table' style='border-collapse:collapse;"
            f"width:100%;font-size:0.9rem'><thead><tr><th style='text-align:left'>outcome</th>"
            f"<th>A</th><th>B</th><th>B − A</th></tr></thead><tbody>{cells}</tbody></table>"
            "<style>.app-compare-table td,.app-compare-table th{padding:2px 6px;"
            "border-bottom:1px solid #ddd}.app-compare-table .num{text-align:right}</style>")


def compare_chart(a, b, outcome: str = "sleeping outside") -> Chart:
    """One headline outcome over time for A (solid) and B (dashed)."""
    get = {label: g for label, g, _ in HEADLINES}[outcome]
    chart = Chart(f"A vs B: {outcome}", y_label=outcome, y_min=None, name="compare")
    ta, tb = totals(a), totals(b)
    if not ta.empty:
        chart.series.append(Series("A", _x(ta), get(ta).to_numpy(dtype=float), "#1f77b4"))
    if not tb.empty:
        chart.series.append(Series("B", _x(tb), get(tb).to_numpy(dtype=float), "#d62728",
                                   2.0, "7 4"))
    return chart


# ---------------------------------------------------------------------------- components
# Only ``Dashboard`` listens to Mesa's ``update_counter`` (bumped after each Step); it
# passes the week down, so one step re-renders the views once, not once per view.
@solara.component
def SvgView(model, week: int, draw: Callable, name: str = "chart"):
    """The SVG of ``draw(model)`` (a ``Chart`` or an SVG string) for ``week``."""

    def render() -> str:
        out = draw(model)
        return out.svg() if isinstance(out, Chart) else out

    svg = solara.use_memo(render, [model, week, draw])
    return solara.HTML(tag="div", unsafe_innerHTML=svg, classes=["app-view", f"app-{name}"])


def make_view(draw: Callable, name: str):
    """A component function ``View(model)`` for ``draw`` (like Mesa's make_plot_component:
    usable in ``SolaraViz(components=[...])``, where it redraws after each step)."""

    @solara.component
    def View(model):
        update_counter.get()
        return SvgView(model, model.week, draw, name)

    return View


@solara.component
def CaptionView(model, week: int):
    """The plain-language caption of the week."""
    text = solara.use_memo(lambda: caption(model), [model, week])
    return solara.Text(text, classes=["app-caption"],
                       style={"font-size": "1.1rem", "line-height": "1.5"})


@solara.component
def CompareView(model, week: int):
    """Compare mode: a twin with one lever flipped, stepped in lockstep with the model."""
    lever, set_lever = solara.use_state(DEFAULT_COMPARE)
    outcome, set_outcome = solara.use_state("sleeping outside")
    twin = solara.use_memo(lambda: Twin(model, lever), [model, lever])
    twin.sync(model)
    table = solara.use_memo(lambda: compare_html(model, twin.model, twin.changes),
                            [model, week, twin])
    svg = solara.use_memo(lambda: compare_chart(model, twin.model, outcome).svg(),
                          [model, week, twin, outcome])
    with solara.Column(gap="4px", classes=["app-compare"]) as main:
        with solara.Row():
            solara.Select("B flips", value=lever, values=list(COMPARE_LEVERS),
                          on_value=set_lever)
            solara.Select("Plot", value=outcome, values=[h[0] for h in HEADLINES],
                          on_value=set_outcome)
        solara.HTML(tag="div", unsafe_innerHTML=table, classes=["app-compare-text"])
        solara.HTML(tag="div", unsafe_innerHTML=svg, classes=["app-view", "app-compare-chart"])
    return main


@solara.component
def Dashboard(model):
    """Caption, the views in a two-column grid, and compare mode."""
    update_counter.get()
    week = model.week
    with solara.Column(style={"padding": "8px"}) as main:
        with solara.Card(margin=0):
            CaptionView(model, week)
        with solara.ColumnsResponsive(12, large=6):
            for name, draw in VIEWS:
                with solara.Card(margin=0):
                    SvgView(model, week, draw, name)
            with solara.Card("Compare A with B (one lever flipped)",
                             margin=0):
                CompareView(model, week)
    return main


# The views of the page: (name, function of the model -> Chart or SVG string).
VIEWS: list[tuple[str, Callable]] = [
    ("map", map_svg),
    ("shelter", shelter_chart),
    ("waiting", waiting_chart),
    ("integration", integration_chart),
    ("employment", employment_chart),
    ("spending", spending_chart),
]
