"""Immigrant-serving agencies: money in, caseworkers hired and laid off with lags, hours out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sim import kernels
from sim.codes import CHARITY, FUNDERS, N_FUNDER, N_SERVICE, SERVICES, WEEKS_PER_YEAR
from sim.mesa_import import mesa
from sim.params import Agency as AgencyParams
from sim.params import Services

QUARTER = 13


@dataclass
class GrantState:
    """A funding line as it evolves: ad hoc program grants may be renewed at expiry."""

    funder: int
    amount_per_year: float
    kind: str
    start_week: int
    end_week: int | None
    renewal_probability: float

    def active(self, week: int) -> bool:
        return self.start_week <= week and (self.end_week is None or week < self.end_week)


class Agency(mesa.Agent):
    """An immigrant-serving agency (ISA) in one municipality.

    Capacity does not follow money instantly: when active funding changes, the
    staffing target moves at once but hires arrive after ``hire_lag_weeks`` and
    lay-offs take effect after ``layoff_lag_weeks`` of notice.
    """

    def __init__(self, model: mesa.Model, params: AgencyParams, muni: int) -> None:
        super().__init__(model)
        self.params = params
        self.name = params.name
        self.muni = muni
        self.offers = np.array([s in params.services for s in SERVICES])
        self.staff = float(params.staff_fte)
        self.quality = params.quality
        self.flexibility = params.flexibility
        self.cash = float(params.reserves)
        self.allowed_deficit = float(params.allowed_deficit)
        self.grants = [
            GrantState(FUNDERS.index(g.funder), g.amount_per_year, g.kind, g.start_week,
                       g.end_week, g.renewal_probability)
            for g in params.grants
        ]
        self.pending: list[tuple[int, float]] = []  # (week effective, FTE change)
        self.received = np.zeros(N_FUNDER)
        self.spent = np.zeros(N_FUNDER)
        self.hours_available = np.zeros((N_SERVICE, N_FUNDER))
        self.hours_used = np.zeros((N_SERVICE, N_FUNDER))
        # (week, grant factor, grants active, (income, funder shares, total)) last computed:
        # the week asks three times, and most weeks the same grants are active as the week
        # before; a renewal or a new factor array (a timeline) makes it stale
        self._income: tuple | None = None

    def refresh(self, field: list[str]) -> None:
        """A timeline changed ``params`` at ``field``: update the state copied from it."""
        p = self.params
        if field[0] == "staff_fte":
            self.staff = float(p.staff_fte)  # an emergency staffing decision, at once
        elif field[0] == "services":
            self.offers = np.array([s in p.services for s in SERVICES])
        elif field[0] in ("quality", "flexibility", "allowed_deficit"):
            setattr(self, field[0], getattr(p, field[0]))

    # -- money ---------------------------------------------------------------
    def income(self, week: int) -> np.ndarray:
        """Yearly money from each funder's active grants (CAD/year; read-only)."""
        return self._income_and_shares(week)[0]

    def funder_shares(self, week: int) -> np.ndarray:
        """Who pays for this week's staff; an agency living on reserves counts as charity."""
        return self._income_and_shares(week)[1]

    def income_total(self, week: int) -> float:
        """``income(week).sum()``, kept from the week's first call."""
        return self._income_and_shares(week)[2]

    def _income_and_shares(self, week: int) -> tuple[np.ndarray, np.ndarray, float]:
        factor = self.model.grant_factor  # a timeline may change it (a new array)
        cached = self._income
        if cached is not None and cached[1] is factor:
            if cached[0] == week:
                return cached[3]
            active = tuple(g.active(week) for g in self.grants)
            if active == cached[2]:  # the same grants as last week: the same money
                self._income = (week, factor, active, cached[3])
                return cached[3]
        else:
            active = tuple(g.active(week) for g in self.grants)
        out = np.zeros(N_FUNDER)
        for g, on in zip(self.grants, active, strict=True):
            if on:
                out[g.funder] += g.amount_per_year
        inc = out * factor
        total = inc.sum()
        if total <= 0:
            shares = np.zeros(N_FUNDER)
            shares[CHARITY] = 1.0
        else:
            shares = inc / total
        inc.flags.writeable = shares.flags.writeable = False
        self._income = (week, factor, active, (inc, shares, total))
        return self._income[3]

    def renew_or_expire(self, week: int, rng: np.random.Generator) -> list[GrantState]:
        """Program grants ending this week are renewed for a year with their renewal chance.

        Returns the renewed grants (their funder owes the rest of the current quarter).
        """
        renewed = []
        for g in self.grants:
            if g.kind == "program" and g.end_week == week and g.renewal_probability > 0:
                if rng.random() < g.renewal_probability:
                    g.end_week = week + WEEKS_PER_YEAR
                    renewed.append(g)
                    self._income = None
        return renewed

    def due(self, week: int, n_weeks: int, grants: list[GrantState] | None = None) -> np.ndarray:
        """Money each funder owes in advance for the next ``n_weeks`` of active ``grants``."""
        due = np.zeros(N_FUNDER)
        for g in self.grants if grants is None else grants:
            weeks = sum(1 for w in range(week, week + n_weeks) if g.active(w))
            due[g.funder] += g.amount_per_year * weeks / WEEKS_PER_YEAR
        return due * self.model.grant_factor

    def receive(self, paid: np.ndarray) -> None:
        self.cash += float(paid.sum())
        self.received += paid

    def pay_staff(self, week: int, services: Services, weeks_to_income: int) -> np.ndarray:
        """Pay a week of salaries.

        If the cash (plus overdraft) cannot carry the current staff until the next
        disbursement in ``weeks_to_income`` weeks, staff are cut at once to what it can
        carry: money that is not there cannot pay a notice period.
        """
        weekly_fte_cost = services.cost_per_fte_year / WEEKS_PER_YEAR
        carry = max(0.0, self.cash + self.allowed_deficit) / (weekly_fte_cost
                                                              * max(1, weeks_to_income))
        if self.staff > carry + 1e-9:
            self.staff = carry
            self.pending = [(w, d) for (w, d) in self.pending if d > 0]
        cost = self.staff * weekly_fte_cost
        self.cash -= cost
        by_funder = cost * self.funder_shares(week)
        self.spent += by_funder
        return by_funder

    # -- staff ---------------------------------------------------------------
    def plan_staff(self, week: int, services: Services, hire_lag: int, layoff_lag: int) -> None:
        """Schedule hires or lay-offs toward what active funding pays for."""
        target = self.income_total(week) / services.cost_per_fte_year
        planned = self.staff + sum(d for _, d in self.pending)
        gap = target - planned
        if gap > 1e-9:
            self.pending.append((week + hire_lag, gap))
        elif gap < -1e-9:
            self.pending.append((week + layoff_lag, gap))

    def apply_staff_changes(self, week: int) -> None:
        due = [d for (w, d) in self.pending if w <= week]
        if due:
            self.staff = max(0.0, self.staff + sum(due))
            self.pending = [(w, d) for (w, d) in self.pending if w > week]



