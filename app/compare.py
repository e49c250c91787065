"""Compare mode: B is A with one change (a lesson's, or one lever flipped), stepped in
lockstep with A; a table of outcomes and a chart of one of them, with replicate bands.

With no change B equals A exactly (same seed, same settings), so every difference is
the change's; the replicates (``app.replicates``) show how much of it is chance.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from app.charts import Chart, Series, esc, thousands
from app.model import ALL_CITIES, NO_CITY, AppModel, describe_levers
from app.outcomes import HEADLINES, OUTCOMES, Outcome, fmt_count
from app.replicates import Replicates
from app.views import with_marks


# Levers a class can flip for B: label -> function(A's app_params) -> changes.
def _flip_policy(name: str) -> Callable[[dict], dict]:
    return lambda p: {name: NO_CITY if p[name] == ALL_CITIES else ALL_CITIES}


def _double(name: str) -> Callable[[dict], dict]:
    return lambda p: {name: p[name] / 2 if p[name] > 1.5 else p[name] * 2}


COMPARE_LEVERS: dict[str, Callable[[dict], dict]] = {
    "access without fear": _flip_policy("access_without_fear"),
    "LIP coordination": _flip_policy("lip"),
    "shelter intake cap": _flip_policy("intake_cap"),
    "cities open emergency places": _flip_policy("emergency_response"),
    "response speed (fast / slow)": lambda p: {
        "response_speed": "fast" if p["response_speed"] == "slow" else "slow"},
    "federal shelter money (ad hoc / formula)": lambda p: {
        "federal_shelter": "ad hoc" if p["federal_shelter"] == "formula" else "formula"},
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
    """'shelter beds ×1 → ×2' or 'intake cap: as in scenario → all cities'."""
    out = []
    for k, v in changes.items():
        if k == "overrides":
            out.append(describe_levers({}, dict(v)))
            continue
        old = params[k]
        if isinstance(v, float):
            out.append(f"{k.replace('_', ' ')} ×{old:g} → ×{v:g}")
        else:
            out.append(f"{k.replace('_', ' ')}: {old} → {v}")
    return "; ".join(out)


def b_params(a: dict, changes: dict) -> dict:
    """B's arguments: A's with ``changes``; overrides are added to A's, not replacing them."""
    out = {**a, **changes}
    if "overrides" in changes:
        out["overrides"] = tuple({**dict(a["overrides"]), **dict(changes["overrides"])}.items())
    return out


class Twin:
    """B: a second model with ``changes`` (or a lever of COMPARE_LEVERS flipped), kept at
    A's week; mid-run changes of A are made in B too."""

    def __init__(self, main: AppModel, lever: str | dict) -> None:
        self.lever = lever
        self.changes = (dict(lever) if isinstance(lever, dict)
                        else COMPARE_LEVERS[lever](main.app_params))
        self.model = AppModel(**b_params(main.app_params, self.changes))

    def sync(self, main: AppModel) -> None:
        """Copy A's mid-run changes, then step until B has run as many weeks as A."""
        theirs, mine = main.app_params["schedule"], self.model.app_params["schedule"]
        for week, levers, overrides in theirs[len(mine):]:
            while self.model.week < week and self.model.running:
                self.model.step()
            levers = {k: v for k, v in levers if k not in self.changes}
            self.model.change_levers(levers, dict(overrides))
            if len(self.model.app_params["schedule"]) == len(mine):  # nothing changed in B
                self.model.app_params["schedule"] = (*mine, (week, (), ()))
            mine = self.model.app_params["schedule"]
        while self.model.week < main.week and self.model.running:
            self.model.step()


