"""Process 4: housing search against the week's lettings.

Part of the numba core: see ``sim.kernels``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from sim.codes import (
    DEPARTED,
    HOUSING_HELP,
    INTERIM,
    NO_JOB,
    PRECARIOUS,
    SHELTER,
    STABLE,
    SURVIVAL_JOB,
    WEEKS_PER_YEAR,
)
from sim.kernels.base import (
    _served,
    _uniform,
    gaps_on_threads,
    visit_rows,
    visits,
)


class HousingParams(NamedTuple):
    """Search, affordability and income parameters (incomes in CAD/month).

    Income without a job differs by city and status (provincial social assistance), so it
    is a table given to ``step_housing`` beside these.
    """

    affordable_rent_share: float
    housing_help_boost: float
    stable_loss: float
    income_survival: float
    income_matched: float
    second_earner: float


@njit(cache=True, inline="always")
def _household_income(employment: int, skill: float, household: int, p,
                      income_none: float) -> float:
    """Monthly household income: the person's own, plus other earners in larger households."""
    if employment == NO_JOB:
        own = income_none
    elif employment == SURVIVAL_JOB:
        own = p.income_survival
    else:
        own = p.income_survival + (p.income_matched - p.income_survival) * skill
    return own * (1.0 + p.second_earner * min(household - 1, 2))


@njit(cache=True, inline="always")
def _rent_needed(rent: float, household: int) -> float:
    """Rent of a unit for the household: a two-bedroom (rent) fits 2.5 people."""
    return rent * (0.6 + 0.16 * household)


class FirstStable(NamedTuple):
    """Where ``step_housing`` records a first move into stable housing by an arrival of the
    run (``sim.arrival_ledger``): by city of arrival (those within a year also by arrival
    week), added into."""

    origin: np.ndarray  # int16[n] column
    arrival_week: np.ndarray  # int16[n] column
    reached: np.ndarray  # int64[m]
    within_year: np.ndarray  # int64[m, weeks]: reached within 52 weeks of arriving
    weeks: np.ndarray  # int64[m] summed weeks from arrival


def step_housing(housing, muni, status, employment, skill, household, svc_state, stable_week,
                 week, key, p, income_none, search_p, rent, lettings, first, out_moves):
    """Housing search against the lettings newcomers can win this week.

    A searcher (anyone not in stable housing) finds a unit with probability
    ``search_p[m]`` (vacancy and climate), raised by housing help; units are taken
    first come, first served until ``lettings[m]`` run out. An affordable unit
    (rent within ``affordable_rent_share`` of income) is stable housing, any other
    is a precarious rental; people already in precarious rentals only move to
    stable housing. Stable tenancies end with a small weekly chance.

    Args:
        income_none: float64[m, status] CAD/month, a person's income without a job there
            (social assistance of the city's province, ``sim.provinces``).
        search_p: float64[m]; rent: float64[m] CAD/month; lettings: int64[m] units (in
            agents) newcomers can win this week, consumed here.
        first: FirstStable, where first moves into stable housing are recorded.
        out_moves: int64[m, 2] tallies: moves to stable housing, moves out of
            shelter or interim housing.
    """
    # Rows are visited by geometric gaps at the highest weekly chance of any event, and
    # each visited row is kept with its own chance over that (thinning, as in step_moves):
    # in row order, so lettings still go first come, first served. The gaps are drawn on
    # threads (``visit_rows``); the visits themselves stay in one pass, which stops
    # drawing and reading a city's rows once its lettings are gone (cheaper than drawing
    # for every visit on two threads: docs/performance.md, "Threads, third round").
    rows = None  # small runs and one thread: the visits are drawn inside, one call
    if gaps_on_threads(housing.shape[0]):
        rows = visit_rows(key, _visit_chance(p, search_p), housing.shape[0])
    _visit_searchers(rows, housing, muni, status, employment, skill, household, svc_state,
                     stable_week, week, key, p, income_none, search_p, rent, lettings, first,
                     out_moves)


@njit(cache=True)
def _visit_chance(p, search_p):
    """The highest weekly chance of a housing event of any row (housing help raises the
    search chance by ``housing_help_boost``)."""
    return min(1.0, max(p.stable_loss, search_p.max() * (1.0 + p.housing_help_boost)))


@njit(cache=True)
def _visit_searchers(rows, housing, muni, status, employment, skill, household, svc_state,
                     stable_week, week, key, p, income_none, search_p, rent, lettings, first,
                     out_moves):
    """``step_housing`` over the visited ``rows`` (None: drawn here, ``visits``)."""
    boost = np.array([1.0, 1.0 + p.housing_help_boost])
    p_max = _visit_chance(p, search_p)
    if rows is None:
        rows = visits(key, p_max, housing.shape[0])
    for i in rows:
        h = housing[i]
        m = muni[i]
        if h == STABLE:
            if _uniform(key, i, 0) * p_max < p.stable_loss:
                housing[i] = PRECARIOUS
        elif h != DEPARTED and lettings[m] > 0 and _uniform(key, i, 1) * p_max < (
                search_p[m] * boost[np.int64(_served(svc_state[i, HOUSING_HELP]))]):
            income = _household_income(employment[i], skill[i], household[i], p,
                                       income_none[m, status[i]])
            if _rent_needed(rent[m], household[i]) <= p.affordable_rent_share * income:
                housing[i] = STABLE
                lettings[m] -= 1
                out_moves[m, 0] += 1
                out_moves[m, 1] += (h == SHELTER) | (h == INTERIM)
                if stable_week[i] < 0:
                    stable_week[i] = week
                    aw = first.arrival_week[i]
                    if aw >= 0:  # an arrival of the run (not an earlier newcomer)
                        o = first.origin[i]
                        first.reached[o] += 1
                        first.within_year[o, aw] += week - aw <= WEEKS_PER_YEAR
                        first.weeks[o] += week - aw
            elif h != PRECARIOUS:  # unaffordable: a precarious rental, if not in one
                housing[i] = PRECARIOUS
                lettings[m] -= 1
                out_moves[m, 1] += (h == SHELTER) | (h == INTERIM)