class AgencyTable(NamedTuple):
    """What the week's hours need of every agency that only a timeline changes (kept in
    ``model.fixed``): services offered (float[A, S], 1 where offered), flexibility and
    quality (float[A]) and city (int64[A])."""

    offered: np.ndarray
    flexibility: np.ndarray
    quality: np.ndarray
    muni: np.ndarray

    @classmethod
    def of(cls, agencies: list[Agency]) -> AgencyTable:
        return cls(np.array([ag.offers for ag in agencies], float).reshape(-1, N_SERVICE),
                   np.array([ag.flexibility for ag in agencies], float),
                   np.array([ag.quality for ag in agencies], float),
                   np.array([ag.muni for ag in agencies], np.int64))


def offer_hours(agencies: list[Agency], table: AgencyTable, week: int, services: Services,
                waiting: np.ndarray) -> np.ndarray:
    """Client hours this week by agency, service and funder (float[A, S, F], people-hours);
    sets each agency's ``hours_available``. ``waiting``: people waiting per (city, service).

    Hours are split evenly across the services offered, except a ``flexibility`` share
    that follows the local waiting lists (``kernels.agency_hours``: every agency in one
    call, since a small run's week is mostly such fixed costs).
    """
    n = len(agencies)
    hours = np.empty((n, N_SERVICE, N_FUNDER))
    kernels.agency_hours(
        np.array([ag.staff for ag in agencies], float), table.offered, table.flexibility,
        table.muni, waiting,
        np.array([ag.funder_shares(week) for ag in agencies]).reshape(n, N_FUNDER),
        services.client_hours_per_fte_week, hours)
    for ag, mine in zip(agencies, hours, strict=True):
        ag.hours_available = mine
    return hours