def compare_rows(a: AppModel, b: AppModel, outcomes: list[Outcome],
                 reps: Replicates | None = None) -> list[tuple[str, str, str, str, str]]:
    """(outcome, A, B, B - A, B - A over the replicates with its 95% interval) as text."""
    rows = []
    for o in outcomes:
        va, vb = o.last(a), o.last(b)
        diff = vb - va
        sign = "+" if diff > 0 else "−" if diff < 0 else ""
        text = "n/a" if math.isnan(diff) else sign + o.fmt(abs(diff))
        spread = ""
        if reps is not None and o.title in reps.a:
            iv = reps.difference(o.title)
            spread = (f"{_signed(o, iv.estimate)} ({_signed(o, iv.low)} to "
                      f"{_signed(o, iv.high)}); B higher in {reps.b_higher(o.title)} of "
                      f"{len(reps.seeds)}")
        rows.append((o.title, "n/a" if math.isnan(va) else o.fmt(va),
                     "n/a" if math.isnan(vb) else o.fmt(vb), text, spread))
    return rows


def _signed(o: Outcome, v: float) -> str:
    if math.isnan(v):
        return "n/a"
    return ("+" if v > 0 else "−" if v < 0 else "") + o.fmt(abs(v))


def table_outcomes(first: list[Outcome]) -> list[Outcome]:
    """A lesson's outcomes, then the headline outcomes of the whole system."""
    titles = {o.title for o in first}
    return first + [OUTCOMES[h] for h in HEADLINES if h not in titles]


def compare_html(a: AppModel, b: AppModel, changes: dict, outcomes: list[Outcome],
                 reps: Replicates | None = None, names: tuple[str, str] | None = None) -> str:
    """What B changes, and the comparison table, as HTML."""
    weeks = f"week {a.week}" if a.week == b.week else f"A at week {a.week}, B at week {b.week}"
    what = (f"<b>A</b>: {esc(names[0])}. <b>B</b>: {esc(names[1])}" if names else
            f"<b>A</b>: the settings on the left. <b>B</b>: the same, but "
            f"{esc(describe_change(changes, a.app_params))}")
    head = f"<p>{what}. Same chance events (seed) unless the seed is the change; {weeks}.</p>"
    spread_head = (f"<th>B − A over {len(reps.seeds)} seeds at the end (95% interval)</th>"
                   if reps is not None else "")
    cells = "".join(
        f"<tr><td>{esc(o)}</td><td class='num'>{esc(va)}</td><td class='num'>{esc(vb)}</td>"
        f"<td class='num'>{esc(d)}</td>" + (f"<td>{esc(s)}</td>" if reps is not None else "")
        + "</tr>" for o, va, vb, d, s in compare_rows(a, b, outcomes, reps))
    return (f"{head}<table class='app-compare-table'><thead><tr>"
            f"<th style='text-align:left'>outcome</th><th>A</th><th>B</th><th>B − A</th>"
            f"{spread_head}</tr></thead><tbody>{cells}</tbody></table>")


def compare_chart(a: AppModel, b: AppModel, outcome: Outcome,
                  reps: Replicates | None = None) -> Chart:
    """One outcome over time for A (solid) and B (dashed); with replicates, the range of
    their runs as bands behind the lines, over the whole horizon."""
    chart = Chart(f"A vs B: {outcome.title}", y_label=outcome.label, y_min=None,
                  name="compare",
                  y_format=thousands if outcome.fmt is fmt_count else outcome.fmt)
    for label, model, colour, dash in (("A", a, "#1f77b4", None), ("B", b, "#d62728", "7 4")):
        y = outcome.series(model)
        series = Series(label, np.arange(len(y)), y, colour, 2.5, dash)
        if reps is not None and outcome.title in reps.a:
            series.low, series.high = reps.band(outcome.title, label)
            n = len(series.low)
            series.x = np.arange(max(n, len(y)))
            series.y = np.concatenate([y, np.full(len(series.x) - len(y), np.nan)])
            series.label = f"{label}, band: range of {len(reps.seeds)} seeds"
        if len(series.x):
            chart.series.append(series)
    return with_marks(chart, a, outcome.city, twin=b)
