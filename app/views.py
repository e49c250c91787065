"""Views of the app: plain functions that draw a model's state.

Each ``*_chart(model)`` returns a ``Chart`` (``app.charts``) of the model's own outputs
(the DataCollector's model-level columns; ``city_*_chart(model, city)`` read
``municipal_history``), ``map_svg(model)`` the map, ``caption(model)`` the sentence of
the week in plain words, ``marks(model)`` the events marked on the charts and
``monitors(model)`` the live numbers; the tests check these against the model.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from app.charts import Bubble, Chart, Series, bubble_map, percent
from app.outcomes import city_column, fmt_count, fmt_money, totals
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
def latest_cities(model) -> dict[str, np.ndarray] | None:
    """This week's per-municipality columns (None before the first step)."""
    return model.municipal_history[-1] if model.municipal_history else None


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
    chart = Chart("Shelter and sleeping outside",
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
    return with_marks(chart, model)


def waiting_chart(model) -> Chart:
    """People on each service's waiting list."""
    chart = Chart("Waiting lists by service", y_label="people waiting", name="waiting")
    frame = totals(model)
    if not frame.empty:
        chart.series = [Series(SERVICE_LABELS[s], _x(frame), frame[f"waiting_{s}"].to_numpy(),
                               SERVICE_COLOURS[s]) for s in SERVICES]
    return with_marks(chart, model)


def integration_chart(model) -> Chart:
    """Integration index (0-1) by legal status (statuses present so far), and everyone."""
    chart = Chart("Integration index by status", y_label="index (0-1)", y_max=1.0,
                  y_format=lambda v: f"{v:.1f}", name="integration")
    frame = totals(model)
    if not frame.empty:
        x = _x(frame)
        chart.series = [Series(STATUS_LABELS[s], x, frame[f"index_{s}"].to_numpy(),
                               STATUS_COLOURS[s], 1.3)
                        for s in STATUSES if frame[f"index_{s}"].notna().any()]
        chart.series.append(Series("everyone", x, frame["integration_index"].to_numpy(),
                                   "#000000", 3.0))
    return with_marks(chart, model)


def employment_chart(model) -> Chart:
    """Share of newcomers present who have a job, in percent."""
    chart = Chart("Employment rate of newcomers", y_label="% employed", y_max=100.0,
                  y_format=percent, name="employment")
    frame = totals(model)
    if not frame.empty:
        chart.series = [Series("employed", _x(frame),
                               100 * frame["employment_rate"].to_numpy(), "#ff7f0e")]
    return with_marks(chart, model)


def spending_chart(model) -> Chart:
    """Spending so far by order of government: stacked cumulative sums, $ millions."""
    chart = Chart("Spending so far, by government", y_label="$ millions",
                  stacked=True, name="spending")
    frame = totals(model)
    if not frame.empty:
        chart.series = [Series(f, _x(frame), frame[f"spend_{f}"].cumsum().to_numpy() / 1e6,
                               FUNDER_COLOURS[f]) for f in FUNDERS]
    return with_marks(chart, model)


EMERGENCY_COLOURS = {"open": "#ff7f0e", "occupied": "#8c564b", "on order": "#ff7f0e",
                     "outside": "#d62728"}
CITY_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
                "#7f7f7f", "#ff7f0e", "#d62728")


def _emergency_series(x: np.ndarray, get) -> list[Series]:
    """Places open, people in them, places on order and people outside, from ``get(col)``."""
    return [Series("emergency places open", x, get("emergency_places"),
                   EMERGENCY_COLOURS["open"], 2.5),
            Series("people in them", x, get("emergency_occupancy"),
                   EMERGENCY_COLOURS["occupied"], 1.8),
            Series("places on order", x, get("emergency_on_order"),
                   EMERGENCY_COLOURS["on order"], 1.5, "5 4"),
            Series("sleeping outside", x, get("unsheltered"), EMERGENCY_COLOURS["outside"])]


def emergency_chart(model) -> Chart:
    """Emergency places the governments opened (and ordered) against people outside."""
    chart = Chart("Emergency places and sleeping outside", y_label="people or places",
                  name="emergency")
    frame = totals(model)
    if not frame.empty:
        chart.series = _emergency_series(_x(frame), lambda c: frame[c].to_numpy())
    return with_marks(chart, model)


