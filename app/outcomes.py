"""Outcomes the app compares and watches: one number per week, for the system or a city.

An ``Outcome`` reads the model's own outputs: the DataCollector's model-level columns for
the whole system, the week log's columns (``model.week_log``) for one city (and for totals the
DataCollector does not keep, summed over the cities). Lessons, the compare table, the
replicate bands and the monitors all read outcomes through ``Outcome.series``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from sim.codes import SERVICES


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


def fmt_weeks(value: float) -> str:
    return f"{value:.1f}"


def fmt_index(value: float) -> str:
    return f"{value:.3f}"


def fmt_percent(value: float) -> str:
    return f"{value:.1f}%"


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


def city_column(model, city: str, column: str) -> np.ndarray:
    """One city's weekly values of a ``municipal_history`` column."""
    i = [m.name for m in model.municipalities].index(city)
    return model.week_log.column(column)[:, i].astype(float)


@dataclass(frozen=True)
class Outcome:
    """A weekly outcome: the sum of ``columns`` times ``factor`` (a running sum when
    ``cumulative``), for the system or for ``city``."""

    label: str
    columns: tuple[str, ...]
    fmt: Callable[[float], str] = fmt_count
    factor: float = 1.0
    cumulative: bool = False
    city: str | None = None
    higher_is_better: bool = False

    def for_city(self, city: str) -> Outcome:
        return replace(self, city=city)

    @property
    def title(self) -> str:
        return f"{self.city}: {self.label}" if self.city else self.label

    def series(self, model) -> np.ndarray:
        """The outcome for every week run so far (empty before the first step)."""
        if not model.municipal_history:
            return np.zeros(0)
        if self.city is not None:
            y = sum(city_column(model, self.city, c) for c in self.columns)
        else:
            # the collector's lists, not ``totals``: building that frame (every column)
            # took half of a Step's server time on the Lesson tab
            collected = model.datacollector.model_vars
            if all(c in collected for c in self.columns):
                y = sum(np.asarray(collected[c], float) for c in self.columns)
            else:  # a city-level column: the system's is the sum over cities
                y = sum(model.week_log.column(c).sum(axis=1, dtype=float)
                        for c in self.columns)
        y = np.asarray(y, float) * self.factor
        return np.cumsum(y) if self.cumulative else y

    def last(self, model) -> float:
        y = self.series(model)
        return float(y[-1]) if len(y) else math.nan


WAITING = tuple(f"waiting_{s}" for s in SERVICES)
OUTCOMES: dict[str, Outcome] = {o.label: o for o in [
    Outcome("people in shelter", ("shelter_occupancy",)),
    Outcome("sleeping outside", ("unsheltered",)),
    Outcome("on waiting lists", WAITING),
    Outcome("language class wait (weeks)", ("current_wait_language",), fmt_weeks),
    Outcome("caseworkers (staff FTE)", ("staff_fte",), lambda v: f"{v:,.1f}",
            higher_is_better=True),
    Outcome("employment rate", ("employment_rate",), fmt_percent, 100.0,
            higher_is_better=True),
    Outcome("integration index", ("integration_index",), fmt_index, higher_is_better=True),
    Outcome("integration index of non-status people", ("index_non_status",), fmt_index,
            higher_is_better=True),
    Outcome("share of newcomers who stay", ("retention",), fmt_percent, 100.0,
            higher_is_better=True),
    Outcome("city money left", ("municipal_cash",), fmt_money, higher_is_better=True),
    Outcome("person-weeks sleeping outside", ("unsheltered",), cumulative=True),
    Outcome("emergency places open", ("emergency_places",)),
    Outcome("people in emergency places", ("emergency_occupancy",)),
    Outcome("emergency places' cost so far", ("spend_line_emergency_places",), fmt_money,
            cumulative=True),
    Outcome("federal money to cities so far", ("received_federal",), fmt_money,
            cumulative=True),
    Outcome("spending so far", ("spend_total",), fmt_money, cumulative=True),
    Outcome("municipal spending so far", ("spend_municipal",), fmt_money, cumulative=True),
]}
# The compare table's rows (a lesson puts its own outcomes first).
HEADLINES = ["people in shelter", "sleeping outside", "on waiting lists",
             "language class wait (weeks)", "employment rate", "integration index",
             "spending so far", "municipal spending so far"]