def pressure_chart(model) -> Chart:
    """Each city's pressure to act on people sleeping outside (0-1), and the level at
    which its council acts (``politics.act_pressure``), for the cities that felt any."""
    chart = Chart("Pressure to act, by city", y_label="pressure (0-1)", y_max=1.0,
                  y_format=lambda v: f"{v:.1f}", name="pressure")
    if model.municipal_history:
        x = np.arange(len(model.municipal_history))
        felt = [m.name for m in model.municipalities
                if city_column(model, m.name, "pressure").max() > 0.01]
        chart.series = [Series(city, x, city_column(model, city, "pressure"),
                               CITY_COLOURS[k % len(CITY_COLOURS)])
                        for k, city in enumerate(felt)]
        level = model.scenario.politics.act_pressure
        chart.series.append(Series(f"councils act (at {level:g})", x,
                                   np.full(len(x), level), "#222222", 1.5, "6 4"))
    return with_marks(chart, model)


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


def map_svg(model, selected: str | None = None, large: bool = False) -> str:
    """Cities at their longitude and latitude: bubble area ~ newcomers present, colour =
    strain (people in shelter or sleeping outside per bed); a tooltip per city."""
    data = map_data(model)
    started = latest_cities(model) is not None
    bubbles = []
    for row in data.itertuples():
        lines, tip = [], f"{row.municipality}"
        if started:
            text = (f"{100 * row.shelter_occupancy / row.shelter_beds:.0f}% full"
                    if row.shelter_beds > 0 else "no beds")
            if row.unsheltered > 0:
                text += f", {fmt_count(row.unsheltered)} outside"
            lines.append(text)
            tip += (f": {fmt_count(row.newcomers)} newcomers; {fmt_count(row.shelter_occupancy)}"
                    f" in shelter, {fmt_count(row.shelter_beds)} beds; "
                    f"{fmt_count(row.unsheltered)} sleeping outside")
        bubbles.append(Bubble(row.municipality, row.lon, row.lat, row.radius,
                              strain_colour(row.strain) if started else NO_DATA, lines,
                              tip + " (click to plan this city)"))
    legend = [(colour, label) for _, colour, label in STRAIN_BANDS]
    return bubble_map("Cities: size = newcomers, colour = strain", bubbles, legend,
                      "people / beds", selected=selected, large=large)


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
    news = [t for w, t in getattr(model, "news", model.events) if w == week]
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




# ---------------------------------------------------------------------------- marks
def _events(model) -> list[tuple[int, str]]:
    return getattr(model, "news", model.events)


def _by_week(model, events: list[tuple[int, str]], city: str | None,
             prefix: str = "") -> dict[int, list[str]]:
    """Events to mark, grouped by week: renewals stay in the caption only; with ``city``,
    the events that name the city or one of its agencies."""
    names = None
    if city is not None:
        i = [m.name for m in model.municipalities].index(city)
        names = [city] + [a.name for a in model.agencies if a.muni == i]
    by_week: dict[int, list[str]] = {}
    for week, text in events:
        if "was renewed" in text or (names and not any(n in text for n in names)):
            continue
        by_week.setdefault(week, []).append(prefix + text)
    return by_week


def _numbered(by_week: dict[int, list[str]]) -> list[tuple[int, str]]:
    return [(w, f"week {w + 1}: " + "; ".join(texts)) for w, texts in sorted(by_week.items())]


def marks(model, city: str | None = None) -> list[tuple[int, str]]:
    """Events so far, one per week, in plain words: timeline changes (caps, top-ups,
    mid-run levers), the crisis response (emergency places ordered and closed, caps
    lifted, budget raises, federal top-ups and advances) and grants that ended."""
    return _numbered(_by_week(model, _events(model), city))


def compare_marks(a, b, city: str | None = None) -> list[tuple[int, str]]:
    """Events of A and B, one mark per week; those of only one run say which, e.g.
    'week 18: B: Millbrook orders 45 community space places ...' (a lesson's B opens
    emergency places that A never opens)."""
    both = set(_events(a)) & set(_events(b))
    by_week = _by_week(a, [e for e in _events(a) if e in both], city)
    for who, model in (("A", a), ("B", b)):
        own = [e for e in _events(model) if e not in both]
        for week, texts in _by_week(model, own, city, f"{who}: ").items():
            by_week.setdefault(week, []).extend(texts)
    return _numbered(by_week)


def with_marks(chart: Chart, model, city: str | None = None, twin=None) -> Chart:
    """The chart with the events marked (x = the week the event took effect); with
    ``twin``, B's own events too (``compare_marks``)."""
    items = marks(model, city) if twin is None else compare_marks(model, twin, city)
    chart.marks = [(float(w), text) for w, text in items]
    return chart


# ---------------------------------------------------------------------------- a city
def city_shelter_chart(model, city: str) -> Chart:
    """One city's shelter: beds, people in shelter, people sleeping outside."""
    chart = Chart(f"{city}: shelter and sleeping outside", y_label="people",
                  name="city-shelter")
    if model.municipal_history:
        x = np.arange(len(model.municipal_history))
        chart.series = [
            Series("beds (capacity)", x, city_column(model, city, "shelter_beds"), "#222222",
                   1.5, "6 4"),
            Series("in shelter", x, city_column(model, city, "shelter_occupancy"), "#1f77b4"),
            Series("sleeping outside", x, city_column(model, city, "unsheltered"), "#d62728")]
    return with_marks(chart, model, city)


def city_emergency_chart(model, city: str) -> Chart:
    """One city's emergency places (open, used, on order) against its people outside."""
    chart = Chart(f"{city}: emergency places", y_label="people or places",
                  name="city-emergency")
    if model.municipal_history:
        x = np.arange(len(model.municipal_history))
        chart.series = _emergency_series(x, lambda c: city_column(model, city, c))
    return with_marks(chart, model, city)


def city_waits_chart(model, city: str) -> Chart:
    """One city's current wait for each service, in weeks."""
    chart = Chart(f"{city}: wait for a place, by service", y_label="weeks",
                  name="city-waits")
    if model.municipal_history:
        x = np.arange(len(model.municipal_history))
        chart.series = [Series(SERVICE_LABELS[s], x,
                               city_column(model, city, f"current_wait_{s}"),
                               SERVICE_COLOURS[s]) for s in SERVICES]
    return with_marks(chart, model, city)


def city_spending_chart(model, city: str) -> Chart:
    """Spending so far in one city by who pays: stacked cumulative sums, $ millions."""
    chart = Chart(f"{city}: spending so far by payer", y_label="$ millions", stacked=True,
                  name="city-spending")
    if model.municipal_history:
        x = np.arange(len(model.municipal_history))
        chart.series = [Series(f, x, np.cumsum(city_column(model, city, f"spend_{f}")) / 1e6,
                               FUNDER_COLOURS[f]) for f in FUNDERS]
    return with_marks(chart, model, city)


# ---------------------------------------------------------------------------- monitors
def monitors(model, city: str | None = None) -> list[tuple[str, str]]:
    """Live numbers, (label, value): people outside, shelter fill, emergency places
    (open / with people in them), the highest pressure to act, the longest wait and the
    city money left, for the whole system or one city."""
    rows = latest_cities(model)
    if rows is None:
        return [(label, "–") for label in ("people outside", "shelter fill",
                                            "emergency places", "pressure to act",
                                            "longest wait", "city money left")]
    pick = (np.array([n == city for n in rows["municipality"]]) if city
            else np.ones(len(rows["municipality"]), bool))
    outside = float(np.sum(rows["unsheltered"][pick]))
    beds = float(np.sum(rows["shelter_beds"][pick]))
    occupancy = float(np.sum(rows["shelter_occupancy"][pick]))
    fill = f"{100 * occupancy / beds:.0f}%" if beds > 0 else "no beds"
    waits = [(float(rows[f"current_wait_{s}"][i]), s, rows["municipality"][i])
             for s in SERVICES for i in np.flatnonzero(pick)]
    wait, service, where = max(waits)
    longest = f"{wait:.0f} wk ({SERVICE_LABELS[service]}" + ("" if city else f", {where}") + ")"
    money = fmt_money(float(np.sum(rows["municipal_cash"][pick])))
    places = (f"{fmt_count(float(np.sum(rows['emergency_places'][pick])))} open, "
              f"{fmt_count(float(np.sum(rows['emergency_occupancy'][pick])))} used")
    i = int(np.flatnonzero(pick)[np.argmax(rows["pressure"][pick])])
    pressure = f"{rows['pressure'][i]:.2f}" + ("" if city else f" ({rows['municipality'][i]})")
    return [("people outside", fmt_count(outside)), ("shelter fill", fill),
            ("emergency places", places), ("pressure to act", pressure),
            ("longest wait", longest), ("city money left", money)]
